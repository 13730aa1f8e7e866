/* Workers, stealing, parking, compensation; see sched.h and sched.md. */
#include "internal.h"
#include "actor.h"
#include "task.h"
#include "tsan.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"

/* The idle spin window.  Measured with bench/'s spin_window_sync sweep (see
 * sched.md): any window of 5 us or more takes back-to-back submit+get from
 * ~85k/s (parking at once) to ~500k/s; past 20 us it buys nothing more and
 * costs CPU on every sparse call (2 x window per burst). */
#define DEFAULT_SPIN_NS 20000

TROUPE__TLS struct troupe__worker *troupe__tls_worker;

int64_t troupe__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void troupe__spin_pause(unsigned *step)
{
	/* A few pauses between looks: a pause costs 10-140 cycles depending
	 * on the CPU (measured 26 ns on this VM's EPYC), and a look every
	 * 32 of them plus a yield made every spin-wait notice its event only
	 * ~1.5 µs late. */
	for (int i = 0; i < 4; i++) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#elif defined(__aarch64__)
		__asm__ __volatile__("yield");
#endif
	}
	/* Now and then let a thread that is runnable on this CPU go first.
	 * Without this, the kernel's wake-affine placement puts the thread we
	 * just woke (a getter, a worker) on our CPU, behind our spinning, and
	 * it waits out the whole window: measured, get latency grew with the
	 * window. */
	if (++*step % 8 == 0)
		sched_yield();
}

struct cds_wfcq_node *troupe__wfcq_pop(struct __cds_wfcq_head *head,
				       struct cds_wfcq_tail *tail)
{
	unsigned step = 0;
	for (;;) {
		struct cds_wfcq_node *n =
			__cds_wfcq_dequeue_nonblocking(head, tail);
		if (n != CDS_WFCQ_WOULDBLOCK)
			return n;
		troupe__spin_pause(&step);
	}
}

void troupe__wfcq_splice(struct __cds_wfcq_head *dst_head,
			 struct cds_wfcq_tail *dst_tail,
			 struct __cds_wfcq_head *src_head,
			 struct cds_wfcq_tail *src_tail)
{
	unsigned step = 0;
	while (__cds_wfcq_splice_nonblocking(dst_head, dst_tail, src_head,
					     src_tail) ==
	       CDS_WFCQ_RET_WOULDBLOCK)
		troupe__spin_pause(&step);
}

void troupe__sched_free(troupe *rt, void *p, struct troupe__box *box)
{
	struct troupe__worker *w = troupe__sched_self(rt);
	if (w == NULL)
		troupe__block_free(p, box);
	else
		troupe__returns_put(&w->returns, p, box);
}

static void futex_wait(_Atomic uint32_t *word, uint32_t val)
{
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

/* futex_wait for at most ns nanoseconds. */
static void futex_wait_ns(_Atomic uint32_t *word, uint32_t val, int64_t ns)
{
	struct timespec ts = {ns / 1000000000, ns % 1000000000};
	syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, val, &ts, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* ------------------------------------------------------------- jobs */

static void run_job(troupe *rt, struct troupe__job *j)
{
	switch (j->kind) {
	case TROUPE__JOB_TASK:
		troupe__task_dequeued(rt, (struct troupe__task *)j);
		break;
	case TROUPE__JOB_RECLAIM:
		troupe__objtab_reclaim_job(rt, j);
		break;
	case TROUPE__JOB_ACTOR_TURN:
	case TROUPE__JOB_ACTOR_TURN_EXTRA:
		troupe__actor_turn(rt, j);
		break;
	case TROUPE__JOB_ACTOR_FINISH:
		troupe__actor_finish(rt, j);
		break;
	case TROUPE__JOB_RESIZE:
		troupe__objtab_resize_job(rt, j);
		break;
	}
}

/* Casts the votes w still owes for the tasks the running body's gets ran
 * in place (see held[] in sched.h): whoever has or takes their queue
 * slots frees them. */
static void settle(troupe *rt, struct troupe__worker *w)
{
	while (w->held_n > w->held_base)
		troupe__task_vote(rt, w->held[--w->held_n]);
}

/* Shutdown: a job still queued once the workers are gone. */
static void drop_job(troupe *rt, struct troupe__job *j)
{
	switch (j->kind) {
	case TROUPE__JOB_TASK:
		troupe__task_drop(rt, (struct troupe__task *)j);
		break;
	case TROUPE__JOB_RECLAIM:
		troupe__objtab_reclaim_job(rt, j); /* memory: free it */
		break;
	case TROUPE__JOB_ACTOR_TURN:
		break; /* troupe__actors_shutdown cleans up after actors */
	case TROUPE__JOB_ACTOR_TURN_EXTRA:
		troupe__free(j); /* struct extra_turn: the job comes first */
		break;
	case TROUPE__JOB_ACTOR_FINISH:
		troupe__actor_finish(rt, j);
		break;
	case TROUPE__JOB_RESIZE:
		break; /* the table is going: no need */
	}
}

static void notify(troupe *rt);

/* ----------------------------------------------------------- finding */

static bool injection_empty(struct troupe__sched *s)
{
	return cds_wfcq_empty(&s->inj_head, &s->inj_tail);
}

/* Moves the whole injection queue onto w's deque (one worker at a time),
 * and returns the first task for w to run. */
static struct troupe__job *drain_injection(struct troupe__worker *w)
{
	struct troupe__sched *s = &w->rt->sched;
	struct __cds_wfcq_head h;
	struct cds_wfcq_tail t;
	struct troupe__job *first = NULL;
	bool pushed = false;

	if (injection_empty(s) || pthread_mutex_trylock(&s->inj_lock) != 0)
		return NULL;
	__cds_wfcq_init(&h, &t);
	troupe__wfcq_splice(&h, &t, &s->inj_head, &s->inj_tail);
	pthread_mutex_unlock(&s->inj_lock);
	struct cds_wfcq_node *n;
	while ((n = troupe__wfcq_pop(&h, &t)) != NULL) {
		struct troupe__job *j =
			caa_container_of(n, struct troupe__job, qnode);
		troupe__tsan_acquire(j); /* pairs with the enqueue */
		if (first == NULL) {
			first = j;
		} else if (troupe__deque_push(&w->dq, j) != 0) {
			run_job(w->rt, j); /* no memory: run it now */
		} else {
			pushed = true;
		}
	}
	/* The rest are stealable now: let another worker know. */
	if (pushed)
		notify(w->rt);
	return first;
}

static struct troupe__job *steal_some(struct troupe__worker *w)
{
	struct troupe__sched *s = &w->rt->sched;
	/* Acquire: see the worker structs published before the count. */
	unsigned n = atomic_load_explicit(&s->nworkers, memory_order_acquire);
	if (n < 2)
		return NULL;
	unsigned start = (unsigned)(xorshift(&w->rng) % n);
	for (unsigned i = 0; i < n; i++) {
		struct troupe__worker *v = s->workers[(start + i) % n];
		if (v == w)
			continue;
		void *x;
		do
			x = troupe__deque_steal(&v->dq);
		while (x == TROUPE__DEQUE_ABORT);
		if (x != NULL)
			return x;
	}
	return NULL;
}

static struct troupe__job *find_work(struct troupe__worker *w)
{
	struct troupe__job *t = troupe__deque_pop(&w->dq);
	if (t == NULL)
		t = drain_injection(w);
	if (t == NULL)
		t = steal_some(w);
	return t;
}

bool troupe__sched_work_waiting(troupe *rt)
{
	struct troupe__sched *s = &rt->sched;
	if (!injection_empty(s))
		return true;
	unsigned n = atomic_load_explicit(&s->nworkers, memory_order_acquire);
	for (unsigned i = 0; i < n; i++)
		if (troupe__deque_size(&s->workers[i]->dq) > 0)
			return true;
	return false;
}

/* ------------------------------------------------------------ waking */

/* Under park_lock: takes the worker *pp off the parked list, searching
 * again; its futex word says so (release: what the waker did before is
 * seen after the worker wakes). */
static void unlink_parked(struct troupe__sched *s, struct troupe__worker **pp)
{
	struct troupe__worker *p = *pp;
	*pp = p->next_parked;
	p->on_parked_list = false;
	atomic_fetch_sub(&s->n_parked, 1);
	atomic_fetch_add(&s->n_searching, 1);
	p->searching = true;
	atomic_store_explicit(&p->park_word, 0, memory_order_release);
}

/* Wakes one parked worker, which starts out searching.  False if none was
 * parked. */
static bool wake_one(struct troupe__sched *s)
{
	pthread_mutex_lock(&s->park_lock);
	struct troupe__worker *p = s->parked;
	if (p != NULL)
		unlink_parked(s, &s->parked);
	pthread_mutex_unlock(&s->park_lock);
	if (p != NULL)
		futex_wake(&p->park_word);
	return p != NULL;
}

/* New work exists.  Wake a worker only if nobody is already looking: a
 * searcher that finds the work wakes the next one (see run_loop), so
 * wake-ups grow with the work, never ahead of it. */
static void notify(troupe *rt)
{
	struct troupe__sched *s = &rt->sched;
	/* Seq_cst: the push before this must be ordered before the loads
	 * (pairs with the fence in park, which orders a parker's count update
	 * before its last look at the queues). */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&s->n_searching, memory_order_relaxed) == 0 &&
	    atomic_load_explicit(&s->n_parked, memory_order_relaxed) > 0)
		wake_one(s);
}

/* Queues j on the injection queue and wakes a worker if need be.
 *
 * Only a push that finds the queue empty needs to: one that finds a job
 * there goes out with it.  The enqueue's exchange on the tail orders it
 * against a drain's (which takes the tail too): either the drain came
 * first and this push finds the queue empty, or it takes this job along
 * with the one already there — and that one was pushed into an empty
 * queue with a notify, or came behind one that was (by induction), so a
 * worker is bound to drain it.  A submitter pushing a burst skips the
 * notify's fence and its load of the searching count, a line the workers
 * write as they start and stop searching. */
static void inject(troupe *rt, struct troupe__job *j)
{
	cds_wfcq_node_init(&j->qnode);
	/* wfcq enqueue is wait-free and a full barrier. */
	troupe__tsan_release(j);
	if (!cds_wfcq_enqueue(&rt->sched.inj_head, &rt->sched.inj_tail,
			      &j->qnode))
		notify(rt); /* the queue was empty */
}

void troupe__sched_watch_depot(troupe *rt)
{
	struct troupe__sched *s = &rt->sched;
	bool watched = false;
	if (!atomic_compare_exchange_strong(&s->depot_watched, &watched, true))
		return;
	atomic_store(&s->watch_handoff, true);
	if (atomic_load(&s->n_parked) > 0)
		wake_one(s);
}

void troupe__sched_push_back(troupe *rt, struct troupe__job *j)
{
	inject(rt, j);
}

void troupe__sched_push(troupe *rt, struct troupe__job *j)
{
	struct troupe__worker *w = troupe__sched_self(rt);
	if (w == NULL || troupe__deque_push(&w->dq, j) != 0)
		inject(rt, j);
	else
		notify(rt);
}

static void wake_all(struct troupe__sched *s)
{
	while (wake_one(s))
		;
}

/* ------------------------------------------------------------ workers */

static void stop_searching(troupe *rt, struct troupe__worker *w)
{
	struct troupe__sched *s = &rt->sched;
	w->searching = false;
	/* The last searcher to find work hands the search on, if there is
	 * more work to find. */
	if (atomic_fetch_sub(&s->n_searching, 1) == 1 &&
	    troupe__sched_work_waiting(rt))
		notify(rt);
}

/* Takes w off the parked list, searching again, unless a waker did. */
static void unpark_self(struct troupe__sched *s, struct troupe__worker *w)
{
	pthread_mutex_lock(&s->park_lock);
	if (w->on_parked_list) {
		struct troupe__worker **pp = &s->parked;
		while (*pp != w)
			pp = &(*pp)->next_parked;
		unlink_parked(s, pp);
	}
	pthread_mutex_unlock(&s->park_lock);
}

/* How long a worker handed the depot's watch stays on it with nothing
 * due: so that a depot whose count hovers around what it always keeps
 * costs a wake a second, not one each time it goes past. */
#define WATCH_LINGER_NS 1000000000

/* Whether a parking worker takes the watch over the object table's depot:
 * one a spill handed over, or a free one when something is due. */
static bool take_watch(struct troupe__sched *s, int64_t due)
{
	bool handed = true, taken = false;
	if (atomic_compare_exchange_strong(&s->watch_handoff, &handed, false))
		return true;
	return due != 0 &&
	       atomic_compare_exchange_strong(&s->depot_watched, &taken, true);
}

/* Parks w until woken.  Returns with w searching again.
 *
 * The worker watching the object table's depot sleeps only until spare
 * slots there are due to go (troupe__objtab_depot_due), then returns as
 * if woken, and run_loop lets them go before it parks again: a pool gone
 * idle after a burst gives that memory back, then sleeps for good. */
static void park(troupe *rt, struct troupe__worker *w)
{
	struct troupe__sched *s = &rt->sched;

	pthread_mutex_lock(&s->park_lock);
	atomic_store_explicit(&w->park_word, 1, memory_order_relaxed);
	w->next_parked = s->parked;
	s->parked = w;
	w->on_parked_list = true;
	atomic_fetch_add(&s->n_parked, 1);
	atomic_fetch_sub(&s->n_searching, 1);
	w->searching = false;
	pthread_mutex_unlock(&s->park_lock);

	/* Seq_cst: our counts are updated before this last look, which pairs
	 * with the fence in notify: either the pusher sees us parked, or we see
	 * its task. */
	atomic_thread_fence(memory_order_seq_cst);
	if (troupe__sched_work_waiting(rt) || troupe__stopping(rt))
		unpark_self(s, w);
	bool watching = take_watch(s, troupe__objtab_depot_due(rt));
	int64_t linger = troupe__now_ns() + WATCH_LINGER_NS;
	/* Acquire: pairs with the waker's release of park_word. */
	while (atomic_load_explicit(&w->park_word, memory_order_acquire) == 1) {
		if (!watching) {
			futex_wait(&w->park_word, 1);
			continue;
		}
		int64_t now = troupe__now_ns();
		int64_t due = troupe__objtab_depot_due(rt);
		if (due == 0 && now >= linger) {
			/* Off watch: a spill from now on hands it on.  A last
			 * look, for one that came just before. */
			atomic_store(&s->depot_watched, false);
			watching = take_watch(s, troupe__objtab_depot_due(rt));
			linger = now + WATCH_LINGER_NS;
			continue;
		}
		int64_t until = due != 0 ? due : linger;
		if (now >= until)
			unpark_self(s, w); /* due: run_loop lets them go */
		else
			futex_wait_ns(&w->park_word, 1, until - now);
	}
	if (watching)
		atomic_store(&s->depot_watched, false);
}

/* Frees what w keeps of its own: task blocks (on their way back, and its
 * spares), retired objects.  True if there were objects (their grace
 * period took a while). */
static bool flush_own(troupe *rt, struct troupe__worker *w)
{
	troupe__returns_flush(&w->returns);
	troupe__box_free_spares();
	return troupe__objtab_flush_worker(rt, w);
}

static void *run_loop(void *arg)
{
	struct troupe__worker *w = arg;
	troupe *rt = w->rt;
	struct troupe__sched *s = &rt->sched;

	troupe__tls_worker = w;
	troupe__thread_enter(); /* unregistered at thread exit */
	while (!troupe__stopping(rt)) {
		struct troupe__job *t = find_work(w);
		if (t != NULL) {
			if (w->searching)
				stop_searching(rt, w);
			run_job(rt, t);
			settle(rt, w);
			continue;
		}
		if (!w->searching) {
			w->searching = true;
			atomic_fetch_add(&s->n_searching, 1);
		}
		/* Spin a while before parking: work that arrives within the
		 * window costs a cache miss instead of a futex round trip. */
		int64_t until = troupe__now_ns() + s->spin_ns;
		unsigned step = 0;
		while (t == NULL && s->spin_ns >= 0 && !troupe__stopping(rt)) {
			troupe__spin_pause(&step);
			t = find_work(w);
			if (t == NULL && troupe__now_ns() > until)
				break;
		}
		if (t != NULL) {
			stop_searching(rt, w);
			run_job(rt, t);
			settle(rt, w);
			continue;
		}
		/* Free what this worker put aside before it sleeps; a
		 * grace period takes time, so then look for work again. */
		if (flush_own(rt, w))
			continue;
		troupe__objtab_depot_trim(rt);
		if (!troupe__stopping(rt))
			park(rt, w);
	}
	if (w->searching) {
		w->searching = false;
		atomic_fetch_sub(&s->n_searching, 1);
	}
	flush_own(rt, w);
	troupe__tls_worker = NULL;
	return NULL;
}

/* Starts one more worker.  Caller holds grow_lock. */
static troupe_err start_worker(troupe *rt)
{
	struct troupe__sched *s = &rt->sched;
	unsigned i = atomic_load_explicit(&s->nworkers, memory_order_relaxed);
	if (i >= s->max_threads)
		return TROUPE_ESYSTEM;
	struct troupe__worker *w = troupe__zalloc_aligned(sizeof *w, 64);
	if (w == NULL)
		return TROUPE_ENOMEM;
	if (troupe__deque_init(&w->dq, 8) != 0) {
		troupe__free(w);
		return TROUPE_ENOMEM;
	}
	w->rt = rt;
	w->index = i;
	w->rng = 0x9e3779b97f4a7c15ULL * (i + 1);
	/* A new worker starts searching, counted before it runs so a pusher
	 * does not wake another one for the same task. */
	w->searching = true;
	atomic_fetch_add(&s->n_searching, 1);
	s->workers[i] = w;
	if (pthread_create(&w->thread, NULL, run_loop, w) != 0) {
		atomic_fetch_sub(&s->n_searching, 1);
		troupe__deque_fini(&w->dq);
		troupe__free(w);
		s->workers[i] = NULL;
		return TROUPE_ESYSTEM;
	}
	/* Release: thieves that see the count see the slot. */
	atomic_store_explicit(&s->nworkers, i + 1, memory_order_release);
	return TROUPE_OK;
}

troupe_err troupe__sched_init(troupe *rt, const troupe_config *cfg)
{
	struct troupe__sched *s = &rt->sched;
	/* The CPUs this process may run on (taskset, cgroups' cpusets), not
	 * all the machine has: more workers than that only take turns. */
	long ncpu = 0;
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		ncpu = CPU_COUNT(&set);
	if (ncpu <= 0)
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	s->nbase = cfg != NULL && cfg->num_workers > 0 ? cfg->num_workers
		   : ncpu > 0				  ? (unsigned)ncpu
							  : 1;
	s->max_threads = cfg != NULL && cfg->max_threads > 0
				 ? cfg->max_threads
				 : s->nbase + 256;
	if (s->max_threads < s->nbase)
		return TROUPE_EINVAL;
	s->spin_ns = cfg == NULL || cfg->spin_us == 0 ? DEFAULT_SPIN_NS
		     : cfg->spin_us < 0		      ? -1
						      : (long)cfg->spin_us * 1000;
	s->workers = troupe__calloc(s->max_threads, sizeof *s->workers);
	if (s->workers == NULL)
		return TROUPE_ENOMEM;
	atomic_init(&s->nworkers, 0);
	atomic_init(&s->n_searching, 0);
	atomic_init(&s->n_parked, 0);
	atomic_init(&s->n_blocked, 0);
	s->parked = NULL;
	atomic_init(&s->depot_watched, false);
	atomic_init(&s->watch_handoff, false);
	pthread_mutex_init(&s->park_lock, NULL);
	pthread_mutex_init(&s->grow_lock, NULL);
	pthread_mutex_init(&s->inj_lock, NULL);
	__cds_wfcq_init(&s->inj_head, &s->inj_tail);
	return TROUPE_OK;
}

troupe_err troupe__sched_start(troupe *rt)
{
	struct troupe__sched *s = &rt->sched;
	troupe_err err = TROUPE_OK;
	pthread_mutex_lock(&s->grow_lock);
	for (unsigned i = 0; i < s->nbase && err == TROUPE_OK; i++)
		err = start_worker(rt);
	pthread_mutex_unlock(&s->grow_lock);
	return err;
}

void troupe__sched_join(troupe *rt)
{
	struct troupe__sched *s = &rt->sched;

	/* Workers started while we stop are joined too: the lock keeps the
	 * count still while we read it, and none starts after stopping. */
	pthread_mutex_lock(&s->grow_lock);
	unsigned n = atomic_load(&s->nworkers);
	pthread_mutex_unlock(&s->grow_lock);
	for (unsigned i = 0; i < n; i++) {
		wake_all(s);
		pthread_join(s->workers[i]->thread, NULL);
	}
}

size_t troupe__sched_drain(troupe *rt)
{
	struct troupe__sched *s = &rt->sched;
	unsigned n = atomic_load(&s->nworkers);
	size_t dropped = 0;

	for (unsigned i = 0; i < n; i++) {
		void *t;
		while ((t = troupe__deque_pop(&s->workers[i]->dq)) != NULL) {
			drop_job(rt, t);
			dropped++;
		}
	}
	struct cds_wfcq_node *q;
	while ((q = troupe__wfcq_pop(&s->inj_head, &s->inj_tail)) != NULL) {
		struct troupe__job *j =
			caa_container_of(q, struct troupe__job, qnode);
		troupe__tsan_acquire(j);
		drop_job(rt, j);
		dropped++;
	}
	return dropped;
}

void troupe__sched_fini(troupe *rt)
{
	struct troupe__sched *s = &rt->sched;
	unsigned n = atomic_load(&s->nworkers);
	for (unsigned i = 0; i < n; i++) {
		troupe__deque_fini(&s->workers[i]->dq);
		troupe__free(s->workers[i]);
	}
	troupe__free(s->workers);
	pthread_mutex_destroy(&s->park_lock);
	pthread_mutex_destroy(&s->grow_lock);
	pthread_mutex_destroy(&s->inj_lock);
}

/* -------------------------------------------------------- compensation */

void troupe__sched_block_begin(troupe *rt, struct troupe__worker *w)
{
	struct troupe__sched *s = &rt->sched;

	if (w->blocked++ > 0)
		return;
	int blocked = atomic_fetch_add(&s->n_blocked, 1) + 1;
	unsigned total = atomic_load_explicit(&s->nworkers,
					      memory_order_relaxed);
	/* Keep nbase workers free to run: a waiting worker is not one.  Start
	 * another when too few are left; otherwise make sure one is looking
	 * at the work this one leaves behind in its deque. */
	if ((long)total - blocked < (long)s->nbase && !troupe__stopping(rt)) {
		pthread_mutex_lock(&s->grow_lock);
		total = atomic_load_explicit(&s->nworkers,
					     memory_order_relaxed);
		if ((long)total - atomic_load(&s->n_blocked) < (long)s->nbase &&
		    !troupe__stopping(rt))
			(void)start_worker(rt); /* at the cap: carry on */
		pthread_mutex_unlock(&s->grow_lock);
	} else if (troupe__sched_work_waiting(rt)) {
		notify(rt);
	}
}

bool troupe__sched_stuck(troupe *rt)
{
	struct troupe__sched *s = &rt->sched;
	unsigned total =
		atomic_load_explicit(&s->nworkers, memory_order_acquire);
	return total >= s->max_threads &&
	       atomic_load_explicit(&s->n_blocked, memory_order_relaxed) >=
		       (int)total;
}

void troupe__sched_block_end(troupe *rt, struct troupe__worker *w)
{
	if (--w->blocked == 0)
		atomic_fetch_sub(&rt->sched.n_blocked, 1);
}

/* The running body's get ran t in place: w owes its vote. */
static void hold(troupe *rt, struct troupe__worker *w, struct troupe__task *t)
{
	if (w->held_n < TROUPE__HELD_MAX)
		w->held[w->held_n++] = t;
	else
		troupe__task_vote(rt, t);
}

/* Takes j off the running body's held tasks; false if it is not one. */
static bool unhold(struct troupe__worker *w, struct troupe__job *j)
{
	for (unsigned i = w->held_base; i < w->held_n; i++)
		if (&w->held[i]->job == j) {
			w->held[i] = w->held[--w->held_n];
			return true;
		}
	return false;
}

/* Drops the deque slots of tasks already run (claimed by a getter) that
 * sit at the bottom of w's deque, while the running body holds the vote of
 * a task it ran in place: a trim with none to find pops nothing (a pop,
 * and the push back of a task found not run, cost a fence each).  A slot
 * of a held task is freed outright, with no vote: this thread ran it and
 * has its slot.  What it does not find it votes for; a body run inside a
 * get holds its own (its trims leave its caller's alone). */
static void trim(troupe *rt, struct troupe__worker *w)
{
	struct troupe__job *j;
	while (w->held_n > w->held_base &&
	       (j = troupe__deque_pop(&w->dq)) != NULL) {
		if (unhold(w, j)) {
			troupe__task_free(rt, (struct troupe__task *)j);
			continue;
		}
		/* Acquire: the claim was set by whoever ran it. */
		if (j->kind != TROUPE__JOB_TASK ||
		    atomic_load_explicit(
			    &((struct troupe__task *)j)->rets[0]->claim,
			    memory_order_acquire) == 0) {
			/* Not run yet: it stays queued. */
			if (troupe__deque_push(&w->dq, j) != 0)
				run_job(rt, j);
			break;
		}
		run_job(rt, j); /* claimed elsewhere: just votes */
	}
	/* What is left was claimed in other queues, or sits above a task
	 * not run yet: whoever pops it votes. */
	settle(rt, w);
}

/* How run_here ran a task, if it did. */
enum ran_how { NOT_RUN, POPPED, IN_PLACE };

static enum ran_how run_here(troupe *rt, struct troupe__worker *w,
			     struct troupe__task *t, struct troupe__obj *o,
			     struct troupe__task **in_place)
{
	/* The last task this worker queued, as a body's get of the child it
	 * submitted last finds it: take it off the deque and run it as the
	 * pool would, so its slot needs no vote and no trim finds it later.
	 * The pointer only matches until popped: what was popped is checked
	 * (a block freed and made again at the same address is another
	 * object's task). */
	if (troupe__deque_peek(&w->dq) == &t->job) {
		struct troupe__job *j = troupe__deque_pop(&w->dq);
		if (j == &t->job && t->rets[0] == o) {
			troupe__task_dequeued(rt, t);
			return POPPED;
		}
		if (j != NULL && troupe__deque_push(&w->dq, j) != 0)
			run_job(rt, j); /* cannot happen: a slot was free */
		return NOT_RUN;
	}
	/* Deeper in a deque (or queued elsewhere): claim it where it is; its
	 * slot stays, and owes the vote the caller now holds. */
	return (*in_place = troupe__task_claim_run(rt, o)) != NULL ? IN_PLACE :
								     NOT_RUN;
}

bool troupe__sched_run_inline(troupe *rt, struct troupe__worker *w,
			      struct troupe__obj *o)
{
	/* Acquire: pairs with the release that published the task. */
	struct troupe__task *t =
		atomic_load_explicit(&o->task, memory_order_acquire);
	if (t == NULL ||
	    atomic_load_explicit(&o->claim, memory_order_relaxed) != 0)
		return false;
	/* The body run here holds its own gets' tasks (see trim). */
	unsigned outer = w->held_base;
	w->held_base = w->held_n;
	struct troupe__task *ran = NULL;
	enum ran_how how = run_here(rt, w, t, o, &ran);
	settle(rt, w);
	w->held_base = outer;
	/* Popped: siblings run before it, beneath, may be trimmed.  Claimed
	 * in place: the bottom slot is another task, not run yet. */
	if (how == IN_PLACE)
		hold(rt, w, ran);
	else if (how == POPPED)
		trim(rt, w);
	return how != NOT_RUN;
}
