/*
 * Contract tests for the actor pool (Ray's ray.util.ActorPool): map order,
 * map_unordered as a multiset, queueing beyond the number of actors,
 * get_next order, get_next_unordered, has_next / has_free, timeouts,
 * argument copies for queued calls, failed calls and refused calls,
 * destroy with calls pending, bad input, and a seeded random mix of
 * submits and fetches.  Public API only.
 *
 * The actors are made with max_concurrency 4, so that the actor runtime
 * itself would let several calls run at once on one actor: "at most one
 * pool call per actor at a time" is then the pool's doing, and each
 * method counts the times it found another call of the same actor running.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "test_util.h"

#define MAX_ACTORS 8

/* What the methods record, read by the test thread. */
struct record {
	atomic_int running[MAX_ACTORS];
	atomic_int calls[MAX_ACTORS];
	atomic_int overlaps;
	atomic_int total;
	struct test_gate gate;
};

struct fixture {
	troupe *rt;
	struct record rec;
};

/* Actor state: set by the constructor, read-only afterwards, so methods
 * running at once (max_concurrency 4) may share it. */
struct worker {
	struct record *rec;
	int idx;
};

static void worker_init(troupe *rt, troupe_ctx *ctx, void *state,
			const troupe_value *args, size_t nargs)
{
	(void)rt, (void)ctx;
	struct worker *w = state;
	int64_t idx = -1;
	if (nargs == 2)
		troupe_value_i64(&args[1], &idx);
	w->rec = test_ptr_of(&args[0]);
	w->idx = (int)idx;
}

static void enter(struct worker *w)
{
	if (atomic_fetch_add(&w->rec->running[w->idx], 1) != 0)
		atomic_fetch_add(&w->rec->overlaps, 1);
	atomic_fetch_add(&w->rec->calls[w->idx], 1);
}

static void leave(struct worker *w)
{
	atomic_fetch_sub(&w->rec->running[w->idx], 1);
	atomic_fetch_add(&w->rec->total, 1);
}

/* double_it(x [, sleep_ms]): 2*x after sleeping sleep_ms (default 1). */
static void double_it(troupe *rt, troupe_ctx *ctx, void *state,
		      const troupe_value *args, size_t nargs)
{
	(void)rt;
	struct worker *w = state;
	int64_t x = 0, ms = 1;
	troupe_value_i64(&args[0], &x);
	if (nargs > 1)
		troupe_value_i64(&args[1], &ms);
	enter(w);
	if (ms > 0)
		test_sleep_ms(ms);
	leave(w);
	troupe_return_i64(ctx, 2 * x);
}

/* gated(x): 2*x once the record's gate opens. */
static void gated(troupe *rt, troupe_ctx *ctx, void *state,
		  const troupe_value *args, size_t nargs)
{
	(void)rt, (void)nargs;
	struct worker *w = state;
	struct test_gate *g = &w->rec->gate;
	int64_t x = 0;
	troupe_value_i64(&args[0], &x);
	enter(w);
	atomic_fetch_add(&g->started, 1);
	double deadline = test_now_s() + TEST_HANG_S;
	while (!atomic_load(&g->open) && test_now_s() < deadline)
		test_sleep_ms(1);
	atomic_fetch_add(&g->finished, 1);
	leave(w);
	troupe_return_i64(ctx, 2 * x);
}

static void fails(troupe *rt, troupe_ctx *ctx, void *state,
		  const troupe_value *args, size_t nargs)
{
	(void)rt, (void)args, (void)nargs;
	struct worker *w = state;
	enter(w);
	leave(w);
	troupe_fail(ctx, "deliberate failure on actor %d", w->idx);
}

/* echo(v): a copy of its argument's bytes. */
static void echo(troupe *rt, troupe_ctx *ctx, void *state,
		 const troupe_value *args, size_t nargs)
{
	(void)rt, (void)nargs;
	struct worker *w = state;
	enter(w);
	leave(w);
	troupe_return(ctx, args[0].data, args[0].size);
}

/* actor_id(a): the id of the actor handle it was passed. */
static void actor_id(troupe *rt, troupe_ctx *ctx, void *state,
		     const troupe_value *args, size_t nargs)
{
	(void)rt, (void)nargs;
	struct worker *w = state;
	enter(w);
	troupe_actor a = {0};
	troupe_value_actor(&args[0], &a);
	leave(w);
	troupe_return_i64(ctx, (int64_t)a.id);
}

/* Not in the class: calls with it are refused. */
static void stranger(troupe *rt, troupe_ctx *ctx, void *state,
		     const troupe_value *args, size_t nargs)
{
	(void)rt, (void)ctx, (void)state, (void)args, (void)nargs;
}

static const troupe_method worker_methods[] = {double_it, gated, fails, echo,
					       actor_id};
static const troupe_class worker_class = {
	.name = "worker",
	.state_size = sizeof(struct worker),
	.init = worker_init,
	.methods = worker_methods,
	.nmethods = sizeof worker_methods / sizeof worker_methods[0],
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	if (f == NULL)
		return -1;
	troupe_config cfg = {.num_workers = 4};
	if (troupe_init(&f->rt, &cfg) != TROUPE_OK) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	atomic_store(&f->rec.gate.open, 1);
	troupe_err e = troupe_shutdown(f->rt);
	free(f);
	return e == TROUPE_OK ? 0 : -1;
}

static troupe_actor make_actor(struct fixture *f, int idx)
{
	struct record *rec = &f->rec;
	troupe_arg a[2] = {TEST_PTR_ARG(rec), TROUPE_I64(idx)};
	troupe_actor_opts o = {.max_concurrency = 4};
	troupe_actor actor;
	assert_int_equal(troupe_actor_create(f->rt, &worker_class, a, 2, &o,
					     &actor),
			 TROUPE_OK);
	return actor;
}

/* A pool of n fresh actors whose only handles are the pool's. */
static troupe_actor_pool *make_pool(struct fixture *f, size_t n)
{
	assert_true(n <= MAX_ACTORS);
	troupe_actor actors[MAX_ACTORS];
	for (size_t i = 0; i < n; i++)
		actors[i] = make_actor(f, (int)i);
	troupe_actor_pool *pool = NULL;
	assert_int_equal(troupe_actor_pool_create(f->rt, actors, n, &pool),
			 TROUPE_OK);
	assert_non_null(pool);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(troupe_actor_release(f->rt, actors[i]),
				 TROUPE_OK);
	return pool;
}

static void submit_i64(troupe_actor_pool *pool, troupe_method m, int64_t x)
{
	troupe_arg a = TROUPE_I64(x);
	assert_int_equal(troupe_actor_pool_submit(pool, m, &a, 1), TROUPE_OK);
}

/* The value of a resolved ref, which is then released. */
static int64_t take_i64(troupe *rt, troupe_ref r)
{
	int64_t v = 0;
	assert_int_equal(troupe_get_i64(rt, r, 0, &v), TROUPE_OK);
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);
	return v;
}

static int64_t next_i64(troupe *rt, troupe_actor_pool *pool)
{
	troupe_ref r;
	assert_int_equal(troupe_actor_pool_get_next(pool, TEST_HANG_S, &r),
			 TROUPE_OK);
	return take_i64(rt, r);
}

static int64_t next_unordered_i64(troupe *rt, troupe_actor_pool *pool)
{
	troupe_ref r;
	assert_int_equal(troupe_actor_pool_get_next_unordered(pool, TEST_HANG_S,
							      &r),
			 TROUPE_OK);
	return take_i64(rt, r);
}

static bool has_next(troupe_actor_pool *pool)
{
	bool b = false;
	assert_int_equal(troupe_actor_pool_has_next(pool, &b), TROUPE_OK);
	return b;
}

static bool has_free(troupe_actor_pool *pool)
{
	bool b = false;
	assert_int_equal(troupe_actor_pool_has_free(pool, &b), TROUPE_OK);
	return b;
}

static void wait_started(struct fixture *f, int n)
{
	TEST_WAIT_UNTIL(atomic_load(&f->rec.gate.started) >= n);
	assert_int_equal(atomic_load(&f->rec.gate.started), n);
}

/* ----------------------------------------------------------- cases */

static void map_in_order(void **state)
{
	struct fixture *f = *state;
	enum { N = 40, NA = 4 };
	troupe_actor_pool *pool = make_pool(f, NA);
	troupe_arg items[N];
	troupe_ref refs[N];
	for (int i = 0; i < N; i++)
		items[i] = TROUPE_I64(i);
	assert_int_equal(troupe_actor_pool_map(pool, double_it, items, N, refs),
			 TROUPE_OK);
	for (int i = 0; i < N; i++)
		assert_int_equal(take_i64(f->rt, refs[i]), 2 * i);
	assert_false(has_next(pool));
	assert_true(has_free(pool));
	assert_int_equal(atomic_load(&f->rec.total), N);
	assert_int_equal(atomic_load(&f->rec.overlaps), 0);
	for (int a = 0; a < NA; a++)
		assert_true(atomic_load(&f->rec.calls[a]) > 0);

	/* A second map on the same pool, and an empty one. */
	assert_int_equal(troupe_actor_pool_map(pool, double_it, items, 3, refs),
			 TROUPE_OK);
	for (int i = 0; i < 3; i++)
		assert_int_equal(take_i64(f->rt, refs[i]), 2 * i);
	assert_int_equal(troupe_actor_pool_map(pool, double_it, NULL, 0, NULL),
			 TROUPE_OK);
	assert_int_equal(troupe_actor_pool_destroy(pool), TROUPE_OK);
}

static void map_unordered_all_once(void **state)
{
	struct fixture *f = *state;
	enum { N = 60, NA = 3 };
	troupe_actor_pool *pool = make_pool(f, NA);
	troupe_arg items[N];
	troupe_ref refs[N];
	for (int i = 0; i < N; i++)
		items[i] = TROUPE_I64(i);
	assert_int_equal(troupe_actor_pool_map_unordered(pool, double_it, items,
							 N, refs),
			 TROUPE_OK);
	int seen[N] = {0};
	for (int i = 0; i < N; i++) {
		int64_t v = take_i64(f->rt, refs[i]);
		assert_true(v >= 0 && v < 2 * N && v % 2 == 0);
		seen[v / 2]++;
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(seen[i], 1);
	assert_false(has_next(pool));
	assert_int_equal(atomic_load(&f->rec.total), N);
	assert_int_equal(atomic_load(&f->rec.overlaps), 0);
	assert_int_equal(troupe_actor_pool_destroy(pool), TROUPE_OK);
}

/* More submits than actors: the rest wait in the pool, not on the actors,
 * and results come back in submission order. */
static void submit_beyond_actors_queues(void **state)
{
	struct fixture *f = *state;
	troupe_actor_pool *pool = make_pool(f, 2);
	assert_true(has_free(pool));
	assert_false(has_next(pool));
	for (int i = 0; i < 5; i++)
		submit_i64(pool, gated, i);
	assert_false(has_free(pool));
	assert_true(has_next(pool));
	wait_started(f, 2);

	troupe_ref r = {.id = 4242};
	assert_int_equal(troupe_actor_pool_get_next(pool, 0, &r),
			 TROUPE_ETIMEDOUT);
	assert_int_equal(troupe_actor_pool_get_next(pool, 0.02, &r),
			 TROUPE_ETIMEDOUT);
	assert_int_equal(troupe_actor_pool_get_next_unordered(pool, 0.02, &r),
			 TROUPE_ETIMEDOUT);
	assert_int_equal(r.id, 4242);
	/* Queued calls were not handed to the busy actors. */
	test_sleep_ms(20);
	assert_int_equal(atomic_load(&f->rec.gate.started), 2);
	assert_true(has_next(pool));

	atomic_store(&f->rec.gate.open, 1);
	for (int i = 0; i < 5; i++) {
		assert_true(has_next(pool));
		assert_int_equal(next_i64(f->rt, pool), 2 * i);
	}
	assert_false(has_next(pool));
	assert_true(has_free(pool));
	assert_int_equal(troupe_actor_pool_get_next(pool, 0, &r),
			 TROUPE_ENOTFOUND);
	assert_int_equal(atomic_load(&f->rec.gate.finished), 5);
	assert_int_equal(atomic_load(&f->rec.overlaps), 0);
	assert_int_equal(troupe_actor_pool_destroy(pool), TROUPE_OK);
}

/* get_next waits for the oldest call even when a later one is done. */
static void get_next_in_submission_order(void **state)
{
	struct fixture *f = *state;
	troupe_actor_pool *pool = make_pool(f, 2);
	submit_i64(pool, gated, 10);	/* actor 0, held */
	submit_i64(pool, double_it, 3); /* actor 1, done soon */
	assert_false(has_free(pool));
	TEST_WAIT_UNTIL(atomic_load(&f->rec.total) == 1);
	assert_int_equal(atomic_load(&f->rec.total), 1);
	troupe_ref r;
	assert_int_equal(troupe_actor_pool_get_next(pool, 0.05, &r),
			 TROUPE_ETIMEDOUT);
	atomic_store(&f->rec.gate.open, 1);
	assert_int_equal(next_i64(f->rt, pool), 20);
	assert_int_equal(next_i64(f->rt, pool), 6);
	assert_false(has_next(pool));
	assert_int_equal(troupe_actor_pool_destroy(pool), TROUPE_OK);
}

static void get_next_unordered_first_done(void **state)
{
	struct fixture *f = *state;
	troupe_actor_pool *pool = make_pool(f, 2);
	submit_i64(pool, gated, 5);	/* actor 0, held */
	submit_i64(pool, double_it, 7); /* actor 1 */
	assert_int_equal(next_unordered_i64(f->rt, pool), 14);
	/* Actor 1 is free again; actor 0 still holds the gated call. */
	assert_true(has_free(pool));
	assert_true(has_next(pool));
	troupe_ref r;
	assert_int_equal(troupe_actor_pool_get_next_unordered(pool, 0.02, &r),
			 TROUPE_ETIMEDOUT);
	assert_int_equal(troupe_actor_pool_get_next_unordered(pool, 0, &r),
			 TROUPE_ETIMEDOUT);
	submit_i64(pool, double_it, 8);
	assert_false(has_free(pool));
	assert_int_equal(next_unordered_i64(f->rt, pool), 16);
	atomic_store(&f->rec.gate.open, 1);
	assert_int_equal(next_unordered_i64(f->rt, pool), 10);
	assert_false(has_next(pool));
	assert_int_equal(troupe_actor_pool_get_next_unordered(pool, 0, &r),
			 TROUPE_ENOTFOUND);

	/* Mixing: what get_next_unordered left, get_next returns in order. */
	atomic_store(&f->rec.gate.open, 0);
	submit_i64(pool, gated, 1);
	submit_i64(pool, double_it, 2);
	submit_i64(pool, double_it, 3); /* queued */
	assert_int_equal(next_unordered_i64(f->rt, pool), 4);
	/* The queued call went to the actor just freed. */
	assert_int_equal(next_unordered_i64(f->rt, pool), 6);
	atomic_store(&f->rec.gate.open, 1);
	assert_int_equal(next_i64(f->rt, pool), 2);
	assert_false(has_next(pool));
	assert_int_equal(atomic_load(&f->rec.overlaps), 0);
	assert_int_equal(troupe_actor_pool_destroy(pool), TROUPE_OK);
}

/* A call that fails is a result like any other: its ref resolves to the
 * error, and its actor is free for the next queued call. */
static void failed_call_is_a_result(void **state)
{
	struct fixture *f = *state;
	troupe_actor_pool *pool = make_pool(f, 1);
	assert_int_equal(troupe_actor_pool_submit(pool, fails, NULL, 0),
			 TROUPE_OK);
	submit_i64(pool, double_it, 3); /* queued behind it */
	troupe_ref r;
	assert_int_equal(troupe_actor_pool_get_next(pool, TEST_HANG_S, &r),
			 TROUPE_OK);
	assert_int_equal(troupe_get(f->rt, r, 0, NULL), TROUPE_ETASK);
	const char *msg = NULL;
	assert_int_equal(troupe_error_message(f->rt, r, &msg), TROUPE_OK);
	assert_non_null(strstr(msg, "deliberate failure on actor 0"));
	assert_int_equal(troupe_release(f->rt, r), TROUPE_OK);
	assert_int_equal(next_i64(f->rt, pool), 6);

	assert_int_equal(troupe_actor_pool_submit(pool, fails, NULL, 0),
			 TROUPE_OK);
	assert_int_equal(troupe_actor_pool_get_next_unordered(pool, TEST_HANG_S,
							      &r),
			 TROUPE_OK);
	assert_int_equal(troupe_get(f->rt, r, 0, NULL), TROUPE_ETASK);
	assert_int_equal(troupe_release(f->rt, r), TROUPE_OK);
	assert_false(has_next(pool));
	assert_int_equal(troupe_actor_pool_destroy(pool), TROUPE_OK);
}

/* A queued call's arguments are the pool's copies: the caller's buffers,
 * refs and actor handles may go before the call is made. */
static void queued_args_are_copied(void **state)
{
	struct fixture *f = *state;
	troupe *rt = f->rt;
	troupe_actor_pool *pool = make_pool(f, 1);
	submit_i64(pool, gated, 0); /* holds the only actor */
	wait_started(f, 1);

	char buf[64];
	strcpy(buf, "copied at submit");
	troupe_arg a = TROUPE_BYTES(buf, strlen(buf) + 1);
	assert_int_equal(troupe_actor_pool_submit(pool, echo, &a, 1),
			 TROUPE_OK);
	memset(buf, 'x', sizeof buf);

	troupe_ref put;
	assert_int_equal(troupe_put_i64(rt, 41, &put), TROUPE_OK);
	a = TROUPE_REF(put);
	assert_int_equal(troupe_actor_pool_submit(pool, double_it, &a, 1),
			 TROUPE_OK);
	assert_int_equal(troupe_release(rt, put), TROUPE_OK);

	troupe_actor other = make_actor(f, MAX_ACTORS - 1);
	uint64_t other_id = other.id;
	a = TROUPE_ACTOR(other);
	assert_int_equal(troupe_actor_pool_submit(pool, actor_id, &a, 1),
			 TROUPE_OK);
	assert_int_equal(troupe_actor_release(rt, other), TROUPE_OK);

	/* Several arguments of every kind, and an empty BYTES (double_it
	 * reads the first two). */
	troupe_arg many[5] = {TROUPE_I64(9), TROUPE_I64(0), TROUPE_F64(0.5),
			      TROUPE_BYTES(NULL, 0), TROUPE_STR("s")};
	assert_int_equal(troupe_actor_pool_submit(pool, double_it, many, 5),
			 TROUPE_OK);
	assert_false(has_free(pool));

	atomic_store(&f->rec.gate.open, 1);
	assert_int_equal(next_i64(rt, pool), 0);
	troupe_ref r;
	assert_int_equal(troupe_actor_pool_get_next(pool, TEST_HANG_S, &r),
			 TROUPE_OK);
	const char *s = NULL;
	assert_int_equal(troupe_get_str(rt, r, 0, &s), TROUPE_OK);
	assert_string_equal(s, "copied at submit");
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);
	assert_int_equal(next_i64(rt, pool), 82);
	assert_int_equal(next_i64(rt, pool), (int64_t)other_id);
	assert_int_equal(next_i64(rt, pool), 18);
	assert_false(has_next(pool));
	assert_int_equal(troupe_actor_pool_destroy(pool), TROUPE_OK);
}

/* A queued call the actor refuses when the pool finally makes it cannot
 * fail its submit any more: get_next returns the refusal in its place
 * (no ref), and the calls behind it still run. */
static void refused_queued_call(void **state)
{
	struct fixture *f = *state;
	troupe_actor_pool *pool = make_pool(f, 1);
	submit_i64(pool, gated, 1);
	submit_i64(pool, stranger, 2); /* queued: not refused yet */
	submit_i64(pool, double_it, 3);
	atomic_store(&f->rec.gate.open, 1);
	assert_int_equal(next_i64(f->rt, pool), 2);
	troupe_ref r = {.id = 4242};
	assert_int_equal(troupe_actor_pool_get_next(pool, TEST_HANG_S, &r),
			 TROUPE_EINVAL);
	assert_int_equal(r.id, 4242);
	assert_true(has_next(pool));
	assert_int_equal(next_i64(f->rt, pool), 6);
	assert_false(has_next(pool));

	/* get_next_unordered hands out a refusal at once. */
	atomic_store(&f->rec.gate.open, 0);
	submit_i64(pool, gated, 1);
	submit_i64(pool, stranger, 2);
	atomic_store(&f->rec.gate.open, 1);
	assert_int_equal(next_unordered_i64(f->rt, pool), 2);
	assert_int_equal(troupe_actor_pool_get_next_unordered(pool, TEST_HANG_S,
							      &r),
			 TROUPE_EINVAL);
	assert_false(has_next(pool));
	assert_true(has_free(pool));
	assert_int_equal(troupe_actor_pool_destroy(pool), TROUPE_OK);
}

/* Destroying a pool with calls running, queued and finished but not
 * fetched drops the results; every submitted call still runs. */
static void destroy_with_pending(void **state)
{
	struct fixture *f = *state;
	troupe *rt = f->rt;
	troupe_actor_pool *pool = make_pool(f, 2);
	for (int i = 0; i < 5; i++)
		submit_i64(pool, gated, i);
	troupe_ref put;
	assert_int_equal(troupe_put_i64(rt, 1, &put), TROUPE_OK);
	troupe_arg a = TROUPE_REF(put);
	assert_int_equal(troupe_actor_pool_submit(pool, gated, &a, 1),
			 TROUPE_OK);
	assert_int_equal(troupe_release(rt, put), TROUPE_OK);
	char buf[32] = "bytes";
	a = TROUPE_BYTES(buf, sizeof buf);
	assert_int_equal(troupe_actor_pool_submit(pool, echo, &a, 1),
			 TROUPE_OK);
	wait_started(f, 2);
	assert_int_equal(troupe_actor_pool_destroy(pool), TROUPE_OK);
	atomic_store(&f->rec.gate.open, 1);
	TEST_WAIT_UNTIL(atomic_load(&f->rec.total) == 7);
	assert_int_equal(atomic_load(&f->rec.total), 7);
	assert_int_equal(atomic_load(&f->rec.gate.finished), 6);

	/* Finished, never fetched. */
	pool = make_pool(f, 3);
	for (int i = 0; i < 3; i++)
		submit_i64(pool, double_it, i);
	TEST_WAIT_UNTIL(atomic_load(&f->rec.total) == 10);
	assert_int_equal(atomic_load(&f->rec.total), 10);
	test_sleep_ms(10);
	assert_int_equal(troupe_actor_pool_destroy(pool), TROUPE_OK);

	/* A pool outliving its runtime can still be destroyed. */
	troupe *rt2;
	troupe_config cfg = {.num_workers = 1};
	assert_int_equal(troupe_init(&rt2, &cfg), TROUPE_OK);
	struct record *rec = &f->rec;
	troupe_arg ca[2] = {TEST_PTR_ARG(rec), TROUPE_I64(0)};
	troupe_actor actor;
	assert_int_equal(troupe_actor_create(rt2, &worker_class, ca, 2, NULL,
					     &actor),
			 TROUPE_OK);
	assert_int_equal(troupe_actor_pool_create(rt2, &actor, 1, &pool),
			 TROUPE_OK);
	assert_int_equal(troupe_actor_release(rt2, actor), TROUPE_OK);
	submit_i64(pool, double_it, 1);
	submit_i64(pool, double_it, 2);
	assert_int_equal(troupe_shutdown(rt2), TROUPE_OK);
	troupe_ref r;
	assert_int_equal(troupe_actor_pool_get_next(pool, 0, &r),
			 TROUPE_ESHUTDOWN);
	assert_int_equal(troupe_actor_pool_destroy(pool), TROUPE_OK);
}

/* A map that fails part-way makes no refs and leaves nothing pending. */
static void map_failure_leaves_pool_empty(void **state)
{
	struct fixture *f = *state;
	troupe *rt = f->rt;
	troupe_actor_pool *pool = make_pool(f, 2);
	troupe_ref stale;
	assert_int_equal(troupe_put_i64(rt, 1, &stale), TROUPE_OK);
	assert_int_equal(troupe_release(rt, stale), TROUPE_OK);
	troupe_arg items[4] = {TROUPE_I64(0), TROUPE_I64(1), TROUPE_REF(stale),
			       TROUPE_I64(3)};
	troupe_ref refs[4] = {{1}, {2}, {3}, {4}};
	assert_int_not_equal(troupe_actor_pool_map(pool, double_it, items, 4,
						   refs),
			     TROUPE_OK);
	assert_int_equal(refs[0].id, 1);
	assert_int_equal(refs[3].id, 4);
	assert_false(has_next(pool));
	assert_true(has_free(pool));
	assert_int_not_equal(troupe_actor_pool_map_unordered(pool, double_it,
							     items, 4, refs),
			     TROUPE_OK);
	assert_false(has_next(pool));
	assert_int_equal(troupe_actor_pool_map(pool, stranger, items, 2, refs),
			 TROUPE_EINVAL);
	assert_false(has_next(pool));
	/* The pool still works. */
	assert_int_equal(troupe_actor_pool_map(pool, double_it, items, 2, refs),
			 TROUPE_OK);
	assert_int_equal(take_i64(rt, refs[0]), 0);
	assert_int_equal(take_i64(rt, refs[1]), 2);
	assert_int_equal(atomic_load(&f->rec.overlaps), 0);
	assert_int_equal(troupe_actor_pool_destroy(pool), TROUPE_OK);
}

static void bad_input(void **state)
{
	struct fixture *f = *state;
	troupe *rt = f->rt;
	troupe_actor a = make_actor(f, 0);
	static char canary_byte;
	troupe_actor_pool *canary = (troupe_actor_pool *)&canary_byte;
	troupe_actor_pool *pool = canary;
	assert_int_equal(troupe_actor_pool_create(NULL, &a, 1, &pool),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_pool_create(rt, NULL, 1, &pool),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_pool_create(rt, &a, 0, &pool),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_pool_create(rt, &a, 1, NULL),
			 TROUPE_EINVAL);
	/* A stale handle among good ones: nothing retained, nothing made. */
	troupe_actor gone = make_actor(f, 1);
	assert_int_equal(troupe_actor_release(rt, gone), TROUPE_OK);
	troupe_actor two[2] = {a, gone};
	assert_int_not_equal(troupe_actor_pool_create(rt, two, 2, &pool),
			     TROUPE_OK);
	assert_ptr_equal(pool, canary);
	assert_int_equal(troupe_actor_pool_create(rt, &a, 1, &pool), TROUPE_OK);
	assert_int_equal(troupe_actor_release(rt, a), TROUPE_OK);

	troupe_arg x = TROUPE_I64(1);
	bool b;
	troupe_ref r = {.id = 4242}, refs[1];
	assert_int_equal(troupe_actor_pool_submit(NULL, double_it, &x, 1),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_pool_submit(pool, NULL, &x, 1),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_pool_submit(pool, double_it, NULL, 1),
			 TROUPE_EINVAL);
	/* Refused at once when an actor is free, and nothing changes. */
	assert_int_equal(troupe_actor_pool_submit(pool, stranger, &x, 1),
			 TROUPE_EINVAL);
	assert_true(has_free(pool));
	assert_false(has_next(pool));
	assert_int_equal(troupe_actor_pool_has_next(NULL, &b), TROUPE_EINVAL);
	assert_int_equal(troupe_actor_pool_has_next(pool, NULL), TROUPE_EINVAL);
	assert_int_equal(troupe_actor_pool_has_free(NULL, &b), TROUPE_EINVAL);
	assert_int_equal(troupe_actor_pool_has_free(pool, NULL), TROUPE_EINVAL);
	assert_int_equal(troupe_actor_pool_get_next(NULL, 0, &r),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_pool_get_next(pool, 0, NULL),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_pool_get_next_unordered(NULL, 0, &r),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_pool_get_next_unordered(pool, 0, NULL),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_pool_get_next(pool, 0, &r),
			 TROUPE_ENOTFOUND);
	assert_int_equal(troupe_actor_pool_get_next_unordered(pool, -1, &r),
			 TROUPE_ENOTFOUND);
	assert_int_equal(r.id, 4242);
	assert_int_equal(troupe_actor_pool_map(NULL, double_it, &x, 1, refs),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_pool_map(pool, NULL, &x, 1, refs),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_pool_map(pool, double_it, NULL, 1, refs),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_pool_map(pool, double_it, &x, 1, NULL),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_pool_map_unordered(pool, double_it, &x, 1,
							 NULL),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_pool_destroy(NULL), TROUPE_EINVAL);

	/* Refused while queued: bad kinds, NULL bytes, stale refs.  The
	 * pool holds one call and queues nothing else. */
	submit_i64(pool, gated, 1);
	troupe_ref stale;
	assert_int_equal(troupe_put_i64(rt, 1, &stale), TROUPE_OK);
	assert_int_equal(troupe_release(rt, stale), TROUPE_OK);
	troupe_arg bad[] = {
		{.kind = (enum troupe_arg_kind)99},
		TROUPE_BYTES(NULL, 5),
		TROUPE_REF(stale),
		TROUPE_ACTOR(gone),
	};
	/* A good ref before the bad argument: the pool's hold on it must be
	 * dropped again (released once below, then it is gone). */
	troupe_ref good;
	assert_int_equal(troupe_put_i64(rt, 1, &good), TROUPE_OK);
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		troupe_arg two_args[2] = {TROUPE_REF(good), bad[k]};
		assert_int_not_equal(troupe_actor_pool_submit(pool, double_it,
							      two_args, 2),
				     TROUPE_OK);
	}
	assert_int_equal(troupe_release(rt, good), TROUPE_OK);
	assert_int_equal(troupe_release(rt, good), TROUPE_ESTALE);
	/* The pool must have nothing pending for map. */
	assert_int_equal(troupe_actor_pool_map(pool, double_it, &x, 1, refs),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_pool_map_unordered(pool, double_it, &x, 1,
							 refs),
			 TROUPE_EINVAL);
	atomic_store(&f->rec.gate.open, 1);
	assert_int_equal(next_i64(rt, pool), 2);
	assert_false(has_next(pool));
	assert_int_equal(troupe_actor_pool_destroy(pool), TROUPE_OK);
}

/* A seeded random mix of submits, get_next and get_next_unordered (some
 * with timeout 0) against a model: get_next returns the oldest result left,
 * every value comes back once, has_free tracks the unfetched count, and no
 * actor ever has two pool calls at once. */
static void stress_random_mix(void **state)
{
	struct fixture *f = *state;
	troupe *rt = f->rt;
	enum { NA = 4, OPS = 3000 };
	uint64_t seed = test_time_seed();
	print_message("stress_random_mix seed %" PRIu64 "\n", seed);
	troupe_actor_pool *pool = make_pool(f, NA);
	static int64_t model[OPS]; /* unfetched values, in submission order */
	static int seen[OPS];
	memset(seen, 0, sizeof seen);
	size_t nmodel = 0;
	int64_t next_value = 0;
	for (int op = 0; op < OPS; op++) {
		assert_int_equal(has_free(pool), nmodel < NA);
		assert_int_equal(has_next(pool), nmodel > 0);
		uint64_t dice = test_rand(&seed) % 8;
		double timeout = test_rand(&seed) % 2 ? 0 : TEST_HANG_S;
		troupe_ref r;
		troupe_err e;
		if (dice < 4 || nmodel == 0) {
			troupe_arg a[2] = {TROUPE_I64(next_value),
					   TROUPE_I64(0)};
			assert_int_equal(
				troupe_actor_pool_submit(pool, double_it, a, 2),
				TROUPE_OK);
			model[nmodel++] = next_value++;
			continue;
		}
		if (dice < 6) {
			e = troupe_actor_pool_get_next(pool, timeout, &r);
			if (e == TROUPE_ETIMEDOUT && timeout == 0)
				continue;
			assert_int_equal(e, TROUPE_OK);
			int64_t v = take_i64(rt, r);
			assert_int_equal(v, 2 * model[0]);
			memmove(model, model + 1,
				(nmodel - 1) * sizeof model[0]);
			nmodel--;
			seen[v / 2]++;
			continue;
		}
		e = troupe_actor_pool_get_next_unordered(pool, timeout, &r);
		if (e == TROUPE_ETIMEDOUT && timeout == 0)
			continue;
		assert_int_equal(e, TROUPE_OK);
		int64_t v = take_i64(rt, r);
		size_t i = 0;
		while (i < nmodel && 2 * model[i] != v)
			i++;
		assert_true(i < nmodel);
		/* Only a running call can finish, and the running ones are
		 * the oldest NA. */
		assert_true(i < NA);
		memmove(model + i, model + i + 1,
			(nmodel - i - 1) * sizeof model[0]);
		nmodel--;
		seen[v / 2]++;
	}
	while (nmodel > 0) {
		int64_t v = next_i64(rt, pool);
		assert_int_equal(v, 2 * model[0]);
		memmove(model, model + 1, (nmodel - 1) * sizeof model[0]);
		nmodel--;
		seen[v / 2]++;
	}
	for (int64_t i = 0; i < next_value; i++)
		assert_int_equal(seen[i], 1);
	assert_int_equal(atomic_load(&f->rec.total), next_value);
	assert_int_equal(atomic_load(&f->rec.overlaps), 0);
	print_message("%" PRId64 " calls\n", next_value);
	assert_int_equal(troupe_actor_pool_destroy(pool), TROUPE_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(map_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(map_unordered_all_once, setup,
						teardown),
		cmocka_unit_test_setup_teardown(submit_beyond_actors_queues,
						setup, teardown),
		cmocka_unit_test_setup_teardown(get_next_in_submission_order,
						setup, teardown),
		cmocka_unit_test_setup_teardown(get_next_unordered_first_done,
						setup, teardown),
		cmocka_unit_test_setup_teardown(failed_call_is_a_result, setup,
						teardown),
		cmocka_unit_test_setup_teardown(queued_args_are_copied, setup,
						teardown),
		cmocka_unit_test_setup_teardown(refused_queued_call, setup,
						teardown),
		cmocka_unit_test_setup_teardown(destroy_with_pending, setup,
						teardown),
		cmocka_unit_test_setup_teardown(map_failure_leaves_pool_empty,
						setup, teardown),
		cmocka_unit_test_setup_teardown(bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(stress_random_mix, setup,
						teardown),
	};
	return cmocka_run_group_tests_name("actor_pool", tests, NULL, NULL);
}
