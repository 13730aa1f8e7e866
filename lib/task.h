/*
 * Tasks: a function, its arguments (inline bytes copied at submit, or refs
 * whose values it sees zero-copy), and the objects it fills.
 *
 * Life of a task: submit allocates it in one block with its argument bytes,
 * takes a runtime ref on each ref argument and on each object it fills, and
 * hangs a waiter on every argument not yet ready.  When the last one
 * resolves (or at once) it becomes runnable: its first object's `task`
 * field points at it and it is pushed to a deque or the injection queue.
 *
 * Running it needs the claim on its first object: a worker that dequeued it
 * and a getter that wants its value race for that one flag, so a task runs
 * at most once.  When a getter wins, the task is still referenced from a
 * queue, so the block is freed by the second of two votes (the runner's and
 * the dequeuer's); otherwise the worker that ran it frees it directly.  A
 * worker whose get ran a task in place may hold its vote (sched.c, trim):
 * if it then pops the task's slot itself, it has both and frees the block.
 */
#ifndef TROUPE_TASK_H
#define TROUPE_TASK_H

#include "internal.h"

struct troupe__task;

struct troupe__argslot {
	struct troupe__waiter w;
	struct troupe__task *t;
	struct troupe__obj *o;
	unsigned index; /* which argument */
};

struct troupe__actor;

/* Kept to 128 bytes or less with one ref and no argument (the bench's
 * memory-per-pending-task figure): the allocator's next size up is 160.
 * The arrays follow the struct in one block: rets, then the held actor
 * handles (troupe__task_actors), then args, then slots, then the bytes. */
struct troupe__task {
	struct troupe__job job; /* first: the pool runs it as a job */
	union {
		troupe_fn fn;         /* a task */
		troupe_method method; /* an actor's call (self != NULL) */
	};
	const char *name; /* NULL, or a copy inside this block */
	unsigned nret, nargs, nrefs, nactors;
	_Atomic unsigned deps;  /* unresolved ref args, +1 guard (see below) */
	_Atomic unsigned votes; /* see the header comment */
	struct troupe__obj **rets;
	troupe_value *args;
	struct troupe__argslot *slots;

	/* An actor's call (actor.c): the callee, who called. */
	struct troupe__actor *self;
	uint64_t caller;
	struct troupe__task *next; /* actor.c's lists */
	int retries;               /* deliveries left after a fatal failure */
	bool guard_dropped;        /* actor.c: the turn dropped the guard */
	bool parked;               /* actor.c: waited for its arguments */
	bool counted;	/* actor.c: counts in its actor's pending calls */
	bool keep_args; /* a constructor kept for restarts holds its args */
	struct troupe__box *box; /* where the block goes back (handback.h) */
};

/* The actor handles t holds for its body (TROUPE_ARG_ACTOR arguments). */
static inline struct troupe__obj **troupe__task_actors(struct troupe__task *t)
{
	return t->rets + t->nret;
}

/* How a body ended. */
enum troupe__outcome {
	TROUPE__RETURNED, /* refs resolved to its values */
	TROUPE__FAILED,   /* troupe_fail: refs resolved to the error */
	TROUPE__FATAL,    /* troupe_fail_fatal in an actor: refs left pending */
};

/* Builds a task (or an actor call: self != NULL) for fn/method with args:
 * copies inline bytes, holds ref and actor arguments, makes nret pending
 * objects (refs[] gets their ids).  Its deps count is the number of ref
 * arguments plus a guard of 1: troupe__task_hook_deps hangs the waiters,
 * troupe__task_dep_done drops one (the last one out calls ready()). */
troupe_err troupe__task_build(troupe *rt, const troupe_arg *args, size_t nargs,
			      unsigned nret, const char *name,
			      struct troupe__task **out);
void troupe__task_hook_deps(troupe *rt, struct troupe__task *t);
void troupe__task_dep_done(troupe *rt, struct troupe__task *t);

/* An argument failed: the error and the chained message (taken) for the
 * task's refs, or TROUPE_OK when all arguments are values — then the args
 * views are filled in. */
troupe_err troupe__task_check_args(troupe *rt, struct troupe__task *t,
				   char **msg);
/* Runs t's body (for an actor: method with state).  Resolves its refs,
 * except on TROUPE__FATAL.  When it failed and msg is not NULL, *msg gets
 * the body's own message (taken; NULL on no memory). */
enum troupe__outcome troupe__task_invoke(troupe *rt, struct troupe__task *t,
					 void *state, char **msg);
/* Resolves every ref of t to an error (msg copied). */
void troupe__task_fail(troupe *rt, struct troupe__task *t, troupe_err err,
		       const char *msg);
/* Releases what t holds (arguments, refs) and frees it. */
void troupe__task_free(troupe *rt, struct troupe__task *t);

/* A worker took t off a queue: run it if it can claim it. */
void troupe__task_dequeued(troupe *rt, struct troupe__task *t);
/* A getter wants the value of o, produced by a queued task: claims and runs
 * it on the calling thread.  True when it ran it. */
bool troupe__task_run_inline(troupe *rt, struct troupe__obj *o);
/* The same, leaving the run's vote to the caller: it returns the task it
 * ran (NULL: none), still in its queue.  The caller then casts the vote
 * (troupe__task_vote), or, when it takes the queue slot too (it pops it
 * from its own deque), frees t with troupe__task_free: both votes are its
 * own. */
struct troupe__task *troupe__task_claim_run(troupe *rt, struct troupe__obj *o);
void troupe__task_vote(troupe *rt, struct troupe__task *t);
/* Shutdown: t was still queued; it will never run. */
void troupe__task_drop(troupe *rt, struct troupe__task *t);
/* Frees the function registry. */
void troupe__fns_fini(troupe *rt);

/* Who is calling, for per-caller ordering of actor calls: the body running
 * on this thread, else the thread. */
uint64_t troupe__caller_id(void);

#endif
