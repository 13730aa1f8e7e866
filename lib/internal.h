/*
 * What the modules of lib/ share: the runtime struct and the handful of
 * internal types every module touches.  Each module's own functions are
 * declared in its header (objtab.h, sched.h, task.h, future.h).
 */
#ifndef TROUPE_INTERNAL_H
#define TROUPE_INTERNAL_H

#include "troupe.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include <urcu/wfcqueue.h>

#include "objtab.h"
#include "sched.h"
#include "tls.h"

#define TROUPE__CACHELINE 64

/* A function registered by name (task.c); a small chained hash. */
struct troupe__fn_entry {
	struct troupe__fn_entry *next;
	troupe_fn fn;
	char name[];
};
#define TROUPE__FN_BUCKETS 64

/* Blocks of large values kept for the next one (value.c, "large
 * blocks"): the oldest first. */
#define TROUPE__BIG_SLOTS 4
struct troupe__big_cache {
	pthread_mutex_t lock;
	unsigned n;
	struct {
		void *p;
		size_t cap;
	} slot[TROUPE__BIG_SLOTS];
};

struct troupe {
	/* Read on every call: set once shutdown begins.  Kept apart from the
	 * counters that workers write. */
	alignas(TROUPE__CACHELINE) _Atomic bool stopping;

	struct troupe__objtab objs;
	struct troupe__sched sched;

	/* Posted completions (troupe_on_ready_post) waiting for
	 * troupe_dispatch, and the eventfd that signals them. */
	alignas(TROUPE__CACHELINE) struct __cds_wfcq_head cq_head;
	struct cds_wfcq_tail cq_tail;
	pthread_mutex_t cq_lock; /* one dispatcher at a time */
	int cq_fd;

	/* Threads outside the pool blocked in get/wait: shutdown waits for
	 * them to leave before freeing what they touch. */
	alignas(TROUPE__CACHELINE) _Atomic int external_blocked;
	/* Outside threads running a task inline in a get (future.c). */
	_Atomic int external_running;
	/* Set by the first actor made (actor.c): without one, shutdown skips
	 * the actors' sweep of the table, a miss per object it holds. */
	_Atomic bool made_actors;

	pthread_rwlock_t fn_lock;
	struct troupe__fn_entry *fns[TROUPE__FN_BUCKETS];

	struct troupe__registry *registry; /* named actors (actor.c) */

	struct troupe__big_cache big; /* value.c */

	troupe *pool_next; /* recycled structs (runtime.c) */
};

/* Whether troupe has seen the calling thread (runtime.c). */
extern TROUPE__TLS bool troupe__registered;
void troupe__thread_register(void);

/* Makes sure the calling thread is registered with liburcu (lazily, undone
 * at thread exit).  Every public entry point that reads the object table
 * calls it first, so the check is inline. */
static inline void troupe__thread_enter(void)
{
	if (!__builtin_expect(troupe__registered, 1))
		troupe__thread_register();
}

/* An i64's or f64's 8 bytes into out (troupe_value_i64/_f64, and a take,
 * read values with it): TROUPE_ETYPE when v is not 8 bytes. */
static inline troupe_err troupe__value_8(const troupe_value *v, void *out)
{
	if (v->size != 8 || v->data == NULL)
		return TROUPE_ETYPE;
	memcpy(out, v->data, 8);
	return TROUPE_OK;
}

/* A copy of a value's size bytes (more than fit inline) in a block of its
 * own, and in *free_fn the function that frees it; NULL on no memory.  A
 * value of TROUPE__LARGE_VALUE bytes or more gets a block kept from an
 * earlier one where it can (value.c, "large blocks"), and troupe__big_drop
 * as its free function: when the value goes, its holder hands the block to
 * troupe__big_keep instead, which keeps it for the next large value or
 * frees it.  troupe__big_drop frees outright (for a holder with no runtime
 * at hand).  Any thread; init and fini are the runtime's. */
void *troupe__value_copy(troupe *rt, const void *data, size_t size,
			 troupe_free_fn *free_fn);
void troupe__big_init(troupe *rt);
void troupe__big_drop(void *p);
void troupe__big_keep(troupe *rt, void *p);
void troupe__big_fini(troupe *rt);

/* True once shutdown has begun.  Acquire: a call that sees it also sees the
 * state shutdown set up before setting it. */
static inline bool troupe__stopping(troupe *rt)
{
	return atomic_load_explicit(&rt->stopping, memory_order_acquire);
}

/* True inside an on_ready callback (future.c). */
bool troupe__in_callback(void);
/* True while this (outside) thread runs one of rt's bodies in a get. */
bool troupe__in_inline_body(troupe *rt);

/* Runs the posted completions on the calling thread; how many ran. */
size_t troupe__dispatch(troupe *rt);

/* True when rt may no longer be used by the caller: shutdown has begun (or
 * finished: runtime structs are recycled, see runtime.c) and the caller is
 * not one of rt's own workers finishing a body. */
static inline bool troupe__closed(troupe *rt)
{
	return troupe__stopping(rt) && troupe__sched_self(rt) == NULL;
}

/* The name a task's function goes by in error messages. */
const char *troupe__fn_name(troupe *rt, troupe_fn fn, const char *given,
			    char *buf, size_t len);

#endif
