/*
 * Module test for the object table (lib/objtab.h): ids and lookup, the
 * split between the caller's and the runtime's references, resolving
 * exactly once (and freeing what a losing resolver gave), waiter lists, and
 * a race between resolvers and waiters in which every waiter that was added
 * is woken exactly once.
 *
 * Usage: test_objtab [seed]   (default: time-based; printed)
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "internal.h"
#include "objtab.h"
#include "rcu.h"
#include "test_util.h"

static uint64_t seed;

static int setup(void **state)
{
	troupe *rt;
	troupe_config cfg = {.num_workers = 2};
	if (troupe_init(&rt, &cfg) != TROUPE_OK)
		return -1;
	troupe__thread_enter();
	*state = rt;
	return 0;
}

static int teardown(void **state)
{
	return troupe_shutdown(*state) == TROUPE_OK ? 0 : -1;
}

static troupe_err lookup(troupe *rt, uint64_t id, struct troupe__obj **o)
{
	troupe__rcu_lock();
	troupe_err e = troupe__obj_lookup(rt, (troupe_ref){id}, o);
	troupe__rcu_unlock();
	return e;
}

/* Frees counted: owned buffers handed to the table. */
static atomic_int frees;
static void count_free(void *p)
{
	atomic_fetch_add(&frees, 1);
	free(p);
}

struct test_waiter {
	struct troupe__waiter w;
	atomic_int woke;
	atomic_int state_at_wake;
	struct troupe__obj *seen;
};

static void test_wake(troupe *rt, struct troupe__waiter *w,
		      struct troupe__obj *o)
{
	(void)rt;
	struct test_waiter *t = (struct test_waiter *)w;
	t->seen = o;
	atomic_store(&t->state_at_wake, (int)troupe__obj_state(o));
	atomic_fetch_add(&t->woke, 1);
}

static void init_waiter(struct test_waiter *t)
{
	memset(t, 0, sizeof *t);
	t->w.wake = test_wake;
}

/* ----------------------------------------------------------- cases */

static void ids_and_lookup(void **state)
{
	troupe *rt = *state;
	struct troupe__obj *a = troupe__obj_new(rt, 0);
	struct troupe__obj *b = troupe__obj_new(rt, 0);
	assert_non_null(a);
	assert_non_null(b);
	assert_true(a->id != 0 && b->id != 0 && a->id != b->id);
	/* Both carry this runtime's tag in bits 40..51, none in the node
	 * bits. */
	uint64_t tag = (a->id & TROUPE__ID_KEY_MASK) >> TROUPE__ID_TAG_SHIFT;
	assert_int_equal(tag,
			 (b->id & TROUPE__ID_KEY_MASK) >> TROUPE__ID_TAG_SHIFT);
	assert_true(tag != 0 && tag < 4096);
	assert_int_equal(troupe__obj_state(a), TROUPE__PENDING);
	assert_false(troupe__obj_done(a));

	struct troupe__obj *o = NULL;
	assert_int_equal(lookup(rt, a->id, &o), TROUPE_OK);
	assert_ptr_equal(o, a);
	assert_int_equal(lookup(rt, b->id, &o), TROUPE_OK);
	assert_ptr_equal(o, b);
	o = NULL;
	assert_int_equal(lookup(rt, 0, &o), TROUPE_EINVAL);
	assert_int_equal(lookup(rt, b->id + 1000, &o), TROUPE_ESTALE);
	assert_null(o);

	/* Another runtime's ids are foreign here, and vice versa. */
	troupe *rt2;
	assert_int_equal(troupe_init(&rt2, NULL), TROUPE_OK);
	struct troupe__obj *c = troupe__obj_new(rt2, 0);
	assert_non_null(c);
	assert_true((c->id & TROUPE__ID_KEY_MASK) >> TROUPE__ID_TAG_SHIFT !=
		    tag);
	assert_int_equal(lookup(rt, c->id, &o), TROUPE_EFOREIGN);
	assert_int_equal(lookup(rt2, a->id, &o), TROUPE_EFOREIGN);
	assert_int_equal(lookup(rt2, c->id, &o), TROUPE_OK);
	assert_ptr_equal(o, c);
	assert_int_equal(troupe__obj_release_user(rt2, c), TROUPE_OK);
	assert_int_equal(troupe_shutdown(rt2), TROUPE_OK);

	uint64_t aid = a->id;
	assert_int_equal(troupe__obj_release_user(rt, a), TROUPE_OK);
	assert_int_equal(lookup(rt, aid, &o), TROUPE_ESTALE);
	assert_int_equal(troupe__obj_release_user(rt, b), TROUPE_OK);

	/* Many objects: distinct ids, all found, all gone after release
	 * (batches of retired objects go through the pool's reclaim jobs). */
	enum { N = 100000 };
	struct troupe__obj **objs = malloc(N * sizeof *objs);
	uint64_t *ids = malloc(N * sizeof *ids);
	assert_non_null(objs);
	assert_non_null(ids);
	for (int i = 0; i < N; i++) {
		objs[i] = troupe__obj_new(rt, 0);
		assert_non_null(objs[i]);
		ids[i] = objs[i]->id;
		if (i > 0)
			assert_true(ids[i] != ids[i - 1]);
	}
	for (int i = 0; i < N; i += 97) {
		assert_int_equal(lookup(rt, ids[i], &o), TROUPE_OK);
		assert_ptr_equal(o, objs[i]);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(troupe__obj_release_user(rt, objs[i]),
				 TROUPE_OK);
	for (int i = 0; i < N; i += 89)
		assert_int_equal(lookup(rt, ids[i], &o), TROUPE_ESTALE);
	free(objs);
	free(ids);
}

static void user_and_internal_refs(void **state)
{
	troupe *rt = *state;
	atomic_store(&frees, 0);
	struct troupe__obj *o = troupe__obj_new(rt, 1); /* 1 user, 1 internal */
	assert_non_null(o);
	uint64_t id = o->id;
	char *buf = malloc(100);
	assert_non_null(buf);
	assert_true(troupe__obj_resolve_value(rt, o, buf, 100, count_free));

	assert_int_equal(troupe__obj_retain_user(o), TROUPE_OK);
	assert_int_equal(troupe__obj_release_user(rt, o), TROUPE_OK);
	assert_int_equal(troupe__obj_release_user(rt, o), TROUPE_OK);
	/* The caller's refs are gone: stale to the caller, though the
	 * runtime's ref keeps the object (and its value) alive. */
	struct troupe__obj *found = NULL;
	assert_int_equal(lookup(rt, id, &found), TROUPE_ESTALE);
	assert_int_equal(troupe__obj_release_user(rt, o), TROUPE_ESTALE);
	assert_int_equal(troupe__obj_retain_user(o), TROUPE_ESTALE);
	assert_int_equal(atomic_load(&frees), 0);
	assert_int_equal(troupe__obj_state(o), TROUPE__READY);
	assert_ptr_equal(o->data, buf);

	/* The runtime's refs alone: an internal ref more, then both go. */
	troupe__obj_ref(o);
	troupe__obj_unref(rt, o);
	assert_int_equal(atomic_load(&frees), 0);
	troupe__obj_unref(rt, o); /* the last: o is gone */
	TEST_WAIT_UNTIL(atomic_load(&frees) == 1);
	assert_int_equal(atomic_load(&frees), 1);
	assert_int_equal(lookup(rt, id, &found), TROUPE_ESTALE);

	/* User refs outlive internal ones too. */
	o = troupe__obj_new(rt, 2);
	assert_non_null(o);
	id = o->id;
	troupe__obj_unref(rt, o);
	troupe__obj_unref(rt, o);
	assert_int_equal(lookup(rt, id, &found), TROUPE_OK);
	assert_true(troupe__obj_resolve_value(rt, o, "x", 2, NULL));
	assert_int_equal(troupe__obj_release_user(rt, o), TROUPE_OK);
	assert_int_equal(lookup(rt, id, &found), TROUPE_ESTALE);
}

static void resolve_once(void **state)
{
	troupe *rt = *state;
	atomic_store(&frees, 0);

	/* Small values live inside the object. */
	struct troupe__obj *o = troupe__obj_new(rt, 0);
	int64_t v = 0x1122334455667788;
	assert_true(troupe__obj_resolve_value(rt, o, &v, 8, NULL));
	assert_int_equal(troupe__obj_state(o), TROUPE__READY);
	assert_true(troupe__obj_done(o));
	assert_ptr_equal(o->data, o->inl);
	assert_int_equal(o->size, 8);
	v = 0;
	assert_memory_equal(o->data, &(int64_t){0x1122334455667788}, 8);

	/* A losing resolver's buffer and message are freed for it. */
	char *loser = malloc(32);
	assert_non_null(loser);
	assert_false(troupe__obj_resolve_value(rt, o, loser, 32, count_free));
	assert_int_equal(atomic_load(&frees), 1);
	assert_false(troupe__obj_resolve_error(rt, o, TROUPE_ETASK,
					       troupe__format("late %d", 1)));
	assert_false(troupe__obj_resolve_value(rt, o, "copy", 5, NULL));
	assert_int_equal(troupe__obj_state(o), TROUPE__READY);
	assert_int_equal(o->size, 8);
	assert_int_equal(troupe__obj_release_user(rt, o), TROUPE_OK);

	/* Larger values are copied. */
	char big[100];
	memset(big, 'b', sizeof big);
	o = troupe__obj_new(rt, 0);
	assert_true(troupe__obj_resolve_value(rt, o, big, sizeof big, NULL));
	assert_ptr_not_equal(o->data, big);
	assert_ptr_not_equal(o->data, o->inl);
	assert_memory_equal(o->data, big, sizeof big);
	assert_int_equal(troupe__obj_release_user(rt, o), TROUPE_OK);

	/* Owned values are taken, and freed once with the object. */
	atomic_store(&frees, 0);
	char *owned = malloc(64);
	assert_non_null(owned);
	o = troupe__obj_new(rt, 0);
	assert_true(troupe__obj_resolve_value(rt, o, owned, 64, count_free));
	assert_ptr_equal(o->data, owned);
	assert_int_equal(atomic_load(&frees), 0);
	assert_int_equal(troupe__obj_release_user(rt, o), TROUPE_OK);
	TEST_WAIT_UNTIL(atomic_load(&frees) == 1);
	assert_int_equal(atomic_load(&frees), 1);

	/* Errors: the message is the value bytes. */
	o = troupe__obj_new(rt, 0);
	assert_true(troupe__obj_resolve_error(
		rt, o, TROUPE_ETASK, troupe__format("went %s", "wrong")));
	assert_int_equal(troupe__obj_state(o), TROUPE__ERROR);
	assert_int_equal(o->err, TROUPE_ETASK);
	assert_string_equal((const char *)o->data, "went wrong");
	assert_int_equal(o->size, strlen("went wrong") + 1);
	assert_false(troupe__obj_resolve_value(rt, o, "v", 2, NULL));
	assert_int_equal(troupe__obj_state(o), TROUPE__ERROR);
	assert_int_equal(troupe__obj_release_user(rt, o), TROUPE_OK);

	/* No message: the code's text stands in. */
	o = troupe__obj_new(rt, 0);
	assert_true(troupe__obj_resolve_error(rt, o, TROUPE_ESHUTDOWN, NULL));
	assert_string_equal((const char *)o->data,
			    troupe_strerror(TROUPE_ESHUTDOWN));
	assert_int_equal(troupe__obj_release_user(rt, o), TROUPE_OK);

	char *msg = troupe__format("%s-%d-%s", "a", 42, "b");
	assert_non_null(msg);
	assert_string_equal(msg, "a-42-b");
	o = troupe__obj_new(rt, 0);
	assert_true(troupe__obj_resolve_error(rt, o, TROUPE_ETASK, msg));
	assert_int_equal(troupe__obj_release_user(rt, o), TROUPE_OK);
}

static void waiters(void **state)
{
	troupe *rt = *state;
	struct troupe__obj *o = troupe__obj_new(rt, 0);
	struct test_waiter w[4];
	for (int i = 0; i < 4; i++) {
		init_waiter(&w[i]);
		assert_true(troupe__waiter_add(rt, o, &w[i].w));
	}
	/* Remove one from the middle, one from each end. */
	assert_true(troupe__waiter_remove(rt, o, &w[1].w));
	assert_false(troupe__waiter_remove(rt, o, &w[1].w));
	assert_true(troupe__waiter_remove(rt, o, &w[3].w));
	for (int i = 0; i < 4; i++)
		assert_int_equal(atomic_load(&w[i].woke), 0);

	assert_true(troupe__obj_resolve_value(rt, o, "v", 2, NULL));
	assert_int_equal(atomic_load(&w[0].woke), 1);
	assert_int_equal(atomic_load(&w[2].woke), 1);
	assert_int_equal(atomic_load(&w[1].woke), 0);
	assert_int_equal(atomic_load(&w[3].woke), 0);
	assert_ptr_equal(w[0].seen, o);
	assert_int_equal(atomic_load(&w[0].state_at_wake), TROUPE__READY);
	/* Woken waiters are off the list. */
	assert_false(troupe__waiter_remove(rt, o, &w[0].w));

	/* Resolved: no waiter is added, none is woken. */
	struct test_waiter late;
	init_waiter(&late);
	assert_false(troupe__waiter_add(rt, o, &late.w));
	assert_int_equal(atomic_load(&late.woke), 0);
	assert_int_equal(troupe__obj_release_user(rt, o), TROUPE_OK);

	/* An error wakes as well, with the state final. */
	o = troupe__obj_new(rt, 0);
	struct test_waiter e;
	init_waiter(&e);
	assert_true(troupe__waiter_add(rt, o, &e.w));
	assert_true(troupe__obj_resolve_error(rt, o, TROUPE_ETASK, NULL));
	assert_int_equal(atomic_load(&e.woke), 1);
	assert_int_equal(atomic_load(&e.state_at_wake), TROUPE__ERROR);
	assert_int_equal(troupe__obj_release_user(rt, o), TROUPE_OK);

	/* A long list. */
	o = troupe__obj_new(rt, 0);
	enum { M = 1000 };
	struct test_waiter *many = malloc(M * sizeof *many);
	assert_non_null(many);
	for (int i = 0; i < M; i++) {
		init_waiter(&many[i]);
		assert_true(troupe__waiter_add(rt, o, &many[i].w));
	}
	for (int i = 0; i < M; i += 3)
		assert_true(troupe__waiter_remove(rt, o, &many[i].w));
	assert_true(troupe__obj_resolve_value(rt, o, "v", 2, NULL));
	for (int i = 0; i < M; i++)
		assert_int_equal(atomic_load(&many[i].woke), i % 3 ? 1 : 0);
	free(many);
	assert_int_equal(troupe__obj_release_user(rt, o), TROUPE_OK);
}

/* ------------------------------------------- resolvers versus waiters */

#define RACERS 4

struct race {
	troupe *rt;
	pthread_barrier_t start, end;
	struct troupe__obj *_Atomic obj;
	int rounds;
	atomic_int stop;
	/* per round */
	atomic_int wins;
	atomic_long attempts; /* owned buffers handed to resolve */
	struct test_waiter waiter[RACERS];
	atomic_int added[RACERS];
	atomic_int removed[RACERS];
};

static void *racer(void *p)
{
	struct race *r = ((void **)p)[0];
	int id = (int)(intptr_t)((void **)p)[1];
	uint64_t rng = seed ^ (uint64_t)(id + 1) * 0x9e3779b97f4a7c15ULL;
	troupe__thread_enter();
	for (int round = 0; round < r->rounds; round++) {
		pthread_barrier_wait(&r->start);
		struct troupe__obj *o = atomic_load(&r->obj);
		uint64_t dice = test_rand(&rng);
		/* Everybody adds a waiter; some also resolve, some take
		 * their waiter off again. */
		struct test_waiter *w = &r->waiter[id];
		bool added = troupe__waiter_add(r->rt, o, &w->w);
		atomic_store(&r->added[id], added);
		if (dice & 1) {
			char *buf = malloc(16);
			atomic_fetch_add(&r->attempts, 1);
			if (troupe__obj_resolve_value(r->rt, o, buf, 16,
						      count_free))
				atomic_fetch_add(&r->wins, 1);
		}
		if (added && (dice & 6) == 0)
			atomic_store(&r->removed[id],
				     troupe__waiter_remove(r->rt, o, &w->w));
		pthread_barrier_wait(&r->end);
	}
	return NULL;
}

static void stress_resolve_race(void **state)
{
	troupe *rt = *state;
	struct race *r = calloc(1, sizeof *r);
	assert_non_null(r);
	r->rt = rt;
	r->rounds = TEST_SANITIZED ? 3000 : 30000;
	pthread_barrier_init(&r->start, NULL, RACERS + 1);
	pthread_barrier_init(&r->end, NULL, RACERS + 1);
	print_message("seed %llu (rerun: test_objtab %llu), %d rounds\n",
		      (unsigned long long)seed, (unsigned long long)seed,
		      r->rounds);
	pthread_t th[RACERS];
	void *args[RACERS][2];
	for (int i = 0; i < RACERS; i++) {
		args[i][0] = r;
		args[i][1] = (void *)(intptr_t)i;
		assert_int_equal(pthread_create(&th[i], NULL, racer, args[i]),
				 0);
	}
	atomic_store(&frees, 0);
	long added_total = 0, woken_total = 0, removed_total = 0;
	int bad_round = -1;
	const char *why = NULL;
	for (int round = 0; round < r->rounds; round++) {
		struct troupe__obj *o = troupe__obj_new(rt, 0);
		atomic_store(&r->obj, o);
		atomic_store(&r->wins, 0);
		for (int i = 0; i < RACERS; i++) {
			init_waiter(&r->waiter[i]);
			atomic_store(&r->added[i], 0);
			atomic_store(&r->removed[i], 0);
		}
		pthread_barrier_wait(&r->start);
		pthread_barrier_wait(&r->end);
		/* Make sure it resolved (nobody may have tried). */
		if (atomic_load(&r->wins) == 0 &&
		    troupe__obj_resolve_value(rt, o, "m", 2, NULL))
			atomic_fetch_add(&r->wins, 1);
		if (atomic_load(&r->wins) != 1 && bad_round < 0)
			bad_round = round, why = "not exactly one resolver won";
		for (int i = 0; i < RACERS; i++) {
			int added = atomic_load(&r->added[i]);
			int removed = atomic_load(&r->removed[i]);
			int woke = atomic_load(&r->waiter[i].woke);
			added_total += added;
			removed_total += removed;
			woken_total += woke;
			/* Added and not taken off: woken exactly once, with
			 * the state final.  Otherwise never. */
			int want = added && !removed ? 1 : 0;
			if (woke != want && bad_round < 0)
				bad_round = round, why = "waiter woken wrongly";
			if (woke &&
			    atomic_load(&r->waiter[i].state_at_wake) <
				    TROUPE__READY &&
			    bad_round < 0)
				bad_round = round,
				why = "woken before the state was final";
		}
		troupe__obj_release_user(rt, o);
	}
	for (int i = 0; i < RACERS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	print_message("waiters added %ld, taken off %ld, woken %ld; "
		      "owned buffers freed %d\n",
		      added_total, removed_total, woken_total,
		      atomic_load(&frees));
	if (bad_round >= 0)
		fail_msg("round %d: %s (seed %llu)", bad_round, why,
			 (unsigned long long)seed);
	assert_int_equal(woken_total, added_total - removed_total);
	/* Every buffer given to resolve was freed once: a loser's at once,
	 * the winner's with its object. */
	TEST_WAIT_UNTIL(atomic_load(&frees) == atomic_load(&r->attempts));
	assert_int_equal(atomic_load(&frees), atomic_load(&r->attempts));
	pthread_barrier_destroy(&r->start);
	pthread_barrier_destroy(&r->end);
	free(r);
}

/* A dead value object's slot makes this thread's next object: same memory
 * and key, the next generation.  The old id is stale from then on, and a
 * slot leaves the table after 256 uses (generations 0 to 255), so no id
 * ever names two objects. */
static void slot_reuse(void **state)
{
	troupe *rt = *state;
	struct troupe__obj *a = troupe__obj_new(rt, 0);
	assert_non_null(a);
	uint64_t first = a->id;
	assert_true(troupe__obj_resolve_value(rt, a, "a", 2, NULL));
	assert_int_equal(troupe__obj_release_user(rt, a), TROUPE_OK);

	enum { USES = 300 };
	uint64_t *ids = calloc(USES, sizeof *ids);
	assert_non_null(ids);
	ids[0] = first;
	struct troupe__obj *found = NULL;
	int uses = 1;
	for (int i = 1; i < USES; i++) {
		struct troupe__obj *o = troupe__obj_new(rt, 0);
		assert_non_null(o);
		if (o != a) {
			/* Only the generation cap ends the reuse here. */
			assert_int_equal(uses, 256);
			assert_int_equal(lookup(rt, o->id, &found), TROUPE_OK);
			assert_int_equal(troupe__obj_release_user(rt, o),
					 TROUPE_OK);
			break;
		}
		uses++;
		ids[i] = o->id;
		assert_true((o->id & TROUPE__ID_KEY_MASK) ==
			    (first & TROUPE__ID_KEY_MASK));
		assert_int_equal(troupe__obj_state(o), TROUPE__PENDING);
		assert_int_equal(lookup(rt, o->id, &found), TROUPE_OK);
		assert_ptr_equal(found, o);
		/* Every earlier id of the slot is stale. */
		for (int k = 0; k < i; k++) {
			assert_true(ids[k] != o->id);
			assert_int_equal(lookup(rt, ids[k], &found),
					 TROUPE_ESTALE);
			assert_int_equal(troupe_retain(rt,
						       (troupe_ref){ids[k]}),
					 TROUPE_ESTALE);
			assert_int_equal(troupe_release(rt,
							(troupe_ref){ids[k]}),
					 TROUPE_ESTALE);
		}
		assert_true(
			troupe__obj_resolve_value(rt, o, &i, sizeof i, NULL));
		troupe_value v;
		assert_int_equal(troupe_get(rt, (troupe_ref){o->id}, 0, &v),
				 TROUPE_OK);
		assert_int_equal(v.size, sizeof i);
		assert_memory_equal(v.data, &i, sizeof i);
		assert_int_equal(troupe_release(rt, (troupe_ref){o->id}),
				 TROUPE_OK);
	}
	assert_int_equal(uses, 256);
	for (int k = 0; k < uses; k++)
		assert_int_equal(lookup(rt, ids[k], &found), TROUPE_ESTALE);
	free(ids);
}

/* The user count stops at the top of its field (2^28 - 1) instead of
 * running into the generation above it. */
static void user_count_saturates(void **state)
{
	troupe *rt = *state;
	struct troupe__obj *o = troupe__obj_new(rt, 0);
	assert_non_null(o);
	uint64_t top = ((uint64_t)1 << 28) - 1;
	uint64_t gen = atomic_load(&o->refs) >> TROUPE__REFS_GEN_SHIFT;
	/* As if retained 2^28 - 3 more times (a loop of that takes seconds). */
	atomic_store(&o->refs, gen << TROUPE__REFS_GEN_SHIFT |
				       (top - 1) * TROUPE__USER_REF);
	troupe_ref r = {o->id};
	assert_int_equal(troupe_retain(rt, r), TROUPE_OK);
	assert_int_equal(troupe_retain(rt, r), TROUPE_ENOMEM);
	assert_int_equal(atomic_load(&o->refs), gen << TROUPE__REFS_GEN_SHIFT |
							top * TROUPE__USER_REF);
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);
	assert_int_equal(troupe_retain(rt, r), TROUPE_OK);
	/* Back to one ref, released the ordinary way. */
	atomic_store(&o->refs,
		     gen << TROUPE__REFS_GEN_SHIFT | TROUPE__USER_REF);
	assert_true(troupe__obj_resolve_value(rt, o, "s", 2, NULL));
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);
	assert_int_equal(troupe_retain(rt, r), TROUPE_ESTALE);
}

/* Slots a thread keeps leave the table when it exits; the runtime lives
 * on.  (Under ASan, a slot given back twice, or freed while its thread
 * still used it, would show.) */
enum { KEEPERS = 4, KEPT = 200 };

static void *keeper(void *p)
{
	troupe *rt = p;
	troupe_ref r[KEPT];
	for (int i = 0; i < KEPT; i++)
		if (troupe_put_i64(rt, i, &r[i]) != TROUPE_OK)
			return (void *)1;
	for (int i = 0; i < KEPT; i++)
		if (troupe_release(rt, r[i]) != TROUPE_OK)
			return (void *)1;
	return NULL;
}

static unsigned long table_nodes(troupe *rt)
{
	long before, after;
	unsigned long count;
	troupe__rcu_lock();
	cds_lfht_count_nodes(rt->objs.ht, &before, &count, &after);
	troupe__rcu_unlock();
	return count;
}

static void slots_leave_with_their_thread(void **state)
{
	troupe *rt = *state;
	unsigned long base = table_nodes(rt);
	pthread_t th[KEEPERS];
	for (int i = 0; i < KEEPERS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, keeper, rt), 0);
	for (int i = 0; i < KEEPERS; i++) {
		void *res;
		assert_int_equal(pthread_join(th[i], &res), 0);
		assert_null(res);
	}
	unsigned long after = table_nodes(rt);
	print_message("table nodes: %lu before, %lu after %d threads kept "
		      "and left %d slots each\n",
		      base, after, KEEPERS, KEPT);
	assert_true(after <= base);
	/* The same from this thread, which stays: its slots stay too, all but
	 * the first released (that release bound its cache to rt). */
	assert_null(keeper(rt));
	assert_int_equal(table_nodes(rt), base + KEPT - 1);
}

/* Objects made on one thread and let go on another: the releasing thread's
 * full cache passes batches to the runtime's depot, and the making thread
 * makes its next objects there (same keys, next generation) instead of
 * growing the table.  The depot keeps all it is given, but what it holds
 * beyond DEPOT_MAX slots leaves the table once unused for a second
 * (objtab.c's DEPOT_AGE_NS), also when nothing else happens. */
enum { MADE = 3000, REMADE = 2048, DEPOT_MAX = 16 * 256 };

struct handoff {
	troupe *rt;
	troupe_ref *refs;
	int n;
};

static void *releaser(void *p)
{
	struct handoff *h = p;
	for (int i = 0; i < h->n; i++)
		if (troupe_release(h->rt, h->refs[i]) != TROUPE_OK)
			return (void *)1;
	return NULL;
}

static void release_on_a_thread(struct handoff *h)
{
	pthread_t th;
	void *res;
	assert_int_equal(pthread_create(&th, NULL, releaser, h), 0);
	assert_int_equal(pthread_join(th, &res), 0);
	assert_null(res);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

static void slots_pass_between_threads(void **state)
{
	troupe *rt = *state;
	unsigned long base = table_nodes(rt);
	troupe_ref *r = calloc(MADE, sizeof *r);
	uint64_t *keys = calloc(MADE, sizeof *keys);
	assert_non_null(r);
	assert_non_null(keys);
	for (int i = 0; i < MADE; i++) {
		assert_int_equal(troupe_put_i64(rt, i, &r[i]), TROUPE_OK);
		keys[i] = r[i].id & TROUPE__ID_KEY_MASK;
	}
	qsort(keys, MADE, sizeof *keys, cmp_u64);
	/* The releaser's cache goes with it when it exits; the depot's
	 * batches stay. */
	release_on_a_thread(&(struct handoff){rt, r, MADE});
	unsigned long kept = table_nodes(rt);
	print_message("table nodes: %lu before, %lu after %d made here and "
		      "released on a thread that left\n",
		      base, kept, MADE);
	assert_true(kept > base);
	assert_true(kept <= base + DEPOT_MAX);
	int reused = 0;
	for (int i = 0; i < REMADE && table_nodes(rt) == kept; i++) {
		assert_int_equal(troupe_put_i64(rt, i, &r[i]), TROUPE_OK);
		uint64_t key = r[i].id & TROUPE__ID_KEY_MASK;
		assert_non_null(
			bsearch(&key, keys, MADE, sizeof *keys, cmp_u64));
		/* An earlier incarnation's id is stale. */
		int64_t v;
		assert_int_equal(troupe_get_i64(rt, (troupe_ref){key}, 0, &v),
				 TROUPE_ESTALE);
		assert_int_equal(troupe_get_i64(rt, r[i], 0, &v), TROUPE_OK);
		assert_int_equal(v, i);
		reused++;
	}
	print_message("%d of %d made again in slots from the depot\n", reused,
		      REMADE);
	assert_int_equal(reused, (int)(kept - base) < REMADE ?
					 (int)(kept - base) :
					 REMADE);
	for (int i = 0; i < reused; i++)
		assert_int_equal(troupe_release(rt, r[i]), TROUPE_OK);

	/* A thread letting go of many more: the depot keeps them for reuse,
	 * then, with this thread doing nothing more, lets go of all but its
	 * DEPOT_MAX (an idle worker sees to it). */
	enum { MANY = 20000 };
	troupe_ref *m = calloc(MANY, sizeof *m);
	assert_non_null(m);
	unsigned long before = table_nodes(rt);
	for (int i = 0; i < MANY; i++)
		assert_int_equal(troupe_put_i64(rt, i, &m[i]), TROUPE_OK);
	release_on_a_thread(&(struct handoff){rt, m, MANY});
	unsigned long after = table_nodes(rt);
	print_message("table nodes: %lu before, %lu after %d more\n", before,
		      after, MANY);
	assert_true(after > before + DEPOT_MAX);
	assert_true(after <= before + MANY);
	double t0 = test_now_s();
	unsigned long now = after;
	while (now > before + DEPOT_MAX && test_now_s() - t0 < TEST_HANG_S) {
		test_sleep_ms(20);
		now = table_nodes(rt);
	}
	print_message("table nodes: %lu, %.2f s later\n", now,
		      test_now_s() - t0);
	assert_true(now <= before + DEPOT_MAX);
	free(m);
	free(keys);
	free(r);
}

int main(int argc, char **argv)
{
	seed = argc > 1 ? strtoull(argv[1], NULL, 0) : test_time_seed();
	printf("test_objtab seed %llu\n", (unsigned long long)seed);
	fflush(stdout);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(ids_and_lookup, setup,
						teardown),
		cmocka_unit_test_setup_teardown(user_and_internal_refs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(resolve_once, setup, teardown),
		cmocka_unit_test_setup_teardown(waiters, setup, teardown),
		cmocka_unit_test_setup_teardown(stress_resolve_race, setup,
						teardown),
		cmocka_unit_test_setup_teardown(slot_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(user_count_saturates, setup,
						teardown),
		cmocka_unit_test_setup_teardown(slots_leave_with_their_thread,
						setup, teardown),
		cmocka_unit_test_setup_teardown(slots_pass_between_threads,
						setup, teardown),
	};
	return cmocka_run_group_tests_name("objtab", tests, NULL, NULL);
}
