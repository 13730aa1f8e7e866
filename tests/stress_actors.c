/*
 * Stress: `actors` actors (max_restarts -1, max_task_retries 0) take
 * `calls` calls each on average from `threads` application threads, which
 * also kill random actors now and then with no_restart false (so each
 * kill restarts its actor).  Every ref must resolve exactly once, to the
 * right value or to TROUPE_EACTOR, and every call that resolved OK must
 * have had its effect exactly once.
 *
 * Usage: stress_actors [threads [calls [seed [actors]]]]
 *        (defaults: 8, 100000, time-based, 16; the seed is printed)
 *
 * Invariants checked at the end:
 *  - refs resolved OK + refs resolved TROUPE_EACTOR == calls made, no
 *    other outcome, no wrong value;
 *  - the method increments a global atomic just before it returns
 *    success: that count == refs resolved OK;
 *  - each actor's state counts its successes; each destructor adds its
 *    generation's count to the actor's total; after every actor is
 *    released, per actor: those totals == the refs that resolved OK for
 *    calls to that actor;
 *  - constructors == destructors; every state arrived zeroed; no call
 *    reached the wrong actor;
 *  - calls from one thread to one actor ran in order (sequence numbers
 *    only grow; a call killed on the way leaves a gap, never a swap);
 *  - one ref in 16 also has an on_ready callback: it runs exactly once,
 *    with the status get returned.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>

#include "test_util.h"

#define WINDOW 256
#define MAX_THREADS 64
#define MAX_ACTORS 256
#define KILL_ONE_IN 1024

struct tally {
	int64_t idx;       /* which actor (constructor argument) */
	int64_t gen;       /* restart generation */
	int64_t successes; /* calls this generation returned success for */
};

static atomic_long ctor_runs, fini_runs, nonzero_states, misrouted;
static atomic_long method_ok;
static atomic_long order_violations;
static atomic_long gens[MAX_ACTORS];
static atomic_long retired[MAX_ACTORS]; /* successes of destroyed states */
/* last_seq[actor][thread]: touched only by that actor's methods, which
 * the runtime runs one at a time, in order, across restarts too (TSan
 * checks the happens-before this relies on). */
static int64_t last_seq[MAX_ACTORS][MAX_THREADS];

static int64_t arg(const troupe_value *args, size_t nargs, size_t i)
{
	int64_t v = -1;
	if (i < nargs)
		troupe_value_i64(&args[i], &v);
	return v;
}

static int64_t mix(int64_t x)
{
	return (int64_t)((uint64_t)x * 3 + 1);
}

static void tally_init(troupe *rt, troupe_ctx *ctx, void *state,
		       const troupe_value *args, size_t nargs)
{
	(void)rt, (void)ctx;
	struct tally *t = state;
	if (t->idx != 0 || t->gen != 0 || t->successes != 0)
		atomic_fetch_add(&nonzero_states, 1);
	t->idx = arg(args, nargs, 0);
	if (t->idx >= 0 && t->idx < MAX_ACTORS)
		t->gen = atomic_fetch_add(&gens[t->idx], 1);
	atomic_fetch_add(&ctor_runs, 1);
}

static void tally_fini(troupe *rt, void *state)
{
	(void)rt;
	struct tally *t = state;
	if (t->idx >= 0 && t->idx < MAX_ACTORS)
		atomic_fetch_add(&retired[t->idx], t->successes);
	atomic_fetch_add(&fini_runs, 1);
}

/* hit(actor, thread, seq, x): returns mix(x). */
static void tally_hit(troupe *rt, troupe_ctx *ctx, void *state,
		      const troupe_value *args, size_t nargs)
{
	(void)rt;
	struct tally *t = state;
	int64_t idx = arg(args, nargs, 0), th = arg(args, nargs, 1);
	int64_t seq = arg(args, nargs, 2), x = arg(args, nargs, 3);
	if (idx != t->idx || th < 0 || th >= MAX_THREADS) {
		atomic_fetch_add(&misrouted, 1);
		troupe_fail(ctx, "call for actor %lld reached actor %lld",
			    (long long)idx, (long long)t->idx);
		return;
	}
	if (seq <= last_seq[idx][th])
		atomic_fetch_add(&order_violations, 1);
	last_seq[idx][th] = seq;
	t->successes++;
	atomic_fetch_add_explicit(&method_ok, 1, memory_order_relaxed);
	troupe_return_i64(ctx, mix(x));
}

static void tally_idx(troupe *rt, troupe_ctx *ctx, void *state,
		      const troupe_value *args, size_t nargs)
{
	(void)rt, (void)args, (void)nargs;
	troupe_return_i64(ctx, ((struct tally *)state)->idx);
}

static const troupe_method tally_methods[] = {tally_hit, tally_idx};
static const troupe_class tally_cls = {
	.name = "tally",
	.state_size = sizeof(struct tally),
	.init = tally_init,
	.fini = tally_fini,
	.methods = tally_methods,
	.nmethods = 2,
};

/* One on_ready registration: the callback's status and call count, and
 * the status get returned for the same ref. */
struct watch {
	atomic_int calls;
	atomic_int status;
	troupe_err got;
};

static void on_ready(troupe *rt, troupe_ref ref, troupe_err st, void *arg)
{
	(void)rt, (void)ref;
	struct watch *w = arg;
	atomic_store(&w->status, (int)st);
	atomic_fetch_add(&w->calls, 1);
}

struct worker {
	troupe *rt;
	const troupe_actor *actors;
	int nactors;
	int id;
	pthread_t th;
	uint64_t seed;
	long count;
	pthread_barrier_t *start;
	long ok, dead, wrong, errors, kills;
	troupe_err first_error;
	const char *first_what;
	long ok_per_actor[MAX_ACTORS];
	struct watch *watches;
	long nwatches, maxwatches;
};

static void note_error(struct worker *w, troupe_err e, const char *what)
{
	if (w->errors++ == 0)
		w->first_error = e, w->first_what = what;
}

static void *submitter(void *p)
{
	struct worker *w = p;
	uint64_t rng = w->seed;
	troupe_ref refs[WINDOW];
	int64_t want[WINDOW];
	int target[WINDOW];
	struct watch *watch[WINDOW];
	int64_t seq = 0;
	pthread_barrier_wait(w->start);
	for (long done = 0; done < w->count;) {
		int n = 0;
		while (n < WINDOW && done + n < w->count) {
			uint64_t r = test_rand(&rng);
			int idx = (int)(r % (uint64_t)w->nactors);
			int64_t x = (int64_t)(r >> 8);
			troupe_arg a[4] = {TROUPE_I64(idx), TROUPE_I64(w->id),
					   TROUPE_I64(++seq), TROUPE_I64(x)};
			troupe_err e = troupe_actor_call(w->rt, w->actors[idx],
							 tally_hit, a, 4,
							 &refs[n]);
			if (e != TROUPE_OK) {
				note_error(w, e, "call");
				break;
			}
			watch[n] = NULL;
			if ((r >> 40) % 16 == 0 &&
			    w->nwatches < w->maxwatches) {
				struct watch *wt = &w->watches[w->nwatches];
				e = troupe_on_ready(w->rt, refs[n], on_ready,
						    wt);
				if (e == TROUPE_OK) {
					w->nwatches++;
					watch[n] = wt;
				} else {
					note_error(w, e, "on_ready");
				}
			}
			target[n] = idx;
			want[n++] = mix(x);
			if ((r >> 48) % KILL_ONE_IN == 0) {
				int victim = (int)((r >> 20) %
						   (uint64_t)w->nactors);
				e = troupe_actor_kill(w->rt,
						      w->actors[victim], false);
				if (e != TROUPE_OK)
					note_error(w, e, "kill");
				else
					w->kills++;
			}
		}
		if (n == 0)
			break; /* calls fail: stop, reported at the end */
		for (int i = 0; i < n; i++) {
			int64_t v;
			troupe_err e = troupe_get_i64(w->rt, refs[i],
						      TEST_HANG_S, &v);
			if (e == TROUPE_OK) {
				if (v != want[i]) {
					w->wrong++;
				} else {
					w->ok++;
					w->ok_per_actor[target[i]]++;
				}
			} else if (e == TROUPE_EACTOR) {
				w->dead++;
			} else {
				note_error(w, e, "get");
			}
			if (watch[i] != NULL)
				watch[i]->got = e;
			e = troupe_release(w->rt, refs[i]);
			if (e != TROUPE_OK)
				note_error(w, e, "release");
		}
		done += n;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 8;
	long calls = argc > 2 ? atol(argv[2]) : 100000L;
	uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 0) :
				   test_time_seed();
	int nactors = argc > 4 ? atoi(argv[4]) : 16;
	if (threads < 1 || threads > MAX_THREADS || calls < 1 ||
	    nactors < 1 || nactors > MAX_ACTORS) {
		fprintf(stderr,
			"usage: %s [threads (1-%d) [calls per actor [seed "
			"[actors (1-%d)]]]]\n",
			argv[0], MAX_THREADS, MAX_ACTORS);
		return 2;
	}
	long total = calls * nactors;
	printf("stress_actors: threads %d, calls %ld per actor, actors %d, "
	       "seed %" PRIu64 " (rerun: %s %d %ld %" PRIu64 " %d)\n",
	       threads, calls, nactors, seed, argv[0], threads, calls, seed,
	       nactors);
	fflush(stdout);
	for (int i = 0; i < MAX_ACTORS; i++)
		for (int t = 0; t < MAX_THREADS; t++)
			last_seq[i][t] = 0;

	troupe *rt;
	troupe_err e = troupe_init(&rt, NULL);
	if (e != TROUPE_OK) {
		printf("FAIL: troupe_init: %s\n", troupe_strerror(e));
		return 1;
	}
	unsigned nw = 0;
	troupe_num_workers(rt, &nw);
	int failed = 0;

	troupe_actor actors[MAX_ACTORS];
	troupe_actor_opts opts = {.max_restarts = -1, .max_task_retries = 0};
	for (int i = 0; i < nactors; i++) {
		troupe_arg a = TROUPE_I64(i);
		e = troupe_actor_create(rt, &tally_cls, &a, 1, &opts,
					&actors[i]);
		if (e != TROUPE_OK) {
			printf("FAIL: troupe_actor_create: %s\n",
			       troupe_strerror(e));
			return 1;
		}
	}

	struct worker *w = calloc((size_t)threads, sizeof *w);
	if (w == NULL)
		return 1;
	pthread_barrier_t start;
	pthread_barrier_init(&start, NULL, (unsigned)threads);
	double t0 = test_now_s();
	uint64_t s = seed;
	for (int i = 0; i < threads; i++) {
		w[i].rt = rt;
		w[i].actors = actors;
		w[i].nactors = nactors;
		w[i].id = i;
		w[i].start = &start;
		w[i].seed = test_rand(&s);
		w[i].count = total / threads + (i < total % threads ? 1 : 0);
		w[i].maxwatches = w[i].count / 8 + 16;
		w[i].watches = calloc((size_t)w[i].maxwatches,
				      sizeof *w[i].watches);
		if (w[i].watches == NULL)
			return 1;
		if (pthread_create(&w[i].th, NULL, submitter, &w[i]) != 0) {
			printf("FAIL: pthread_create\n");
			return 1;
		}
	}
	long ok = 0, dead = 0, wrong = 0, errors = 0, kills = 0, watched = 0;
	long ok_per_actor[MAX_ACTORS] = {0};
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].th, NULL);
		ok += w[i].ok;
		dead += w[i].dead;
		wrong += w[i].wrong;
		errors += w[i].errors;
		kills += w[i].kills;
		watched += w[i].nwatches;
		for (int k = 0; k < nactors; k++)
			ok_per_actor[k] += w[i].ok_per_actor[k];
		if (w[i].errors) {
			printf("thread %d: %ld errors, first: %s: %s\n", i,
			       w[i].errors, w[i].first_what,
			       troupe_strerror(w[i].first_error));
			failed = 1;
		}
	}
	double t1 = test_now_s();
	pthread_barrier_destroy(&start);

	/* Every actor is alive (restarted as often as it was killed). */
	for (int i = 0; i < nactors; i++) {
		troupe_ref r;
		int64_t v = -1;
		e = troupe_actor_call(rt, actors[i], tally_idx, NULL, 0, &r);
		if (e == TROUPE_OK) {
			e = troupe_get_i64(rt, r, TEST_HANG_S, &v);
			troupe_release(rt, r);
		}
		if (e != TROUPE_OK || v != i) {
			printf("FAIL: actor %d after the run: %s, idx %lld\n",
			       i, troupe_strerror(e), (long long)v);
			failed = 1;
		}
	}
	/* Release them all: each remaining state is destroyed, once. */
	for (int i = 0; i < nactors; i++) {
		e = troupe_actor_release(rt, actors[i]);
		if (e != TROUPE_OK) {
			printf("FAIL: troupe_actor_release: %s\n",
			       troupe_strerror(e));
			failed = 1;
		}
	}
	double deadline = test_now_s() + 2 * TEST_HANG_S;
	while (atomic_load(&fini_runs) != atomic_load(&ctor_runs) &&
	       test_now_s() < deadline)
		test_sleep_ms(1);
	long ctors_before_shutdown = atomic_load(&ctor_runs);
	long finis_before_shutdown = atomic_load(&fini_runs);
	/* Callbacks may still be finishing on workers. */
	long cb_once = 0, cb_match = 0;
	for (int i = 0; i < threads; i++) {
		for (long k = 0; k < w[i].nwatches; k++) {
			struct watch *wt = &w[i].watches[k];
			while (atomic_load(&wt->calls) == 0 &&
			       test_now_s() < deadline)
				test_sleep_ms(1);
		}
	}
	e = troupe_shutdown(rt);
	if (e != TROUPE_OK) {
		printf("FAIL: troupe_shutdown: %s\n", troupe_strerror(e));
		failed = 1;
	}
	for (int i = 0; i < threads; i++) {
		for (long k = 0; k < w[i].nwatches; k++) {
			struct watch *wt = &w[i].watches[k];
			cb_once += atomic_load(&wt->calls) == 1;
			cb_match += atomic_load(&wt->status) == (int)wt->got;
		}
	}

	long ctors = atomic_load(&ctor_runs), finis = atomic_load(&fini_runs);
	long mok = atomic_load(&method_ok);
	long retired_total = 0, actor_mismatch = 0;
	for (int i = 0; i < nactors; i++) {
		long r = atomic_load(&retired[i]);
		retired_total += r;
		if (r != ok_per_actor[i]) {
			if (actor_mismatch++ < 4)
				printf("actor %d: state counted %ld successes, "
				       "%ld refs resolved OK\n",
				       i, r, ok_per_actor[i]);
		}
	}
	printf("stress_actors: %ld calls to %d actors on %u workers from %d "
	       "threads in %.2f s (%.0f calls/s); OK %ld, EACTOR %ld, wrong "
	       "%ld, errors %ld; kills %ld, constructors %ld (restarts %ld), "
	       "destructors %ld (%ld before shutdown); method successes %ld, "
	       "state successes %ld; order violations %ld, misrouted %ld, "
	       "unzeroed states %ld; on_ready %ld watched, %ld once, %ld "
	       "matching get\n",
	       total, nactors, nw, threads, t1 - t0, (double)total / (t1 - t0),
	       ok, dead, wrong, errors, kills, ctors, ctors - nactors, finis,
	       finis_before_shutdown, mok, retired_total,
	       atomic_load(&order_violations), atomic_load(&misrouted),
	       atomic_load(&nonzero_states), watched, cb_once, cb_match);
	if (ok + dead != total || wrong != 0 || errors != 0) {
		printf("FAIL: refs not conserved: OK %ld + EACTOR %ld != %ld, "
		       "or wrong values / errors\n",
		       ok, dead, total);
		failed = 1;
	}
	if (mok != ok || retired_total != ok || actor_mismatch != 0) {
		printf("FAIL: effects not counted exactly once: refs OK %ld, "
		       "method successes %ld, state successes %ld, %ld "
		       "actors differ\n",
		       ok, mok, retired_total, actor_mismatch);
		failed = 1;
	}
	if (ctors != finis || ctors_before_shutdown != finis_before_shutdown ||
	    ctors < nactors || ctors - nactors > kills) {
		printf("FAIL: constructors %ld / destructors %ld (before "
		       "shutdown %ld / %ld), kills %ld\n",
		       ctors, finis, ctors_before_shutdown,
		       finis_before_shutdown, kills);
		failed = 1;
	}
	if (atomic_load(&order_violations) || atomic_load(&misrouted) ||
	    atomic_load(&nonzero_states)) {
		printf("FAIL: order violations, misrouted calls or unzeroed "
		       "states\n");
		failed = 1;
	}
	if (cb_once != watched || cb_match != watched) {
		printf("FAIL: on_ready: %ld watched, %ld ran once, %ld saw "
		       "get's status\n",
		       watched, cb_once, cb_match);
		failed = 1;
	}
	for (int i = 0; i < threads; i++)
		free(w[i].watches);
	free(w);
	if (failed)
		printf("FAIL (seed %" PRIu64 ")\n", seed);
	else
		printf("stress_actors: OK\n");
	return failed;
}
