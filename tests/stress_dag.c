/*
 * Stress: random dependency DAGs checked against a sequential oracle.
 *
 * Usage: stress_dag [rounds [nodes [seed]]]
 *        (defaults: 24, 3000, time-based; the seed is printed)
 *
 * Node i is a task with args (i, v_i, fails_i, refs to random earlier
 * nodes...).  A body that runs fails (troupe_fail "node i failed") when
 * fails_i is set, else returns v_i + sum((k+1) * dep_k) (wrapping).  The
 * oracle computes the same sequentially.  Checked per node:
 *  - value or error as the oracle says;
 *  - a failed node's message names a failing node among its failed
 *    ancestors (the error is carried on, not invented);
 *  - the body ran exactly once when all its deps succeeded, never when one
 *    failed.
 * Rounds vary the worker count, the failure rate, whether the DAG is held
 * behind a gate until fully submitted, and release a random third of the
 * refs before their tasks finish.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "test_util.h"

#define MAXDEPS 6

struct node {
	int ndeps;
	int deps[MAXDEPS];
	int64_t v;
	bool fails;
	/* oracle */
	bool failed;
	uint64_t value;
};

static atomic_int *ran;
/* on_ready per node: how many times it fired, and with which status. */
static atomic_int *fired;
static atomic_int *fired_status;
static atomic_int fired_total;

static void fired_cb(troupe *rt, troupe_ref ref, troupe_err st, void *arg)
{
	(void)rt, (void)ref;
	int i = (int)(intptr_t)arg;
	atomic_store(&fired_status[i], (int)st);
	atomic_fetch_add(&fired[i], 1);
	atomic_fetch_add(&fired_total, 1);
}
static struct test_gate gate;

static void node_fn(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		    size_t nargs)
{
	(void)rt;
	int64_t i = -1, v = 0, fails = 0;
	troupe_value_i64(&args[0], &i);
	troupe_value_i64(&args[1], &v);
	troupe_value_i64(&args[2], &fails);
	if (i >= 0)
		atomic_fetch_add(&ran[i], 1);
	if (fails == 2) { /* the gate node */
		double deadline = test_now_s() + TEST_HANG_S;
		while (!atomic_load(&gate.open) && test_now_s() < deadline)
			test_sleep_ms(1);
	} else if (fails) {
		troupe_fail(ctx, "node %" PRId64 " failed", i);
		return;
	}
	uint64_t sum = (uint64_t)v;
	for (size_t k = 3; k < nargs; k++) {
		int64_t d;
		if (troupe_value_i64(&args[k], &d) != TROUPE_OK) {
			troupe_fail(ctx, "node %" PRId64 ": bad dep value", i);
			return;
		}
		sum += (uint64_t)(k - 2) * (uint64_t)d;
	}
	troupe_return_i64(ctx, (int64_t)sum);
}

/* Bitset of failing origins per node (which self-failing nodes a failure
 * came from). */
static uint64_t *origins;
static size_t words;

static bool has_origin(int node, int j)
{
	return (origins[(size_t)node * words + (size_t)j / 64] >> (j % 64)) & 1;
}

static const char *state_of(troupe *rt, troupe_ref r, bool released)
{
	if (released)
		return "released";
	troupe_err e = troupe_get(rt, r, 0, NULL);
	return e == TROUPE_ETIMEDOUT ? "PENDING" : troupe_strerror(e);
}

/* After a wait timed out: which held nodes are still pending, and what
 * their dependencies are. */
static void report_pending(troupe *rt, const struct node *nodes,
			   const troupe_ref *refs, const bool *released, int n)
{
	int shown = 0;
	for (int i = 0; i < n && shown < 10; i++) {
		if (released[i] ||
		    troupe_get(rt, refs[i], 0, NULL) != TROUPE_ETIMEDOUT)
			continue;
		shown++;
		printf("  node %d pending (ran %d, oracle %s); deps:", i,
		       atomic_load(&ran[i]), nodes[i].failed ? "failed" : "ok");
		for (int k = 0; k < nodes[i].ndeps; k++) {
			int d = nodes[i].deps[k];
			printf(" %d(%s%s, ran %d)", d,
			       state_of(rt, refs[d], released[d]),
			       nodes[d].fails ? ", fails itself" : "",
			       atomic_load(&ran[d]));
		}
		printf("\n");
	}
}

static int round_run(int round, int n, uint64_t *rng)
{
	static const unsigned workers[] = {1, 2, 4, 0};
	static const unsigned fail_permille[] = {0, 1, 10, 50};
	unsigned nw = workers[round % 4];
	unsigned fp = fail_permille[(round / 4) % 4];
	bool gated = (round / 2) % 2 == 0;

	struct node *nodes = calloc((size_t)n, sizeof *nodes);
	troupe_ref *refs = calloc((size_t)n, sizeof *refs);
	bool *released = calloc((size_t)n, sizeof *released);
	ran = calloc((size_t)n, sizeof *ran);
	fired = calloc((size_t)n, sizeof *fired);
	fired_status = calloc((size_t)n, sizeof *fired_status);
	atomic_store(&fired_total, 0);
	words = ((size_t)n + 63) / 64;
	origins = calloc((size_t)n * words, sizeof *origins);
	if (!nodes || !refs || !released || !ran || !origins || !fired ||
	    !fired_status) {
		printf("FAIL: out of memory\n");
		return 1;
	}

	/* The DAG and its oracle. */
	for (int i = 0; i < n; i++) {
		struct node *nd = &nodes[i];
		nd->v = (int64_t)(test_rand(rng) % 1000);
		nd->fails = i > 0 && test_rand(rng) % 1000 < fp;
		nd->ndeps = i == 0 ? 0 : (int)(test_rand(rng) % (MAXDEPS + 1));
		for (int k = 0; k < nd->ndeps; k++) {
			uint64_t r = test_rand(rng);
			/* Half recent (deep chains), half anywhere (wide). */
			int span = (r & 1) ? (i < 16 ? i : 16) : i;
			nd->deps[k] = i - 1 - (int)((r >> 1) % (uint64_t)span);
		}
		bool dep_failed = false;
		uint64_t sum = (uint64_t)nd->v;
		for (int k = 0; k < nd->ndeps; k++) {
			struct node *d = &nodes[nd->deps[k]];
			if (d->failed) {
				dep_failed = true;
				for (size_t w = 0; w < words; w++)
					origins[(size_t)i * words + w] |=
						origins[(size_t)nd->deps[k] *
								words +
							w];
			}
			sum += (uint64_t)(k + 1) * d->value;
		}
		if (dep_failed) {
			nd->failed = true;
		} else if (nd->fails) {
			nd->failed = true;
			origins[(size_t)i * words + (size_t)i / 64] |=
				1ULL << (i % 64);
		} else {
			nd->value = sum;
		}
	}

	troupe *rt;
	troupe_config cfg = {.num_workers = nw};
	troupe_err e = troupe_init(&rt, &cfg);
	if (e != TROUPE_OK) {
		printf("FAIL: troupe_init: %s\n", troupe_strerror(e));
		return 1;
	}
	atomic_store(&gate.open, gated ? 0 : 1);
	double t0 = test_now_s();
	for (int i = 0; i < n; i++) {
		struct node *nd = &nodes[i];
		troupe_arg a[3 + MAXDEPS];
		a[0] = TROUPE_I64(i);
		a[1] = TROUPE_I64(nd->v);
		a[2] = TROUPE_I64(i == 0 ? 2 : nd->fails);
		for (int k = 0; k < nd->ndeps; k++)
			a[3 + k] = TROUPE_REF(refs[nd->deps[k]]);
		e = troupe_submit(rt, node_fn, a, 3 + (size_t)nd->ndeps, NULL,
				  &refs[i]);
		if (e != TROUPE_OK) {
			printf("FAIL: submit node %d: %s\n", i,
			       troupe_strerror(e));
			return 1;
		}
		/* Every node's resolution is seen, released early or not. */
		e = troupe_on_ready(rt, refs[i], fired_cb, (void *)(intptr_t)i);
		if (e != TROUPE_OK) {
			printf("FAIL: on_ready node %d: %s\n", i,
			       troupe_strerror(e));
			return 1;
		}
	}
	/* Release a third now: their dependents must still see them. */
	int nreleased = 0;
	for (int i = 0; i < n; i++) {
		if (test_rand(rng) % 3 == 0) {
			released[i] = true;
			nreleased++;
			if (troupe_release(rt, refs[i]) != TROUPE_OK) {
				printf("FAIL: release node %d\n", i);
				return 1;
			}
		}
	}
	atomic_store(&gate.open, 1);

	/* Wait for all that are held, then check each. */
	troupe_ref *held = calloc((size_t)n, sizeof *held);
	bool *ready = calloc((size_t)n, sizeof *ready);
	size_t nheld = 0;
	for (int i = 0; i < n; i++)
		if (!released[i])
			held[nheld++] = refs[i];
	int bad = 0;
	if (nheld > 0) {
		/* A hang detector, not a speed limit: every round takes well
		 * under a second. */
		double w0 = test_now_s();
		e = troupe_wait(rt, held, nheld, nheld, TEST_HANG_S, ready);
		double waited = test_now_s() - w0;
		if (e != TROUPE_OK) {
			printf("FAIL: wait: %s\n", troupe_strerror(e));
			bad++;
			report_pending(rt, nodes, refs, released, n);
		} else if (waited >= TEST_HANG_S * 0.99) {
			/* Everything was ready when the deadline came, but
			 * the wait slept until then: a lost wake-up. */
			printf("FAIL: wait returned OK only at its %.0f s "
			       "deadline (lost wake-up)\n",
			       TEST_HANG_S);
			bad++;
		}
		for (size_t k = 0; k < nheld; k++)
			if (!ready[k]) {
				printf("FAIL: wait: ref %zu not ready\n", k);
				bad++;
				break;
			}
	}
	int nfailed = 0;
	for (int i = 0; i < n && bad < 10; i++) {
		struct node *nd = &nodes[i];
		nfailed += nd->failed;
		if (released[i])
			continue;
		int64_t v = 0;
		e = troupe_get_i64(rt, refs[i], -1, &v);
		if (!nd->failed) {
			if (e != TROUPE_OK || (uint64_t)v != nd->value) {
				printf("FAIL: node %d: %s, value %" PRId64
				       ", oracle %" PRIu64 "\n",
				       i, troupe_strerror(e), v, nd->value);
				bad++;
			}
		} else {
			const char *msg = NULL;
			if (e != TROUPE_ETASK ||
			    troupe_error_message(rt, refs[i], &msg) !=
				    TROUPE_OK) {
				printf("FAIL: node %d: %s, oracle: failed\n", i,
				       troupe_strerror(e));
				bad++;
				continue;
			}
			/* Every "node J failed" in the message is one of
			 * this node's failing ancestors, and there is at
			 * least one. */
			int named = 0;
			for (const char *p = msg;
			     (p = strstr(p, "node ")) != NULL; p += 5) {
				int j;
				char tail[8];
				if (sscanf(p, "node %d %7s", &j, tail) == 2 &&
				    strncmp(tail, "failed", 6) == 0) {
					if (j < 0 || j >= n ||
					    !has_origin(i, j)) {
						printf("FAIL: node %d: message "
						       "names node %d: %s\n",
						       i, j, msg);
						bad++;
					}
					named++;
				}
			}
			if (named == 0) {
				printf("FAIL: node %d: message names no "
				       "failing node: \"%s\"\n",
				       i, msg);
				bad++;
			}
		}
	}
	/* Released nodes are not waited for above: wait for their
	 * callbacks (a hang detector, not a speed limit). */
	double deadline = test_now_s() + TEST_HANG_S;
	while (atomic_load(&fired_total) < n && test_now_s() < deadline)
		test_sleep_ms(1);
	for (int i = 0; i < n; i++) {
		int calls = atomic_load(&fired[i]);
		int st = atomic_load(&fired_status[i]);
		int want = nodes[i].failed ? TROUPE_ETASK : TROUPE_OK;
		if ((calls != 1 || st != want) && bad < 10) {
			printf("FAIL: node %d: on_ready fired %d times, "
			       "status %s, oracle %s\n",
			       i, calls, troupe_strerror((troupe_err)st),
			       troupe_strerror((troupe_err)want));
			bad++;
		}
	}
	for (int i = 0; i < n; i++) {
		bool deps_ok = true;
		for (int k = 0; k < nodes[i].ndeps; k++)
			deps_ok &= !nodes[nodes[i].deps[k]].failed;
		int want = deps_ok ? 1 : 0, got = atomic_load(&ran[i]);
		if (got != want && bad < 10) {
			printf("FAIL: node %d ran %d times, want %d\n", i, got,
			       want);
			bad++;
		}
	}
	for (int i = 0; i < n; i++)
		if (!released[i] && troupe_release(rt, refs[i]) != TROUPE_OK &&
		    bad < 10) {
			printf("FAIL: release node %d\n", i);
			bad++;
		}
	double t1 = test_now_s();
	e = troupe_shutdown(rt);
	if (e != TROUPE_OK) {
		printf("FAIL: shutdown: %s\n", troupe_strerror(e));
		bad++;
	}
	printf("round %2d: %d nodes, workers %u, fail %u/1000, %s: %d failed "
	       "(oracle), %d released early, %.3f s%s\n",
	       round, n, nw, fp, gated ? "gated" : "live ", nfailed, nreleased,
	       t1 - t0, bad ? " FAILED" : "");
	free(held);
	free(ready);
	free(nodes);
	free(refs);
	free(released);
	free((void *)ran);
	free((void *)fired);
	free((void *)fired_status);
	free(origins);
	return bad != 0;
}

int main(int argc, char **argv)
{
	int rounds = argc > 1 ? atoi(argv[1]) : 24;
	int n = argc > 2 ? atoi(argv[2]) : 3000;
	uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) :
				   test_time_seed();
	if (rounds < 1 || n < 1) {
		fprintf(stderr, "usage: %s [rounds [nodes [seed]]]\n", argv[0]);
		return 2;
	}
	printf("stress_dag: rounds %d, nodes %d, seed %" PRIu64
	       " (rerun: %s %d %d %" PRIu64 ")\n",
	       rounds, n, seed, argv[0], rounds, n, seed);
	fflush(stdout);
	uint64_t rng = seed;
	int failed = 0;
	for (int r = 0; r < rounds; r++) {
		failed |= round_run(r, n, &rng);
		fflush(stdout);
	}
	printf("stress_dag: %s\n", failed ? "FAILED" : "OK");
	return failed;
}
