/*
 * Contract tests for actors, through the public header only: creation with
 * inline and ref constructor arguments, zeroed state, method results,
 * fire-and-forget calls, constructor failure, per-caller ordering (threads,
 * task bodies, other actors' methods), one method at a time and
 * max_concurrency, ref arguments that wait, kill, restarts and call
 * retries, the named registry (lookup, list, duplicates, get_if_exists
 * races, detached actors), lifetime (destructor once, after the mailbox
 * drains), handles passed to tasks and to other actors, nested gets inside
 * methods on one worker, max_pending_calls, bad input and shutdown.  The
 * table ends with a create/call/kill/release stress case.
 *
 * Usage: test_actors [seed]            the unit table
 *        test_actors million [count]   creates and releases `count`
 *                                      actors (default 1,000,000): the
 *                                      stress suite runs this one
 *
 * Methods run on workers, where cmocka may not assert: they record what
 * they see in atomics and the test thread checks those.
 */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "test_util.h"

static uint64_t seed;

/* Four workers (on any machine): enough for a gate task, a blocked method
 * and the actor under test to each hold one. */
static int setup(void **state)
{
	return test_fixture_setup(state, 4);
}


/* ------------------------------------------------------ shared counts */

/* What constructors, destructors and methods saw.  Reset by each case. */
static struct {
	atomic_int ctor;      /* constructor runs */
	atomic_int fini;      /* destructor runs */
	atomic_int nonzero;   /* constructors that found state not zeroed */
	atomic_int adds;      /* counter_add runs */
	atomic_int bad_runs;  /* methods that must never run, ran */
	atomic_int errors;    /* calls made by bodies that failed */
	atomic_llong fini_count; /* counter::count seen by the last fini */
	atomic_int deliveries;   /* flaky deliveries */
} K;

static void reset_counts(void)
{
	atomic_store(&K.ctor, 0);
	atomic_store(&K.fini, 0);
	atomic_store(&K.nonzero, 0);
	atomic_store(&K.adds, 0);
	atomic_store(&K.bad_runs, 0);
	atomic_store(&K.errors, 0);
	atomic_store(&K.fini_count, -1);
	atomic_store(&K.deliveries, 0);
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;
	for (size_t i = 0; i < n; i++)
		if (c[i] != 0)
			return false;
	return true;
}

static int64_t arg_i64(const troupe_value *args, size_t nargs, size_t i,
		       int64_t dflt)
{
	int64_t v = dflt;
	if (i < nargs)
		troupe_value_i64(&args[i], &v);
	return v;
}

/* Waits on a gate (a struct test_gate * passed inline) from a method. */
static void wait_gate(struct test_gate *g)
{
	atomic_fetch_add(&g->started, 1);
	double deadline = test_now_s() + TEST_HANG_S;
	while (!atomic_load(&g->open) && test_now_s() < deadline)
		test_sleep_ms(1);
	atomic_fetch_add(&g->finished, 1);
}

/* ------------------------------------------------------ counter class */

struct counter {
	int64_t base;
	int64_t count;
	unsigned char scribble[240];
};

/* Constructor: base = sum of the 8-byte arguments; the state must arrive
 * zeroed, and is scribbled on so that reused memory would show. */
static void counter_init(troupe *rt, troupe_ctx *ctx, void *state,
			 const troupe_value *args, size_t nargs)
{
	(void)rt, (void)ctx;
	struct counter *c = state;
	if (!all_zero(c, sizeof *c))
		atomic_fetch_add(&K.nonzero, 1);
	for (size_t i = 0; i < nargs; i++) {
		int64_t v;
		if (args[i].size == 8 && troupe_value_i64(&args[i], &v) ==
						 TROUPE_OK)
			c->base += v;
	}
	memset(c->scribble, 0xa5, sizeof c->scribble);
	atomic_fetch_add(&K.ctor, 1);
}

static void counter_fini(troupe *rt, void *state)
{
	(void)rt;
	struct counter *c = state;
	atomic_store(&K.fini_count, c->count);
	atomic_fetch_add(&K.fini, 1);
}

/* add(x): count += x; returns base + count. */
static void counter_add(troupe *rt, troupe_ctx *ctx, void *state,
			const troupe_value *args, size_t nargs)
{
	(void)rt;
	struct counter *c = state;
	atomic_fetch_add(&K.adds, 1);
	c->count += arg_i64(args, nargs, 0, 0);
	troupe_return_i64(ctx, c->base + c->count);
}

static void counter_get(troupe *rt, troupe_ctx *ctx, void *state,
			const troupe_value *args, size_t nargs)
{
	(void)rt, (void)args, (void)nargs;
	struct counter *c = state;
	troupe_return_i64(ctx, c->base + c->count);
}

static void counter_fail(troupe *rt, troupe_ctx *ctx, void *state,
			 const troupe_value *args, size_t nargs)
{
	(void)rt, (void)state, (void)args, (void)nargs;
	troupe_fail(ctx, "counter_fail asked to fail");
}

/* block(gate [, v]): waits for the gate, returns v (7 by default). */
static void counter_block(troupe *rt, troupe_ctx *ctx, void *state,
			  const troupe_value *args, size_t nargs)
{
	(void)rt, (void)state;
	wait_gate(test_ptr_of(&args[0]));
	troupe_return_i64(ctx, arg_i64(args, nargs, 1, 7));
}

/* A method of no class: calling it is TROUPE_EINVAL. */
static void stray_method(troupe *rt, troupe_ctx *ctx, void *state,
			 const troupe_value *args, size_t nargs)
{
	(void)rt, (void)state, (void)args, (void)nargs;
	atomic_fetch_add(&K.bad_runs, 1);
	troupe_return_i64(ctx, -1);
}

static const troupe_method counter_methods[] = {
	counter_add, counter_get, counter_fail, counter_block,
};
static const troupe_class counter_cls = {
	.name = "counter",
	.state_size = sizeof(struct counter),
	.init = counter_init,
	.fini = counter_fini,
	.methods = counter_methods,
	.nmethods = sizeof counter_methods / sizeof counter_methods[0],
};

/* ------------------------------------------------------------ helpers */

static troupe_actor create_counter(troupe *rt, int64_t base,
				   const troupe_actor_opts *opts)
{
	troupe_arg a = TROUPE_I64(base);
	troupe_actor act = {0};
	assert_int_equal(troupe_actor_create(rt, &counter_cls, &a, 1, opts,
					     &act),
			 TROUPE_OK);
	assert_true(act.id != 0);
	return act;
}

static troupe_ref call_ref(troupe *rt, troupe_actor a, troupe_method m,
			   const troupe_arg *args, size_t n)
{
	troupe_ref r = {0};
	assert_int_equal(troupe_actor_call(rt, a, m, args, n, &r), TROUPE_OK);
	assert_true(r.id != 0);
	return r;
}

/* Gets an i64 result (hang-checked) and releases the ref.  A failure's
 * message is printed before the check fails: it says which body failed. */
static int64_t take_i64(troupe *rt, troupe_ref r)
{
	int64_t v = 0;
	troupe_err e = troupe_get_i64(rt, r, TEST_HANG_S, &v);
	const char *msg;
	if (e == TROUPE_ETASK && troupe_error_message(rt, r, &msg) == TROUPE_OK)
		print_error("take_i64: %s\n", msg);
	assert_int_equal(e, TROUPE_OK);
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);
	return v;
}

static int64_t call_i64(troupe *rt, troupe_actor a, troupe_method m,
			const troupe_arg *args, size_t n)
{
	return take_i64(rt, call_ref(rt, a, m, args, n));
}

static int64_t add(troupe *rt, troupe_actor a, int64_t x)
{
	troupe_arg arg = TROUPE_I64(x);
	return call_i64(rt, a, counter_add, &arg, 1);
}

/* The ref resolves (hang-checked) to want; when sub is not NULL, its error
 * message contains sub.  Releases the ref. */
static void take_err_at(int line, troupe *rt, troupe_ref r, troupe_err want,
			const char *sub)
{
	troupe_err e = troupe_get(rt, r, TEST_HANG_S, NULL);
	if (e != want)
		fail_msg("line %d: ref resolved to \"%s\", expected \"%s\"",
			 line, troupe_strerror(e), troupe_strerror(want));
	if (sub != NULL) {
		const char *msg = NULL;
		assert_int_equal(troupe_error_message(rt, r, &msg), TROUPE_OK);
		assert_non_null(msg);
		if (strstr(msg, sub) == NULL)
			fail_msg("line %d: error message \"%s\" lacks \"%s\"",
				 line, msg, sub);
	}
	assert_int_equal(troupe_release(rt, r), TROUPE_OK);
}
#define take_err(rt, r, want, sub) take_err_at(__LINE__, rt, r, want, sub)

/* A call that must be accepted and then resolve to want. */
#define call_err(rt, a, m, args, n, want, sub)                                \
	take_err_at(__LINE__, rt, call_ref(rt, a, m, args, n), want, sub)

/* Polls (hang-checked) until *v == want, then asserts it. */
static void wait_int_at(int line, atomic_int *v, int want)
{
	TEST_WAIT_UNTIL(atomic_load(v) == want);
	if (atomic_load(v) != want)
		fail_msg("line %d: count is %d, expected %d", line,
			 atomic_load(v), want);
}
#define wait_int(v, want) wait_int_at(__LINE__, v, want)

/* Waits until every constructed state was destroyed (before a case resets
 * the counts, so that a late destructor is not counted in the next). */
#define settle()                                                              \
	do {                                                                  \
		TEST_WAIT_UNTIL(atomic_load(&K.fini) == atomic_load(&K.ctor)); \
		assert_int_equal(atomic_load(&K.fini), atomic_load(&K.ctor));  \
	} while (0)

/* ---------------------------------------------------------- the cases */

static void create_and_call(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	reset_counts();

	/* Inline and ref constructor arguments; the ref is released right
	 * after create: the actor holds it until the constructor ran. */
	troupe_ref five;
	assert_int_equal(troupe_put_i64(rt, 5, &five), TROUPE_OK);
	troupe_arg ca[2] = {TROUPE_I64(10), TROUPE_REF(five)};
	troupe_actor a;
	assert_int_equal(troupe_actor_create(rt, &counter_cls, ca, 2, NULL, &a),
			 TROUPE_OK);
	assert_int_equal(troupe_release(rt, five), TROUPE_OK);
	assert_int_equal(add(rt, a, 1), 16);
	assert_int_equal(add(rt, a, 2), 18);
	assert_int_equal(call_i64(rt, a, counter_get, NULL, 0), 18);

	/* A method that is not the class's: EINVAL, no ref, nothing runs. */
	troupe_ref r = {.id = 4242};
	assert_int_equal(troupe_actor_call(rt, a, stray_method, NULL, 0, &r),
			 TROUPE_EINVAL);
	assert_int_equal(r.id, 4242);
	assert_int_equal(troupe_actor_call(rt, a, stray_method, NULL, 0, NULL),
			 TROUPE_EINVAL);

	/* Fire-and-forget: the effects show in a later call's result. */
	for (int i = 0; i < 100; i++) {
		troupe_arg one = TROUPE_I64(1);
		assert_int_equal(troupe_actor_call(rt, a, counter_add, &one, 1,
						   NULL),
				 TROUPE_OK);
	}
	assert_int_equal(call_i64(rt, a, counter_get, NULL, 0), 118);

	/* A method's failure is its caller's: the actor lives on. */
	call_err(rt, a, counter_fail, NULL, 0, TROUPE_ETASK,
		 "counter_fail asked to fail");
	assert_int_equal(add(rt, a, 0), 118);

	assert_int_equal(troupe_actor_release(rt, a), TROUPE_OK);
	wait_int(&K.fini, 1);
	assert_int_equal(atomic_load(&K.fini_count), 103);
	assert_int_equal(atomic_load(&K.ctor), 1);
	assert_int_equal(atomic_load(&K.adds), 103);

	/* A constructor ref argument that is not ready yet: the
	 * constructor, and the calls behind it, wait for it. */
	struct test_gate *gp = &f->gate;
	troupe_arg ga[2] = {TEST_PTR_ARG(gp), TROUPE_I64(1000)};
	troupe_ref g;
	assert_int_equal(troupe_submit(rt, test_gate_fn, ga, 2, NULL, &g),
			 TROUPE_OK);
	troupe_arg gca = TROUPE_REF(g);
	assert_int_equal(troupe_actor_create(rt, &counter_cls, &gca, 1, NULL,
					     &a),
			 TROUPE_OK);
	assert_int_equal(troupe_release(rt, g), TROUPE_OK);
	troupe_arg three = TROUPE_I64(3);
	r = call_ref(rt, a, counter_add, &three, 1);
	test_sleep_ms(30);
	assert_int_equal(troupe_get(rt, r, 0, NULL), TROUPE_ETIMEDOUT);
	assert_int_equal(atomic_load(&K.ctor), 1);
	atomic_store(&f->gate.open, 1);
	assert_int_equal(take_i64(rt, r), 1003);
	assert_int_equal(troupe_actor_release(rt, a), TROUPE_OK);

	/* State is zeroed before every constructor, also where memory of
	 * earlier (scribbled-on) states is reused. */
	for (int i = 0; i < 200; i++) {
		troupe_actor b = create_counter(rt, i, NULL);
		assert_int_equal(call_i64(rt, b, counter_get, NULL, 0), i);
		assert_int_equal(troupe_actor_release(rt, b), TROUPE_OK);
	}
	wait_int(&K.fini, 202);
	assert_int_equal(atomic_load(&K.ctor), 202);
	assert_int_equal(atomic_load(&K.nonzero), 0);
	assert_int_equal(atomic_load(&K.bad_runs), 0);
}

/* ------------------------------------------- constructor failure */

static void bad_init(troupe *rt, troupe_ctx *ctx, void *state,
		     const troupe_value *args, size_t nargs)
{
	(void)rt, (void)state, (void)nargs;
	const char *why = "?";
	troupe_value_str(&args[0], &why);
	atomic_fetch_add(&K.ctor, 1);
	troupe_fail(ctx, "constructor refused: %s", why);
}

static void bad_method(troupe *rt, troupe_ctx *ctx, void *state,
		       const troupe_value *args, size_t nargs)
{
	(void)rt, (void)state, (void)args, (void)nargs;
	atomic_fetch_add(&K.bad_runs, 1);
	troupe_return_i64(ctx, 1);
}

static const troupe_method bad_methods[] = {bad_method};
static const troupe_class bad_cls = {
	.name = "refuser",
	.state_size = 16,
	.init = bad_init,
	.methods = bad_methods,
	.nmethods = 1,
};

static void constructor_failure(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	reset_counts();
	/* The constructor waits for a gated ref, so that calls are made
	 * before it runs. */
	troupe_ref g;
	assert_int_equal(test_submit_gate(rt, &f->gate, &g), TROUPE_OK);
	troupe_arg ca[2] = {TROUPE_STR("bad config 42"), TROUPE_REF(g)};
	troupe_actor a;
	assert_int_equal(troupe_actor_create(rt, &bad_cls, ca, 2, NULL, &a),
			 TROUPE_OK);
	troupe_ref before[5];
	for (int i = 0; i < 5; i++)
		before[i] = call_ref(rt, a, bad_method, NULL, 0);
	assert_int_equal(troupe_get(rt, before[0], 0, NULL), TROUPE_ETIMEDOUT);
	atomic_store(&f->gate.open, 1);
	for (int i = 0; i < 5; i++)
		take_err(rt, before[i], TROUPE_EACTOR,
			 "constructor refused: bad config 42");
	for (int i = 0; i < 5; i++)
		call_err(rt, a, bad_method, NULL, 0, TROUPE_EACTOR,
			 "constructor refused: bad config 42");
	/* Fire-and-forget on the dead actor is accepted and dropped. */
	assert_int_equal(troupe_actor_call(rt, a, bad_method, NULL, 0, NULL),
			 TROUPE_OK);
	call_err(rt, a, bad_method, NULL, 0, TROUPE_EACTOR,
		 "constructor refused");
	assert_int_equal(atomic_load(&K.ctor), 1);
	assert_int_equal(atomic_load(&K.bad_runs), 0);
	assert_int_equal(troupe_actor_release(rt, a), TROUPE_OK);
	assert_int_equal(troupe_release(rt, g), TROUPE_OK);

	/* Without a gate, calls made right away. */
	troupe_arg c1 = TROUPE_STR("no");
	assert_int_equal(troupe_actor_create(rt, &bad_cls, &c1, 1, NULL, &a),
			 TROUPE_OK);
	call_err(rt, a, bad_method, NULL, 0, TROUPE_EACTOR,
		 "constructor refused: no");
	assert_int_equal(troupe_actor_release(rt, a), TROUPE_OK);
	assert_int_equal(atomic_load(&K.bad_runs), 0);
}

/* ------------------------------------------------------ ordering */

#define SEQ_CALLERS 32

struct seqstate {
	int64_t next[SEQ_CALLERS];
	int64_t total;
	int64_t violations;
};

static atomic_long seq_violations;

/* check(caller, seq): seq must be exactly the caller's next number. */
static void seq_check(troupe *rt, troupe_ctx *ctx, void *state,
		      const troupe_value *args, size_t nargs)
{
	(void)rt;
	struct seqstate *s = state;
	int64_t c = arg_i64(args, nargs, 0, -1);
	int64_t seq = arg_i64(args, nargs, 1, -1);
	if (c < 0 || c >= SEQ_CALLERS) {
		troupe_fail(ctx, "bad caller %lld", (long long)c);
		return;
	}
	if (seq != s->next[c]) {
		s->violations++;
		atomic_fetch_add(&seq_violations, 1);
	}
	s->next[c] = seq + 1;
	s->total++;
	troupe_return_i64(ctx, seq);
}

static void seq_total(troupe *rt, troupe_ctx *ctx, void *state,
		      const troupe_value *args, size_t nargs)
{
	(void)rt, (void)args, (void)nargs;
	troupe_return_i64(ctx, ((struct seqstate *)state)->total);
}

static void seq_bad(troupe *rt, troupe_ctx *ctx, void *state,
		    const troupe_value *args, size_t nargs)
{
	(void)rt, (void)args, (void)nargs;
	troupe_return_i64(ctx, ((struct seqstate *)state)->violations);
}

static const troupe_method seq_methods[] = {seq_check, seq_total, seq_bad};
static const troupe_class seq_cls = {
	.name = "sequencer",
	.state_size = sizeof(struct seqstate),
	.methods = seq_methods,
	.nmethods = 3,
};

/* Makes n check calls as caller c from a body: fire-and-forget except the
 * last, which it waits for.  Returns the number of failed calls. */
static int seq_calls_from_body(troupe *rt, troupe_actor t, int64_t c,
			       int64_t n)
{
	int bad = 0;
	troupe_ref last = {0};
	for (int64_t i = 0; i < n; i++) {
		troupe_arg a[2] = {TROUPE_I64(c), TROUPE_I64(i)};
		if (troupe_actor_call(rt, t, seq_check, a, 2,
				      i == n - 1 ? &last : NULL) != TROUPE_OK)
			bad++;
	}
	if (last.id != 0) {
		int64_t v = -1;
		if (troupe_get_i64(rt, last, TEST_HANG_S, &v) != TROUPE_OK ||
		    v != n - 1)
			bad++;
		troupe_release(rt, last);
	}
	return bad;
}

/* Task body: args ACTOR(t), caller, n. */
static void seq_task_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
			size_t nargs)
{
	troupe_actor t;
	if (troupe_value_actor(&args[0], &t) != TROUPE_OK) {
		atomic_fetch_add(&K.errors, 1);
		troupe_fail(ctx, "no actor");
		return;
	}
	int bad = seq_calls_from_body(rt, t, arg_i64(args, nargs, 1, 0),
				      arg_i64(args, nargs, 2, 0));
	atomic_fetch_add(&K.errors, bad);
	troupe_return_i64(ctx, bad);
}

/* ------------------------------------------------------ relay class */

/* relay_seq(ACTOR(t), caller, n): as seq_task_fn, from a method. */
static void relay_seq(troupe *rt, troupe_ctx *ctx, void *state,
		      const troupe_value *args, size_t nargs)
{
	(void)state;
	seq_task_fn(rt, ctx, args, nargs);
}

/* relay_add(ACTOR(t), x): calls t.add(x), waits, returns result + 1000. */
static void relay_add(troupe *rt, troupe_ctx *ctx, void *state,
		      const troupe_value *args, size_t nargs)
{
	(void)state;
	troupe_actor t;
	troupe_ref r;
	int64_t v = 0;
	troupe_arg a = TROUPE_I64(arg_i64(args, nargs, 1, 0));
	if (troupe_value_actor(&args[0], &t) != TROUPE_OK ||
	    troupe_actor_call(rt, t, counter_add, &a, 1, &r) != TROUPE_OK) {
		atomic_fetch_add(&K.errors, 1);
		troupe_fail(ctx, "relay_add: call failed");
		return;
	}
	troupe_err e = troupe_get_i64(rt, r, TEST_HANG_S, &v);
	troupe_release(rt, r);
	if (e != TROUPE_OK) {
		atomic_fetch_add(&K.errors, 1);
		troupe_fail(ctx, "relay_add: get: %s", troupe_strerror(e));
		return;
	}
	troupe_return_i64(ctx, v + 1000);
}

static void square_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		      size_t nargs)
{
	(void)rt;
	int64_t i = arg_i64(args, nargs, 0, 0);
	troupe_return_i64(ctx, i * i);
}

/* relay_tasks(n): submits n tasks from the method, gets each, sums. */
static void relay_tasks(troupe *rt, troupe_ctx *ctx, void *state,
			const troupe_value *args, size_t nargs)
{
	(void)state;
	int64_t n = arg_i64(args, nargs, 0, 0), sum = 0;
	troupe_ref refs[64];
	if (n > 64)
		n = 64;
	for (int64_t i = 0; i < n; i++) {
		troupe_arg a = TROUPE_I64(i);
		if (troupe_submit(rt, square_fn, &a, 1, NULL, &refs[i]) !=
		    TROUPE_OK) {
			atomic_fetch_add(&K.errors, 1);
			troupe_fail(ctx, "submit failed");
			return;
		}
	}
	for (int64_t i = 0; i < n; i++) {
		int64_t v = 0;
		if (troupe_get_i64(rt, refs[i], TEST_HANG_S, &v) != TROUPE_OK)
			atomic_fetch_add(&K.errors, 1);
		sum += v;
		troupe_release(rt, refs[i]);
	}
	troupe_return_i64(ctx, sum);
}

static const troupe_method relay_methods[] = {relay_seq, relay_add,
					      relay_tasks};
static const troupe_class relay_cls = {
	.name = "relay",
	.state_size = 0,
	.methods = relay_methods,
	.nmethods = 3,
};

/* An application thread making calls as one caller. */
struct caller {
	troupe *rt;
	troupe_actor a;
	int id;
	int n;
	pthread_barrier_t *start;
	long ok, wrong, errors;
	troupe_err first;
};

static void caller_error(struct caller *c, troupe_err e)
{
	if (c->errors++ == 0)
		c->first = e;
}

#define CALL_WINDOW 512

static void *seq_caller(void *p)
{
	struct caller *c = p;
	troupe_ref refs[CALL_WINDOW];
	pthread_barrier_wait(c->start);
	for (int done = 0; done < c->n;) {
		int k = 0;
		for (; k < CALL_WINDOW && done + k < c->n; k++) {
			troupe_arg a[2] = {TROUPE_I64(c->id),
					   TROUPE_I64(done + k)};
			troupe_err e = troupe_actor_call(c->rt, c->a, seq_check,
							 a, 2, &refs[k]);
			if (e != TROUPE_OK) {
				caller_error(c, e);
				break;
			}
		}
		for (int i = 0; i < k; i++) {
			int64_t v = -1;
			troupe_err e = troupe_get_i64(c->rt, refs[i],
						      TEST_HANG_S, &v);
			if (e != TROUPE_OK)
				caller_error(c, e);
			else if (v != done + i)
				c->wrong++;
			else
				c->ok++;
			troupe_release(c->rt, refs[i]);
		}
		if (k == 0)
			break;
		done += k;
	}
	return NULL;
}

static void check_callers(struct caller *c, int n, long want_each)
{
	for (int i = 0; i < n; i++) {
		if (c[i].errors)
			fail_msg("caller %d: %ld errors, first %s", i,
				 c[i].errors, troupe_strerror(c[i].first));
		assert_int_equal(c[i].wrong, 0);
		assert_int_equal(c[i].ok, want_each);
	}
}

static void fifo_threads(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	enum { THREADS = 8, CALLS = 10000 };
	atomic_store(&seq_violations, 0);
	troupe_actor t;
	assert_int_equal(troupe_actor_create(rt, &seq_cls, NULL, 0, NULL, &t),
			 TROUPE_OK);
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, THREADS);
	struct caller c[THREADS];
	pthread_t th[THREADS];
	memset(c, 0, sizeof c);
	double t0 = test_now_s();
	for (int i = 0; i < THREADS; i++) {
		c[i] = (struct caller){.rt = rt, .a = t, .id = i, .n = CALLS,
				       .start = &start};
		assert_int_equal(pthread_create(&th[i], NULL, seq_caller, &c[i]),
				 0);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	double t1 = test_now_s();
	pthread_barrier_destroy(&start);
	print_message("%d threads x %d calls to one actor: %.2f s\n", THREADS,
		      CALLS, t1 - t0);
	check_callers(c, THREADS, CALLS);
	assert_int_equal(call_i64(rt, t, seq_total, NULL, 0),
			 (int64_t)THREADS * CALLS);
	assert_int_equal(call_i64(rt, t, seq_bad, NULL, 0), 0);
	assert_int_equal(atomic_load(&seq_violations), 0);
	assert_int_equal(troupe_actor_release(rt, t), TROUPE_OK);
}

/* Callers that are task bodies and other actors' methods, all at once,
 * and the test thread besides. */
static void fifo_bodies(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	enum { N = 2000, TASKS = 4, RELAYS = 2 };
	reset_counts();
	atomic_store(&seq_violations, 0);
	troupe_actor t, relay[RELAYS];
	assert_int_equal(troupe_actor_create(rt, &seq_cls, NULL, 0, NULL, &t),
			 TROUPE_OK);
	for (int i = 0; i < RELAYS; i++)
		assert_int_equal(troupe_actor_create(rt, &relay_cls, NULL, 0,
						     NULL, &relay[i]),
				 TROUPE_OK);
	troupe_ref tr[TASKS], rr[RELAYS + 1];
	for (int i = 0; i < TASKS; i++) {
		troupe_arg a[3] = {TROUPE_ACTOR(t), TROUPE_I64(8 + i),
				   TROUPE_I64(N)};
		assert_int_equal(troupe_submit(rt, seq_task_fn, a, 3, NULL,
					       &tr[i]),
				 TROUPE_OK);
	}
	for (int i = 0; i < RELAYS; i++) {
		troupe_arg a[3] = {TROUPE_ACTOR(t), TROUPE_I64(16 + i),
				   TROUPE_I64(N)};
		rr[i] = call_ref(rt, relay[i], relay_seq, a, 3);
	}
	/* A second method run of relay 0, as a caller of its own. */
	troupe_arg a2[3] = {TROUPE_ACTOR(t), TROUPE_I64(18), TROUPE_I64(N)};
	rr[RELAYS] = call_ref(rt, relay[0], relay_seq, a2, 3);
	/* And this thread. */
	for (int i = 0; i < N; i++) {
		troupe_arg a[2] = {TROUPE_I64(24), TROUPE_I64(i)};
		assert_int_equal(troupe_actor_call(rt, t, seq_check, a, 2,
						   NULL),
				 TROUPE_OK);
	}
	for (int i = 0; i < TASKS; i++)
		assert_int_equal(take_i64(rt, tr[i]), 0);
	for (int i = 0; i <= RELAYS; i++)
		assert_int_equal(take_i64(rt, rr[i]), 0);
	assert_int_equal(call_i64(rt, t, seq_total, NULL, 0),
			 (int64_t)(TASKS + RELAYS + 2) * N);
	assert_int_equal(call_i64(rt, t, seq_bad, NULL, 0), 0);
	assert_int_equal(atomic_load(&seq_violations), 0);
	assert_int_equal(atomic_load(&K.errors), 0);
	for (int i = 0; i < RELAYS; i++)
		assert_int_equal(troupe_actor_release(rt, relay[i]), TROUPE_OK);
	assert_int_equal(troupe_actor_release(rt, t), TROUPE_OK);
}

/* ------------------------------------------------ one at a time */

static atomic_int inside, max_inside;

static void enter_method(void)
{
	int now = atomic_fetch_add(&inside, 1) + 1;
	int m = atomic_load(&max_inside);
	while (now > m && !atomic_compare_exchange_weak(&max_inside, &m, now))
		;
}

struct ovstate {
	int64_t n;
};

/* quick(): counts in the state (no atomics: one method at a time). */
static void ov_quick(troupe *rt, troupe_ctx *ctx, void *state,
		     const troupe_value *args, size_t nargs)
{
	(void)rt, (void)args, (void)nargs;
	struct ovstate *s = state;
	enter_method();
	int64_t n = s->n;
	for (int i = 0; i < 50; i++) {
		if (i % 16 == 0)
			sched_yield();
		atomic_signal_fence(memory_order_seq_cst);
	}
	s->n = n + 1;
	atomic_fetch_sub(&inside, 1);
	troupe_return_i64(ctx, n + 1);
}

/* nap(ms): sleeps; touches no state. */
static void ov_nap(troupe *rt, troupe_ctx *ctx, void *state,
		   const troupe_value *args, size_t nargs)
{
	(void)rt, (void)state;
	enter_method();
	test_sleep_ms((long)arg_i64(args, nargs, 0, 2));
	atomic_fetch_sub(&inside, 1);
	troupe_return_i64(ctx, 1);
}

static const troupe_method ov_methods[] = {ov_quick, ov_nap};
static const troupe_class ov_cls = {
	.name = "overlap",
	.state_size = sizeof(struct ovstate),
	.methods = ov_methods,
	.nmethods = 2,
};

struct ov_caller {
	troupe *rt;
	troupe_actor a;
	troupe_method m;
	int n;
	pthread_barrier_t *start;
	long ok, errors;
};

static void *ov_caller_fn(void *p)
{
	struct ov_caller *c = p;
	troupe_ref refs[CALL_WINDOW];
	pthread_barrier_wait(c->start);
	for (int done = 0; done < c->n;) {
		int k = 0;
		for (; k < CALL_WINDOW && done + k < c->n; k++) {
			troupe_arg a = TROUPE_I64(2);
			if (troupe_actor_call(c->rt, c->a, c->m, &a, 1,
					      &refs[k]) != TROUPE_OK) {
				c->errors++;
				break;
			}
		}
		for (int i = 0; i < k; i++) {
			if (troupe_get(c->rt, refs[i], TEST_HANG_S, NULL) ==
			    TROUPE_OK)
				c->ok++;
			else
				c->errors++;
			troupe_release(c->rt, refs[i]);
		}
		if (k == 0)
			break;
		done += k;
	}
	return NULL;
}

static void run_ov_callers(troupe *rt, troupe_actor a, troupe_method m,
			   int threads, int n)
{
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, (unsigned)threads);
	struct ov_caller c[8];
	pthread_t th[8];
	assert_true(threads <= 8);
	for (int i = 0; i < threads; i++) {
		c[i] = (struct ov_caller){.rt = rt, .a = a, .m = m, .n = n,
					  .start = &start};
		assert_int_equal(pthread_create(&th[i], NULL, ov_caller_fn,
						&c[i]),
				 0);
	}
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < threads; i++) {
		assert_int_equal(c[i].errors, 0);
		assert_int_equal(c[i].ok, n);
	}
}

static void one_at_a_time(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	enum { THREADS = 8, CALLS = 2000 };
	atomic_store(&inside, 0);
	atomic_store(&max_inside, 0);
	troupe_actor a;
	assert_int_equal(troupe_actor_create(rt, &ov_cls, NULL, 0, NULL, &a),
			 TROUPE_OK);
	run_ov_callers(rt, a, ov_quick, THREADS, CALLS);
	/* One more from here: n counted every call, none lost. */
	assert_int_equal(call_i64(rt, a, ov_quick, NULL, 0),
			 THREADS * CALLS + 1);
	assert_int_equal(atomic_load(&max_inside), 1);
	assert_int_equal(troupe_actor_release(rt, a), TROUPE_OK);

	/* max_concurrency = 1 is the default too. */
	atomic_store(&max_inside, 0);
	troupe_actor_opts one = {.max_concurrency = 1};
	assert_int_equal(troupe_actor_create(rt, &ov_cls, NULL, 0, &one, &a),
			 TROUPE_OK);
	run_ov_callers(rt, a, ov_nap, 4, 10);
	assert_int_equal(atomic_load(&max_inside), 1);
	assert_int_equal(troupe_actor_release(rt, a), TROUPE_OK);
}

static void concurrency_overlap(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	atomic_store(&inside, 0);
	atomic_store(&max_inside, 0);
	troupe_actor_opts four = {.max_concurrency = 4};
	troupe_actor a;
	assert_int_equal(troupe_actor_create(rt, &ov_cls, NULL, 0, &four, &a),
			 TROUPE_OK);
	/* From one thread: 64 naps of 5 ms queued at once. */
	troupe_ref r[64];
	for (int i = 0; i < 64; i++) {
		troupe_arg ms = TROUPE_I64(5);
		r[i] = call_ref(rt, a, ov_nap, &ms, 1);
	}
	for (int i = 0; i < 64; i++)
		assert_int_equal(take_i64(rt, r[i]), 1);
	int from_one = atomic_load(&max_inside);
	/* And from four threads. */
	run_ov_callers(rt, a, ov_nap, 4, 16);
	int m = atomic_load(&max_inside);
	print_message("max_concurrency 4: at most %d methods at once (%d from "
		      "one caller)\n",
		      m, from_one);
	assert_true(m > 1);
	assert_true(m <= 4);
	assert_true(from_one > 1);
	assert_int_equal(troupe_actor_release(rt, a), TROUPE_OK);
}

/* ------------------------------------------------ ref arguments */

struct logstate {
	int64_t v[16];
	int64_t n;
};

static void log_push(troupe *rt, troupe_ctx *ctx, void *state,
		     const troupe_value *args, size_t nargs)
{
	(void)rt;
	struct logstate *s = state;
	int64_t x = arg_i64(args, nargs, 0, -1);
	if (s->n < 16)
		s->v[s->n] = x;
	s->n++;
	troupe_return_i64(ctx, x);
}

/* at(i): the i-th logged value; at(-1): how many. */
static void log_at(troupe *rt, troupe_ctx *ctx, void *state,
		   const troupe_value *args, size_t nargs)
{
	(void)rt;
	struct logstate *s = state;
	int64_t i = arg_i64(args, nargs, 0, -1);
	troupe_return_i64(ctx, i < 0 ? s->n : i < 16 ? s->v[i] : -1);
}

static const troupe_method log_methods[] = {log_push, log_at};
static const troupe_class log_cls = {
	.name = "log",
	.state_size = sizeof(struct logstate),
	.methods = log_methods,
	.nmethods = 2,
};

struct other_caller {
	troupe *rt;
	troupe_actor a;
	struct test_gate *gate;
	troupe_err e;
	int64_t v;
	int gate_open_after; /* the gate's state when the call resolved */
};

static void *other_caller_fn(void *p)
{
	struct other_caller *o = p;
	troupe_arg a = TROUPE_I64(5);
	troupe_ref r;
	o->e = troupe_actor_call(o->rt, o->a, log_push, &a, 1, &r);
	if (o->e != TROUPE_OK)
		return NULL;
	o->e = troupe_get_i64(o->rt, r, TEST_HANG_S, &o->v);
	o->gate_open_after = atomic_load(&o->gate->open);
	troupe_release(o->rt, r);
	return NULL;
}

static void ref_arg_waits(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	troupe_actor a;
	assert_int_equal(troupe_actor_create(rt, &log_cls, NULL, 0, NULL, &a),
			 TROUPE_OK);
	struct test_gate *gp = &f->gate;
	troupe_arg ga[2] = {TEST_PTR_ARG(gp), TROUPE_I64(100)};
	troupe_ref g;
	assert_int_equal(troupe_submit(rt, test_gate_fn, ga, 2, NULL, &g),
			 TROUPE_OK);
	/* This thread: a call waiting on g, then a later one. */
	troupe_arg first = TROUPE_REF(g), second = TROUPE_I64(7);
	troupe_ref r1 = call_ref(rt, a, log_push, &first, 1);
	troupe_ref r2 = call_ref(rt, a, log_push, &second, 1);
	/* Another caller's call runs meanwhile. */
	struct other_caller o = {.rt = rt, .a = a, .gate = &f->gate};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, other_caller_fn, &o), 0);
	pthread_join(th, NULL);
	assert_int_equal(o.e, TROUPE_OK);
	assert_int_equal(o.v, 5);
	assert_int_equal(o.gate_open_after, 0);
	/* The same caller's later call waits behind the first. */
	test_sleep_ms(20);
	assert_int_equal(troupe_get(rt, r2, 0, NULL), TROUPE_ETIMEDOUT);
	assert_int_equal(troupe_get(rt, r1, 0, NULL), TROUPE_ETIMEDOUT);
	atomic_store(&f->gate.open, 1);
	assert_int_equal(take_i64(rt, r2), 7);
	assert_int_equal(take_i64(rt, r1), 100);
	troupe_arg q = TROUPE_I64(-1);
	assert_int_equal(call_i64(rt, a, log_at, &q, 1), 3);
	int64_t want[3] = {5, 100, 7};
	for (int i = 0; i < 3; i++) {
		troupe_arg ai = TROUPE_I64(i);
		assert_int_equal(call_i64(rt, a, log_at, &ai, 1), want[i]);
	}
	assert_int_equal(troupe_release(rt, g), TROUPE_OK);

	/* A ref argument that failed: the call does not run and carries
	 * the upstream error. */
	troupe_ref bad;
	assert_int_equal(troupe_actor_call(rt, a, log_push, NULL, 0, &bad),
			 TROUPE_OK); /* pushes -1 */
	assert_int_equal(take_i64(rt, bad), -1);
	troupe_actor c = create_counter(rt, 0, NULL);
	troupe_ref fr = call_ref(rt, c, counter_fail, NULL, 0);
	troupe_arg fa = TROUPE_REF(fr);
	troupe_ref r3 = call_ref(rt, a, log_push, &fa, 1);
	take_err(rt, r3, TROUPE_ETASK, "counter_fail asked to fail");
	assert_int_equal(troupe_release(rt, fr), TROUPE_OK);
	assert_int_equal(call_i64(rt, a, log_at, &q, 1), 4);
	assert_int_equal(troupe_actor_release(rt, c), TROUPE_OK);
	assert_int_equal(troupe_actor_release(rt, a), TROUPE_OK);
}

/* ------------------------------------------------------- kill */

static void kill_queued(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	reset_counts();
	troupe_actor a = create_counter(rt, 0, NULL);
	struct test_gate *gp = &f->gate;
	troupe_arg ba = TEST_PTR_ARG(gp);
	troupe_ref running = call_ref(rt, a, counter_block, &ba, 1);
	TEST_WAIT_UNTIL(atomic_load(&f->gate.started) == 1);
	assert_int_equal(atomic_load(&f->gate.started), 1);
	enum { QUEUED = 50 };
	troupe_ref q[QUEUED];
	for (int i = 0; i < QUEUED; i++) {
		troupe_arg one = TROUPE_I64(1);
		q[i] = call_ref(rt, a, counter_add, &one, 1);
	}
	assert_int_equal(troupe_actor_kill(rt, a, true), TROUPE_OK);
	/* Later calls, with and without a ref. */
	troupe_ref later[5];
	for (int i = 0; i < 5; i++)
		later[i] = call_ref(rt, a, counter_get, NULL, 0);
	assert_int_equal(troupe_actor_call(rt, a, counter_get, NULL, 0, NULL),
			 TROUPE_OK);
	/* The running method finishes, with its result. */
	atomic_store(&f->gate.open, 1);
	assert_int_equal(take_i64(rt, running), 7);
	for (int i = 0; i < QUEUED; i++)
		take_err(rt, q[i], TROUPE_EACTOR, NULL);
	for (int i = 0; i < 5; i++)
		take_err(rt, later[i], TROUPE_EACTOR, NULL);
	call_err(rt, a, counter_add, NULL, 0, TROUPE_EACTOR, NULL);
	wait_int(&K.fini, 1);
	assert_int_equal(atomic_load(&K.adds), 0);
	/* Killing again is harmless; the handle is still ours to release. */
	troupe_err e = troupe_actor_kill(rt, a, true);
	assert_true(e == TROUPE_OK || e == TROUPE_EACTOR);
	assert_int_equal(troupe_actor_release(rt, a), TROUPE_OK);
	test_sleep_ms(30);
	assert_int_equal(atomic_load(&K.fini), 1);
	assert_int_equal(atomic_load(&K.ctor), 1);

	/* An idle actor. */
	troupe_actor idle = create_counter(rt, 0, NULL);
	assert_int_equal(add(rt, idle, 1), 1);
	assert_int_equal(troupe_actor_kill(rt, idle, true), TROUPE_OK);
	call_err(rt, idle, counter_get, NULL, 0, TROUPE_EACTOR, NULL);
	assert_int_equal(troupe_actor_release(rt, idle), TROUPE_OK);
	wait_int(&K.fini, 2);
	assert_int_equal(atomic_load(&K.ctor), 2);
}

/* Kill an actor whose constructor has not run yet (it waits on a gated
 * ref): the call queued behind the constructor resolves to TROUPE_EACTOR
 * without waiting for the constructor's argument, and destructors run
 * once per constructed state. */
static void kill_before_constructor(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	reset_counts();
	troupe_ref gr;
	assert_int_equal(test_submit_gate(rt, &f->gate, &gr), TROUPE_OK);
	troupe_arg gca = TROUPE_REF(gr);
	troupe_actor waiting;
	assert_int_equal(troupe_actor_create(rt, &counter_cls, &gca, 1, NULL,
					     &waiting),
			 TROUPE_OK);
	troupe_ref wq = call_ref(rt, waiting, counter_get, NULL, 0);
	assert_int_equal(troupe_actor_kill(rt, waiting, true), TROUPE_OK);
	take_err(rt, wq, TROUPE_EACTOR, NULL);
	call_err(rt, waiting, counter_get, NULL, 0, TROUPE_EACTOR, NULL);
	atomic_store(&f->gate.open, 1);
	assert_int_equal(troupe_get(rt, gr, TEST_HANG_S, NULL), TROUPE_OK);
	call_err(rt, waiting, counter_get, NULL, 0, TROUPE_EACTOR, NULL);
	assert_int_equal(troupe_actor_release(rt, waiting), TROUPE_OK);
	assert_int_equal(troupe_release(rt, gr), TROUPE_OK);
	settle();
}

/* ---------------------------------------------------- restarts */

struct phoenix {
	int64_t magic;
	int64_t count;
};

static void ph_init(troupe *rt, troupe_ctx *ctx, void *state,
		    const troupe_value *args, size_t nargs)
{
	(void)rt, (void)ctx;
	struct phoenix *p = state;
	if (!all_zero(p, sizeof *p))
		atomic_fetch_add(&K.nonzero, 1);
	p->magic = 1000 + arg_i64(args, nargs, 0, 0);
	atomic_fetch_add(&K.ctor, 1);
}

static void ph_fini(troupe *rt, void *state)
{
	(void)rt, (void)state;
	atomic_fetch_add(&K.fini, 1);
}

static void ph_inc(troupe *rt, troupe_ctx *ctx, void *state,
		   const troupe_value *args, size_t nargs)
{
	(void)rt, (void)args, (void)nargs;
	struct phoenix *p = state;
	p->count++;
	troupe_return_i64(ctx, p->magic + p->count);
}

static void ph_die(troupe *rt, troupe_ctx *ctx, void *state,
		   const troupe_value *args, size_t nargs)
{
	(void)rt, (void)state, (void)args, (void)nargs;
	troupe_fail_fatal(ctx, "phoenix dies");
}

/* flaky(k): fails fatally on the first k deliveries (counted over all
 * incarnations), then returns the delivery number. */
static void ph_flaky(troupe *rt, troupe_ctx *ctx, void *state,
		     const troupe_value *args, size_t nargs)
{
	(void)rt, (void)state;
	int d = atomic_fetch_add(&K.deliveries, 1) + 1;
	if (d <= arg_i64(args, nargs, 0, 0)) {
		troupe_fail_fatal(ctx, "flaky delivery %d", d);
		return;
	}
	troupe_return_i64(ctx, d);
}

static const troupe_method ph_methods[] = {ph_inc, ph_die, ph_flaky};
static const troupe_class ph_cls = {
	.name = "phoenix",
	.state_size = sizeof(struct phoenix),
	.init = ph_init,
	.fini = ph_fini,
	.methods = ph_methods,
	.nmethods = 3,
};

static troupe_actor create_phoenix(troupe *rt, const troupe_actor_opts *o)
{
	troupe_arg a = TROUPE_I64(0);
	troupe_actor p;
	assert_int_equal(troupe_actor_create(rt, &ph_cls, &a, 1, o, &p),
			 TROUPE_OK);
	return p;
}

static void restarts(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	reset_counts();
	troupe_actor_opts two = {.max_restarts = 2};
	troupe_actor p = create_phoenix(rt, &two);
	assert_int_equal(call_i64(rt, p, ph_inc, NULL, 0), 1001);
	assert_int_equal(call_i64(rt, p, ph_inc, NULL, 0), 1002);
	for (int k = 1; k <= 2; k++) {
		call_err(rt, p, ph_die, NULL, 0, TROUPE_EACTOR, "phoenix dies");
		/* Restarted: constructor re-run, state rebuilt. */
		assert_int_equal(call_i64(rt, p, ph_inc, NULL, 0), 1001);
		assert_int_equal(call_i64(rt, p, ph_inc, NULL, 0), 1002);
		assert_int_equal(atomic_load(&K.ctor), 1 + k);
		wait_int(&K.fini, k);
	}
	/* The third fatal failure is the last. */
	call_err(rt, p, ph_die, NULL, 0, TROUPE_EACTOR, "phoenix dies");
	call_err(rt, p, ph_inc, NULL, 0, TROUPE_EACTOR, NULL);
	wait_int(&K.fini, 3);
	assert_int_equal(atomic_load(&K.ctor), 3);
	assert_int_equal(troupe_actor_release(rt, p), TROUPE_OK);
	settle();
	test_sleep_ms(20);
	assert_int_equal(atomic_load(&K.fini), 3);

	/* Forever. */
	reset_counts();
	troupe_actor_opts forever = {.max_restarts = -1};
	p = create_phoenix(rt, &forever);
	for (int k = 0; k < 20; k++) {
		call_err(rt, p, ph_die, NULL, 0, TROUPE_EACTOR, "phoenix dies");
		assert_int_equal(call_i64(rt, p, ph_inc, NULL, 0), 1001);
	}
	assert_int_equal(atomic_load(&K.ctor), 21);
	assert_int_equal(troupe_actor_release(rt, p), TROUPE_OK);
	settle();
	wait_int(&K.fini, 21);
	assert_int_equal(atomic_load(&K.nonzero), 0);

	/* kill(no_restart false) restarts while restarts are left. */
	reset_counts();
	troupe_actor_opts one = {.max_restarts = 1};
	p = create_phoenix(rt, &one);
	assert_int_equal(call_i64(rt, p, ph_inc, NULL, 0), 1001);
	assert_int_equal(call_i64(rt, p, ph_inc, NULL, 0), 1002);
	assert_int_equal(troupe_actor_kill(rt, p, false), TROUPE_OK);
	assert_int_equal(call_i64(rt, p, ph_inc, NULL, 0), 1001);
	assert_int_equal(atomic_load(&K.ctor), 2);
	wait_int(&K.fini, 1);
	assert_int_equal(troupe_actor_kill(rt, p, false), TROUPE_OK);
	call_err(rt, p, ph_inc, NULL, 0, TROUPE_EACTOR, NULL);
	wait_int(&K.fini, 2);
	assert_int_equal(atomic_load(&K.ctor), 2);
	assert_int_equal(troupe_actor_release(rt, p), TROUPE_OK);
	settle();

	/* kill(no_restart true) does not restart. */
	reset_counts();
	p = create_phoenix(rt, &forever);
	assert_int_equal(call_i64(rt, p, ph_inc, NULL, 0), 1001);
	assert_int_equal(troupe_actor_kill(rt, p, true), TROUPE_OK);
	call_err(rt, p, ph_inc, NULL, 0, TROUPE_EACTOR, NULL);
	wait_int(&K.fini, 1);
	assert_int_equal(atomic_load(&K.ctor), 1);
	assert_int_equal(troupe_actor_release(rt, p), TROUPE_OK);
	settle();
}

static void task_retries(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;

	/* Two retries: the third delivery succeeds. */
	reset_counts();
	troupe_actor_opts o = {.max_restarts = -1, .max_task_retries = 2};
	troupe_actor p = create_phoenix(rt, &o);
	troupe_arg k = TROUPE_I64(2);
	assert_int_equal(call_i64(rt, p, ph_flaky, &k, 1), 3);
	assert_int_equal(atomic_load(&K.deliveries), 3);
	assert_int_equal(atomic_load(&K.ctor), 3);
	assert_int_equal(troupe_actor_release(rt, p), TROUPE_OK);
	settle();
	wait_int(&K.fini, 3);

	/* One retry, not enough: two deliveries, then TROUPE_EACTOR; the
	 * actor (restarts left) serves the next call. */
	reset_counts();
	o = (troupe_actor_opts){.max_restarts = -1, .max_task_retries = 1};
	p = create_phoenix(rt, &o);
	k = TROUPE_I64(5);
	call_err(rt, p, ph_flaky, &k, 1, TROUPE_EACTOR, "flaky delivery");
	test_sleep_ms(20);
	assert_int_equal(atomic_load(&K.deliveries), 2);
	k = TROUPE_I64(0);
	assert_int_equal(call_i64(rt, p, ph_flaky, &k, 1), 3);
	assert_int_equal(troupe_actor_release(rt, p), TROUPE_OK);
	settle();

	/* Retries forever. */
	reset_counts();
	o = (troupe_actor_opts){.max_restarts = -1, .max_task_retries = -1};
	p = create_phoenix(rt, &o);
	k = TROUPE_I64(6);
	assert_int_equal(call_i64(rt, p, ph_flaky, &k, 1), 7);
	assert_int_equal(atomic_load(&K.ctor), 7);
	assert_int_equal(troupe_actor_release(rt, p), TROUPE_OK);
	settle();

	/* The default: at most once.  The failed call is not delivered
	 * again, its caller gets TROUPE_EACTOR; the actor restarts. */
	reset_counts();
	o = (troupe_actor_opts){.max_restarts = 1};
	p = create_phoenix(rt, &o);
	k = TROUPE_I64(1);
	call_err(rt, p, ph_flaky, &k, 1, TROUPE_EACTOR, "flaky delivery 1");
	test_sleep_ms(20);
	assert_int_equal(atomic_load(&K.deliveries), 1);
	k = TROUPE_I64(0);
	assert_int_equal(call_i64(rt, p, ph_flaky, &k, 1), 2);
	assert_int_equal(atomic_load(&K.ctor), 2);
	assert_int_equal(troupe_actor_release(rt, p), TROUPE_OK);
	settle();

	/* Retries left but restarts run out: the actor dies with the call. */
	reset_counts();
	o = (troupe_actor_opts){.max_restarts = 1, .max_task_retries = 3};
	p = create_phoenix(rt, &o);
	k = TROUPE_I64(5);
	call_err(rt, p, ph_flaky, &k, 1, TROUPE_EACTOR, "flaky delivery");
	test_sleep_ms(20);
	assert_int_equal(atomic_load(&K.deliveries), 2);
	call_err(rt, p, ph_inc, NULL, 0, TROUPE_EACTOR, NULL);
	assert_int_equal(atomic_load(&K.ctor), 2);
	wait_int(&K.fini, 2);
	assert_int_equal(troupe_actor_release(rt, p), TROUPE_OK);
	settle();
}

/* ---------------------------------------------------- registry */

struct names {
	troupe *rt;
	int n;
	char seen[16][32];
	int lookups_ok;
};

static void collect_name(const char *name, void *arg)
{
	struct names *s = arg;
	if (s->n < 16) {
		strncpy(s->seen[s->n], name, sizeof s->seen[0] - 1);
		s->seen[s->n][sizeof s->seen[0] - 1] = 0;
	}
	s->n++;
	/* The callback may call into the runtime. */
	troupe_actor a;
	if (troupe_actor_lookup(s->rt, name, &a) == TROUPE_OK) {
		s->lookups_ok++;
		troupe_actor_release(s->rt, a);
	}
}

static bool names_have(const struct names *s, const char *name)
{
	for (int i = 0; i < s->n && i < 16; i++)
		if (strcmp(s->seen[i], name) == 0)
			return true;
	return false;
}

static void list_names(troupe *rt, struct names *s)
{
	memset(s, 0, sizeof *s);
	s->rt = rt;
	assert_int_equal(troupe_actor_list(rt, collect_name, s), TROUPE_OK);
}

static troupe_err lookup(troupe *rt, const char *name)
{
	troupe_actor a;
	troupe_err e = troupe_actor_lookup(rt, name, &a);
	if (e == TROUPE_OK)
		assert_int_equal(troupe_actor_release(rt, a), TROUPE_OK);
	return e;
}

static void named_registry(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	reset_counts();
	char name[16] = "alpha";
	troupe_actor_opts o = {.name = name};
	troupe_actor a1 = create_counter(rt, 100, &o);
	memset(name, 'x', sizeof name - 1); /* the name was copied */
	troupe_actor_opts ob = {.name = "beta"};
	troupe_actor b = create_counter(rt, 200, &ob);

	troupe_actor a2 = {.id = 77};
	assert_int_equal(troupe_actor_lookup(rt, "alpha", &a2), TROUPE_OK);
	assert_true(a2.id != 77 && a2.id != 0);
	assert_int_equal(add(rt, a2, 5), 105);
	assert_int_equal(call_i64(rt, a1, counter_get, NULL, 0), 105);

	struct names s;
	list_names(rt, &s);
	assert_int_equal(s.n, 2);
	assert_true(names_have(&s, "alpha"));
	assert_true(names_have(&s, "beta"));
	assert_int_equal(s.lookups_ok, 2);

	/* Duplicate: EEXIST, no handle, no constructor. */
	troupe_actor dup = {.id = 99};
	troupe_actor_opts od = {.name = "alpha"};
	troupe_arg arg = TROUPE_I64(1);
	assert_int_equal(troupe_actor_create(rt, &counter_cls, &arg, 1, &od,
					     &dup),
			 TROUPE_EEXIST);
	assert_int_equal(dup.id, 99);

	/* get_if_exists: the same actor. */
	troupe_actor_opts og = {.name = "alpha", .get_if_exists = true};
	troupe_actor a3 = create_counter(rt, 999, &og);
	assert_int_equal(add(rt, a3, 1), 106);
	assert_int_equal(call_i64(rt, a1, counter_get, NULL, 0), 106);
	/* And for a name not taken yet, a new actor. */
	troupe_actor_opts og2 = {.name = "gamma", .get_if_exists = true};
	troupe_actor c = create_counter(rt, 300, &og2);
	assert_int_equal(call_i64(rt, c, counter_get, NULL, 0), 300);
	assert_int_equal(atomic_load(&K.ctor), 3);

	assert_int_equal(lookup(rt, "delta"), TROUPE_ENOTFOUND);
	assert_int_equal(lookup(rt, ""), TROUPE_ENOTFOUND);

	/* A non-detached named actor leaves the registry when its last
	 * handle goes. */
	assert_int_equal(troupe_actor_release(rt, a1), TROUPE_OK);
	assert_int_equal(troupe_actor_release(rt, a2), TROUPE_OK);
	assert_int_equal(lookup(rt, "alpha"), TROUPE_OK); /* a3 holds it */
	assert_int_equal(troupe_actor_release(rt, a3), TROUPE_OK);
	wait_int(&K.fini, 1);
	assert_int_equal(atomic_load(&K.fini_count), 6);
	TEST_WAIT_UNTIL(lookup(rt, "alpha") == TROUPE_ENOTFOUND);
	assert_int_equal(lookup(rt, "alpha"), TROUPE_ENOTFOUND);
	/* The name is free again. */
	troupe_actor a4 = create_counter(rt, 400, &od);
	assert_int_equal(call_i64(rt, a4, counter_get, NULL, 0), 400);

	/* A killed named actor leaves the registry. */
	assert_int_equal(troupe_actor_kill(rt, b, true), TROUPE_OK);
	TEST_WAIT_UNTIL(lookup(rt, "beta") == TROUPE_ENOTFOUND);
	assert_int_equal(lookup(rt, "beta"), TROUPE_ENOTFOUND);
	list_names(rt, &s);
	assert_int_equal(s.n, 2);
	assert_true(names_have(&s, "alpha"));
	assert_true(names_have(&s, "gamma"));
	assert_int_equal(troupe_actor_release(rt, b), TROUPE_OK);
	assert_int_equal(troupe_actor_release(rt, a4), TROUPE_OK);
	assert_int_equal(troupe_actor_release(rt, c), TROUPE_OK);
	wait_int(&K.fini, 4);
	assert_int_equal(atomic_load(&K.ctor), 4);
	TEST_WAIT_UNTIL((list_names(rt, &s), s.n == 0));
	list_names(rt, &s);
	assert_int_equal(s.n, 0);
}

struct racer {
	troupe *rt;
	const char *name;
	int64_t base;
	pthread_barrier_t *start;
	troupe_actor a;
	troupe_err e;
	int64_t v;
};

static void *racer_fn(void *p)
{
	struct racer *r = p;
	troupe_actor_opts o = {.name = r->name, .get_if_exists = true};
	troupe_arg a = TROUPE_I64(r->base);
	pthread_barrier_wait(r->start);
	r->e = troupe_actor_create(r->rt, &counter_cls, &a, 1, &o, &r->a);
	if (r->e != TROUPE_OK)
		return NULL;
	troupe_arg one = TROUPE_I64(1);
	troupe_ref ref;
	r->e = troupe_actor_call(r->rt, r->a, counter_add, &one, 1, &ref);
	if (r->e != TROUPE_OK)
		return NULL;
	r->e = troupe_get_i64(r->rt, ref, TEST_HANG_S, &r->v);
	troupe_release(r->rt, ref);
	return NULL;
}

static void named_race(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	enum { THREADS = 8, ROUNDS = 20 };
	reset_counts();
	for (int round = 0; round < ROUNDS; round++) {
		char name[32];
		snprintf(name, sizeof name, "racer-%d", round);
		pthread_barrier_t start;
		pthread_barrier_init(&start, NULL, THREADS);
		struct racer r[THREADS];
		pthread_t th[THREADS];
		for (int i = 0; i < THREADS; i++) {
			r[i] = (struct racer){.rt = rt, .name = name,
					      .base = 1000 * (i + 1),
					      .start = &start};
			assert_int_equal(pthread_create(&th[i], NULL, racer_fn,
							&r[i]),
					 0);
		}
		for (int i = 0; i < THREADS; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&start);
		assert_int_equal(atomic_load(&K.ctor), round + 1);
		/* One state: the adds return base + 1 .. base + 8. */
		int64_t base = -1;
		unsigned seen = 0;
		for (int i = 0; i < THREADS; i++) {
			assert_int_equal(r[i].e, TROUPE_OK);
			int64_t b = r[i].v - (r[i].v % 1000);
			int64_t k = r[i].v % 1000;
			if (base < 0)
				base = b;
			assert_int_equal(b, base);
			assert_true(k >= 1 && k <= THREADS);
			seen |= 1u << k;
		}
		assert_int_equal(seen, ((1u << THREADS) - 1) << 1);
		for (int i = 0; i < THREADS; i++)
			assert_int_equal(call_i64(rt, r[i].a, counter_get,
						  NULL, 0),
					 base + THREADS);
		for (int i = 0; i < THREADS; i++)
			assert_int_equal(troupe_actor_release(rt, r[i].a),
					 TROUPE_OK);
		wait_int(&K.fini, round + 1);
	}
}

static void detached(void **state)
{
	(void)state;
	reset_counts();
	troupe *rt;
	assert_int_equal(troupe_init(&rt, NULL), TROUPE_OK);
	troupe_actor_opts o = {.name = "daemon", .detached = true};
	troupe_actor d = create_counter(rt, 10, &o);
	assert_int_equal(add(rt, d, 3), 13);
	assert_int_equal(troupe_actor_release(rt, d), TROUPE_OK);
	test_sleep_ms(30);
	assert_int_equal(atomic_load(&K.fini), 0);
	/* Reachable by lookup, state intact. */
	troupe_actor h;
	assert_int_equal(troupe_actor_lookup(rt, "daemon", &h), TROUPE_OK);
	assert_int_equal(add(rt, h, 1), 14);
	assert_int_equal(troupe_actor_release(rt, h), TROUPE_OK);
	struct names s;
	list_names(rt, &s);
	assert_int_equal(s.n, 1);
	assert_true(names_have(&s, "daemon"));
	assert_int_equal(troupe_actor_lookup(rt, "daemon", &h), TROUPE_OK);
	assert_int_equal(call_i64(rt, h, counter_get, NULL, 0), 14);
	/* Until killed. */
	assert_int_equal(troupe_actor_kill(rt, h, true), TROUPE_OK);
	wait_int(&K.fini, 1);
	assert_int_equal(atomic_load(&K.fini_count), 4);
	TEST_WAIT_UNTIL(lookup(rt, "daemon") == TROUPE_ENOTFOUND);
	assert_int_equal(lookup(rt, "daemon"), TROUPE_ENOTFOUND);
	call_err(rt, h, counter_get, NULL, 0, TROUPE_EACTOR, NULL);
	assert_int_equal(troupe_actor_release(rt, h), TROUPE_OK);

	/* Or until shutdown, which runs its destructor. */
	troupe_actor_opts o2 = {.name = "daemon2", .detached = true};
	d = create_counter(rt, 0, &o2);
	assert_int_equal(add(rt, d, 9), 9);
	assert_int_equal(troupe_actor_release(rt, d), TROUPE_OK);
	test_sleep_ms(20);
	assert_int_equal(atomic_load(&K.fini), 1);
	assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
	assert_int_equal(atomic_load(&K.fini), 2);
	assert_int_equal(atomic_load(&K.fini_count), 9);
	assert_int_equal(atomic_load(&K.ctor), 2);
}

/* ---------------------------------------------------- lifetime */

static void lifetime_drain(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	reset_counts();
	troupe_actor a = create_counter(rt, 0, NULL);
	assert_int_equal(troupe_actor_retain(rt, a), TROUPE_OK);
	struct test_gate *gp = &f->gate;
	troupe_arg ba = TEST_PTR_ARG(gp);
	troupe_ref blocked = call_ref(rt, a, counter_block, &ba, 1);
	TEST_WAIT_UNTIL(atomic_load(&f->gate.started) == 1);
	enum { QUEUED = 100 };
	troupe_ref q[QUEUED];
	for (int i = 0; i < QUEUED; i++) {
		troupe_arg one = TROUPE_I64(1);
		q[i] = call_ref(rt, a, counter_add, &one, 1);
	}
	assert_int_equal(troupe_actor_release(rt, a), TROUPE_OK);
	assert_int_equal(troupe_actor_release(rt, a), TROUPE_OK);
	assert_int_equal(troupe_actor_release(rt, a), TROUPE_ESTALE);
	test_sleep_ms(30);
	assert_int_equal(atomic_load(&K.fini), 0);
	atomic_store(&f->gate.open, 1);
	/* The queued calls drain: values, not errors. */
	assert_int_equal(take_i64(rt, blocked), 7);
	for (int i = 0; i < QUEUED; i++)
		assert_int_equal(take_i64(rt, q[i]), i + 1);
	wait_int(&K.fini, 1);
	assert_int_equal(atomic_load(&K.fini_count), QUEUED);
	test_sleep_ms(30);
	assert_int_equal(atomic_load(&K.fini), 1);
	assert_int_equal(atomic_load(&K.ctor), 1);
}

/* Task body: args ACTOR(a), x: calls a.add(x), returns the result. */
static void use_actor_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
			 size_t nargs)
{
	troupe_actor a;
	if (troupe_value_actor(&args[0], &a) != TROUPE_OK) {
		atomic_fetch_add(&K.errors, 1);
		troupe_fail(ctx, "not an actor");
		return;
	}
	troupe_arg x = TROUPE_I64(arg_i64(args, nargs, 1, 0));
	troupe_ref r;
	int64_t v = 0;
	troupe_err e = troupe_actor_call(rt, a, counter_add, &x, 1, &r);
	if (e == TROUPE_OK) {
		e = troupe_get_i64(rt, r, TEST_HANG_S, &v);
		troupe_release(rt, r);
	}
	if (e != TROUPE_OK) {
		atomic_fetch_add(&K.errors, 1);
		troupe_fail(ctx, "use_actor: %s", troupe_strerror(e));
		return;
	}
	troupe_return_i64(ctx, v);
}

static void handles_passed(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	reset_counts();
	troupe_actor a = create_counter(rt, 0, NULL);
	/* Tasks hold the actor: release our handle right after submitting. */
	enum { TASKS = 16 };
	troupe_ref t[TASKS];
	for (int i = 0; i < TASKS; i++) {
		troupe_arg args[2] = {TROUPE_ACTOR(a), TROUPE_I64(1)};
		assert_int_equal(troupe_submit(rt, use_actor_fn, args, 2, NULL,
					       &t[i]),
				 TROUPE_OK);
	}
	assert_int_equal(troupe_actor_release(rt, a), TROUPE_OK);
	unsigned seen = 0;
	for (int i = 0; i < TASKS; i++) {
		int64_t v = take_i64(rt, t[i]);
		assert_true(v >= 1 && v <= TASKS);
		seen |= 1u << (v - 1);
	}
	assert_int_equal(seen, (1u << TASKS) - 1);
	wait_int(&K.fini, 1);
	assert_int_equal(atomic_load(&K.fini_count), TASKS);

	/* Into another actor's call. */
	troupe_actor c = create_counter(rt, 50, NULL);
	troupe_actor r;
	assert_int_equal(troupe_actor_create(rt, &relay_cls, NULL, 0, NULL, &r),
			 TROUPE_OK);
	troupe_arg ra[2] = {TROUPE_ACTOR(c), TROUPE_I64(2)};
	troupe_ref rr = call_ref(rt, r, relay_add, ra, 2);
	assert_int_equal(troupe_actor_release(rt, c), TROUPE_OK);
	assert_int_equal(take_i64(rt, rr), 1052);
	wait_int(&K.fini, 2);
	assert_int_equal(atomic_load(&K.fini_count), 2);
	assert_int_equal(atomic_load(&K.errors), 0);

	/* troupe_value_actor rejects what is not a handle. */
	troupe_value bad = {.data = "abc", .size = 3};
	troupe_actor out = {.id = 5};
	assert_int_not_equal(troupe_value_actor(&bad, &out), TROUPE_OK);
	assert_int_equal(out.id, 5);
	assert_int_equal(troupe_value_actor(NULL, &out), TROUPE_EINVAL);
	assert_int_equal(troupe_actor_release(rt, r), TROUPE_OK);
}

/* chain: constructor takes an optional ACTOR(next) and keeps it. */
struct chain {
	troupe_actor next;
	int has_next;
};

static void chain_init(troupe *rt, troupe_ctx *ctx, void *state,
		       const troupe_value *args, size_t nargs)
{
	struct chain *c = state;
	if (nargs > 0) {
		if (troupe_value_actor(&args[0], &c->next) != TROUPE_OK ||
		    troupe_actor_retain(rt, c->next) != TROUPE_OK) {
			troupe_fail(ctx, "chain: no next");
			return;
		}
		c->has_next = 1;
	}
	atomic_fetch_add(&K.ctor, 1);
}

static void chain_fini(troupe *rt, void *state)
{
	struct chain *c = state;
	if (c->has_next)
		troupe_actor_release(rt, c->next);
	atomic_fetch_add(&K.fini, 1);
}

/* ping(x): next.ping(x + 1), waited for; the last returns x. */
static void chain_ping(troupe *rt, troupe_ctx *ctx, void *state,
		       const troupe_value *args, size_t nargs)
{
	struct chain *c = state;
	int64_t x = arg_i64(args, nargs, 0, 0);
	if (!c->has_next) {
		troupe_return_i64(ctx, x);
		return;
	}
	troupe_arg a = TROUPE_I64(x + 1);
	troupe_ref r;
	int64_t v = -1;
	troupe_err e = troupe_actor_call(rt, c->next, chain_ping, &a, 1, &r);
	if (e == TROUPE_OK) {
		e = troupe_get_i64(rt, r, TEST_HANG_S, &v);
		troupe_release(rt, r);
	}
	if (e != TROUPE_OK) {
		atomic_fetch_add(&K.errors, 1);
		troupe_fail(ctx, "ping: %s", troupe_strerror(e));
		return;
	}
	troupe_return_i64(ctx, v);
}

static const troupe_method chain_methods[] = {chain_ping};
static const troupe_class chain_cls = {
	.name = "chain",
	.state_size = sizeof(struct chain),
	.init = chain_init,
	.fini = chain_fini,
	.methods = chain_methods,
	.nmethods = 1,
};

/* Task body: args ACTOR(head): pings it and waits. */
static void ping_task_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
			 size_t nargs)
{
	(void)nargs;
	troupe_actor h;
	troupe_arg z = TROUPE_I64(0);
	troupe_ref r;
	int64_t v = -1;
	if (troupe_value_actor(&args[0], &h) != TROUPE_OK ||
	    troupe_actor_call(rt, h, chain_ping, &z, 1, &r) != TROUPE_OK) {
		troupe_fail(ctx, "ping_task: call failed");
		return;
	}
	troupe_err e = troupe_get_i64(rt, r, TEST_HANG_S, &v);
	troupe_release(rt, r);
	if (e != TROUPE_OK)
		troupe_fail(ctx, "ping_task: %s", troupe_strerror(e));
	else
		troupe_return_i64(ctx, v);
}

static void nested_on(unsigned workers)
{
	troupe *rt;
	troupe_config cfg = {.num_workers = workers};
	assert_int_equal(troupe_init(&rt, &cfg), TROUPE_OK);
	reset_counts();
	/* A method that submits tasks and gets them. */
	troupe_actor r;
	assert_int_equal(troupe_actor_create(rt, &relay_cls, NULL, 0, NULL, &r),
			 TROUPE_OK);
	troupe_ref tr[4];
	for (int i = 0; i < 4; i++) {
		troupe_arg n = TROUPE_I64(20);
		tr[i] = call_ref(rt, r, relay_tasks, &n, 1);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(take_i64(rt, tr[i]), 2470); /* sum i^2, i<20 */

	/* Methods calling other actors and getting: a chain of 8. */
	enum { LEN = 8 };
	troupe_actor chain[LEN];
	assert_int_equal(troupe_actor_create(rt, &chain_cls, NULL, 0, NULL,
					     &chain[LEN - 1]),
			 TROUPE_OK);
	for (int i = LEN - 2; i >= 0; i--) {
		troupe_arg n = TROUPE_ACTOR(chain[i + 1]);
		assert_int_equal(troupe_actor_create(rt, &chain_cls, &n, 1,
						     NULL, &chain[i]),
				 TROUPE_OK);
	}
	for (int i = 1; i < LEN; i++)
		assert_int_equal(troupe_actor_release(rt, chain[i]), TROUPE_OK);
	troupe_ref pr[16];
	for (int i = 0; i < 8; i++) {
		troupe_arg z = TROUPE_I64(0);
		pr[i] = call_ref(rt, chain[0], chain_ping, &z, 1);
	}
	for (int i = 8; i < 16; i++) {
		troupe_arg h = TROUPE_ACTOR(chain[0]);
		assert_int_equal(troupe_submit(rt, ping_task_fn, &h, 1, NULL,
					       &pr[i]),
				 TROUPE_OK);
	}
	for (int i = 0; i < 16; i++)
		assert_int_equal(take_i64(rt, pr[i]), LEN - 1);
	assert_int_equal(atomic_load(&K.errors), 0);
	assert_int_equal(atomic_load(&K.ctor), LEN);
	/* Releasing the head lets the whole chain go, destructor by
	 * destructor. */
	assert_int_equal(troupe_actor_release(rt, chain[0]), TROUPE_OK);
	wait_int(&K.fini, LEN);
	assert_int_equal(troupe_actor_release(rt, r), TROUPE_OK);
	assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
}

static void nested_gets(void **state)
{
	(void)state;
	nested_on(1);
	nested_on(2);
}

/* --------------------------------------------- max_pending_calls */

static void max_pending(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	reset_counts();
	troupe_actor_opts o = {.max_pending_calls = 4};
	troupe_actor a = create_counter(rt, 0, &o);
	struct test_gate *gp = &f->gate;
	troupe_arg ba = TEST_PTR_ARG(gp);
	troupe_ref r[4];
	r[0] = call_ref(rt, a, counter_block, &ba, 1);
	TEST_WAIT_UNTIL(atomic_load(&f->gate.started) == 1);
	for (int i = 1; i < 4; i++) {
		troupe_arg one = TROUPE_I64(1);
		r[i] = call_ref(rt, a, counter_add, &one, 1);
	}
	/* Beyond four: EBUSY at once, no ref, nothing queued. */
	for (int i = 0; i < 10; i++) {
		troupe_arg one = TROUPE_I64(100);
		troupe_ref busy = {.id = 31337};
		assert_int_equal(troupe_actor_call(rt, a, counter_add, &one, 1,
						   &busy),
				 TROUPE_EBUSY);
		assert_int_equal(busy.id, 31337);
		assert_int_equal(troupe_actor_call(rt, a, counter_add, &one, 1,
						   NULL),
				 TROUPE_EBUSY);
	}
	atomic_store(&f->gate.open, 1);
	assert_int_equal(take_i64(rt, r[0]), 7);
	for (int i = 1; i < 4; i++)
		assert_int_equal(take_i64(rt, r[i]), i);
	/* Drained: calls are accepted again. */
	troupe_arg zero = TROUPE_I64(0);
	troupe_ref again = {0};
	TEST_WAIT_UNTIL(troupe_actor_call(rt, a, counter_add, &zero, 1,
					  &again) == TROUPE_OK);
	assert_true(again.id != 0);
	assert_int_equal(take_i64(rt, again), 3);
	assert_int_equal(atomic_load(&K.adds), 4);
	assert_int_equal(troupe_actor_release(rt, a), TROUPE_OK);
}

/* ------------------------------------------------------ bad input */

static void bad_input(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	reset_counts();
	troupe_actor a = {.id = 123}, good = create_counter(rt, 0, NULL);
	troupe_arg arg = TROUPE_I64(1);
	troupe_ref r = {.id = 456};

	assert_int_equal(troupe_actor_create(NULL, &counter_cls, &arg, 1, NULL,
					     &a),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_create(rt, NULL, &arg, 1, NULL, &a),
			 TROUPE_EINVAL);
	troupe_class no_methods = counter_cls;
	no_methods.methods = NULL;
	assert_int_equal(troupe_actor_create(rt, &no_methods, NULL, 0, NULL,
					     &a),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_create(rt, &counter_cls, NULL, 1, NULL,
					     &a),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_create(rt, &counter_cls, &arg, 1, NULL,
					     NULL),
			 TROUPE_EINVAL);
	troupe_arg bad_kind = {.kind = (enum troupe_arg_kind)99};
	assert_int_equal(troupe_actor_create(rt, &counter_cls, &bad_kind, 1,
					     NULL, &a),
			 TROUPE_EINVAL);
	/* Options outside their documented ranges. */
	troupe_actor_opts bad_opts[] = {
		{.max_concurrency = 65536},
		{.max_restarts = -2},
		{.max_task_retries = -2},
	};
	for (size_t i = 0; i < sizeof bad_opts / sizeof bad_opts[0]; i++)
		assert_int_equal(troupe_actor_create(rt, &counter_cls, &arg, 1,
						     &bad_opts[i], &a),
				 TROUPE_EINVAL);
	troupe_ref released_ref;
	assert_int_equal(troupe_put_i64(rt, 1, &released_ref), TROUPE_OK);
	assert_int_equal(troupe_release(rt, released_ref), TROUPE_OK);
	troupe_arg stale = TROUPE_REF(released_ref);
	assert_int_not_equal(troupe_actor_create(rt, &counter_cls, &stale, 1,
						 NULL, &a),
			     TROUPE_OK);
	assert_int_equal(a.id, 123);

	assert_int_equal(troupe_actor_call(NULL, good, counter_add, &arg, 1,
					   &r),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_call(rt, good, NULL, &arg, 1, &r),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_call(rt, good, stray_method, &arg, 1,
					   &r),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_call(rt, good, counter_add, NULL, 1, &r),
			 TROUPE_EINVAL);
	assert_int_equal(troupe_actor_call(rt, good, counter_add, &bad_kind, 1,
					   &r),
			 TROUPE_EINVAL);
	assert_int_not_equal(troupe_actor_call(rt, good, counter_add, &stale,
					       1, &r),
			     TROUPE_OK);
	assert_int_equal(r.id, 456);

	/* Handles that are not (or no longer) good. */
	troupe *other;
	assert_int_equal(troupe_init(&other, NULL), TROUPE_OK);
	troupe_actor foreign;
	assert_int_equal(troupe_actor_create(other, &counter_cls, &arg, 1, NULL,
					     &foreign),
			 TROUPE_OK);
	troupe_actor released = create_counter(rt, 0, NULL);
	assert_int_equal(troupe_actor_release(rt, released), TROUPE_OK);
	TEST_WAIT_UNTIL(atomic_load(&K.fini) == 1);
	troupe_actor zero = {0}, unknown = {.id = good.id + 999983};
	troupe_actor bad[4] = {zero, unknown, released, foreign};
	for (int i = 0; i < 4; i++) {
		troupe_err e = troupe_actor_call(rt, bad[i], counter_add, &arg,
						 1, &r);
		if (e == TROUPE_OK)
			fail_msg("call on bad handle %d accepted", i);
		assert_int_equal(r.id, 456);
		assert_int_not_equal(troupe_actor_call(rt, bad[i], counter_add,
						       &arg, 1, NULL),
				     TROUPE_OK);
		assert_int_not_equal(troupe_actor_retain(rt, bad[i]),
				     TROUPE_OK);
		assert_int_not_equal(troupe_actor_release(rt, bad[i]),
				     TROUPE_OK);
		assert_int_not_equal(troupe_actor_kill(rt, bad[i], true),
				     TROUPE_OK);
		troupe_arg pass = TROUPE_ACTOR(bad[i]);
		troupe_ref tr = {.id = 456};
		assert_int_not_equal(troupe_submit(rt, use_actor_fn, &pass, 1,
						   NULL, &tr),
				     TROUPE_OK);
		assert_int_equal(tr.id, 456);
	}
	assert_int_equal(troupe_actor_release(rt, released), TROUPE_ESTALE);
	{
		troupe_err e = troupe_actor_call(rt, foreign, counter_add,
						 &arg, 1, &r);
		assert_true(e == TROUPE_EFOREIGN || e == TROUPE_ESTALE);
	}
	assert_int_equal(troupe_actor_retain(NULL, good), TROUPE_EINVAL);
	assert_int_equal(troupe_actor_release(NULL, good), TROUPE_EINVAL);
	assert_int_equal(troupe_actor_kill(NULL, good, true), TROUPE_EINVAL);

	/* Registry. */
	assert_int_equal(troupe_actor_lookup(rt, NULL, &a), TROUPE_EINVAL);
	assert_int_equal(troupe_actor_lookup(rt, "x", NULL), TROUPE_EINVAL);
	assert_int_equal(troupe_actor_lookup(NULL, "x", &a), TROUPE_EINVAL);
	assert_int_equal(troupe_actor_list(rt, NULL, NULL), TROUPE_EINVAL);
	assert_int_equal(troupe_actor_list(NULL, collect_name, NULL),
			 TROUPE_EINVAL);
	assert_int_equal(a.id, 123);

	/* Nothing ran, and the good actor still works (its count is 1 per
	 * add made here). */
	assert_int_equal(add(rt, good, 1), 1);
	assert_int_equal(atomic_load(&K.adds), 1);
	assert_int_equal(atomic_load(&K.bad_runs), 0);
	/* good, released, foreign: foreign's runs on its own runtime's pool,
	 * which nothing here waits for. */
	wait_int(&K.ctor, 3);
	/* Double release of a good handle. */
	assert_int_equal(troupe_actor_retain(rt, good), TROUPE_OK);
	assert_int_equal(troupe_actor_release(rt, good), TROUPE_OK);
	assert_int_equal(troupe_actor_release(rt, good), TROUPE_OK);
	assert_int_equal(troupe_actor_release(rt, good), TROUPE_ESTALE);
	assert_int_equal(troupe_actor_release(other, foreign), TROUPE_OK);
	assert_int_equal(troupe_shutdown(other), TROUPE_OK);
	wait_int(&K.fini, 3);
}

/* ------------------------------------------------------ shutdown */

static void after_shutdown(void **state)
{
	(void)state;
	reset_counts();
	troupe *rt;
	assert_int_equal(troupe_init(&rt, NULL), TROUPE_OK);
	troupe_actor_opts o = {.name = "n"};
	troupe_actor a = create_counter(rt, 0, &o);
	assert_int_equal(add(rt, a, 1), 1);
	assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
	assert_int_equal(atomic_load(&K.fini), 1);

	troupe_arg arg = TROUPE_I64(1);
	troupe_actor b = {.id = 5};
	troupe_ref r = {.id = 6};
	assert_int_equal(troupe_actor_create(rt, &counter_cls, &arg, 1, NULL,
					     &b),
			 TROUPE_ESHUTDOWN);
	assert_int_equal(troupe_actor_call(rt, a, counter_add, &arg, 1, &r),
			 TROUPE_ESHUTDOWN);
	assert_int_equal(troupe_actor_call(rt, a, counter_add, &arg, 1, NULL),
			 TROUPE_ESHUTDOWN);
	assert_int_equal(troupe_actor_lookup(rt, "n", &b), TROUPE_ESHUTDOWN);
	assert_int_equal(troupe_actor_list(rt, collect_name, NULL),
			 TROUPE_ESHUTDOWN);
	assert_int_equal(troupe_actor_kill(rt, a, true), TROUPE_ESHUTDOWN);
	assert_int_equal(troupe_actor_retain(rt, a), TROUPE_ESHUTDOWN);
	assert_int_equal(troupe_actor_release(rt, a), TROUPE_ESHUTDOWN);
	assert_int_equal(b.id, 5);
	assert_int_equal(r.id, 6);
	assert_int_equal(atomic_load(&K.adds), 1);
	assert_int_equal(atomic_load(&K.fini), 1);
}

static atomic_int cb_total, cb_ok, cb_shutdown, cb_other;

static void count_cb(troupe *rt, troupe_ref ref, troupe_err st, void *arg)
{
	(void)rt, (void)ref, (void)arg;
	atomic_fetch_add(&cb_total, 1);
	if (st == TROUPE_OK)
		atomic_fetch_add(&cb_ok, 1);
	else if (st == TROUPE_ESHUTDOWN)
		atomic_fetch_add(&cb_shutdown, 1);
	else
		atomic_fetch_add(&cb_other, 1);
}

/* nap(ms) on a counter-like class, for queues that take a while. */
static void slow_add(troupe *rt, troupe_ctx *ctx, void *state,
		     const troupe_value *args, size_t nargs)
{
	(void)rt, (void)args, (void)nargs;
	struct counter *c = state;
	struct timespec ts = {0, 200000};
	nanosleep(&ts, NULL);
	c->count++;
	troupe_return_i64(ctx, c->count);
}

static const troupe_method slow_methods[] = {slow_add};
static const troupe_class slow_cls = {
	.name = "slow",
	.state_size = sizeof(struct counter),
	.init = counter_init,
	.fini = counter_fini,
	.methods = slow_methods,
	.nmethods = 1,
};

static void shutdown_with_queued(void **state)
{
	(void)state;
	for (int round = 0; round < 3; round++) {
		reset_counts();
		atomic_store(&cb_total, 0);
		atomic_store(&cb_ok, 0);
		atomic_store(&cb_shutdown, 0);
		atomic_store(&cb_other, 0);
		troupe *rt;
		troupe_config cfg = {.num_workers = 2};
		assert_int_equal(troupe_init(&rt, &cfg), TROUPE_OK);
		enum { ACTORS = 8, CALLS = 300 };
		troupe_actor a[ACTORS];
		int registered = 0;
		for (int i = 0; i < ACTORS; i++) {
			troupe_actor_opts o = {.name = i == 0 ? "kept" : NULL,
					       .detached = i == 0};
			assert_int_equal(troupe_actor_create(rt, &slow_cls,
							     NULL, 0, &o,
							     &a[i]),
					 TROUPE_OK);
			for (int k = 0; k < CALLS; k++) {
				troupe_ref r;
				assert_int_equal(troupe_actor_call(rt, a[i],
								   slow_add,
								   NULL, 0, &r),
						 TROUPE_OK);
				assert_int_equal(troupe_on_ready(rt, r,
								 count_cb,
								 NULL),
						 TROUPE_OK);
				registered++;
				assert_int_equal(troupe_release(rt, r),
						 TROUPE_OK);
			}
			/* Some handles released, some still held. */
			if (i % 2 == round % 2)
				assert_int_equal(troupe_actor_release(rt, a[i]),
						 TROUPE_OK);
		}
		if (round == 2)
			test_sleep_ms(20);
		assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
		print_message("shutdown round %d: %d calls: %d ok, %d "
			      "ESHUTDOWN, %d other; %d constructors, %d "
			      "destructors\n",
			      round, registered, atomic_load(&cb_ok),
			      atomic_load(&cb_shutdown), atomic_load(&cb_other),
			      atomic_load(&K.ctor), atomic_load(&K.fini));
		assert_int_equal(atomic_load(&cb_total), registered);
		assert_int_equal(atomic_load(&cb_other), 0);
		assert_int_equal(atomic_load(&K.fini), atomic_load(&K.ctor));
	}
}

/* ---------------------------------------------------------- stress */

struct cycler {
	troupe *rt;
	int id, n;
	uint64_t seed;
	pthread_barrier_t *start;
	long ok, dead, errors;
	troupe_err first;
	const char *what;
};

static void cycler_error(struct cycler *c, troupe_err e, const char *what)
{
	if (c->errors++ == 0)
		c->first = e, c->what = what;
}

/* Create, call, sometimes retain/kill/name, release: over and over. */
static void *cycler_fn(void *p)
{
	struct cycler *c = p;
	uint64_t rng = c->seed;
	pthread_barrier_wait(c->start);
	for (int i = 0; i < c->n; i++) {
		uint64_t x = test_rand(&rng);
		char name[32];
		troupe_actor_opts o = {0};
		if (x % 4 == 0) {
			snprintf(name, sizeof name, "shared-%d",
				 (int)(x >> 8) % 4);
			o.name = name;
			o.get_if_exists = true;
		} else if (x % 4 == 1) {
			snprintf(name, sizeof name, "own-%d-%d", c->id, i);
			o.name = name;
		}
		o.max_restarts = (x >> 4) % 3 == 0 ? -1 : 0;
		troupe_arg a = TROUPE_I64(0);
		troupe_actor act;
		troupe_err e = troupe_actor_create(c->rt, &counter_cls, &a, 1,
						   &o, &act);
		if (e != TROUPE_OK) {
			cycler_error(c, e, "create");
			continue;
		}
		troupe_arg one = TROUPE_I64(1);
		troupe_ref r;
		e = troupe_actor_call(c->rt, act, counter_add, &one, 1, &r);
		if (e != TROUPE_OK)
			cycler_error(c, e, "call");
		if ((x >> 12) % 8 == 0 &&
		    (e = troupe_actor_kill(c->rt, act, (x >> 16) & 1)) !=
			    TROUPE_OK)
			cycler_error(c, e, "kill");
		if ((x >> 20) % 3 == 0) {
			if ((e = troupe_actor_retain(c->rt, act)) != TROUPE_OK)
				cycler_error(c, e, "retain");
			else if ((e = troupe_actor_release(c->rt, act)) !=
				 TROUPE_OK)
				cycler_error(c, e, "release extra");
		}
		if ((x >> 24) & 1) {
			/* Release before the call resolves. */
			if ((e = troupe_actor_release(c->rt, act)) != TROUPE_OK)
				cycler_error(c, e, "release early");
		}
		e = troupe_get(c->rt, r, TEST_HANG_S, NULL);
		if (e == TROUPE_OK)
			c->ok++;
		else if (e == TROUPE_EACTOR)
			c->dead++;
		else
			cycler_error(c, e, "get");
		troupe_release(c->rt, r);
		if (!((x >> 24) & 1) &&
		    (e = troupe_actor_release(c->rt, act)) != TROUPE_OK)
			cycler_error(c, e, "release");
	}
	return NULL;
}

static void stress_lifecycle(void **state)
{
	struct test_fixture *f = *state;
	troupe *rt = f->rt;
	enum { THREADS = 4 };
	int n = TEST_SANITIZED ? 5000 : 10000;
	reset_counts();
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, THREADS);
	struct cycler c[THREADS];
	pthread_t th[THREADS];
	uint64_t s = seed;
	double t0 = test_now_s();
	for (int i = 0; i < THREADS; i++) {
		c[i] = (struct cycler){.rt = rt, .id = i, .n = n,
				       .seed = test_rand(&s), .start = &start};
		assert_int_equal(pthread_create(&th[i], NULL, cycler_fn, &c[i]),
				 0);
	}
	long ok = 0, dead = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		ok += c[i].ok;
		dead += c[i].dead;
	}
	pthread_barrier_destroy(&start);
	TEST_WAIT_UNTIL(atomic_load(&K.fini) == atomic_load(&K.ctor));
	double t1 = test_now_s();
	print_message("%d threads x %d create/call/release: %.2f s; calls "
		      "ok %ld, EACTOR %ld; %d constructors, %d destructors, "
		      "%d adds (seed %" PRIu64 ")\n",
		      THREADS, n, t1 - t0, ok, dead, atomic_load(&K.ctor),
		      atomic_load(&K.fini), atomic_load(&K.adds), seed);
	for (int i = 0; i < THREADS; i++)
		if (c[i].errors)
			fail_msg("thread %d: %ld errors, first %s: %s (seed %"
				 PRIu64 ")",
				 i, c[i].errors, c[i].what,
				 troupe_strerror(c[i].first), seed);
	assert_int_equal(ok + dead, (long)THREADS * n);
	assert_int_equal(atomic_load(&K.fini), atomic_load(&K.ctor));
	assert_int_equal(atomic_load(&K.nonzero), 0);
	/* Every OK call was one add (a shared actor's adds included). */
	assert_int_equal(atomic_load(&K.adds), ok);
	struct names names;
	TEST_WAIT_UNTIL((list_names(rt, &names), names.n == 0));
	assert_int_equal(names.n, 0);
}

/* --------------------------------------------- a million actors */

static atomic_long tiny_ctor, tiny_fini;

static void tiny_init(troupe *rt, troupe_ctx *ctx, void *state,
		      const troupe_value *args, size_t nargs)
{
	(void)rt, (void)ctx, (void)args, (void)nargs;
	*(int64_t *)state = 1;
	atomic_fetch_add_explicit(&tiny_ctor, 1, memory_order_relaxed);
}

static void tiny_fini_fn(troupe *rt, void *state)
{
	(void)rt, (void)state;
	atomic_fetch_add_explicit(&tiny_fini, 1, memory_order_relaxed);
}

static void tiny_get(troupe *rt, troupe_ctx *ctx, void *state,
		     const troupe_value *args, size_t nargs)
{
	(void)rt, (void)args, (void)nargs;
	troupe_return_i64(ctx, *(int64_t *)state);
}

static const troupe_method tiny_methods[] = {tiny_get};
static const troupe_class tiny_cls = {
	.name = "tiny",
	.state_size = 8,
	.init = tiny_init,
	.fini = tiny_fini_fn,
	.methods = tiny_methods,
	.nmethods = 1,
};

static long million_count = 1000000;

static void million_actors(void **state)
{
	(void)state;
	troupe *rt;
	assert_int_equal(troupe_init(&rt, NULL), TROUPE_OK);
	long n = million_count;
	troupe_actor *a = malloc((size_t)n * sizeof *a);
	assert_non_null(a);
	atomic_store(&tiny_ctor, 0);
	atomic_store(&tiny_fini, 0);
	long rss0 = test_rss_bytes();
	double t0 = test_now_s();
	for (long i = 0; i < n; i++)
		if (troupe_actor_create(rt, &tiny_cls, NULL, 0, NULL, &a[i]) !=
		    TROUPE_OK)
			fail_msg("create %ld failed", i);
	double t1 = test_now_s();
	long rss1 = test_rss_bytes();
	/* A sample of them answer. */
	for (long i = 0; i < n; i += n / 100 + 1)
		assert_int_equal(call_i64(rt, a[i], tiny_get, NULL, 0), 1);
	double d = test_now_s() + 10 * TEST_HANG_S;
	while (atomic_load(&tiny_ctor) < n && test_now_s() < d)
		test_sleep_ms(5);
	double t2 = test_now_s();
	long rss2 = test_rss_bytes();
	for (long i = 0; i < n; i++)
		if (troupe_actor_release(rt, a[i]) != TROUPE_OK)
			fail_msg("release %ld failed", i);
	double t3 = test_now_s();
	d = test_now_s() + 10 * TEST_HANG_S;
	while (atomic_load(&tiny_fini) < n && test_now_s() < d)
		test_sleep_ms(5);
	double t4 = test_now_s();
	long rss3 = test_rss_bytes();
	print_message("%ld actors (8-byte state)%s: create %.2f s, all "
		      "constructed after %.2f s, release %.2f s, all destroyed "
		      "after %.2f s; RSS %.1f MiB at start, %.1f after create, "
		      "%.1f constructed (%.0f bytes/actor), %.1f after "
		      "release\n",
		      n, TEST_SANITIZED ? " [sanitized build]" : "", t1 - t0,
		      t2 - t0, t3 - t2, t4 - t2, rss0 / 1048576.0,
		      rss1 / 1048576.0, rss2 / 1048576.0,
		      (double)(rss2 - rss0) / (double)n, rss3 / 1048576.0);
	assert_int_equal(atomic_load(&tiny_ctor), n);
	assert_int_equal(atomic_load(&tiny_fini), n);
	free(a);
	double t5 = test_now_s();
	assert_int_equal(troupe_shutdown(rt), TROUPE_OK);
	print_message("troupe_shutdown after them: %.2f s\n",
		      test_now_s() - t5);
	assert_int_equal(atomic_load(&tiny_fini), n);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "million") == 0) {
		if (argc > 2)
			million_count = atol(argv[2]);
		if (million_count < 1)
			million_count = 1;
		const struct CMUnitTest big[] = {
			cmocka_unit_test(million_actors),
		};
		return cmocka_run_group_tests_name("actors_million", big, NULL,
						   NULL);
	}
	seed = argc > 1 ? strtoull(argv[1], NULL, 0) : test_time_seed();
	printf("test_actors seed %" PRIu64 " (rerun: %s %" PRIu64 ")\n", seed,
	       argv[0], seed);
	fflush(stdout);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(create_and_call, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(constructor_failure, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(fifo_threads, setup, test_fixture_teardown),
		cmocka_unit_test_setup_teardown(fifo_bodies, setup, test_fixture_teardown),
		cmocka_unit_test_setup_teardown(one_at_a_time, setup, test_fixture_teardown),
		cmocka_unit_test_setup_teardown(concurrency_overlap, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(ref_arg_waits, setup, test_fixture_teardown),
		cmocka_unit_test_setup_teardown(kill_queued, setup, test_fixture_teardown),
		cmocka_unit_test_setup_teardown(kill_before_constructor, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(restarts, setup, test_fixture_teardown),
		cmocka_unit_test_setup_teardown(task_retries, setup, test_fixture_teardown),
		cmocka_unit_test_setup_teardown(named_registry, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(named_race, setup, test_fixture_teardown),
		cmocka_unit_test(detached),
		cmocka_unit_test_setup_teardown(lifetime_drain, setup,
						test_fixture_teardown),
		cmocka_unit_test_setup_teardown(handles_passed, setup,
						test_fixture_teardown),
		cmocka_unit_test(nested_gets),
		cmocka_unit_test_setup_teardown(max_pending, setup, test_fixture_teardown),
		cmocka_unit_test_setup_teardown(bad_input, setup, test_fixture_teardown),
		cmocka_unit_test(after_shutdown),
		cmocka_unit_test(shutdown_with_queued),
		cmocka_unit_test_setup_teardown(stress_lifecycle, setup,
						test_fixture_teardown),
	};
	return cmocka_run_group_tests_name("actors", tests, NULL, NULL);
}
