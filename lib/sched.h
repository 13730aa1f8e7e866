/*
 * The scheduler: worker threads, each with a Chase-Lev deque; an injection
 * queue for tasks submitted from threads outside the pool; random-victim
 * stealing; spin-then-park idling; and compensation — a worker about to
 * block in get/wait makes sure enough others can run.  The design notes and
 * the measurements behind the spin window are in sched.md.
 *
 * Threads: troupe__sched_push and troupe__sched_block_* may be called from
 * any thread; the rest belong to runtime.c's init/shutdown.
 */
#ifndef TROUPE_SCHED_H
#define TROUPE_SCHED_H

#include "troupe.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <urcu/wfcqueue.h>

#include "deque.h"
#include "handback.h"
#include "tls.h"

/* A unit of work the pool runs: a task, an actor's turn, a batch of
 * retired objects to free.  Embedded at the start of each. */
enum troupe__job_kind {
	TROUPE__JOB_TASK,
	TROUPE__JOB_RECLAIM,
	TROUPE__JOB_ACTOR_TURN,
	TROUPE__JOB_ACTOR_TURN_EXTRA,
	TROUPE__JOB_ACTOR_FINISH,
	TROUPE__JOB_RESIZE, /* the object table's (objtab.c) */
};

struct troupe__job {
	struct cds_wfcq_node qnode; /* injection queue link */
	enum troupe__job_kind kind;
};

struct troupe__task;

/* Claimed tasks a worker holds the vote of, at most (see held[]). */
#define TROUPE__HELD_MAX 16

struct troupe__worker {
	struct troupe__deque dq;
	troupe *rt;
	pthread_t thread;
	unsigned index;
	bool searching;  /* counted in n_searching; own thread only */
	int blocked;     /* nesting of blocking gets; own thread only */
	uint64_t rng;    /* victim choice; own thread only */
	/* Tasks this worker's gets claimed and ran where they sat in a
	 * queue, whose run's vote (task.h) it has not cast yet: a trim
	 * (sched.c) that pops one's slot frees it outright.  The running
	 * body's are held[held_base..held_n); a body run inside a get holds
	 * its own above its caller's.  Own thread only. */
	struct troupe__task *held[TROUPE__HELD_MAX];
	unsigned held_n, held_base;
	/* Objects this worker took out of the table, waiting for a batch's
	 * grace period (objtab.c); own thread only. */
	struct troupe__obj *retired;
	_Atomic unsigned nretired; /* stored by its thread, read by sizing */
	/* Task blocks this worker is done with, on their way back to the
	 * threads that made them (troupe__sched_free); own thread only. */
	struct troupe__returns returns;
	/* Parking: the futex word is 1 while parked.  Under park_lock:
	 * next_parked and whether the worker is on the parked list. */
	alignas(64) _Atomic uint32_t park_word;
	struct troupe__worker *next_parked;
	bool on_parked_list;
};

struct troupe__sched {
	unsigned nbase;       /* workers asked for */
	unsigned max_threads; /* cap on workers, counting compensation ones */
	long spin_ns;         /* idle spin window; <0: park at once */
	struct troupe__worker **workers; /* max_threads slots */
	/* Workers started so far; slot i is published before the count. */
	alignas(64) _Atomic unsigned nworkers;
	/* Workers looking for work (not running, not parked). */
	alignas(64) _Atomic int n_searching;
	_Atomic int n_parked;
	/* Workers blocked in get/wait inside a body. */
	_Atomic int n_blocked;
	pthread_mutex_t park_lock;
	struct troupe__worker *parked; /* under park_lock */
	/* One parked worker at a time watches the object table's depot: it
	 * sleeps only until the depot has spare slots to let go (objtab.h,
	 * troupe__objtab_depot_due).  watch_handoff: a spill took the watch
	 * for whichever worker parks next (troupe__sched_watch_depot). */
	_Atomic bool depot_watched;
	_Atomic bool watch_handoff;
	pthread_mutex_t grow_lock;     /* serializes starting workers */
	/* Tasks from threads outside the pool. */
	alignas(64) struct __cds_wfcq_head inj_head;
	struct cds_wfcq_tail inj_tail;
	pthread_mutex_t inj_lock; /* one worker drains at a time */
};

/* The worker the calling thread is, if any (sched.c sets it). */
extern TROUPE__TLS struct troupe__worker *troupe__tls_worker;

/* The worker the calling thread is, if it is one of rt's; else NULL.
 * Inline: a get, a submit and a free each ask, several times a task. */
static inline struct troupe__worker *troupe__sched_self(troupe *rt)
{
	struct troupe__worker *w = troupe__tls_worker;
	return w != NULL && w->rt == rt ? w : NULL;
}

troupe_err troupe__sched_init(troupe *rt, const troupe_config *cfg);
/* Starts the base workers. */
troupe_err troupe__sched_start(troupe *rt);
/* Wakes and joins every worker, once (rt->stopping must be set). */
void troupe__sched_join(troupe *rt);
/* After the join: disposes of each job still queued (a task is dropped
 * unrun); how many there were. */
size_t troupe__sched_drain(troupe *rt);
void troupe__sched_fini(troupe *rt);

/* Makes j runnable: onto the caller's deque when it is one of rt's workers,
 * else onto the injection queue; wakes a worker if none is looking. */
void troupe__sched_push(troupe *rt, struct troupe__job *j);

/* Like troupe__sched_push, but always at the back of the pool (the
 * injection queue): for a job that yields after a batch, behind the work
 * that waited meanwhile. */
void troupe__sched_push_back(troupe *rt, struct troupe__job *j);
/* The object table's depot now holds slots it will let go of in time: if
 * no worker watches it, hands the watch to the next to park and wakes a
 * parked one.  Any thread, also inside a read-side section. */
void troupe__sched_watch_depot(troupe *rt);

/* True when some job waits in the pool's queues (a hint: it may be gone
 * by the time the caller acts on it). */
bool troupe__sched_work_waiting(troupe *rt);

/* Whether every worker is blocked in a get or wait and no more can be
 * started (max_threads): queued work then waits for a thread outside the
 * pool.  Any thread; a snapshot. */
bool troupe__sched_stuck(troupe *rt);

/* A worker (w) is about to block: keep nbase workers able to run, starting
 * one if need be.  Pairs with troupe__sched_block_end. */
void troupe__sched_block_begin(troupe *rt, struct troupe__worker *w);
void troupe__sched_block_end(troupe *rt, struct troupe__worker *w);

/* Inside a body on w, a get or wait wants the value of o: runs o's task
 * here if nobody has started it, taking it off w's deque when it is the
 * last one there.  True when it ran it (or found it claimed as it took it
 * off: its runner may not be done). */
bool troupe__sched_run_inline(troupe *rt, struct troupe__worker *w,
			      struct troupe__obj *o);

/* Gives up a task block (troupe__block_alloc'd, going back to box): freed
 * at once on a thread outside rt's pool; on a worker, handed back to its
 * owner with others (handback.h), or freed with them when the owner is this
 * worker.  Batching alone, before the hand-back, measured on 10,000-call
 * fire-and-forget batches (8 A/B runs): 7.3-9.1 -> 7.9-11.0 M/s. */
void troupe__sched_free(troupe *rt, void *p, struct troupe__box *box);

/* One step of a spin-wait: a few pause instructions (~0.1 µs), and every
 * 8th step a yield to any thread runnable on this CPU.  *step counts the
 * steps; start it at 0. */
void troupe__spin_pause(unsigned *step);

/* The consumer's side of liburcu's wait-free queues, for the one thread
 * that consumes at a time.  An enqueuer moves the tail, then links the node
 * behind it; a consumer that reaches the node between the two must wait.
 * liburcu's blocking calls wait 10 pauses and then sleep 10 ms in poll();
 * on a VM where one cache-line transfer can take half a microsecond, a
 * consumer right behind its producer hit that sleep (measured: 9-11 ms
 * stalls of an actor's 10,000-call batch).  These spin-wait instead
 * (troupe__spin_pause, which yields to an enqueuer preempted on our CPU).
 *
 * troupe__wfcq_pop: the first node, or NULL when the queue is empty.
 * troupe__wfcq_splice: moves all of src's nodes to the end of dst. */
struct cds_wfcq_node *troupe__wfcq_pop(struct __cds_wfcq_head *head,
				       struct cds_wfcq_tail *tail);
void troupe__wfcq_splice(struct __cds_wfcq_head *dst_head,
			 struct cds_wfcq_tail *dst_tail,
			 struct __cds_wfcq_head *src_head,
			 struct cds_wfcq_tail *src_tail);

/* Nanoseconds on the monotonic clock. */
int64_t troupe__now_ns(void);

#endif
