/*
 * Contract tests for the object store: put/get, owned values, typed
 * helpers, timeouts, reference counts, wait, on_ready, the completion fd,
 * calls from threads the runtime has never seen, and memory that stays
 * bounded over a million put/get/release cycles.  Public API only.
 */
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/resource.h>

#include <cmocka.h>

#include "test_util.h"

/* Every case gets a fresh runtime with 2 workers (see test_fixture_setup). */
static int setup(void **state)
{
	return test_fixture_setup(state, 2);
}

/* A pending ref: a gated task that has started (so no get can run it
 * inline), until the test opens f->gate. */
static troupe_ref pending_ref(struct test_fixture *f)
{
	int before = atomic_load(&f->gate.started);
	troupe_ref r;
	assert_int_equal(test_submit_gate(f->rt, &f->gate, &r), TROUPE_OK);
	TEST_WAIT_UNTIL(atomic_load(&f->gate.started) > before);
	assert_true(atomic_load(&f->gate.started) > before);
	return r;
}

static void fail_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		    size_t nargs)
{
	(void)rt, (void)args, (void)nargs;
	troupe_fail(ctx, "deliberate failure %d", 17);
}

static void count_cb(troupe *rt, troupe_ref ref, troupe_err st, void *arg)
{
	(void)rt, (void)ref, (void)st;
	atomic_fetch_add((atomic_int *)arg, 1);
}

/* ----------------------------------------------------------- cases */

static void put_get_copies(void **state)
{
	struct test_fixture *f = *state;
	char buf[100];
	for (int i = 0; i < 100; i++)
		buf[i] = (char)i;
	troupe_ref r;
	assert_int_equal(troupe_put(f->rt, buf, sizeof buf, &r), TROUPE_OK);
	assert_true(r.id != 0);
	memset(buf, 0x5a, sizeof buf); /* the caller's buffer is free again */
	troupe_value v;
	assert_int_equal(troupe_get(f->rt, r, 0, &v), TROUPE_OK);
	assert_int_equal(v.size, 100);
	assert_ptr_not_equal(v.data, buf);
	for (int i = 0; i < 100; i++)
		assert_int_equal(((const char *)v.data)[i], (char)i);
	/* The view is stable while the ref is held. */
	troupe_value v2;
	assert_int_equal(troupe_get(f->rt, r, -1, &v2), TROUPE_OK);
	assert_ptr_equal(v2.data, v.data);
	assert_int_equal(v2.size, v.size);

	/* Sizes around typical inline/out-of-line thresholds. */
	static const size_t sizes[] = {0,   1,	  7,	8,     15,     16,
				       31,  32,	  63,	64,    65,     255,
				       256, 4095, 4096, 65537, 1 << 20};
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		size_t n = sizes[k];
		unsigned char *p = malloc(n + 1);
		assert_non_null(p);
		for (size_t i = 0; i < n; i++)
			p[i] = (unsigned char)(i * 31 + k);
		troupe_ref rk;
		assert_int_equal(troupe_put(f->rt, p, n, &rk), TROUPE_OK);
		memset(p, 0, n + 1);
		free(p);
		troupe_value vk;
		assert_int_equal(troupe_get(f->rt, rk, 0, &vk), TROUPE_OK);
		assert_int_equal(vk.size, n);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(((const unsigned char *)vk.data)[i],
					 (unsigned char)(i * 31 + k));
		assert_int_equal(troupe_release(f->rt, rk), TROUPE_OK);
	}
	assert_int_equal(troupe_release(f->rt, r), TROUPE_OK);
}

static atomic_int freed;
static _Atomic(void *) freed_ptr;

static void count_free(void *p)
{
	atomic_store(&freed_ptr, p);
	atomic_fetch_add(&freed, 1);
	free(p);
}

static void put_owned_frees_once(void **state)
{
	struct test_fixture *f = *state;
	atomic_store(&freed, 0);
	size_t n = 1000;
	char *p = malloc(n);
	assert_non_null(p);
	memset(p, 'q', n);
	troupe_ref r;
	assert_int_equal(troupe_put_owned(f->rt, p, n, count_free, &r),
			 TROUPE_OK);
	troupe_value v;
	assert_int_equal(troupe_get(f->rt, r, 0, &v), TROUPE_OK);
	assert_ptr_equal(v.data, p); /* zero-copy */
	assert_int_equal(v.size, n);

	assert_int_equal(troupe_retain(f->rt, r), TROUPE_OK);
	assert_int_equal(troupe_release(f->rt, r), TROUPE_OK);
	/* One reference left: the buffer must still be there. */
	test_sleep_ms(50);
	assert_int_equal(atomic_load(&freed), 0);
	assert_int_equal(troupe_get(f->rt, r, 0, &v), TROUPE_OK);
	assert_int_equal(((char *)v.data)[n - 1], 'q');

	assert_int_equal(troupe_release(f->rt, r), TROUPE_OK);
	/* Freed after the last release (possibly after an RCU grace
	 * period), exactly once. */
	TEST_WAIT_UNTIL(atomic_load(&freed) == 1);
	assert_int_equal(atomic_load(&freed), 1);
	assert_ptr_equal(atomic_load(&freed_ptr), p);
	test_sleep_ms(50);
	assert_int_equal(atomic_load(&freed), 1);

	/* A NULL free_fn: the runtime just lets go. */
	static char fixed[] = "static storage";
	assert_int_equal(troupe_put_owned(f->rt, fixed, sizeof fixed, NULL, &r),
			 TROUPE_OK);
	const char *s;
	assert_int_equal(troupe_get_str(f->rt, r, 0, &s), TROUPE_OK);
	assert_ptr_equal(s, fixed);
	assert_int_equal(troupe_release(f->rt, r), TROUPE_OK);
}

static void put_owned_freed_at_shutdown(void **state)
{
	(void)state;
	atomic_store(&freed, 0);
	troupe *rt;
	assert_int_equal(troupe_init(&rt, NULL), TROUPE_OK);
	troupe_ref r;
	char *p = malloc(64);
	assert_non_null(p);
	assert_int_equal(troupe_put_owned(rt, p, 64, count_free, &r),
			 TROUPE_OK);
	/* Never released: shutdown frees it, once. */
	assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
	assert_int_equal(atomic_load(&freed), 1);
}

static void typed_helpers(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	troupe_ref ri, rf, rs, rb, re;
	assert_int_equal(troupe_put_i64(rt, -1234567890123LL, &ri), TROUPE_OK);
	assert_int_equal(troupe_put_f64(rt, 2.5e-3, &rf), TROUPE_OK);
	assert_int_equal(troupe_put_str(rt, "hello, troupe", &rs), TROUPE_OK);
	assert_int_equal(troupe_put(rt, "abc", 3, &rb), TROUPE_OK);
	assert_int_equal(troupe_put(rt, NULL, 0, &re), TROUPE_OK);

	int64_t i = 0;
	double d = 0;
	const char *s = NULL;
	assert_int_equal(troupe_get_i64(rt, ri, 0, &i), TROUPE_OK);
	assert_int_equal(i, -1234567890123LL);
	assert_int_equal(troupe_get_f64(rt, rf, 0, &d), TROUPE_OK);
	assert_true(d == 2.5e-3);
	assert_int_equal(troupe_get_str(rt, rs, 0, &s), TROUPE_OK);
	assert_string_equal(s, "hello, troupe");

	/* An i64 is its 8 bytes; a string carries its NUL. */
	troupe_value v;
	assert_int_equal(troupe_get(rt, ri, 0, &v), TROUPE_OK);
	assert_int_equal(v.size, 8);
	int64_t raw;
	memcpy(&raw, v.data, 8);
	assert_int_equal(raw, -1234567890123LL);
	assert_int_equal(troupe_get(rt, rs, 0, &v), TROUPE_OK);
	assert_int_equal(v.size, strlen("hello, troupe") + 1);

	/* Mismatches: ETYPE and the out-param untouched. */
	i = 42;
	d = 4.2;
	s = "keep";
	assert_int_equal(troupe_get_i64(rt, rs, 0, &i), TROUPE_ETYPE);
	assert_int_equal(troupe_get_i64(rt, rb, 0, &i), TROUPE_ETYPE);
	assert_int_equal(troupe_get_i64(rt, re, 0, &i), TROUPE_ETYPE);
	assert_int_equal(troupe_get_f64(rt, rs, 0, &d), TROUPE_ETYPE);
	assert_int_equal(troupe_get_f64(rt, rb, 0, &d), TROUPE_ETYPE);
	assert_int_equal(troupe_get_str(rt, rb, 0, &s), TROUPE_ETYPE);
	assert_int_equal(troupe_get_str(rt, re, 0, &s), TROUPE_ETYPE);
	assert_int_equal(i, 42);
	assert_true(d == 4.2);
	assert_string_equal(s, "keep");
	/* 8 bytes with no NUL is not a string. */
	troupe_ref r8;
	assert_int_equal(troupe_put_i64(rt, 0x4141414141414141LL, &r8),
			 TROUPE_OK);
	assert_int_equal(troupe_get_str(rt, r8, 0, &s), TROUPE_ETYPE);

	/* The view readers. */
	troupe_value vi = {.data = &raw, .size = 8};
	troupe_value v3 = {.data = "abc", .size = 3};
	troupe_value v4 = {.data = "abc", .size = 4};
	assert_int_equal(troupe_value_i64(&vi, &i), TROUPE_OK);
	assert_int_equal(i, -1234567890123LL);
	assert_int_equal(troupe_value_i64(&v3, &i), TROUPE_ETYPE);
	assert_int_equal(troupe_value_f64(&v3, &d), TROUPE_ETYPE);
	assert_int_equal(troupe_value_str(&v3, &s), TROUPE_ETYPE);
	assert_int_equal(troupe_value_str(&v4, &s), TROUPE_OK);
	assert_string_equal(s, "abc");

	troupe_ref all[] = {ri, rf, rs, rb, re, r8};
	for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
		assert_int_equal(troupe_release(rt, all[k]), TROUPE_OK);
}

static void get_timeouts(void **state)
{
	struct test_fixture *f = *state;
	troupe_ref p = pending_ref(f);
	int64_t v = 55;
	troupe_value view = {.data = &v, .size = 3};

	/* 0 = just look. */
	assert_int_equal(troupe_get(f->rt, p, 0, &view), TROUPE_ETIMEDOUT);
	assert_ptr_equal(view.data, &v);
	assert_int_equal(view.size, 3);
	assert_int_equal(troupe_get_i64(f->rt, p, 0, &v), TROUPE_ETIMEDOUT);
	assert_int_equal(v, 55);
	/* A short timeout. */
	double t0 = test_now_s();
	assert_int_equal(troupe_get(f->rt, p, 0.05, &view), TROUPE_ETIMEDOUT);
	double waited = test_now_s() - t0;
	assert_true(waited >= 0.04); /* it did wait (lower bound only) */
	const char *msg = "keep";
	assert_int_equal(troupe_error_message(f->rt, p, &msg), TROUPE_EINVAL);
	assert_string_equal(msg, "keep");

	/* Negative = forever: returns once the gate opens. */
	atomic_store(&f->gate.open, 1);
	assert_int_equal(troupe_get_i64(f->rt, p, -1, &v), TROUPE_OK);
	assert_int_equal(v, 7);
	/* A timed-out get left the object untouched. */
	assert_int_equal(troupe_get_i64(f->rt, p, 0, &v), TROUPE_OK);
	assert_int_equal(v, 7);
	assert_int_equal(troupe_release(f->rt, p), TROUPE_OK);

	/* An error resolves a get too: ETASK and the message. */
	troupe_ref fr;
	assert_int_equal(troupe_submit(f->rt, fail_fn, NULL, 0, NULL, &fr),
			 TROUPE_OK);
	view.data = &v;
	assert_int_equal(troupe_get(f->rt, fr, -1, &view), TROUPE_ETASK);
	assert_ptr_equal(view.data, &v);
	assert_int_equal(troupe_error_message(f->rt, fr, &msg), TROUPE_OK);
	assert_non_null(strstr(msg, "deliberate failure 17"));
	assert_int_equal(troupe_release(f->rt, fr), TROUPE_OK);
}

/* A ref used after its release stays ESTALE once its memory is gone: the
 * thread's lookup hints (lib/objtab.c) must not outlive the objects they
 * name.  This thread leaves a hint for `first` and releases it; another
 * thread then releases many more objects than one reclaim batch, which
 * frees `first`.  Under ASan, a hint trusted past that reads freed memory. */
enum { CHURN = 20000 };

static void *churn(void *arg)
{
	troupe *rt = arg;
	for (int i = 0; i < CHURN; i++) {
		troupe_ref r;
		if (troupe_put_i64(rt, i, &r) != TROUPE_OK ||
		    troupe_release(rt, r) != TROUPE_OK)
			return (void *)1;
	}
	return NULL;
}

static void stale_after_reclaim(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	troupe_ref first, held;
	int64_t v;
	assert_int_equal(troupe_put_i64(rt, 42, &held), TROUPE_OK);
	assert_int_equal(troupe_put_i64(rt, 7, &first), TROUPE_OK);
	assert_int_equal(troupe_get_i64(rt, first, 0, &v), TROUPE_OK);
	assert_int_equal(troupe_release(rt, first), TROUPE_OK);
	assert_int_equal(troupe_get_i64(rt, first, 0, &v), TROUPE_ESTALE);
	for (int round = 0; round < 3; round++) {
		pthread_t th;
		void *res;
		assert_int_equal(pthread_create(&th, NULL, churn, rt), 0);
		assert_int_equal(pthread_join(th, &res), 0);
		assert_null(res);
		/* Batches are freed by the pool: give it a moment. */
		usleep(20000);
		assert_int_equal(troupe_get_i64(rt, first, 0, &v),
				 TROUPE_ESTALE);
		assert_int_equal(troupe_release(rt, first), TROUPE_ESTALE);
		assert_int_equal(troupe_retain(rt, first), TROUPE_ESTALE);
		/* One still held is found throughout. */
		assert_int_equal(troupe_get_i64(rt, held, 0, &v), TROUPE_OK);
		assert_int_equal(v, 42);
	}
	assert_int_equal(troupe_release(rt, held), TROUPE_OK);
}

/* Ids made in a row share table lines (objtab.c's id_hash), so a live set
 * of every 16th object made would crowd a sixteenth of the buckets if runs
 * of ids began only at multiples of 16 (as they once did).  Every one is
 * still found with its value, through the table's resizing around it, and
 * the released ones are not. */
static void strided_live_set(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	enum { STRIDE = 16, KEPT = 4096 };
	troupe_ref *kept = calloc(KEPT, sizeof *kept);
	troupe_ref *gone = calloc(KEPT, sizeof *gone);
	assert_non_null(kept);
	assert_non_null(gone);
	for (int i = 0; i < KEPT * STRIDE; i++) {
		troupe_ref r;
		assert_int_equal(troupe_put_i64(rt, i, &r), TROUPE_OK);
		if (i % STRIDE == 0) {
			kept[i / STRIDE] = r;
			continue;
		}
		if (i % STRIDE == 1)
			gone[i / STRIDE] = r;
		assert_int_equal(troupe_release(rt, r), TROUPE_OK);
	}
	for (int round = 0; round < 2; round++) {
		for (int k = 0; k < KEPT; k++) {
			int64_t v = -1;
			assert_int_equal(troupe_get_i64(rt, kept[k], 0, &v),
					 TROUPE_OK);
			assert_int_equal(v, (int64_t)k * STRIDE);
			assert_int_equal(troupe_get_i64(rt, gone[k], 0, &v),
					 TROUPE_ESTALE);
		}
		/* Churn around them: the table is resized as the count moves. */
		for (int i = 0; i < 200000; i++) {
			troupe_ref r;
			assert_int_equal(troupe_put_i64(rt, i, &r), TROUPE_OK);
			assert_int_equal(troupe_release(rt, r), TROUPE_OK);
		}
	}
	for (int k = 0; k < KEPT; k++)
		assert_int_equal(troupe_release(rt, kept[k]), TROUPE_OK);
	free(kept);
	free(gone);
}

/* The table grows and shrinks around a big live set made and dropped by
 * an application thread; the pool resizes it (objtab.c's grow_check) while
 * this thread goes on putting and getting.  Every value is found
 * throughout. */
static void resizes_around_big_live_set(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	enum { BIG = 300000 };
	troupe_ref *refs = calloc(BIG, sizeof *refs);
	assert_non_null(refs);
	for (int i = 0; i < BIG; i++) {
		assert_int_equal(troupe_put_i64(rt, i, &refs[i]), TROUPE_OK);
		if (i % 1000 == 999) { /* look back while the table moves */
			int64_t v = -1;
			int k = i - 997;
			assert_int_equal(troupe_get_i64(rt, refs[k], 0, &v),
					 TROUPE_OK);
			assert_int_equal(v, k);
		}
	}
	for (int i = 0; i < BIG; i++) {
		int64_t v = -1;
		assert_int_equal(troupe_get_i64(rt, refs[i], 0, &v), TROUPE_OK);
		assert_int_equal(v, i);
	}
	for (int i = 0; i < BIG; i++) {
		assert_int_equal(troupe_release(rt, refs[i]), TROUPE_OK);
		int k = BIG - 1 - i / 2; /* still held until i reaches it */
		if (i % 1000 == 0 && k > i) {
			int64_t v = -1;
			assert_int_equal(troupe_get_i64(rt, refs[k], 0, &v),
					 TROUPE_OK);
			assert_int_equal(v, k);
		}
	}
	free(refs);
}

/* A burst leaves the table big; it shrinks back once it has held few
 * objects while half as many were made as it has buckets (objtab.c's
 * grow_check).  The sizes here make that happen (seen with a print in
 * grow_check: 131,072 buckets to 16,384 at the 167,936th object): objects
 * made in batches held, then released, so that most are new entries
 * rather than reused slots.  What is checked: a small live set made before
 * the burst is found with its values throughout. */
static void shrinks_after_a_burst(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	enum { SMALL = 100, BURST = 100000, BATCH = 8192, ROUNDS = 60 };
	troupe_ref small[SMALL];
	for (int i = 0; i < SMALL; i++)
		assert_int_equal(troupe_put_i64(rt, -i, &small[i]), TROUPE_OK);
	troupe_ref *many = calloc(BURST, sizeof *many);
	assert_non_null(many);
	for (int i = 0; i < BURST; i++)
		assert_int_equal(troupe_put_i64(rt, i, &many[i]), TROUPE_OK);
	for (int i = 0; i < BURST; i++)
		assert_int_equal(troupe_release(rt, many[i]), TROUPE_OK);
	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < BATCH; i++)
			assert_int_equal(troupe_put_i64(rt, round + i, &many[i]),
					 TROUPE_OK);
		for (int i = 0; i < SMALL; i++) {
			int64_t v = 1;
			assert_int_equal(troupe_get_i64(rt, small[i], 0, &v),
					 TROUPE_OK);
			assert_int_equal(v, -i);
		}
		for (int i = 0; i < BATCH; i++) {
			int64_t v = -1;
			assert_int_equal(troupe_get_i64(rt, many[i], 0, &v),
					 TROUPE_OK);
			assert_int_equal(v, round + i);
			assert_int_equal(troupe_release(rt, many[i]), TROUPE_OK);
		}
	}
	for (int i = 0; i < SMALL; i++)
		assert_int_equal(troupe_release(rt, small[i]), TROUPE_OK);
	free(many);
}

static void refcounts(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	troupe_ref r, other;
	assert_int_equal(troupe_put_i64(rt, 10, &r), TROUPE_OK);
	assert_int_equal(troupe_put_i64(rt, 20, &other), TROUPE_OK);
	for (int i = 0; i < 5; i++)
		assert_int_equal(troupe_retain(rt, r), TROUPE_OK);
	/* Six references: five releases leave it readable. */
	int64_t v;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(troupe_release(rt, r), TROUPE_OK);
		assert_int_equal(troupe_get_i64(rt, r, 0, &v), TROUPE_OK);
		assert_int_equal(v, 10);
	}
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);

	/* Released: every use is ESTALE, and changes nothing. */
	v = 99;
	troupe_value view = {.data = &v, .size = 1};
	assert_int_equal(troupe_release(rt, r), TROUPE_ESTALE);
	assert_int_equal(troupe_release(rt, r), TROUPE_ESTALE);
	assert_int_equal(troupe_retain(rt, r), TROUPE_ESTALE);
	assert_int_equal(troupe_get(rt, r, 0, &view), TROUPE_ESTALE);
	assert_int_equal(troupe_get(rt, r, -1, &view), TROUPE_ESTALE);
	assert_int_equal(troupe_get_i64(rt, r, 0, &v), TROUPE_ESTALE);
	assert_ptr_equal(view.data, &v);
	assert_int_equal(v, 99);
	bool ready[1] = {false};
	assert_int_equal(troupe_wait(rt, &r, 1, 1, 0, ready), TROUPE_ESTALE);
	const char *msg = "keep";
	assert_int_equal(troupe_error_message(rt, r, &msg), TROUPE_ESTALE);
	atomic_int calls = 0;
	assert_int_equal(troupe_on_ready(rt, r, count_cb, &calls),
			 TROUPE_ESTALE);
	assert_int_equal(troupe_on_ready_post(rt, r, count_cb, &calls),
			 TROUPE_ESTALE);
	assert_string_equal(msg, "keep");
	/* A failed registration never calls back. */
	assert_int_equal(troupe_dispatch(rt, NULL), TROUPE_OK);
	assert_int_equal(atomic_load(&calls), 0);

	/* The other object is unaffected by the extra releases. */
	assert_int_equal(troupe_get_i64(rt, other, 0, &v), TROUPE_OK);
	assert_int_equal(v, 20);
	/* Id 0 is never valid. */
	troupe_ref zero = {0};
	troupe_err e = troupe_get(rt, zero, 0, NULL);
	assert_true(e == TROUPE_ESTALE || e == TROUPE_EINVAL);
	e = troupe_release(rt, zero);
	assert_true(e == TROUPE_ESTALE || e == TROUPE_EINVAL);
	e = troupe_retain(rt, zero);
	assert_true(e == TROUPE_ESTALE || e == TROUPE_EINVAL);
	/* An id this runtime never handed out. */
	troupe_ref made_up = {.id = other.id + 1000003};
	e = troupe_get(rt, made_up, 0, NULL);
	assert_true(e == TROUPE_ESTALE || e == TROUPE_EFOREIGN);
	assert_int_equal(troupe_release(rt, other), TROUPE_OK);
	assert_int_equal(troupe_release(rt, other), TROUPE_ESTALE);

	/* A released pending ref is stale at once, though its task still
	 * runs. */
	troupe_ref p = pending_ref(f);
	assert_int_equal(troupe_release(rt, p), TROUPE_OK);
	assert_int_equal(troupe_get(rt, p, 0, NULL), TROUPE_ESTALE);
	assert_int_equal(troupe_release(rt, p), TROUPE_ESTALE);
	atomic_store(&f->gate.open, 1);
	TEST_WAIT_UNTIL(atomic_load(&f->gate.finished) == 1);
	assert_int_equal(atomic_load(&f->gate.finished), 1);
}

static void wait_semantics(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	troupe_ref a, b, fr;
	assert_int_equal(troupe_put_i64(rt, 1, &a), TROUPE_OK);
	assert_int_equal(troupe_put_i64(rt, 2, &b), TROUPE_OK);
	assert_int_equal(troupe_submit(rt, fail_fn, NULL, 0, NULL, &fr),
			 TROUPE_OK);
	assert_int_equal(troupe_get(rt, fr, -1, NULL), TROUPE_ETASK);
	troupe_ref p1 = pending_ref(f);
	troupe_ref p2 = pending_ref(f);

	troupe_ref refs[5] = {p1, a, p2, b, fr};
	bool ready[5];
	/* Enough already resolved (an error counts as resolved). */
	memset(ready, 0xcc, sizeof ready);
	assert_int_equal(troupe_wait(rt, refs, 5, 3, 0, ready), TROUPE_OK);
	assert_false(ready[0]);
	assert_true(ready[1]);
	assert_false(ready[2]);
	assert_true(ready[3]);
	assert_true(ready[4]);
	assert_int_equal(troupe_wait(rt, refs, 5, 1, -1, ready), TROUPE_OK);
	/* Not enough: ETIMEDOUT, flags still filled in input order. */
	memset(ready, 0xcc, sizeof ready);
	assert_int_equal(troupe_wait(rt, refs, 5, 4, 0, ready),
			 TROUPE_ETIMEDOUT);
	assert_false(ready[0]);
	assert_true(ready[1]);
	assert_false(ready[2]);
	assert_true(ready[3]);
	assert_true(ready[4]);
	assert_int_equal(troupe_wait(rt, refs, 5, 5, 0.05, ready),
			 TROUPE_ETIMEDOUT);
	assert_false(ready[0] || ready[2]);

	/* Duplicates count per position. */
	troupe_ref dup[3] = {a, p1, a};
	assert_int_equal(troupe_wait(rt, dup, 3, 2, 0, ready), TROUPE_OK);
	assert_true(ready[0] && !ready[1] && ready[2]);
	assert_int_equal(troupe_wait(rt, dup, 3, 3, 0, ready),
			 TROUPE_ETIMEDOUT);
	troupe_ref dup_p[2] = {p1, p1};
	assert_int_equal(troupe_wait(rt, dup_p, 2, 1, 0, ready),
			 TROUPE_ETIMEDOUT);
	assert_false(ready[0] || ready[1]);

	/* Forever: returns once the gate opens (both gated tasks finish). */
	atomic_store(&f->gate.open, 1);
	assert_int_equal(troupe_wait(rt, refs, 5, 5, -1, ready), TROUPE_OK);
	for (int i = 0; i < 5; i++)
		assert_true(ready[i]);
	assert_int_equal(troupe_wait(rt, dup_p, 2, 2, -1, ready), TROUPE_OK);
	assert_true(ready[0] && ready[1]);

	/* A bad ref anywhere in the list: an error, not a partial wait. */
	troupe_ref stale;
	assert_int_equal(troupe_put_i64(rt, 3, &stale), TROUPE_OK);
	assert_int_equal(troupe_release(rt, stale), TROUPE_OK);
	troupe_ref with_stale[3] = {a, stale, b};
	assert_int_equal(troupe_wait(rt, with_stale, 3, 1, 0, ready),
			 TROUPE_ESTALE);

	troupe_ref all[] = {a, b, fr, p1, p2};
	for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
		assert_int_equal(troupe_release(rt, all[k]), TROUPE_OK);
}

/* An on_ready record: calls, the last status, the thread, and whether the
 * callback could read the value through the borrowed ref. */
struct ready_rec {
	atomic_int calls;
	atomic_int status;
	atomic_int value_ok;
	int64_t expect;
	pthread_t thread;
	atomic_int thread_set;
};

static void rec_cb(troupe *rt, troupe_ref ref, troupe_err st, void *arg)
{
	struct ready_rec *r = arg;
	r->thread = pthread_self();
	atomic_store(&r->thread_set, 1);
	atomic_store(&r->status, (int)st);
	if (st == TROUPE_OK) {
		int64_t v = 0;
		/* The callback borrows ref: reading it is allowed. */
		if (troupe_get_i64(rt, ref, 0, &v) == TROUPE_OK &&
		    v == r->expect)
			atomic_store(&r->value_ok, 1);
	}
	atomic_fetch_add(&r->calls, 1);
}

static void on_ready_once(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;

	/* Already ready: called at once, on the caller's thread. */
	struct ready_rec now = {.expect = 5};
	troupe_ref a;
	assert_int_equal(troupe_put_i64(rt, 5, &a), TROUPE_OK);
	assert_int_equal(troupe_on_ready(rt, a, rec_cb, &now), TROUPE_OK);
	assert_int_equal(atomic_load(&now.calls), 1);
	assert_int_equal(atomic_load(&now.status), TROUPE_OK);
	assert_int_equal(atomic_load(&now.value_ok), 1);
	assert_true(pthread_equal(now.thread, pthread_self()));
	assert_int_equal(troupe_release(rt, a), TROUPE_OK);

	/* Later: the ref is released right after registering; the
	 * registration keeps the object alive until the callback. */
	struct ready_rec later = {.expect = 7};
	troupe_ref p = pending_ref(f);
	assert_int_equal(troupe_on_ready(rt, p, rec_cb, &later), TROUPE_OK);
	assert_int_equal(troupe_release(rt, p), TROUPE_OK);
	test_sleep_ms(20);
	assert_int_equal(atomic_load(&later.calls), 0);
	atomic_store(&f->gate.open, 1);
	TEST_WAIT_UNTIL(atomic_load(&later.calls) >= 1);
	assert_int_equal(atomic_load(&later.calls), 1);
	assert_int_equal(atomic_load(&later.status), TROUPE_OK);
	assert_int_equal(atomic_load(&later.value_ok), 1);

	/* A failure is reported with its code. */
	struct ready_rec failed = {0};
	troupe_ref fr;
	assert_int_equal(troupe_submit(rt, fail_fn, NULL, 0, NULL, &fr),
			 TROUPE_OK);
	assert_int_equal(troupe_on_ready(rt, fr, rec_cb, &failed), TROUPE_OK);
	assert_int_equal(troupe_release(rt, fr), TROUPE_OK);
	TEST_WAIT_UNTIL(atomic_load(&failed.calls) >= 1);
	assert_int_equal(atomic_load(&failed.calls), 1);
	assert_int_equal(atomic_load(&failed.status), TROUPE_ETASK);

	/* Several registrations on one ref: each called once. */
	struct test_gate g2 = {0};
	troupe_ref q;
	assert_int_equal(test_submit_gate(rt, &g2, &q), TROUPE_OK);
	struct ready_rec many[8];
	memset(many, 0, sizeof many);
	for (int i = 0; i < 8; i++) {
		many[i].expect = 7;
		assert_int_equal(troupe_on_ready(rt, q, rec_cb, &many[i]),
				 TROUPE_OK);
	}
	assert_int_equal(troupe_release(rt, q), TROUPE_OK);
	atomic_store(&g2.open, 1);
	for (int i = 0; i < 8; i++) {
		TEST_WAIT_UNTIL(atomic_load(&many[i].calls) >= 1);
		assert_int_equal(atomic_load(&many[i].value_ok), 1);
	}
	test_sleep_ms(50);
	for (int i = 0; i < 8; i++)
		assert_int_equal(atomic_load(&many[i].calls), 1);
	assert_int_equal(atomic_load(&now.calls), 1);
	assert_int_equal(atomic_load(&later.calls), 1);
	assert_int_equal(atomic_load(&failed.calls), 1);
}

static bool fd_readable(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int n = poll(&p, 1, timeout_ms);
	return n == 1 && (p.revents & POLLIN);
}

static void completion_fd(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	int fd = -1, fd2 = -1;
	assert_int_equal(troupe_completion_fd(rt, &fd), TROUPE_OK);
	assert_true(fd >= 0);
	assert_int_equal(troupe_completion_fd(rt, &fd2), TROUPE_OK);
	assert_int_equal(fd, fd2);
	assert_false(fd_readable(fd, 0));
	size_t ran = 99;
	assert_int_equal(troupe_dispatch(rt, &ran), TROUPE_OK);
	assert_int_equal(ran, 0);

	/* Already ready: posted, not run inline. */
	struct ready_rec now = {.expect = 3};
	troupe_ref a;
	assert_int_equal(troupe_put_i64(rt, 3, &a), TROUPE_OK);
	assert_int_equal(troupe_on_ready_post(rt, a, rec_cb, &now), TROUPE_OK);
	assert_int_equal(troupe_release(rt, a), TROUPE_OK);
	assert_int_equal(atomic_load(&now.calls), 0);

	/* Later: resolved on a worker, run here. */
	struct ready_rec later = {.expect = 7};
	troupe_ref p = pending_ref(f);
	assert_int_equal(troupe_on_ready_post(rt, p, rec_cb, &later),
			 TROUPE_OK);
	assert_int_equal(troupe_release(rt, p), TROUPE_OK);
	atomic_store(&f->gate.open, 1);
	TEST_WAIT_UNTIL(atomic_load(&f->gate.finished) == 1);

	size_t total = 0;
	double deadline = test_now_s() + TEST_HANG_S;
	while (total < 2 && test_now_s() < deadline) {
		if (!fd_readable(fd, 100))
			continue;
		assert_int_equal(troupe_dispatch(rt, &ran), TROUPE_OK);
		total += ran;
	}
	assert_int_equal(total, 2);
	assert_int_equal(atomic_load(&now.calls), 1);
	assert_int_equal(atomic_load(&later.calls), 1);
	assert_true(pthread_equal(now.thread, pthread_self()));
	assert_true(pthread_equal(later.thread, pthread_self()));
	assert_int_equal(atomic_load(&now.value_ok), 1);
	assert_int_equal(atomic_load(&later.value_ok), 1);
	/* Drained: not readable, nothing more to run. */
	assert_false(fd_readable(fd, 0));
	assert_int_equal(troupe_dispatch(rt, &ran), TROUPE_OK);
	assert_int_equal(ran, 0);

	/* A burst of posts from workers: all run here, each once. */
	enum { N = 200 };
	static struct ready_rec burst[N];
	memset(burst, 0, sizeof burst);
	struct test_gate g2 = {0};
	for (int i = 0; i < N; i++) {
		troupe_ref r;
		struct test_gate *gp = &g2;
		troupe_arg args[2] = {TEST_PTR_ARG(gp), TROUPE_I64(i)};
		assert_int_equal(troupe_submit(rt, test_gate_fn, args, 2, NULL,
					       &r),
				 TROUPE_OK);
		burst[i].expect = i;
		assert_int_equal(troupe_on_ready_post(rt, r, rec_cb, &burst[i]),
				 TROUPE_OK);
		assert_int_equal(troupe_release(rt, r), TROUPE_OK);
	}
	atomic_store(&g2.open, 1);
	total = 0;
	deadline = test_now_s() + TEST_HANG_S;
	while (total < N && test_now_s() < deadline) {
		if (!fd_readable(fd, 100))
			continue;
		assert_int_equal(troupe_dispatch(rt, &ran), TROUPE_OK);
		total += ran;
	}
	assert_int_equal(total, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(atomic_load(&burst[i].calls), 1);
		assert_int_equal(atomic_load(&burst[i].value_ok), 1);
		assert_true(pthread_equal(burst[i].thread, pthread_self()));
	}
	assert_false(fd_readable(fd, 0));
}

/* The fd's count stays right around a dispatch: a callback that posts
 * another (already ready, so posted at once, inside the dispatch) leaves
 * the fd readable for it; the next dispatch runs it and leaves the fd
 * unreadable.  Also when the application read the fd itself, which it
 * must not, the post is not left unsignalled. */
struct chain_post {
	troupe_ref next;
	struct ready_rec rec;
};

static void post_next_cb(troupe *rt, troupe_ref ref, troupe_err st, void *arg)
{
	(void)ref, (void)st;
	struct chain_post *c = arg;
	atomic_fetch_add(&c->rec.calls, 1);
	if (troupe_on_ready_post(rt, c->next, rec_cb, &c->rec) != TROUPE_OK)
		atomic_store(&c->rec.status, -1);
}

static void completion_fd_count(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	int fd = -1;
	assert_int_equal(troupe_completion_fd(rt, &fd), TROUPE_OK);
	for (int misuse = 0; misuse < 2; misuse++) {
		troupe_ref first;
		struct chain_post c = {.rec = {.expect = 9}};
		assert_int_equal(troupe_put_i64(rt, 8, &first), TROUPE_OK);
		assert_int_equal(troupe_put_i64(rt, 9, &c.next), TROUPE_OK);
		assert_int_equal(troupe_on_ready_post(rt, first, post_next_cb,
						      &c),
				 TROUPE_OK);
		assert_true(fd_readable(fd, 0));
		if (misuse) {
			uint64_t cnt = 0;
			assert_int_equal(read(fd, &cnt, sizeof cnt),
					 (ssize_t)sizeof cnt);
		}
		size_t ran = 0;
		assert_int_equal(troupe_dispatch(rt, &ran), TROUPE_OK);
		assert_int_equal(ran,
				 1); /* post_next_cb, which posted rec_cb */
		assert_int_equal(atomic_load(&c.rec.calls), 1);
		assert_true(fd_readable(fd, 0));
		assert_int_equal(troupe_dispatch(rt, &ran), TROUPE_OK);
		assert_int_equal(ran, 1);
		assert_int_equal(atomic_load(&c.rec.calls), 2);
		assert_int_equal(atomic_load(&c.rec.value_ok), 1);
		assert_false(fd_readable(fd, 0));
		assert_int_equal(troupe_release(rt, first), TROUPE_OK);
		assert_int_equal(troupe_release(rt, c.next), TROUPE_OK);
	}
}

/* ------------------------------------------ brand-new application threads */

static void double_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		      size_t nargs)
{
	(void)rt, (void)nargs;
	int64_t v = 0;
	troupe_value_i64(&args[0], &v);
	troupe_return_i64(ctx, 2 * v);
}

struct short_lived {
	troupe *rt;
	int64_t id;
	int errors;
};

static void *short_lived_main(void *p)
{
	struct short_lived *s = p;
	for (int k = 0; k < 4; k++) {
		int64_t x = s->id * 10 + k;
		troupe_ref r, t;
		int64_t v = 0;
		if (troupe_put_i64(s->rt, x, &r) != TROUPE_OK) {
			s->errors++;
			continue;
		}
		if (troupe_get_i64(s->rt, r, -1, &v) != TROUPE_OK || v != x)
			s->errors++;
		troupe_arg a = TROUPE_REF(r);
		if (troupe_submit(s->rt, double_fn, &a, 1, NULL, &t) !=
		    TROUPE_OK) {
			s->errors++;
		} else {
			if (troupe_get_i64(s->rt, t, -1, &v) != TROUPE_OK ||
			    v != 2 * x)
				s->errors++;
			if (troupe_release(s->rt, t) != TROUPE_OK)
				s->errors++;
		}
		if (troupe_release(s->rt, r) != TROUPE_OK)
			s->errors++;
	}
	return NULL;
}

static void new_app_threads(void **state)
{
	struct test_fixture *f = *state;
	enum { ROUNDS = 50, PER_ROUND = 8 };
	int threads_before = test_thread_count();
	for (int round = 0; round < ROUNDS; round++) {
		pthread_t th[PER_ROUND];
		struct short_lived s[PER_ROUND];
		for (int i = 0; i < PER_ROUND; i++) {
			s[i] = (struct short_lived){
				.rt = f->rt, .id = round * PER_ROUND + i};
			assert_int_equal(pthread_create(&th[i], NULL,
							short_lived_main,
							&s[i]),
					 0);
		}
		for (int i = 0; i < PER_ROUND; i++) {
			assert_int_equal(pthread_join(th[i], NULL), 0);
			assert_int_equal(s[i].errors, 0);
		}
	}
	/* The exited threads' registrations are gone: the runtime still
	 * reclaims memory (grace periods complete) and works. */
	for (int i = 0; i < 10000; i++) {
		troupe_ref r;
		assert_int_equal(troupe_put_i64(f->rt, i, &r), TROUPE_OK);
		assert_int_equal(troupe_release(f->rt, r), TROUPE_OK);
	}
	atomic_store(&freed, 0);
	troupe_ref r;
	char *p = malloc(16);
	assert_non_null(p);
	assert_int_equal(troupe_put_owned(f->rt, p, 16, count_free, &r),
			 TROUPE_OK);
	assert_int_equal(troupe_release(f->rt, r), TROUPE_OK);
	TEST_WAIT_UNTIL(atomic_load(&freed) == 1);
	assert_int_equal(atomic_load(&freed), 1);
	TEST_WAIT_UNTIL(test_thread_count() <= threads_before);
	assert_true(test_thread_count() <= threads_before);
}

/* ----------------------------------------------- reused slots (objtab.c) */

/* A thread's released object lends its memory to that thread's next one.
 * Ids another thread has seen released stay stale however often their
 * slots are reused meanwhile: get (with and without a wait), wait, retain,
 * release, on_ready and a task argument all refuse them, and none touches the object now in the slot
 * (a count moved on the wrong object would fail the maker's own release or
 * get). */
enum { REUSE_ROUNDS = 100000, STALE_RING = 64 };

struct reuse_race {
	troupe *rt;
	_Atomic uint64_t ring[STALE_RING];
	atomic_int done;
	atomic_long checks; /* read by the test's thread before done */
	long hits;
};

static void never_cb(troupe *rt, troupe_ref ref, troupe_err st, void *arg)
{
	(void)rt, (void)ref, (void)st;
	atomic_fetch_add((atomic_int *)arg, 1);
}

static atomic_int stale_callbacks;

static void *stale_checker(void *p)
{
	struct reuse_race *x = p;
	for (unsigned k = 0; !atomic_load(&x->done); k++) {
		uint64_t id = atomic_load(&x->ring[k % STALE_RING]);
		if (id == 0)
			continue;
		troupe_ref r = {id}, t;
		troupe_arg a = TROUPE_REF(r);
		int64_t v;
		troupe_err e;
		bool ready;
		switch (k / STALE_RING % 7) {
		case 0:
			e = troupe_get_i64(x->rt, r, 0, &v);
			break;
		case 1:
			e = troupe_retain(x->rt, r);
			break;
		case 2:
			e = troupe_release(x->rt, r);
			break;
		case 3:
			e = troupe_on_ready(x->rt, r, never_cb,
					    &stale_callbacks);
			break;
		case 4:
			e = troupe_get_i64(x->rt, r, 1e-4, &v);
			break;
		case 5:
			e = troupe_wait(x->rt, &r, 1, 1, 1e-4, &ready);
			break;
		default:
			e = troupe_submit(x->rt, double_fn, &a, 1, NULL, &t);
			if (e == TROUPE_OK)
				troupe_release(x->rt, t);
			break;
		}
		x->checks++;
		if (e != TROUPE_ESTALE)
			x->hits++;
	}
	return NULL;
}

/* Before telling the checker it is done: lets it make a ring's worth of
 * checks (every id in its ring is stale by now), which it may not have
 * begun on a busy 2-CPU machine where the run takes a tenth of a second. */
static void await_checks(struct reuse_race *x)
{
	double t0 = test_now_s();
	while (atomic_load(&x->checks) < STALE_RING &&
	       test_now_s() - t0 < TEST_HANG_S)
		sched_yield();
}

static void stale_ids_across_slot_reuse(void **state)
{
	struct test_fixture *f = *state;
	struct reuse_race *x = calloc(1, sizeof *x);
	assert_non_null(x);
	x->rt = f->rt;
	atomic_store(&stale_callbacks, 0);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, stale_checker, x), 0);
	long errors = 0;
	uint64_t last_id = 0;
	for (int64_t i = 0; i < REUSE_ROUNDS; i++) {
		troupe_ref r;
		int64_t v = -1;
		if (troupe_put_i64(f->rt, i, &r) != TROUPE_OK ||
		    troupe_retain(f->rt, r) != TROUPE_OK ||
		    troupe_get_i64(f->rt, r, 0, &v) != TROUPE_OK || v != i ||
		    troupe_release(f->rt, r) != TROUPE_OK ||
		    troupe_get_i64(f->rt, r, 0, &v) != TROUPE_OK || v != i ||
		    troupe_release(f->rt, r) != TROUPE_OK || r.id == last_id)
			errors++;
		last_id = r.id;
		atomic_store(&x->ring[i % STALE_RING], r.id);
	}
	await_checks(x);
	atomic_store(&x->done, 1);
	assert_int_equal(pthread_join(th, NULL), 0);
	print_message("%d put/get/release rounds; %ld calls on stale ids, "
		      "%ld not refused\n",
		      REUSE_ROUNDS, atomic_load(&x->checks), x->hits);
	assert_int_equal(errors, 0);
	assert_int_equal(x->hits, 0);
	assert_true(atomic_load(&x->checks) > 0);
	assert_int_equal(atomic_load(&stale_callbacks), 0);
	free(x);
}

/* The same across threads: one thread makes values and another reads and
 * releases them, so the releaser's cache overflows into the runtime's
 * depot and the maker's next objects come from there.  Each value reads
 * back as made, every ref is released once (counts conserved), and ids
 * seen released stay stale for the checker. */
enum { HANDOFF_ROUNDS = 100000, HANDOFF_RING = 4096 };

struct handoff_race {
	troupe *rt;
	_Atomic uint64_t ring[HANDOFF_RING]; /* made, not yet taken: 0 */
	atomic_long made, taken;
	atomic_int stop; /* the maker gave up: take no more */
	long wrong;
	struct reuse_race *stale;
};

static void *handoff_taker(void *p)
{
	struct handoff_race *h = p;
	for (long i = 0; i < HANDOFF_ROUNDS; i++) {
		_Atomic uint64_t *slot = &h->ring[i % HANDOFF_RING];
		uint64_t id;
		while ((id = atomic_load(slot)) == 0 && !atomic_load(&h->stop))
			sched_yield();
		if (id == 0)
			break;
		atomic_store(slot, 0);
		troupe_ref r = {id};
		int64_t v = -1;
		if (troupe_get_i64(h->rt, r, 0, &v) != TROUPE_OK || v != i ||
		    troupe_release(h->rt, r) != TROUPE_OK)
			h->wrong++;
		atomic_store(&h->stale->ring[i % STALE_RING], id);
		atomic_fetch_add(&h->taken, 1);
	}
	return NULL;
}

static void stale_ids_across_threads(void **state)
{
	struct test_fixture *f = *state;
	struct reuse_race *x = calloc(1, sizeof *x);
	struct handoff_race *h = calloc(1, sizeof *h);
	assert_non_null(x);
	assert_non_null(h);
	x->rt = h->rt = f->rt;
	h->stale = x;
	atomic_store(&stale_callbacks, 0);
	pthread_t checker, taker;
	assert_int_equal(pthread_create(&checker, NULL, stale_checker, x), 0);
	assert_int_equal(pthread_create(&taker, NULL, handoff_taker, h), 0);
	long errors = 0;
	for (long i = 0; i < HANDOFF_ROUNDS; i++) {
		_Atomic uint64_t *slot = &h->ring[i % HANDOFF_RING];
		while (atomic_load(slot) != 0)
			sched_yield();
		troupe_ref r;
		if (troupe_put_i64(f->rt, i, &r) != TROUPE_OK) {
			errors++;
			atomic_store(&h->stop, 1);
			break;
		}
		atomic_fetch_add(&h->made, 1);
		atomic_store(slot, r.id);
	}
	assert_int_equal(pthread_join(taker, NULL), 0);
	await_checks(x);
	atomic_store(&x->done, 1);
	assert_int_equal(pthread_join(checker, NULL), 0);
	print_message("%ld made on one thread, %ld read and released on "
		      "another; %ld calls on stale ids, %ld not refused\n",
		      atomic_load(&h->made), atomic_load(&h->taken),
		      atomic_load(&x->checks), x->hits);
	assert_int_equal(errors, 0);
	assert_int_equal(atomic_load(&h->made), HANDOFF_ROUNDS);
	assert_int_equal(atomic_load(&h->taken), HANDOFF_ROUNDS);
	assert_int_equal(h->wrong, 0);
	assert_int_equal(x->hits, 0);
	assert_true(atomic_load(&x->checks) > 0);
	assert_int_equal(atomic_load(&stale_callbacks), 0);
	free(h);
	free(x);
}

/* A callback that releases its ref once too often takes the
 * registration's ref, and its object dies; the slot may then hold the
 * callback's next object.  The registration lets go of the object it was
 * for, not of that one. */
struct double_release {
	troupe_ref next;
	troupe_err release, put;
};

static void double_release_cb(troupe *rt, troupe_ref ref, troupe_err st,
			      void *arg)
{
	(void)st;
	struct double_release *d = arg;
	d->release = troupe_release(rt, ref); /* the caller released it */
	d->put = troupe_put_i64(rt, 99, &d->next);
}

static void on_ready_double_release(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	for (int round = 0; round < 100; round++) {
		struct double_release d = {{0}, TROUPE_EINVAL, TROUPE_EINVAL};
		troupe_ref r;
		int64_t v = -1;
		assert_int_equal(troupe_put_i64(rt, round, &r), TROUPE_OK);
		assert_int_equal(troupe_on_ready_post(rt, r, double_release_cb,
						      &d),
				 TROUPE_OK);
		assert_int_equal(troupe_release(rt, r), TROUPE_OK);
		size_t ran = 0;
		assert_int_equal(troupe_dispatch(rt, &ran), TROUPE_OK);
		assert_int_equal(ran, 1);
		assert_int_equal(d.release, TROUPE_OK);
		assert_int_equal(d.put, TROUPE_OK);
		assert_int_equal(troupe_get_i64(rt, d.next, 0, &v), TROUPE_OK);
		assert_int_equal(v, 99);
		assert_int_equal(troupe_release(rt, d.next), TROUPE_OK);
		assert_int_equal(troupe_get_i64(rt, r, 0, &v), TROUPE_ESTALE);
	}
}

/* A thread that keeps slots of one runtime and turns to another, back
 * again, and on after the first shut down: each runtime's slots stay its
 * own (under ASan, a slot used past its table's end would show). */
static int use_runtime(troupe *rt, int64_t base)
{
	enum { HELD = 50, CYCLES = 300 };
	troupe_ref held[HELD];
	int errors = 0;
	for (int i = 0; i < HELD; i++)
		errors += troupe_put_i64(rt, base + i, &held[i]) != TROUPE_OK;
	for (int64_t i = 0; i < CYCLES; i++) {
		troupe_ref r;
		int64_t v = -1;
		if (troupe_put_i64(rt, base + i, &r) != TROUPE_OK ||
		    troupe_get_i64(rt, r, 0, &v) != TROUPE_OK ||
		    v != base + i || troupe_release(rt, r) != TROUPE_OK)
			errors++;
	}
	for (int i = 0; i < HELD; i++) {
		int64_t v = -1;
		if (troupe_get_i64(rt, held[i], 0, &v) != TROUPE_OK ||
		    v != base + i || troupe_release(rt, held[i]) != TROUPE_OK)
			errors++;
	}
	return errors;
}

static void *runtimes_in_turn(void *p)
{
	int *errors = p;
	for (int round = 0; round < 3; round++) {
		troupe *a, *b;
		if (troupe_init(&a, NULL) != TROUPE_OK ||
		    troupe_init(&b, NULL) != TROUPE_OK) {
			(*errors)++;
			return NULL;
		}
		*errors += use_runtime(a, 1000);
		*errors += use_runtime(b, 2000);
		*errors += use_runtime(a, 3000);
		*errors += troupe_shutdown(a) != TROUPE_OK;
		*errors += use_runtime(b, 4000);
		if (round == 2)
			break; /* exit with slots of a live runtime kept */
		*errors += troupe_shutdown(b) != TROUPE_OK;
	}
	return NULL;
}

static void slots_across_runtimes(void **state)
{
	(void)state;
	int errors = 0;
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, runtimes_in_turn, &errors),
			 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(errors, 0);
}

/* Stress: a million put/get/release cycles; RSS must stay bounded. */
static void stress_rss(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	char buf[64];
	memset(buf, 'r', sizeof buf);
	/* Warm up the allocator and the table first. */
	for (int i = 0; i < 20000; i++) {
		troupe_ref r;
		assert_int_equal(troupe_put(rt, buf, sizeof buf, &r),
				 TROUPE_OK);
		assert_int_equal(troupe_release(rt, r), TROUPE_OK);
	}
	long rss0 = test_rss_bytes();
	assert_true(rss0 > 0);
	double t0 = test_now_s();
	for (int i = 0; i < 1000000; i++) {
		troupe_ref r;
		buf[i % sizeof buf] = (char)i;
		if (troupe_put(rt, buf, sizeof buf, &r) != TROUPE_OK)
			fail_msg("put failed at %d", i);
		troupe_value v;
		if (troupe_get(rt, r, 0, &v) != TROUPE_OK ||
		    v.size != sizeof buf ||
		    ((const char *)v.data)[i % sizeof buf] != (char)i)
			fail_msg("get failed at %d", i);
		if (troupe_release(rt, r) != TROUPE_OK)
			fail_msg("release failed at %d", i);
	}
	double t1 = test_now_s();
	long rss1 = test_rss_bytes();
	double growth = (double)(rss1 - rss0) / (1024.0 * 1024.0);
	print_message("1,000,000 put/get/release of 64 B: RSS %.1f -> %.1f MiB "
		      "(growth %.2f MiB) in %.2f s%s\n",
		      rss0 / 1048576.0, rss1 / 1048576.0, growth, t1 - t0,
		      TEST_ASAN ? " [ASan: quarantine holds freed memory, "
				  "growth not asserted]" :
				  "");
	if (!TEST_ASAN)
		assert_true(growth < 16.0);
}

/* ------------------------------------------------------- large values */

/* A released large value's block (8 MiB and up) is kept for the next large
 * value (lib/value.c): every value must still read back as its own bytes,
 * whichever block it landed in and whoever released what before. */

#define MIB ((size_t)1 << 20)
/* Sanitizers check every byte of each copy: smaller values there. */
#define LARGE_MAX ((TEST_SANITIZED ? 12 : 40) * MIB)
#define LARGE_ROUNDS (TEST_SANITIZED ? 16 : 40)

/* n bytes for `tag`: the tag's low byte throughout, the tag in the first
 * word and the size in the last (n is a multiple of 8, >= 16). */
static void fill_large(unsigned char *p, size_t n, uint64_t tag)
{
	memset(p, (int)(tag & 0xff), n);
	memcpy(p, &tag, 8);
	uint64_t size = n;
	memcpy(p + n - 8, &size, 8);
}

/* Whether v holds fill_large(n, tag); like is LARGE_MAX bytes of the tag's
 * low byte. */
static bool holds_large(const troupe_value *v, size_t n, uint64_t tag,
			const unsigned char *like)
{
	if (v->size != n || v->data == NULL)
		return false;
	const unsigned char *p = v->data;
	uint64_t head, tail;
	memcpy(&head, p, 8);
	memcpy(&tail, p + n - 8, 8);
	return head == tag && tail == n && memcmp(p + 8, like, n - 16) == 0;
}

/* A size in [8 MiB, LARGE_MAX], a multiple of 8. */
static size_t large_size(uint64_t *rng)
{
	return 8 * MIB + (test_rand(rng) % (LARGE_MAX - 8 * MIB + 8)) / 8 * 8;
}

static uint64_t test_seed(void)
{
	const char *e = getenv("TROUPE_TEST_SEED");
	return e != NULL ? strtoull(e, NULL, 0) : test_time_seed();
}

struct large_live {
	troupe_ref ref;
	size_t n;
	uint64_t tag;
	bool held;
};

/* Puts a fresh large value for tag into l (src is the caller's scratch,
 * clobbered after the put: the value is a copy). */
static bool put_large(troupe *rt, unsigned char *src, uint64_t *rng,
		      uint64_t tag, struct large_live *l)
{
	l->n = large_size(rng);
	l->tag = tag;
	fill_large(src, l->n, tag);
	if (troupe_put(rt, src, l->n, &l->ref) != TROUPE_OK)
		return false;
	memset(src, 0xee, l->n);
	l->held = true;
	return true;
}

/* Gets l (waiting for it), checks it, releases it; false on any
 * difference. */
static bool check_release_large(troupe *rt, struct large_live *l,
				unsigned char *like)
{
	troupe_value v;
	memset(like, (int)(l->tag & 0xff), l->n);
	bool ok = troupe_get(rt, l->ref, TEST_HANG_S, &v) == TROUPE_OK &&
		  holds_large(&v, l->n, l->tag, like);
	ok = troupe_release(rt, l->ref) == TROUPE_OK && ok;
	l->held = false;
	return ok;
}

static void large_values_keep_their_bytes(void **state)
{
	struct test_fixture *f = *state;
	uint64_t seed = test_seed(), rng = seed;
	print_message("large_values_keep_their_bytes: seed %" PRIu64
		      " (TROUPE_TEST_SEED)\n",
		      seed);
	unsigned char *src = malloc(LARGE_MAX), *like = malloc(LARGE_MAX);
	assert_non_null(src);
	assert_non_null(like);
	/* Three live at a time, replaced in random order: blocks go back to
	 * the runtime and come out again under values of other sizes. */
	struct large_live live[3];
	memset(live, 0, sizeof live);
	int puts = 0, checked = 0;
	for (uint64_t round = 1; round <= LARGE_ROUNDS; round++) {
		struct large_live *l = &live[test_rand(&rng) % 3];
		if (l->held) {
			assert_true(check_release_large(f->rt, l, like));
			checked++;
		}
		assert_true(put_large(f->rt, src, &rng, round, l));
		puts++;
	}
	for (int i = 0; i < 3; i++)
		if (live[i].held) {
			assert_true(check_release_large(f->rt, &live[i], like));
			checked++;
		}
	assert_int_equal(checked, puts);
	free(src);
	free(like);
}

/* Minor page faults of the calling thread so far. */
static long thread_faults(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_minflt : -1;
}

/* The memory of a released large value serves the next one: that put
 * copies into pages already mapped.  A fresh block of n bytes takes at
 * least n / 2 MiB - 1 page faults (2 MiB pages) and up to n / 4 KiB; the
 * bound asserted is half the fewest. */
static void large_put_reuses_memory(void **state)
{
	struct test_fixture *f = *state;
	size_t n = (TEST_SANITIZED ? 16 : 64) * MIB;
	long most = (long)(n / (4 * MIB));
	unsigned char *src = malloc(n), *like = malloc(n);
	assert_non_null(src);
	assert_non_null(like);
	long faults[3];
	for (uint64_t tag = 1; tag <= 3; tag++) {
		fill_large(src, n, tag);
		troupe_ref r;
		long before = thread_faults();
		assert_int_equal(troupe_put(f->rt, src, n, &r), TROUPE_OK);
		faults[tag - 1] = thread_faults() - before;
		struct large_live l = {r, n, tag, true};
		assert_true(check_release_large(f->rt, &l, like));
	}
	print_message("page faults of three %zu MiB puts in turn: %ld, %ld, "
		      "%ld\n",
		      n / MIB, faults[0], faults[1], faults[2]);
	assert_true(faults[1] < most);
	assert_true(faults[2] < most);
	free(src);
	free(like);
}

/* Bodies return large values (troupe_return copies them into a block of
 * the same kind); several at once, on both workers. */
static void large_return_fn(troupe *rt, troupe_ctx *ctx,
			    const troupe_value *args, size_t nargs)
{
	(void)rt, (void)nargs;
	int64_t n, tag;
	troupe_value_i64(&args[0], &n);
	troupe_value_i64(&args[1], &tag);
	unsigned char *p = malloc((size_t)n);
	if (p == NULL) {
		troupe_fail(ctx, "no memory");
		return;
	}
	fill_large(p, (size_t)n, (uint64_t)tag);
	troupe_return(ctx, p, (size_t)n);
	free(p);
}

static void large_returns_keep_their_bytes(void **state)
{
	struct test_fixture *f = *state;
	uint64_t seed = test_seed(), rng = seed;
	print_message("large_returns_keep_their_bytes: seed %" PRIu64 "\n",
		      seed);
	unsigned char *like = malloc(LARGE_MAX);
	assert_non_null(like);
	enum { ROUNDS = 4, PER_ROUND = 4 };
	int checked = 0;
	for (int round = 0; round < ROUNDS; round++) {
		struct large_live l[PER_ROUND];
		for (int i = 0; i < PER_ROUND; i++) {
			l[i].n = large_size(&rng);
			l[i].tag = (uint64_t)(round * PER_ROUND + i + 1);
			troupe_arg a[2] = {TROUPE_I64((int64_t)l[i].n),
					   TROUPE_I64((int64_t)l[i].tag)};
			assert_int_equal(troupe_submit(f->rt, large_return_fn,
						       a, 2, NULL, &l[i].ref),
					 TROUPE_OK);
		}
		for (int i = 0; i < PER_ROUND; i++) {
			assert_true(check_release_large(f->rt, &l[i], like));
			checked++;
		}
	}
	assert_int_equal(checked, ROUNDS * PER_ROUND);
	free(like);
}

/* Threads put, check and release large values at once: the kept blocks
 * pass between them. */
#define LARGE_THREAD_ROUNDS (TEST_SANITIZED ? 6 : 12)

struct large_thread {
	troupe *rt;
	uint64_t seed;
	int puts, checked;
	bool failed;
};

static void *large_churn(void *arg)
{
	struct large_thread *t = arg;
	uint64_t rng = t->seed;
	unsigned char *src = malloc(LARGE_MAX), *like = malloc(LARGE_MAX);
	struct large_live live[2];
	memset(live, 0, sizeof live);
	for (int round = 0;
	     round < LARGE_THREAD_ROUNDS && src && like && !t->failed;
	     round++) {
		struct large_live *l = &live[test_rand(&rng) % 2];
		if (l->held) {
			if (!check_release_large(t->rt, l, like))
				t->failed = true;
			t->checked++;
		}
		if (!put_large(t->rt, src, &rng, t->seed ^ (uint64_t)round, l))
			t->failed = true;
		else
			t->puts++;
	}
	for (int i = 0; i < 2; i++)
		if (live[i].held) {
			if (!check_release_large(t->rt, &live[i], like))
				t->failed = true;
			t->checked++;
		}
	if (src == NULL || like == NULL)
		t->failed = true;
	free(src);
	free(like);
	return NULL;
}

static void large_values_across_threads(void **state)
{
	struct test_fixture *f = *state;
	uint64_t seed = test_seed();
	print_message("large_values_across_threads: seed %" PRIu64 "\n", seed);
	enum { N = 3 };
	struct large_thread t[N];
	pthread_t th[N];
	for (int i = 0; i < N; i++) {
		uint64_t s = seed + (uint64_t)i;
		t[i] = (struct large_thread){f->rt, test_rand(&s), 0, 0, false};
		assert_int_equal(
			pthread_create(&th[i], NULL, large_churn, &t[i]), 0);
	}
	int puts = 0, checked = 0;
	for (int i = 0; i < N; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_false(t[i].failed);
		puts += t[i].puts;
		checked += t[i].checked;
	}
	assert_int_equal(puts, N * LARGE_THREAD_ROUNDS);
	assert_int_equal(checked, puts);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(put_get_copies, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(put_owned_frees_once, setup,
						test_fixture_teardown),
		cmocka_unit_test(put_owned_freed_at_shutdown),
		cmocka_unit_test_setup_teardown(typed_helpers, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(get_timeouts, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(refcounts, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(resizes_around_big_live_set,
						setup, test_fixture_teardown),
		cmocka_unit_test_setup_teardown(shrinks_after_a_burst, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(strided_live_set, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(stale_after_reclaim, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(wait_semantics, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(on_ready_once, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(completion_fd, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(completion_fd_count, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(new_app_threads, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(stale_ids_across_slot_reuse,
						setup, test_fixture_teardown),
		cmocka_unit_test_setup_teardown(stale_ids_across_threads, setup,
						test_fixture_teardown),
		cmocka_unit_test(slots_across_runtimes),
		cmocka_unit_test_setup_teardown(on_ready_double_release, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(large_values_keep_their_bytes,
						setup, test_fixture_teardown),
		cmocka_unit_test_setup_teardown(large_put_reuses_memory, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(large_returns_keep_their_bytes,
						setup, test_fixture_teardown),
		cmocka_unit_test_setup_teardown(large_values_across_threads,
						setup, test_fixture_teardown),
		cmocka_unit_test_setup_teardown(stress_rss, setup,
						test_fixture_teardown),
	};
	return cmocka_run_group_tests_name("objects", tests, NULL, NULL);
}
