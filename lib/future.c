/* get / wait / on_ready / the completion fd: everything that waits for an
 * object to resolve. */
#include "internal.h"
#include "task.h"

#include <errno.h>
#include <linux/futex.h>
#include <math.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "handback.h"

#include "rcu.h"

/* How long a blocked get spins before it sleeps.  A task that is already
 * running usually finishes within this; sleeping costs a futex round trip
 * (65-85 us here), spinning at most this much CPU. */
#define GET_SPIN_NS 20000

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* A thread sleeping until `count` reaches `need` (1 for get; num_ready for
 * wait).  Each object it waits on gets its own waiter node pointing here. */
struct sleeper {
	_Atomic uint32_t count;
	uint32_t need;
};

struct sleeper_node {
	struct troupe__waiter w;
	struct sleeper *s;
	/* Set (release) once the resolver is done with this node. */
	_Atomic uint32_t fired;
	bool added; /* hung on its object's list (wait only) */
};

static void sleeper_wake(troupe *rt, struct troupe__waiter *w,
			 struct troupe__obj *o)
{
	(void)rt, (void)o;
	struct sleeper_node *n = caa_container_of(w, struct sleeper_node, w);
	struct sleeper *s = n->s;
	/* Release: the sleeper that sees the count sees the resolution. */
	uint32_t c = atomic_fetch_add_explicit(&s->count, 1,
					       memory_order_acq_rel) +
		     1;
	bool wake = c == s->need;
	/* After this store the node (on the sleeper's stack) may be gone;
	 * the sleeper may be too, so s is not touched after the wake below,
	 * whose only risk is a spurious wake-up of whoever reuses the word —
	 * which futex callers loop on anyway. */
	atomic_store_explicit(&n->fired, 1, memory_order_release);
	if (wake)
		syscall(SYS_futex, &s->count, FUTEX_WAKE_PRIVATE, 1, NULL,
			NULL, 0);
}

static int64_t deadline_of(double timeout_s)
{
	if (timeout_s < 0 || isinf(timeout_s))
		return -1;
	if (timeout_s > 1e9)
		timeout_s = 1e9;
	return troupe__now_ns() + (int64_t)(timeout_s * 1e9);
}

/* The timeout that is left until deadline (-1: none, so none), for a get
 * that starts waiting again. */
static double time_left(int64_t deadline)
{
	if (deadline < 0)
		return -1;
	int64_t left = deadline - troupe__now_ns();
	return left > 0 ? (double)left / 1e9 : 0;
}

/* Sleeps until s->count >= s->need or the deadline (-1: none).  True if the
 * count was reached. */
static bool sleep_until(struct sleeper *s, int64_t deadline)
{
	for (;;) {
		/* Acquire: pairs with sleeper_wake. */
		uint32_t c = atomic_load_explicit(&s->count,
						  memory_order_acquire);
		if (c >= s->need)
			return true;
		struct timespec ts, *tsp = NULL;
		if (deadline >= 0) {
			int64_t left = deadline - troupe__now_ns();
			if (left <= 0)
				return false;
			ts.tv_sec = left / 1000000000;
			ts.tv_nsec = left % 1000000000;
			tsp = &ts;
		}
		syscall(SYS_futex, &s->count, FUTEX_WAIT_PRIVATE, c, tsp, NULL,
			0);
	}
}

/* Takes n off o's list, or, if its resolver already has it, waits until
 * the resolver is done with it (it is about to be, or has been). */
static void unhook(troupe *rt, struct troupe__obj *o, struct sleeper_node *n)
{
	if (troupe__waiter_remove(rt, o, &n->w))
		return;
	while (atomic_load_explicit(&n->fired, memory_order_acquire) == 0)
		cpu_relax();
}

struct inline_frame {
	troupe *rt;
	struct inline_frame *outer;
};
/* The runtimes whose bodies this thread is running in a get, innermost
 * first (a body may get from another runtime in turn). */
static TROUPE__TLS struct inline_frame *inline_frames;

/* An outside thread that would wait with no deadline for a task nobody has
 * started runs it itself, as a waiting worker does: the result comes
 * without a hand-off to a worker and back (what a submit -> get round trip
 * costs), and the thread was going to sit idle until then anyway.  Not with
 * a deadline: a body may outlast it.  Shutdown waits for such bodies before
 * it takes the runtime apart (seq_cst here and there: either it sees our
 * count, or we see `stopping` and do not start).  True if o is done. */
static bool run_inline_outside(troupe *rt, struct troupe__obj *o)
{
	struct inline_frame f = {rt, inline_frames};
	atomic_fetch_add(&rt->external_running, 1);
	bool ran = false;
	if (!atomic_load(&rt->stopping)) {
		inline_frames = &f;
		ran = troupe__task_run_inline(rt, o);
		inline_frames = f.outer;
	}
	atomic_fetch_sub(&rt->external_running, 1);
	return ran && troupe__obj_done(o);
}

bool troupe__in_inline_body(troupe *rt)
{
	for (struct inline_frame *f = inline_frames; f != NULL; f = f->outer)
		if (f->rt == rt)
			return true;
	return false;
}

/* How often an outside thread waiting inside a body it runs checks that
 * the pool can still take the task it waits for (see await). */
#define NESTED_CHECK_NS 1000000

/* Waits (blocks) until o resolved or the deadline passed; o is held by the
 * caller.  Inside a body: first runs o's task itself when it has not
 * started, and blocks only with compensation.
 *
 * An outside thread runs the task it waits for itself only at the top: a
 * body it runs that way waits for its own children like any outside
 * thread, and the pool runs them.  Running them here too made the thread
 * one worker more than the CPUs the pool is sized to, whose children all
 * went through the injection queue and came back as claims in place:
 * fib(30) from an outside thread, 2 workers, 0.13-0.33 s against 0.13-0.18
 * with the root run by the pool.  One case needs the thread after all: the
 * pool is stuck (every worker blocked, none can be added, max_threads),
 * perhaps on the very body this thread runs; it then runs the task. */
static bool await(troupe *rt, struct troupe__obj *o, int64_t deadline)
{
	if (troupe__obj_done(o))
		return true;
	if (deadline == 0)
		return false;
	struct troupe__worker *self = troupe__sched_self(rt);
	if (self != NULL && troupe__sched_run_inline(rt, self, o) &&
	    troupe__obj_done(o))
		return true;
	bool nested = false;
	if (self == NULL && deadline < 0) {
		nested = troupe__in_inline_body(rt);
		if (!nested && run_inline_outside(rt, o))
			return true;
	}
	troupe__box_drain(); /* about to wait: take in what came back */
	int64_t spin_until = troupe__now_ns() + GET_SPIN_NS;
	if (deadline >= 0 && deadline < spin_until)
		spin_until = deadline;
	unsigned step = 0;
	do {
		troupe__spin_pause(&step);
		if (troupe__obj_done(o))
			return true;
	} while (troupe__now_ns() < spin_until);
	if (deadline >= 0 && troupe__now_ns() >= deadline)
		return false;

	struct sleeper s = {.need = 1};
	struct sleeper_node n = {.w.wake = sleeper_wake, .s = &s};
	atomic_init(&s.count, 0);
	atomic_init(&n.fired, 0);
	if (!troupe__waiter_add(rt, o, &n.w))
		return true;
	if (self != NULL)
		troupe__sched_block_begin(rt, self);
	bool done;
	if (nested) {
		while (!(done = sleep_until(&s, troupe__now_ns() +
							NESTED_CHECK_NS)))
			/* Ran it: resolved, so our node fires. */
			if (troupe__sched_stuck(rt) &&
			    run_inline_outside(rt, o)) {
				done = true;
				break;
			}
	} else {
		done = sleep_until(&s, deadline);
	}
	if (self != NULL)
		troupe__sched_block_end(rt, self);
	if (!done)
		unhook(rt, o, &n);
	else
		while (atomic_load_explicit(&n.fired, memory_order_acquire) ==
		       0)
			cpu_relax();
	return troupe__obj_done(o);
}

static size_t count_done(struct troupe__obj **objs, size_t n)
{
	size_t done = 0;
	for (size_t i = 0; i < n; i++)
		done += troupe__obj_done(objs[i]);
	return done;
}

/* An outside thread about to wait announces itself, then checks that
 * shutdown has not begun (seq_cst both, against shutdown's store of
 * `stopping` and its load of the count): either shutdown waits for us, or
 * we see it and back off.  False: back off (already uncounted). */
static bool enter_blocking(troupe *rt)
{
	if (troupe__sched_self(rt) != NULL)
		return true;
	atomic_fetch_add(&rt->external_blocked, 1);
	if (atomic_load(&rt->stopping)) {
		atomic_fetch_sub(&rt->external_blocked, 1);
		return false;
	}
	return true;
}

static void leave_blocking(troupe *rt)
{
	if (troupe__sched_self(rt) == NULL)
		atomic_fetch_sub(&rt->external_blocked, 1);
}

static troupe_err result_of(const struct troupe__obj *o, troupe_value *value)
{
	uint32_t st = troupe__obj_state(o);
	if (st == TROUPE__READY) {
		if (value != NULL)
			*value = (troupe_value){o->data, o->size};
		return TROUPE_OK;
	}
	if (st == TROUPE__ERROR)
		return o->err;
	return TROUPE_ETIMEDOUT;
}

/* get's wait for o, not done yet, which the caller holds a ref on:
 * TROUPE_ETIMEDOUT at once for a timeout of 0, TROUPE_ESHUTDOWN when
 * shutdown has begun, else TROUPE_OK once o resolved or *deadline (the one
 * waited for; -1: none) passed. */
static inline __attribute__((always_inline)) troupe_err
wait_held(troupe *rt, struct troupe__obj *o, double timeout_s,
	  int64_t *deadline)
{
	if (timeout_s == 0)
		return TROUPE_ETIMEDOUT;
	if (troupe__stopping(rt) || !enter_blocking(rt))
		return TROUPE_ESHUTDOWN;
	*deadline = deadline_of(timeout_s);
	await(rt, o, *deadline);
	leave_blocking(rt);
	return TROUPE_OK;
}

/* Reads a resolved value for troupe_take into out. */
typedef troupe_err (*take_fn)(const troupe_value *v, void *out);

/* troupe_get (take NULL: *value views the bytes, if value is not NULL),
 * or troupe_take (take reads the value into out, and on success the
 * caller's ref is dropped in the same lookup).  Inlined into each, so
 * troupe_get compiles as if the take were not there (callgrind fib(25):
 * a shared call cost troupe_get ~40 instructions more per task). */
static inline __attribute__((always_inline)) troupe_err
get(troupe *rt, troupe_ref ref, double timeout_s, troupe_value *value,
    take_fn take, void *out)
{
	if (rt == NULL || isnan(timeout_s) || (take != NULL && out == NULL))
		return TROUPE_EINVAL;
	if (troupe__closed(rt))
		return TROUPE_ESHUTDOWN;
	troupe__thread_enter();
	/* A take's value: set by result_of before take reads it. */
	troupe_value v = {NULL, 0};
	if (take != NULL)
		value = &v;

	struct troupe__obj *o;
	troupe_err err;
	unsigned at;
	/* A ref the thread keeps for this id (a body's child, say): it holds
	 * o, so no lookup and no read-side section, and it stays kept for
	 * the release that usually follows. */
	if (take != NULL && troupe__obj_unkeep(rt, ref.id, &o))
		goto held; /* a take drops it with the caller's */
	if (take == NULL && troupe__obj_kept(rt, ref.id, &o, &at)) {
		if (!troupe__obj_done(o)) {
			int64_t deadline;
			if ((err = wait_held(rt, o, timeout_s, &deadline)) !=
			    TROUPE_OK)
				return err;
			if (!troupe__kept_still(at, ref.id, o)) {
				/* A body run here meanwhile took the entry
				 * (it released or took this id): look id up,
				 * in the time that is left. */
				timeout_s = time_left(deadline);
				goto lookup;
			}
		}
		err = result_of(o, value);
		/* Kept only while it is a value of its own few bytes, as
		 * troupe__obj_keep keeps: a kept ref must not hold a buffer. */
		if (err != TROUPE_ETIMEDOUT &&
		    (err != TROUPE_OK || o->free_fn != NULL))
			troupe__kept_unkeep(rt, at);
		return err;
	}
lookup:
	/* Fast path: a ready object costs one lookup, no refcount traffic;
	 * the caller's ref keeps it alive past the read-side section (a take
	 * drops that ref in the section, and frees after it). */
	troupe__rcu_lock();
	err = troupe__obj_lookup(rt, ref, &o);
	if (err == TROUPE_OK && troupe__obj_done(o)) {
		bool last = false;
		err = result_of(o, value);
		if (err == TROUPE_OK && take != NULL) {
			err = take(value, out);
			if (err == TROUPE_OK)
				err = troupe__obj_drop_user(o, ref.id, &last);
		}
		troupe__rcu_unlock();
		if (last)
			troupe__obj_destroy(rt, o);
		return err;
	}
	/* Slow path: hold our own ref (taken in the section, for the object
	 * ref names) so the object outlives a caller that misbehaves, and so
	 * shutdown can wait for us. */
	if (err == TROUPE_OK)
		err = timeout_s == 0 ? TROUPE_ETIMEDOUT :
				       troupe__obj_ref_id(o, ref.id);
	troupe__rcu_unlock();
	if (err != TROUPE_OK)
		return err;
held:
	if (!troupe__obj_done(o)) {
		int64_t deadline;
		if ((err = wait_held(rt, o, timeout_s, &deadline)) !=
		    TROUPE_OK) {
			troupe__obj_unref(rt, o);
			return err;
		}
	}
	err = result_of(o, value);
	/* A take that read its value drops both refs at once; a get keeps
	 * its ref for the release that usually follows on this thread. */
	if (err == TROUPE_OK && take != NULL &&
	    (err = take(value, out)) == TROUPE_OK)
		err = troupe__obj_unref_release(rt, o, ref.id);
	else if (err == TROUPE_OK && take == NULL)
		troupe__obj_keep(rt, o, ref.id);
	else
		troupe__obj_unref(rt, o);
	return err;
}

troupe_err troupe_get(troupe *rt, troupe_ref ref, double timeout_s,
		      troupe_value *value)
{
	return get(rt, ref, timeout_s, value, NULL, NULL);
}

troupe_err troupe_take_i64(troupe *rt, troupe_ref ref, double timeout_s,
			   int64_t *v)
{
	return get(rt, ref, timeout_s, NULL, troupe__value_8, v);
}

troupe_err troupe_take_f64(troupe *rt, troupe_ref ref, double timeout_s,
			   double *v)
{
	return get(rt, ref, timeout_s, NULL, troupe__value_8, v);
}

troupe_err troupe_get_i64(troupe *rt, troupe_ref ref, double timeout_s,
			  int64_t *v)
{
	troupe_value val = {NULL, 0};
	if (v == NULL)
		return TROUPE_EINVAL;
	troupe_err err = get(rt, ref, timeout_s, &val, NULL, NULL);
	return err != TROUPE_OK ? err : troupe__value_8(&val, v);
}

troupe_err troupe_get_f64(troupe *rt, troupe_ref ref, double timeout_s,
			  double *v)
{
	troupe_value val = {NULL, 0};
	if (v == NULL)
		return TROUPE_EINVAL;
	troupe_err err = get(rt, ref, timeout_s, &val, NULL, NULL);
	return err != TROUPE_OK ? err : troupe__value_8(&val, v);
}

troupe_err troupe_get_str(troupe *rt, troupe_ref ref, double timeout_s,
			  const char **s)
{
	troupe_value val = {NULL, 0};
	if (s == NULL)
		return TROUPE_EINVAL;
	troupe_err err = troupe_get(rt, ref, timeout_s, &val);
	return err != TROUPE_OK ? err : troupe_value_str(&val, s);
}

troupe_err troupe_error_message(troupe *rt, troupe_ref ref, const char **msg)
{
	struct troupe__obj *o;
	if (rt == NULL || msg == NULL)
		return TROUPE_EINVAL;
	if (troupe__closed(rt))
		return TROUPE_ESHUTDOWN;
	troupe__thread_enter();
	troupe__rcu_lock();
	troupe_err err = troupe__obj_lookup(rt, ref, &o);
	if (err == TROUPE_OK) {
		if (troupe__obj_state(o) == TROUPE__ERROR)
			*msg = o->data;
		else
			err = TROUPE_EINVAL;
	}
	troupe__rcu_unlock();
	return err;
}

/* --------------------------------------------------------------- wait */

#define WAIT_STACK 16

troupe_err troupe_wait(troupe *rt, const troupe_ref *refs, size_t n,
		       size_t num_ready, double timeout_s, bool *ready)
{
	if (rt == NULL || refs == NULL || ready == NULL || n == 0 ||
	    num_ready == 0 || num_ready > n || isnan(timeout_s) ||
	    n > UINT32_MAX)
		return TROUPE_EINVAL;
	if (troupe__closed(rt))
		return TROUPE_ESHUTDOWN;
	troupe__thread_enter();

	struct troupe__obj *stack_objs[WAIT_STACK];
	struct sleeper_node stack_nodes[WAIT_STACK];
	struct troupe__obj **objs = stack_objs;
	struct sleeper_node *nodes = stack_nodes;
	if (n > WAIT_STACK) {
		objs = troupe__malloc(n * sizeof *objs);
		nodes = troupe__malloc(n * sizeof *nodes);
		if (objs == NULL || nodes == NULL) {
			troupe__free(objs == stack_objs ? NULL : objs);
			troupe__free(nodes == stack_nodes ? NULL : nodes);
			return TROUPE_ENOMEM;
		}
	}

	troupe_err err = TROUPE_OK;
	size_t held = 0;
	/* Counted as blocked from the start (outside threads): shutdown waits
	 * for us to let go of the objects before it frees them. */
	bool entered = enter_blocking(rt);
	if (!entered) {
		err = TROUPE_ESHUTDOWN;
		goto out;
	}
	troupe__box_drain(); /* about to wait: take in what came back */
	troupe__rcu_lock();
	for (; held < n; held++) {
		err = troupe__obj_lookup(rt, refs[held], &objs[held]);
		if (err == TROUPE_OK)
			err = troupe__obj_ref_id(objs[held], refs[held].id);
		if (err != TROUPE_OK)
			break;
	}
	troupe__rcu_unlock();
	if (err != TROUPE_OK)
		goto out;

	struct troupe__worker *self = troupe__sched_self(rt);
	size_t done = count_done(objs, n);
	/* Inside a body, run queued producers ourselves first. */
	for (size_t i = 0; self != NULL && timeout_s != 0 && i < n &&
			   done < num_ready;
	     i++)
		if (!troupe__obj_done(objs[i]) &&
		    troupe__sched_run_inline(rt, self, objs[i]))
			done = count_done(objs, n);
	if (done < num_ready && timeout_s != 0 && !troupe__stopping(rt)) {
		int64_t deadline = deadline_of(timeout_s);
		struct sleeper s;
		atomic_init(&s.count, 0);
		s.need = (uint32_t)num_ready;
		/* Every object is counted once: as done now, as done when its
		 * waiter could not be added, or by its waiter's wake. */
		for (size_t i = 0; i < n; i++) {
			nodes[i].w.wake = sleeper_wake;
			nodes[i].s = &s;
			atomic_init(&nodes[i].fired, 0);
			nodes[i].added = !troupe__obj_done(objs[i]) &&
					 troupe__waiter_add(rt, objs[i],
							    &nodes[i].w);
			if (!nodes[i].added)
				atomic_fetch_add(&s.count, 1);
		}
		if (self != NULL)
			troupe__sched_block_begin(rt, self);
		sleep_until(&s, deadline);
		if (self != NULL)
			troupe__sched_block_end(rt, self);
		for (size_t i = 0; i < n; i++)
			if (nodes[i].added)
				unhook(rt, objs[i], &nodes[i]);
	}
	done = 0;
	for (size_t i = 0; i < n; i++) {
		ready[i] = troupe__obj_done(objs[i]);
		done += ready[i];
	}
	err = done >= num_ready ? TROUPE_OK : TROUPE_ETIMEDOUT;
out:
	for (size_t i = 0; i < held; i++)
		troupe__obj_unref(rt, objs[i]);
	if (entered)
		leave_blocking(rt);
	if (objs != stack_objs) {
		troupe__free(objs);
		troupe__free(nodes);
	}
	return err;
}

/* ----------------------------------------------------------- on_ready */

struct ready_node {
	struct troupe__waiter w;
	struct cds_wfcq_node qnode; /* posted: the completion queue link */
	troupe_ready_fn cb;
	void *arg;
	troupe_ref ref;
	struct troupe__obj *o; /* a ref held until cb returns */
	bool posted;
};

static troupe_err status_of(const struct troupe__obj *o)
{
	return troupe__obj_state(o) == TROUPE__READY ? TROUPE_OK : o->err;
}

/* How deep the calling thread is in on_ready callbacks: shutdown from
 * inside one would free what the caller of the callback still uses. */
static TROUPE__TLS int callback_depth;

bool troupe__in_callback(void)
{
	return callback_depth > 0;
}

static void ready_call(troupe *rt, struct ready_node *r)
{
	callback_depth++;
	r->cb(rt, r->ref, status_of(r->o), r->arg);
	callback_depth--;
	/* By id: a callback that released ref once too often has taken the
	 * registration's ref already, and the slot may hold another object. */
	troupe__obj_release_id(rt, r->o, r->ref.id);
	troupe__free(r);
}

/* The completion fd's counter is never below the number of queued
 * completions: a post counts its node before queueing it, and a dispatch
 * takes off exactly what it ran.  So the fd is readable just while some
 * post is queued or on its way, and not after a dispatch that ran the
 * last one (signalling after queueing left it readable, with nothing to
 * run, whenever a post's write came after the dispatch that ran its node:
 * seen on 16 CPUs). */
static void post(troupe *rt, struct ready_node *r)
{
	uint64_t one = 1;
	/* The eventfd counter only saturates far beyond any queue length. */
	ssize_t wr = write(rt->cq_fd, &one, sizeof one);
	(void)wr;
	cds_wfcq_node_init(&r->qnode);
	troupe__tsan_release(r);
	cds_wfcq_enqueue(&rt->cq_head, &rt->cq_tail, &r->qnode);
}

static void ready_wake(troupe *rt, struct troupe__waiter *w,
		       struct troupe__obj *o)
{
	(void)o;
	struct ready_node *r = caa_container_of(w, struct ready_node, w);
	if (r->posted)
		post(rt, r);
	else
		ready_call(rt, r);
}

static troupe_err on_ready(troupe *rt, troupe_ref ref, troupe_ready_fn cb,
			   void *arg, bool posted)
{
	struct troupe__obj *o;
	if (rt == NULL || cb == NULL)
		return TROUPE_EINVAL;
	if (troupe__stopping(rt))
		return TROUPE_ESHUTDOWN;
	struct ready_node *r = troupe__malloc(sizeof *r);
	if (r == NULL)
		return TROUPE_ENOMEM;
	/* The registration holds a ref of the caller's kind, so the callback
	 * can use ref like any caller after the caller released its own. */
	troupe__thread_enter();
	troupe__rcu_lock();
	troupe_err err = troupe__obj_lookup(rt, ref, &o);
	if (err == TROUPE_OK)
		err = troupe__obj_retain_id(o, ref.id);
	troupe__rcu_unlock();
	if (err != TROUPE_OK) {
		troupe__free(r);
		return err;
	}
	*r = (struct ready_node){.w.wake = ready_wake, .cb = cb, .arg = arg,
				 .ref = ref, .o = o, .posted = posted};
	if (!troupe__waiter_add(rt, o, &r->w))
		ready_wake(rt, &r->w, o);
	return TROUPE_OK;
}

troupe_err troupe_on_ready(troupe *rt, troupe_ref ref, troupe_ready_fn cb,
			   void *arg)
{
	return on_ready(rt, ref, cb, arg, false);
}

troupe_err troupe_on_ready_post(troupe *rt, troupe_ref ref,
				troupe_ready_fn cb, void *arg)
{
	return on_ready(rt, ref, cb, arg, true);
}

troupe_err troupe_completion_fd(troupe *rt, int *fd)
{
	if (rt == NULL || fd == NULL)
		return TROUPE_EINVAL;
	if (troupe__closed(rt))
		return TROUPE_ESHUTDOWN;
	*fd = rt->cq_fd;
	return TROUPE_OK;
}

size_t troupe__dispatch(troupe *rt)
{
	struct __cds_wfcq_head h;
	struct cds_wfcq_tail t;
	size_t ran = 0;

	pthread_mutex_lock(&rt->cq_lock);
	__cds_wfcq_init(&h, &t);
	troupe__wfcq_splice(&h, &t, &rt->cq_head, &rt->cq_tail);
	pthread_mutex_unlock(&rt->cq_lock);
	struct cds_wfcq_node *n;
	while ((n = troupe__wfcq_pop(&h, &t)) != NULL) {
		struct ready_node *r =
			caa_container_of(n, struct ready_node, qnode);
		troupe__tsan_acquire(r); /* pairs with post */
		ready_call(rt, r);
		ran++;
	}
	if (ran == 0)
		return 0;
	/* Take what ran off the counter (see post): read it (which resets
	 * it) and write back the rest, under the lock so that two
	 * dispatchers' adjustments do not interleave.  Posts may add to it
	 * meanwhile; the counter only ever sits above the queue, never
	 * below, so no post goes unsignalled. */
	pthread_mutex_lock(&rt->cq_lock);
	uint64_t cnt = 0;
	if (read(rt->cq_fd, &cnt, sizeof cnt) != (ssize_t)sizeof cnt)
		cnt = 0;
	uint64_t rest = cnt > ran ? cnt - ran : 0;
	/* Nothing left to count but something queued: either its post
	 * signalled after our read (a post writes before it queues, so its
	 * count is in the fd now), or something else took counts off (an
	 * application that read the fd itself).  A second read tells them
	 * apart: write back what it found, or 1 for a queue nobody
	 * signals.  (Writing 1 in the first case had left the fd readable
	 * with nothing queued.) */
	if (rest == 0 && !cds_wfcq_empty(&rt->cq_head, &rt->cq_tail)) {
		uint64_t late = 0;
		if (read(rt->cq_fd, &late, sizeof late) != (ssize_t)sizeof late)
			late = 0;
		rest = late > 0 ? late : 1;
	}
	if (rest > 0) {
		ssize_t wr = write(rt->cq_fd, &rest, sizeof rest);
		(void)wr;
	}
	pthread_mutex_unlock(&rt->cq_lock);
	return ran;
}

troupe_err troupe_dispatch(troupe *rt, size_t *ran)
{
	if (rt == NULL)
		return TROUPE_EINVAL;
	if (troupe__closed(rt))
		return TROUPE_ESHUTDOWN;
	troupe__thread_enter();
	/* Counted like a blocking get, so that shutdown waits for it before
	 * it closes the fd. */
	if (!enter_blocking(rt))
		return TROUPE_ESHUTDOWN;
	size_t n = troupe__dispatch(rt);
	leave_blocking(rt);
	if (ran != NULL)
		*ran = n;
	return TROUPE_OK;
}
