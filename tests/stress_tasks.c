/*
 * Stress: `count` tasks submitted from `threads` application threads at
 * once; every ref must resolve exactly once, to the right value.
 *
 * Usage: stress_tasks [threads [count [seed]]]
 *        (defaults: 4, 10000000, time-based; the seed is printed)
 *
 * Each thread submits in windows of WINDOW tasks, then gets and releases
 * them, so memory stays bounded.  Each body increments a counter and
 * returns a function of its input; one task in eight takes its input as a
 * ref (put, passed, released at once) instead of inline bytes; one in 64
 * also gets an on_ready callback.  Checked at the end: bodies run == count,
 * refs resolved == count, callbacks == registrations, no wrong value.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>

#include "test_util.h"

#define WINDOW 1024

static atomic_long executed;
static atomic_long callbacks;

static int64_t mix(int64_t x)
{
	return (int64_t)((uint64_t)x * 3 + 1); /* wraps, defined */
}

static void body(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		 size_t nargs)
{
	(void)rt, (void)nargs;
	int64_t x;
	if (troupe_value_i64(&args[0], &x) != TROUPE_OK) {
		troupe_fail(ctx, "bad argument");
		return;
	}
	atomic_fetch_add_explicit(&executed, 1, memory_order_relaxed);
	troupe_return_i64(ctx, mix(x));
}

static void on_ready(troupe *rt, troupe_ref ref, troupe_err st, void *arg)
{
	(void)rt, (void)ref, (void)arg;
	if (st == TROUPE_OK)
		atomic_fetch_add_explicit(&callbacks, 1, memory_order_relaxed);
}

struct worker {
	troupe *rt;
	pthread_t th;
	uint64_t seed;
	long count;
	long resolved, wrong, errors, registered;
	troupe_err first_error;
};

static void note_error(struct worker *w, troupe_err e)
{
	if (w->errors++ == 0)
		w->first_error = e;
}

static void *submitter(void *p)
{
	struct worker *w = p;
	uint64_t rng = w->seed;
	troupe_ref refs[WINDOW];
	int64_t want[WINDOW];
	for (long done = 0; done < w->count;) {
		int n = 0;
		while (n < WINDOW && done + n < w->count) {
			int64_t x = (int64_t)(test_rand(&rng) >> 2);
			troupe_arg a = TROUPE_I64(x);
			troupe_ref in = {0};
			troupe_err e;
			bool by_ref = (x & 7) == 0;
			if (by_ref) {
				e = troupe_put_i64(w->rt, x, &in);
				if (e != TROUPE_OK) {
					note_error(w, e);
					break;
				}
				a = TROUPE_REF(in);
			}
			e = troupe_submit(w->rt, body, &a, 1, NULL, &refs[n]);
			if (by_ref && troupe_release(w->rt, in) != TROUPE_OK)
				note_error(w, TROUPE_ESTALE);
			if (e != TROUPE_OK) {
				note_error(w, e);
				break;
			}
			if ((x & 63) == 1) {
				e = troupe_on_ready(w->rt, refs[n], on_ready,
						    NULL);
				if (e == TROUPE_OK)
					w->registered++;
				else
					note_error(w, e);
			}
			want[n++] = mix(x);
		}
		if (n == 0)
			break; /* submits fail: stop, reported at the end */
		for (int i = 0; i < n; i++) {
			int64_t v;
			troupe_err e = troupe_get_i64(w->rt, refs[i], -1, &v);
			if (e != TROUPE_OK)
				note_error(w, e);
			else if (v != want[i])
				w->wrong++;
			else
				w->resolved++;
			e = troupe_release(w->rt, refs[i]);
			if (e != TROUPE_OK)
				note_error(w, e);
		}
		done += n;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 4;
	long count = argc > 2 ? atol(argv[2]) : 10000000L;
	uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) :
				   test_time_seed();
	if (threads < 1 || count < 1) {
		fprintf(stderr, "usage: %s [threads [count [seed]]]\n",
			argv[0]);
		return 2;
	}
	printf("stress_tasks: threads %d, count %ld, seed %" PRIu64
	       " (rerun: %s %d %ld %" PRIu64 ")\n",
	       threads, count, seed, argv[0], threads, count, seed);
	fflush(stdout);

	troupe *rt;
	troupe_err e = troupe_init(&rt, NULL);
	if (e != TROUPE_OK) {
		printf("FAIL: troupe_init: %s\n", troupe_strerror(e));
		return 1;
	}
	unsigned nw = 0;
	troupe_num_workers(rt, &nw);

	struct worker *w = calloc((size_t)threads, sizeof *w);
	if (w == NULL)
		return 1;
	double t0 = test_now_s();
	uint64_t s = seed;
	for (int i = 0; i < threads; i++) {
		w[i].rt = rt;
		w[i].seed = test_rand(&s);
		w[i].count = count / threads + (i < count % threads ? 1 : 0);
		if (pthread_create(&w[i].th, NULL, submitter, &w[i]) != 0) {
			printf("FAIL: pthread_create\n");
			return 1;
		}
	}
	long resolved = 0, wrong = 0, errors = 0, registered = 0;
	int failed = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].th, NULL);
		resolved += w[i].resolved;
		wrong += w[i].wrong;
		errors += w[i].errors;
		registered += w[i].registered;
		if (w[i].errors) {
			printf("thread %d: %ld errors, first: %s\n", i,
			       w[i].errors, troupe_strerror(w[i].first_error));
			failed = 1;
		}
	}
	double t1 = test_now_s();
	e = troupe_shutdown(rt);
	long ran = atomic_load(&executed), cbs = atomic_load(&callbacks);
	printf("stress_tasks: %ld tasks on %u workers from %d threads in "
	       "%.2f s (%.0f tasks/s); resolved %ld, bodies run %ld, "
	       "wrong values %ld, errors %ld, on_ready %ld/%ld\n",
	       count, nw, threads, t1 - t0, (double)count / (t1 - t0), resolved,
	       ran, wrong, errors, cbs, registered);
	if (e != TROUPE_OK) {
		printf("FAIL: troupe_shutdown: %s\n", troupe_strerror(e));
		failed = 1;
	}
	if (resolved != count || ran != count || wrong != 0 || errors != 0 ||
	    cbs != registered) {
		printf("FAIL: counts not conserved (seed %" PRIu64 ")\n", seed);
		failed = 1;
	}
	free(w);
	if (!failed)
		printf("stress_tasks: OK\n");
	return failed;
}
