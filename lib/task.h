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
 * the dequeuer's); otherwise the worker that ran it frees it directly.
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

struct troupe__task {
	struct troupe__job job; /* first: the pool runs it as a job */
	troupe_fn fn;
	const char *name; /* NULL, or a copy inside this block */
	unsigned nret, nargs, nrefs;
	_Atomic unsigned deps;  /* unresolved ref args, +1 while submitting */
	_Atomic unsigned votes; /* see the header comment */
	struct troupe__obj **rets;
	troupe_value *args;
	struct troupe__argslot *slots;
};

/* A worker took t off a queue: run it if it can claim it. */
void troupe__task_dequeued(troupe *rt, struct troupe__task *t);
/* A getter wants the value of o, produced by a queued task: claims and runs
 * it on the calling thread.  True when it ran it. */
bool troupe__task_run_inline(troupe *rt, struct troupe__obj *o);
/* Shutdown: t was still queued; it will never run. */
void troupe__task_drop(troupe *rt, struct troupe__task *t);
/* Frees the function registry. */
void troupe__fns_fini(troupe *rt);

#endif
