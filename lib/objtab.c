/* The object table; see objtab.h for the model. */
#include "internal.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "actor.h"
#include "alloc.h"
#include "rcu.h"

#ifdef TROUPE__TSAN
char troupe__tsan_grace;
#endif

/* Retired objects are freed in batches: one grace period per batch keeps the
 * cost of RCU off the per-object path, and bounds what waits to be freed. */
#define RECLAIM_BATCH 4096

/* Each thread remembers the objects it last made or found, so the get and
 * the release that follow a submit (or the calls on one actor handle) skip
 * the table's lookup.  An entry is only a hint about memory, and memory is
 * what it must not get wrong: it is trusted only while no batch of retired
 * objects has been freed since it was written.  reclaim_gen counts those
 * batches (every runtime's, and every runtime's end), and is bumped before
 * the batch's grace period starts; an entry is written only for an object
 * seen live (refs > 0) after its gen was read, so that object's own
 * retirement, and the bump before its freeing, come later.  A reader that
 * then finds gen unchanged inside its read-side section is one that grace
 * period waits for: the object's memory is there until the section ends.
 * Whether the object is still the one named is checked as for a table hit
 * (its refs); a dead entry falls back to the table. */
/* Entries per thread, direct-mapped by id: enough that a batch of a
 * thousand submits (or calls) is still remembered when its gets come.
 * Reused slots keep their keys, so a batch's ids are not consecutive but
 * a shuffle of the few thousand keys in circulation: with 1,024 entries
 * half the gets of 1,000-task batches missed on a collision and went to
 * the table (perf probe on cds_lfht_lookup: 84-108k lookups for 200k
 * tasks); with 4,096, none did. */
#define LOOKUP_CACHE 4096
struct cache_entry {
	uint64_t id;
	struct troupe__obj *o;
	uint64_t gen;
};
/* Allocated on the thread's first fill (96 KiB), freed at its exit
 * (troupe__objtab_thread_exit); NULL: every lookup goes to the table. */
static TROUPE__TLS struct cache_entry *lookup_cache;
static _Atomic uint64_t reclaim_gen = 1;

/* The thread's first fill allocates the cache (out of line: every other
 * fill is two stores). */
static __attribute__((noinline, cold)) bool cache_alloc(void)
{
	lookup_cache = troupe__calloc(LOOKUP_CACHE, sizeof *lookup_cache);
	return lookup_cache != NULL;
}

/* Notes that id names o, if the thread has a cache. */
static inline void cache_put(struct troupe__obj *o, uint64_t id, uint64_t gen)
{
	if (lookup_cache != NULL)
		lookup_cache[id % LOOKUP_CACHE] =
			(struct cache_entry){id, o, gen};
}

static inline void cache_fill(struct troupe__obj *o, uint64_t id, uint64_t gen)
{
	if (lookup_cache == NULL)
		(void)cache_alloc();
	cache_put(o, id, gen);
}

/* Called before freeing objects that may be in some thread's cache. */
static void cache_invalidate(void)
{
	atomic_fetch_add_explicit(&reclaim_gen, 1, memory_order_seq_cst);
}

static uint64_t mix64(uint64_t x)
{
	/* splitmix64's finalizer. */
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* Where an id goes in the table: runs of RUN_BITS ids made one after
 * another (a thread's id block, take_seq) fill neighbouring buckets, from
 * a start the rest of the id picks at random.  A loop that makes or reads
 * a run of refs then walks along one stretch of the bucket array, four
 * buckets to a cache line, instead of missing cache and TLB once or twice
 * per id: on this VM a random access to a big table costs hundreds of ns.
 * The start is added, not put in the low bits' place, so that it lands on
 * any bucket, not on a multiple of the run: a live set whose ids share
 * their low bits (one kept of every 64 made, say) still spreads over every
 * bucket.  So the worst case is a plain random hash's, one id per run.
 * Measured, cds_lfht alone, 1M ids inserted into a table sized for them
 * (2 vCPUs): consecutive ids 33-47 ns an insert, ids 64 apart 100 ns, 1024
 * apart 436 ns; the low 4 bits kept in place instead (the earlier scheme)
 * 65-95 ns, and 725-765 ns at any of those strides (1/16 of the buckets). */
#define RUN_BITS 10

static uint64_t id_hash(uint64_t id)
{
	return mix64(id >> RUN_BITS) + (id & ((1u << RUN_BITS) - 1));
}

/* The table's key: an id without its generation. */
static int match_key(struct cds_lfht_node *node, const void *key)
{
	struct troupe__obj *o =
		caa_container_of(node, struct troupe__obj, node);
	/* Relaxed: the key bits are fixed; only the generation changes. */
	return (atomic_load_explicit(&o->id, memory_order_relaxed) &
		TROUPE__ID_KEY_MASK) == *(const uint64_t *)key;
}

#define REFS_COUNT_MASK (((uint64_t)1 << TROUPE__REFS_GEN_SHIFT) - 1)
#define REFS_USER_MASK (REFS_COUNT_MASK & ~(TROUPE__USER_REF - 1))

static uint64_t id_gen(uint64_t id)
{
	return (id >> TROUPE__ID_GEN_SHIFT) & 0xff;
}

static uint64_t refs_gen(uint64_t r)
{
	return r >> TROUPE__REFS_GEN_SHIFT;
}

/* Whether a refs word belongs to the object named by id (same generation)
 * and still has a user ref. */
static bool refs_name(uint64_t r, uint64_t id)
{
	return refs_gen(r) == id_gen(id) && (r & REFS_USER_MASK) != 0;
}

/* refs_name for a caller's id, or for id 0 (whichever object is in the
 * slot): whether it still has a user ref. */
static bool refs_hold(uint64_t r, uint64_t id)
{
	return id != 0 ? refs_name(r, id) : (r & REFS_USER_MASK) != 0;
}

/* Adds one to o's user count (unit TROUPE__USER_REF) or runtime count
 * (unit 1), for the object id names (id 0: whichever is in the slot, if it
 * has a user ref).  A count at the top of its 28 bits stays there
 * (ENOMEM) rather than run into the field above. */
static troupe_err add_ref(struct troupe__obj *o, uint64_t id, uint64_t unit)
{
	uint64_t field = unit * (TROUPE__USER_REF - 1);
	uint64_t r = atomic_load_explicit(&o->refs, memory_order_relaxed);
	do {
		if (!refs_hold(r, id))
			return TROUPE_ESTALE;
		if ((r & field) == field)
			return TROUPE_ENOMEM;
	} while (!atomic_compare_exchange_weak_explicit(&o->refs, &r, r + unit,
							memory_order_relaxed,
							memory_order_relaxed));
	return TROUPE_OK;
}

static pthread_mutex_t *stripe_of(struct troupe__objtab *t,
				  const struct troupe__obj *o)
{
	return &t->stripe[mix64(o->id) % TROUPE__STRIPES];
}

/* How often (in objects made) the table's size is checked against what it
 * holds.  The table is sized here rather than by liburcu's lazy resizing
 * (CDS_LFHT_AUTO_RESIZE): that one missed growth under our load — with a
 * million objects live, inserts and lookups walked chains of hundreds
 * (measured: 1M creates took 1 s on one run and 24 s on the next) — and
 * its shrinking, driven by deletes, left a size we could not track.  Here
 * one number says what the table was sized for: grow to twice the live
 * count once it passes that; shrink once it has stayed below an eighth
 * while half as many objects were made as the table has buckets.  A
 * resize works in proportion to the size, so shrinking then costs at most
 * two buckets' work per object made, and a program that fills and empties
 * the table in bursts (a million tasks submitted, then got, over and over)
 * keeps its size rather than shrink and grow it for each burst. */
#define GROW_CHECK 4096
#define MIN_BUCKETS 1024
/* Once shutdown begins, the table is sized for its walks rather than its
 * lookups: eight times fewer buckets, about four objects a bucket.  A walk
 * visits buckets in an order that jumps across the whole bucket array, a
 * cache and TLB miss each, and with few lookups left the short chains buy
 * nothing (measured, 4M tasks queued at shutdown: each walk 3.3-3.6 s at
 * the usual size, 1.8 s at this one; the deletes of the drain cost no more). */
#define SWEEP_SHIFT 3

/* Twelve bits of every id name its runtime, so a ref from another runtime
 * is told apart from an unknown one.  The numbers are handed out from a
 * process-wide table of those in use (it concerns ids, not any runtime's
 * state), round-robin, so a number comes back only after all the others. */
#define NTAGS 4096
static pthread_mutex_t tag_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t tag_used[NTAGS / 64];
static unsigned tag_cursor;

static unsigned tag_acquire(void)
{
	unsigned tag = 0;
	pthread_mutex_lock(&tag_lock);
	for (unsigned i = 1; i < NTAGS && tag == 0; i++) {
		unsigned c = (tag_cursor + i) % NTAGS;
		if (c != 0 && !(tag_used[c / 64] >> (c % 64) & 1)) {
			tag_used[c / 64] |= (uint64_t)1 << (c % 64);
			tag = tag_cursor = c;
		}
	}
	pthread_mutex_unlock(&tag_lock);
	return tag; /* 0: all in use */
}

static void tag_release(unsigned tag)
{
	pthread_mutex_lock(&tag_lock);
	tag_used[tag / 64] &= ~((uint64_t)1 << (tag % 64));
	pthread_mutex_unlock(&tag_lock);
}

/* ---------------------------------------------------------------- slots
 *
 * A value object whose last ref goes is dead, but its node can stay in the
 * table: the thread that dropped the ref keeps it in a cache of its own and
 * makes its next object there, under the same key with the next
 * generation.  That saves the table's delete and insert (~370 instructions
 * of liburcu's), the grace period, and the allocator round trip.
 *
 * A lookup tells a dead or reused slot from the object an id names by the
 * generation in `refs` (refs_name): a stale id gets ESTALE as before.  The
 * memory stays an object throughout, so a reader that raced the reuse reads
 * only another incarnation's fields, never freed memory; every count change
 * made for a caller's id is a compare-and-swap that checks the generation.
 *
 * A cache holds one runtime's slots.  It is bound to that runtime on a list
 * the runtime keeps, so that shutdown can unbind it (its slots go with the
 * table) and a thread leaving (or turning to another runtime) can take its
 * slots out of the table while the runtime is alive; slots_lock orders the
 * two.  Binding takes the lock, so it happens outside read-side sections.
 *
 * Objects often die on another thread than the one that made them: an
 * outside thread submits, a worker drops the last ref; a subtree of tasks
 * is stolen.  Then one cache overflows while the other thread finds its
 * own empty and inserts anew (callgrind, 1,000 tasks submitted from outside
 * then got: 298,634 inserts in 300,000 objects).  So a full cache passes a
 * batch of its slots to the runtime's depot, and an empty one takes a batch
 * from there: one lock per SLOT_BATCH slots.  Its slots stay in the table
 * (shutdown forgets the depot, and the table frees them).  depot_lock is
 * never held across a grace period, so it may be taken inside a read-side
 * section.
 *
 * The depot keeps what it is given, so a burst's objects come back as the
 * next burst's: 1M empty tasks submitted from outside, then got and
 * released, reuse the slots of the million before instead of deleting,
 * reclaiming and freeing them and then allocating and inserting anew
 * (measured, driver and troupe-bench, 2 workers: 0.10-0.19 s a run
 * against 0.17-0.29 s with a depot of 16 batches).  What it keeps beyond
 * DEPOT_KEEP batches and nobody took for DEPOT_AGE_NS leaves the table
 * (depot_age): when a thread next takes from the depot, or when a worker
 * going idle finds it due (troupe__objtab_depot_due, and the pool's timed
 * park): a program that made a million objects once does not hold their
 * memory for good. */
#define SLOT_CACHE 1024
#define SLOT_BATCH 256
#define DEPOT_KEEP 16
#define DEPOT_AGE_NS 1000000000
#define SLOT_GEN_MAX 255 /* the last generation: 8 bits of the id */

/* Runtime refs a thread keeps for ids it will likely get or release soon
 * (troupe__obj_keep, troupe__obj_new_kept): a stack, so that a body's
 * entries sit above its caller's and go when it returns (troupe__kept_leave).
 * A release or get looks at the top KEPT_LOOK entries only. */
#define KEPT 256
#define KEPT_LOOK 8

struct kept {
	uint64_t id;
	struct troupe__obj *o; /* NULL: a hole, popped when it comes on top */
};

struct troupe__slot_cache {
	/* The bound runtime; NULL once unbound.  Written under slots_lock,
	 * read without it by the owning thread. */
	_Atomic(troupe *) rt;
	struct troupe__slot_cache *prev, *next; /* under slots_lock */
	struct troupe__obj *head; /* through retired_next; owner only */
	unsigned n;
	/* Objects of the bound runtime the thread holds a runtime ref on,
	 * each for the id it was made or got by; owner only, and under
	 * slots_lock when unbinding; troupe__kept_n of them are in use. */
	struct kept kept[KEPT];
};

static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;
static TROUPE__TLS struct troupe__slot_cache *slot_cache;
TROUPE__TLS unsigned troupe__kept_n, troupe__kept_base, troupe__kept_bodies;

static void kept_drop(troupe *rt, struct troupe__slot_cache *c);
static void unlink_obj(troupe *rt, struct troupe__obj *o);
static struct troupe__obj *unlink_chain(troupe *rt, struct troupe__obj *head);
static void retire_chain(troupe *rt, struct troupe__obj *head,
			 struct troupe__obj *tail, unsigned n);

troupe_err troupe__objtab_init(struct troupe__objtab *t)
{
	unsigned tag = tag_acquire();
	if (tag == 0)
		return TROUPE_ESYSTEM;
	t->tag = (uint64_t)tag << TROUPE__ID_TAG_SHIFT;
	static _Atomic uint64_t incarnations;
	t->incarnation = atomic_fetch_add(&incarnations, 1) + 1;
	atomic_init(&t->next_seq, 0);
	atomic_init(&t->removed, 0);
	atomic_init(&t->sized_for, MIN_BUCKETS);
	atomic_init(&t->oversized_at, 0);
	atomic_init(&t->resize_queued, false);
	t->resize_job.kind = TROUPE__JOB_RESIZE;
	atomic_init(&t->retired, NULL);
	atomic_init(&t->nretired, 0);
	t->caches = NULL;
	atomic_init(&t->caches_closed, false);
	pthread_mutex_init(&t->depot_lock, NULL);
	t->depot = NULL;
	t->depot_cap = 0;
	atomic_init(&t->ndepot, 0);
	t->depot_closed = false;
	t->ht = cds_lfht_new_flavor(MIN_BUCKETS, MIN_BUCKETS, 0,
				    0, /* sized by grow_check, see there */
				    &urcu_memb_flavor, NULL);
	if (t->ht == NULL) {
		tag_release(tag);
		return TROUPE_ENOMEM;
	}
	for (int i = 0; i < TROUPE__STRIPES; i++)
		pthread_mutex_init(&t->stripe[i], NULL);
	return TROUPE_OK;
}

static void obj_free(struct troupe__obj *o)
{
	if (o->free_fn != NULL)
		o->free_fn((void *)o->data);
	troupe__free(o);
}

struct reclaim_job {
	struct troupe__job job;
	struct troupe__obj *list;
};

/* Frees a detached list of retired objects after a grace period. */
static void reclaim_list(struct troupe__obj *list)
{
	if (list == NULL)
		return;
	cache_invalidate();
	troupe__rcu_synchronize();
	while (list != NULL) {
		struct troupe__obj *n = list->retired_next;
		obj_free(list);
		list = n;
	}
}

void troupe__objtab_close_slots(struct troupe__objtab *t)
{
	pthread_mutex_lock(&slots_lock);
	atomic_store_explicit(&t->caches_closed, true, memory_order_relaxed);
	for (struct troupe__slot_cache *c = t->caches; c != NULL; c = c->next)
		atomic_store_explicit(&c->rt, NULL, memory_order_relaxed);
	t->caches = NULL;
	pthread_mutex_unlock(&slots_lock);
	/* The depot's slots stay in the table, which frees them. */
	pthread_mutex_lock(&t->depot_lock);
	t->depot_closed = true;
	atomic_store_explicit(&t->ndepot, 0, memory_order_relaxed);
	pthread_mutex_unlock(&t->depot_lock);
}

void troupe__objtab_fini(struct troupe__objtab *t)
{
	struct cds_lfht_iter it;
	struct troupe__obj *o;

	troupe__objtab_close_slots(t);
	reclaim_list(atomic_exchange(&t->retired, NULL));
	/* No reader is left: remove and free directly (past every thread's
	 * cached hints), cached slots among them. */
	cache_invalidate();
	/* Shrunk first: a walk visits every bucket, in an order that jumps
	 * across the whole bucket array, where the resize goes along it
	 * (measured, shutdown after bursts of 1M tasks: 1.8 s in the walks
	 * over 2M buckets; the shrink takes 0.02 s). */
	cds_lfht_resize(t->ht, MIN_BUCKETS);
	troupe__rcu_lock();
	cds_lfht_for_each_entry(t->ht, &it, o, node)
	{
		cds_lfht_del(t->ht, &o->node);
		obj_free(o);
	}
	troupe__rcu_unlock();
	cds_lfht_destroy(t->ht, NULL);
	tag_release((unsigned)(t->tag >> TROUPE__ID_TAG_SHIFT));
	for (int i = 0; i < TROUPE__STRIPES; i++)
		pthread_mutex_destroy(&t->stripe[i]);
	pthread_mutex_destroy(&t->depot_lock);
	troupe__free(t->depot);
}

/* What the table holds, estimated from made, the ids handed out so far
 * (relaxed loads: an estimate is all the sizing needs). */
static uint64_t live_estimate(troupe *rt, uint64_t made)
{
	struct troupe__objtab *t = &rt->objs;
	uint64_t gone = atomic_load_explicit(&t->removed,
					     memory_order_relaxed) +
			/* and those out of the table, not yet freed */
			atomic_load_explicit(&t->nretired,
					     memory_order_relaxed);
	/* ... also on workers' own lists: without them the estimate swung by
	 * a batch per worker and the table was resized back and forth (26
	 * resizes in one fib(30), each several grace periods). */
	struct troupe__sched *s = &rt->sched;
	unsigned nw = atomic_load_explicit(&s->nworkers, memory_order_acquire);
	for (unsigned i = 0; i < nw; i++)
		gone += atomic_load_explicit(&s->workers[i]->nretired,
					     memory_order_relaxed);
	return made > gone ? made - gone : 0;
}

/* The load the table is sized for, as a shift of the usual half an object
 * a bucket: SWEEP_SHIFT once rt is shutting down, else 0. */
static unsigned load_shift(troupe *rt)
{
	return troupe__stopping(rt) ? SWEEP_SHIFT : 0;
}

/* The size for live objects: twice as many buckets (<< shift: that many
 * times fewer), a power of two. */
static unsigned long size_for(uint64_t live, unsigned shift)
{
	unsigned long want = MIN_BUCKETS;
	while (want << shift < 2 * live)
		want *= 2;
	return want;
}

static void grow_check(troupe *rt, uint64_t made)
{
	struct troupe__objtab *t = &rt->objs;
	uint64_t live = live_estimate(rt, made);
	unsigned long size = atomic_load_explicit(&t->sized_for,
						  memory_order_relaxed);
	unsigned shift = load_shift(rt);
	unsigned long want = size_for(live, shift);
	if (live <= size << shift) {
		if (live >= (size << shift) / 8 || size == MIN_BUCKETS) {
			atomic_store_explicit(&t->oversized_at, 0,
					      memory_order_relaxed);
			return;
		}
		uint64_t since = atomic_load_explicit(&t->oversized_at,
						      memory_order_relaxed);
		if (since == 0)
			atomic_store_explicit(&t->oversized_at, made,
					      memory_order_relaxed);
		if (since == 0 || made < since + size / 2)
			return;
	}
	atomic_store_explicit(&t->oversized_at, 0, memory_order_relaxed);
	if (want == size ||
	    !atomic_compare_exchange_strong(&t->sized_for, &size, want))
		return;
	/* One thread resizes; the others go on, and the table stays usable
	 * throughout.  A thread outside the pool hands it to the pool: a
	 * resize of a big table takes a while (measured, 1M and 4M puts and
	 * releases: single calls stalled 20-210 ms), and that thread may be an
	 * application's event loop.  Everyone else resizes here: a worker; a
	 * caller once shutdown has begun (a job might never run); and one that
	 * finds the last request still queued, every worker busy (or held by a
	 * body that blocks outside troupe), since a table a few steps short
	 * turns inserts into long walks (seen: 10M tasks queued behind a held
	 * worker went from 10 s to over 10 min). */
	bool queued = false;
	if (troupe__sched_self(rt) == NULL && !troupe__stopping(rt) &&
	    atomic_compare_exchange_strong(&t->resize_queued, &queued, true)) {
		troupe__sched_push(rt, &t->resize_job);
		return;
	}
	cds_lfht_resize(t->ht, want);
}

void troupe__objtab_fit(troupe *rt)
{
	struct troupe__objtab *t = &rt->objs;
	uint64_t made = atomic_load_explicit(&t->next_seq,
					     memory_order_relaxed);
	unsigned long want = size_for(live_estimate(rt, made), load_shift(rt));
	atomic_store(&t->sized_for, want);
	atomic_store_explicit(&t->oversized_at, 0, memory_order_relaxed);
	cds_lfht_resize(t->ht, want);
}

void troupe__objtab_resize_job(troupe *rt, struct troupe__job *j)
{
	(void)j;
	struct troupe__objtab *t = &rt->objs;
	/* Seq_cst, before reading the size asked: a check that asks for
	 * another size after this either sees the job queued no more and
	 * queues it again, or is seen here. */
	atomic_store(&t->resize_queued, false);
	cds_lfht_resize(t->ht, atomic_load(&t->sized_for));
}

/* Each thread takes ids a block at a time, aligned to id_hash's runs of
 * neighbouring buckets: no shared counter to bounce between
 * workers per object, and no other thread's objects on a thread's bucket
 * lines.  Callgrind/perf, fib(30) with a task per call: the shared
 * fetch_add was the hottest line of troupe__obj_insert.  Ids a thread
 * leaves unused (it exits, or turns to another runtime) are skipped. */
#define ID_BLOCK (1u << RUN_BITS)

static TROUPE__TLS struct id_block {
	uint64_t owner; /* the objtab's incarnation, 0 for none */
	uint64_t next, end;
} id_block;

static uint64_t take_seq(struct troupe__objtab *t)
{
	struct id_block *b = &id_block;
	if (b->owner != t->incarnation || b->next == b->end) {
		/* Relaxed: ids need only be unique. */
		uint64_t base = atomic_fetch_add_explicit(
			&t->next_seq, ID_BLOCK, memory_order_relaxed);
		*b = (struct id_block){t->incarnation, base, base + ID_BLOCK};
	}
	return b->next++;
}

/* Under slots_lock: takes c's slots out of its runtime's table, if it has
 * one (else they stay in the table, which frees them), and unbinds c.  A
 * bound runtime has not begun to shut down (troupe__objtab_close_slots
 * comes first), and the lock keeps it from doing so meanwhile.  (No thread
 * waits for the lock inside a read-side section, so the grace period a
 * batch may wait for here cannot wait for us.) */
static void slots_unbind_locked(struct troupe__slot_cache *c)
{
	troupe *rt = atomic_load_explicit(&c->rt, memory_order_relaxed);
	if (rt != NULL) {
		struct troupe__objtab *t = &rt->objs;
		/* Kept refs go first, all of them (c is the calling thread's:
		 * its bodies' floors start again): an object they were the
		 * last of comes to c (still bound) or leaves the table. */
		troupe__kept_base = 0;
		kept_drop(rt, c);
		if (c->head != NULL)
			retire_chain(rt, c->head, unlink_chain(rt, c->head),
				     c->n);
		if (c->prev != NULL)
			c->prev->next = c->next;
		else
			t->caches = c->next;
		if (c->next != NULL)
			c->next->prev = c->prev;
		atomic_store_explicit(&c->rt, NULL, memory_order_relaxed);
	}
	/* Unbound by shutdown (rt NULL): the table frees what was kept. */
	troupe__kept_n = 0;
	troupe__kept_base = 0;
	c->head = NULL;
	c->n = 0;
}

/* The calling thread's cache if it is bound to rt, else NULL.  Takes no
 * lock: fit for read-side sections. */
static struct troupe__slot_cache *slots_bound(troupe *rt)
{
	struct troupe__slot_cache *c = slot_cache;
	if (c != NULL &&
	    atomic_load_explicit(&c->rt, memory_order_relaxed) == rt)
		return c;
	return NULL;
}

/* slots_of for a thread whose cache is not bound to rt yet: binds it.
 * Out of line (it takes a lock), so that slots_of is a compare. */
static __attribute__((noinline)) struct troupe__slot_cache *
slots_bind(troupe *rt)
{
	struct troupe__slot_cache *c = slot_cache;
	/* Closed for good (shutdown): no lock for every object that dies
	 * meanwhile.  Relaxed: the lock decides; this only spares it. */
	if (atomic_load_explicit(&rt->objs.caches_closed, memory_order_relaxed))
		return NULL;
	if (lookup_cache == NULL)
		(void)cache_alloc(); /* for slot_reuse; NULL is a cache miss */
	if (c == NULL) {
		c = troupe__calloc(1, sizeof *c);
		if (c == NULL)
			return NULL;
		slot_cache = c;
	}
	pthread_mutex_lock(&slots_lock);
	slots_unbind_locked(c);
	struct troupe__objtab *t = &rt->objs;
	if (!atomic_load_explicit(&t->caches_closed, memory_order_relaxed)) {
		c->prev = NULL;
		c->next = t->caches;
		if (c->next != NULL)
			c->next->prev = c;
		t->caches = c;
		atomic_store_explicit(&c->rt, rt, memory_order_relaxed);
	}
	pthread_mutex_unlock(&slots_lock);
	return slots_bound(rt);
}

/* The calling thread's cache for rt, bound now if need be; NULL when it
 * cannot have one (no memory, or rt is shutting down). */
static inline struct troupe__slot_cache *slots_of(troupe *rt)
{
	struct troupe__slot_cache *c = slots_bound(rt);
	return c != NULL ? c : slots_bind(rt);
}

/* A new incarnation's fields: PENDING, unclaimed, no value, no producer,
 * no waiter.  Relaxed stores: a reused slot is published by the release
 * store of its refs, a new object by the table's insert. */
static void obj_reset(struct troupe__obj *o)
{
	atomic_store_explicit(&o->state, TROUPE__PENDING, memory_order_relaxed);
	atomic_store_explicit(&o->claim, 0, memory_order_relaxed);
	o->err = TROUPE_OK;
	o->data = NULL;
	o->size = 0;
	o->free_fn = NULL;
	atomic_store_explicit(&o->task, NULL, memory_order_relaxed);
	atomic_store_explicit(&o->waiters, NULL, memory_order_relaxed);
}

/* Passes SLOT_BATCH of full cache c's slots to rt's depot; false when the
 * depot has no room (no memory, or closed).  Once a SLOT_BATCH: out of
 * line. */
static __attribute__((noinline)) bool slots_spill(troupe *rt,
						  struct troupe__slot_cache *c)
{
	struct troupe__objtab *t = &rt->objs;
	struct troupe__obj *head = c->head, *tail = head;
	for (unsigned i = 1; i < SLOT_BATCH; i++)
		tail = tail->retired_next;
	int64_t now = troupe__now_ns();
	pthread_mutex_lock(&t->depot_lock);
	unsigned n = atomic_load_explicit(&t->ndepot, memory_order_relaxed);
	bool room = !t->depot_closed;
	if (room && n == t->depot_cap) {
		unsigned cap = n > 0 ? 2 * n : DEPOT_KEEP;
		struct troupe__depot_entry *d =
			troupe__realloc(t->depot, cap * sizeof *d);
		room = d != NULL;
		if (room) {
			t->depot = d;
			t->depot_cap = cap;
		}
	}
	if (room) {
		c->head = tail->retired_next;
		c->n -= SLOT_BATCH;
		tail->retired_next = NULL;
		t->depot[n] = (struct troupe__depot_entry){head, now};
		atomic_store_explicit(&t->ndepot, n + 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&t->depot_lock);
	/* Past the batches it always keeps: a parked worker will see to the
	 * rest in time (sched.c, park). */
	if (room && n == DEPOT_KEEP)
		troupe__sched_watch_depot(rt);
	return room;
}

/* Under depot_lock, with n batches in the depot: takes out those beyond
 * `keep` that have sat at its bottom `age` ns or more (it is a stack:
 * those below the top were not touched since they came).  Returns the
 * depot's old array, whose first *nold entries they are (depot_drop frees
 * it), or NULL when there are none, or no memory for a new array (they
 * stay for another time).  Their objects are walked outside the lock. */
static struct troupe__depot_entry *depot_age(struct troupe__objtab *t,
					     unsigned n, unsigned keep,
					     int64_t age, unsigned *nold)
{
	int64_t now = troupe__now_ns();
	unsigned old = 0;
	while (n - old > keep && now - t->depot[old].since >= age)
		old++;
	if (old == 0)
		return NULL;
	struct troupe__depot_entry *rest =
		troupe__malloc(t->depot_cap * sizeof *rest);
	if (rest == NULL)
		return NULL;
	memcpy(rest, t->depot + old, (n - old) * sizeof *rest);
	struct troupe__depot_entry *aged = t->depot;
	t->depot = rest;
	atomic_store_explicit(&t->ndepot, n - old, memory_order_relaxed);
	*nold = old;
	return aged;
}

/* Takes the slots of depot_age's n batches out of the table, retires them
 * and frees the array. */
static void depot_drop(troupe *rt, struct troupe__depot_entry *aged, unsigned n)
{
	if (aged == NULL)
		return;
	for (unsigned i = 0; i < n; i++)
		retire_chain(rt, aged[i].chain, unlink_chain(rt, aged[i].chain),
			     SLOT_BATCH);
	troupe__free(aged);
}

int64_t troupe__objtab_depot_due(troupe *rt)
{
	struct troupe__objtab *t = &rt->objs;
	/* Relaxed: the lock decides; this only spares it. */
	if (atomic_load_explicit(&t->ndepot, memory_order_relaxed) <=
	    DEPOT_KEEP)
		return 0;
	int64_t due = 0;
	pthread_mutex_lock(&t->depot_lock);
	if (atomic_load_explicit(&t->ndepot, memory_order_relaxed) > DEPOT_KEEP)
		due = t->depot[0].since + DEPOT_AGE_NS;
	pthread_mutex_unlock(&t->depot_lock);
	return due;
}

/* Drops the depot's batches beyond keep that sat there age ns or more. */
static void depot_trim(troupe *rt, unsigned keep, int64_t age)
{
	struct troupe__objtab *t = &rt->objs;
	if (atomic_load_explicit(&t->ndepot, memory_order_relaxed) <= keep)
		return;
	unsigned nold = 0;
	pthread_mutex_lock(&t->depot_lock);
	struct troupe__depot_entry *aged = depot_age(
		t, atomic_load_explicit(&t->ndepot, memory_order_relaxed), keep,
		age, &nold);
	pthread_mutex_unlock(&t->depot_lock);
	depot_drop(rt, aged, nold);
}

void troupe__objtab_depot_trim(troupe *rt)
{
	depot_trim(rt, DEPOT_KEEP, DEPOT_AGE_NS);
}

void troupe__objtab_depot_empty(troupe *rt)
{
	depot_trim(rt, 0, 0);
}

/* Fills empty cache c with a batch from rt's depot; false when it has
 * none.  (The lock orders the batch's last uses before ours.)  Drops the
 * depot's aged batches on the way: outside any read-side section.  Once a
 * SLOT_BATCH: out of line. */
static __attribute__((noinline)) bool slots_refill(troupe *rt,
						   struct troupe__slot_cache *c)
{
	struct troupe__objtab *t = &rt->objs;
	if (atomic_load_explicit(&t->ndepot, memory_order_relaxed) == 0)
		return false;
	pthread_mutex_lock(&t->depot_lock);
	unsigned n = atomic_load_explicit(&t->ndepot, memory_order_relaxed);
	struct troupe__depot_entry *aged = NULL;
	unsigned nold = 0;
	if (n > 0) {
		c->head = t->depot[n - 1].chain;
		c->n = SLOT_BATCH;
		atomic_store_explicit(&t->ndepot, n - 1, memory_order_relaxed);
		if (n - 1 > DEPOT_KEEP)
			aged = depot_age(t, n - 1, DEPOT_KEEP, DEPOT_AGE_NS,
					 &nold);
	}
	pthread_mutex_unlock(&t->depot_lock);
	depot_drop(rt, aged, nold);
	return c->head != NULL;
}

/* Whether dead object o may become a slot: a value with a generation
 * left. */
static inline bool slot_fits(const struct troupe__obj *o)
{
	return o->kind == TROUPE__OBJ_VALUE &&
	       refs_gen(atomic_load_explicit(&o->refs, memory_order_relaxed)) <
		       SLOT_GEN_MAX;
}

/* Whether c, the calling thread's cache bound to rt (slots_of or
 * slots_bound), keeps dead value object o, passing a batch to the depot to
 * make room if need be; if not, o leaves the table. */
static bool slots_keep(troupe *rt, struct troupe__slot_cache *c,
		       struct troupe__obj *o)
{
	return c != NULL && slot_fits(o) &&
	       (c->n < SLOT_CACHE || slots_spill(rt, c));
}

static void slots_put(struct troupe__slot_cache *c, struct troupe__obj *o)
{
	o->retired_next = c->head;
	c->head = o;
	c->n++;
}

/* Makes a new PENDING object in the slot at the head of c, the calling
 * thread's cache bound to the runtime. */
static inline struct troupe__obj *slot_reuse(struct troupe__slot_cache *c,
					     unsigned internal)
{
	struct troupe__obj *o = c->head;
	c->head = o->retired_next;
	c->n--;
	uint64_t cgen =
		atomic_load_explicit(&reclaim_gen, memory_order_relaxed);
	uint64_t gen =
		refs_gen(atomic_load_explicit(&o->refs, memory_order_relaxed)) +
		1;
	uint64_t id = (atomic_load_explicit(&o->id, memory_order_relaxed) &
		       TROUPE__ID_KEY_MASK) |
		      gen << TROUPE__ID_GEN_SHIFT;
	obj_reset(o);
	atomic_store_explicit(&o->id, id, memory_order_relaxed);
	troupe__tsan_release(o);
	/* Release: whoever sees the new generation sees the fields above. */
	atomic_store_explicit(&o->refs,
			      gen << TROUPE__REFS_GEN_SHIFT | TROUPE__USER_REF |
				      internal,
			      memory_order_release);
	/* The thread's lookup cache was made when its slot cache was bound
	 * (slots_bind): no allocation here, so no stack frame. */
	cache_put(o, id, cgen);
	return o;
}

void troupe__objtab_thread_exit(void)
{
	troupe__free(lookup_cache);
	lookup_cache = NULL;
	struct troupe__slot_cache *c = slot_cache;
	if (c != NULL) {
		pthread_mutex_lock(&slots_lock);
		slots_unbind_locked(c);
		pthread_mutex_unlock(&slots_lock);
		troupe__free(c);
		slot_cache = NULL;
	}
}

/* troupe__obj_new when the thread's cache has no slot at hand: a batch
 * from the depot, else a new object in the table. */
static __attribute__((noinline)) struct troupe__obj *
obj_new_slow(troupe *rt, unsigned internal)
{
	struct troupe__slot_cache *c = slots_bound(rt);
	/* A thread that has only made objects so far binds its cache once
	 * the depot has slots for it (outside any section: obj_new is). */
	if (c == NULL &&
	    atomic_load_explicit(&rt->objs.ndepot, memory_order_relaxed) > 0)
		c = slots_bind(rt);
	if (c != NULL && (c->head != NULL || slots_refill(rt, c)))
		return slot_reuse(c, internal);
	struct troupe__obj *o = troupe__malloc(sizeof *o);
	if (o != NULL)
		troupe__obj_insert(rt, o, TROUPE__OBJ_VALUE, internal);
	return o;
}

struct troupe__obj *troupe__obj_new(troupe *rt, unsigned internal)
{
	/* A slot at hand: no call, so no stack frame. */
	struct troupe__slot_cache *c = slots_bound(rt);
	if (c != NULL && c->head != NULL)
		return slot_reuse(c, internal);
	return obj_new_slow(rt, internal);
}

void troupe__obj_insert(troupe *rt, struct troupe__obj *o, uint8_t kind,
			unsigned internal)
{
	struct troupe__objtab *t = &rt->objs;
	/* Any gen will do: nobody else can release o before we return. */
	uint64_t gen = atomic_load_explicit(&reclaim_gen, memory_order_relaxed);
	cds_lfht_node_init(&o->node);
	o->kind = kind;
	atomic_init(&o->refs, TROUPE__USER_REF + internal);
	obj_reset(o);
	/* The table publishes the node with a release (rcu_assign_pointer):
	 * a reader that finds it sees the fields above. */
	troupe__tsan_release(o);
	troupe__rcu_lock();
	uint64_t seq, id;
	for (;;) {
		seq = take_seq(t);
		uint64_t low = seq & (((uint64_t)1 << TROUPE__ID_SEQ_BITS) - 1);
		if (low == 0)
			continue; /* keeps id 0 out, also after a wrap */
		id = t->tag | low;
		atomic_store_explicit(&o->id, id, memory_order_relaxed);
		if (seq == low) {
			cds_lfht_add(t->ht, id_hash(id), &o->node);
			break;
		}
		/* The sequence wrapped (after 2^40 objects): skip ids still
		 * in use. */
		if (cds_lfht_add_unique(t->ht, id_hash(id), match_key, &id,
					&o->node) == &o->node)
			break;
	}
	troupe__rcu_unlock();
	cache_fill(o, id, gen);
	if ((seq & (GROW_CHECK - 1)) == 0)
		grow_check(rt, seq);
}

troupe_err troupe__obj_lookup(troupe *rt, troupe_ref ref,
			      struct troupe__obj **out)
{
	troupe_err err = troupe__obj_lookup_any(rt, ref.id, out);
	if (err == TROUPE_OK && (*out)->kind != TROUPE__OBJ_VALUE)
		return TROUPE_ESTALE; /* an actor's id is no ref */
	return err;
}

static troupe_err lookup_table(struct troupe__objtab *t, uint64_t id,
			       uint64_t gen, struct troupe__obj **out);

troupe_err troupe__obj_lookup_any(troupe *rt, uint64_t id,
				  struct troupe__obj **out)
{
	struct troupe__objtab *t = &rt->objs;

	if (id == 0)
		return TROUPE_EINVAL;
	if ((id & TROUPE__ID_KEY_MASK &
	     ~(((uint64_t)1 << TROUPE__ID_SEQ_BITS) - 1)) != t->tag ||
	    (id >> TROUPE__ID_GEN_SHIFT) > 0xff)
		return TROUPE_EFOREIGN;
	/* Acquire: an entry is trusted only if no bump since it was written
	 * (see lookup_cache); reading the bump that freed it would tell. */
	uint64_t gen = atomic_load_explicit(&reclaim_gen, memory_order_acquire);
	struct cache_entry *e =
		lookup_cache != NULL ? &lookup_cache[id % LOOKUP_CACHE] : NULL;
	/* The refs loads catch use after release (a caller racing its own
	 * release is outside the contract).  Acquire: pairs with slot_reuse's
	 * release, so a caller that learnt a reused slot's new id without
	 * synchronizing with its maker still sees its fields reset. */
	if (e != NULL && e->id == id && e->gen == gen &&
	    refs_name(atomic_load_explicit(&e->o->refs, memory_order_acquire),
		      id)) {
		troupe__tsan_acquire(e->o); /* as for the table's pointer */
		*out = e->o;
		return TROUPE_OK;
	}
	return lookup_table(t, id, gen, out);
}

/* troupe__obj_lookup_any past the thread's cache.  Out of line, so that a
 * hit (most lookups) needs no stack frame: with the table's call inlined,
 * every lookup saved and restored six registers for it. */
static __attribute__((noinline)) troupe_err
lookup_table(struct troupe__objtab *t, uint64_t id, uint64_t gen,
	     struct troupe__obj **out)
{
	struct cds_lfht_iter it;
	uint64_t key = id & TROUPE__ID_KEY_MASK;
	cds_lfht_lookup(t->ht, id_hash(key), match_key, &key, &it);
	struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
	if (n == NULL)
		return TROUPE_ESTALE;
	struct troupe__obj *o = caa_container_of(n, struct troupe__obj, node);
	troupe__tsan_acquire(o); /* rcu_dereference in the lookup */
	if (!refs_name(atomic_load_explicit(&o->refs, memory_order_acquire),
		       id))
		return TROUPE_ESTALE;
	cache_fill(o, id, gen);
	*out = o;
	return TROUPE_OK;
}

troupe_err troupe__obj_ref_id(struct troupe__obj *o, uint64_t id)
{
	return add_ref(o, id, 1);
}

void troupe__obj_ref(struct troupe__obj *o)
{
	/* Relaxed: the caller already holds a ref, so the count cannot be
	 * racing to zero; like any refcount increment. */
	atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed);
}

/* Takes o out of the table; inside a read-side section. */
static void unlink_obj(troupe *rt, struct troupe__obj *o)
{
	int r = cds_lfht_del(rt->objs.ht, &o->node);
	assert(r == 0);
	(void)r;
}

/* Takes a chain of slots (head on, through retired_next) out of the table,
 * in one read-side section; returns its tail, for retire_chain. */
static struct troupe__obj *unlink_chain(troupe *rt, struct troupe__obj *head)
{
	struct troupe__obj *tail = head;
	troupe__rcu_lock();
	for (;; tail = tail->retired_next) {
		unlink_obj(rt, tail);
		if (tail->retired_next == NULL)
			break;
	}
	troupe__rcu_unlock();
	return tail;
}

/* After a batch of deletes: the table's size follows its count down too.
 * Checked on inserts only, a table emptied after a burst kept the peak's
 * buckets until the next burst, and every sweep of it walked them all
 * (measured: shutdown after 1M tasks made and released took 2.0 s, after
 * 4M 8.3 s).  Like an insert's check, on a worker this resizes in
 * place: no caller is inside a read-side section (a batch may wait for a
 * grace period here anyway). */
static void shrink_check(troupe *rt)
{
	grow_check(rt, atomic_load_explicit(&rt->objs.next_seq,
					    memory_order_relaxed));
}

bool troupe__objtab_flush_worker(troupe *rt, struct troupe__worker *w)
{
	struct troupe__obj *list = w->retired;
	if (list == NULL)
		return false;
	atomic_fetch_add_explicit(&rt->objs.removed,
				  atomic_load_explicit(&w->nretired,
						       memory_order_relaxed),
				  memory_order_relaxed);
	atomic_store_explicit(&w->nretired, 0, memory_order_relaxed);
	w->retired = NULL;
	reclaim_list(list);
	shrink_check(rt);
	return true;
}

/* Puts a chain of n objects out of the table (head to tail) on the
 * runtime's shared retired list; whoever brings that to a batch takes it. */
static void retire_chain(troupe *rt, struct troupe__obj *head,
			 struct troupe__obj *tail, unsigned n)
{
	struct troupe__objtab *t = &rt->objs;
	struct troupe__obj *old =
		atomic_load_explicit(&t->retired, memory_order_relaxed);
	do
		tail->retired_next = old;
	while (!atomic_compare_exchange_weak_explicit(&t->retired, &old, head,
						      memory_order_release,
						      memory_order_relaxed));
	unsigned total = atomic_fetch_add_explicit(&t->nretired, n,
						   memory_order_relaxed) +
			 n;
	/* Whoever takes a batch's worth off the count takes the list (which
	 * may hold a few more, or fewer, objects that raced: harmless).  No
	 * retirement is lost from the count: removed + nretired is the
	 * number taken out of the table, which grow_check relies on. */
	do
		if (total < RECLAIM_BATCH)
			return;
	while (!atomic_compare_exchange_weak_explicit(
		&t->nretired, &total, total - RECLAIM_BATCH,
		memory_order_relaxed, memory_order_relaxed));
	atomic_fetch_add_explicit(&t->removed, RECLAIM_BATCH,
				  memory_order_relaxed);
	/* Acquire: pairs with the release pushes, so each object's fields are
	 * visible before it is freed. */
	struct troupe__obj *list =
		atomic_exchange_explicit(&t->retired, NULL,
					 memory_order_acquire);
	/* (Workers keep lists of their own, see retire_unlinked.)  This
	 * application thread hands the batch to the pool, so its release
	 * never stalls for a grace period; once shutdown has begun it waits
	 * for it here. */
	struct reclaim_job *j =
		troupe__stopping(rt) ? NULL : troupe__malloc(sizeof *j);
	if (j != NULL) {
		j->job.kind = TROUPE__JOB_RECLAIM;
		j->list = list;
		troupe__sched_push(rt, &j->job);
	} else {
		reclaim_list(list);
	}
	shrink_check(rt);
}

/* o is out of the table: frees it after a grace period (batched).
 *
 * A worker keeps a list of its own, freed a batch at a time and when it
 * goes idle (troupe__objtab_flush_worker, from run_loop): no shared line
 * per object.  (perf, fib(30) with a task per call: the push onto the
 * shared list and its count made this function 5.7% of all samples.)
 * Application threads share the runtime's list. */
static void retire_unlinked(troupe *rt, struct troupe__obj *o)
{
	struct troupe__worker *w = troupe__sched_self(rt);
	if (w != NULL) {
		o->retired_next = w->retired;
		w->retired = o;
		/* Only this thread writes the count: no read-modify-write. */
		unsigned n = atomic_load_explicit(&w->nretired,
						  memory_order_relaxed) +
			     1;
		atomic_store_explicit(&w->nretired, n, memory_order_relaxed);
		if (n >= RECLAIM_BATCH)
			troupe__objtab_flush_worker(rt, w);
		return;
	}
	o->retired_next = NULL;
	retire_chain(rt, o, o, 1);
}

void troupe__obj_retire(troupe *rt, struct troupe__obj *o)
{
	troupe__rcu_lock();
	unlink_obj(rt, o);
	troupe__rcu_unlock();
	retire_unlinked(rt, o);
}

void troupe__objtab_reclaim_job(troupe *rt, struct troupe__job *job)
{
	(void)rt;
	struct reclaim_job *j = caa_container_of(job, struct reclaim_job, job);
	reclaim_list(j->list);
	troupe__free(j);
}

/* A value object's bytes go as soon as nobody references it (a large
 * value's block to be kept for the next one). */
static void drop_value(troupe *rt, struct troupe__obj *o)
{
	if (o->free_fn == troupe__big_drop)
		troupe__big_keep(rt, (void *)o->data);
	else if (o->free_fn != NULL)
		o->free_fn((void *)o->data);
	o->free_fn = NULL;
}

static void destroy_slow(troupe *rt, struct troupe__obj *o);

static void destroy(troupe *rt, struct troupe__obj *o)
{
	/* The common case first, with no call and so no stack frame: a value
	 * without bytes of its own, kept in the thread's bound cache. */
	struct troupe__slot_cache *c = slots_bound(rt);
	if (c != NULL && c->n < SLOT_CACHE && o->free_fn == NULL &&
	    slot_fits(o)) {
		slots_put(c, o);
		return;
	}
	destroy_slow(rt, o);
}

static __attribute__((noinline)) void destroy_slow(troupe *rt,
						   struct troupe__obj *o)
{
	/* Nobody references o any more: no waiter can be on it (a waiter
	 * holds a ref), and its producer is gone.  Its value goes at once —
	 * only a holder of a ref may read it, and none is left; lookups that
	 * still find the node read its header, which waits for a grace
	 * period. */
	if (o->kind == TROUPE__OBJ_ACTOR) {
		troupe__actor_destroy(rt, o); /* retires it when done */
		return;
	}
	drop_value(rt, o);
	struct troupe__slot_cache *c = slots_of(rt);
	if (slots_keep(rt, c, o))
		slots_put(c, o);
	else
		troupe__obj_retire(rt, o);
}

void troupe__obj_unref(troupe *rt, struct troupe__obj *o)
{
	/* Release on the way down, acquire for the last one: whoever frees
	 * sees every other holder's writes (the usual refcount pattern). */
	if ((atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) &
	     REFS_COUNT_MASK) == 1)
		destroy(rt, o);
}

/* Drops one user ref of o, of the object id names (id 0: whichever is in
 * the slot), and with it `runtime` runtime refs the caller holds; *last
 * when those were o's last refs of any kind.  Acq_rel, as any refcount:
 * the last one out sees every other holder's writes. */
static troupe_err drop_refs(struct troupe__obj *o, uint64_t id,
			    uint64_t runtime, bool *last)
{
	uint64_t r = atomic_load_explicit(&o->refs, memory_order_relaxed);
	do {
		if (!refs_hold(r, id))
			return TROUPE_ESTALE;
	} while (!atomic_compare_exchange_weak_explicit(
		&o->refs, &r, r - TROUPE__USER_REF - runtime,
		memory_order_acq_rel, memory_order_relaxed));
	*last = (r & REFS_COUNT_MASK) == TROUPE__USER_REF + runtime;
	return TROUPE_OK;
}

/* Looks up a handle of the given kind for retain/release. */
static troupe_err handle_lookup(troupe *rt, uint64_t id, uint8_t kind,
				struct troupe__obj **o)
{
	troupe_err err = troupe__obj_lookup_any(rt, id, o);
	if (err == TROUPE_OK && (*o)->kind != kind)
		return TROUPE_ESTALE;
	return err;
}

troupe_err troupe__handle_retain(troupe *rt, uint64_t id, uint8_t kind)
{
	struct troupe__obj *o;
	if (rt == NULL)
		return TROUPE_EINVAL;
	if (troupe__closed(rt))
		return TROUPE_ESHUTDOWN;
	troupe__thread_enter();
	troupe__rcu_lock();
	troupe_err err = handle_lookup(rt, id, kind, &o);
	if (err == TROUPE_OK)
		err = add_ref(o, id, TROUPE__USER_REF);
	troupe__rcu_unlock();
	return err;
}

/* ------------------------------------------------------------ kept refs */

static void kept_push(struct troupe__slot_cache *c, struct troupe__obj *o,
		      uint64_t id)
{
	c->kept[troupe__kept_n++] = (struct kept){id, o};
}

/* Empties k, one of c's entries; when it was on top, pops the holes it
 * uncovers too (down to the body's floor). */
static void kept_clear(struct troupe__slot_cache *c, struct kept *k)
{
	k->o = NULL;
	if (k != &c->kept[troupe__kept_n - 1])
		return;
	do
		troupe__kept_n--;
	while (troupe__kept_n > troupe__kept_base &&
	       c->kept[troupe__kept_n - 1].o == NULL);
}

struct troupe__obj *troupe__obj_new_in_body(troupe *rt)
{
	struct troupe__slot_cache *c = slots_bound(rt);
	if (c == NULL || troupe__kept_n == KEPT)
		return troupe__obj_new(rt, 1);
	/* Made with the kept ref; making it leaves c bound (it binds only a
	 * thread whose cache is not). */
	struct troupe__obj *o = c->head != NULL ? slot_reuse(c, 2) :
						  obj_new_slow(rt, 2);
	if (o != NULL)
		kept_push(c, o,
			  atomic_load_explicit(&o->id, memory_order_relaxed));
	return o;
}

/* Drops the kept refs of the running body (all, outside bodies); with rt
 * NULL (unbound by shutdown) only forgets them. */
static void kept_drop(troupe *rt, struct troupe__slot_cache *c)
{
	while (troupe__kept_n > troupe__kept_base) {
		struct troupe__obj *o = c->kept[--troupe__kept_n].o;
		if (o != NULL && rt != NULL)
			troupe__obj_unref(rt, o);
	}
}

/* troupe__obj_keep when the stack is full or o may not be kept.  Out of
 * line, so that a keep with room needs no stack frame. */
static __attribute__((noinline)) void keep_slow(troupe *rt,
						struct troupe__slot_cache *c,
						struct troupe__obj *o,
						uint64_t id)
{
	/* Only a resolved value that is its own few bytes: a kept ref must
	 * not hold a buffer its last release would have freed. */
	if (c == NULL || !troupe__obj_done(o) || o->free_fn != NULL) {
		troupe__obj_unref(rt, o);
		return;
	}
	/* Full of refs nobody came back for (released on other threads,
	 * say): they go, rather than keeping stops for good. */
	kept_drop(rt, c);
	if (troupe__kept_n == KEPT) {
		troupe__obj_unref(rt, o);
		return;
	}
	kept_push(c, o, id);
}

void troupe__obj_keep(troupe *rt, struct troupe__obj *o, uint64_t id)
{
	struct troupe__slot_cache *c = slots_bound(rt);
	if (c != NULL && troupe__kept_n < KEPT && troupe__obj_done(o) &&
	    o->free_fn == NULL)
		kept_push(c, o, id);
	else
		keep_slow(rt, c, o, id);
}

/* The entry for id among the top few of c's, or NULL. */
static struct kept *kept_find(struct troupe__slot_cache *c, uint64_t id)
{
	/* A hole's id is left as it was: its o tells. */
	struct kept *low =
		c->kept +
		(troupe__kept_n > KEPT_LOOK ? troupe__kept_n - KEPT_LOOK : 0);
	for (struct kept *k = c->kept + troupe__kept_n; k-- > low;)
		if (k->id == id)
			return k->o != NULL ? k : NULL;
	return NULL;
}

/* The calling thread's entry keeping id live, or NULL. */
static inline struct kept *kept_live(troupe *rt, uint64_t id)
{
	struct troupe__slot_cache *c = slots_bound(rt);
	struct kept *k = c != NULL ? kept_find(c, id) : NULL;
	/* The kept ref holds the slot to id's generation; whether the caller
	 * still holds a ref is for the table path to say (ESTALE).  Acquire,
	 * as a lookup: the caller may have learnt id from another thread. */
	if (k == NULL ||
	    !refs_name(atomic_load_explicit(&k->o->refs, memory_order_acquire),
		       id))
		return NULL;
	return k;
}

bool troupe__kept_find(troupe *rt, uint64_t id, struct troupe__obj **out,
		       unsigned *at)
{
	struct kept *k = kept_live(rt, id);
	if (k == NULL)
		return false;
	*out = k->o;
	*at = (unsigned)(k - slot_cache->kept);
	return true;
}

bool troupe__kept_take(troupe *rt, uint64_t id, struct troupe__obj **out)
{
	struct kept *k = kept_live(rt, id);
	if (k == NULL)
		return false;
	*out = k->o;
	kept_clear(slot_cache, k);
	return true;
}

bool troupe__kept_still(unsigned at, uint64_t id, const struct troupe__obj *o)
{
	/* Any entry there for id and o is a ref on o that the thread keeps
	 * (ids name one runtime's objects): the one found, or one put back
	 * in its place. */
	struct troupe__slot_cache *c = slot_cache;
	return at < troupe__kept_n && c->kept[at].o == o &&
	       c->kept[at].id == id;
}

void troupe__kept_unkeep(troupe *rt, unsigned at)
{
	struct troupe__slot_cache *c = slot_cache;
	struct troupe__obj *o = c->kept[at].o;
	kept_clear(c, &c->kept[at]);
	troupe__obj_unref(rt, o);
}

void troupe__kept_drop_body(void)
{
	/* The entries are of whatever runtime the thread's cache is bound to
	 * now (a body may have turned the thread to another); none once
	 * shutdown unbound it: then the table frees their objects. */
	struct troupe__slot_cache *c = slot_cache;
	kept_drop(atomic_load_explicit(&c->rt, memory_order_relaxed), c);
}

/* troupe__handle_release past the thread's kept refs: the table's lookup.
 * Out of line, so that a release of a kept id (most releases in bodies)
 * needs no stack frame. */
static __attribute__((noinline)) troupe_err
release_found(troupe *rt, struct troupe__slot_cache *c, uint64_t id,
	      uint8_t kind)
{
	struct troupe__obj *o;
	troupe__rcu_lock();
	troupe_err err = handle_lookup(rt, id, kind, &o);
	if (err != TROUPE_OK || kind != TROUPE__OBJ_VALUE) {
		troupe__rcu_unlock();
		/* The caller's handle keeps o alive outside the section; an
		 * actor's last release runs its teardown, so it comes after. */
		if (err == TROUPE_OK)
			err = troupe__obj_release_user(rt, o);
		return err;
	}
	/* A value: the last release keeps its slot for reuse, or takes it
	 * out of the table in this same section (its memory waits for a
	 * grace period after it). */
	bool last = false;
	err = drop_refs(o, id, 0, &last);
	bool keep = last && slots_keep(rt, c, o);
	if (last && !keep)
		unlink_obj(rt, o);
	troupe__rcu_unlock();
	if (last) {
		drop_value(rt, o);
		if (keep) {
			slots_put(c, o);
		} else {
			retire_unlinked(rt, o);
			if (c == NULL)
				(void)slots_of(rt); /* keeps the next one */
		}
	}
	return err;
}

troupe_err troupe__handle_release(troupe *rt, uint64_t id, uint8_t kind)
{
	if (rt == NULL)
		return TROUPE_EINVAL;
	if (troupe__closed(rt))
		return TROUPE_ESHUTDOWN;
	troupe__thread_enter();
	/* The thread's cache if it is bound to rt already: binding takes a
	 * lock, so not in the section (release_found binds it after). */
	struct troupe__slot_cache *c = slots_bound(rt);
	struct kept *k;
	if (troupe__kept_n != 0 && c != NULL && kind == TROUPE__OBJ_VALUE &&
	    (k = kept_find(c, id)) != NULL) {
		/* The thread keeps a runtime ref for id: both refs go in one
		 * step, and the kept ref is what keeps o in place meanwhile,
		 * so no lookup and no read-side section. */
		struct troupe__obj *o = k->o;
		kept_clear(c, k);
		return troupe__obj_unref_release(rt, o, id);
	}
	return release_found(rt, c, id, kind);
}

troupe_err troupe__obj_retain_user(struct troupe__obj *o)
{
	return add_ref(o, 0, TROUPE__USER_REF);
}

troupe_err troupe__obj_retain_id(struct troupe__obj *o, uint64_t id)
{
	return add_ref(o, id, TROUPE__USER_REF);
}

troupe_err troupe__obj_release_user(troupe *rt, struct troupe__obj *o)
{
	return troupe__obj_release_id(rt, o, 0);
}

troupe_err troupe__obj_release_id(troupe *rt, struct troupe__obj *o,
				  uint64_t id)
{
	bool last = false;
	troupe_err err = drop_refs(o, id, 0, &last);
	if (last)
		destroy(rt, o);
	return err;
}

troupe_err troupe__obj_drop_user(struct troupe__obj *o, uint64_t id, bool *last)
{
	return drop_refs(o, id, 0, last);
}

void troupe__obj_destroy(troupe *rt, struct troupe__obj *o)
{
	destroy(rt, o);
}

troupe_err troupe__obj_unref_release(troupe *rt, struct troupe__obj *o,
				     uint64_t id)
{
	/* Our runtime ref keeps o this object (same generation) throughout;
	 * the check is for the user ref, which a caller racing its own
	 * release may have taken already: then only ours goes. */
	bool last = false;
	troupe_err err = drop_refs(o, id, 1, &last);
	if (err != TROUPE_OK)
		troupe__obj_unref(rt, o);
	else if (last)
		destroy(rt, o);
	return err;
}

/* ---------------------------------------------------------- resolution */

/* Wakes o's waiters after its state became final.
 *
 * The race with troupe__waiter_add is a store-buffering one: the resolver
 * stores the state then loads the list head; a waiter stores itself on the
 * list then loads the state.  With both pairs seq_cst, at least one side
 * sees the other, so no waiter sleeps through its object's resolution. */
static void wake_all(troupe *rt, struct troupe__obj *o)
{
	pthread_mutex_t *m = stripe_of(&rt->objs, o);

	if (atomic_load_explicit(&o->waiters, memory_order_seq_cst) == NULL)
		return;
	pthread_mutex_lock(m);
	/* Relaxed under the lock: the lock orders list changes. */
	struct troupe__waiter *list =
		atomic_load_explicit(&o->waiters, memory_order_relaxed);
	atomic_store_explicit(&o->waiters, NULL, memory_order_relaxed);
	for (struct troupe__waiter *w = list; w != NULL; w = w->next)
		w->linked = false;
	pthread_mutex_unlock(m);
	while (list != NULL) {
		/* Read next first: wake may free w, or let its owner go. */
		struct troupe__waiter *next = list->next;
		list->wake(rt, list, o);
		list = next;
	}
}

static bool begin_resolve(struct troupe__obj *o)
{
	uint32_t expect = TROUPE__PENDING;
	/* Relaxed is enough to pick the one winner; the fields it then
	 * writes are published by the release store in finish_resolve. */
	return atomic_compare_exchange_strong_explicit(
		&o->state, &expect, TROUPE__RESOLVING, memory_order_relaxed,
		memory_order_relaxed);
}

static void finish_resolve(troupe *rt, struct troupe__obj *o, uint32_t state)
{
	/* Seq_cst: a release for readers of the fields, and the first half of
	 * the store-buffering handshake in wake_all. */
	atomic_store_explicit(&o->state, state, memory_order_seq_cst);
	wake_all(rt, o);
}

bool troupe__obj_resolve_value(troupe *rt, struct troupe__obj *o,
			       const void *data, size_t size,
			       troupe_free_fn free_fn)
{
	if (!begin_resolve(o)) {
		if (free_fn != NULL)
			free_fn((void *)data);
		return false;
	}
	if (free_fn != NULL) {
		o->data = data;
		o->free_fn = free_fn;
	} else if (size <= sizeof o->inl) {
		if (size == sizeof o->inl)
			memcpy(o->inl, data, sizeof o->inl); /* a move */
		else if (size > 0)
			memcpy(o->inl, data, size);
		o->data = o->inl;
	} else {
		void *copy = troupe__value_copy(rt, data, size, &o->free_fn);
		if (copy == NULL) {
			o->err = TROUPE_ENOMEM;
			o->data = "out of memory storing a value";
			o->size = strlen(o->data) + 1;
			finish_resolve(rt, o, TROUPE__ERROR);
			return true;
		}
		o->data = copy;
	}
	o->size = size;
	finish_resolve(rt, o, TROUPE__READY);
	return true;
}

/* An error's text: msg (NULL for troupe_strerror's), freed with free_fn
 * when the object goes (NULL: a string that outlives it). */
static bool resolve_error(troupe *rt, struct troupe__obj *o, troupe_err err,
			  const char *msg, troupe_free_fn free_fn)
{
	if (!begin_resolve(o)) {
		if (free_fn != NULL)
			free_fn((void *)msg);
		return false;
	}
	o->err = err;
	o->data = msg != NULL ? msg : troupe_strerror(err);
	o->size = strlen(o->data) + 1;
	o->free_fn = free_fn;
	finish_resolve(rt, o, TROUPE__ERROR);
	return true;
}

bool troupe__obj_resolve_error(troupe *rt, struct troupe__obj *o,
			       troupe_err err, char *msg)
{
	return resolve_error(rt, o, err, msg,
			     msg != NULL ? troupe__free : NULL);
}

bool troupe__obj_resolve_error_static(troupe *rt, struct troupe__obj *o,
				      troupe_err err, const char *msg)
{
	return resolve_error(rt, o, err, msg, NULL);
}

bool troupe__waiter_add(troupe *rt, struct troupe__obj *o,
			struct troupe__waiter *w)
{
	pthread_mutex_t *m = stripe_of(&rt->objs, o);

	if (troupe__obj_done(o))
		return false;
	pthread_mutex_lock(m);
	w->prev = NULL;
	w->next = atomic_load_explicit(&o->waiters, memory_order_relaxed);
	if (w->next != NULL)
		w->next->prev = w;
	w->linked = true;
	/* Seq_cst: the second half of the handshake (see wake_all). */
	atomic_store_explicit(&o->waiters, w, memory_order_seq_cst);
	if (atomic_load_explicit(&o->state, memory_order_seq_cst) >=
	    TROUPE__READY) {
		/* Resolved meanwhile; its resolver may or may not have seen
		 * us.  Under the lock, take ourselves off again: whatever it
		 * detaches later will not include us. */
		atomic_store_explicit(&o->waiters, w->next,
				      memory_order_relaxed);
		if (w->next != NULL)
			w->next->prev = NULL;
		w->linked = false;
		pthread_mutex_unlock(m);
		return false;
	}
	pthread_mutex_unlock(m);
	return true;
}

bool troupe__waiter_remove(troupe *rt, struct troupe__obj *o,
			   struct troupe__waiter *w)
{
	pthread_mutex_t *m = stripe_of(&rt->objs, o);

	pthread_mutex_lock(m);
	bool was = w->linked;
	if (was) {
		if (w->prev != NULL)
			w->prev->next = w->next;
		else
			atomic_store_explicit(&o->waiters, w->next,
					      memory_order_relaxed);
		if (w->next != NULL)
			w->next->prev = w->prev;
		w->linked = false;
	}
	pthread_mutex_unlock(m);
	return was;
}

bool troupe__obj_try_ref(struct troupe__obj *o)
{
	uint64_t r = atomic_load_explicit(&o->refs, memory_order_relaxed);
	do {
		if ((r & REFS_COUNT_MASK) == 0)
			return false;
	} while (!atomic_compare_exchange_weak_explicit(&o->refs, &r, r + 1,
							memory_order_acquire,
							memory_order_relaxed));
	return true;
}

size_t troupe__objtab_resolve_all(troupe *rt)
{
	struct cds_lfht_iter it;
	struct troupe__obj *o, *extra = NULL;
	size_t n = 0, cap = 256;
	struct troupe__obj **pending = troupe__malloc(cap * sizeof *pending);
	if (pending == NULL)
		return 0;

	/* Collect first, resolve outside the read-side section: resolving
	 * runs callbacks, which may release refs, which may wait for a grace
	 * period. */
	troupe__rcu_lock();
	cds_lfht_for_each_entry(rt->objs.ht, &it, o, node)
	{
		if (o->kind != TROUPE__OBJ_VALUE || troupe__obj_done(o) ||
		    !troupe__obj_try_ref(o))
			continue;
		if (n == cap) {
			struct troupe__obj **g =
				troupe__realloc(pending, 2 * cap * sizeof *g);
			if (g == NULL) {
				/* Resolve what we have; the next pass (the
				 * caller repeats until none is pending) gets
				 * the rest.  o's ref is dropped after the
				 * read-side section, with the others. */
				extra = o;
				break;
			}
			pending = g;
			cap *= 2;
		}
		pending[n++] = o;
	}
	troupe__rcu_unlock();
	if (extra != NULL)
		troupe__obj_unref(rt, extra);
	for (size_t i = 0; i < n; i++) {
		troupe__obj_resolve_error_static(rt, pending[i],
						 TROUPE_ESHUTDOWN,
						 "the runtime shut down before "
						 "this object was ready");
		troupe__obj_unref(rt, pending[i]);
	}
	troupe__free(pending);
	return n;
}

char *troupe__vformat(const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return NULL;
	char *s = troupe__malloc((size_t)n + 1);
	if (s != NULL)
		vsnprintf(s, (size_t)n + 1, fmt, ap);
	return s;
}

char *troupe__format(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = troupe__vformat(fmt, ap);
	va_end(ap);
	return s;
}
