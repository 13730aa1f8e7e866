/* Actors: mailboxes, turns, restarts, the named registry.  See actor.h
 * for the model and actor.md for the design notes. */
#include "actor.h"

#include <stdarg.h>
#include <stdio.h>

#include "alloc.h"
#include "rcu.h"
#include "task.h"
#include "tsan.h"

/* Calls one turn runs before the actor goes to the back of the pool. */
#define BATCH 64

enum phase {
	NEW,  /* the constructor has not run */
	LIVE, /* constructed */
	DEAD, /* killed, failed for good, or its constructor failed */
};

/* A caller whose first waiting call still awaits its ref arguments: its
 * later calls queue behind it here, so they keep their order while other
 * callers' calls go on.  Turn-private (one turn at a time). */
struct blocked {
	struct blocked *next;
	uint64_t caller;
	struct troupe__task *head;        /* parked, awaiting its args */
	struct troupe__task *first, *last; /* queued behind it */
};

/* With max_concurrency > 1: turns pop the mailbox under `pop`; methods run
 * under `rw` shared, and what changes the actor itself — construction, a
 * restart, a kill — under `rw` exclusive, so it never runs beside a
 * method. */
struct shared_locks {
	pthread_mutex_t pop;
	pthread_rwlock_t rw;
};

/* Laid out to stay within the allocator's 224-byte class with an 8-byte
 * state (the bench's memory-per-idle-actor figure), and so that what a
 * side writes for each call shares no line with what the other side reads
 * for each call.  Every caller's push exchanges mb_tail: a line the turn
 * read since comes back from it first, and the turn, reading again, takes
 * it back — two transfers a call, each stalling the caller's exchange.
 * The block's lines may start at any multiple of 32 bytes (224-byte blocks
 * in a page), so the 32 bytes before mb_tail's 32 and the 32 after are the
 * callers' side too (asserted below): the object header's tail, then
 * fields the turn reads only as a turn starts or ends (max_concurrency,
 * active).  The turn's per-call writes (mb_head, the state) come last,
 * past everything a caller reads.  What both sides write is left: pending,
 * with max_pending_calls set; active, as the actor idles and is woken. */
struct troupe__actor {
	struct troupe__obj obj; /* first: the table frees the whole block */

	/* The callers' side.  The mailbox: calls, any thread may push at
	 * the tail; one turn pops at the head (a lock orders the turns of an
	 * actor with max_concurrency > 1). */
	struct cds_wfcq_tail mb_tail;
	const troupe_class *cls;
	unsigned max_pending;
	_Atomic unsigned pending; /* calls queued or running */
	int max_task_retries;
	uint16_t max_concurrency;
	bool detached;
	bool torn_down;		 /* shutdown freed its calls already */
	struct troupe__job turn; /* pushed as the actor is activated */
	char *name;		 /* registered under it, or NULL */
	_Atomic unsigned active; /* turns scheduled or running */

	/* The turn's side (with max_concurrency > 1: under locks->rw). */
	struct troupe__task *ctor; /* kept while restarts may need it */
	char *death;		   /* why it is dead (for EACTOR messages) */
	struct blocked *blocked;
	struct shared_locks *locks; /* only with max_concurrency > 1 */
	int restarts_left;
	_Atomic uint8_t phase;
	/* troupe_actor_kill: 1 = kill, 2 = kill and restart if allowed. */
	_Atomic uint8_t kill_req;
	/* The constructor's arguments are all in: it may run. */
	_Atomic bool ctor_ready;
	bool constructed; /* the constructor succeeded: fini is due */
	struct __cds_wfcq_head mb_head;
	alignas(16) unsigned char state[];
};

_Static_assert(offsetof(struct troupe__actor, ctor) >=
		       (offsetof(struct troupe__actor, mb_tail) & ~(size_t)31) +
			       64,
	       "the turn's fields are within a line of the mailbox's tail");
_Static_assert((offsetof(struct troupe__actor, mb_tail) & ~(size_t)31) >=
		       offsetof(struct troupe__obj, free_fn) + 32,
	       "a line with the mailbox's tail reaches the object header's "
	       "busy fields");
_Static_assert((offsetof(struct troupe__actor, mb_head) & ~(size_t)31) >=
		       offsetof(struct troupe__actor, ctor) + 32,
	       "a line with the mailbox's head reaches the callers' side");
_Static_assert(sizeof(struct troupe__actor) + 8 <= 224,
	       "an actor with an 8-byte state outgrew its allocator class");

static struct troupe__actor *actor_of(struct troupe__obj *o)
{
	return (struct troupe__actor *)o;
}

static const char *class_name(const struct troupe__actor *a)
{
	return a->cls->name != NULL ? a->cls->name : "actor";
}

const char *troupe__actor_class_name(const struct troupe__actor *a)
{
	return class_name(a);
}

troupe_err troupe__actor_lookup_obj(troupe *rt, troupe_actor h,
				    struct troupe__obj **o)
{
	troupe_err err = troupe__obj_lookup_any(rt, h.id, o);
	if (err == TROUPE_OK && (*o)->kind != TROUPE__OBJ_ACTOR)
		return TROUPE_ESTALE;
	return err;
}

/* ------------------------------------------------------------ registry */

struct name_entry {
	struct name_entry *next;
	struct troupe__actor *a;
	char name[];
};

#define NAME_BUCKETS 64

struct troupe__registry {
	pthread_mutex_t lock;
	struct name_entry *bucket[NAME_BUCKETS];
};

static unsigned name_hash(const char *s)
{
	unsigned h = 2166136261u; /* FNV-1a */
	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % NAME_BUCKETS;
}

troupe_err troupe__actors_init(troupe *rt)
{
	struct troupe__registry *r = troupe__calloc(1, sizeof *r);
	if (r == NULL)
		return TROUPE_ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	rt->registry = r;
	return TROUPE_OK;
}

void troupe__actors_fini(troupe *rt)
{
	struct troupe__registry *r = rt->registry;
	if (r == NULL)
		return;
	for (int b = 0; b < NAME_BUCKETS; b++)
		while (r->bucket[b] != NULL) {
			struct name_entry *e = r->bucket[b];
			r->bucket[b] = e->next;
			troupe__free(e);
		}
	pthread_mutex_destroy(&r->lock);
	troupe__free(r);
	rt->registry = NULL;
}

/* Takes a's name out of the registry, if it is still a's.  A detached
 * actor's entry held a handle: returned true so the caller drops it. */
static bool unregister(troupe *rt, struct troupe__actor *a)
{
	struct troupe__registry *r = rt->registry;
	bool held = false;
	if (a->name == NULL)
		return false;
	pthread_mutex_lock(&r->lock);
	for (struct name_entry **p = &r->bucket[name_hash(a->name)]; *p;
	     p = &(*p)->next)
		if ((*p)->a == a) {
			struct name_entry *e = *p;
			*p = e->next;
			troupe__free(e);
			held = a->detached;
			break;
		}
	pthread_mutex_unlock(&r->lock);
	return held;
}

/* ------------------------------------------------------------- helpers */

/* A call is done with: free it and what it held of the actor.
 *
 * A call in the mailbox needs no hold on the actor of its own: its caller
 * held a handle while pushing it, and from then on a turn is active (or
 * scheduled, holding the actor) until the mailbox is empty.  Only a call
 * parked on its arguments, outside the mailbox, holds the actor. */
static void call_done(troupe *rt, struct troupe__actor *a,
		      struct troupe__task *t)
{
	bool parked = t->parked, counted = t->counted;
	troupe__task_free(rt, t);
	if (counted)
		atomic_fetch_sub_explicit(&a->pending, 1, memory_order_relaxed);
	if (parked)
		troupe__obj_unref(rt, &a->obj);
}

static void fail_call(troupe *rt, struct troupe__actor *a,
		      struct troupe__task *t, troupe_err err, const char *msg)
{
	troupe__task_fail(rt, t, err, msg);
	call_done(rt, a, t);
}

static struct troupe__task *mailbox_pop(struct troupe__actor *a)
{
	struct cds_wfcq_node *n;
	if (a->locks != NULL)
		pthread_mutex_lock(&a->locks->pop);
	n = troupe__wfcq_pop(&a->mb_head, &a->mb_tail);
	if (a->locks != NULL)
		pthread_mutex_unlock(&a->locks->pop);
	if (n == NULL)
		return NULL;
	struct troupe__task *t = caa_container_of(n, struct troupe__task,
						  job.qnode);
	troupe__tsan_acquire(t); /* pairs with mailbox_push */
	return t;
}

/* Pauses settle makes, at most (27 ns each on this VM's AMD EPYC: ~1.7
 * us in all). */
#define SETTLE_SPINS 64

/* Before a turn takes the last call it can see, gives the callers time to
 * queue more, when calls have been coming faster than it takes them and
 * nothing else waits for the pool.  Taking the queue's last node moves its
 * tail, the line every caller's push exchanges: a turn that catches up
 * with its callers after each call pulls that line from them once per
 * call, and perf showed the callers' enqueue stalled on it.  A pause that
 * touches neither end lets a few calls gather, taken with one tail move.
 * Measured, one thread making fire-and-forget calls: 9.1-11.1 M calls/s
 * before, 13.6-15.9 after (5 alternating runs).  Not when the turn found
 * no backlog (a caller that waits for each reply would wait out the pause
 * too), nor when other jobs wait (the callers may be among them, behind
 * us), nor with max_concurrency > 1. */
_Static_assert(offsetof(struct troupe__task, job.qnode) == 0,
	       "a mailbox node is not its call's address");

static void settle(troupe *rt, struct troupe__actor *a)
{
	struct cds_wfcq_node *first =
		__atomic_load_n(&a->mb_head.node.next, __ATOMIC_ACQUIRE);
	if (first == NULL)
		return;
	/* The node is a call's block (its first field): pairs with
	 * mailbox_push's release, as mailbox_pop does. */
	troupe__tsan_acquire(first);
	if (__atomic_load_n(&first->next, __ATOMIC_RELAXED) != NULL ||
	    troupe__sched_work_waiting(rt))
		return;
	for (unsigned i = 0; i < SETTLE_SPINS; i++)
		caa_cpu_relax();
}

/* With max_concurrency > 1, several turns run at once: each needs a job of
 * its own, freed when the turn ends. */
struct extra_turn {
	struct troupe__job job;
	struct troupe__actor *a;
};

static struct troupe__job *new_turn(struct troupe__actor *a)
{
	if (a->max_concurrency <= 1)
		return &a->turn;
	struct extra_turn *x = troupe__malloc(sizeof *x);
	if (x == NULL)
		return NULL;
	x->job.kind = TROUPE__JOB_ACTOR_TURN_EXTRA;
	x->a = a;
	return &x->job;
}

/* Schedules a turn if fewer than max_concurrency are active.  Called after
 * a push (the push is a full barrier, ordering it before our load of
 * `active`; the turn that goes idle stores `active` then looks at the
 * mailbox, so one of us sees the other). */
static void activate(troupe *rt, struct troupe__actor *a)
{
	unsigned max = a->max_concurrency > 1 ? a->max_concurrency : 1;
	unsigned n = atomic_load(&a->active);
	while (n < max) {
		if (atomic_compare_exchange_weak(&a->active, &n, n + 1)) {
			struct troupe__job *j = new_turn(a);
			if (j == NULL) {
				atomic_fetch_sub(&a->active, 1);
				return; /* the active turns will get to it */
			}
			troupe__obj_ref(&a->obj); /* the turn's hold */
			troupe__sched_push(rt, j);
			return;
		}
	}
}

static void mailbox_push(troupe *rt, struct troupe__actor *a,
			 struct troupe__task *t)
{
	cds_wfcq_node_init(&t->job.qnode);
	troupe__tsan_release(t);
	cds_wfcq_enqueue(&a->mb_head, &a->mb_tail, &t->job.qnode);
	activate(rt, a);
}


/* --------------------------------------------------- life and death */

static void excl_begin(struct troupe__actor *a)
{
	if (a->locks != NULL)
		pthread_rwlock_wrlock(&a->locks->rw);
}

static void excl_end(struct troupe__actor *a)
{
	if (a->locks != NULL)
		pthread_rwlock_unlock(&a->locks->rw);
}

static void run_fini(troupe *rt, struct troupe__actor *a)
{
	if (a->constructed && a->cls->fini != NULL)
		a->cls->fini(rt, a->state);
	a->constructed = false;
}

/* Fails every call queued behind a blocked caller (its head stays parked
 * on its arguments; it fails when it comes back). */
static void fail_blocked(troupe *rt, struct troupe__actor *a)
{
	for (struct blocked *b = a->blocked; b != NULL; b = b->next)
		while (b->first != NULL) {
			struct troupe__task *t = b->first;
			b->first = t->next;
			fail_call(rt, a, t, TROUPE_EACTOR, a->death);
		}
}

/* The actor is dead for good: why (taken) is what its calls resolve to. */
static void die(troupe *rt, struct troupe__actor *a, char *why)
{
	if (atomic_load_explicit(&a->phase, memory_order_relaxed) == DEAD) {
		troupe__free(why);
		return;
	}
	a->death = why != NULL ? why
			       : troupe__format("actor '%s' is dead",
						class_name(a));
	run_fini(rt, a);
	/* Release: callers that see DEAD see why. */
	atomic_store_explicit(&a->phase, DEAD, memory_order_release);
	fail_blocked(rt, a);
	/* A constructor still waiting on its arguments is hooked on them:
	 * it goes once they are in (troupe__actor_call_ready). */
	if (a->ctor != NULL && atomic_load(&a->ctor_ready)) {
		a->ctor->keep_args = false;
		troupe__task_free(rt, a->ctor);
		a->ctor = NULL;
	}
	if (unregister(rt, a))
		troupe__obj_release_user(rt, &a->obj);
}

/* Runs the constructor (again, on a restart).  False when it failed: then
 * the actor is dead. */
static bool construct(troupe *rt, struct troupe__actor *a)
{
	struct troupe__task *c = a->ctor;
	char *msg = NULL;

	memset(a->state, 0, a->cls->state_size);
	if (c != NULL) {
		troupe_err err = troupe__task_check_args(rt, c, &msg);
		if (err == TROUPE_OK &&
		    troupe__task_invoke(rt, c, a->state, &msg) !=
			    TROUPE__RETURNED)
			err = TROUPE_EACTOR;
		if (err != TROUPE_OK) {
			die(rt, a,
			    troupe__format("actor '%s' failed in its "
					   "constructor: %s",
					   class_name(a),
					   msg != NULL ? msg : "(no message)"));
			troupe__free(msg);
			return false;
		}
		if (a->restarts_left == 0) {
			/* No restart will need the arguments again. */
			c->keep_args = false;
			troupe__task_free(rt, c);
			a->ctor = NULL;
		}
	}
	a->constructed = true;
	atomic_store_explicit(&a->phase, LIVE, memory_order_release);
	return true;
}

/* A fatal failure (why, taken), or a kill asking for a restart: restart
 * when allowed, else die.  True when the actor lives on. */
static bool fatal(troupe *rt, struct troupe__actor *a, char *why)
{
	if (a->restarts_left == 0) {
		die(rt, a,
		    troupe__format("actor '%s' died: %s", class_name(a),
				   why != NULL ? why : "(no message)"));
		troupe__free(why);
		return false;
	}
	troupe__free(why);
	if (a->restarts_left > 0)
		a->restarts_left--;
	run_fini(rt, a);
	return construct(rt, a);
}

/* Acts on a troupe_actor_kill, if one came. */
static void check_kill(troupe *rt, struct troupe__actor *a)
{
	/* Relaxed: a kill is noticed at the next call boundary either way;
	 * the exchange makes each request count once. */
	if (atomic_load_explicit(&a->kill_req, memory_order_relaxed) == 0)
		return;
	int req = atomic_exchange(&a->kill_req, (uint8_t)0);
	if (req == 0 || atomic_load(&a->phase) == DEAD)
		return;
	if (req == 2 && atomic_load(&a->phase) == NEW)
		return; /* it is about to be constructed anyway */
	if (req == 2 && a->restarts_left != 0)
		fatal(rt, a, troupe__format("killed (restarting)"));
	else
		die(rt, a,
		    troupe__format("actor '%s' was killed", class_name(a)));
}

/* ----------------------------------------------------------- running */

/* Runs call t (its arguments are all resolved). */
static void run_call(troupe *rt, struct troupe__actor *a,
		     struct troupe__task *t)
{
	for (;;) {
		if (atomic_load_explicit(&a->phase, memory_order_relaxed) ==
		    DEAD) {
			fail_call(rt, a, t, TROUPE_EACTOR, a->death);
			return;
		}
		char *msg = NULL;
		troupe_err err = troupe__task_check_args(rt, t, &msg);
		if (err != TROUPE_OK) {
			fail_call(rt, a, t, err, msg ? msg : "(no memory)");
			troupe__free(msg);
			return;
		}
		/* The args stay held until the call is done: a retry after a
		 * restart needs them again. */
		t->keep_args = true;
		if (a->locks != NULL)
			pthread_rwlock_rdlock(&a->locks->rw);
		enum troupe__outcome out =
			troupe__task_invoke(rt, t, a->state, &msg);
		if (a->locks != NULL)
			pthread_rwlock_unlock(&a->locks->rw);
		t->keep_args = false;
		if (out != TROUPE__FATAL) {
			troupe__free(msg);
			call_done(rt, a, t);
			return;
		}
		char *why = troupe__format("%s", msg ? msg : "(no message)");
		excl_begin(a);
		bool lives = false;
		if (atomic_load_explicit(&a->phase, memory_order_relaxed) ==
		    DEAD)
			troupe__free(msg); /* another call's failure won */
		else
			lives = fatal(rt, a, msg);
		excl_end(a);
		if (lives && t->retries != 0) {
			if (t->retries > 0)
				t->retries--;
			troupe__free(why);
			continue; /* delivered again, to the new state */
		}
		char *m = troupe__format(
			"actor '%s': the call failed fatally%s: %s",
			class_name(a), lives ? " (the actor restarted)" : "",
			why ? why : "(no message)");
		troupe__free(why);
		fail_call(rt, a, t, TROUPE_EACTOR, m ? m : "(no memory)");
		troupe__free(m);
		return;
	}
}

static struct blocked *find_blocked(struct troupe__actor *a, uint64_t caller)
{
	for (struct blocked *b = a->blocked; b != NULL; b = b->next)
		if (b->caller == caller)
			return b;
	return NULL;
}

/* Drops the turn's guard on t's arguments.  True when they are all
 * resolved; else t is parked: the last argument to resolve pushes it back
 * (troupe__actor_call_ready). */
static bool args_resolved(troupe *rt, struct troupe__task *t)
{
	(void)rt;
	t->guard_dropped = true;
	if (t->nrefs == 0)
		return true; /* only the guard was left: nobody else counts */
	/* Parked: it holds the actor (see call_done), taken before the guard
	 * goes, since its return may come at once. */
	if (t->nrefs > 0 && !t->parked) {
		t->parked = true;
		troupe__obj_ref(&t->self->obj);
	}
	/* Acq_rel: pairs with the argument resolutions' decrements. */
	return atomic_fetch_sub_explicit(&t->deps, 1, memory_order_acq_rel) ==
	       1;
}

/* Handles one call popped from the mailbox. */
static void handle(troupe *rt, struct troupe__actor *a, struct troupe__task *t)
{
	bool ordered = a->locks == NULL; /* max_concurrency <= 1 */

	if (t->guard_dropped) {
		/* A parked call whose arguments came in. */
		run_call(rt, a, t);
		if (!ordered)
			return;
		/* It headed its caller's line: run what queued behind it,
		 * until one has to wait in turn. */
		struct blocked **pb = &a->blocked;
		while (*pb != NULL && (*pb)->head != t)
			pb = &(*pb)->next;
		struct blocked *b = *pb;
		if (b == NULL)
			return;
		while (b->first != NULL) {
			struct troupe__task *n = b->first;
			b->first = n->next;
			if (b->first == NULL)
				b->last = NULL;
			if (!args_resolved(rt, n)) {
				b->head = n;
				return;
			}
			run_call(rt, a, n);
		}
		*pb = b->next;
		troupe__free(b);
		return;
	}
	if (atomic_load_explicit(&a->phase, memory_order_relaxed) == DEAD) {
		fail_call(rt, a, t, TROUPE_EACTOR, a->death);
		return;
	}
	struct blocked *b = ordered ? find_blocked(a, t->caller) : NULL;
	if (b != NULL) { /* its caller waits: so does it */
		t->next = NULL;
		if (b->last != NULL)
			b->last->next = t;
		else
			b->first = t;
		b->last = t;
		return;
	}
	if (args_resolved(rt, t)) {
		run_call(rt, a, t);
		return;
	}
	if (!ordered)
		return;
	b = troupe__malloc(sizeof *b);
	if (b == NULL) {
		/* Cannot keep this caller's order for later calls: fail this
		 * one when it comes back instead of running it out of line. */
		t->retries = 0;
		return;
	}
	*b = (struct blocked){.next = a->blocked, .caller = t->caller,
			      .head = t};
	a->blocked = b;
}

/* Ends a turn that found the mailbox empty.  True when it must go on after
 * all (a push came in as it was leaving). */
static bool go_idle(troupe *rt, struct troupe__actor *a)
{
	(void)rt;
	/* Seq_cst: the store of `active` before the look at the mailbox (and
	 * the kill and constructor flags), against a pusher's enqueue (or the
	 * flag's store) before its load of `active`. */
	atomic_fetch_sub(&a->active, 1);
	bool waiting = atomic_load(&a->phase) == NEW &&
		       !atomic_load(&a->ctor_ready);
	if ((waiting || cds_wfcq_empty(&a->mb_head, &a->mb_tail)) &&
	    atomic_load(&a->kill_req) == 0)
		return false;
	unsigned max = a->max_concurrency > 1 ? a->max_concurrency : 1;
	unsigned n = atomic_load(&a->active);
	while (n < max)
		if (atomic_compare_exchange_weak(&a->active, &n, n + 1))
			return true;
	return false;
}

void troupe__actor_turn(troupe *rt, struct troupe__job *j)
{
	struct troupe__actor *a;
	if (j->kind == TROUPE__JOB_ACTOR_TURN_EXTRA) {
		a = caa_container_of(j, struct extra_turn, job)->a;
		troupe__free(caa_container_of(j, struct extra_turn, job));
	} else {
		a = caa_container_of(j, struct troupe__actor, turn);
	}
	for (;;) {
		/* Exclusive only when there is something to do: with
		 * max_concurrency > 1, a turn starting beside a running method
		 * must not wait for it. */
		if (atomic_load(&a->phase) == NEW ||
		    atomic_load_explicit(&a->kill_req, memory_order_relaxed)) {
			excl_begin(a);
			check_kill(rt, a);
			if (atomic_load_explicit(&a->phase,
						 memory_order_relaxed) == NEW &&
			    atomic_load(&a->ctor_ready))
				construct(rt, a);
			excl_end(a);
		}
		if (atomic_load(&a->phase) == DEAD && a->ctor != NULL &&
		    atomic_load(&a->ctor_ready)) {
			/* Killed before its constructor's arguments came. */
			excl_begin(a);
			if (a->ctor != NULL) {
				a->ctor->keep_args = false;
				troupe__task_free(rt, a->ctor);
				a->ctor = NULL;
			}
			excl_end(a);
		}
		if (atomic_load(&a->phase) == NEW) {
			/* The constructor awaits its arguments; calls wait
			 * in the mailbox.  Their arrival activates us again. */
			if (!go_idle(rt, a))
				break;
			continue;
		}
		int n = 0;
		struct troupe__task *t;
		bool backlog = false; /* a call came with another behind it */
		while (n < BATCH) {
			if (backlog && a->locks == NULL)
				settle(rt, a);
			if ((t = mailbox_pop(a)) == NULL)
				break;
			backlog = backlog ||
				  __atomic_load_n(&a->mb_head.node.next,
						  __ATOMIC_RELAXED) != NULL;
			handle(rt, a, t);
			n++;
			if (atomic_load_explicit(&a->kill_req,
						 memory_order_relaxed)) {
				excl_begin(a);
				check_kill(rt, a);
				excl_end(a);
			}
		}
		if (n == BATCH) {
			/* More may wait.  With nothing else queued, go on
			 * here: requeueing would only hand the actor to
			 * whichever worker wakes for it. */
			if (!troupe__sched_work_waiting(rt))
				continue;
			/* Else to the back of the pool, so others get their
			 * turn; this turn's hold goes with it. */
			struct troupe__job *next = new_turn(a);
			if (next != NULL) {
				troupe__sched_push_back(rt, next);
				return;
			}
			continue; /* no memory for a job: carry on here */
		}
		if (!go_idle(rt, a))
			break;
	}
	troupe__obj_unref(rt, &a->obj); /* the turn's hold */
}

/* ---------------------------------------------------------- destruction */

static bool grow(struct troupe__actor ***all, size_t *cap)
{
	struct troupe__actor **g =
		troupe__realloc(*all, 2 * *cap * sizeof *g);
	if (g == NULL)
		return false;
	*all = g;
	*cap *= 2;
	return true;
}

/* Everything but the memory: destructor, constructor arguments, name. */
static void teardown(troupe *rt, struct troupe__actor *a)
{
	run_fini(rt, a);
	if (a->ctor != NULL) {
		a->ctor->keep_args = false;
		troupe__task_free(rt, a->ctor);
		a->ctor = NULL;
	}
	/* A detached actor's entry holds a handle, so it is never here
	 * with its entry: there is no handle to drop. */
	(void)unregister(rt, a);
	while (a->blocked != NULL) {
		struct blocked *b = a->blocked;
		a->blocked = b->next;
		troupe__free(b);
	}
	troupe__free(a->death);
	a->death = NULL;
	troupe__free(a->name);
	a->name = NULL;
	if (a->locks != NULL) {
		pthread_mutex_destroy(&a->locks->pop);
		pthread_rwlock_destroy(&a->locks->rw);
		troupe__free(a->locks);
		a->locks = NULL;
	}
}

void troupe__actor_finish(troupe *rt, struct troupe__job *j)
{
	struct troupe__actor *a = caa_container_of(j, struct troupe__actor,
						   turn);
	teardown(rt, a);
	troupe__obj_retire(rt, &a->obj);
}

void troupe__actor_destroy(troupe *rt, struct troupe__obj *o)
{
	struct troupe__actor *a = actor_of(o);
	/* No handle, no call, no turn is left.  The destructor runs on a
	 * worker: inline when this is one (or shutdown is tearing down),
	 * else as a job, so an application thread's release never runs
	 * user code. */
	if (a->torn_down || troupe__sched_self(rt) != NULL ||
	    troupe__stopping(rt) || a->cls->fini == NULL ||
	    !a->constructed) {
		teardown(rt, a);
		troupe__obj_retire(rt, o);
		return;
	}
	a->turn.kind = TROUPE__JOB_ACTOR_FINISH;
	troupe__sched_push(rt, &a->turn);
}

void troupe__actors_shutdown(troupe *rt)
{
	struct cds_lfht_iter it;
	struct troupe__obj *o;
	size_t n = 0, cap = 64;
	struct troupe__actor **all = troupe__malloc(cap * sizeof *all);

	/* Collect, then work outside the read-side section: freeing calls
	 * drops refs, and destructors are user code. */
	troupe__rcu_lock();
	cds_lfht_for_each_entry(rt->objs.ht, &it, o, node)
	{
		if (o->kind != TROUPE__OBJ_ACTOR || actor_of(o)->torn_down)
			continue;
		if (all == NULL || (n == cap && !grow(&all, &cap)))
			break; /* no memory: those left keep their calls */
		if (troupe__obj_try_ref(o))
			all[n++] = actor_of(o);
	}
	troupe__rcu_unlock();

	/* No worker runs: each actor's mailbox and lines are ours.  Their
	 * calls' refs were resolved to TROUPE_ESHUTDOWN by the sweep; a call
	 * parked on its arguments was pushed back when the sweep resolved
	 * them. */
	for (size_t i = 0; i < n; i++) {
		struct troupe__actor *a = all[i];
		struct troupe__task *t;
		a->torn_down = true;
		while ((t = mailbox_pop(a)) != NULL)
			troupe__task_free(rt, t);
		for (struct blocked *b = a->blocked; b != NULL; b = b->next)
			while ((t = b->first) != NULL) {
				b->first = t->next;
				troupe__task_free(rt, t);
			}
		teardown(rt, a);
	}
	for (size_t i = 0; i < n; i++)
		troupe__obj_unref(rt, &all[i]->obj);
	troupe__free(all);
}

/* ------------------------------------------------------------ the API */

static bool class_ok(const troupe_class *cls)
{
	if (cls->state_size > PTRDIFF_MAX / 2 ||
	    (cls->nmethods > 0 && cls->methods == NULL))
		return false;
	for (size_t i = 0; i < cls->nmethods; i++)
		if (cls->methods[i] == NULL)
			return false;
	return true;
}

static bool has_method(const troupe_class *cls, troupe_method m)
{
	for (size_t i = 0; i < cls->nmethods; i++)
		if (cls->methods[i] == m)
			return true;
	return false;
}

static struct name_entry **find_name(struct troupe__registry *r,
				     const char *name)
{
	struct name_entry **p = &r->bucket[name_hash(name)];
	while (*p != NULL && strcmp((*p)->name, name) != 0)
		p = &(*p)->next;
	return p;
}

/* Makes the actor (not yet visible to anyone).  Caller holds the registry
 * lock when opts names it. */
static troupe_err make_actor(troupe *rt, const troupe_class *cls,
			     const troupe_arg *args, size_t nargs,
			     const troupe_actor_opts *o,
			     struct troupe__actor **out)
{
	size_t size = sizeof(struct troupe__actor) + cls->state_size;
	struct troupe__actor *a = troupe__malloc(size);
	if (a == NULL)
		return TROUPE_ENOMEM;
	memset(a, 0, sizeof *a);
	a->cls = cls;
	a->restarts_left = o->max_restarts;
	a->max_task_retries = o->max_task_retries;
	a->max_concurrency = (uint16_t)o->max_concurrency;
	a->max_pending = o->max_pending_calls;
	a->detached = o->detached;
	a->turn.kind = TROUPE__JOB_ACTOR_TURN;
	__cds_wfcq_init(&a->mb_head, &a->mb_tail);
	atomic_init(&a->active, 0);
	atomic_init(&a->ctor_ready, cls->init == NULL);
	atomic_init(&a->pending, 0);
	atomic_init(&a->phase, NEW);
	atomic_init(&a->kill_req, 0);
	troupe_err err = TROUPE_OK;
	if (o->name != NULL &&
	    (a->name = troupe__format("%s", o->name)) == NULL)
		err = TROUPE_ENOMEM;
	if (err == TROUPE_OK && o->max_concurrency > 1) {
		a->locks = troupe__malloc(sizeof *a->locks);
		if (a->locks == NULL) {
			err = TROUPE_ENOMEM;
		} else {
			pthread_mutex_init(&a->locks->pop, NULL);
			pthread_rwlock_init(&a->locks->rw, NULL);
		}
	}
	if (err == TROUPE_OK && cls->init != NULL) {
		err = troupe__task_build(rt, args, nargs, 0, NULL, &a->ctor);
		if (err == TROUPE_OK) {
			a->ctor->self = a;
			a->ctor->method = cls->init;
			a->ctor->keep_args = true;
		}
	}
	if (err != TROUPE_OK) {
		teardown(rt, a);
		troupe__free(a);
		return err;
	}
	if (cls->init == NULL) {
		/* Nothing to run: the zeroed state is the constructed one. */
		memset(a->state, 0, cls->state_size);
		a->constructed = true;
		atomic_init(&a->phase, LIVE);
	}
	/* Relaxed, and stored once: see troupe_shutdown, step 4. */
	if (!atomic_load_explicit(&rt->made_actors, memory_order_relaxed))
		atomic_store_explicit(&rt->made_actors, true,
				      memory_order_relaxed);
	/* One handle, the caller's; turns take holds as they are scheduled. */
	troupe__obj_insert(rt, &a->obj, TROUPE__OBJ_ACTOR, 0);
	*out = a;
	return TROUPE_OK;
}

troupe_err troupe_actor_create(troupe *rt, const troupe_class *cls,
			       const troupe_arg *args, size_t nargs,
			       const troupe_actor_opts *opts,
			       troupe_actor *actor)
{
	troupe_actor_opts o = {0};
	if (opts != NULL)
		o = *opts;
	if (rt == NULL || cls == NULL || actor == NULL || !class_ok(cls) ||
	    (cls->init == NULL && nargs > 0) || o.max_restarts < -1 ||
	    o.max_task_retries < -1 || o.max_concurrency > UINT16_MAX ||
	    (o.name != NULL && *o.name == '\0') ||
	    ((o.detached || o.get_if_exists) && o.name == NULL))
		return TROUPE_EINVAL;
	if (troupe__closed(rt))
		return TROUPE_ESHUTDOWN;
	troupe__thread_enter();

	struct troupe__registry *r = rt->registry;
	struct troupe__actor *a;
	troupe_err err;
	if (o.name == NULL) {
		err = make_actor(rt, cls, args, nargs, &o, &a);
	} else {
		/* Under the lock: of two creators of one name, one wins and
		 * the other finds its actor. */
		pthread_mutex_lock(&r->lock);
		struct name_entry **p = find_name(r, o.name);
		if (*p != NULL && troupe__obj_retain_user(&(*p)->a->obj) ==
					  TROUPE_OK) {
			struct troupe__actor *old = (*p)->a;
			pthread_mutex_unlock(&r->lock);
			if (!o.get_if_exists) {
				troupe__obj_release_user(rt, &old->obj);
				return TROUPE_EEXIST;
			}
			*actor = (troupe_actor){old->obj.id};
			return TROUPE_OK;
		}
		if (*p != NULL) { /* one on its way out: forget it */
			struct name_entry *e = *p;
			*p = e->next;
			troupe__free(e);
		}
		size_t len = strlen(o.name) + 1;
		struct name_entry *e = troupe__malloc(sizeof *e + len);
		err = e == NULL ? TROUPE_ENOMEM
				: make_actor(rt, cls, args, nargs, &o, &a);
		if (err == TROUPE_OK) {
			memcpy(e->name, o.name, len);
			e->a = a;
			e->next = NULL;
			*find_name(r, o.name) = e;
			if (o.detached) /* the registry's own handle */
				troupe__obj_retain_user(&a->obj);
		} else {
			troupe__free(e);
		}
		pthread_mutex_unlock(&r->lock);
	}
	if (err != TROUPE_OK)
		return err;
	*actor = (troupe_actor){a->obj.id};
	/* A turn runs the constructor once its arguments are in.  Until
	 * then the constructor is hooked on them and holds the actor. */
	if (a->ctor != NULL) {
		troupe__obj_ref(&a->obj);
		troupe__task_hook_deps(rt, a->ctor);
		troupe__task_dep_done(rt, a->ctor);
	}
	return TROUPE_OK;
}

void troupe__actor_call_ready(troupe *rt, struct troupe__task *t)
{
	struct troupe__actor *a = t->self;
	if (t == a->ctor) { /* the constructor's arguments are in */
		atomic_store(&a->ctor_ready, true);
		activate(rt, a);
		/* The hold create took while the constructor waited. */
		troupe__obj_unref(rt, &a->obj);
	} else {
		mailbox_push(rt, a, t);
	}
}

/* Looks a handle up and holds the actor for the length of a call. */
static troupe_err hold(troupe *rt, troupe_actor h, struct troupe__actor **a)
{
	struct troupe__obj *o;
	troupe__thread_enter();
	troupe__rcu_lock();
	troupe_err err = troupe__actor_lookup_obj(rt, h, &o);
	if (err == TROUPE_OK)
		troupe__obj_ref(o);
	troupe__rcu_unlock();
	if (err == TROUPE_OK)
		*a = actor_of(o);
	return err;
}

troupe_err troupe_actor_call(troupe *rt, troupe_actor actor,
			     troupe_method method, const troupe_arg *args,
			     size_t nargs, troupe_ref *ref)
{
	struct troupe__obj *o;
	if (rt == NULL || method == NULL)
		return TROUPE_EINVAL;
	if (troupe__closed(rt))
		return TROUPE_ESHUTDOWN;
	troupe__thread_enter();
	troupe__rcu_lock();
	troupe_err err = troupe__actor_lookup_obj(rt, actor, &o);
	troupe__rcu_unlock();
	if (err != TROUPE_OK)
		return err;
	/* The caller's handle keeps the actor alive through this call. */
	struct troupe__actor *a = actor_of(o);
	if (!has_method(a->cls, method))
		return TROUPE_EINVAL;
	if (a->max_pending > 0 &&
	    atomic_fetch_add_explicit(&a->pending, 1, memory_order_relaxed) >=
		    a->max_pending) {
		atomic_fetch_sub_explicit(&a->pending, 1, memory_order_relaxed);
		return TROUPE_EBUSY;
	}
	struct troupe__task *t;
	/* No name copied: error messages read the class's (task.c). */
	err = troupe__task_build(rt, args, nargs, ref != NULL, NULL, &t);
	if (err != TROUPE_OK) {
		if (a->max_pending > 0)
			atomic_fetch_sub_explicit(&a->pending, 1,
						  memory_order_relaxed);
		return err;
	}
	t->self = a;
	t->method = method;
	t->counted = a->max_pending > 0;
	t->caller = troupe__caller_id();
	t->retries = a->max_task_retries;
	if (ref != NULL)
		*ref = (troupe_ref){t->rets[0]->id};
	/* The guard stays: the turn drops it when it reaches the call. */
	troupe__task_hook_deps(rt, t);
	mailbox_push(rt, a, t);
	return TROUPE_OK;
}

troupe_err troupe_actor_retain(troupe *rt, troupe_actor actor)
{
	return troupe__handle_retain(rt, actor.id, TROUPE__OBJ_ACTOR);
}

troupe_err troupe_actor_release(troupe *rt, troupe_actor actor)
{
	return troupe__handle_release(rt, actor.id, TROUPE__OBJ_ACTOR);
}

troupe_err troupe_actor_lookup(troupe *rt, const char *name,
			       troupe_actor *actor)
{
	if (rt == NULL || name == NULL || actor == NULL)
		return TROUPE_EINVAL;
	if (troupe__closed(rt))
		return TROUPE_ESHUTDOWN;
	troupe__thread_enter();
	struct troupe__registry *r = rt->registry;
	troupe_err err = TROUPE_ENOTFOUND;
	pthread_mutex_lock(&r->lock);
	struct name_entry *e = *find_name(r, name);
	/* An entry whose actor has no handle left is on its way out. */
	if (e != NULL && troupe__obj_retain_user(&e->a->obj) == TROUPE_OK) {
		*actor = (troupe_actor){e->a->obj.id};
		err = TROUPE_OK;
	}
	pthread_mutex_unlock(&r->lock);
	return err;
}

troupe_err troupe_actor_list(troupe *rt,
			     void (*cb)(const char *name, void *arg), void *arg)
{
	if (rt == NULL || cb == NULL)
		return TROUPE_EINVAL;
	if (troupe__closed(rt))
		return TROUPE_ESHUTDOWN;
	struct troupe__registry *r = rt->registry;
	size_t n = 0;
	char **names = NULL;
	troupe_err err = TROUPE_OK;
	pthread_mutex_lock(&r->lock);
	for (int b = 0; b < NAME_BUCKETS; b++)
		for (struct name_entry *e = r->bucket[b]; e != NULL;
		     e = e->next)
			n++;
	if (n > 0 && (names = troupe__calloc(n, sizeof *names)) == NULL)
		err = TROUPE_ENOMEM;
	size_t k = 0;
	for (int b = 0; b < NAME_BUCKETS && err == TROUPE_OK; b++)
		for (struct name_entry *e = r->bucket[b]; e != NULL;
		     e = e->next)
			if ((names[k++] = troupe__format("%s", e->name)) ==
			    NULL)
				err = TROUPE_ENOMEM;
	pthread_mutex_unlock(&r->lock);
	for (size_t i = 0; i < n && names != NULL; i++) {
		if (err == TROUPE_OK)
			cb(names[i], arg);
		troupe__free(names[i]);
	}
	troupe__free(names);
	return err;
}

troupe_err troupe_actor_kill(troupe *rt, troupe_actor actor, bool no_restart)
{
	struct troupe__actor *a;
	if (rt == NULL)
		return TROUPE_EINVAL;
	if (troupe__closed(rt))
		return TROUPE_ESHUTDOWN;
	troupe_err err = hold(rt, actor, &a);
	if (err != TROUPE_OK)
		return err;
	/* A kill for good wins over a kill-and-restart still pending. */
	uint8_t want = no_restart ? 1 : 2, cur = 0;
	while (!atomic_compare_exchange_weak(&a->kill_req, &cur, want))
		if (cur == 1 || cur == want)
			break;
	/* Gone from the registry at once: a lookup after a kill misses. */
	if (no_restart && unregister(rt, a))
		troupe__obj_release_user(rt, &a->obj);
	activate(rt, a); /* an idle actor needs a turn to notice */
	troupe__obj_unref(rt, &a->obj);
	return TROUPE_OK;
}

troupe_err troupe_value_actor(const troupe_value *v, troupe_actor *out)
{
	if (v == NULL || out == NULL)
		return TROUPE_EINVAL;
	if (v->size != sizeof out->id || v->data == NULL)
		return TROUPE_ETYPE;
	memcpy(&out->id, v->data, sizeof out->id);
	return TROUPE_OK;
}
