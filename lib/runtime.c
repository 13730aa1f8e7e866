/* Runtime init/shutdown, error texts, thread registration. */
#include "internal.h"
#include "actor.h"
#include "task.h"

#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "alloc.h"
#include "handback.h"
#include <urcu/urcu-memb.h>
/* For the layout of liburcu's per-thread reader record (one field read, in
 * troupe__thread_enter). */
#include <urcu/static/urcu-memb.h>

const char *troupe_strerror(troupe_err err)
{
	switch (err) {
#define TROUPE_ERR_TEXT_(name, text)                                         \
	case TROUPE_##name:                                                  \
		return text;
		TROUPE_ERRORS(TROUPE_ERR_TEXT_)
#undef TROUPE_ERR_TEXT_
	default:
		return "unknown troupe error";
	}
}

/* ------------------------------------------------- thread registration */

/* liburcu needs every reader thread registered.  Threads that call into
 * troupe are registered on first use and unregistered when they exit, by
 * the destructor of a process-wide key (the only process-wide state: it
 * concerns threads, not runtimes). */
static pthread_key_t reg_key;
static pthread_once_t reg_once = PTHREAD_ONCE_INIT;
TROUPE__TLS bool troupe__registered;	/* troupe has seen this thread */
static TROUPE__TLS bool we_registered;  /* ... and registered it with RCU */

static void unregister_at_exit(void *unused)
{
	(void)unused;
	/* Giving the thread's slots back deletes from the table, so it needs
	 * an RCU registration: an application that registered this thread
	 * itself may have undone it already. */
	bool temporary = !URCU_TLS(urcu_memb_reader).registered;
	if (temporary)
		urcu_memb_register_thread();
	troupe__objtab_thread_exit();
	if (temporary)
		urcu_memb_unregister_thread();
	troupe__box_thread_exit();
	if (we_registered) {
		urcu_memb_unregister_thread();
		we_registered = false;
	}
	troupe__registered = false;
}

static void make_key(void)
{
	(void)pthread_key_create(&reg_key, unregister_at_exit);
}

void troupe__thread_register(void)
{
	troupe__registered = true;
	pthread_once(&reg_once, make_key);
	/* The destructor runs at thread exit either way: it frees the
	 * thread's lookup hints too. */
	(void)pthread_setspecific(reg_key, (void *)1);
	/* An application that uses liburcu-memb itself may have registered
	 * this thread already; registering twice aborts inside liburcu.  Then
	 * the registration is the application's, and so is undoing it. */
	if (URCU_TLS(urcu_memb_reader).registered)
		return;
	urcu_memb_register_thread();
	we_registered = true;
}

/* ---------------------------------------------------------- lifecycle */

/* Runtime structs are recycled, never returned to the allocator: a call made
 * with a runtime that was shut down then reads a struct marked stopping and
 * returns TROUPE_ESHUTDOWN, instead of touching freed memory.  (If a later
 * troupe_init reused it, such a call reaches the new runtime, and the old
 * refs it passes are refused as foreign.)  The pool holds at most as many
 * structs as were ever alive at once, and stays reachable, so it is not a
 * leak.  Process-wide, like the thread registration above: it concerns
 * memory, not any runtime's state. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static troupe *pool;

static troupe *rt_alloc(void)
{
	pthread_mutex_lock(&pool_lock);
	troupe *rt = pool;
	if (rt != NULL)
		pool = rt->pool_next;
	pthread_mutex_unlock(&pool_lock);
	if (rt == NULL) {
		rt = troupe__zalloc_aligned(sizeof *rt, TROUPE__CACHELINE);
		if (rt == NULL)
			return NULL;
		atomic_init(&rt->stopping, true);
	}
	/* Everything but `stopping`, which stays true (a stale caller keeps
	 * getting TROUPE_ESHUTDOWN) until init has finished. */
	size_t off = offsetof(troupe, stopping) + sizeof rt->stopping;
	memset((char *)rt + off, 0, sizeof *rt - off);
	return rt;
}

static void rt_recycle(troupe *rt)
{
	pthread_mutex_lock(&pool_lock);
	rt->pool_next = pool;
	pool = rt;
	pthread_mutex_unlock(&pool_lock);
}

troupe_err troupe_init(troupe **out, const troupe_config *cfg)
{
	if (out == NULL)
		return TROUPE_EINVAL;
	troupe__thread_enter();
	troupe *rt = rt_alloc();
	if (rt == NULL)
		return TROUPE_ENOMEM;
	atomic_init(&rt->external_blocked, 0);
	atomic_init(&rt->external_running, 0);
	atomic_init(&rt->made_actors, false);
	troupe__big_init(rt);
	troupe_err err = troupe__objtab_init(&rt->objs);
	if (err != TROUPE_OK)
		goto fail_objs;
	rt->cq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (rt->cq_fd < 0) {
		err = TROUPE_ESYSTEM;
		goto fail_fd;
	}
	__cds_wfcq_init(&rt->cq_head, &rt->cq_tail);
	pthread_mutex_init(&rt->cq_lock, NULL);
	pthread_rwlock_init(&rt->fn_lock, NULL);
	err = troupe__actors_init(rt);
	if (err != TROUPE_OK)
		goto fail_sched;
	err = troupe__sched_init(rt, cfg);
	if (err != TROUPE_OK)
		goto fail_sched;
	/* Release: a caller that sees the runtime open sees it set up. */
	atomic_store_explicit(&rt->stopping, false, memory_order_release);
	err = troupe__sched_start(rt);
	if (err != TROUPE_OK) {
		atomic_store(&rt->stopping, true);
		troupe__sched_join(rt);
		troupe__sched_drain(rt);
		troupe__sched_fini(rt);
		goto fail_sched;
	}
	*out = rt;
	return TROUPE_OK;

fail_sched:
	troupe__actors_fini(rt);
	pthread_rwlock_destroy(&rt->fn_lock);
	pthread_mutex_destroy(&rt->cq_lock);
	close(rt->cq_fd);
fail_fd:
	troupe__objtab_fini(&rt->objs);
fail_objs:
	troupe__big_fini(rt);
	rt_recycle(rt);
	return err;
}

troupe_err troupe_num_workers(troupe *rt, unsigned *n)
{
	if (rt == NULL || n == NULL)
		return TROUPE_EINVAL;
	if (troupe__closed(rt))
		return TROUPE_ESHUTDOWN;
	*n = rt->sched.nbase;
	return TROUPE_OK;
}

troupe_err troupe_shutdown(troupe *rt)
{
	if (rt == NULL || troupe__sched_self(rt) != NULL ||
	    troupe__in_callback() || troupe__in_inline_body(rt))
		return TROUPE_EINVAL;
	bool was = false;
	if (!atomic_compare_exchange_strong(&rt->stopping, &was, true))
		return TROUPE_ESHUTDOWN; /* another thread is shutting down */
	troupe__thread_enter();

	/* 0. Threads keep no more of the table's slots: one that leaves (or
	 *    turns to another runtime) from now on needs nothing of rt's.
	 *    The depot's spare slots go too, and the table is fitted to what
	 *    is left, so the sweeps below walk no empty buckets. */
	troupe__objtab_depot_empty(rt);
	troupe__objtab_close_slots(&rt->objs);
	troupe__objtab_fit(rt);
	/* 1. Resolve what is pending: blocked getters (ours and bodies')
	 *    return, callbacks run, dependents fail without running. */
	troupe__objtab_resolve_all(rt);
	/* 2. Workers, and outside threads running a task in their get,
	 *    finish the body they are in; workers exit. */
	while (atomic_load(&rt->external_running) > 0)
		sched_yield();
	troupe__sched_join(rt);
	/* 3. Drop what is still queued (its refs are resolved already), and
	 *    resolve what the bodies that ran meanwhile left pending, until
	 *    a sweep finds nothing with nothing queued.  No worker runs now,
	 *    so this ends. */
	do {
		bool dropped = false;
		while (troupe__sched_drain(rt) > 0)
			dropped = true;
		/* Tasks that were queued held their objects in the table:
		 * with millions of them, the table sized for them made the
		 * sweep walk them all (measured, 4M tasks queued at shutdown,
		 * refs released: drain and sweeps 6.5 s, 0.3 s after the
		 * fit). */
		if (dropped)
			troupe__objtab_fit(rt);
	} while (troupe__objtab_resolve_all(rt) > 0);
	/* 4. Actors: free their calls, run the destructors not yet run.
	 *    Relaxed: an actor made on a worker is ordered before this by
	 *    the join, and one made outside by whatever ordered its thread's
	 *    calls before troupe_shutdown; a create racing shutdown past its
	 *    `stopping` check is missed by the sweep as well. */
	if (atomic_load_explicit(&rt->made_actors, memory_order_relaxed))
		troupe__actors_shutdown(rt);
	troupe__dispatch(rt);
	/* 5. Wait for outside threads still inside get/wait to leave; any
	 *    that come later see `stopping` and leave at once. */
	while (atomic_load(&rt->external_blocked) > 0)
		sched_yield();

	troupe__sched_fini(rt);
	troupe__objtab_fini(&rt->objs);
	troupe__big_fini(rt); /* after the last value went */
	troupe__fns_fini(rt);
	troupe__actors_fini(rt);
	pthread_rwlock_destroy(&rt->fn_lock);
	pthread_mutex_destroy(&rt->cq_lock);
	close(rt->cq_fd);
	rt_recycle(rt); /* still marked stopping */
	return TROUPE_OK;
}
