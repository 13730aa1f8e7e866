/*
 * Module test for the scheduler (lib/sched.h, lib/sched.md): which thread
 * is a worker, idle workers park (all of them, and nobody stays counted as
 * searching), compensation when a body blocks on work that cannot run
 * inline, the max_threads cap, and a park/wake race in which no wake-up may
 * be lost.
 *
 * Usage: test_sched [seed]   (default: time-based; printed)
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "internal.h"
#include "sched.h"
#include "test_util.h"

static uint64_t seed;

static unsigned nworkers(troupe *rt)
{
	return atomic_load(&rt->sched.nworkers);
}

/* Idle: every worker parked, none searching, none blocked. */
static bool all_parked(troupe *rt)
{
	return atomic_load(&rt->sched.n_parked) == (int)nworkers(rt) &&
	       atomic_load(&rt->sched.n_searching) == 0 &&
	       atomic_load(&rt->sched.n_blocked) == 0;
}

static void assert_all_parked(troupe *rt)
{
	TEST_WAIT_UNTIL(all_parked(rt));
	if (!all_parked(rt))
		fail_msg("not idle: %u workers, %d parked, %d searching, "
			 "%d blocked",
			 nworkers(rt), atomic_load(&rt->sched.n_parked),
			 atomic_load(&rt->sched.n_searching),
			 atomic_load(&rt->sched.n_blocked));
}

static void square_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		      size_t nargs)
{
	(void)rt, (void)nargs;
	int64_t x = 0;
	troupe_value_i64(&args[0], &x);
	troupe_return_i64(ctx, x * x);
}

static void run_squares(troupe *rt, int n)
{
	troupe_ref *r = malloc((size_t)n * sizeof *r);
	assert_non_null(r);
	for (int i = 0; i < n; i++) {
		troupe_arg a = TROUPE_I64(i);
		assert_int_equal(troupe_submit(rt, square_fn, &a, 1, NULL,
					       &r[i]),
				 TROUPE_OK);
	}
	for (int i = 0; i < n; i++) {
		int64_t v = -1;
		assert_int_equal(troupe_get_i64(rt, r[i], TEST_HANG_S, &v),
				 TROUPE_OK);
		assert_int_equal(v, (int64_t)i * i);
		assert_int_equal(troupe_release(rt, r[i]), TROUPE_OK);
	}
	free(r);
}

/* ----------------------------------------------------------- cases */

struct self_seen {
	atomic_int is_worker, rt_matches, thread_matches, index_ok, other_null;
	troupe *other;
};

static void self_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		    size_t nargs)
{
	(void)ctx, (void)nargs;
	struct self_seen *s = test_ptr_of(&args[0]);
	struct troupe__worker *w = troupe__sched_self(rt);
	atomic_store(&s->is_worker, w != NULL);
	if (w != NULL) {
		atomic_store(&s->rt_matches, w->rt == rt);
		atomic_store(&s->thread_matches,
			     pthread_equal(w->thread, pthread_self()) != 0);
		atomic_store(&s->index_ok,
			     w->index < nworkers(rt) &&
				     rt->sched.workers[w->index] == w);
	}
	atomic_store(&s->other_null, troupe__sched_self(s->other) == NULL);
}

static void self(void **state)
{
	(void)state;
	troupe *rt, *other;
	troupe_config cfg = {.num_workers = 3};
	assert_int_equal(troupe_init(&rt, &cfg), TROUPE_OK);
	assert_int_equal(troupe_init(&other, NULL), TROUPE_OK);
	assert_null(troupe__sched_self(rt));
	assert_int_equal(nworkers(rt), 3);
	assert_int_equal(rt->sched.nbase, 3);
	assert_true(rt->sched.max_threads >= 3);

	struct self_seen s = {.other = other};
	struct self_seen *sp = &s;
	troupe_arg a = TEST_PTR_ARG(sp);
	troupe_ref r;
	assert_int_equal(troupe_submit(rt, self_fn, &a, 1, NULL, &r),
			 TROUPE_OK);
	/* With a timeout: a get without one may run the body right here. */
	assert_int_equal(troupe_get(rt, r, TEST_HANG_S, NULL), TROUPE_OK);
	assert_int_equal(atomic_load(&s.is_worker), 1);
	assert_int_equal(atomic_load(&s.rt_matches), 1);
	assert_int_equal(atomic_load(&s.thread_matches), 1);
	assert_int_equal(atomic_load(&s.index_ok), 1);
	assert_int_equal(atomic_load(&s.other_null), 1);
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);

	/* The clock moves forward. */
	int64_t t0 = troupe__now_ns();
	test_sleep_ms(10);
	int64_t t1 = troupe__now_ns();
	assert_true(t1 - t0 >= 9000000);
	unsigned step = 0;
	for (int i = 0; i < 1000; i++) {
		int64_t t = troupe__now_ns();
		assert_true(t >= t1);
		t1 = t;
		troupe__spin_pause(&step);
	}
	assert_int_equal(step, 1000);
	assert_int_equal(troupe_shutdown(other), TROUPE_OK);
	assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
}

static void idle_parks(void **state)
{
	(void)state;
	static const troupe_config cfgs[] = {
		{.num_workers = 4},
		{.num_workers = 2, .spin_us = -1},
		{.num_workers = 3, .spin_us = 1000},
	};
	for (size_t k = 0; k < sizeof cfgs / sizeof cfgs[0]; k++) {
		troupe *rt;
		assert_int_equal(troupe_init(&rt, &cfgs[k]), TROUPE_OK);
		/* Fresh: nothing to do, everybody parks. */
		assert_all_parked(rt);
		for (int round = 0; round < 5; round++) {
			run_squares(rt, 1000);
			assert_all_parked(rt);
		}
		/* One task into a parked pool: somebody wakes for it. */
		run_squares(rt, 1);
		assert_all_parked(rt);
		assert_int_equal(nworkers(rt), cfgs[k].num_workers);
		assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
	}
}

/* Compensation: body A gets R, which depends on P; P is queued behind A.
 * A cannot run R inline (it is not runnable), so the pool must start a
 * thread for P while A waits. */
struct comp {
	_Atomic uint64_t r_id;
	atomic_int status;
	atomic_int started;
};

static void blocker_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		       size_t nargs)
{
	(void)nargs;
	struct comp *c = test_ptr_of(&args[0]);
	atomic_store(&c->started, 1);
	double deadline = test_now_s() + TEST_HANG_S;
	while (atomic_load(&c->r_id) == 0 && test_now_s() < deadline)
		test_sleep_ms(1);
	troupe_ref r = {atomic_load(&c->r_id)};
	int64_t v = -1;
	atomic_store(&c->status, (int)troupe_get_i64(rt, r, -1, &v));
	troupe_return_i64(ctx, v);
}

static void compensation(void **state)
{
	(void)state;
	troupe *rt;
	troupe_config cfg = {.num_workers = 1, .max_threads = 4};
	assert_int_equal(troupe_init(&rt, &cfg), TROUPE_OK);
	for (int round = 0; round < 3; round++) {
		struct comp c = {.status = -1};
		struct comp *cp = &c;
		troupe_arg a = TEST_PTR_ARG(cp);
		troupe_ref ra, rp, rr;
		assert_int_equal(troupe_submit(rt, blocker_fn, &a, 1, NULL,
					       &ra),
				 TROUPE_OK);
		TEST_WAIT_UNTIL(atomic_load(&c.started));
		assert_int_equal(atomic_load(&c.started), 1);
		troupe_arg pa = TROUPE_I64(6 + round);
		assert_int_equal(troupe_submit(rt, square_fn, &pa, 1, NULL,
					       &rp),
				 TROUPE_OK);
		troupe_arg ra2 = TROUPE_REF(rp);
		assert_int_equal(troupe_submit(rt, square_fn, &ra2, 1, NULL,
					       &rr),
				 TROUPE_OK);
		atomic_store(&c.r_id, rr.id);
		int64_t v = 0;
		assert_int_equal(troupe_get_i64(rt, ra, TEST_HANG_S, &v),
				 TROUPE_OK);
		int64_t x = 6 + round;
		assert_int_equal(v, x * x * x * x);
		assert_int_equal(atomic_load(&c.status), TROUPE_OK);
		unsigned n = nworkers(rt), pub = 0;
		assert_int_equal(troupe_num_workers(rt, &pub), TROUPE_OK);
		print_message("round %d: %u threads after compensation "
			      "(num_workers %u, max_threads %u)\n",
			      round, n, pub, rt->sched.max_threads);
		/* One more thread ran P while A waited; the cap holds, and
		 * the public count stays what was asked. */
		assert_true(n >= 2);
		assert_true(n <= 4);
		assert_int_equal(pub, 1);
		troupe_ref all[] = {ra, rp, rr};
		for (int i = 0; i < 3; i++)
			assert_int_equal(troupe_release(rt, all[i]), TROUPE_OK);
		/* The extra threads park when idle, blocked count back to 0. */
		assert_all_parked(rt);
	}
	assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
}

static atomic_int fib_errors;

static void fib_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		   size_t nargs)
{
	(void)nargs;
	int64_t n = 0;
	troupe_value_i64(&args[0], &n);
	if (n < 2) {
		troupe_return_i64(ctx, n);
		return;
	}
	troupe_arg a1 = TROUPE_I64(n - 1), a2 = TROUPE_I64(n - 2);
	troupe_ref r1, r2;
	int64_t x = 0, y = 0;
	if (troupe_submit(rt, fib_fn, &a1, 1, NULL, &r1) != TROUPE_OK ||
	    troupe_submit(rt, fib_fn, &a2, 1, NULL, &r2) != TROUPE_OK) {
		atomic_fetch_add(&fib_errors, 1);
		troupe_fail(ctx, "submit");
		return;
	}
	if (troupe_get_i64(rt, r1, -1, &x) != TROUPE_OK ||
	    troupe_get_i64(rt, r2, -1, &y) != TROUPE_OK)
		atomic_fetch_add(&fib_errors, 1);
	troupe_release(rt, r1);
	troupe_release(rt, r2);
	troupe_return_i64(ctx, x + y);
}

static void thread_cap(void **state)
{
	(void)state;
	/* Nested blocking from application threads and bodies at once on a
	 * pool capped at 3 threads: the cap holds and the work finishes. */
	troupe *rt;
	troupe_config cfg = {.num_workers = 2, .max_threads = 3};
	assert_int_equal(troupe_init(&rt, &cfg), TROUPE_OK);
	atomic_store(&fib_errors, 0);
	troupe_ref r[4];
	for (int i = 0; i < 4; i++) {
		troupe_arg a = TROUPE_I64(18 + i);
		assert_int_equal(troupe_submit(rt, fib_fn, &a, 1, NULL, &r[i]),
				 TROUPE_OK);
	}
	static const int64_t want[] = {2584, 4181, 6765, 10946};
	for (int i = 0; i < 4; i++) {
		int64_t v = 0;
		assert_int_equal(troupe_get_i64(rt, r[i], -1, &v), TROUPE_OK);
		assert_int_equal(v, want[i]);
		assert_int_equal(troupe_release(rt, r[i]), TROUPE_OK);
	}
	assert_int_equal(atomic_load(&fib_errors), 0);
	print_message("fib(18..21) on 2 workers capped at 3 threads: %u "
		      "threads used\n",
		      nworkers(rt));
	assert_true(nworkers(rt) <= 3);
	assert_all_parked(rt);
	assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
}

/* Stress: bursts of work from two application threads into a pool that
 * has just gone idle (or is about to), at random moments.  A lost wake-up
 * shows as a get that times out. */
struct burst_arg {
	troupe *rt;
	uint64_t seed;
	int rounds;
	long lost, wrong;
};

static void *burster(void *p)
{
	struct burst_arg *b = p;
	uint64_t rng = b->seed;
	for (int round = 0; round < b->rounds; round++) {
		int n = 1 + (int)(test_rand(&rng) % 8);
		troupe_ref r[8];
		for (int i = 0; i < n; i++) {
			troupe_arg a = TROUPE_I64(i + round);
			if (troupe_submit(b->rt, square_fn, &a, 1, NULL,
					  &r[i]) != TROUPE_OK)
				r[i].id = 0, b->wrong++;
		}
		for (int i = 0; i < n; i++) {
			if (r[i].id == 0)
				continue;
			int64_t v = -1;
			troupe_err e =
				troupe_get_i64(b->rt, r[i], TEST_HANG_S, &v);
			if (e == TROUPE_ETIMEDOUT)
				b->lost++;
			else if (e != TROUPE_OK ||
				 v != (int64_t)(i + round) * (i + round))
				b->wrong++;
			troupe_release(b->rt, r[i]);
		}
		/* Around the spin window (20 us by default). */
		uint64_t gap = test_rand(&rng) % 60;
		if (gap > 0) {
			struct timespec ts = {0, (long)gap * 1000};
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static void stress_park_wake(void **state)
{
	(void)state;
	print_message("seed %llu (rerun: test_sched %llu)\n",
		      (unsigned long long)seed, (unsigned long long)seed);
	static const troupe_config cfgs[] = {
		{.num_workers = 2},
		{.num_workers = 4, .spin_us = -1},
		{.num_workers = 1, .spin_us = 5},
	};
	for (size_t k = 0; k < sizeof cfgs / sizeof cfgs[0]; k++) {
		troupe *rt;
		assert_int_equal(troupe_init(&rt, &cfgs[k]), TROUPE_OK);
		struct burst_arg b[2];
		pthread_t th[2];
		double t0 = test_now_s();
		for (int i = 0; i < 2; i++) {
			b[i] = (struct burst_arg){
				.rt = rt,
				.seed = seed + k * 2 + (uint64_t)i,
				.rounds = TEST_SANITIZED ? 2000 : 20000};
			assert_int_equal(pthread_create(&th[i], NULL, burster,
							&b[i]),
					 0);
		}
		long lost = 0, wrong = 0;
		for (int i = 0; i < 2; i++) {
			assert_int_equal(pthread_join(th[i], NULL), 0);
			lost += b[i].lost;
			wrong += b[i].wrong;
		}
		print_message("workers %u, spin_us %d: %d bursts in %.2f s, "
			      "lost wake-ups %ld, wrong %ld\n",
			      cfgs[k].num_workers, cfgs[k].spin_us,
			      2 * b[0].rounds, test_now_s() - t0, lost, wrong);
		assert_int_equal(lost, 0);
		assert_int_equal(wrong, 0);
		assert_all_parked(rt);
		assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
	}
}

int main(int argc, char **argv)
{
	seed = argc > 1 ? strtoull(argv[1], NULL, 0) : test_time_seed();
	printf("test_sched seed %llu\n", (unsigned long long)seed);
	fflush(stdout);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(self),
		cmocka_unit_test(idle_parks),
		cmocka_unit_test(compensation),
		cmocka_unit_test(thread_cap),
		cmocka_unit_test(stress_park_wake),
	};
	return cmocka_run_group_tests_name("sched", tests, NULL, NULL);
}
