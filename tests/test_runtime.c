/*
 * Contract tests for the runtime's life cycle: init/shutdown, several
 * runtimes in one process, leaks of threads and fds, error texts, argument
 * checking, idle CPU and shutdown with work in flight.  Public API only.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "test_util.h"

/* Threads and fds of the process before any runtime existed (set in
 * main): every runtime must leave nothing behind. */
static int base_threads;
static int base_fds;

static void add_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		   size_t nargs)
{
	(void)rt;
	int64_t sum = 0;
	for (size_t i = 0; i < nargs; i++) {
		int64_t v = 0;
		if (troupe_value_i64(&args[i], &v) != TROUPE_OK) {
			troupe_fail(ctx, "add: arg %zu is not an i64", i);
			return;
		}
		sum += v;
	}
	troupe_return_i64(ctx, sum);
}

/* Submits add(a, b) on rt and checks the result through get. */
static void check_add(troupe *rt, int64_t a, int64_t b)
{
	troupe_arg args[2] = {TROUPE_I64(a), TROUPE_I64(b)};
	troupe_ref r;
	assert_int_equal(troupe_submit(rt, add_fn, args, 2, NULL, &r),
			 TROUPE_OK);
	int64_t v = 0;
	assert_int_equal(troupe_get_i64(rt, r, -1, &v), TROUPE_OK);
	assert_int_equal(v, a + b);
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);
}

/* ----------------------------------------------------------- cases */

static void init_null_cfg(void **state)
{
	(void)state;
	troupe *rt = NULL;
	assert_int_equal(troupe_init(&rt, NULL), TROUPE_OK);
	assert_non_null(rt);
	unsigned n = 0;
	assert_int_equal(troupe_num_workers(rt, &n), TROUPE_OK);
	/* NULL cfg means num_workers 0: one per CPU the process may use. */
	assert_int_equal(n, test_cpus());
	check_add(rt, 40, 2);
	assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
}

static void init_with_cfg(void **state)
{
	(void)state;
	const troupe_config cfgs[] = {
		{.num_workers = 3, .spin_us = -1, .max_threads = 16},
		{.num_workers = 1, .spin_us = 50, .max_threads = 0},
		{.num_workers = 0, .spin_us = 0, .max_threads = 0},
	};
	for (size_t i = 0; i < sizeof cfgs / sizeof cfgs[0]; i++) {
		troupe_config cfg = cfgs[i];
		troupe *rt = NULL;
		assert_int_equal(troupe_init(&rt, &cfg), TROUPE_OK);
		/* cfg is read, not kept. */
		memset(&cfg, 0xff, sizeof cfg);
		unsigned n = 0;
		assert_int_equal(troupe_num_workers(rt, &n), TROUPE_OK);
		unsigned want = cfgs[i].num_workers ? cfgs[i].num_workers :
						      test_cpus();
		assert_int_equal(n, want);
		for (int k = 0; k < 100; k++)
			check_add(rt, k, 1000);
		assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
	}
}

/* A thread takes ids from each runtime a block at a time (objtab.c).  One
 * that turns from runtime to runtime, and to a new runtime made where an
 * old one was, must still take them from the runtime it calls: here the
 * main thread alternates between two runtimes while a second thread puts
 * into one of them, and every value is found where it was put (ids from
 * the wrong runtime's counter would collide with the second thread's). */
enum { IDS_N = 2000 };

struct id_putter {
	troupe *rt;
	troupe_ref refs[IDS_N];
	int failed;
};

static void *put_many(void *arg)
{
	struct id_putter *p = arg;
	for (int i = 0; i < IDS_N; i++)
		if (troupe_put_i64(p->rt, 1000000 + i, &p->refs[i]) !=
		    TROUPE_OK)
			p->failed++;
	return NULL;
}

static void ids_across_runtimes(void **state)
{
	(void)state;
	troupe_config one = {.num_workers = 1};
	troupe *keep = NULL;
	static troupe_ref rk[IDS_N], ro[IDS_N];
	static struct id_putter helper;
	assert_int_equal(troupe_init(&keep, &one), TROUPE_OK);
	for (int round = 0; round < 3; round++) {
		troupe *other = NULL;
		assert_int_equal(troupe_init(&other, &one), TROUPE_OK);
		helper = (struct id_putter){.rt = other};
		pthread_t th;
		assert_int_equal(pthread_create(&th, NULL, put_many, &helper),
				 0);
		for (int i = 0; i < IDS_N; i++) { /* alternate */
			assert_int_equal(troupe_put_i64(keep, i, &rk[i]),
					 TROUPE_OK);
			assert_int_equal(troupe_put_i64(other, -i, &ro[i]),
					 TROUPE_OK);
		}
		assert_int_equal(pthread_join(th, NULL), 0);
		assert_int_equal(helper.failed, 0);
		for (int i = 0; i < IDS_N; i++) {
			int64_t v = 1;
			assert_int_equal(troupe_get_i64(keep, rk[i], 0, &v),
					 TROUPE_OK);
			assert_int_equal(v, i);
			assert_int_equal(troupe_get_i64(other, ro[i], 0, &v),
					 TROUPE_OK);
			assert_int_equal(v, -i);
			assert_int_equal(troupe_get_i64(other, helper.refs[i],
							0, &v),
					 TROUPE_OK);
			assert_int_equal(v, 1000000 + i);
			assert_int_equal(troupe_get_i64(keep, ro[i], 0, &v),
					 TROUPE_EFOREIGN);
			assert_int_equal(troupe_release(keep, rk[i]),
					 TROUPE_OK);
		}
		/* other goes with its refs unreleased; the next round's
		 * runtime may be made at the same address. */
		assert_int_equal(troupe_shutdown(other), TROUPE_OK);
	}
	assert_int_equal(troupe_shutdown(keep), TROUPE_OK);
}

static void several_runtimes(void **state)
{
	(void)state;
	troupe *a = NULL, *b = NULL;
	troupe_config one = {.num_workers = 1};
	assert_int_equal(troupe_init(&a, NULL), TROUPE_OK);
	assert_int_equal(troupe_init(&b, &one), TROUPE_OK);
	assert_ptr_not_equal(a, b);

	troupe_ref ra, rb;
	assert_int_equal(troupe_put_i64(a, 111, &ra), TROUPE_OK);
	assert_int_equal(troupe_put_i64(b, 222, &rb), TROUPE_OK);
	int64_t v = 0;
	assert_int_equal(troupe_get_i64(a, ra, 0, &v), TROUPE_OK);
	assert_int_equal(v, 111);
	assert_int_equal(troupe_get_i64(b, rb, 0, &v), TROUPE_OK);
	assert_int_equal(v, 222);

	/* A ref of one runtime used on the other: EFOREIGN everywhere. */
	troupe_value val = {.data = &v, .size = 1};
	assert_int_equal(troupe_get(b, ra, 0, &val), TROUPE_EFOREIGN);
	assert_ptr_equal(val.data, &v); /* out-param untouched */
	assert_int_equal(troupe_get(a, rb, -1, NULL), TROUPE_EFOREIGN);
	assert_int_equal(troupe_get_i64(b, ra, 0, &v), TROUPE_EFOREIGN);
	assert_int_equal(troupe_retain(b, ra), TROUPE_EFOREIGN);
	assert_int_equal(troupe_release(b, ra), TROUPE_EFOREIGN);
	bool ready[2] = {true, true};
	troupe_ref mixed[2] = {rb, ra};
	assert_int_equal(troupe_wait(b, mixed, 2, 1, 0, ready),
			 TROUPE_EFOREIGN);
	const char *msg = NULL;
	assert_int_equal(troupe_error_message(b, ra, &msg), TROUPE_EFOREIGN);
	assert_null(msg);
	troupe_arg arg = TROUPE_REF(ra);
	troupe_ref out = {.id = 12345};
	assert_int_equal(troupe_submit(b, add_fn, &arg, 1, NULL, &out),
			 TROUPE_EFOREIGN);
	assert_int_equal(out.id, 12345);

	/* The failed calls changed nothing: ra still holds one reference
	 * on a, rb one on b. */
	assert_int_equal(troupe_get_i64(a, ra, 0, &v), TROUPE_OK);
	assert_int_equal(v, 111);

	/* No shared registry: the same name registers in both. */
	assert_int_equal(troupe_register(a, "add", add_fn), TROUPE_OK);
	assert_int_equal(troupe_register(b, "add", add_fn), TROUPE_OK);

	/* Both run work at the same time. */
	for (int k = 0; k < 50; k++) {
		check_add(a, k, 1);
		check_add(b, k, 2);
	}

	assert_int_equal(troupe_release(a, ra), TROUPE_OK);
	assert_int_equal(troupe_shutdown(a), TROUPE_OK);

	/* b is unaffected by a's shutdown. */
	assert_int_equal(troupe_get_i64(b, rb, 0, &v), TROUPE_OK);
	assert_int_equal(v, 222);
	check_add(b, 5, 6);
	assert_int_equal(troupe_release(b, rb), TROUPE_OK);
	assert_int_equal(troupe_shutdown(b), TROUPE_OK);
}

static void init_shutdown_loop(void **state)
{
	(void)state;
	/* A thread that an earlier case's runtime started may still be
	 * exiting (liburcu's helpers are detached): give it a moment. */
	TEST_WAIT_UNTIL(test_thread_count() == base_threads);
	int threads_before = test_thread_count();
	int fds_before = test_fd_count();
	print_message("threads: %d at start of process, %d before the loop; "
		      "fds: %d / %d\n",
		      base_threads, threads_before, base_fds, fds_before);

	for (int i = 0; i < 1000; i++) {
		troupe *rt = NULL;
		troupe_config cfg = {.num_workers = 1 + (unsigned)(i % 3)};
		assert_int_equal(troupe_init(&rt, i % 2 ? &cfg : NULL),
				 TROUPE_OK);
		if (i % 4 == 0) {
			/* Give the workers, the object table and RCU
			 * something to clean up. */
			check_add(rt, i, i);
			troupe_ref r;
			assert_int_equal(troupe_put_str(rt, "x", &r),
					 TROUPE_OK);
			if (i % 8 == 0)
				assert_int_equal(troupe_release(rt, r),
						 TROUPE_OK);
		}
		if (i % 16 == 0) {
			int fd = -1;
			assert_int_equal(troupe_completion_fd(rt, &fd),
					 TROUPE_OK);
		}
		assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
	}

	/* Joined threads leave /proc/self/task at once; allow a detached
	 * helper a moment to finish exiting, but no thread may stay. */
	TEST_WAIT_UNTIL(test_thread_count() == base_threads);
	int threads_after = test_thread_count();
	int fds_after = test_fd_count();
	print_message("after 1000 init/shutdown: threads %d, fds %d\n",
		      threads_after, fds_after);
	assert_int_equal(threads_after, base_threads);
	assert_int_equal(threads_before, base_threads);
	assert_int_equal(fds_after, fds_before);
}

static void strerror_all(void **state)
{
	(void)state;
	const char *texts[TROUPE_NERRORS];
	for (int e = 0; e < TROUPE_NERRORS; e++) {
		texts[e] = troupe_strerror((troupe_err)e);
		assert_non_null(texts[e]);
		assert_true(strlen(texts[e]) > 0);
		for (int k = 0; k < e; k++)
			assert_string_not_equal(texts[e], texts[k]);
	}
	assert_non_null(troupe_strerror(TROUPE_NERRORS));
	assert_non_null(troupe_strerror((troupe_err)1000));
	assert_non_null(troupe_strerror((troupe_err)-1));
}

static void noop_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		    size_t nargs)
{
	(void)rt, (void)ctx, (void)args, (void)nargs;
}

static void ready_cb(troupe *rt, troupe_ref ref, troupe_err st, void *arg)
{
	(void)rt, (void)ref, (void)st;
	atomic_fetch_add((atomic_int *)arg, 1);
}

/* What a body saw when it passed NULLs to the ctx functions. */
struct null_body {
	troupe_err ret_null, ret_at_null, owned_null, str_null, fail_null;
	troupe_err ret_ok;
};

static void null_body_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
			 size_t nargs)
{
	(void)rt, (void)nargs;
	struct null_body *nb = test_ptr_of(&args[0]);
	nb->ret_null = troupe_return(ctx, NULL, 3);
	nb->ret_at_null = troupe_return_at(ctx, 0, NULL, 3);
	nb->owned_null = troupe_return_owned(ctx, 0, NULL, 3, free);
	nb->str_null = troupe_return_str(ctx, NULL);
	nb->fail_null = troupe_fail(ctx, NULL);
	/* None of those changed anything: the task can still return. */
	nb->ret_ok = troupe_return_i64(ctx, 99);
}

static void null_args(void **state)
{
	(void)state;
	troupe *rt = NULL;
	troupe_config cfg = {.num_workers = 2};
	assert_int_equal(troupe_init(NULL, NULL), TROUPE_EINVAL);
	assert_int_equal(troupe_init(NULL, &cfg), TROUPE_EINVAL);
	assert_int_equal(troupe_init(&rt, &cfg), TROUPE_OK);
	assert_int_equal(troupe_shutdown(NULL), TROUPE_EINVAL);

	unsigned n = 77;
	assert_int_equal(troupe_num_workers(NULL, &n), TROUPE_EINVAL);
	assert_int_equal(troupe_num_workers(rt, NULL), TROUPE_EINVAL);
	assert_int_equal(n, 77);

	const troupe_ref sentinel = {.id = 0xabcdef};
	troupe_ref r = sentinel;
	char byte = 1;
	assert_int_equal(troupe_put(NULL, &byte, 1, &r), TROUPE_EINVAL);
	assert_int_equal(troupe_put(rt, NULL, 1, &r), TROUPE_EINVAL);
	assert_int_equal(troupe_put(rt, &byte, 1, NULL), TROUPE_EINVAL);
	assert_int_equal(r.id, sentinel.id);
	assert_int_equal(troupe_put_owned(NULL, &byte, 1, NULL, &r),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_put_owned(rt, &byte, 1, NULL, NULL),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_put_owned(rt, NULL, 1, free, &r),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_put_i64(NULL, 1, &r), TROUPE_EINVAL);
	assert_int_equal(troupe_put_i64(rt, 1, NULL), TROUPE_EINVAL);
	assert_int_equal(troupe_put_f64(NULL, 1, &r), TROUPE_EINVAL);
	assert_int_equal(troupe_put_f64(rt, 1, NULL), TROUPE_EINVAL);
	assert_int_equal(troupe_put_str(NULL, "s", &r), TROUPE_EINVAL);
	assert_int_equal(troupe_put_str(rt, NULL, &r), TROUPE_EINVAL);
	assert_int_equal(troupe_put_str(rt, "s", NULL), TROUPE_EINVAL);
	assert_int_equal(r.id, sentinel.id);

	/* NULL data is fine when size is 0. */
	troupe_ref empty;
	assert_int_equal(troupe_put(rt, NULL, 0, &empty), TROUPE_OK);
	troupe_value ev = {.data = &byte, .size = 99};
	assert_int_equal(troupe_get(rt, empty, 0, &ev), TROUPE_OK);
	assert_int_equal(ev.size, 0);

	troupe_ref ok;
	assert_int_equal(troupe_put_i64(rt, 5, &ok), TROUPE_OK);
	assert_int_equal(troupe_retain(NULL, ok), TROUPE_EINVAL);
	assert_int_equal(troupe_release(NULL, ok), TROUPE_EINVAL);

	troupe_value v = {.data = &byte, .size = 42};
	assert_int_equal(troupe_get(NULL, ok, 0, &v), TROUPE_EINVAL);
	assert_int_equal(v.size, 42);
	/* value may be NULL: only wait. */
	assert_int_equal(troupe_get(rt, ok, 0, NULL), TROUPE_OK);
	int64_t i64 = 3;
	double f64 = 3;
	const char *s = "keep";
	assert_int_equal(troupe_get_i64(NULL, ok, 0, &i64), TROUPE_EINVAL);
	assert_int_equal(troupe_get_i64(rt, ok, 0, NULL), TROUPE_EINVAL);
	assert_int_equal(troupe_get_f64(NULL, ok, 0, &f64), TROUPE_EINVAL);
	assert_int_equal(troupe_get_f64(rt, ok, 0, NULL), TROUPE_EINVAL);
	assert_int_equal(troupe_get_str(NULL, ok, 0, &s), TROUPE_EINVAL);
	assert_int_equal(troupe_get_str(rt, ok, 0, NULL), TROUPE_EINVAL);
	assert_int_equal(i64, 3);
	assert_string_equal(s, "keep");

	troupe_value view = {.data = &i64, .size = sizeof i64};
	assert_int_equal(troupe_value_i64(NULL, &i64), TROUPE_EINVAL);
	assert_int_equal(troupe_value_i64(&view, NULL), TROUPE_EINVAL);
	assert_int_equal(troupe_value_f64(NULL, &f64), TROUPE_EINVAL);
	assert_int_equal(troupe_value_f64(&view, NULL), TROUPE_EINVAL);
	assert_int_equal(troupe_value_str(NULL, &s), TROUPE_EINVAL);
	assert_int_equal(troupe_value_str(&view, NULL), TROUPE_EINVAL);

	troupe_ref refs[2] = {ok, ok};
	bool ready[2] = {false, false};
	assert_int_equal(troupe_wait(NULL, refs, 2, 1, 0, ready),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_wait(rt, NULL, 2, 1, 0, ready), TROUPE_EINVAL);
	assert_int_equal(troupe_wait(rt, refs, 2, 1, 0, NULL), TROUPE_EINVAL);
	assert_int_equal(troupe_wait(rt, refs, 0, 1, 0, ready), TROUPE_EINVAL);
	assert_int_equal(troupe_wait(rt, refs, 2, 0, 0, ready), TROUPE_EINVAL);
	assert_int_equal(troupe_wait(rt, refs, 2, 3, 0, ready), TROUPE_EINVAL);
	assert_false(ready[0] || ready[1]);
	assert_int_equal(troupe_wait(rt, refs, 2, 2, 0, ready), TROUPE_OK);
	assert_true(ready[0] && ready[1]);

	const char *msg = "keep";
	assert_int_equal(troupe_error_message(NULL, ok, &msg), TROUPE_EINVAL);
	assert_int_equal(troupe_error_message(rt, ok, NULL), TROUPE_EINVAL);
	assert_string_equal(msg, "keep");

	atomic_int calls = 0;
	assert_int_equal(troupe_on_ready(NULL, ok, ready_cb, &calls),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_on_ready(rt, ok, NULL, &calls), TROUPE_EINVAL);
	assert_int_equal(troupe_on_ready_post(NULL, ok, ready_cb, &calls),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_on_ready_post(rt, ok, NULL, &calls),
			 TROUPE_EINVAL);
	int fd = -7;
	assert_int_equal(troupe_completion_fd(NULL, &fd), TROUPE_EINVAL);
	assert_int_equal(troupe_completion_fd(rt, NULL), TROUPE_EINVAL);
	assert_int_equal(fd, -7);
	size_t ran = 5;
	assert_int_equal(troupe_dispatch(NULL, &ran), TROUPE_EINVAL);
	assert_int_equal(ran, 5);
	/* ran may be NULL. */
	assert_int_equal(troupe_dispatch(rt, NULL), TROUPE_OK);
	/* No failed registration ever calls back. */
	assert_int_equal(atomic_load(&calls), 0);

	troupe_arg args[1] = {TROUPE_I64(1)};
	r = sentinel;
	assert_int_equal(troupe_submit(NULL, noop_fn, args, 1, NULL, &r),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_submit(rt, NULL, args, 1, NULL, &r),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_submit(rt, noop_fn, NULL, 1, NULL, &r),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_submit(rt, noop_fn, args, 1, NULL, NULL),
			 TROUPE_EINVAL);
	troupe_arg bad_kind = {.kind = (enum troupe_arg_kind)0};
	assert_int_equal(troupe_submit(rt, noop_fn, &bad_kind, 1, NULL, &r),
			 TROUPE_EINVAL);
	troupe_arg null_bytes = TROUPE_BYTES(NULL, 4);
	assert_int_equal(troupe_submit(rt, noop_fn, &null_bytes, 1, NULL, &r),
			 TROUPE_EINVAL);
	assert_int_equal(r.id, sentinel.id);
	/* args may be NULL when there are none. */
	assert_int_equal(troupe_submit(rt, noop_fn, NULL, 0, NULL, &r),
			 TROUPE_OK);
	assert_int_equal(troupe_get(rt, r, -1, NULL), TROUPE_OK);
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);

	assert_int_equal(troupe_register(NULL, "f", noop_fn), TROUPE_EINVAL);
	assert_int_equal(troupe_register(rt, NULL, noop_fn), TROUPE_EINVAL);
	assert_int_equal(troupe_register(rt, "f", NULL), TROUPE_EINVAL);
	r = sentinel;
	assert_int_equal(troupe_submit_named(NULL, "f", args, 1, NULL, &r),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_submit_named(rt, NULL, args, 1, NULL, &r),
			 TROUPE_EINVAL);
	/* The failed register above did not register "f". */
	assert_int_equal(troupe_submit_named(rt, "f", args, 1, NULL, &r),
			 TROUPE_ENOTFOUND);
	assert_int_equal(troupe_register(rt, "f", noop_fn), TROUPE_OK);
	assert_int_equal(troupe_submit_named(rt, "f", NULL, 1, NULL, &r),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_submit_named(rt, "f", args, 1, NULL, NULL),
			 TROUPE_EINVAL);
	assert_int_equal(r.id, sentinel.id);

	/* ctx functions with a NULL ctx. */
	assert_int_equal(troupe_return(NULL, &byte, 1), TROUPE_EINVAL);
	assert_int_equal(troupe_return_at(NULL, 0, &byte, 1), TROUPE_EINVAL);
	assert_int_equal(troupe_return_owned(NULL, 0, &byte, 1, NULL),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_return_i64(NULL, 1), TROUPE_EINVAL);
	assert_int_equal(troupe_return_f64(NULL, 1), TROUPE_EINVAL);
	assert_int_equal(troupe_return_str(NULL, "s"), TROUPE_EINVAL);
	assert_int_equal(troupe_fail(NULL, "x"), TROUPE_EINVAL);

	/* NULL data inside a body. */
	struct null_body nb;
	memset(&nb, 0xff, sizeof nb);
	struct null_body *nbp = &nb;
	troupe_arg nba = TEST_PTR_ARG(nbp);
	assert_int_equal(troupe_submit(rt, null_body_fn, &nba, 1, NULL, &r),
			 TROUPE_OK);
	int64_t got = 0;
	assert_int_equal(troupe_get_i64(rt, r, -1, &got), TROUPE_OK);
	assert_int_equal(nb.ret_null, TROUPE_EINVAL);
	assert_int_equal(nb.ret_at_null, TROUPE_EINVAL);
	assert_int_equal(nb.owned_null, TROUPE_EINVAL);
	assert_int_equal(nb.str_null, TROUPE_EINVAL);
	assert_int_equal(nb.fail_null, TROUPE_EINVAL);
	assert_int_equal(nb.ret_ok, TROUPE_OK);
	assert_int_equal(got, 99);
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);

	assert_int_equal(troupe_release(rt, ok), TROUPE_OK);
	assert_int_equal(troupe_release(rt, empty), TROUPE_OK);
	assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
}

static double process_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void idle_cpu(void **state)
{
	(void)state;
	troupe *rt = NULL;
	assert_int_equal(troupe_init(&rt, NULL), TROUPE_OK);
	/* Warm-up: wake every worker, then let them spin out and park. */
	for (int round = 0; round < 10; round++) {
		troupe_ref refs[256];
		for (int i = 0; i < 256; i++) {
			troupe_arg a[2] = {TROUPE_I64(i), TROUPE_I64(round)};
			assert_int_equal(troupe_submit(rt, add_fn, a, 2, NULL,
						       &refs[i]),
					 TROUPE_OK);
		}
		for (int i = 0; i < 256; i++) {
			int64_t v;
			assert_int_equal(troupe_get_i64(rt, refs[i], -1, &v),
					 TROUPE_OK);
			assert_int_equal(v, i + round);
			assert_int_equal(troupe_release(rt, refs[i]),
					 TROUPE_OK);
		}
	}
	test_sleep_ms(200);

	double c0 = process_cpu_s(), t0 = test_now_s();
	test_sleep_ms(2000);
	double c1 = process_cpu_s(), t1 = test_now_s();
	double ms = (c1 - c0) * 1e3;
	unsigned n = 0;
	troupe_num_workers(rt, &n);
	print_message("idle runtime (%u workers): %.2f ms process CPU over "
		      "%.2f s (target < 10 ms)%s\n",
		      n, ms, t1 - t0,
		      TEST_SANITIZED ? " [sanitizer build]" : "");
	/* Generous: catches a spinning pool, not a slow one. */
	assert_true(ms < 200.0);
	check_add(rt, 1, 2); /* still works after parking */
	assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
}

/* ------------------------------------------- shutdown with work pending */

struct slot {
	atomic_int calls;
	atomic_int status;
};

static void slot_cb(troupe *rt, troupe_ref ref, troupe_err st, void *arg)
{
	(void)rt, (void)ref;
	struct slot *s = arg;
	atomic_store(&s->status, (int)st);
	atomic_fetch_add(&s->calls, 1);
}

struct sleeper {
	atomic_int started;
	atomic_int inner_status; /* a get of a queued ref, from the body */
	atomic_int done;
	_Atomic uint64_t awaited; /* a ref id, set after the body started */
};

static void sleeper_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		       size_t nargs)
{
	(void)nargs;
	struct sleeper *s = test_ptr_of(&args[0]);
	atomic_fetch_add(&s->started, 1);
	test_sleep_ms(300);
	troupe_ref awaited = {.id = atomic_load(&s->awaited)};
	atomic_store(&s->inner_status, (int)troupe_get(rt, awaited, -1, NULL));
	atomic_fetch_add(&s->done, 1);
	troupe_return_i64(ctx, 1);
}

static atomic_int queued_ran;

static void counted_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		       size_t nargs)
{
	atomic_fetch_add(&queued_ran, 1);
	add_fn(rt, ctx, args, nargs);
}

struct blocked_getter {
	troupe *rt;
	troupe_ref ref;
	atomic_int entering;
	atomic_int status;
	atomic_int returned;
};

static void *getter_main(void *p)
{
	struct blocked_getter *g = p;
	atomic_store(&g->entering, 1);
	troupe_err e = troupe_get(g->rt, g->ref, -1, NULL);
	atomic_store(&g->status, (int)e);
	atomic_store(&g->returned, 1);
	return NULL;
}

#define NQUEUED 400
#define NDEPS 200

static void shutdown_pending(void **state)
{
	(void)state;
	troupe *rt = NULL;
	troupe_config cfg = {.num_workers = 2};
	assert_int_equal(troupe_init(&rt, &cfg), TROUPE_OK);
	atomic_store(&queued_ran, 0);

	enum { NSLEEP = 2, NREFS = NSLEEP + NQUEUED + NDEPS };
	static struct slot slots[NREFS];
	memset(slots, 0, sizeof slots);
	static troupe_ref refs[NREFS];
	struct sleeper sl[NSLEEP];
	memset(sl, 0, sizeof sl);

	/* Queued tasks first (they wait behind the sleepers once those
	 * occupy both workers)... */
	troupe_ref *queued = refs + NSLEEP, *deps = refs + NSLEEP + NQUEUED;
	for (int i = 0; i < NSLEEP; i++) {
		struct sleeper *p = &sl[i];
		troupe_arg a = TEST_PTR_ARG(p);
		assert_int_equal(troupe_submit(rt, sleeper_fn, &a, 1, NULL,
					       &refs[i]),
				 TROUPE_OK);
	}
	TEST_WAIT_UNTIL(atomic_load(&sl[0].started) == 1 &&
			atomic_load(&sl[1].started) == 1);
	assert_int_equal(atomic_load(&sl[0].started), 1);
	assert_int_equal(atomic_load(&sl[1].started), 1);

	for (int i = 0; i < NQUEUED; i++) {
		troupe_arg a[2] = {TROUPE_I64(i), TROUPE_I64(1)};
		assert_int_equal(troupe_submit(rt, counted_fn, a, 2, NULL,
					       &queued[i]),
				 TROUPE_OK);
	}
	/* The sleepers' bodies get refs that are still queued.  Written
	 * before they wake (they sleep 300 ms). */
	atomic_store(&sl[0].awaited, queued[NQUEUED - 1].id);
	atomic_store(&sl[1].awaited, queued[NQUEUED - 2].id);
	/* ... tasks waiting on dependencies that are queued ... */
	for (int i = 0; i < NDEPS; i++) {
		troupe_arg a[2] = {TROUPE_REF(queued[i]),
				   TROUPE_REF(queued[NQUEUED - 1 - i])};
		assert_int_equal(troupe_submit(rt, add_fn, a, 2, NULL,
					       &deps[i]),
				 TROUPE_OK);
	}
	for (int i = 0; i < NREFS; i++)
		assert_int_equal(troupe_on_ready(rt, refs[i], slot_cb,
						 &slots[i]),
				 TROUPE_OK);

	/* ... and an application thread blocked in get. */
	struct blocked_getter g = {.rt = rt, .ref = deps[NDEPS - 1]};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, getter_main, &g), 0);
	TEST_WAIT_UNTIL(atomic_load(&g.entering));
	test_sleep_ms(20);

	/* Half the refs released now (on_ready keeps those alive until
	 * their callback); the other half are still held at shutdown and
	 * must be freed by it.  Keep the ones the sleepers and the getter
	 * use. */
	for (int i = NSLEEP; i < NREFS - 1; i += 2)
		if (i != NSLEEP + NQUEUED - 1 && i != NSLEEP + NQUEUED - 2)
			assert_int_equal(troupe_release(rt, refs[i]),
					 TROUPE_OK);

	double t0 = test_now_s();
	assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
	double t1 = test_now_s();
	assert_int_equal(pthread_join(th, NULL), 0);

	int ok = 0, down = 0, queued_ok = 0;
	for (int i = 0; i < NREFS; i++) {
		assert_int_equal(atomic_load(&slots[i].calls), 1);
		int st = atomic_load(&slots[i].status);
		assert_true(st == TROUPE_OK || st == TROUPE_ESHUTDOWN);
		ok += st == TROUPE_OK;
		down += st == TROUPE_ESHUTDOWN;
		if (i >= NSLEEP && i < NSLEEP + NQUEUED)
			queued_ok += st == TROUPE_OK;
	}
	/* Running bodies were waited for. */
	for (int i = 0; i < NSLEEP; i++) {
		assert_int_equal(atomic_load(&sl[i].done), 1);
		int st = atomic_load(&sl[i].inner_status);
		assert_true(st == TROUPE_OK || st == TROUPE_ESHUTDOWN);
	}
	/* A queued ref resolved to a value only if its body ran. */
	assert_true(queued_ok <= atomic_load(&queued_ran));
	assert_int_equal(atomic_load(&g.returned), 1);
	int gs = atomic_load(&g.status);
	assert_true(gs == TROUPE_OK || gs == TROUPE_ESHUTDOWN);
	print_message("shutdown with %d refs pending took %.1f ms: %d resolved "
		      "to values, %d to ESHUTDOWN; %d queued bodies ran; "
		      "blocked get returned %s\n",
		      NREFS, (t1 - t0) * 1e3, ok, down,
		      atomic_load(&queued_ran), troupe_strerror(gs));
}

/* Bodies running while shutdown runs: their calls return ESHUTDOWN (they
 * poll with put until it does, so no timing is assumed), their gets of
 * refs still queued return ESHUTDOWN, and nothing queued runs. */
struct prober {
	atomic_int started;
	atomic_int puts_ok;
	atomic_int put_final, submit_status, get_status, on_ready_status;
	_Atomic uint64_t awaited;
};

static void prober_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		      size_t nargs)
{
	(void)nargs;
	struct prober *p = test_ptr_of(&args[0]);
	atomic_fetch_add(&p->started, 1);
	troupe_err e = TROUPE_OK;
	double deadline = test_now_s() + TEST_HANG_S;
	while (test_now_s() < deadline) {
		troupe_ref r;
		e = troupe_put_i64(rt, 1, &r);
		if (e != TROUPE_OK)
			break;
		atomic_fetch_add(&p->puts_ok, 1);
		troupe_release(rt, r);
		test_sleep_ms(1);
	}
	atomic_store(&p->put_final, (int)e);
	troupe_ref out = {0};
	troupe_arg a[2] = {TROUPE_I64(1), TROUPE_I64(2)};
	atomic_store(&p->submit_status,
		     (int)troupe_submit(rt, add_fn, a, 2, NULL, &out));
	troupe_ref awaited = {.id = atomic_load(&p->awaited)};
	atomic_store(&p->get_status, (int)troupe_get(rt, awaited, -1, NULL));
	atomic_int dummy = 0;
	atomic_store(&p->on_ready_status,
		     (int)troupe_on_ready(rt, awaited, ready_cb, &dummy));
	troupe_return_i64(ctx, 1);
}

static void calls_during_shutdown(void **state)
{
	(void)state;
	troupe *rt = NULL;
	troupe_config cfg = {.num_workers = 2};
	assert_int_equal(troupe_init(&rt, &cfg), TROUPE_OK);
	atomic_store(&queued_ran, 0);
	enum { NPROBE = 2, NQ = 50, ND = 20, N = NPROBE + NQ + ND };
	struct prober pr[NPROBE];
	memset(pr, 0, sizeof pr);
	troupe_ref refs[N];
	struct slot slots[N];
	memset(slots, 0, sizeof slots);
	for (int i = 0; i < NPROBE; i++) {
		struct prober *pp = &pr[i];
		troupe_arg a = TEST_PTR_ARG(pp);
		assert_int_equal(troupe_submit(rt, prober_fn, &a, 1, NULL,
					       &refs[i]),
				 TROUPE_OK);
	}
	TEST_WAIT_UNTIL(atomic_load(&pr[0].started) &&
			atomic_load(&pr[1].started));
	assert_true(atomic_load(&pr[0].started) && atomic_load(&pr[1].started));
	/* Both workers are busy in the probers: these stay queued. */
	for (int i = NPROBE; i < NPROBE + NQ; i++) {
		troupe_arg a[2] = {TROUPE_I64(i), TROUPE_I64(0)};
		assert_int_equal(troupe_submit(rt, counted_fn, a, 2, NULL,
					       &refs[i]),
				 TROUPE_OK);
	}
	for (int i = NPROBE + NQ; i < N; i++) {
		troupe_arg a[2] = {TROUPE_REF(refs[i - NQ]), TROUPE_I64(1)};
		assert_int_equal(troupe_submit(rt, add_fn, a, 2, NULL,
					       &refs[i]),
				 TROUPE_OK);
	}
	atomic_store(&pr[0].awaited, refs[NPROBE].id);
	atomic_store(&pr[1].awaited, refs[N - 1].id);
	for (int i = 0; i < N; i++)
		assert_int_equal(troupe_on_ready(rt, refs[i], slot_cb,
						 &slots[i]),
				 TROUPE_OK);
	/* The probers are known to be working (their puts succeed). */
	TEST_WAIT_UNTIL(atomic_load(&pr[0].puts_ok) > 0 &&
			atomic_load(&pr[1].puts_ok) > 0);
	assert_int_equal(troupe_shutdown(rt), TROUPE_OK);

	for (int i = 0; i < NPROBE; i++) {
		assert_true(atomic_load(&pr[i].puts_ok) > 0);
		assert_int_equal(atomic_load(&pr[i].put_final),
				 TROUPE_ESHUTDOWN);
		assert_int_equal(atomic_load(&pr[i].submit_status),
				 TROUPE_ESHUTDOWN);
		assert_int_equal(atomic_load(&pr[i].get_status),
				 TROUPE_ESHUTDOWN);
		int st = atomic_load(&pr[i].on_ready_status);
		/* Either refused, or registered on a ref already resolved
		 * (to ESHUTDOWN) and called at once. */
		assert_true(st == TROUPE_ESHUTDOWN || st == TROUPE_OK);
	}
	/* Queued tasks never ran; their refs and their dependents' resolved
	 * to ESHUTDOWN, each callback once. */
	assert_int_equal(atomic_load(&queued_ran), 0);
	for (int i = 0; i < N; i++) {
		assert_int_equal(atomic_load(&slots[i].calls), 1);
		int st = atomic_load(&slots[i].status);
		if (i >= NPROBE)
			assert_int_equal(st, TROUPE_ESHUTDOWN);
		else
			assert_true(st == TROUPE_OK || st == TROUPE_ESHUTDOWN);
	}
}

struct self_shutdown {
	atomic_int status;
};

static void self_shutdown_fn(troupe *rt, troupe_ctx *ctx,
			     const troupe_value *args, size_t nargs)
{
	(void)ctx, (void)nargs;
	struct self_shutdown *s = test_ptr_of(&args[0]);
	atomic_store(&s->status, (int)troupe_shutdown(rt));
}

static void shutdown_from_body(void **state)
{
	(void)state;
	troupe *rt = NULL;
	assert_int_equal(troupe_init(&rt, NULL), TROUPE_OK);
	struct self_shutdown s = {.status = -1};
	struct self_shutdown *sp = &s;
	troupe_arg a = TEST_PTR_ARG(sp);
	troupe_ref r;
	assert_int_equal(troupe_submit(rt, self_shutdown_fn, &a, 1, NULL, &r),
			 TROUPE_OK);
	assert_int_equal(troupe_get(rt, r, -1, NULL), TROUPE_OK);
	assert_int_equal(atomic_load(&s.status), TROUPE_EINVAL);
	/* The runtime is still alive. */
	check_add(rt, 2, 3);
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);
	assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
}

/* Stress: several application threads, each creating, using and shutting
 * down its own runtimes at the same time as the others. */
static void *runtime_churn(void *p)
{
	intptr_t failures = 0;
	int64_t id = (int64_t)(intptr_t)p;
	for (int round = 0; round < 20; round++) {
		troupe *rt = NULL;
		troupe_config cfg = {.num_workers = 1 + (unsigned)(round % 2)};
		if (troupe_init(&rt, &cfg) != TROUPE_OK)
			return (void *)(intptr_t)1000000;
		troupe_ref refs[64];
		for (int i = 0; i < 64; i++) {
			troupe_arg a[2] = {TROUPE_I64(i), TROUPE_I64(id)};
			if (troupe_submit(rt, add_fn, a, 2, NULL, &refs[i]) !=
			    TROUPE_OK)
				refs[i].id = 0, failures++;
		}
		for (int i = 0; i < 64; i++) {
			int64_t v = -1;
			if (refs[i].id == 0)
				continue;
			if (troupe_get_i64(rt, refs[i], -1, &v) != TROUPE_OK ||
			    v != i + id)
				failures++;
			if (troupe_release(rt, refs[i]) != TROUPE_OK)
				failures++;
		}
		if (troupe_shutdown(rt) != TROUPE_OK)
			failures++;
	}
	return (void *)failures;
}

static void stress_concurrent_runtimes(void **state)
{
	(void)state;
	enum { N = 4 };
	pthread_t th[N];
	for (intptr_t i = 0; i < N; i++)
		assert_int_equal(pthread_create(&th[i], NULL, runtime_churn,
						(void *)i),
				 0);
	for (int i = 0; i < N; i++) {
		void *ret;
		assert_int_equal(pthread_join(th[i], &ret), 0);
		assert_int_equal((intptr_t)ret, 0);
	}
	TEST_WAIT_UNTIL(test_thread_count() == base_threads);
	assert_int_equal(test_thread_count(), base_threads);
}

static void *nothing(void *p)
{
	return p;
}

int main(void)
{
	/* ThreadSanitizer starts a helper thread of its own at the first
	 * pthread_create: start (and join) one thread before taking the
	 * baseline, so that helper is counted in it. */
	pthread_t t;
	if (pthread_create(&t, NULL, nothing, NULL) == 0)
		pthread_join(t, NULL);
	base_threads = test_thread_count();
	base_fds = test_fd_count();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init_null_cfg),
		cmocka_unit_test(init_with_cfg),
		cmocka_unit_test(several_runtimes),
		cmocka_unit_test(ids_across_runtimes),
		cmocka_unit_test(strerror_all),
		cmocka_unit_test(null_args),
		cmocka_unit_test(shutdown_from_body),
		cmocka_unit_test(shutdown_pending),
		cmocka_unit_test(calls_during_shutdown),
		cmocka_unit_test(init_shutdown_loop),
		cmocka_unit_test(idle_cpu),
		cmocka_unit_test(stress_concurrent_runtimes),
	};
	return cmocka_run_group_tests_name("runtime", tests, NULL, NULL);
}
