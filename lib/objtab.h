/*
 * The object table: ids -> objects, in liburcu's cds_lfht.
 *
 * An object is a future until it resolves, exactly once, to a value (READY)
 * or an error (ERROR, its message stored as the value bytes).  Lookups run
 * in an RCU read-side section and take no lock; a removed object is freed
 * only after a grace period (batched, see retire in objtab.c).
 *
 * References: `refs` counts the caller's refs (what troupe_retain/release
 * move) in bits 28..55 and the runtime's own (a task that takes the object
 * as an argument or fills it, an on_ready registration) in bits 0..27.
 * Keeping them apart is what lets a double release be refused while a task
 * still needs the value.  When both reach zero the object is dead.
 *
 * A dead value object usually stays in the table, as a slot the thread that
 * killed it reuses for its next object (see "Slots" in objtab.c): reusing
 * one costs no table insert, delete or grace period.  Its id changes with
 * each use: bits 52..59 of an id are the slot's generation, and the top
 * byte of `refs` holds the same number, so one atomic load tells whether
 * an id still names the object in the slot (troupe__obj_lookup).  A slot
 * used 256 times, or one its thread cannot keep, leaves the table as
 * before: ids stay unique.
 *
 * Waiters (blocked getters, dependent tasks, callbacks) hang on a list
 * guarded by one of a few striped locks; resolving with no waiter takes no
 * lock.  See troupe__obj_resolve and troupe__waiter_add for the protocol.
 */
#ifndef TROUPE_OBJTAB_H
#define TROUPE_OBJTAB_H

#include "troupe.h"

#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <urcu/rculfhash.h>

#include "sched.h"
#include "tls.h"

struct troupe__task;
struct troupe__obj;

enum troupe__obj_state {
	TROUPE__PENDING = 0,
	TROUPE__RESOLVING = 1, /* one resolver won; fields being written */
	TROUPE__READY = 2,
	TROUPE__ERROR = 3,
};

/* What an entry of the table is: a value (future) or an actor (actor.h),
 * which embeds its object header first. */
enum troupe__obj_kind {
	TROUPE__OBJ_VALUE = 0,
	TROUPE__OBJ_ACTOR = 1,
};

struct troupe__waiter;
/* Called once, outside any lock, after the object resolved.  It may free
 * the waiter (except a getter's, which lives on the getter's stack). */
typedef void (*troupe__wake_fn)(troupe *rt, struct troupe__waiter *w,
				struct troupe__obj *o);

struct troupe__waiter {
	struct troupe__waiter *next, *prev;
	troupe__wake_fn wake;
	bool linked; /* on the list; under the stripe lock */
};

struct troupe__obj {
	struct cds_lfht_node node;
	/* Its bits below TROUPE__ID_GEN_SHIFT (the table's key) never change
	 * while the node is in the table; the generation above them does. */
	_Atomic uint64_t id;
	_Atomic uint64_t refs;	/* gen << 56 | user << 28 | internal */
	_Atomic uint32_t state; /* enum troupe__obj_state */
	/* Set by whoever runs the producing task (a worker that dequeued
	 * it, or a getter running it inline); only on a task's first ref. */
	_Atomic uint8_t claim;
	uint8_t kind; /* enum troupe__obj_kind */
	troupe_err err; /* for ERROR */
	const void *data;
	size_t size;
	troupe_free_fn free_fn; /* frees data, or NULL (inline / static) */
	/* The task that fills this ref while it is queued: a getter may claim
	 * and run it.  After removal from the table, reused as the link of the
	 * retired list. */
	union {
		_Atomic(struct troupe__task *) task;
		struct troupe__obj *retired_next;
	};
	/* Changed under the stripe lock; read without it by resolvers. */
	_Atomic(struct troupe__waiter *) waiters;
	unsigned char inl[8];           /* values of up to 8 bytes */
};

#define TROUPE__STRIPES 64

/* A batch of spare slots in the depot (objtab.c, "slots"), and when it
 * came (troupe__now_ns). */
struct troupe__depot_entry {
	struct troupe__obj *chain;
	int64_t since;
};

struct troupe__objtab {
	struct cds_lfht *ht;
	uint64_t tag; /* this runtime's 12-bit number, shifted into place */
	uint64_t incarnation; /* unique to this init, for threads' id blocks */
	alignas(64) _Atomic uint64_t next_seq; /* handed out ID_BLOCK at a time */
	alignas(64) _Atomic(struct troupe__obj *) retired;
	/* The threads' slot caches bound to this table (under objtab.c's
	 * slots_lock), and whether it still takes new ones (set under it). */
	struct troupe__slot_cache *caches;
	_Atomic bool caches_closed;
	/* Spare slots on their way between threads (objtab.c, "slots"):
	 * chains of a batch each, under depot_lock; ndepot is written under
	 * it and read without it for a look that spares the lock. */
	alignas(64) pthread_mutex_t depot_lock;
	struct troupe__depot_entry *depot; /* a stack of depot_cap */
	unsigned depot_cap;
	_Atomic unsigned ndepot;
	bool depot_closed;
	_Atomic unsigned nretired;      /* retired, not yet in `removed` */
	_Atomic uint64_t removed;       /* retired, in whole batches */
	_Atomic unsigned long sized_for; /* the last size grow_check asked */
	/* How many objects had been made when grow_check first found the
	 * table oversized (0: it is not). */
	_Atomic uint64_t oversized_at;
	/* Resizing for a thread outside the pool (grow_check): the job, and
	 * whether it is queued. */
	struct troupe__job resize_job;
	_Atomic bool resize_queued;
	pthread_mutex_t stripe[TROUPE__STRIPES];
};

/* An id: sequence number (bits 0..39), runtime tag (40..51), the slot's
 * generation (52..59). */
#define TROUPE__ID_SEQ_BITS 40
#define TROUPE__ID_TAG_SHIFT TROUPE__ID_SEQ_BITS
#define TROUPE__ID_GEN_SHIFT 52
#define TROUPE__ID_KEY_MASK (((uint64_t)1 << TROUPE__ID_GEN_SHIFT) - 1)
/* refs: internal count (bits 0..27), user count (28..55), generation. */
#define TROUPE__USER_REF ((uint64_t)1 << 28)
#define TROUPE__REFS_GEN_SHIFT 56

troupe_err troupe__objtab_init(struct troupe__objtab *t);
/* The pool job that resizes the table (see grow_check). */
void troupe__objtab_resize_job(troupe *rt, struct troupe__job *j);

struct troupe__worker;
/* Frees the objects worker w retired and has not freed yet (after a grace
 * period: not inside a read-side section).  True if there were any. */
bool troupe__objtab_flush_worker(troupe *rt, struct troupe__worker *w);
/* Shutdown, first: threads keep no more slots of this table, and those
 * they keep stay in it (troupe__objtab_fini frees them). */
void troupe__objtab_close_slots(struct troupe__objtab *t);
/* Shutdown, next, and again once queued tasks are dropped: sizes the table
 * for what it holds now and for walks (objtab.c, SWEEP_SHIFT), at once on
 * this thread (not inside a read-side section).  A table left big by an
 * earlier burst makes every walk over it slow (troupe__objtab_resolve_all). */
void troupe__objtab_fit(troupe *rt);
/* When the depot's oldest spare batch beyond the few it always keeps will
 * have sat unused long enough to go (troupe__now_ns), or 0 if it keeps
 * none beyond those.  Any thread, outside read-side sections. */
int64_t troupe__objtab_depot_due(troupe *rt);
/* Takes the batches that troupe__objtab_depot_due says are due out of the
 * table (freed after a grace period).  Outside read-side sections. */
void troupe__objtab_depot_trim(troupe *rt);
/* Shutdown, before troupe__objtab_fit: takes every batch in the depot out
 * of the table, so that the walks over it do not visit them. */
void troupe__objtab_depot_empty(troupe *rt);
/* Frees every object still in the table.  No other thread may use it. */
void troupe__objtab_fini(struct troupe__objtab *t);

/* A new PENDING object with one user ref and `internal` runtime refs, in
 * the table.  NULL on no memory. */
struct troupe__obj *troupe__obj_new(troupe *rt, unsigned internal);
/* The same for a block the caller allocated (troupe__malloc) with o at its
 * start, of the given kind.  The table frees the whole block. */
void troupe__obj_insert(troupe *rt, struct troupe__obj *o, uint8_t kind,
			unsigned internal);
/* Lookup of an object of any kind (see troupe__obj_lookup). */
troupe_err troupe__obj_lookup_any(troupe *rt, uint64_t id,
				  struct troupe__obj **o);
/* Removes o from the table and frees it after a grace period: for kinds
 * whose last ref does not do it (an actor's destruction ends with it). */
void troupe__obj_retire(troupe *rt, struct troupe__obj *o);

/* Inside an RCU read-side section: the value object ref names, or an error
 * (EINVAL for id 0, EFOREIGN, ESTALE — also when the caller's refs are all
 * released, or when the id is an actor's).  The object stays valid for the rest of the section; beyond
 * it, only while the caller holds a ref. */
troupe_err troupe__obj_lookup(troupe *rt, troupe_ref ref,
			      struct troupe__obj **o);

/* Adds a runtime ref to an object the caller knows is alive (it holds a ref
 * or is inside the read-side section of a lookup that found the caller's
 * ref alive). */
void troupe__obj_ref(struct troupe__obj *o);
/* The same for an object a caller's id found (troupe__obj_lookup, in the
 * same section): ESTALE if the slot has been reused since, ENOMEM if the
 * runtime's count is at the top of its field (2^28 - 1). */
troupe_err troupe__obj_ref_id(struct troupe__obj *o, uint64_t id);
/* Adds a runtime ref unless the object is already on its way out (false);
 * inside an RCU read-side section that found it. */
bool troupe__obj_try_ref(struct troupe__obj *o);
/* Drops a runtime ref; the last ref out removes the object.  Never call it
 * inside an RCU read-side section. */
void troupe__obj_unref(troupe *rt, struct troupe__obj *o);
/* troupe_retain/release and troupe_actor_retain/release: a handle (a
 * ref's or an actor's id) of the given kind, validated, on the user count.
 * Any thread, outside RCU read-side sections. */
troupe_err troupe__handle_retain(troupe *rt, uint64_t id, uint8_t kind);
troupe_err troupe__handle_release(troupe *rt, uint64_t id, uint8_t kind);

/* Kept refs: runtime refs a thread holds for ids it will likely get or
 * release soon, so that those calls find the object without a lookup or a
 * read-side section (a get of a kept id keeps no ref of its own: it takes
 * the kept one; a release drops both in one step).  A stack per thread,
 * of the runtime its slot cache is bound to: a body's entries sit above
 * its caller's and are dropped when it returns; all are at thread exit or
 * when the thread turns to another runtime, and shutdown forgets them (the
 * table frees the objects).  Owner thread only; outside read-side
 * sections. */

/* How many entries the thread's stack holds; the floor of the body running
 * on it (entries below are its callers'); how many bodies run on it. */
extern TROUPE__TLS unsigned troupe__kept_n, troupe__kept_base,
	troupe__kept_bodies;

struct troupe__obj *troupe__obj_new_in_body(troupe *rt);

/* troupe__obj_new(rt, 1) for a task's one result, with one more runtime
 * ref for the thread to keep when it runs a body (troupe__kept_leave drops
 * what is left when the body returns) and has room. */
static inline struct troupe__obj *troupe__obj_new_kept(troupe *rt)
{
	return troupe__kept_bodies != 0 ? troupe__obj_new_in_body(rt) :
					  troupe__obj_new(rt, 1);
}
/* A getter done with o hands over the runtime ref it held for id: kept if
 * o resolved to a value that is its own few bytes (a kept ref must not
 * hold a buffer), else dropped. */
void troupe__obj_keep(troupe *rt, struct troupe__obj *o, uint64_t id);
bool troupe__kept_take(troupe *rt, uint64_t id, struct troupe__obj **o);
void troupe__kept_drop_body(void);

/* Takes the kept ref for id, if the thread keeps one near the top of its
 * stack and id still names a live object: the caller now holds it (a
 * take's: it drops both refs at once when it has read the value). */
static inline bool troupe__obj_unkeep(troupe *rt, uint64_t id,
				      struct troupe__obj **o)
{
	return troupe__kept_n != 0 && troupe__kept_take(rt, id, o);
}

/* The kept ref for id, if the thread keeps one near the top of its stack
 * and id still names a live object: *o gets the object and *at its entry.
 * The ref stays kept: a get reads through it and leaves it for the
 * release that usually follows. */
bool troupe__kept_find(troupe *rt, uint64_t id, struct troupe__obj **o,
		       unsigned *at);
static inline bool troupe__obj_kept(troupe *rt, uint64_t id,
				    struct troupe__obj **o, unsigned *at)
{
	return troupe__kept_n != 0 && troupe__kept_find(rt, id, o, at);
}
/* Whether entry at still keeps o for id.  A body the thread ran since it
 * was found (one a get ran in place) may have taken it: a release or take
 * of an id takes the thread's entry wherever it sits. */
bool troupe__kept_still(unsigned at, uint64_t id, const struct troupe__obj *o);
/* Empties entry at and drops its ref. */
void troupe__kept_unkeep(troupe *rt, unsigned at);

/* Around a body (inline: every task pays them): enter returns the caller's
 * floor, to give back to leave, which drops what the body kept. */
static inline unsigned troupe__kept_enter(void)
{
	unsigned outer = troupe__kept_base;
	troupe__kept_base = troupe__kept_n;
	troupe__kept_bodies++;
	return outer;
}

static inline void troupe__kept_leave(unsigned outer)
{
	if (troupe__kept_n != troupe__kept_base)
		troupe__kept_drop_body();
	troupe__kept_bodies--;
	/* A body that turned the thread to another runtime emptied it. */
	troupe__kept_base = outer < troupe__kept_n ? outer : troupe__kept_n;
}

/* Frees the calling thread's lookup hints and gives its cached slots back
 * to their table (runtime.c, at thread exit). */
void troupe__objtab_thread_exit(void);
/* The user count itself. */
troupe_err troupe__obj_retain_user(struct troupe__obj *o);
/* The same for a caller's id found by troupe__obj_lookup: refused
 * (ESTALE) if the slot has been reused since. */
troupe_err troupe__obj_retain_id(struct troupe__obj *o, uint64_t id);
troupe_err troupe__obj_release_user(troupe *rt, struct troupe__obj *o);
/* The same, for the object id names (ESTALE if the slot was reused). */
troupe_err troupe__obj_release_id(troupe *rt, struct troupe__obj *o,
				  uint64_t id);
/* troupe_take's release, in two steps around the end of the read-side
 * section its lookup found o in: troupe__obj_drop_user drops the user ref
 * of the object id names (inside the section; ESTALE if there is none);
 * when *last says no ref of any kind is left, the caller then calls
 * troupe__obj_destroy once out of the section. */
troupe_err troupe__obj_drop_user(struct troupe__obj *o, uint64_t id,
				 bool *last);
void troupe__obj_destroy(troupe *rt, struct troupe__obj *o);
/* Drops a runtime ref the caller took for id (troupe__obj_ref_id) and the
 * caller's user ref on the same object in one step: troupe__obj_unref then
 * troupe__obj_release_id.  ESTALE (only the runtime ref dropped) when the
 * user ref is gone.  Never inside a read-side section. */
troupe_err troupe__obj_unref_release(troupe *rt, struct troupe__obj *o,
				     uint64_t id);

static inline uint32_t troupe__obj_state(const struct troupe__obj *o)
{
	/* Acquire: pairs with the release in resolve, so a reader that sees
	 * READY also sees data/size/err. */
	return atomic_load_explicit(&o->state, memory_order_acquire);
}
static inline bool troupe__obj_done(const struct troupe__obj *o)
{
	return troupe__obj_state(o) >= TROUPE__READY;
}

/* Resolves o once and wakes every waiter.  A value with free_fn NULL is
 * copied (into the object itself when it fits in 8 bytes); with free_fn the
 * object takes data.  For an error, msg (troupe__malloc'd, or NULL) is taken.
 * Returns false when o had already resolved; what was given is freed all the
 * same (free_fn(data), or msg), so callers never clean up after a loss. */
bool troupe__obj_resolve_value(troupe *rt, struct troupe__obj *o,
			       const void *data, size_t size,
			       troupe_free_fn free_fn);
bool troupe__obj_resolve_error(troupe *rt, struct troupe__obj *o,
			       troupe_err err, char *msg);
/* The same with msg a string that outlives every object (a literal): no
 * copy to make, which counts when shutdown resolves millions at once. */
bool troupe__obj_resolve_error_static(troupe *rt, struct troupe__obj *o,
				      troupe_err err, const char *msg);

/* Hangs w on o's waiter list.  Returns false (w not added) when o has
 * already resolved.  Otherwise w->wake runs once o resolves. */
bool troupe__waiter_add(troupe *rt, struct troupe__obj *o,
			struct troupe__waiter *w);
/* Takes w off o's list if it is still there (true).  False means o's
 * resolver has detached it and will call (or is calling) w->wake. */
bool troupe__waiter_remove(troupe *rt, struct troupe__obj *o,
			   struct troupe__waiter *w);

struct troupe__job;
/* Runs a batch of retired objects handed to the pool: frees them after a
 * grace period. */
void troupe__objtab_reclaim_job(troupe *rt, struct troupe__job *j);

/* Shutdown: resolves every pending object to TROUPE_ESHUTDOWN; returns how
 * many it resolved (call again until 0). */
size_t troupe__objtab_resolve_all(troupe *rt);

/* A copy of a printf message in troupe__malloc'd memory (NULL on no memory). */
char *troupe__vformat(const char *fmt, va_list ap);
char *troupe__format(const char *fmt, ...) TROUPE_PRINTF(1, 2);

#endif
