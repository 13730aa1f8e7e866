/*
 * Contract tests for tasks: arguments (inline and refs, zero-copy), several
 * returns, owned and empty returns, failures and their propagation,
 * functions registered by name, nested parallelism (get and wait inside
 * bodies, on one and two workers) and bad input.  Public API only.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "test_util.h"

static int setup(void **state)
{
	return test_fixture_setup(state, 2);
}


static int64_t get_i64(troupe *rt, troupe_ref r)
{
	int64_t v = 0;
	assert_int_equal(troupe_get_i64(rt, r, -1, &v), TROUPE_OK);
	return v;
}

/* Bodies count their runs here when a case needs to know. */
static atomic_int runs;

static void sum_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		   size_t nargs)
{
	(void)rt;
	atomic_fetch_add(&runs, 1);
	int64_t sum = 0;
	for (size_t i = 0; i < nargs; i++) {
		int64_t v;
		if (troupe_value_i64(&args[i], &v) != TROUPE_OK) {
			troupe_fail(ctx, "sum: arg %zu is not an i64", i);
			return;
		}
		sum += v;
	}
	troupe_return_i64(ctx, sum);
}

static void noop_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		    size_t nargs)
{
	(void)rt, (void)ctx, (void)args, (void)nargs;
	atomic_fetch_add(&runs, 1);
}

static void fail_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		    size_t nargs)
{
	(void)rt;
	atomic_fetch_add(&runs, 1);
	const char *why = "no reason";
	if (nargs > 0)
		troupe_value_str(&args[0], &why);
	troupe_fail(ctx, "failed because %s", why);
}

/* ----------------------------------------------------------- cases */

/* Body: args[0] gate, args[1] bytes; waits for the gate, returns a copy of
 * args[1] (so the test can scribble on its buffer before the body reads
 * it). */
static void gated_echo_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
			  size_t nargs)
{
	(void)rt, (void)nargs;
	struct test_gate *g = test_ptr_of(&args[0]);
	double deadline = test_now_s() + TEST_HANG_S;
	while (!atomic_load(&g->open) && test_now_s() < deadline)
		test_sleep_ms(1);
	troupe_return(ctx, args[1].data, args[1].size);
}

static void inline_args(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	for (size_t n = 0; n <= 8; n++) {
		troupe_arg args[8];
		int64_t want = 0;
		for (size_t i = 0; i < n; i++) {
			args[i] = TROUPE_I64((int64_t)(i * i + 1));
			want += (int64_t)(i * i + 1);
		}
		troupe_ref r;
		assert_int_equal(troupe_submit(rt, sum_fn, n ? args : NULL, n,
					       NULL, &r),
				 TROUPE_OK);
		assert_int_equal(get_i64(rt, r), want);
		assert_int_equal(troupe_release(rt, r), TROUPE_OK);
	}

	/* Inline bytes are copied at submit: the caller's buffer is free
	 * again before the body reads its argument. */
	char buf[300];
	for (int i = 0; i < 300; i++)
		buf[i] = (char)(i * 7);
	struct test_gate g = {0};
	struct test_gate *gp = &g;
	troupe_arg a[2] = {TEST_PTR_ARG(gp), TROUPE_BYTES(buf, sizeof buf)};
	troupe_ref r;
	assert_int_equal(troupe_submit(rt, gated_echo_fn, a, 2, NULL, &r),
			 TROUPE_OK);
	memset(buf, 0, sizeof buf);
	atomic_store(&g.open, 1);
	troupe_value v;
	assert_int_equal(troupe_get(rt, r, -1, &v), TROUPE_OK);
	assert_int_equal(v.size, 300);
	for (int i = 0; i < 300; i++)
		assert_int_equal(((const char *)v.data)[i], (char)(i * 7));
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);

	/* A string argument. */
	char s[] = "a string argument";
	troupe_arg sa[2] = {TEST_PTR_ARG(gp), TROUPE_STR(s)};
	assert_int_equal(troupe_submit(rt, gated_echo_fn, sa, 2, NULL, &r),
			 TROUPE_OK);
	const char *out;
	assert_int_equal(troupe_get_str(rt, r, -1, &out), TROUPE_OK);
	assert_string_equal(out, "a string argument");
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);
}

/* What a dependent body saw. */
struct dep_seen {
	atomic_int gate_finished; /* the gated dep had finished */
	_Atomic(const void *) ptr[3];
	atomic_size_t size[3];
};

/* Body: args[0] dep_seen, args[1..3] values (i64). */
static void dep_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		   size_t nargs)
{
	(void)rt;
	struct dep_seen *s = test_ptr_of(&args[0]);
	struct test_gate *g = test_ptr_of(&args[1]);
	atomic_store(&s->gate_finished, atomic_load(&g->finished));
	int64_t sum = 0;
	for (size_t i = 2; i < nargs; i++) {
		atomic_store(&s->ptr[i - 2], args[i].data);
		atomic_store(&s->size[i - 2], args[i].size);
		int64_t v = 0;
		troupe_value_i64(&args[i], &v);
		sum += v;
	}
	troupe_return_i64(ctx, sum);
}

static void ref_args(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	struct test_gate *gp = &f->gate;
	troupe_ref g, p;
	troupe_arg ga[2] = {TEST_PTR_ARG(gp), TROUPE_I64(100)};
	assert_int_equal(troupe_submit(rt, test_gate_fn, ga, 2, NULL, &g),
			 TROUPE_OK);
	assert_int_equal(troupe_put_i64(rt, 20, &p), TROUPE_OK);

	struct dep_seen seen;
	memset(&seen, 0, sizeof seen);
	struct dep_seen *sp = &seen;
	troupe_arg da[5] = {TEST_PTR_ARG(sp), TEST_PTR_ARG(gp), TROUPE_REF(g),
			    TROUPE_REF(p), TROUPE_I64(3)};
	troupe_ref d;
	assert_int_equal(troupe_submit(rt, dep_fn, da, 5, NULL, &d), TROUPE_OK);
	/* The dependent cannot run while its dependency is pending. */
	test_sleep_ms(30);
	assert_int_equal(troupe_get(rt, d, 0, NULL), TROUPE_ETIMEDOUT);
	atomic_store(&f->gate.open, 1);
	assert_int_equal(get_i64(rt, d), 123);
	assert_int_equal(atomic_load(&seen.gate_finished), 1);

	/* Zero-copy: the body saw the very bytes a get views. */
	troupe_value gv, pv;
	assert_int_equal(troupe_get(rt, g, 0, &gv), TROUPE_OK);
	assert_int_equal(troupe_get(rt, p, 0, &pv), TROUPE_OK);
	assert_ptr_equal(atomic_load(&seen.ptr[0]), gv.data);
	assert_ptr_equal(atomic_load(&seen.ptr[1]), pv.data);
	assert_int_equal(atomic_load(&seen.size[0]), 8);
	assert_int_equal(atomic_load(&seen.size[1]), 8);

	/* The task keeps its ref arguments alive: release them right after
	 * submitting. */
	struct test_gate g2 = {0};
	struct test_gate *g2p = &g2;
	troupe_ref h, q, e;
	troupe_arg ha[2] = {TEST_PTR_ARG(g2p), TROUPE_I64(1000)};
	assert_int_equal(troupe_submit(rt, test_gate_fn, ha, 2, NULL, &h),
			 TROUPE_OK);
	char big[5000];
	memset(big, 1, sizeof big);
	assert_int_equal(troupe_put_i64(rt, 5, &q), TROUPE_OK);
	struct dep_seen seen2;
	memset(&seen2, 0, sizeof seen2);
	sp = &seen2;
	troupe_arg ea[4] = {TEST_PTR_ARG(sp), TEST_PTR_ARG(g2p), TROUPE_REF(h),
			    TROUPE_REF(q)};
	assert_int_equal(troupe_submit(rt, dep_fn, ea, 4, NULL, &e), TROUPE_OK);
	assert_int_equal(troupe_release(rt, h), TROUPE_OK);
	assert_int_equal(troupe_release(rt, q), TROUPE_OK);
	/* Churn the object table so a freed entry would get reused. */
	for (int i = 0; i < 1000; i++) {
		troupe_ref t;
		assert_int_equal(troupe_put(rt, big, sizeof big, &t),
				 TROUPE_OK);
		assert_int_equal(troupe_release(rt, t), TROUPE_OK);
	}
	atomic_store(&g2.open, 1);
	assert_int_equal(get_i64(rt, e), 1005);

	/* The same ref twice in one argument list. */
	troupe_ref twice;
	troupe_arg ta[2] = {TROUPE_REF(p), TROUPE_REF(p)};
	assert_int_equal(troupe_submit(rt, sum_fn, ta, 2, NULL, &twice),
			 TROUPE_OK);
	assert_int_equal(get_i64(rt, twice), 40);

	troupe_ref all[] = {g, p, d, e, twice};
	for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
		assert_int_equal(troupe_release(rt, all[k]), TROUPE_OK);
}

struct multi_seen {
	atomic_int bad_index;
};

static void multi_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		     size_t nargs)
{
	(void)rt, (void)nargs;
	struct multi_seen *m = test_ptr_of(&args[0]);
	troupe_return_at(ctx, 0, "zero", 5);
	int64_t one = 1;
	troupe_return_at(ctx, 1, &one, sizeof one);
	/* index 2 left unset: an empty value */
	troupe_return_at(ctx, 3, "three", 6);
	atomic_store(&m->bad_index, (int)troupe_return_at(ctx, 4, "x", 2));
}

static void multi_returns(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	struct multi_seen m = {.bad_index = -1};
	struct multi_seen *mp = &m;
	troupe_arg a = TEST_PTR_ARG(mp);
	troupe_task_opts opts = {.num_returns = 4};
	troupe_ref r[5] = {{0}, {0}, {0}, {0}, {.id = 4242}};
	assert_int_equal(troupe_submit(rt, multi_fn, &a, 1, &opts, r),
			 TROUPE_OK);
	assert_int_equal(r[4].id, 4242); /* only num_returns written */
	for (int i = 0; i < 4; i++) {
		assert_true(r[i].id != 0);
		for (int k = 0; k < i; k++)
			assert_true(r[i].id != r[k].id);
	}
	const char *s;
	assert_int_equal(troupe_get_str(rt, r[0], -1, &s), TROUPE_OK);
	assert_string_equal(s, "zero");
	assert_int_equal(get_i64(rt, r[1]), 1);
	troupe_value v;
	assert_int_equal(troupe_get(rt, r[2], -1, &v), TROUPE_OK);
	assert_int_equal(v.size, 0);
	assert_int_equal(troupe_get_str(rt, r[3], -1, &s), TROUPE_OK);
	assert_string_equal(s, "three");
	assert_int_equal(atomic_load(&m.bad_index), TROUPE_EINVAL);
	/* Each return is its own ref: releasing one leaves the others. */
	assert_int_equal(troupe_release(rt, r[0]), TROUPE_OK);
	assert_int_equal(troupe_get_str(rt, r[3], 0, &s), TROUPE_OK);
	for (int i = 1; i < 4; i++)
		assert_int_equal(troupe_release(rt, r[i]), TROUPE_OK);

	/* num_returns 0 means 1. */
	troupe_task_opts zero = {.num_returns = 0};
	troupe_ref one[2] = {{0}, {.id = 777}};
	troupe_arg sa = TROUPE_I64(9);
	assert_int_equal(troupe_submit(rt, sum_fn, &sa, 1, &zero, one),
			 TROUPE_OK);
	assert_int_equal(one[1].id, 777);
	assert_int_equal(get_i64(rt, one[0]), 9);
	assert_int_equal(troupe_release(rt, one[0]), TROUPE_OK);

	/* A failing task with several returns fails them all. */
	troupe_task_opts three = {.num_returns = 3};
	troupe_ref fr[3];
	troupe_arg why = TROUPE_STR("three at once");
	assert_int_equal(troupe_submit(rt, fail_fn, &why, 1, &three, fr),
			 TROUPE_OK);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(troupe_get(rt, fr[i], -1, NULL), TROUPE_ETASK);
		const char *msg;
		assert_int_equal(troupe_error_message(rt, fr[i], &msg),
				 TROUPE_OK);
		assert_non_null(strstr(msg, "three at once"));
		assert_int_equal(troupe_release(rt, fr[i]), TROUPE_OK);
	}
}

static atomic_int owned_freed;
static _Atomic(void *) owned_ptr;
static atomic_int owned_status;

static void owned_free(void *p)
{
	atomic_fetch_add(&owned_freed, 1);
	free(p);
}

static void owned_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		     size_t nargs)
{
	(void)rt, (void)args, (void)nargs;
	size_t n = 4096;
	char *p = malloc(n);
	if (p == NULL) {
		troupe_fail(ctx, "no memory");
		return;
	}
	memset(p, 'o', n);
	p[n - 1] = 0;
	atomic_store(&owned_ptr, p);
	troupe_err e = troupe_return_owned(ctx, 0, p, n, owned_free);
	atomic_store(&owned_status, (int)e);
	if (e != TROUPE_OK)
		free(p);
}

static void bad_owned_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
			 size_t nargs)
{
	(void)rt, (void)args, (void)nargs;
	char *p = malloc(16);
	/* Index out of range: fails, and the body still owns p. */
	troupe_err e = troupe_return_owned(ctx, 5, p, 16, owned_free);
	atomic_store(&owned_status, (int)e);
	free(p);
	troupe_return_i64(ctx, 1);
}

static void return_owned(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	atomic_store(&owned_freed, 0);
	troupe_ref r;
	assert_int_equal(troupe_submit(rt, owned_fn, NULL, 0, NULL, &r),
			 TROUPE_OK);
	troupe_value v;
	assert_int_equal(troupe_get(rt, r, -1, &v), TROUPE_OK);
	assert_int_equal(atomic_load(&owned_status), TROUPE_OK);
	assert_ptr_equal(v.data, atomic_load(&owned_ptr)); /* zero-copy */
	assert_int_equal(v.size, 4096);
	assert_int_equal(((const char *)v.data)[100], 'o');
	assert_int_equal(atomic_load(&owned_freed), 0);

	/* Passed on as an argument: still the same bytes. */
	troupe_ref d;
	struct dep_seen seen;
	memset(&seen, 0, sizeof seen);
	struct dep_seen *sp = &seen;
	struct test_gate open = {.open = 1, .finished = 1};
	struct test_gate *op = &open;
	troupe_arg da[3] = {TEST_PTR_ARG(sp), TEST_PTR_ARG(op), TROUPE_REF(r)};
	assert_int_equal(troupe_submit(rt, dep_fn, da, 3, NULL, &d), TROUPE_OK);
	assert_int_equal(troupe_get(rt, d, -1, NULL), TROUPE_OK);
	assert_ptr_equal(atomic_load(&seen.ptr[0]), v.data);

	assert_int_equal(troupe_release(rt, r), TROUPE_OK);
	assert_int_equal(troupe_release(rt, d), TROUPE_OK);
	TEST_WAIT_UNTIL(atomic_load(&owned_freed) == 1);
	assert_int_equal(atomic_load(&owned_freed), 1);
	test_sleep_ms(30);
	assert_int_equal(atomic_load(&owned_freed), 1);

	atomic_store(&owned_freed, 0);
	assert_int_equal(troupe_submit(rt, bad_owned_fn, NULL, 0, NULL, &r),
			 TROUPE_OK);
	assert_int_equal(get_i64(rt, r), 1);
	assert_int_equal(atomic_load(&owned_status), TROUPE_EINVAL);
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);
	test_sleep_ms(30);
	assert_int_equal(atomic_load(&owned_freed), 0);
}

static void empty_return(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	troupe_ref r[2];
	troupe_value v = {.data = "x", .size = 1};
	assert_int_equal(troupe_submit(rt, noop_fn, NULL, 0, NULL, r),
			 TROUPE_OK);
	assert_int_equal(troupe_get(rt, r[0], -1, &v), TROUPE_OK);
	assert_int_equal(v.size, 0);
	const char *msg;
	assert_int_equal(troupe_error_message(rt, r[0], &msg), TROUPE_EINVAL);
	assert_int_equal(troupe_release(rt, r[0]), TROUPE_OK);

	troupe_task_opts two = {.num_returns = 2};
	assert_int_equal(troupe_submit(rt, noop_fn, NULL, 0, &two, r),
			 TROUPE_OK);
	for (int i = 0; i < 2; i++) {
		v.size = 1;
		assert_int_equal(troupe_get(rt, r[i], -1, &v), TROUPE_OK);
		assert_int_equal(v.size, 0);
		assert_int_equal(troupe_release(rt, r[i]), TROUPE_OK);
	}
}

static void fail_message(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	troupe_ref r;
	troupe_arg why = TROUPE_STR("the disk is full");
	assert_int_equal(troupe_submit(rt, fail_fn, &why, 1, NULL, &r),
			 TROUPE_OK);
	int64_t v = 31;
	assert_int_equal(troupe_get_i64(rt, r, -1, &v), TROUPE_ETASK);
	assert_int_equal(v, 31);
	const char *msg = NULL;
	assert_int_equal(troupe_error_message(rt, r, &msg), TROUPE_OK);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "failed because the disk is full"));
	print_message("error message: \"%s\"\n", msg);
	bool ready;
	assert_int_equal(troupe_wait(rt, &r, 1, 1, 0, &ready), TROUPE_OK);
	assert_true(ready);
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);

	/* A long, formatted message survives intact. */
	char longwhy[2000];
	memset(longwhy, 'w', sizeof longwhy - 1);
	longwhy[sizeof longwhy - 1] = 0;
	troupe_arg lw = TROUPE_STR(longwhy);
	assert_int_equal(troupe_submit(rt, fail_fn, &lw, 1, NULL, &r),
			 TROUPE_OK);
	assert_int_equal(troupe_get(rt, r, -1, NULL), TROUPE_ETASK);
	assert_int_equal(troupe_error_message(rt, r, &msg), TROUPE_OK);
	assert_non_null(strstr(msg, longwhy));
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);
}

/* Body: the name of the failing task appears in its error message. */
static void failure_names_task(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	troupe_task_opts opts = {.name = "resize_image"};
	troupe_ref r;
	assert_int_equal(troupe_submit(rt, fail_fn, NULL, 0, &opts, &r),
			 TROUPE_OK);
	assert_int_equal(troupe_get(rt, r, -1, NULL), TROUPE_ETASK);
	const char *msg;
	assert_int_equal(troupe_error_message(rt, r, &msg), TROUPE_OK);
	assert_non_null(strstr(msg, "resize_image"));
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);

	assert_int_equal(troupe_register(rt, "load_tile", fail_fn), TROUPE_OK);
	assert_int_equal(troupe_submit_named(rt, "load_tile", NULL, 0, NULL,
					     &r),
			 TROUPE_OK);
	assert_int_equal(troupe_get(rt, r, -1, NULL), TROUPE_ETASK);
	assert_int_equal(troupe_error_message(rt, r, &msg), TROUPE_OK);
	assert_non_null(strstr(msg, "load_tile"));
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);
}

static void chained_failure(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	struct test_gate *gp = &f->gate;
	/* A gated task first, so the failure happens after the dependents
	 * are submitted. */
	troupe_ref g, a, b, c, d, ok, late;
	assert_int_equal(test_submit_gate(rt, gp, &g), TROUPE_OK);
	troupe_arg aa[2] = {TROUPE_STR("root cause 123"), TROUPE_REF(g)};
	assert_int_equal(troupe_submit(rt, fail_fn, aa, 2, NULL, &a),
			 TROUPE_OK);
	atomic_store(&runs, 0);
	troupe_arg ba[2] = {TROUPE_REF(a), TROUPE_I64(1)};
	assert_int_equal(troupe_submit(rt, sum_fn, ba, 2, NULL, &b), TROUPE_OK);
	troupe_arg ca = TROUPE_REF(b);
	assert_int_equal(troupe_submit(rt, sum_fn, &ca, 1, NULL, &c),
			 TROUPE_OK);
	assert_int_equal(troupe_put_i64(rt, 5, &ok), TROUPE_OK);
	troupe_arg da[3] = {TROUPE_REF(ok), TROUPE_REF(g), TROUPE_REF(a)};
	assert_int_equal(troupe_submit(rt, sum_fn, da, 3, NULL, &d), TROUPE_OK);
	atomic_store(&f->gate.open, 1);

	troupe_ref failed[] = {a, b, c, d};
	for (size_t k = 0; k < 4; k++) {
		assert_int_equal(troupe_get(rt, failed[k], -1, NULL),
				 TROUPE_ETASK);
		const char *msg;
		assert_int_equal(troupe_error_message(rt, failed[k], &msg),
				 TROUPE_OK);
		assert_non_null(strstr(msg, "root cause 123"));
		if (k == 2)
			print_message("chained message: \"%s\"\n", msg);
	}
	/* Only the failing task itself ran. */
	assert_int_equal(atomic_load(&runs), 1);

	/* Submitted after the failure: does not run either. */
	troupe_arg la[2] = {TROUPE_I64(1), TROUPE_REF(c)};
	assert_int_equal(troupe_submit(rt, sum_fn, la, 2, NULL, &late),
			 TROUPE_OK);
	assert_int_equal(troupe_get(rt, late, -1, NULL), TROUPE_ETASK);
	const char *msg;
	assert_int_equal(troupe_error_message(rt, late, &msg), TROUPE_OK);
	assert_non_null(strstr(msg, "root cause 123"));
	test_sleep_ms(20);
	assert_int_equal(atomic_load(&runs), 1);

	/* The good dependency is unharmed. */
	assert_int_equal(get_i64(rt, ok), 5);
	troupe_ref all[] = {g, a, b, c, d, ok, late};
	for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
		assert_int_equal(troupe_release(rt, all[k]), TROUPE_OK);
}

static void mul_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		   size_t nargs)
{
	(void)rt, (void)nargs;
	int64_t a = 0, b = 0;
	troupe_value_i64(&args[0], &a);
	troupe_value_i64(&args[1], &b);
	troupe_return_i64(ctx, a * b);
}

static void named(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	char name[16] = "mul";
	assert_int_equal(troupe_register(rt, name, mul_fn), TROUPE_OK);
	strcpy(name, "xxx"); /* the name was copied */
	troupe_arg a[2] = {TROUPE_I64(6), TROUPE_I64(7)};
	troupe_ref r;
	assert_int_equal(troupe_submit_named(rt, "mul", a, 2, NULL, &r),
			 TROUPE_OK);
	assert_int_equal(get_i64(rt, r), 42);
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);

	/* Taken: EEXIST, and the first registration stays. */
	assert_int_equal(troupe_register(rt, "mul", sum_fn), TROUPE_EEXIST);
	assert_int_equal(troupe_register(rt, "mul", mul_fn), TROUPE_EEXIST);
	assert_int_equal(troupe_submit_named(rt, "mul", a, 2, NULL, &r),
			 TROUPE_OK);
	assert_int_equal(get_i64(rt, r), 42);
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);

	r.id = 31337;
	assert_int_equal(troupe_submit_named(rt, "xxx", a, 2, NULL, &r),
			 TROUPE_ENOTFOUND);
	assert_int_equal(troupe_submit_named(rt, "mu", a, 2, NULL, &r),
			 TROUPE_ENOTFOUND);
	assert_int_equal(troupe_submit_named(rt, "mull", a, 2, NULL, &r),
			 TROUPE_ENOTFOUND);
	assert_int_equal(r.id, 31337);

	/* Many names. */
	for (int i = 0; i < 200; i++) {
		char n[32];
		snprintf(n, sizeof n, "fn_%d", i);
		assert_int_equal(troupe_register(rt, n,
						 i % 2 ? mul_fn : sum_fn),
				 TROUPE_OK);
	}
	for (int i = 0; i < 200; i++) {
		char n[32];
		snprintf(n, sizeof n, "fn_%d", i);
		troupe_arg b[2] = {TROUPE_I64(i), TROUPE_I64(3)};
		assert_int_equal(troupe_submit_named(rt, n, b, 2, NULL, &r),
				 TROUPE_OK);
		assert_int_equal(get_i64(rt, r), i % 2 ? i * 3 : i + 3);
		assert_int_equal(troupe_release(rt, r), TROUPE_OK);
	}

	/* Named submission with several returns and ref args. */
	troupe_ref p;
	assert_int_equal(troupe_put_i64(rt, 11, &p), TROUPE_OK);
	troupe_arg c[2] = {TROUPE_REF(p), TROUPE_I64(2)};
	assert_int_equal(troupe_submit_named(rt, "mul", c, 2, NULL, &r),
			 TROUPE_OK);
	assert_int_equal(get_i64(rt, r), 22);
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);
	assert_int_equal(troupe_release(rt, p), TROUPE_OK);
}

struct twice_seen {
	atomic_int first, second, after_fail, fail_rc, at_range;
};

static void twice_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		     size_t nargs)
{
	(void)rt, (void)nargs;
	struct twice_seen *s = test_ptr_of(&args[0]);
	atomic_store(&s->first, (int)troupe_return_i64(ctx, 1));
	atomic_store(&s->second, (int)troupe_return_i64(ctx, 2));
	atomic_store(&s->at_range, (int)troupe_return_at(ctx, 1, "x", 2));
}

static void fail_then_return_fn(troupe *rt, troupe_ctx *ctx,
				const troupe_value *args, size_t nargs)
{
	(void)rt, (void)nargs;
	struct twice_seen *s = test_ptr_of(&args[0]);
	atomic_store(&s->fail_rc, (int)troupe_fail(ctx, "first fail"));
	atomic_store(&s->after_fail, (int)troupe_return_i64(ctx, 3));
	troupe_fail(ctx, "second fail"); /* the first message stands */
}

static void return_twice(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	struct twice_seen s;
	memset(&s, 0xff, sizeof s);
	struct twice_seen *sp = &s;
	troupe_arg a = TEST_PTR_ARG(sp);
	troupe_ref r;
	assert_int_equal(troupe_submit(rt, twice_fn, &a, 1, NULL, &r),
			 TROUPE_OK);
	assert_int_equal(get_i64(rt, r), 1);
	assert_int_equal(atomic_load(&s.first), TROUPE_OK);
	assert_int_equal(atomic_load(&s.second), TROUPE_EINVAL);
	assert_int_equal(atomic_load(&s.at_range), TROUPE_EINVAL);
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);

	assert_int_equal(troupe_submit(rt, fail_then_return_fn, &a, 1, NULL,
				       &r),
			 TROUPE_OK);
	assert_int_equal(troupe_get(rt, r, -1, NULL), TROUPE_ETASK);
	assert_int_equal(atomic_load(&s.fail_rc), TROUPE_ETASK);
	assert_int_equal(atomic_load(&s.after_fail), TROUPE_EINVAL);
	const char *msg;
	assert_int_equal(troupe_error_message(rt, r, &msg), TROUPE_OK);
	assert_non_null(strstr(msg, "first fail"));
	assert_null(strstr(msg, "second fail"));
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);
}

/* ---------------------------------------------------- nested parallelism */

static atomic_int fib_errors;

/* Reads fib's n from args[0]; true when n is a leaf, already returned. */
static bool fib_leaf(troupe_ctx *ctx, const troupe_value *args, int64_t *n)
{
	*n = 0;
	troupe_value_i64(&args[0], n);
	if (*n >= 2)
		return false;
	troupe_return_i64(ctx, *n);
	return true;
}

static void fib_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		   size_t nargs)
{
	(void)nargs;
	int64_t n;
	if (fib_leaf(ctx, args, &n))
		return;
	troupe_arg a1 = TROUPE_I64(n - 1), a2 = TROUPE_I64(n - 2);
	troupe_ref r1, r2;
	if (troupe_submit(rt, fib_fn, &a1, 1, NULL, &r1) != TROUPE_OK) {
		atomic_fetch_add(&fib_errors, 1);
		{
			troupe_fail(ctx, "submit failed");
			return;
		}
	}
	if (troupe_submit(rt, fib_fn, &a2, 1, NULL, &r2) != TROUPE_OK) {
		atomic_fetch_add(&fib_errors, 1);
		troupe_release(rt, r1);
		{
			troupe_fail(ctx, "submit failed");
			return;
		}
	}
	int64_t x = 0, y = 0;
	troupe_err e1 = troupe_get_i64(rt, r1, -1, &x);
	troupe_err e2 = troupe_get_i64(rt, r2, -1, &y);
	if (e1 != TROUPE_OK || e2 != TROUPE_OK)
		atomic_fetch_add(&fib_errors, 1);
	if (troupe_release(rt, r1) != TROUPE_OK ||
	    troupe_release(rt, r2) != TROUPE_OK)
		atomic_fetch_add(&fib_errors, 1);
	troupe_return_i64(ctx, x + y);
}

static void fib_on(unsigned workers, int64_t n, int64_t want)
{
	troupe *rt;
	troupe_config cfg = {.num_workers = workers};
	assert_int_equal(troupe_init(&rt, &cfg), TROUPE_OK);
	atomic_store(&fib_errors, 0);
	double t0 = test_now_s();
	troupe_arg a = TROUPE_I64(n);
	troupe_ref r;
	assert_int_equal(troupe_submit(rt, fib_fn, &a, 1, NULL, &r), TROUPE_OK);
	int64_t v = 0;
	assert_int_equal(troupe_get_i64(rt, r, -1, &v), TROUPE_OK);
	double t1 = test_now_s();
	int threads = test_thread_count();
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);
	assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
	print_message("fib(%lld) as nested tasks on %u worker(s): %lld in "
		      "%.2f s, %d threads in the process at the end\n",
		      (long long)n, workers, (long long)v, t1 - t0, threads);
	assert_int_equal(atomic_load(&fib_errors), 0);
	assert_int_equal(v, want);
}

static void fib_one_worker(void **state)
{
	(void)state;
	fib_on(1, 25, 75025);
}

static void fib_two_workers(void **state)
{
	(void)state;
	fib_on(2, 25, 75025);
}

/* Body: fib(n) as fib_fn, reading each child with a take. */
static void fib_take_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
			size_t nargs)
{
	(void)nargs;
	int64_t n;
	if (fib_leaf(ctx, args, &n))
		return;
	troupe_arg a[2] = {TROUPE_I64(n - 1), TROUPE_I64(n - 2)};
	troupe_ref r[2];
	int64_t x[2] = {0, 0};
	for (int i = 0; i < 2; i++)
		if (troupe_submit(rt, fib_take_fn, &a[i], 1, NULL, &r[i]) !=
		    TROUPE_OK) {
			atomic_fetch_add(&fib_errors, 1);
			if (i == 1)
				troupe_release(rt, r[0]);
			troupe_fail(ctx, "submit failed");
			return;
		}
	/* Half the bodies take the later child first. */
	int first = n % 2;
	for (int k = 0; k < 2; k++) {
		int i = k == 0 ? first : 1 - first;
		if (troupe_take_i64(rt, r[i], -1, &x[i]) != TROUPE_OK) {
			atomic_fetch_add(&fib_errors, 1);
			troupe_release(rt, r[i]);
		}
		/* Taken: the ref is gone. */
		else if (troupe_release(rt, r[i]) != TROUPE_ESTALE)
			atomic_fetch_add(&fib_errors, 1);
	}
	troupe_return_i64(ctx, x[0] + x[1]);
}

/* A take inside bodies, on one worker and on two: every child's value
 * arrives and its ref is released (released again: ESTALE). */
static void take_in_bodies(void **state)
{
	(void)state;
	for (unsigned workers = 1; workers <= 2; workers++) {
		troupe *rt;
		troupe_config cfg = {.num_workers = workers};
		assert_int_equal(troupe_init(&rt, &cfg), TROUPE_OK);
		atomic_store(&fib_errors, 0);
		troupe_arg a = TROUPE_I64(22);
		troupe_ref r;
		assert_int_equal(troupe_submit(rt, fib_take_fn, &a, 1, NULL,
					       &r),
				 TROUPE_OK);
		int64_t v = 0;
		assert_int_equal(troupe_take_i64(rt, r, -1, &v), TROUPE_OK);
		assert_int_equal(v, 17711);
		assert_int_equal(troupe_release(rt, r), TROUPE_ESTALE);
		assert_int_equal(atomic_load(&fib_errors), 0);
		assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
	}
}

/* Returns 8 bytes the body owns (an i64 of 77) that owned_free frees. */
static void return_owned_77(troupe_ctx *ctx)
{
	int64_t *p = malloc(sizeof *p);
	if (p == NULL) {
		troupe_fail(ctx, "no memory");
		return;
	}
	*p = 77;
	if (troupe_return_owned(ctx, 0, p, sizeof *p, owned_free) != TROUPE_OK)
		free(p);
}

/* Body: args[0] a struct test_gate *; once it opens, returns 8 bytes it
 * owns (an i64 of 77) that owned_free frees. */
static void gated_owned_i64_fn(troupe *rt, troupe_ctx *ctx,
			       const troupe_value *args, size_t nargs)
{
	(void)rt, (void)nargs;
	struct test_gate *g = test_ptr_of(&args[0]);
	atomic_fetch_add(&g->started, 1);
	double deadline = test_now_s() + TEST_HANG_S;
	while (!atomic_load(&g->open) && test_now_s() < deadline)
		test_sleep_ms(1);
	return_owned_77(ctx);
}

/* Opens the gate 20 ms from now, so a take is waiting by then. */
static void *open_gate_later(void *arg)
{
	struct test_gate *g = arg;
	test_sleep_ms(20);
	atomic_store(&g->open, 1);
	return NULL;
}

/* ---------------------------------------- refs a body's thread keeps */

/* Body: returns 8 bytes it owns (an i64 of 77) that owned_free frees. */
static void owned_i64_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
			 size_t nargs)
{
	(void)rt, (void)args, (void)nargs;
	return_owned_77(ctx);
}

static atomic_int kept_errors;

#define KEPT_CHECK(cond)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			print_error("%s:%d: %s\n", __FILE__, __LINE__, #cond); \
			atomic_fetch_add(&kept_errors, 1);                     \
		}                                                              \
	} while (0)

#define KEPT_CHILDREN 600 /* more than a thread keeps refs for */

/* Body: args[0] a struct test_gate * (closed).  Gets and releases its
 * children in the ways a thread keeping refs for them must get right, and
 * returns the id of a child holding an owned value, handing that ref to
 * its caller. */
static void kept_parent_fn(troupe *rt, troupe_ctx *ctx,
			   const troupe_value *args, size_t nargs)
{
	(void)nargs;
	troupe_ref r, refs[KEPT_CHILDREN];
	int64_t v = 0;

	/* An owned value goes at its release, not when the body returns. */
	int freed = atomic_load(&owned_freed);
	KEPT_CHECK(troupe_submit(rt, owned_i64_fn, NULL, 0, NULL, &r) ==
		   TROUPE_OK);
	KEPT_CHECK(troupe_get_i64(rt, r, -1, &v) == TROUPE_OK && v == 77);
	KEPT_CHECK(atomic_load(&owned_freed) == freed);
	KEPT_CHECK(troupe_release(rt, r) == TROUPE_OK);
	/* (A worker that ran the child may still hold it for a moment.) */
	double deadline = test_now_s() + TEST_HANG_S;
	while (atomic_load(&owned_freed) != freed + 1 &&
	       test_now_s() < deadline)
		test_sleep_ms(1);
	KEPT_CHECK(atomic_load(&owned_freed) == freed + 1);

	/* Released once; the second release and a later get are refused. */
	troupe_arg a = TROUPE_I64(5);
	KEPT_CHECK(troupe_submit(rt, sum_fn, &a, 1, NULL, &r) == TROUPE_OK);
	KEPT_CHECK(troupe_get_i64(rt, r, -1, &v) == TROUPE_OK && v == 5);
	KEPT_CHECK(troupe_get_i64(rt, r, -1, &v) == TROUPE_OK && v == 5);
	KEPT_CHECK(troupe_release(rt, r) == TROUPE_OK);
	KEPT_CHECK(troupe_release(rt, r) == TROUPE_ESTALE);
	KEPT_CHECK(troupe_get(rt, r, 0, NULL) == TROUPE_ESTALE);

	/* A retained ref: each release drops one, then none is left. */
	KEPT_CHECK(troupe_submit(rt, sum_fn, &a, 1, NULL, &r) == TROUPE_OK);
	KEPT_CHECK(troupe_retain(rt, r) == TROUPE_OK);
	KEPT_CHECK(troupe_release(rt, r) == TROUPE_OK);
	KEPT_CHECK(troupe_take_i64(rt, r, -1, &v) == TROUPE_OK && v == 5);
	KEPT_CHECK(troupe_release(rt, r) == TROUPE_ESTALE);

	/* Not ready yet, no wait: ETIMEDOUT, and the ref still works. */
	struct test_gate *g = test_ptr_of(&args[0]);
	KEPT_CHECK(test_submit_gate(rt, g, &r) == TROUPE_OK);
	deadline = test_now_s() + TEST_HANG_S;
	while (atomic_load(&g->started) == 0 && test_now_s() < deadline)
		test_sleep_ms(1);
	KEPT_CHECK(troupe_get(rt, r, 0, NULL) == TROUPE_ETIMEDOUT);
	atomic_store(&g->open, 1);
	KEPT_CHECK(troupe_get_i64(rt, r, -1, &v) == TROUPE_OK && v == 7);
	KEPT_CHECK(troupe_release(rt, r) == TROUPE_OK);
	KEPT_CHECK(troupe_release(rt, r) == TROUPE_ESTALE);

	/* More children than refs kept, got in order and in reverse. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < KEPT_CHILDREN; i++) {
			troupe_arg ai = TROUPE_I64(i);
			KEPT_CHECK(troupe_submit(rt, sum_fn, &ai, 1, NULL,
						 &refs[i]) == TROUPE_OK);
		}
		for (int k = 0; k < KEPT_CHILDREN; k++) {
			int i = pass == 0 ? k : KEPT_CHILDREN - 1 - k;
			KEPT_CHECK(troupe_get_i64(rt, refs[i], -1, &v) ==
					   TROUPE_OK &&
				   v == i);
			KEPT_CHECK(troupe_release(rt, refs[i]) == TROUPE_OK);
		}
	}

	/* Handed to the caller, unread here: the body's own hold on it must
	 * not outlive the body. */
	KEPT_CHECK(troupe_submit(rt, owned_i64_fn, NULL, 0, NULL, &r) ==
		   TROUPE_OK);
	troupe_return_i64(ctx, (int64_t)r.id);
}

/* A body's thread keeps refs for the children it submits and the values it
 * gets, so that the get and release after them skip the object table: what
 * a caller sees must not change — values, refusals of a second release,
 * owned values freed at the last release, refs handed on. */
static void kept_refs_in_bodies(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	atomic_store(&kept_errors, 0);
	atomic_store(&owned_freed, 0);
	struct test_gate gate = {0};
	struct test_gate *gp = &gate;
	troupe_arg a = TEST_PTR_ARG(gp);
	troupe_ref parent;
	assert_int_equal(troupe_submit(rt, kept_parent_fn, &a, 1, NULL,
				       &parent),
			 TROUPE_OK);
	int64_t id = 0;
	assert_int_equal(troupe_get_i64(rt, parent, -1, &id), TROUPE_OK);
	assert_int_equal(atomic_load(&kept_errors), 0);
	assert_int_equal(atomic_load(&owned_freed), 1);

	troupe_ref child = {(uint64_t)id};
	int64_t v = 0;
	assert_int_equal(troupe_get_i64(rt, child, -1, &v), TROUPE_OK);
	assert_int_equal(v, 77);
	assert_int_equal(troupe_release(rt, child), TROUPE_OK);
	TEST_WAIT_UNTIL(atomic_load(&owned_freed) == 2);
	assert_int_equal(atomic_load(&owned_freed), 2);
	assert_int_equal(troupe_release(rt, child), TROUPE_ESTALE);
	assert_int_equal(troupe_release(rt, parent), TROUPE_OK);
}

/* troupe_take_i64 / _f64: the value, then the ref is gone; a retained ref
 * stays; every error leaves the caller's ref held. */
static void take_contract(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	troupe_ref r;
	int64_t v = 0;
	double d = 0;

	/* Ready values: i64 and f64. */
	assert_int_equal(troupe_put_i64(rt, -42, &r), TROUPE_OK);
	assert_int_equal(troupe_take_i64(rt, r, -1, &v), TROUPE_OK);
	assert_int_equal(v, -42);
	assert_int_equal(troupe_get(rt, r, 0, NULL), TROUPE_ESTALE);
	assert_int_equal(troupe_release(rt, r), TROUPE_ESTALE);
	assert_int_equal(troupe_take_i64(rt, r, -1, &v), TROUPE_ESTALE);
	assert_int_equal(troupe_put_f64(rt, 2.5, &r), TROUPE_OK);
	assert_int_equal(troupe_take_f64(rt, r, 0, &d), TROUPE_OK);
	assert_true(d == 2.5);
	assert_int_equal(troupe_release(rt, r), TROUPE_ESTALE);

	/* A retained ref: a take drops one of the two. */
	assert_int_equal(troupe_put_i64(rt, 5, &r), TROUPE_OK);
	assert_int_equal(troupe_retain(rt, r), TROUPE_OK);
	assert_int_equal(troupe_take_i64(rt, r, -1, &v), TROUPE_OK);
	assert_int_equal(get_i64(rt, r), 5);
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);
	assert_int_equal(troupe_release(rt, r), TROUPE_ESTALE);

	/* Not 8 bytes: ETYPE, the ref still held. */
	assert_int_equal(troupe_put_str(rt, "eleven", &r), TROUPE_OK);
	assert_int_equal(troupe_take_i64(rt, r, -1, &v), TROUPE_ETYPE);
	assert_int_equal(troupe_take_f64(rt, r, -1, &d), TROUPE_ETYPE);
	const char *str = NULL;
	assert_int_equal(troupe_get_str(rt, r, -1, &str), TROUPE_OK);
	assert_string_equal(str, "eleven");
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);

	/* A failed task: its error, the ref still held for its message. */
	troupe_arg why = TROUPE_STR("it had to");
	assert_int_equal(troupe_submit(rt, fail_fn, &why, 1, NULL, &r),
			 TROUPE_OK);
	assert_int_equal(troupe_take_i64(rt, r, -1, &v), TROUPE_ETASK);
	const char *msg = NULL;
	assert_int_equal(troupe_error_message(rt, r, &msg), TROUPE_OK);
	assert_non_null(strstr(msg, "failed because it had to"));
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);

	/* Pending: a timeout leaves the ref; a later take waits for it. */
	atomic_store(&f->gate.open, 0);
	assert_int_equal(test_submit_gate(rt, &f->gate, &r), TROUPE_OK);
	TEST_WAIT_UNTIL(atomic_load(&f->gate.started) == 1);
	assert_int_equal(troupe_take_i64(rt, r, 0, &v), TROUPE_ETIMEDOUT);
	assert_int_equal(troupe_take_i64(rt, r, 0.02, &v), TROUPE_ETIMEDOUT);
	atomic_store(&f->gate.open, 1);
	v = 0;
	assert_int_equal(troupe_take_i64(rt, r, -1, &v), TROUPE_OK);
	assert_int_equal(v, 7);
	assert_int_equal(troupe_release(rt, r), TROUPE_ESTALE);

	/* The object goes with the last ref: its owned bytes are freed by
	 * the take, ready (one lookup) or waited for (the waiter's own ref
	 * and the caller's dropped together). */
	atomic_store(&owned_freed, 0);
	int64_t *p = malloc(sizeof *p);
	assert_non_null(p);
	*p = 66;
	assert_int_equal(troupe_put_owned(rt, p, sizeof *p, owned_free, &r),
			 TROUPE_OK);
	assert_int_equal(troupe_take_i64(rt, r, -1, &v), TROUPE_OK);
	assert_int_equal(v, 66);
	assert_int_equal(atomic_load(&owned_freed), 1);
	atomic_store(&f->gate.open, 0);
	atomic_store(&f->gate.started, 0);
	struct test_gate *g = &f->gate;
	troupe_arg ga = TEST_PTR_ARG(g);
	assert_int_equal(troupe_submit(rt, gated_owned_i64_fn, &ga, 1, NULL,
				       &r),
			 TROUPE_OK);
	TEST_WAIT_UNTIL(atomic_load(&f->gate.started) == 1);
	pthread_t opener;
	assert_int_equal(pthread_create(&opener, NULL, open_gate_later, g), 0);
	assert_int_equal(troupe_take_i64(rt, r, -1, &v), TROUPE_OK);
	assert_int_equal(pthread_join(opener, NULL), 0);
	assert_int_equal(v, 77);
	TEST_WAIT_UNTIL(atomic_load(&owned_freed) == 2);
	assert_int_equal(atomic_load(&owned_freed), 2);

	/* Bad input: nothing taken. */
	assert_int_equal(troupe_put_i64(rt, 9, &r), TROUPE_OK);
	assert_int_equal(troupe_take_i64(NULL, r, -1, &v), TROUPE_EINVAL);
	assert_int_equal(troupe_take_i64(rt, r, -1, NULL), TROUPE_EINVAL);
	assert_int_equal(troupe_take_f64(rt, r, -1, NULL), TROUPE_EINVAL);
	assert_int_equal(troupe_take_i64(rt, r, NAN, &v), TROUPE_EINVAL);
	assert_int_equal(troupe_take_i64(rt, (troupe_ref){0}, -1, &v),
			 TROUPE_EINVAL);
	assert_int_equal(get_i64(rt, r), 9);
	assert_int_equal(troupe_take_i64(rt, r, -1, &v), TROUPE_OK);
	assert_int_equal(v, 9);
}

/* Body: args[0] a struct take_race *; takes every ref of the race's
 * array from index args[1] on, stepping by 2, once its value is there. */
struct take_race {
	troupe_ref refs[2000];
	atomic_int taken, bad;
};

static void take_half_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
			 size_t nargs)
{
	(void)ctx, (void)nargs;
	struct take_race *tr = test_ptr_of(&args[0]);
	int64_t from = 0;
	troupe_value_i64(&args[1], &from);
	for (size_t i = (size_t)from; i < 2000; i += 2) {
		int64_t v = -1;
		if (troupe_take_i64(rt, tr->refs[i], -1, &v) != TROUPE_OK ||
		    v != (int64_t)i * 3)
			atomic_fetch_add(&tr->bad, 1);
		else
			atomic_fetch_add(&tr->taken, 1);
	}
}

static void times3_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		      size_t nargs)
{
	(void)rt, (void)nargs;
	int64_t i = 0;
	troupe_value_i64(&args[0], &i);
	troupe_return_i64(ctx, i * 3);
}

/* Refs of tasks still running or queued, taken from two bodies and the
 * test's thread at once (each ref by one of them): every value arrives
 * once and every ref is gone after. */
static void take_while_running(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	static struct take_race tr;
	atomic_store(&tr.taken, 0);
	atomic_store(&tr.bad, 0);
	for (int64_t i = 0; i < 2000; i++) {
		troupe_arg a = TROUPE_I64(i);
		assert_int_equal(troupe_submit(rt, times3_fn, &a, 1, NULL,
					       &tr.refs[i]),
				 TROUPE_OK);
	}
	struct take_race *p = &tr;
	troupe_arg a0[2] = {TEST_PTR_ARG(p), TROUPE_I64(0)};
	troupe_ref body;
	assert_int_equal(troupe_submit(rt, take_half_fn, a0, 2, NULL, &body),
			 TROUPE_OK);
	/* The odd ones here. */
	for (size_t i = 1; i < 2000; i += 2) {
		int64_t v = -1;
		if (troupe_take_i64(rt, tr.refs[i], -1, &v) != TROUPE_OK ||
		    v != (int64_t)i * 3)
			atomic_fetch_add(&tr.bad, 1);
		else
			atomic_fetch_add(&tr.taken, 1);
	}
	assert_int_equal(troupe_get(rt, body, -1, NULL), TROUPE_OK);
	assert_int_equal(troupe_release(rt, body), TROUPE_OK);
	assert_int_equal(atomic_load(&tr.bad), 0);
	assert_int_equal(atomic_load(&tr.taken), 2000);
	for (size_t i = 0; i < 2000; i++)
		assert_int_equal(troupe_release(rt, tr.refs[i]), TROUPE_ESTALE);
}

/* Body: submits n children (square of i), waits for them inside the
 * body, in two steps, then sums. */
static void square_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		      size_t nargs)
{
	(void)rt, (void)nargs;
	int64_t i = 0;
	troupe_value_i64(&args[0], &i);
	troupe_return_i64(ctx, i * i);
}

static void fan_out_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		       size_t nargs)
{
	(void)nargs;
	int64_t n = 0;
	troupe_value_i64(&args[0], &n);
	troupe_ref refs[64];
	bool ready[64];
	if (n > 64) {
		troupe_fail(ctx, "too many");
		return;
	}
	for (int64_t i = 0; i < n; i++) {
		troupe_arg a = TROUPE_I64(i);
		if (troupe_submit(rt, square_fn, &a, 1, NULL, &refs[i]) !=
		    TROUPE_OK) {
			troupe_fail(ctx, "submit failed");
			return;
		}
	}
	if (troupe_wait(rt, refs, (size_t)n, 1, -1, ready) != TROUPE_OK) {
		troupe_fail(ctx, "wait 1 failed");
		return;
	}
	if (troupe_wait(rt, refs, (size_t)n, (size_t)n, -1, ready) !=
	    TROUPE_OK) {
		troupe_fail(ctx, "wait all failed");
		return;
	}
	int64_t sum = 0;
	for (int64_t i = 0; i < n; i++) {
		int64_t v = -1;
		if (!ready[i] ||
		    troupe_get_i64(rt, refs[i], 0, &v) != TROUPE_OK) {
			troupe_fail(ctx, "child %lld not ready", (long long)i);
			return;
		}
		sum += v;
		troupe_release(rt, refs[i]);
	}
	troupe_return_i64(ctx, sum);
}

static void nested_wait_on(unsigned workers)
{
	troupe *rt;
	troupe_config cfg = {.num_workers = workers};
	assert_int_equal(troupe_init(&rt, &cfg), TROUPE_OK);
	/* Several fan-outs at once, more than there are workers. */
	troupe_ref r[8];
	for (int k = 0; k < 8; k++) {
		troupe_arg a = TROUPE_I64(8 * k);
		assert_int_equal(troupe_submit(rt, fan_out_fn, &a, 1, NULL,
					       &r[k]),
				 TROUPE_OK);
	}
	for (int k = 0; k < 8; k++) {
		int64_t n = 8 * k, want = 0;
		for (int64_t i = 0; i < n; i++)
			want += i * i;
		if (n == 0) {
			/* wait with n = 0 is EINVAL: the body fails. */
			assert_int_equal(troupe_get(rt, r[k], -1, NULL),
					 TROUPE_ETASK);
		} else {
			assert_int_equal(get_i64(rt, r[k]), want);
		}
		assert_int_equal(troupe_release(rt, r[k]), TROUPE_OK);
	}
	assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
}

static void nested_wait(void **state)
{
	(void)state;
	nested_wait_on(1);
	nested_wait_on(2);
}

/* Task blocks go back to the thread that made them (lib/handback.h); a
 * thread that exits first leaves its blocks to be freed by whoever finishes
 * with them.  Here every submitting thread has exited before any of its
 * tasks runs: the workers are held at a gate, then the tasks are run by
 * the workers and by this thread's gets.  ASan reports a block used after
 * it went back or a box never freed; the sum checks every task ran once. */
#define ORPHAN_THREADS 8
#define ORPHAN_TASKS 500

struct orphan_submitter {
	troupe *rt;
	troupe_ref refs[ORPHAN_TASKS];
	troupe_err err;
};

static void *submit_and_exit(void *arg)
{
	struct orphan_submitter *s = arg;
	s->err = TROUPE_OK;
	for (int i = 0; i < ORPHAN_TASKS && s->err == TROUPE_OK; i++) {
		troupe_arg a = TROUPE_I64(i);
		s->err = troupe_submit(s->rt, square_fn, &a, 1, NULL,
				       &s->refs[i]);
	}
	return NULL;
}

static void tasks_outlive_submitting_threads(void **state)
{
	struct test_fixture *f = *state;
	troupe_ref gates[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(test_submit_gate(f->rt, &f->gate, &gates[i]),
				 TROUPE_OK);
	TEST_WAIT_UNTIL(atomic_load(&f->gate.started) == 2);
	assert_int_equal(atomic_load(&f->gate.started), 2);

	static struct orphan_submitter subs[ORPHAN_THREADS];
	pthread_t th[ORPHAN_THREADS];
	for (int t = 0; t < ORPHAN_THREADS; t++) {
		subs[t].rt = f->rt;
		assert_int_equal(pthread_create(&th[t], NULL, submit_and_exit,
						&subs[t]),
				 0);
	}
	for (int t = 0; t < ORPHAN_THREADS; t++) {
		assert_int_equal(pthread_join(th[t], NULL), 0);
		assert_int_equal(subs[t].err, TROUPE_OK);
	}
	assert_int_equal(atomic_load(&f->gate.finished), 0);

	atomic_store(&f->gate.open, 1);
	int64_t sum = 0, want = 0;
	for (int i = 0; i < ORPHAN_TASKS; i++)
		want += (int64_t)i * i;
	want *= ORPHAN_THREADS;
	for (int t = 0; t < ORPHAN_THREADS; t++)
		for (int i = 0; i < ORPHAN_TASKS; i++) {
			sum += get_i64(f->rt, subs[t].refs[i]);
			assert_int_equal(troupe_release(f->rt, subs[t].refs[i]),
					 TROUPE_OK);
		}
	assert_int_equal(sum, want);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(get_i64(f->rt, gates[i]), 7);
		troupe_release(f->rt, gates[i]);
	}
}

/* Body: returns the calling thread's pthread_t (as an i64). */
static void whoami_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		      size_t nargs)
{
	(void)rt, (void)args, (void)nargs;
	troupe_return_i64(ctx, (int64_t)(uintptr_t)pthread_self());
}

/* Holds both of the fixture's workers in its gate. */
static void hold_workers(struct test_fixture *f, troupe_ref gates[2])
{
	for (int i = 0; i < 2; i++)
		assert_int_equal(test_submit_gate(f->rt, &f->gate, &gates[i]),
				 TROUPE_OK);
	TEST_WAIT_UNTIL(atomic_load(&f->gate.started) == 2);
	assert_int_equal(atomic_load(&f->gate.started), 2);
}

/* Opens the gate (if nothing has) and collects the two gate tasks. */
static void release_workers(struct test_fixture *f, troupe_ref gates[2])
{
	atomic_store(&f->gate.open, 1);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(get_i64(f->rt, gates[i]), 7);
		assert_int_equal(troupe_release(f->rt, gates[i]), TROUPE_OK);
	}
}

/* Body: args[0] a struct test_gate * holding both workers, args[1] the
 * test's thread.  Runs on the test's thread (its get ran it there), submits
 * three children, opens the gate, and gets them: they run on the pool.
 * Returns how many things went otherwise (0 expected). */
static void outside_parent_fn(troupe *rt, troupe_ctx *ctx,
			      const troupe_value *args, size_t nargs)
{
	(void)nargs;
	struct test_gate *g = test_ptr_of(&args[0]);
	pthread_t *tester = test_ptr_of(&args[1]);
	int64_t bad = !pthread_equal(*tester, pthread_self());
	troupe_ref r[3];
	for (int i = 0; i < 3; i++)
		if (troupe_submit(rt, whoami_fn, NULL, 0, NULL, &r[i]) !=
		    TROUPE_OK) {
			troupe_fail(ctx, "submit failed");
			return;
		}
	atomic_store(&g->open, 1);
	for (int i = 0; i < 3; i++) {
		int64_t who = 0;
		if (troupe_take_i64(rt, r[i], -1, &who) != TROUPE_OK) {
			bad++;
			troupe_release(rt, r[i]);
		} else if (pthread_equal((pthread_t)(uintptr_t)who,
					 pthread_self())) {
			bad++;
		}
	}
	troupe_return_i64(ctx, bad);
}

/* An outside thread's get runs the task it waits for, but not that body's
 * children: those run on the pool, which is sized to the CPUs. */
static void outside_body_children_run_on_pool(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	troupe_ref gates[2], r;
	hold_workers(f, gates);
	struct test_gate *g = &f->gate;
	pthread_t me = pthread_self();
	pthread_t *mep = &me;
	troupe_arg a[2] = {TEST_PTR_ARG(g), TEST_PTR_ARG(mep)};
	assert_int_equal(troupe_submit(rt, outside_parent_fn, a, 2, NULL, &r),
			 TROUPE_OK);
	int64_t bad = -1;
	assert_int_equal(troupe_take_i64(rt, r, -1, &bad), TROUPE_OK);
	assert_int_equal(bad, 0);
	release_workers(f, gates);
}

/* The stuck pool: one worker, no more allowed; the worker blocks in a get
 * of the body the test's thread runs, and that body waits for a child
 * only a thread outside the pool can run now. */
struct stuck {
	struct test_gate gate;
	_Atomic uint64_t xref; /* the body's ref id, once known */
	atomic_int y_waiting;
};

/* Body on the worker: gets the body the test's thread runs. */
static void stuck_getter_fn(troupe *rt, troupe_ctx *ctx,
			    const troupe_value *args, size_t nargs)
{
	(void)nargs;
	struct stuck *st = test_ptr_of(&args[0]);
	double deadline = test_now_s() + TEST_HANG_S;
	while (atomic_load(&st->xref) == 0 && test_now_s() < deadline)
		test_sleep_ms(1);
	atomic_store(&st->y_waiting, 1);
	int64_t v = 0;
	troupe_err e = troupe_get_i64(rt, (troupe_ref){atomic_load(&st->xref)},
				      -1, &v);
	troupe_return_i64(ctx, e == TROUPE_OK ? v : -1);
}

/* Body on the test's thread: submits a child, lets the worker go (it
 * takes the getter first, which blocks on this body), then gets it. */
static void stuck_parent_fn(troupe *rt, troupe_ctx *ctx,
			    const troupe_value *args, size_t nargs)
{
	(void)nargs;
	struct stuck *st = test_ptr_of(&args[0]);
	troupe_arg a = TROUPE_I64(20);
	troupe_ref c;
	if (troupe_submit(rt, times3_fn, &a, 1, NULL, &c) != TROUPE_OK) {
		troupe_fail(ctx, "submit failed");
		return;
	}
	atomic_store(&st->gate.open, 1);
	double deadline = test_now_s() + TEST_HANG_S;
	while (!atomic_load(&st->y_waiting) && test_now_s() < deadline)
		test_sleep_ms(1);
	test_sleep_ms(20); /* the getter is blocked by now */
	int64_t v = 0;
	if (troupe_take_i64(rt, c, -1, &v) != TROUPE_OK) {
		troupe_release(rt, c);
		troupe_fail(ctx, "the child failed");
		return;
	}
	troupe_return_i64(ctx, v + 1);
}

static void outside_body_runs_child_when_pool_stuck(void **state)
{
	(void)state;
	troupe *rt;
	troupe_config cfg = {.num_workers = 1, .max_threads = 1};
	assert_int_equal(troupe_init(&rt, &cfg), TROUPE_OK);
	static struct stuck st;
	memset(&st, 0, sizeof st);
	struct stuck *stp = &st;
	troupe_ref gate, y, x;
	assert_int_equal(test_submit_gate(rt, &st.gate, &gate), TROUPE_OK);
	TEST_WAIT_UNTIL(atomic_load(&st.gate.started) == 1);
	troupe_arg a = TEST_PTR_ARG(stp);
	assert_int_equal(troupe_submit(rt, stuck_getter_fn, &a, 1, NULL, &y),
			 TROUPE_OK);
	assert_int_equal(troupe_submit(rt, stuck_parent_fn, &a, 1, NULL, &x),
			 TROUPE_OK);
	atomic_store(&st.xref, x.id);
	int64_t v = 0;
	assert_int_equal(troupe_get_i64(rt, x, -1, &v), TROUPE_OK);
	assert_int_equal(v, 61);
	assert_int_equal(troupe_take_i64(rt, y, -1, &v), TROUPE_OK);
	assert_int_equal(v, 61);
	assert_int_equal(troupe_release(rt, x), TROUPE_OK);
	assert_int_equal(get_i64(rt, gate), 7);
	assert_int_equal(troupe_release(rt, gate), TROUPE_OK);
	assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
}

/* A get with no timeout from an outside thread runs a task no worker has
 * started on the calling thread; a get with a timeout never does. */
static void get_runs_unstarted_task(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	troupe_ref gates[2], r;
	hold_workers(f, gates);

	assert_int_equal(troupe_submit(rt, whoami_fn, NULL, 0, NULL, &r),
			 TROUPE_OK);
	int64_t who = 0;
	assert_int_equal(troupe_get_i64(rt, r, 0.05, &who), TROUPE_ETIMEDOUT);
	assert_int_equal(troupe_get_i64(rt, r, -1, &who), TROUPE_OK);
	assert_true(pthread_equal((pthread_t)(uintptr_t)who, pthread_self()));
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);

	/* Once the pool is free again, tasks run there as before. */
	release_workers(f, gates);
	assert_int_equal(atomic_load(&f->gate.finished), 2);
}

/* Body: submits three children (whoami_fn) per round and gets them in
 * each order of a round, or waits for all three first; returns how many
 * children ran on another thread than the body's or gave a wrong answer
 * (0 expected). */
static void family_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		      size_t nargs)
{
	(void)args, (void)nargs;
	static const int orders[][3] = {{2, 1, 0}, {0, 1, 2}, {1, 2, 0},
					{0, 2, 1}, {1, 0, 2}, {2, 0, 1}};
	int64_t bad = 0;
	for (size_t k = 0; k < 2 * sizeof orders / sizeof orders[0]; k++) {
		const int *order =
			orders[k % (sizeof orders / sizeof orders[0])];
		troupe_ref r[3];
		for (int i = 0; i < 3; i++)
			if (troupe_submit(rt, whoami_fn, NULL, 0, NULL,
					  &r[i]) != TROUPE_OK) {
				troupe_fail(ctx, "submit failed");
				return;
			}
		/* The second half of the rounds waits for all first. */
		bool ready[3] = {false, false, false};
		if (k >= sizeof orders / sizeof orders[0] &&
		    (troupe_wait(rt, r, 3, 3, -1, ready) != TROUPE_OK ||
		     !ready[0] || !ready[1] || !ready[2]))
			bad++;
		for (int i = 0; i < 3; i++) {
			int64_t who = 0;
			if (troupe_get_i64(rt, r[order[i]], -1, &who) !=
				    TROUPE_OK ||
			    !pthread_equal((pthread_t)(uintptr_t)who,
					   pthread_self()))
				bad++;
		}
		for (int i = 0; i < 3; i++)
			if (troupe_release(rt, r[i]) != TROUPE_OK)
				bad++;
	}
	troupe_return_i64(ctx, bad);
}

/* Runs fn(args) as a task on one of the fixture's two workers while its
 * gate holds the other, so nothing is stolen (the outside get has a
 * timeout, so the body runs on the free worker); returns its value. */
static int64_t run_on_one_worker(struct test_fixture *f, troupe_fn fn,
				 const troupe_arg *args, size_t nargs)
{
	troupe *rt = f->rt;
	troupe_ref gate, r;
	assert_int_equal(test_submit_gate(rt, &f->gate, &gate), TROUPE_OK);
	TEST_WAIT_UNTIL(atomic_load(&f->gate.started) == 1);
	assert_int_equal(atomic_load(&f->gate.started), 1);
	assert_int_equal(troupe_submit(rt, fn, args, nargs, NULL, &r),
			 TROUPE_OK);
	int64_t v = -1;
	assert_int_equal(troupe_get_i64(rt, r, TEST_HANG_S, &v), TROUPE_OK);
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);
	atomic_store(&f->gate.open, 1);
	assert_int_equal(get_i64(rt, gate), 7);
	assert_int_equal(troupe_release(rt, gate), TROUPE_OK);
	return v;
}

/* A body's get (or wait) runs a child no worker has started on the body's
 * own thread, whether the child is the last it queued (taken off the
 * deque) or deeper in it (claimed where it is), in every order. */
static void body_runs_its_children_in_any_order(void **state)
{
	assert_int_equal(run_on_one_worker(*state, family_fn, NULL, 0), 0);
}

/* The ref the body below hands its child through a global. */
static troupe_ref taken_ref;
static atomic_int taken_errors;

/* Body: releases taken_ref (a second ref to its own result, held by the
 * body that got it), then returns 42. */
static void release_own_fn(troupe *rt, troupe_ctx *ctx,
			   const troupe_value *args, size_t nargs)
{
	(void)args, (void)nargs;
	if (troupe_release(rt, taken_ref) != TROUPE_OK)
		atomic_fetch_add(&taken_errors, 1);
	troupe_return_i64(ctx, 42);
}

/* Body: submits release_own_fn, retains its ref for it, and gets it (so it
 * runs inside the get, on this thread); returns the value, or a negative
 * step that failed.  Its own last release must work once, then be stale. */
static void taken_parent_fn(troupe *rt, troupe_ctx *ctx,
			    const troupe_value *args, size_t nargs)
{
	(void)args, (void)nargs;
	/* A release first: a thread keeps refs once it has released one in
	 * this runtime (objtab.c, slots_of). */
	troupe_ref r;
	if (troupe_put_i64(rt, 1, &r) != TROUPE_OK ||
	    troupe_release(rt, r) != TROUPE_OK ||
	    troupe_submit(rt, release_own_fn, NULL, 0, NULL, &r) != TROUPE_OK ||
	    troupe_retain(rt, r) != TROUPE_OK) {
		troupe_fail(ctx, "submit or retain failed");
		return;
	}
	taken_ref = r;
	int64_t v = 0;
	int64_t out = troupe_get_i64(rt, r, -1, &v) == TROUPE_OK ? v : -1;
	if (troupe_release(rt, r) != TROUPE_OK)
		out = -2;
	else if (troupe_release(rt, r) != TROUPE_ESTALE)
		out = -3;
	troupe_return_i64(ctx, out);
}

/* A body's get reads its child's value through the ref its thread keeps
 * for the child, and leaves that ref for the release after.  Here the
 * child, run inside that get, releases a second ref to its own result:
 * the release takes the kept ref with it (both go in one step), so the
 * get must find the value in the table instead, and the counts stay
 * whole. */
static void get_after_its_kept_ref_went(void **state)
{
	atomic_store(&taken_errors, 0);
	assert_int_equal(run_on_one_worker(*state, taken_parent_fn, NULL, 0),
			 42);
	assert_int_equal(atomic_load(&taken_errors), 0);
}

/* Children per body in brood_fn: more than a worker holds the votes of
 * (TROUPE__HELD_MAX, lib/sched.h), so some are cast at once. */
#define BROOD 40
static atomic_int brood_runs;

/* Body: args[0] a depth.  Submits BROOD children of depth - 1 (at depth
 * 1, three) and gets them in the order it submitted them, so all but the
 * last are claimed where they sit in its deque, then releases them; the
 * children do the same.  Returns how many bodies ran beneath it, itself
 * counted, or -1 when a get or a release failed. */
static void brood_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		     size_t nargs)
{
	(void)nargs;
	int64_t depth = 0;
	troupe_value_i64(&args[0], &depth);
	atomic_fetch_add(&brood_runs, 1);
	int64_t total = 1;
	if (depth > 0) {
		int n = depth > 1 ? BROOD : 3;
		troupe_ref r[BROOD];
		troupe_arg a = TROUPE_I64(depth - 1);
		for (int i = 0; i < n; i++)
			if (troupe_submit(rt, brood_fn, &a, 1, NULL, &r[i]) !=
			    TROUPE_OK) {
				troupe_fail(ctx, "submit failed");
				return;
			}
		for (int i = 0; i < n; i++) {
			int64_t v = 0;
			if (troupe_get_i64(rt, r[i], -1, &v) != TROUPE_OK ||
			    v < 0)
				total = -1;
			else if (total >= 0)
				total += v;
		}
		for (int i = 0; i < n; i++)
			if (troupe_release(rt, r[i]) != TROUPE_OK)
				total = -1;
	}
	troupe_return_i64(ctx, total);
}

/* A body that gets many children in the order it queued them claims all
 * but the last where they sit, and the worker holds the votes their queue
 * slots owe (up to a cap: the rest vote at once) until its deque gives the
 * slots back; each body run inside a get holds its own.  Every body runs
 * once, every value is right, and nothing is left over (ASan's leak check
 * sees a task block whose second vote never came).  All of it runs on
 * one worker. */
static void body_gets_many_children_in_order(void **state)
{
	atomic_store(&brood_runs, 0);
	troupe_arg a = TROUPE_I64(2);
	int64_t bodies = run_on_one_worker(*state, brood_fn, &a, 1);
	/* The root, BROOD children, three grandchildren each. */
	assert_int_equal(bodies, 1 + BROOD + 3 * BROOD);
	assert_int_equal(atomic_load(&brood_runs), bodies);
}

struct slow_run {
	troupe *rt;
	troupe_ref ref;
	troupe_err got;
	atomic_int started, finished;
};

/* Body: args[0] a struct slow_run *; takes 100 ms, submitting along the
 * way (refused once shutdown began), then returns 1. */
static void slow_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		    size_t nargs)
{
	(void)nargs;
	struct slow_run *s = test_ptr_of(&args[0]);
	atomic_store(&s->started, 1);
	for (int i = 0; i < 10; i++) {
		troupe_ref r;
		test_sleep_ms(10);
		if (troupe_submit(rt, noop_fn, NULL, 0, NULL, &r) == TROUPE_OK)
			troupe_release(rt, r);
	}
	atomic_store(&s->finished, 1);
	troupe_return_i64(ctx, 1);
}

static void *slow_getter(void *arg)
{
	struct slow_run *s = arg;
	s->got = troupe_get(s->rt, s->ref, -1, NULL);
	return NULL;
}

/* troupe_shutdown waits for a body an outside thread runs in its get, as
 * it waits for the workers' bodies: it does not return while the body
 * runs, and the body's own calls meanwhile fail cleanly (ESHUTDOWN). */
static void shutdown_waits_for_inline_body(void **state)
{
	(void)state;
	troupe *rt;
	troupe_config cfg = {.num_workers = 1};
	assert_int_equal(troupe_init(&rt, &cfg), TROUPE_OK);
	struct test_gate gate = {0};
	troupe_ref g;
	assert_int_equal(test_submit_gate(rt, &gate, &g), TROUPE_OK);
	TEST_WAIT_UNTIL(atomic_load(&gate.started) == 1);
	assert_int_equal(atomic_load(&gate.started), 1); /* the worker's busy */

	struct slow_run s = {.rt = rt, .got = TROUPE_EINVAL};
	struct slow_run *sp = &s;
	troupe_arg arg = TEST_PTR_ARG(sp);
	assert_int_equal(troupe_submit(rt, slow_fn, &arg, 1, NULL, &s.ref),
			 TROUPE_OK);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, slow_getter, &s), 0);
	TEST_WAIT_UNTIL(atomic_load(&s.started) == 1);
	assert_int_equal(atomic_load(&s.started), 1); /* running in the get */

	atomic_store(&gate.open, 1);
	assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
	assert_int_equal(atomic_load(&s.finished), 1);
	assert_int_equal(pthread_join(th, NULL), 0);
	/* The body's result, or shutdown's if it resolved the ref first. */
	assert_true(s.got == TROUPE_OK || s.got == TROUPE_ESHUTDOWN);
}

static void bad_input(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	troupe *other;
	assert_int_equal(troupe_init(&other, NULL), TROUPE_OK);
	troupe_ref good, released, foreign;
	assert_int_equal(troupe_put_i64(rt, 1, &good), TROUPE_OK);
	assert_int_equal(troupe_put_i64(rt, 2, &released), TROUPE_OK);
	assert_int_equal(troupe_release(rt, released), TROUPE_OK);
	assert_int_equal(troupe_put_i64(other, 3, &foreign), TROUPE_OK);
	troupe_ref unknown = {.id = good.id + 999983};
	troupe_ref zero = {0};

	atomic_store(&runs, 0);
	struct {
		troupe_ref ref;
		troupe_err want1, want2;
	} cases[] = {
		{released, TROUPE_ESTALE, TROUPE_ESTALE},
		{foreign, TROUPE_EFOREIGN, TROUPE_EFOREIGN},
		{unknown, TROUPE_ESTALE, TROUPE_EFOREIGN},
		{zero, TROUPE_ESTALE, TROUPE_EINVAL},
	};
	troupe_task_opts two = {.num_returns = 2};
	assert_int_equal(troupe_register(rt, "sum_bad", sum_fn), TROUPE_OK);
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		troupe_arg a[3] = {TROUPE_REF(good), TROUPE_I64(5),
				   TROUPE_REF(cases[k].ref)};
		troupe_ref out[2] = {{.id = 1111}, {.id = 2222}};
		troupe_err e = troupe_submit(rt, sum_fn, a, 3, &two, out);
		assert_true(e == cases[k].want1 || e == cases[k].want2);
		assert_int_equal(out[0].id, 1111);
		assert_int_equal(out[1].id, 2222);
		e = troupe_submit_named(rt, "sum_bad", a, 3, NULL, out);
		assert_true(e == cases[k].want1 || e == cases[k].want2);
		assert_int_equal(out[0].id, 1111);
	}
	/* Nothing was submitted: after a task that did run, still no run
	 * of sum_fn. */
	troupe_ref probe;
	assert_int_equal(troupe_submit(rt, noop_fn, NULL, 0, NULL, &probe),
			 TROUPE_OK);
	assert_int_equal(troupe_get(rt, probe, -1, NULL), TROUPE_OK);
	assert_int_equal(troupe_release(rt, probe), TROUPE_OK);
	test_sleep_ms(50);
	assert_int_equal(atomic_load(&runs), 1); /* the probe */

	/* The failed submits did not keep a reference to good: one release
	 * is the last. */
	assert_int_equal(troupe_release(rt, good), TROUPE_OK);
	assert_int_equal(troupe_release(rt, good), TROUPE_ESTALE);
	assert_int_equal(troupe_release(other, foreign), TROUPE_OK);
	assert_int_equal(troupe_shutdown(other), TROUPE_OK);
}

/* Stress: a 100,000-long dependency chain (each task adds 1 to its
 * predecessor), held back by a gate until all of it is submitted, with
 * every intermediate ref released at once; then a 1,000-wide fan-in. */
static void stress_chain_and_fan_in(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	enum { LEN = 100000, WIDE = 1000 };
	struct test_gate *gp = &f->gate;
	troupe_arg ga[2] = {TEST_PTR_ARG(gp), TROUPE_I64(0)};
	troupe_ref prev;
	assert_int_equal(troupe_submit(rt, test_gate_fn, ga, 2, NULL, &prev),
			 TROUPE_OK);
	double t0 = test_now_s();
	atomic_store(&runs, 0);
	for (int i = 0; i < LEN; i++) {
		troupe_arg a[2] = {TROUPE_REF(prev), TROUPE_I64(1)};
		troupe_ref next;
		if (troupe_submit(rt, sum_fn, a, 2, NULL, &next) != TROUPE_OK)
			fail_msg("submit %d failed", i);
		if (troupe_release(rt, prev) != TROUPE_OK)
			fail_msg("release %d failed", i);
		prev = next;
	}
	assert_int_equal(troupe_get(rt, prev, 0, NULL), TROUPE_ETIMEDOUT);
	atomic_store(&f->gate.open, 1);
	assert_int_equal(get_i64(rt, prev), LEN);
	assert_int_equal(atomic_load(&runs), LEN);
	assert_int_equal(troupe_release(rt, prev), TROUPE_OK);
	double t1 = test_now_s();

	static troupe_arg wide[WIDE];
	static troupe_ref leaves[WIDE];
	int64_t want = 0;
	for (int i = 0; i < WIDE; i++) {
		troupe_arg a = TROUPE_I64(i);
		assert_int_equal(troupe_submit(rt, square_fn, &a, 1, NULL,
					       &leaves[i]),
				 TROUPE_OK);
		wide[i] = TROUPE_REF(leaves[i]);
		want += (int64_t)i * i;
	}
	troupe_ref sum;
	assert_int_equal(troupe_submit(rt, sum_fn, wide, WIDE, NULL, &sum),
			 TROUPE_OK);
	for (int i = 0; i < WIDE; i++)
		assert_int_equal(troupe_release(rt, leaves[i]), TROUPE_OK);
	assert_int_equal(get_i64(rt, sum), want);
	assert_int_equal(troupe_release(rt, sum), TROUPE_OK);
	print_message("chain of %d tasks: %.2f s\n", LEN, t1 - t0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(inline_args, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(get_runs_unstarted_task, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(
			body_runs_its_children_in_any_order, setup,
			test_fixture_teardown),
		cmocka_unit_test_setup_teardown(body_gets_many_children_in_order,
						setup, test_fixture_teardown),
		cmocka_unit_test(shutdown_waits_for_inline_body),
		cmocka_unit_test_setup_teardown(ref_args, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(multi_returns, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(return_owned, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(empty_return, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(fail_message, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(failure_names_task, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(chained_failure, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(named, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(return_twice, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(tasks_outlive_submitting_threads,
						setup, test_fixture_teardown),
		cmocka_unit_test(fib_one_worker),
		cmocka_unit_test(fib_two_workers),
		cmocka_unit_test(take_in_bodies),
		cmocka_unit_test_setup_teardown(kept_refs_in_bodies, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(get_after_its_kept_ref_went,
						setup, test_fixture_teardown),
		cmocka_unit_test_setup_teardown(
			outside_body_children_run_on_pool, setup,
			test_fixture_teardown),
		cmocka_unit_test(outside_body_runs_child_when_pool_stuck),
		cmocka_unit_test_setup_teardown(take_contract, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(take_while_running, setup,
						test_fixture_teardown),
		cmocka_unit_test(nested_wait),
		cmocka_unit_test_setup_teardown(bad_input, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(stress_chain_and_fan_in, setup,
						test_fixture_teardown),
	};
	return cmocka_run_group_tests_name("tasks", tests, NULL, NULL);
}
