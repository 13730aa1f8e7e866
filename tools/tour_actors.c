/*
 * The tour, part two: actors.
 *
 * Every actor example of the Ray tutorials in shared/seeds/, ported to C in
 * the order the tutorials show them.  A Python class decorated with
 * @ray.remote becomes a troupe_class: a state struct, a constructor, and a
 * table of methods, each a plain C function that gets the state and reads
 * its arguments as byte values.  `Cls.remote(args)` becomes
 * troupe_actor_create(), `actor.method.remote(x)` troupe_actor_call() (with
 * a NULL ref when the result is not wanted), `ray.get_actor` /
 * `ray.kill` troupe_actor_lookup() / troupe_actor_kill().
 *
 * The methods of one actor never run at once (unless the actor asks for
 * max_concurrency > 1), so they touch their state without locks.  Methods
 * are named class_method, since C has no classes to scope them.
 *
 * As in tour_tasks.c, a body's troupe_return*() can only fail for lack of
 * memory, which the caller then sees as an empty value (TROUPE_ETYPE from
 * the typed gets), so the methods below do not check it.
 *
 * Copyright 2026 the troupe authors.  SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tour.h"

/* ------------------------------------------------------ small helpers */

/* ray.get(actor.method.remote(args)) for a method that returns an int64 /
 * a double / a string (copied into buf, since the ref is released here). */
static troupe_err call_get_i64(troupe *rt, troupe_actor actor,
			       troupe_method method, const troupe_arg *args,
			       size_t nargs, int64_t *out)
{
	troupe_ref ref;
	troupe_err err =
		troupe_actor_call(rt, actor, method, args, nargs, &ref);

	if (err != TROUPE_OK)
		return err;
	err = troupe_get_i64(rt, ref, GET_TIMEOUT_S, out);
	troupe_err rel = troupe_release(rt, ref);
	return err != TROUPE_OK ? err : rel;
}

static troupe_err call_get_f64(troupe *rt, troupe_actor actor,
			       troupe_method method, const troupe_arg *args,
			       size_t nargs, double *out)
{
	troupe_ref ref;
	troupe_err err =
		troupe_actor_call(rt, actor, method, args, nargs, &ref);

	if (err != TROUPE_OK)
		return err;
	err = troupe_get_f64(rt, ref, GET_TIMEOUT_S, out);
	troupe_err rel = troupe_release(rt, ref);
	return err != TROUPE_OK ? err : rel;
}

static troupe_err call_get_str(troupe *rt, troupe_actor actor,
			       troupe_method method, char *buf, size_t size)
{
	troupe_ref ref;
	const char *s;
	troupe_err err = troupe_actor_call(rt, actor, method, NULL, 0, &ref);

	if (err != TROUPE_OK)
		return err;
	err = troupe_get_str(rt, ref, GET_TIMEOUT_S, &s);
	if (err == TROUPE_OK)
		snprintf(buf, size, "%s", s);
	troupe_err rel = troupe_release(rt, ref);
	return err != TROUPE_OK ? err : rel;
}

/* splitmix64 (Steele, Lea and Flood): a small, seedable generator, so a
 * run that chose callers at random can be repeated with --seed. */
static uint64_t next_random(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* random.randint(lo, hi) */
static int64_t randint(uint64_t *s, int64_t lo, int64_t hi)
{
	return lo + (int64_t)(next_random(s) % (uint64_t)(hi - lo + 1));
}

/* ======================================= seeds/000: A Quick Tour of Ray Core */

/* @ray.remote
 * class Accounting:
 *     def __init__(self):
 *         self.total = 0
 *     def add(self, amount):
 *         self.total += amount
 *     def remove(self, amount):
 *         self.total -= amount
 *     def total(self):
 *         return self.total
 *
 * (In Python the field `total` that the constructor sets shadows the
 * method of that name on the instance; in C the field and the method live
 * apart, and both keep the name.) */
struct accounting {
	int64_t total;
};

static void accounting_init(troupe *rt, troupe_ctx *ctx, void *state,
			    const troupe_value *args, size_t nargs)
{
	struct accounting *self = state;

	(void)rt, (void)ctx, (void)args, (void)nargs;
	self->total = 0;
}

static void accounting_add(troupe *rt, troupe_ctx *ctx, void *state,
			   const troupe_value *args, size_t nargs)
{
	struct accounting *self = state;
	int64_t amount;

	(void)rt;
	if (arg_i64(ctx, args, nargs, 0, &amount))
		self->total += amount;
}

static void accounting_remove(troupe *rt, troupe_ctx *ctx, void *state,
			      const troupe_value *args, size_t nargs)
{
	struct accounting *self = state;
	int64_t amount;

	(void)rt;
	if (arg_i64(ctx, args, nargs, 0, &amount))
		self->total -= amount;
}

static void accounting_total(troupe *rt, troupe_ctx *ctx, void *state,
			     const troupe_value *args, size_t nargs)
{
	struct accounting *self = state;

	(void)rt, (void)args, (void)nargs;
	troupe_return_i64(ctx, self->total);
}

static const troupe_method accounting_methods[] = {
	accounting_add,
	accounting_remove,
	accounting_total,
};

static const troupe_class Accounting = {
	.name = "Accounting",
	.state_size = sizeof(struct accounting),
	.init = accounting_init,
	.methods = accounting_methods,
	.nmethods = sizeof accounting_methods / sizeof accounting_methods[0],
};

static void tour_accounting(troupe *rt)
{
	troupe_actor acc = {0};
	troupe_ref ref = {0};
	int64_t total;

	section("Actors: Accounting.remote(), add(100), remove(10), total()",
		"000");
	/* acc = Accounting.remote() */
	TRY(troupe_actor_create(rt, &Accounting, NULL, 0, NULL, &acc));
	printf("  Accounting.remote() -> actor %#" PRIx64 "\n", acc.id);

	/* acc.total.remote() gives a ref, like a task; ray.get reads it. */
	TRY(troupe_actor_call(rt, acc, accounting_total, NULL, 0, &ref));
	printf("  acc.total.remote() -> ref %#" PRIx64 "\n", ref.id);
	TRY(troupe_get_i64(rt, ref, GET_TIMEOUT_S, &total));
	check(total == 0, "ray.get(acc.total.remote()) = %" PRId64, total);

	/* acc.add.remote(100); acc.remove.remote(10) — nobody reads their
	 * results, so pass no ref: fire-and-forget. */
	troupe_arg hundred[] = {TROUPE_I64(100)}, ten[] = {TROUPE_I64(10)};
	TRY(troupe_actor_call(rt, acc, accounting_add, hundred, 1, NULL));
	TRY(troupe_actor_call(rt, acc, accounting_remove, ten, 1, NULL));

	/* Calls from one caller run in the order it made them, so this
	 * total comes after both. */
	TRY(call_get_i64(rt, acc, accounting_total, NULL, 0, &total));
	check(total == 90, "after add(100), remove(10): total = %" PRId64,
	      total);
out:
	drop(rt, &ref);
	drop_actor(rt, &acc);
}

/* Activity: linear model inference.  An actor holds the weights w1 and w0
 * and converts Celsius to Fahrenheit:
 *
 * @ray.remote
 * class LinearModel:
 *     def __init__(self, w1, w0):
 *         self.w1, self.w0 = w1, w0
 *     def convert(self, x):
 *         return x * self.w1 + self.w0                                     */
struct linear_model {
	double w1, w0;
};

static void linear_model_init(troupe *rt, troupe_ctx *ctx, void *state,
			      const troupe_value *args, size_t nargs)
{
	struct linear_model *self = state;

	(void)rt;
	if (arg_f64(ctx, args, nargs, 0, &self->w1))
		arg_f64(ctx, args, nargs, 1, &self->w0);
}

static void linear_model_convert(troupe *rt, troupe_ctx *ctx, void *state,
				 const troupe_value *args, size_t nargs)
{
	struct linear_model *self = state;
	double x;

	(void)rt;
	if (arg_f64(ctx, args, nargs, 0, &x))
		troupe_return_f64(ctx, x * self->w1 + self->w0);
}

/* Bonus: the constructor takes a file path and reads the weights from it,
 * a file of two lines "w1 = <number>" and "w0 = <number>".  A constructor
 * that fails leaves the actor dead: every call on it then fails with
 * TROUPE_EACTOR and the constructor's message. */
static void linear_model_init_from_file(troupe *rt, troupe_ctx *ctx,
					void *state, const troupe_value *args,
					size_t nargs)
{
	struct linear_model *self = state;
	const char *path;
	FILE *f;
	int n;

	(void)rt;
	if (!arg_str(ctx, args, nargs, 0, &path))
		return;
	f = fopen(path, "r");
	if (f == NULL) {
		troupe_fail(ctx, "LinearModel(%s): cannot open it", path);
		return;
	}
	n = fscanf(f, " w1 = %lf w0 = %lf", &self->w1, &self->w0);
	fclose(f);
	if (n != 2)
		troupe_fail(ctx, "LinearModel(%s): expected w1 = .. w0 = ..",
			    path);
}

/* One method table, two classes: they differ only in the constructor. */
static const troupe_method linear_model_methods[] = {linear_model_convert};

static const troupe_class LinearModel = {
	.name = "LinearModel",
	.state_size = sizeof(struct linear_model),
	.init = linear_model_init,
	.methods = linear_model_methods,
	.nmethods = 1,
};

static const troupe_class LinearModelFromFile = {
	.name = "LinearModelFromFile",
	.state_size = sizeof(struct linear_model),
	.init = linear_model_init_from_file,
	.methods = linear_model_methods,
	.nmethods = 1,
};

/* Checks model.convert(celsius) == fahrenheit. */
static void check_convert(troupe *rt, troupe_actor model, double celsius,
			  double fahrenheit)
{
	troupe_arg args[] = {TROUPE_F64(celsius)};
	double f;

	if (succeeded(call_get_f64(rt, model, linear_model_convert, args, 1,
				   &f),
		      "model.convert.remote()"))
		check(fabs(f - fahrenheit) < 1e-9, "convert(%g) = %g", celsius,
		      f);
}

static void tour_linear_model(troupe *rt)
{
	char dir[] = "/tmp/troupe-tour-XXXXXX", path[64] = "", missing[64];
	troupe_actor model = {0}, from_file = {0}, broken = {0};
	troupe_ref ref = {0};
	const char *msg;
	troupe_err err;
	FILE *f;

	section("Activity: a linear model actor converts Celsius to Fahrenheit",
		"000");
	/* model = LinearModel.remote(1.8, 32) */
	troupe_arg weights[] = {TROUPE_F64(1.8), TROUPE_F64(32.0)};
	TRY(troupe_actor_create(rt, &LinearModel, weights, 2, NULL, &model));
	check_convert(rt, model, 100, 212);
	check_convert(rt, model, -40, -40);

	/* Bonus: model = LinearModel.remote("weights.txt") */
	if (mkdtemp(dir) == NULL) {
		check(false, "cannot make a temporary directory %s", dir);
		goto out;
	}
	snprintf(path, sizeof path, "%s/weights.txt", dir);
	snprintf(missing, sizeof missing, "%s/missing.txt", dir);
	f = fopen(path, "w");
	if (f == NULL || fprintf(f, "w1 = 1.8\nw0 = 32\n") < 0 ||
	    fclose(f) != 0) {
		check(false, "cannot write %s", path);
		goto out;
	}
	printf("  weights file: %s\n", path);
	troupe_arg file[] = {TROUPE_STR(path)};
	TRY(troupe_actor_create(rt, &LinearModelFromFile, file, 1, NULL,
				&from_file));
	check_convert(rt, from_file, 100, 212);
	check_convert(rt, from_file, -40, -40);

	/* A path that is not there: the constructor fails, and so does every
	 * call, with the constructor's message. */
	troupe_arg nofile[] = {TROUPE_STR(missing)};
	TRY(troupe_actor_create(rt, &LinearModelFromFile, nofile, 1, NULL,
				&broken));
	troupe_arg zero[] = {TROUPE_F64(0)};
	TRY(troupe_actor_call(rt, broken, linear_model_convert, zero, 1, &ref));
	err = troupe_get(rt, ref, GET_TIMEOUT_S, NULL);
	check(err == TROUPE_EACTOR, "with a missing file, convert(0): %s",
	      troupe_strerror(err));
	TRY(troupe_error_message(rt, ref, &msg));
	check(strstr(msg, "cannot open") != NULL, "its message: %s", msg);
out:
	drop(rt, &ref);
	drop_actor(rt, &broken);
	drop_actor(rt, &from_file);
	drop_actor(rt, &model);
	if (path[0] != '\0') {
		unlink(path);
		rmdir(dir);
	}
}

/* ======================= seeds/001: Remote Stateful Class Instances as Actors */

/* CALLERS = ["A", "B", "C"] */
enum { NCALLERS = 3 };
static const char *const CALLERS[NCALLERS] = {"A", "B", "C"};

/* @ray.remote
 * class MethodStateCounter:
 *     def __init__(self):
 *         self.invokers = {"A": 0, "B": 0, "C": 0}
 *     def invoke(self, name):
 *         # pretend to do some work here
 *         time.sleep(0.5)
 *         # update times invoked
 *         self.invokers[name] += 1
 *         # return the state of that invoker
 *         return self.invokers[name]
 *     def get_all_invoker_state(self):
 *         # return the state of all invokers
 *         return self.invokers
 *
 * The dict becomes an array indexed like CALLERS; the zeroed state is the
 * constructor's {"A": 0, "B": 0, "C": 0}, so the class needs none. */
struct method_state_counter {
	int64_t invokers[NCALLERS];
};

static int caller_index(const char *name)
{
	for (int i = 0; i < NCALLERS; i++)
		if (strcmp(name, CALLERS[i]) == 0)
			return i;
	return -1;
}

static void method_state_counter_invoke(troupe *rt, troupe_ctx *ctx,
					void *state, const troupe_value *args,
					size_t nargs)
{
	struct method_state_counter *self = state;
	const char *name;
	int i;

	(void)rt;
	if (!arg_str(ctx, args, nargs, 0, &name))
		return;
	i = caller_index(name);
	if (i < 0) {
		troupe_fail(ctx, "invoke: unknown caller '%s'", name);
		return;
	}
	sleep_s(0.5);
	self->invokers[i] += 1;
	troupe_return_i64(ctx, self->invokers[i]);
}

static void method_state_counter_get_all_invoker_state(troupe *rt,
						       troupe_ctx *ctx,
						       void *state,
						       const troupe_value *args,
						       size_t nargs)
{
	struct method_state_counter *self = state;

	(void)rt, (void)args, (void)nargs;
	troupe_return(ctx, self->invokers, sizeof self->invokers);
}

static const troupe_method method_state_counter_methods[] = {
	method_state_counter_invoke,
	method_state_counter_get_all_invoker_state,
};

static const troupe_class MethodStateCounter = {
	.name = "MethodStateCounter",
	.state_size = sizeof(struct method_state_counter),
	.methods = method_state_counter_methods,
	.nmethods = 2,
};

static void tour_method_state_counter(troupe *rt, uint64_t seed)
{
	troupe_actor worker_invoker = {0};
	troupe_ref ref = {0};
	troupe_value v;
	int64_t tally[NCALLERS] = {0}, state[NCALLERS], times_invoked;
	uint64_t rng = seed;

	section("Method tracking: MethodStateCounter, random callers A, B, C",
		"001");
	printf("  callers drawn with seed %" PRIu64 "\n", seed);
	TRY(troupe_actor_create(rt, &MethodStateCounter, NULL, 0, NULL,
				&worker_invoker));

	/* for _ in range(10):
	 *     name = random.choice(CALLERS)
	 *     worker_invoker.invoke.remote(name)
	 * Ten fire-and-forget calls: this loop does not wait for the 5 s of
	 * sleeps they queue up. */
	for (int n = 0; n < 10; n++) {
		int i = (int)randint(&rng, 0, NCALLERS - 1);
		troupe_arg args[] = {TROUPE_STR(CALLERS[i])};
		TRY(troupe_actor_call(rt, worker_invoker,
				      method_state_counter_invoke, args, 1,
				      NULL));
		tally[i]++;
	}

	/* print(ray.get(worker_invoker.get_all_invoker_state.remote()))
	 * Made after the ten invokes by the same caller, it runs after them. */
	TRY(troupe_actor_call(rt, worker_invoker,
			      method_state_counter_get_all_invoker_state, NULL,
			      0, &ref));
	TRY(troupe_get(rt, ref, GET_TIMEOUT_S, &v));
	if (!check(v.size == sizeof state, "%zu counts came back",
		   v.size / sizeof state[0]))
		goto out;
	memcpy(state, v.data, sizeof state);
	printf("  {'A': %" PRId64 ", 'B': %" PRId64 ", 'C': %" PRId64 "}\n",
	       state[0], state[1], state[2]);
	check(state[0] + state[1] + state[2] == 10 && state[0] == tally[0] &&
		      state[1] == tally[1] && state[2] == tally[2],
	      "the counts sum to 10 and match the callers drawn");
	drop(rt, &ref);

	/* for _ in range(5):
	 *     random_name_invoker = random.choice(CALLERS)
	 *     times_invoked = ray.get(worker_invoker.invoke.remote(
	 *                                 random_name_invoker))
	 *     print(f"Named caller: {random_name_invoker} called "
	 *           f"{times_invoked} times")                                  */
	for (int n = 0; n < 5; n++) {
		int i = (int)randint(&rng, 0, NCALLERS - 1);
		troupe_arg args[] = {TROUPE_STR(CALLERS[i])};
		TRY(call_get_i64(rt, worker_invoker,
				 method_state_counter_invoke, args, 1,
				 &times_invoked));
		tally[i]++;
		check(times_invoked == tally[i],
		      "Named caller: %s called %" PRId64 " times", CALLERS[i],
		      times_invoked);
	}
out:
	drop(rt, &ref);
	drop_actor(rt, &worker_invoker);
}

/* ================================ seeds/002: An Introduction to Ray — actors */

/* from random import randint
 * @ray.remote
 * class GoalsScored:
 *     def __init__ (self) -> None:
 *         self._goals = 0
 *     def score (self) -> None:
 *         self._goals = randint(1, 5)
 *         return self._goals
 *
 * Python's random module is one global generator; here each actor owns
 * one, seeded by its constructor argument. */
struct goals_scored {
	int64_t goals;
	uint64_t rng;
};

static void goals_scored_init(troupe *rt, troupe_ctx *ctx, void *state,
			      const troupe_value *args, size_t nargs)
{
	struct goals_scored *self = state;
	int64_t seed;

	(void)rt;
	if (arg_i64(ctx, args, nargs, 0, &seed)) {
		self->goals = 0;
		self->rng = (uint64_t)seed;
	}
}

static void goals_scored_score(troupe *rt, troupe_ctx *ctx, void *state,
			       const troupe_value *args, size_t nargs)
{
	struct goals_scored *self = state;

	(void)rt, (void)args, (void)nargs;
	self->goals = randint(&self->rng, 1, 5);
	troupe_return_i64(ctx, self->goals);
}

static const troupe_method goals_scored_methods[] = {goals_scored_score};

static const troupe_class GoalsScored = {
	.name = "GoalsScored",
	.state_size = sizeof(struct goals_scored),
	.init = goals_scored_init,
	.methods = goals_scored_methods,
	.nmethods = 1,
};

static void tour_goals_scored(troupe *rt, uint64_t seed)
{
	troupe_actor goals = {0};
	troupe_ref total_goals_ref = {0};
	int64_t total_goals;
	bool in_range = true;

	section("GoalsScored: score() returns randint(1, 5)", "002");
	/* goals = GoalsScored.remote() */
	troupe_arg args[] = {TROUPE_I64((int64_t)seed)};
	TRY(troupe_actor_create(rt, &GoalsScored, args, 1, NULL, &goals));
	printf("  Actor(GoalsScored, %#" PRIx64 ")\n", goals.id);

	/* total_goals_ref = goals.score.remote() */
	TRY(troupe_actor_call(rt, goals, goals_scored_score, NULL, 0,
			      &total_goals_ref));
	printf("  goals.score.remote() -> ref %#" PRIx64 "\n",
	       total_goals_ref.id);
	TRY(troupe_get_i64(rt, total_goals_ref, GET_TIMEOUT_S, &total_goals));
	check(total_goals >= 1 && total_goals <= 5,
	      "Total goals scored: %" PRId64, total_goals);

	/* One draw says little about a range; ten more. */
	printf("  ten more matches:");
	for (int n = 0; n < 10; n++) {
		TRY(call_get_i64(rt, goals, goals_scored_score, NULL, 0,
				 &total_goals));
		printf(" %" PRId64, total_goals);
		in_range = in_range && total_goals >= 1 && total_goals <= 5;
	}
	printf("\n");
	check(in_range, "every score is within 1..5");
out:
	drop(rt, &total_goals_ref);
	drop_actor(rt, &goals);
}

/* ============================ seeds/003: Ray Core API TL;DR — Ray Actors */

/* The database of tour_tasks.c's seeds/003 examples: 8 fixed-width,
 * NUL-padded words (the seed's 5, and three more for its range(8)). */
enum { NWORDS = 8, WORD_SIZE = 16 };
static const char database[NWORDS][WORD_SIZE] = {
	"some", "words", "as", "an", "example", "with", "three", "more",
};

/* The (idx, output) tuple a task returns. */
struct retrieved {
	int64_t idx;
	char word[WORD_SIZE];
};

/* @ray.remote
 * class TaskCounter:
 *     def __init__(self):
 *         self._count = 0
 *     def increment(self):
 *         self._count += 1
 *     def get_count(self):
 *         return self._count                                               */
struct task_counter {
	int64_t count;
};

static void task_counter_increment(troupe *rt, troupe_ctx *ctx, void *state,
				   const troupe_value *args, size_t nargs)
{
	struct task_counter *self = state;

	(void)rt, (void)ctx, (void)args, (void)nargs;
	self->count += 1;
}

static void task_counter_get_count(troupe *rt, troupe_ctx *ctx, void *state,
				   const troupe_value *args, size_t nargs)
{
	struct task_counter *self = state;

	(void)rt, (void)args, (void)nargs;
	troupe_return_i64(ctx, self->count);
}

static const troupe_method task_counter_methods[] = {
	task_counter_increment,
	task_counter_get_count,
};

static const troupe_class TaskCounter = {
	.name = "TaskCounter",
	.state_size = sizeof(struct task_counter),
	.methods = task_counter_methods,
	.nmethods = 2,
};

/* @ray.remote
 * def retrieve_and_increment_task(idx, taskcounter, db):
 *     time.sleep(idx / 10)
 *     output = db[idx]
 *     taskcounter.increment.remote()
 *     return idx, output
 *
 * A task (not a method): it gets the actor handle as an argument, held for
 * it while it runs, and calls the actor like any other caller. */
static void retrieve_and_increment_task(troupe *rt, troupe_ctx *ctx,
					const troupe_value *args, size_t nargs)
{
	struct retrieved r = {.word = ""};
	troupe_actor taskcounter;
	troupe_err err;

	if (!arg_i64(ctx, args, nargs, 0, &r.idx))
		return;
	if (nargs != 3 ||
	    troupe_value_actor(&args[1], &taskcounter) != TROUPE_OK ||
	    args[2].size != sizeof database || r.idx < 0 || r.idx >= NWORDS) {
		troupe_fail(ctx,
			    "retrieve_and_increment_task(%" PRId64
			    ", taskcounter, db): bad arguments",
			    r.idx);
		return;
	}
	sleep_s((double)r.idx / 10);
	memcpy(r.word, (const char *)args[2].data + r.idx * WORD_SIZE,
	       WORD_SIZE - 1);
	err = troupe_actor_call(rt, taskcounter, task_counter_increment, NULL,
				0, NULL);
	if (err != TROUPE_OK) {
		troupe_fail(ctx, "taskcounter.increment.remote(): %s",
			    troupe_strerror(err));
		return;
	}
	troupe_return(ctx, &r, sizeof r);
}

static void tour_task_counter(troupe *rt)
{
	troupe_actor taskcounter = {0};
	troupe_ref db_ref = {0}, retrieve_refs[NWORDS] = {{0}};
	int64_t count = 0;
	int asks = 0;
	bool all = true;
	double start = now_s(), deadline;

	section("TaskCounter: tasks call an actor passed to them", "003");
	/* db_obj_ref = ray.put(database); taskcounter = TaskCounter.remote() */
	TRY(troupe_put(rt, database, sizeof database, &db_ref));
	TRY(troupe_actor_create(rt, &TaskCounter, NULL, 0, NULL, &taskcounter));

	/* retrieve_refs = [retrieve_and_increment_task.remote(idx,
	 *                      taskcounter, db_obj_ref) for idx in range(8)]
	 * results = ray.get(retrieve_refs)                                     */
	for (int64_t idx = 0; idx < NWORDS; idx++) {
		troupe_arg args[] = {TROUPE_I64(idx), TROUPE_ACTOR(taskcounter),
				     TROUPE_REF(db_ref)};
		TRY(troupe_submit(rt, retrieve_and_increment_task, args, 3,
				  NULL, &retrieve_refs[idx]));
	}
	printf("  results:");
	for (int64_t idx = 0; idx < NWORDS && all; idx++) {
		troupe_value v;
		struct retrieved r;
		TRY(troupe_get(rt, retrieve_refs[idx], GET_TIMEOUT_S, &v));
		all = v.size == sizeof r;
		if (!all)
			break;
		memcpy(&r, v.data, sizeof r);
		r.word[WORD_SIZE - 1] = '\0';
		all = r.idx == idx && strcmp(r.word, database[idx]) == 0;
		printf(" (%" PRId64 ", '%s')", r.idx, r.word);
	}
	printf("\n");
	check(all, "%d results in %.2f s (0.7 s ideal: the tasks overlap)",
	      NWORDS, now_s() - start);

	/* print(ray.get(taskcounter.get_count.remote()))
	 *
	 * troupe orders calls per caller: the calls one thread, task body or
	 * method makes to an actor run in the order it made them.  The eight
	 * increments come from eight task bodies and get_count from this
	 * thread — different callers, so nothing orders get_count after
	 * them, even though each increment was sent before its task returned
	 * a result that this thread has since read.  So ask until all eight
	 * have landed (at once, in practice) rather than trust one read. */
	deadline = now_s() + GET_TIMEOUT_S;
	for (;;) {
		TRY(call_get_i64(rt, taskcounter, task_counter_get_count, NULL,
				 0, &count));
		asks++;
		if (count >= NWORDS || now_s() > deadline)
			break;
		sleep_s(0.001);
	}
	check(count == NWORDS,
	      "ray.get(taskcounter.get_count.remote()) = %" PRId64
	      " (asked %d time%s)",
	      count, asks, asks == 1 ? "" : "s");
out:
	drop_all(rt, retrieve_refs, NWORDS);
	drop(rt, &db_ref);
	drop_actor(rt, &taskcounter);
}

/* ============================================ seeds/004: Ray Anyscale */

/* @ray.remote
 * class Assistant:
 *     def __init__(self):
 *         self.tasks_completed = 0
 *     def do_task(self):
 *         self.tasks_completed += 1
 *         return f"Completed task. Total tasks done: {self.tasks_completed}"
 *
 * do_task sleeps 0.2 s here, so that two assistants working at once show
 * in the wall time. */
struct assistant {
	int64_t tasks_completed;
};

static void assistant_do_task(troupe *rt, troupe_ctx *ctx, void *state,
			      const troupe_value *args, size_t nargs)
{
	struct assistant *self = state;
	char text[64];

	(void)rt, (void)args, (void)nargs;
	sleep_s(0.2);
	self->tasks_completed += 1;
	snprintf(text, sizeof text,
		 "Completed task. Total tasks done: %" PRId64,
		 self->tasks_completed);
	troupe_return_str(ctx, text);
}

static const troupe_method assistant_methods[] = {assistant_do_task};

static const troupe_class Assistant = {
	.name = "Assistant",
	.state_size = sizeof(struct assistant),
	.methods = assistant_methods,
	.nmethods = 1,
};

/* Checks that text is do_task's answer after n tasks. */
static void check_tasks_done(const char *who, const char *text, int64_t n)
{
	char want[64];

	snprintf(want, sizeof want,
		 "Completed task. Total tasks done: %" PRId64, n);
	check(strcmp(text, want) == 0, "%s: %s", who, text);
}

static void tour_assistants(troupe *rt)
{
	troupe_actor alex = {0}, bob = {0};
	troupe_ref alex_task = {0}, bob_task = {0};
	const char *alex_text, *bob_text;
	char text[64];
	double start, elapsed;

	section("Assistants: stateful, persistent, concurrent", "004");
	/* 1. Stateful: alex = Assistant.remote(), then two tasks. */
	TRY(troupe_actor_create(rt, &Assistant, NULL, 0, NULL, &alex));
	for (int64_t n = 1; n <= 2; n++) {
		TRY(call_get_str(rt, alex, assistant_do_task, text,
				 sizeof text));
		check_tasks_done("alex", text, n);
	}
	/* 2. Persistent: the same alex, still counting. */
	for (int64_t n = 3; n <= 4; n++) {
		TRY(call_get_str(rt, alex, assistant_do_task, text,
				 sizeof text));
		check_tasks_done("alex, still there", text, n);
	}

	/* 3. Concurrent: alex = Assistant.remote(); bob = Assistant.remote()
	 * The seed hires a new alex here: dropping the last handle to the old
	 * one destroys it once its mailbox is empty. */
	drop_actor(rt, &alex);
	TRY(troupe_actor_create(rt, &Assistant, NULL, 0, NULL, &alex));
	TRY(troupe_actor_create(rt, &Assistant, NULL, 0, NULL, &bob));
	start = now_s();
	TRY(troupe_actor_call(rt, alex, assistant_do_task, NULL, 0,
			      &alex_task));
	TRY(troupe_actor_call(rt, bob, assistant_do_task, NULL, 0, &bob_task));
	TRY(troupe_get_str(rt, alex_task, GET_TIMEOUT_S, &alex_text));
	TRY(troupe_get_str(rt, bob_task, GET_TIMEOUT_S, &bob_text));
	elapsed = now_s() - start;
	check_tasks_done("the new alex", alex_text, 1);
	check_tasks_done("bob", bob_text, 1);
	check(elapsed < 0.35,
	      "alex and bob worked at once: %.2f s for two 0.2 s tasks",
	      elapsed);
out:
	drop(rt, &bob_task);
	drop(rt, &alex_task);
	drop_actor(rt, &bob);
	drop_actor(rt, &alex);
}

/* @ray.remote
 * class Chef:
 *     def make_sandwich(self):
 *         print("Starting to make a sandwich")
 *         time.sleep(3)  # Pretend it takes 3 seconds to make a sandwich
 *         print("Finished making a sandwich")
 *         return "Sandwich ready!"
 *     def make_salad(self):
 *         print("Starting to make a salad")
 *         time.sleep(2)  # Pretend it takes 2 seconds to make a salad
 *         print("Finished making a salad")
 *         return "Salad ready!"
 *
 * A tenth of the seed's times (0.3 s and 0.2 s) makes the same point.  The
 * chef also writes down what it did, so the tour can check the order. */
enum chef_event {
	SANDWICH_STARTED,
	SANDWICH_FINISHED,
	SALAD_STARTED,
	SALAD_FINISHED,
};

struct chef {
	int32_t history[8];
	int32_t n;
};

static void chef_note(struct chef *self, enum chef_event event,
		      const char *text)
{
	printf("  %s\n", text);
	if (self->n < 8)
		self->history[self->n++] = event;
}

static void chef_make_sandwich(troupe *rt, troupe_ctx *ctx, void *state,
			       const troupe_value *args, size_t nargs)
{
	(void)rt, (void)args, (void)nargs;
	chef_note(state, SANDWICH_STARTED, "Starting to make a sandwich");
	sleep_s(0.3);
	chef_note(state, SANDWICH_FINISHED, "Finished making a sandwich");
	troupe_return_str(ctx, "Sandwich ready!");
}

static void chef_make_salad(troupe *rt, troupe_ctx *ctx, void *state,
			    const troupe_value *args, size_t nargs)
{
	(void)rt, (void)args, (void)nargs;
	chef_note(state, SALAD_STARTED, "Starting to make a salad");
	sleep_s(0.2);
	chef_note(state, SALAD_FINISHED, "Finished making a salad");
	troupe_return_str(ctx, "Salad ready!");
}

/* What the chef did, as int32 events. */
static void chef_history(troupe *rt, troupe_ctx *ctx, void *state,
			 const troupe_value *args, size_t nargs)
{
	struct chef *self = state;

	(void)rt, (void)args, (void)nargs;
	troupe_return(ctx, self->history,
		      (size_t)self->n * sizeof self->history[0]);
}

static const troupe_method chef_methods[] = {
	chef_make_sandwich,
	chef_make_salad,
	chef_history,
};

static const troupe_class Chef = {
	.name = "Chef",
	.state_size = sizeof(struct chef),
	.methods = chef_methods,
	.nmethods = 3,
};

static void tour_chef(troupe *rt)
{
	static const int32_t one_at_a_time[4] = {SANDWICH_STARTED,
						 SANDWICH_FINISHED,
						 SALAD_STARTED, SALAD_FINISHED};
	troupe_actor chef = {0};
	troupe_ref sandwich_order = {0}, salad_order = {0}, history = {0};
	const char *sandwich, *salad;
	troupe_value v;

	section("Single-threaded: the chef finishes the sandwich, then the salad",
		"004");
	/* chef = Chef.remote()
	 * sandwich_order = chef.make_sandwich.remote()
	 * salad_order = chef.make_salad.remote()                               */
	TRY(troupe_actor_create(rt, &Chef, NULL, 0, NULL, &chef));
	TRY(troupe_actor_call(rt, chef, chef_make_sandwich, NULL, 0,
			      &sandwich_order));
	TRY(troupe_actor_call(rt, chef, chef_make_salad, NULL, 0,
			      &salad_order));
	/* print(ray.get(sandwich_order)); print(ray.get(salad_order)) */
	TRY(troupe_get_str(rt, sandwich_order, GET_TIMEOUT_S, &sandwich));
	TRY(troupe_get_str(rt, salad_order, GET_TIMEOUT_S, &salad));
	printf("  %s\n  %s\n", sandwich, salad);
	check(strcmp(sandwich, "Sandwich ready!") == 0 &&
		      strcmp(salad, "Salad ready!") == 0,
	      "both orders came back");

	TRY(troupe_actor_call(rt, chef, chef_history, NULL, 0, &history));
	TRY(troupe_get(rt, history, GET_TIMEOUT_S, &v));
	check(v.size == sizeof one_at_a_time &&
		      memcmp(v.data, one_at_a_time, sizeof one_at_a_time) == 0,
	      "the sandwich was finished before the salad was started");
out:
	drop(rt, &history);
	drop(rt, &salad_order);
	drop(rt, &sandwich_order);
	drop_actor(rt, &chef);
}

/* @ray.remote
 * class Counter:
 *     def __init__(self):
 *         self.value = 0
 *     def increment(self):
 *         self.value += 1
 *         return self.value
 *     def get_value(self):
 *         return self.value
 *
 * (The seed's StatefulCounter is the same class.)  double_it serves the
 * ActorPool example below: it returns twice its argument and counts the
 * call, so the tour can see how the pool spread its calls. */
struct counter {
	int64_t value;
};

static void counter_increment(troupe *rt, troupe_ctx *ctx, void *state,
			      const troupe_value *args, size_t nargs)
{
	struct counter *self = state;

	(void)rt, (void)args, (void)nargs;
	self->value += 1;
	troupe_return_i64(ctx, self->value);
}

static void counter_get_value(troupe *rt, troupe_ctx *ctx, void *state,
			      const troupe_value *args, size_t nargs)
{
	struct counter *self = state;

	(void)rt, (void)args, (void)nargs;
	troupe_return_i64(ctx, self->value);
}

/* The smaller the item, the longer it takes (80 ms down to 10 ms), so the
 * calls finish in another order than they were made. */
static void counter_double_it(troupe *rt, troupe_ctx *ctx, void *state,
			      const troupe_value *args, size_t nargs)
{
	struct counter *self = state;
	int64_t x;

	(void)rt;
	if (!arg_i64(ctx, args, nargs, 0, &x))
		return;
	sleep_s(x >= 1 && x <= 8 ? (double)(9 - x) / 100 : 0);
	self->value += 1;
	troupe_return_i64(ctx, 2 * x);
}

static const troupe_method counter_methods[] = {
	counter_increment,
	counter_get_value,
	counter_double_it,
};

static const troupe_class Counter = {
	.name = "Counter",
	.state_size = sizeof(struct counter),
	.methods = counter_methods,
	.nmethods = 3,
};

/* @ray.remote
 * def use_counter(counter):
 *     return ray.get(counter.increment.remote())
 *
 * The handle arrives as a TROUPE_ACTOR argument, held for the body. */
static void use_counter(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
			size_t nargs)
{
	troupe_actor counter;
	troupe_ref ref = {0};
	int64_t value = 0;
	troupe_err err = nargs == 1 ? troupe_value_actor(&args[0], &counter) :
				      TROUPE_EINVAL;

	if (err == TROUPE_OK)
		err = troupe_actor_call(rt, counter, counter_increment, NULL, 0,
					&ref);
	if (err == TROUPE_OK) {
		err = troupe_get_i64(rt, ref, GET_TIMEOUT_S, &value);
		troupe_err rel = troupe_release(rt, ref);
		if (err == TROUPE_OK)
			err = rel;
	}
	if (err != TROUPE_OK)
		troupe_fail(ctx, "use_counter: %s", troupe_strerror(err));
	else
		troupe_return_i64(ctx, value);
}

static void tour_counter(troupe *rt)
{
	troupe_actor counter = {0}, counter1 = {0}, counter2 = {0};
	troupe_ref increment_ref = {0}, result_ref = {0};
	int64_t value, value1, value2, result;

	section("Counter: state persists, instances are separate, handles travel",
		"004");
	/* counter = Counter.remote()
	 * increment_ref = counter.increment.remote()
	 * value = ray.get(increment_ref)                                       */
	TRY(troupe_actor_create(rt, &Counter, NULL, 0, NULL, &counter));
	TRY(troupe_actor_call(rt, counter, counter_increment, NULL, 0,
			      &increment_ref));
	TRY(troupe_get_i64(rt, increment_ref, GET_TIMEOUT_S, &value));
	check(value == 1, "ray.get(counter.increment.remote()) = %" PRId64,
	      value);
	/* State persistence: the next two return 2 and 3. */
	for (int64_t want = 2; want <= 3; want++) {
		TRY(call_get_i64(rt, counter, counter_increment, NULL, 0,
				 &value));
		check(value == want, "and again: %" PRId64, value);
	}

	/* Multiple actors: counter1 and counter2 each start at 0. */
	TRY(troupe_actor_create(rt, &Counter, NULL, 0, NULL, &counter1));
	TRY(troupe_actor_create(rt, &Counter, NULL, 0, NULL, &counter2));
	TRY(call_get_i64(rt, counter1, counter_increment, NULL, 0, &value1));
	TRY(call_get_i64(rt, counter2, counter_increment, NULL, 0, &value2));
	check(value1 == 1 && value2 == 1,
	      "counter1.increment() = %" PRId64
	      ", counter2.increment() = %" PRId64,
	      value1, value2);

	/* Passing actors: result = ray.get(use_counter.remote(counter)) */
	troupe_arg args[] = {TROUPE_ACTOR(counter)};
	TRY(troupe_submit(rt, use_counter, args, 1, NULL, &result_ref));
	TRY(troupe_get_i64(rt, result_ref, GET_TIMEOUT_S, &result));
	check(result == 4,
	      "use_counter.remote(counter) = %" PRId64
	      " (the task incremented the same counter)",
	      result);
	TRY(call_get_i64(rt, counter, counter_get_value, NULL, 0, &value));
	check(value == 4, "counter.get_value() = %" PRId64, value);
out:
	drop(rt, &result_ref);
	drop(rt, &increment_ref);
	drop_actor(rt, &counter2);
	drop_actor(rt, &counter1);
	drop_actor(rt, &counter);
}

/* troupe_actor_list's callback: prints each name, notes "my_counter". */
static void list_name(const char *name, void *arg)
{
	bool *seen = arg;

	printf(" %s", name);
	if (strcmp(name, "my_counter") == 0)
		*seen = true;
}

static void tour_named_detached(troupe *rt)
{
	/* Counter.options(name="my_counter", lifetime="detached").remote() */
	const troupe_actor_opts opts = {.name = "my_counter", .detached = true};
	troupe_actor counter = {0}, other = {0};
	troupe_ref ref = {0};
	int64_t value;
	bool listed = false;
	troupe_err err;

	section("Actor options: a named, detached Counter", "004");
	TRY(troupe_actor_create(rt, &Counter, NULL, 0, &opts, &counter));
	TRY(call_get_i64(rt, counter, counter_increment, NULL, 0, &value));
	check(value == 1, "my_counter.increment() = %" PRId64, value);

	/* Detached: dropping the only handle does not end it... */
	drop_actor(rt, &counter);
	/* ...and anyone can find it by name: ray.get_actor("my_counter") */
	TRY(troupe_actor_lookup(rt, "my_counter", &counter));
	TRY(call_get_i64(rt, counter, counter_increment, NULL, 0, &value));
	check(value == 2,
	      "looked up by name after its handle was released: increment() = "
	      "%" PRId64,
	      value);

	/* The name is taken while it lives. */
	err = troupe_actor_create(rt, &Counter, NULL, 0, &opts, &other);
	check(err == TROUPE_EEXIST, "a second \"my_counter\": %s",
	      troupe_strerror(err));
	drop_actor(rt, &other); /* held only if that create succeeded */

	printf("  named actors:");
	TRY(troupe_actor_list(rt, list_name, &listed));
	printf("\n");
	check(listed, "the list shows my_counter");

	/* ray.kill(counter): a detached actor lives until it is killed. */
	TRY(troupe_actor_kill(rt, counter, true));
	err = troupe_actor_lookup(rt, "my_counter", &other);
	check(err == TROUPE_ENOTFOUND, "after the kill, lookup: %s",
	      troupe_strerror(err));
	TRY(troupe_actor_call(rt, counter, counter_increment, NULL, 0, &ref));
	err = troupe_get(rt, ref, GET_TIMEOUT_S, NULL);
	check(err == TROUPE_EACTOR, "and a call on the old handle: %s",
	      troupe_strerror(err));
out:
	drop(rt, &ref);
	drop_actor(rt, &other);
	drop_actor(rt, &counter);
}

/* @ray.remote
 * class AsyncActor:
 *     async def async_method(self):
 *         # Do some async work
 *         pass
 *
 * C has no async def; what it buys — calls of one actor overlapping — is
 * the max_concurrency option.  The state is then the methods' to guard:
 * here two atomics track how many calls run at once. */
struct async_actor {
	atomic_int running, peak;
};

static void async_actor_init(troupe *rt, troupe_ctx *ctx, void *state,
			     const troupe_value *args, size_t nargs)
{
	struct async_actor *self = state;

	(void)rt, (void)ctx, (void)args, (void)nargs;
	atomic_init(&self->running, 0);
	atomic_init(&self->peak, 0);
}

/* Do some work: 0.2 s of waiting. */
static void async_actor_async_method(troupe *rt, troupe_ctx *ctx, void *state,
				     const troupe_value *args, size_t nargs)
{
	struct async_actor *self = state;
	int now = atomic_fetch_add(&self->running, 1) + 1;
	int peak = atomic_load(&self->peak);

	(void)rt, (void)ctx, (void)args, (void)nargs;
	while (now > peak &&
	       !atomic_compare_exchange_weak(&self->peak, &peak, now))
		;
	sleep_s(0.2);
	atomic_fetch_sub(&self->running, 1);
}

static void async_actor_peak(troupe *rt, troupe_ctx *ctx, void *state,
			     const troupe_value *args, size_t nargs)
{
	struct async_actor *self = state;

	(void)rt, (void)args, (void)nargs;
	troupe_return_i64(ctx, atomic_load(&self->peak));
}

static const troupe_method async_actor_methods[] = {
	async_actor_async_method,
	async_actor_peak,
};

static const troupe_class AsyncActor = {
	.name = "AsyncActor",
	.state_size = sizeof(struct async_actor),
	.init = async_actor_init,
	.methods = async_actor_methods,
	.nmethods = 2,
};

static void tour_async_actor(troupe *rt)
{
	enum { CALLS = 4 };
	const troupe_actor_opts opts = {.max_concurrency = CALLS};
	troupe_actor actor = {0};
	troupe_ref refs[CALLS] = {{0}};
	int64_t peak;
	double start, elapsed;

	section("Async methods: max_concurrency lets an actor's calls overlap",
		"004");
	TRY(troupe_actor_create(rt, &AsyncActor, NULL, 0, &opts, &actor));
	start = now_s();
	for (int i = 0; i < CALLS; i++)
		TRY(troupe_actor_call(rt, actor, async_actor_async_method, NULL,
				      0, &refs[i]));
	for (int i = 0; i < CALLS; i++)
		TRY(troupe_get(rt, refs[i], GET_TIMEOUT_S, NULL));
	elapsed = now_s() - start;
	TRY(call_get_i64(rt, actor, async_actor_peak, NULL, 0, &peak));
	check(peak == CALLS,
	      "%d calls of 0.2 s in %.2f s: %" PRId64 " of them ran at once",
	      CALLS, elapsed, peak);
out:
	drop_all(rt, refs, CALLS);
	drop_actor(rt, &actor);
}

/* from ray.util.actor_pool import ActorPool
 * actors = [Counter.remote() for _ in range(4)]
 * pool = ActorPool(actors)
 *
 * The seed stops there; Ray's documentation goes on with
 * list(pool.map(lambda a, v: a.double.remote(v), [1, 2, ...])). */
static void tour_actor_pool(troupe *rt)
{
	enum { NACTORS = 4, NITEMS = 8 };
	troupe_actor actors[NACTORS] = {{0}};
	troupe_actor_pool *pool = NULL;
	troupe_arg items[NITEMS];
	troupe_ref refs[NITEMS] = {{0}};
	int64_t results[NITEMS], served[NACTORS], total = 0;
	bool in_order = true, each_once = true, seen[2 * NITEMS + 1] = {false};

	section("ActorPool over four Counters: map and map_unordered", "004");
	for (int i = 0; i < NACTORS; i++)
		TRY(troupe_actor_create(rt, &Counter, NULL, 0, NULL,
					&actors[i]));
	/* The pool holds its own handles to the actors. */
	TRY(troupe_actor_pool_create(rt, actors, NACTORS, &pool));
	for (int i = 0; i < NITEMS; i++)
		items[i] = TROUPE_I64(i + 1);

	/* list(pool.map(lambda a, v: a.double_it.remote(v), range(1, 9))) */
	TRY(troupe_actor_pool_map(pool, counter_double_it, items, NITEMS,
				  refs));
	printf("  pool.map(double_it, [1..8]):          [");
	for (int i = 0; i < NITEMS; i++) {
		TRY(troupe_get_i64(rt, refs[i], 0, &results[i]));
		printf("%s%" PRId64, i ? ", " : "", results[i]);
		in_order = in_order && results[i] == 2 * (i + 1);
	}
	printf("]\n");
	check(in_order, "map: results in item order");
	drop_all(rt, refs, NITEMS);

	/* list(pool.map_unordered(...)): each result as soon as it is done. */
	TRY(troupe_actor_pool_map_unordered(pool, counter_double_it, items,
					    NITEMS, refs));
	printf("  pool.map_unordered(double_it, [1..8]): [");
	for (int i = 0; i < NITEMS; i++) {
		TRY(troupe_get_i64(rt, refs[i], 0, &results[i]));
		printf("%s%" PRId64, i ? ", " : "", results[i]);
		if (results[i] < 2 || results[i] > 2 * NITEMS ||
		    results[i] % 2 != 0 || seen[results[i]])
			each_once = false;
		else
			seen[results[i]] = true;
	}
	printf("]\n");
	check(each_once,
	      "map_unordered: each result once, in completion order");
	drop_all(rt, refs, NITEMS);

	/* The pool spread the 16 calls over its four counters. */
	printf("  calls served per counter:");
	for (int i = 0; i < NACTORS; i++) {
		TRY(call_get_i64(rt, actors[i], counter_get_value, NULL, 0,
				 &served[i]));
		printf(" %" PRId64, served[i]);
		total += served[i];
	}
	printf("\n");
	check(total == 2 * NITEMS, "%" PRId64 " calls served in all", total);
out:
	drop_all(rt, refs, NITEMS);
	if (pool != NULL)
		succeeded(troupe_actor_pool_destroy(pool),
			  "troupe_actor_pool_destroy");
	for (int i = 0; i < NACTORS; i++)
		drop_actor(rt, &actors[i]);
}

/* ================================================================ driver */

void tour_actors(const struct tour_opts *opts)
{
	/* A sleeping method holds its worker, as it holds a Ray actor's
	 * process; eight workers let seeds/003's eight sleeping tasks, and
	 * the actors they call, run side by side on any machine. */
	troupe_config cfg = {.num_workers = 8};
	troupe *rt = NULL;

	if (!succeeded(troupe_init(&rt, &cfg), "troupe_init(&rt, &cfg)"))
		return;

	tour_accounting(rt);
	tour_linear_model(rt);
	tour_method_state_counter(rt, opts->seed);
	tour_goals_scored(rt, opts->seed);
	tour_task_counter(rt);
	tour_assistants(rt);
	tour_chef(rt);
	tour_counter(rt);
	tour_named_detached(rt);
	tour_async_actor(rt);
	tour_actor_pool(rt);

	stop(rt);
}
