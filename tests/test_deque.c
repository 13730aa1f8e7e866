/*
 * Module test for the Chase-Lev deque (lib/deque.h): single-threaded
 * LIFO/FIFO semantics, growth (also with wrapped indices), and an
 * owner-versus-thieves race in which every item must be taken exactly once.
 *
 * Usage: test_deque [seed]   (default: time-based; printed)
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "deque.h"
#include "test_util.h"

static uint64_t seed;

/* Items are non-NULL and never TROUPE__DEQUE_ABORT: i -> i + 2. */
static void *item(int64_t i)
{
	return (void *)(uintptr_t)(i + 2);
}

static int64_t index_of(void *p)
{
	return (int64_t)(uintptr_t)p - 2;
}

static void *steal1(struct troupe__deque *d)
{
	/* Single-threaded: nobody to lose a race against. */
	void *x = troupe__deque_steal(d);
	assert_ptr_not_equal(x, TROUPE__DEQUE_ABORT);
	return x;
}

static void empty(void **state)
{
	(void)state;
	struct troupe__deque d;
	assert_int_equal(troupe__deque_init(&d, 2), 0);
	assert_null(troupe__deque_pop(&d));
	assert_null(steal1(&d));
	assert_int_equal(troupe__deque_size(&d), 0);
	assert_int_equal(troupe__deque_push(&d, item(0)), 0);
	assert_int_equal(troupe__deque_size(&d), 1);
	assert_ptr_equal(troupe__deque_pop(&d), item(0));
	assert_null(troupe__deque_pop(&d));
	assert_null(steal1(&d));
	assert_int_equal(troupe__deque_push(&d, item(1)), 0);
	assert_ptr_equal(steal1(&d), item(1));
	assert_null(troupe__deque_pop(&d));
	assert_null(steal1(&d));
	assert_int_equal(troupe__deque_size(&d), 0);
	troupe__deque_fini(&d);
}

static void lifo_owner(void **state)
{
	(void)state;
	struct troupe__deque d;
	assert_int_equal(troupe__deque_init(&d, 4), 0);
	for (int64_t i = 0; i < 16; i++)
		assert_int_equal(troupe__deque_push(&d, item(i)), 0);
	assert_int_equal(troupe__deque_size(&d), 16);
	for (int64_t i = 15; i >= 0; i--)
		assert_ptr_equal(troupe__deque_pop(&d), item(i));
	assert_null(troupe__deque_pop(&d));
	troupe__deque_fini(&d);
}

static void fifo_thief(void **state)
{
	(void)state;
	struct troupe__deque d;
	assert_int_equal(troupe__deque_init(&d, 4), 0);
	for (int64_t i = 0; i < 16; i++)
		assert_int_equal(troupe__deque_push(&d, item(i)), 0);
	for (int64_t i = 0; i < 16; i++) {
		assert_ptr_equal(steal1(&d), item(i));
		assert_int_equal(troupe__deque_size(&d), 15 - i);
	}
	assert_null(steal1(&d));
	troupe__deque_fini(&d);
}

static void both_ends(void **state)
{
	(void)state;
	struct troupe__deque d;
	assert_int_equal(troupe__deque_init(&d, 3), 0);
	for (int64_t i = 0; i < 8; i++)
		assert_int_equal(troupe__deque_push(&d, item(i)), 0);
	/* Oldest from the top, newest from the bottom, meeting in the
	 * middle. */
	for (int64_t k = 0; k < 4; k++) {
		assert_ptr_equal(steal1(&d), item(k));
		assert_ptr_equal(troupe__deque_pop(&d), item(7 - k));
	}
	assert_null(troupe__deque_pop(&d));
	assert_null(steal1(&d));
	troupe__deque_fini(&d);
}

/* peek names the bottom slot (what pop would take) and takes nothing, also
 * across growth and after steals empty the deque. */
static void peek_bottom(void **state)
{
	(void)state;
	struct troupe__deque d;
	assert_int_equal(troupe__deque_init(&d, 1), 0);
	assert_null(troupe__deque_peek(&d));
	for (int64_t i = 0; i < 8; i++) {
		assert_int_equal(troupe__deque_push(&d, item(i)), 0);
		assert_ptr_equal(troupe__deque_peek(&d), item(i));
	}
	assert_int_equal(troupe__deque_size(&d), 8);
	assert_ptr_equal(troupe__deque_pop(&d), item(7));
	assert_ptr_equal(troupe__deque_peek(&d), item(6));
	for (int64_t i = 0; i < 6; i++)
		assert_ptr_equal(steal1(&d), item(i));
	assert_ptr_equal(troupe__deque_peek(&d), item(6));
	assert_ptr_equal(steal1(&d), item(6));
	assert_null(troupe__deque_peek(&d));
	assert_null(troupe__deque_pop(&d));
	troupe__deque_fini(&d);
}

static void growth(void **state)
{
	(void)state;
	struct troupe__deque d;
	enum { N = 100000 };
	assert_int_equal(troupe__deque_init(&d, 0), 0); /* capacity 1 */
	for (int64_t i = 0; i < N; i++)
		assert_int_equal(troupe__deque_push(&d, item(i)), 0);
	assert_int_equal(troupe__deque_size(&d), N);
	for (int64_t i = 0; i < 10; i++)
		assert_ptr_equal(steal1(&d), item(i));
	for (int64_t i = N - 1; i >= 10; i--)
		assert_ptr_equal(troupe__deque_pop(&d), item(i));
	assert_null(troupe__deque_pop(&d));
	troupe__deque_fini(&d);

	/* Growth while top has moved: the live range wraps the ring. */
	assert_int_equal(troupe__deque_init(&d, 3), 0); /* capacity 8 */
	int64_t next = 0, oldest = 0;
	for (int round = 0; round < 1000; round++) {
		for (int k = 0; k < 6; k++)
			assert_int_equal(troupe__deque_push(&d, item(next++)),
					 0);
		for (int k = 0; k < 5; k++)
			assert_ptr_equal(steal1(&d), item(oldest++));
	}
	/* 1000 left, stolen in order after many wrap-arounds and grows. */
	assert_int_equal(troupe__deque_size(&d), next - oldest);
	for (int k = 0; k < 20; k++)
		assert_int_equal(troupe__deque_push(&d, item(next++)), 0);
	while (oldest < next)
		assert_ptr_equal(steal1(&d), item(oldest++));
	assert_null(steal1(&d));
	assert_null(troupe__deque_pop(&d));

	/* Ring reuse without growth: push 5, steal 2, pop 3, many times. */
	for (int round = 0; round < 10000; round++) {
		int64_t base = next;
		for (int k = 0; k < 5; k++)
			assert_int_equal(troupe__deque_push(&d, item(next++)),
					 0);
		assert_ptr_equal(steal1(&d), item(base));
		assert_ptr_equal(steal1(&d), item(base + 1));
		for (int k = 4; k >= 2; k--)
			assert_ptr_equal(troupe__deque_pop(&d), item(base + k));
	}
	assert_int_equal(troupe__deque_size(&d), 0);
	troupe__deque_fini(&d);
}

/* ------------------------------------------------- owner versus thieves */

#define NTHIEVES 3

struct race {
	struct troupe__deque d;
	atomic_uchar *taken; /* per item: how many times it was taken */
	int64_t n;
	atomic_int owner_done;
	atomic_long stolen[NTHIEVES];
	atomic_long aborts[NTHIEVES];
	atomic_int dup; /* an item taken twice, or an unknown one */
};

struct thief_arg {
	struct race *r;
	int id;
};

static void take(struct race *r, void *x)
{
	int64_t i = index_of(x);
	if (i < 0 || i >= r->n || atomic_fetch_add(&r->taken[i], 1) != 0)
		atomic_store(&r->dup, 1);
}

static void *thief_main(void *p)
{
	struct thief_arg *a = p;
	struct race *r = a->r;
	long stolen = 0, aborts = 0;
	for (;;) {
		/* Read the flag before stealing: an empty deque after the
		 * owner is done means it stays empty. */
		int done = atomic_load(&r->owner_done);
		void *x = troupe__deque_steal(&r->d);
		if (x == TROUPE__DEQUE_ABORT) {
			aborts++;
			continue;
		}
		if (x == NULL) {
			if (done)
				break;
			continue;
		}
		take(r, x);
		stolen++;
	}
	atomic_store(&r->stolen[a->id], stolen);
	atomic_store(&r->aborts[a->id], aborts);
	return NULL;
}

/* pattern 0: random bursts of pushes and pops; 1: push everything, then
 * pop (the last elements are fought over). */
static void race_round(int64_t n, int pattern, unsigned log_cap, uint64_t *rng)
{
	struct race *r = calloc(1, sizeof *r);
	assert_non_null(r);
	r->n = n;
	r->taken = calloc((size_t)n, sizeof r->taken[0]);
	assert_non_null(r->taken);
	assert_int_equal(troupe__deque_init(&r->d, log_cap), 0);

	pthread_t th[NTHIEVES];
	struct thief_arg ta[NTHIEVES];
	for (int i = 0; i < NTHIEVES; i++) {
		ta[i] = (struct thief_arg){.r = r, .id = i};
		assert_int_equal(
			pthread_create(&th[i], NULL, thief_main, &ta[i]), 0);
	}

	long popped = 0, pop_null = 0;
	int64_t next = 0;
	while (next < n) {
		int64_t burst = 1 + (int64_t)(test_rand(rng) % 64);
		if (pattern == 1)
			burst = n;
		for (int64_t k = 0; k < burst && next < n; k++)
			assert_int_equal(
				troupe__deque_push(&r->d, item(next++)), 0);
		int64_t pops = pattern == 1 ? 0 :
					      (int64_t)(test_rand(rng) % 48);
		for (int64_t k = 0; k < pops; k++) {
			void *x = troupe__deque_pop(&r->d);
			if (x == NULL) {
				pop_null++;
				break;
			}
			take(r, x);
			popped++;
		}
	}
	/* Drain from the owner's end while the thieves drain the other. */
	for (;;) {
		void *x = troupe__deque_pop(&r->d);
		if (x == NULL)
			break;
		take(r, x);
		popped++;
	}
	atomic_store(&r->owner_done, 1);
	for (int i = 0; i < NTHIEVES; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);

	long total = popped, aborts = 0;
	for (int i = 0; i < NTHIEVES; i++) {
		total += atomic_load(&r->stolen[i]);
		aborts += atomic_load(&r->aborts[i]);
	}
	int64_t once = 0, missing = 0, twice = 0;
	for (int64_t i = 0; i < n; i++) {
		unsigned c = atomic_load(&r->taken[i]);
		once += c == 1;
		missing += c == 0;
		twice += c > 1;
	}
	print_message("race pattern %d, %lld items, cap 2^%u: owner popped "
		      "%ld, thieves stole %ld/%ld/%ld (%ld aborts); "
		      "missing %lld, duplicated %lld\n",
		      pattern, (long long)n, log_cap, popped,
		      atomic_load(&r->stolen[0]), atomic_load(&r->stolen[1]),
		      atomic_load(&r->stolen[2]), aborts, (long long)missing,
		      (long long)twice);
	assert_int_equal(atomic_load(&r->dup), 0);
	assert_int_equal(missing, 0);
	assert_int_equal(twice, 0);
	assert_int_equal(once, n);
	assert_int_equal(total, n);
	assert_int_equal(troupe__deque_size(&r->d), 0);
	troupe__deque_fini(&r->d);
	free(r->taken);
	free(r);
}

static void stress_owner_vs_thieves(void **state)
{
	(void)state;
	uint64_t rng = seed;
	int64_t n = TEST_SANITIZED ? 300000 : 3000000;
	print_message("seed %llu (rerun: test_deque %llu)\n",
		      (unsigned long long)seed, (unsigned long long)seed);
	race_round(n, 0, 2, &rng);
	race_round(n, 1, 0, &rng);
	race_round(n / 10, 0, 8, &rng);
}

int main(int argc, char **argv)
{
	seed = argc > 1 ? strtoull(argv[1], NULL, 0) : test_time_seed();
	printf("test_deque seed %llu\n", (unsigned long long)seed);
	fflush(stdout);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty),
		cmocka_unit_test(lifo_owner),
		cmocka_unit_test(fifo_thief),
		cmocka_unit_test(both_ends),
		cmocka_unit_test(peek_bottom),
		cmocka_unit_test(growth),
		cmocka_unit_test(stress_owner_vs_thieves),
	};
	return cmocka_run_group_tests_name("deque", tests, NULL, NULL);
}
