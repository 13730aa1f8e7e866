/*
 * troupe — Ray Core's programming model as an embeddable C11 library.
 *
 * Tasks return futures (refs), an object store holds immutable byte values,
 * and everything runs on a work-stealing thread pool inside your process.
 * This is the only public header.
 *
 * Conventions that hold for every function below:
 *  - Every fallible call returns a troupe_err; results come back through
 *    out-parameters, which are written only on TROUPE_OK (unless a comment
 *    says otherwise).  A failed call changes nothing.
 *  - A call that fails never calls its callback and never hands out a ref.
 *  - Every function may be called from any thread, including from inside task
 *    bodies, unless its comment says otherwise.  Threads the runtime has never
 *    seen are registered lazily; callers need do nothing.
 *  - A ref handed to you (by submit, put, retain) is yours to release once.
 *
 * Copyright 2026 the troupe authors.  SPDX-License-Identifier: Apache-2.0
 */
#ifndef TROUPE_H
#define TROUPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(TROUPE_BUILDING) && defined(__GNUC__)
#define TROUPE_API __attribute__((visibility("default")))
#else
#define TROUPE_API
#endif

#if defined(__GNUC__)
#define TROUPE_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TROUPE_PRINTF(f, a)
#endif

/* ---------------------------------------------------------------- errors */

/* X(name, text): one list makes the enum and troupe_strerror(). */
#define TROUPE_ERRORS(X)                                                     \
	X(OK, "success")                                                     \
	X(EINVAL, "invalid argument")                                        \
	X(ENOMEM, "out of memory")                                           \
	X(ETIMEDOUT, "timed out before the object was ready")                \
	X(ESHUTDOWN, "the runtime is shutting down")                         \
	X(ETASK, "the task failed (see troupe_error_message)")               \
	X(ESTALE, "unknown ref, or one already released")                    \
	X(EFOREIGN, "the ref belongs to another runtime")                    \
	X(ENOTFOUND, "nothing is registered under that name")                \
	X(EEXIST, "that name is already registered")                         \
	X(ETYPE, "the value does not have the requested type")               \
	X(ESYSTEM, "the operating system refused a resource (threads, fds)")  \
	X(EACTOR, "the actor is dead (killed, or its constructor failed)")   \
	X(EBUSY, "the actor has max_pending_calls calls pending already")

typedef enum troupe_err {
#define TROUPE_ERR_ENUM_(name, text) TROUPE_##name,
	TROUPE_ERRORS(TROUPE_ERR_ENUM_)
#undef TROUPE_ERR_ENUM_
	TROUPE_NERRORS
} troupe_err;

/* A static, human-readable text for err (never NULL; unknown codes get a
 * generic text).  Any thread. */
TROUPE_API const char *troupe_strerror(troupe_err err);

/* ----------------------------------------------------------------- types */

/* A runtime.  Opaque; created by troupe_init, destroyed by troupe_shutdown. */
typedef struct troupe troupe;

/* The context a task body runs in: how it returns values or fails.  Valid
 * only during that body's call, on the thread running it. */
typedef struct troupe_ctx troupe_ctx;

/* A future / object reference.  A plain 64-bit id: copying it does not
 * retain it.  Id 0 is never a valid ref.  The top 12 bits are reserved for
 * a node number (the TCP bridge); the next 12 name the runtime. */
typedef struct troupe_ref {
	uint64_t id;
} troupe_ref;

/* A read-only view of an immutable value.  Borrowed: valid while the ref it
 * came from is held (for task arguments: during the body). */
typedef struct troupe_value {
	const void *data;
	size_t size;
} troupe_value;

/* A task body.  args[i] views argument i (inline bytes, or the value of a
 * ref argument, zero-copy).  Report a result with troupe_return*() and a
 * failure with troupe_fail(); a body that does neither returns an empty
 * value.  Runs on a worker thread; may submit, get, wait and put. */
typedef void (*troupe_fn)(troupe *rt, troupe_ctx *ctx,
			  const troupe_value *args, size_t nargs);

/* Frees a buffer given to troupe_put_owned / troupe_return_owned. */
typedef void (*troupe_free_fn)(void *data);

/* Called once when a ref resolves, with its status (TROUPE_OK, the error it
 * resolved to, or TROUPE_ESHUTDOWN).  The callback borrows ref: retain it to
 * keep the value beyond the call. */
typedef void (*troupe_ready_fn)(troupe *rt, troupe_ref ref, troupe_err status,
				void *arg);

/* ------------------------------------------------------------- runtime */

typedef struct troupe_config {
	/* Worker threads; 0 = one per CPU the process may run on (its
	 * affinity mask: taskset and cpusets are honoured). */
	unsigned num_workers;
	/* How long an idle worker spins looking for work before it parks, in
	 * microseconds.  0 = the default (see lib/sched.md); a negative value
	 * parks at once. */
	int spin_us;
	/* Upper bound on threads, counting the extra workers started while
	 * others block in get/wait inside task bodies.  0 = a default of
	 * num_workers + 256. */
	unsigned max_threads;
} troupe_config;

/* Starts a runtime.  cfg may be NULL for defaults; it is read, not kept.
 * On success *rt is yours until troupe_shutdown.  Several runtimes may live
 * in one process and never see each other. */
TROUPE_API troupe_err troupe_init(troupe **rt, const troupe_config *cfg);

/* Stops rt and frees everything it owns.  Refs not yet resolved resolve to
 * TROUPE_ESHUTDOWN: blocked get/wait calls in other threads return it,
 * on_ready callbacks run with it, queued tasks never run.  Bodies already
 * running are waited for (their gets of unresolved refs return
 * TROUPE_ESHUTDOWN).  Calls that begin once shutdown has begun — on any
 * thread, before or after it returns — return TROUPE_ESHUTDOWN and touch
 * nothing (the runtime struct itself is recycled, never unmapped); refs of
 * a runtime that was shut down are dead.  Calls already under way on other
 * threads (other than blocked get/wait) must finish before shutdown starts.
 * Call it from a thread outside rt's pool, outside any on_ready callback
 * and outside rt's bodies (including one a get runs on the calling thread):
 * there it gets TROUPE_EINVAL. */
TROUPE_API troupe_err troupe_shutdown(troupe *rt);

/* Number of worker threads rt was started with (not counting the extra ones
 * it starts while bodies block). */
TROUPE_API troupe_err troupe_num_workers(troupe *rt, unsigned *n);

/* -------------------------------------------------------------- objects */

/* Stores a copy of data[0..size) and hands back a new ref to it.  data may
 * be NULL only when size is 0.  The caller's buffer is free again on
 * return.  Any thread.  The memory of a released value of 8 MiB or more is
 * kept for the next such value (up to 256 MiB a runtime, marked MADV_FREE:
 * the kernel takes it back when memory runs short) and freed at shutdown. */
TROUPE_API troupe_err troupe_put(troupe *rt, const void *data, size_t size,
				 troupe_ref *ref);

/* Like troupe_put but zero-copy: on success the runtime owns data and calls
 * free_fn(data) once the object is gone.  With free_fn NULL the caller keeps
 * data alive and unchanged (static storage, say) for as long as any ref to
 * it is held.  On failure the caller still owns data. */
TROUPE_API troupe_err troupe_put_owned(troupe *rt, void *data, size_t size,
				       troupe_free_fn free_fn,
				       troupe_ref *ref);

/* Typed puts: an int64 / a double stored as its 8 bytes; a string stored
 * with its terminating NUL. */
TROUPE_API troupe_err troupe_put_i64(troupe *rt, int64_t v, troupe_ref *ref);
TROUPE_API troupe_err troupe_put_f64(troupe *rt, double v, troupe_ref *ref);
TROUPE_API troupe_err troupe_put_str(troupe *rt, const char *s,
				     troupe_ref *ref);

/* Adds a reference to ref (TROUPE_ESTALE if it is unknown or released;
 * TROUPE_ENOMEM if it holds 2^28 - 1 already). */
TROUPE_API troupe_err troupe_retain(troupe *rt, troupe_ref ref);

/* Drops one reference.  The object is freed once no ref and no task needs
 * it: its value's bytes at once, its small header kept for the runtime's
 * next objects (what a burst leaves and nothing reuses for a second is
 * given back, also with the runtime idle).  Releasing more times than you
 * retained returns TROUPE_ESTALE and changes nothing. */
TROUPE_API troupe_err troupe_release(troupe *rt, troupe_ref ref);

/* Blocks until ref resolves, or for timeout_s seconds (negative: forever;
 * 0: just look).  On TROUPE_OK, *value views the bytes; the view stays valid
 * while the caller holds ref.  A failed task gives TROUPE_ETASK (or the
 * code it failed with), *value untouched.  TROUPE_ETIMEDOUT leaves the
 * object untouched.  value may be NULL to only wait.  Inside a body, a get
 * never deadlocks the pool: the worker runs the awaited task itself when it
 * has not started, else the pool adds a thread while this one waits.  From
 * any other thread, a get with no timeout (negative) likewise runs the
 * awaited task on the calling thread when no worker has started it yet —
 * the result comes without a round trip through the pool; with a timeout
 * it never does (a body could outlast it).  That body's own gets then wait
 * for the pool to run its children (the pool is sized to the CPUs; the
 * calling thread would be one thread more), except when every worker is
 * blocked and max_threads allows no more: then the calling thread runs
 * them.  Actor calls always run on the pool. */
TROUPE_API troupe_err troupe_get(troupe *rt, troupe_ref ref, double timeout_s,
				 troupe_value *value);

/* Typed gets: TROUPE_ETYPE when the value is not 8 bytes (i64/f64) or not a
 * NUL-terminated string; *s stays valid while ref is held. */
TROUPE_API troupe_err troupe_get_i64(troupe *rt, troupe_ref ref,
				     double timeout_s, int64_t *v);
TROUPE_API troupe_err troupe_get_f64(troupe *rt, troupe_ref ref,
				     double timeout_s, double *v);
TROUPE_API troupe_err troupe_get_str(troupe *rt, troupe_ref ref,
				     double timeout_s, const char **s);

/* Takes: troupe_get_i64 / troupe_get_f64 then troupe_release(ref), in one
 * call and one lookup — for a future read once, as std::future::get does.
 * On TROUPE_OK the value is in *v and the ref is released.  On any error
 * the caller still holds the ref, as if only the get had run: to read a
 * failed task's message (troupe_error_message), to try again after
 * TROUPE_ETIMEDOUT or TROUPE_ETYPE, and to release it.  Threads, blocking
 * and running the awaited task inline: as troupe_get. */
TROUPE_API troupe_err troupe_take_i64(troupe *rt, troupe_ref ref,
				      double timeout_s, int64_t *v);
TROUPE_API troupe_err troupe_take_f64(troupe *rt, troupe_ref ref,
				      double timeout_s, double *v);

/* Reads a value view as a type (for task arguments and get results). */
TROUPE_API troupe_err troupe_value_i64(const troupe_value *v, int64_t *out);
TROUPE_API troupe_err troupe_value_f64(const troupe_value *v, double *out);
TROUPE_API troupe_err troupe_value_str(const troupe_value *v,
				       const char **out);

/* Ray's ray.wait: blocks until at least num_ready of refs[0..n) have
 * resolved (to a value or an error), or for timeout_s (negative: forever).
 * ready[i] is set to whether refs[i] resolved, in input order, in every
 * case where the refs were valid.  Returns TROUPE_OK when num_ready were
 * reached, TROUPE_ETIMEDOUT when the time ran out first.  1 <= num_ready <=
 * n; the same ref may appear more than once. */
TROUPE_API troupe_err troupe_wait(troupe *rt, const troupe_ref *refs, size_t n,
				  size_t num_ready, double timeout_s,
				  bool *ready);

/* When ref resolved and it failed: *msg is the error text (which says where
 * the failure started), valid while ref is held.  TROUPE_EINVAL when ref
 * holds a value or is not resolved yet. */
TROUPE_API troupe_err troupe_error_message(troupe *rt, troupe_ref ref,
					   const char **msg);

/* Calls cb(rt, ref, status, arg) once ref resolves: on the thread that
 * resolves it (a worker, or the caller at once if it already has).  Keep cb
 * short and non-blocking.  The registration keeps the object alive until cb
 * returns, so the caller may release ref right after this call. */
TROUPE_API troupe_err troupe_on_ready(troupe *rt, troupe_ref ref,
				      troupe_ready_fn cb, void *arg);

/* The event-loop path: like troupe_on_ready, but cb runs on whichever thread
 * calls troupe_dispatch — a GUI or libuv/GLib loop that polls the fd from
 * troupe_completion_fd. */
TROUPE_API troupe_err troupe_on_ready_post(troupe *rt, troupe_ref ref,
					   troupe_ready_fn cb, void *arg);

/* A file descriptor (eventfd) that is readable while posted completions wait
 * for troupe_dispatch (or one is being posted: a dispatch may then run none,
 * and the fd stays readable until it is queued).  Owned by rt: poll it for
 * POLLIN; do not close, read or write it (troupe_dispatch keeps its count). */
TROUPE_API troupe_err troupe_completion_fd(troupe *rt, int *fd);

/* Runs the posted callbacks that are due, on the calling thread, and takes
 * them off the fd's count: once none waits, the fd is not readable.  *ran
 * (may be NULL) gets how many ran.  Never blocks.  TROUPE_ESHUTDOWN once
 * shutdown has begun (it runs what is left itself). */
TROUPE_API troupe_err troupe_dispatch(troupe *rt, size_t *ran);

/* ---------------------------------------------------------------- tasks */

enum troupe_arg_kind {
	TROUPE_ARG_BYTES = 1, /* data[0..size), copied at submit */
	TROUPE_ARG_REF = 2,   /* the value of ref, once ready, zero-copy */
	TROUPE_ARG_I64 = 3,   /* i64, as 8 bytes */
	TROUPE_ARG_F64 = 4,   /* f64, as 8 bytes */
	TROUPE_ARG_ACTOR = 5, /* an actor handle, held for the body */
};

/* One task argument.  Build it with the macros below.  Scalars travel
 * inside the struct itself, so an argument array built in a loop holds no
 * pointer to storage that has gone out of scope. */
typedef struct troupe_actor {
	uint64_t id;
} troupe_actor;

typedef struct troupe_arg {
	enum troupe_arg_kind kind;
	troupe_ref ref;
	troupe_actor actor;
	const void *data;
	size_t size;
	int64_t i64;
	double f64;
} troupe_arg;

#define TROUPE_BYTES(p, n)                                                  \
	((troupe_arg){.kind = TROUPE_ARG_BYTES, .data = (p), .size = (n)})
#define TROUPE_REF(r) ((troupe_arg){.kind = TROUPE_ARG_REF, .ref = (r)})
#define TROUPE_I64(x) ((troupe_arg){.kind = TROUPE_ARG_I64, .i64 = (x)})
#define TROUPE_F64(x) ((troupe_arg){.kind = TROUPE_ARG_F64, .f64 = (x)})
/* The body sees the handle as 8 bytes (troupe_value_actor reads it); the
 * runtime holds the actor for the body's duration. */
#define TROUPE_ACTOR(a) ((troupe_arg){.kind = TROUPE_ARG_ACTOR, .actor = (a)})
/* s must outlive the submit call only (it is copied, NUL included). */
#define TROUPE_STR(s) TROUPE_BYTES((s), strlen(s) + 1)

typedef struct troupe_task_opts {
	/* How many refs the task fills (0 means 1). */
	unsigned num_returns;
	/* A name for error messages; registered functions get theirs. */
	const char *name;
} troupe_task_opts;

/* Submits fn(args) and returns at once.  refs must have room for
 * opts->num_returns refs (1 when opts is NULL); each is yours to release.
 * args are copied (or retained, for refs) before this returns. */
TROUPE_API troupe_err troupe_submit(troupe *rt, troupe_fn fn,
				    const troupe_arg *args, size_t nargs,
				    const troupe_task_opts *opts,
				    troupe_ref *refs);

/* Registers fn under name (copied) so it can be submitted by name — what the
 * process isolation and the node bridge move.  TROUPE_EEXIST when the name
 * is taken. */
TROUPE_API troupe_err troupe_register(troupe *rt, const char *name,
				      troupe_fn fn);

/* troupe_submit for a registered name (TROUPE_ENOTFOUND if none). */
TROUPE_API troupe_err troupe_submit_named(troupe *rt, const char *name,
					  const troupe_arg *args, size_t nargs,
					  const troupe_task_opts *opts,
					  troupe_ref *refs);

/* --------------------------------------------------------------- actors */

/* An actor handle: an id.  Copying it does not retain it; a handle handed
 * to you (create, lookup, retain) is yours to release once.  Id 0 is never
 * a valid actor. */

/* A method (and the constructor): state points at the actor's state
 * (state_size bytes, zeroed before the constructor runs); args as for task
 * bodies; report the result with troupe_return*() / troupe_fail() /
 * troupe_fail_fatal().  Never runs concurrently with another method of the
 * same actor unless max_concurrency > 1. */
typedef void (*troupe_method)(troupe *rt, troupe_ctx *ctx, void *state,
			      const troupe_value *args, size_t nargs);

/* An actor type.  The class (and its methods array) is borrowed: it must
 * outlive every actor of it, which a `static const` does. */
typedef struct troupe_class {
	const char *name;     /* for messages and listings */
	size_t state_size;    /* may be 0 */
	troupe_method init;   /* the constructor; may be NULL */
	/* Destructor; may be NULL.  Runs once per constructed state, on a
	 * worker (or in troupe_shutdown), after the last method. */
	void (*fini)(troupe *rt, void *state);
	const troupe_method *methods;
	size_t nmethods;
} troupe_class;

typedef struct troupe_actor_opts {
	/* Register the actor under this name (copied) in rt's registry. */
	const char *name;
	/* With name: if an actor of that name exists, hand back a new handle
	 * to it instead of failing with TROUPE_EEXIST. */
	bool get_if_exists;
	/* With name: the actor outlives its handles, until troupe_actor_kill
	 * or shutdown.  Without it, an actor is destroyed once its last
	 * handle is released and its mailbox is drained. */
	bool detached;
	/* Restarts after a fatal failure (troupe_fail_fatal, or a kill with
	 * no_restart false): 0 = none, -1 = forever.  A restart runs the
	 * destructor, zeroes the state and re-runs the constructor with its
	 * original arguments. */
	int max_restarts;
	/* Times a call that failed fatally is delivered again after the
	 * restart: 0 = never (Ray's at-most-once), -1 = forever. */
	int max_task_retries;
	/* Methods of this actor that may run at once (0 or 1: one; at most
	 * 65535).  With more, the state is the methods' to protect and calls
	 * are not ordered. */
	unsigned max_concurrency;
	/* Calls queued or running beyond which troupe_actor_call fails with
	 * TROUPE_EBUSY at once (0: no limit). */
	unsigned max_pending_calls;
} troupe_actor_opts;

/* Creates an actor of cls and returns at once; the constructor runs on the
 * pool with args (copied, or refs awaited like a task's) before the first
 * method.  opts may be NULL.  A constructor that fails makes every call on
 * the actor resolve to TROUPE_EACTOR with the constructor's message.
 * TROUPE_EEXIST when opts->name is taken (unless get_if_exists). */
TROUPE_API troupe_err troupe_actor_create(troupe *rt, const troupe_class *cls,
					  const troupe_arg *args, size_t nargs,
					  const troupe_actor_opts *opts,
					  troupe_actor *actor);

/* Calls method (which must be one of the actor's class's methods, else
 * TROUPE_EINVAL) with args.  Returns at once; *ref (yours to release) is
 * filled with the result.  ref may be NULL: fire-and-forget, cheaper, and
 * nobody learns of a failure.  Calls from one caller — a thread, a task
 * body, an actor's method — run in the order they were made; a call whose
 * ref arguments are not ready waits for them without holding up other
 * callers' calls.  Calls on a dead actor resolve to TROUPE_EACTOR. */
TROUPE_API troupe_err troupe_actor_call(troupe *rt, troupe_actor actor,
					troupe_method method,
					const troupe_arg *args, size_t nargs,
					troupe_ref *ref);

/* Adds / drops a handle (TROUPE_ESTALE when unknown or over-released). */
TROUPE_API troupe_err troupe_actor_retain(troupe *rt, troupe_actor actor);
TROUPE_API troupe_err troupe_actor_release(troupe *rt, troupe_actor actor);

/* A new handle to the live actor registered under name
 * (TROUPE_ENOTFOUND if none). */
TROUPE_API troupe_err troupe_actor_lookup(troupe *rt, const char *name,
					  troupe_actor *actor);

/* Calls cb(name, arg) for each registered name, on the calling thread, from
 * a snapshot (cb may call into rt).  name is valid during the call. */
TROUPE_API troupe_err troupe_actor_list(troupe *rt,
					void (*cb)(const char *name,
						   void *arg),
					void *arg);

/* Kills the actor: the method running (if any) finishes, then queued and
 * later calls resolve to TROUPE_EACTOR, and the destructor runs.  With
 * no_restart false and restarts left, it is restarted instead (Ray's
 * ray.kill(no_restart=False)).  A killed named actor leaves the registry.
 * The caller's handle stays the caller's to release. */
TROUPE_API troupe_err troupe_actor_kill(troupe *rt, troupe_actor actor,
					bool no_restart);

/* Reads an actor handle passed as TROUPE_ACTOR(a) (valid for the body;
 * retain it to keep it). */
TROUPE_API troupe_err troupe_value_actor(const troupe_value *v,
					 troupe_actor *out);

/* ---------------------------------------------------- actor pool */

/* Ray's ray.util.ActorPool: spreads calls over a fixed set of actors, at
 * most one call per actor at a time.  Not thread-safe: one thread (or one
 * body) drives a pool. */
typedef struct troupe_actor_pool troupe_actor_pool;

/* Retains each of actors[0..n) (n >= 1) for the pool's life. */
TROUPE_API troupe_err troupe_actor_pool_create(troupe *rt,
					       const troupe_actor *actors,
					       size_t n,
					       troupe_actor_pool **pool);
/* Releases the actors and frees the pool; results not fetched are
 * dropped (their calls still run). */
TROUPE_API troupe_err troupe_actor_pool_destroy(troupe_actor_pool *pool);

/* Calls method(args) on a free actor now, or queues it until one is free
 * (args are copied either way). */
TROUPE_API troupe_err troupe_actor_pool_submit(troupe_actor_pool *pool,
					       troupe_method method,
					       const troupe_arg *args,
					       size_t nargs);
/* Whether a submitted call's result has not been fetched yet. */
TROUPE_API troupe_err troupe_actor_pool_has_next(troupe_actor_pool *pool,
						 bool *has);
/* Whether an actor is idle (a submit would run at once). */
TROUPE_API troupe_err troupe_actor_pool_has_free(troupe_actor_pool *pool,
						 bool *has);
/* Waits (timeout_s as for troupe_get) for the next result in submission
 * order; *ref is resolved and yours to release.  TROUPE_ENOTFOUND when
 * nothing is pending, TROUPE_ETIMEDOUT when it is not ready in time (it
 * stays next).  A queued submit that the actor refused when its turn came
 * (TROUPE_EBUSY, TROUPE_ESHUTDOWN, ...) is reported here instead, with that
 * code and no ref, and leaves the line. */
TROUPE_API troupe_err troupe_actor_pool_get_next(troupe_actor_pool *pool,
						 double timeout_s,
						 troupe_ref *ref);
/* The same for whichever pending result resolves first. */
TROUPE_API troupe_err troupe_actor_pool_get_next_unordered(
	troupe_actor_pool *pool, double timeout_s, troupe_ref *ref);
/* Ray's map / map_unordered: calls method once per item (items[i] is the
 * call's one argument) and fills refs[0..n) — in item order for map, in
 * completion order for map_unordered — waiting as results arrive.  Each
 * ref is resolved and yours to release.  The pool must have nothing
 * pending. */
TROUPE_API troupe_err troupe_actor_pool_map(troupe_actor_pool *pool,
					    troupe_method method,
					    const troupe_arg *items, size_t n,
					    troupe_ref *refs);
TROUPE_API troupe_err troupe_actor_pool_map_unordered(
	troupe_actor_pool *pool, troupe_method method,
	const troupe_arg *items, size_t n, troupe_ref *refs);

/* -------------------------------------------- inside a body (ctx only) */

/* Sets return value 0 (a copy of data[0..size)).  Calling a return twice for
 * the same index, or after troupe_fail, gives TROUPE_EINVAL. */
TROUPE_API troupe_err troupe_return(troupe_ctx *ctx, const void *data,
				    size_t size);
/* Sets return value index (for opts.num_returns > 1). */
TROUPE_API troupe_err troupe_return_at(troupe_ctx *ctx, unsigned index,
				       const void *data, size_t size);
/* Zero-copy return: the runtime takes data and later calls free_fn. */
TROUPE_API troupe_err troupe_return_owned(troupe_ctx *ctx, unsigned index,
					  void *data, size_t size,
					  troupe_free_fn free_fn);
TROUPE_API troupe_err troupe_return_i64(troupe_ctx *ctx, int64_t v);
TROUPE_API troupe_err troupe_return_f64(troupe_ctx *ctx, double v);
TROUPE_API troupe_err troupe_return_str(troupe_ctx *ctx, const char *s);

/* Fails the task: every ref it fills resolves to TROUPE_ETASK with this
 * message; tasks that take them as arguments do not run and carry it on.
 * In an actor's method, the actor lives on (a method's failure is its
 * caller's business); in a constructor, the actor is dead.
 * Returns TROUPE_ETASK (or TROUPE_EINVAL for a NULL ctx or fmt).  The first
 * failure's message stands; later returns are refused. */
TROUPE_API troupe_err troupe_fail(troupe_ctx *ctx, const char *fmt, ...)
	TROUPE_PRINTF(2, 3);

/* In an actor's method: fails the call (TROUPE_EACTOR for its caller, with
 * this message) and the actor with it — restarted if max_restarts allows,
 * the call delivered again if max_task_retries allows, else dead.  In a
 * task body it is troupe_fail. */
TROUPE_API troupe_err troupe_fail_fatal(troupe_ctx *ctx, const char *fmt, ...)
	TROUPE_PRINTF(2, 3);

#ifdef __cplusplus
}
#endif
#endif /* TROUPE_H */
