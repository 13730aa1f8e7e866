/*
 * The tour's shared helpers: sections, checks and small conveniences that
 * keep the examples in tour_*.c short.  Everything here runs on the main
 * thread (task bodies never call it).
 */
#ifndef TROUPE_TOUR_H
#define TROUPE_TOUR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <troupe.h>

struct tour_opts {
	/* Shrink the compute-bound examples so the tour finishes sooner. */
	bool quick;
	/* Seeds the examples that draw at random (--seed N repeats a run). */
	uint64_t seed;
};

/* ray.get() waits forever (pass -1 to troupe_get for that).  The tour gives
 * up after a minute so that a bug shows as a FAIL instead of a hang. */
#define GET_TIMEOUT_S 60.0

/* Starts a numbered example; the previous one is counted ok or failed. */
void section(const char *title, const char *seed);

/* Prints "ok" or "FAIL" and the formatted text; returns cond. */
bool check(bool cond, const char *fmt, ...) TROUPE_PRINTF(2, 3);

/* True on TROUPE_OK; otherwise prints FAIL, the call and
 * troupe_strerror(err), and returns false. */
bool succeeded(troupe_err err, const char *call);

/* Runs a troupe call; on failure reports it and jumps to the example's
 * `out:` label, where its refs are released. */
#define TRY(call)                                                              \
	do {                                                                   \
		if (!succeeded((call), #call))                                 \
			goto out;                                              \
	} while (0)

/* Releases *ref if it is held (id != 0) and clears it, so cleanup code can
 * drop every ref unconditionally. */
void drop(troupe *rt, troupe_ref *ref);
void drop_all(troupe *rt, troupe_ref *refs, size_t n);

/* The same for an actor handle. */
void drop_actor(troupe *rt, troupe_actor *actor);

/* Shuts a runtime down (if started) and reports a failure. */
void stop(troupe *rt);

/* Monotonic seconds, and a sleep that stands in for time.sleep(). */
double now_s(void);
void sleep_s(double seconds);

/* The examples: tasks and the object store (tour_tasks.c). */
void tour_tasks(const struct tour_opts *opts);

/* The examples: actors and the actor pool (tour_actors.c). */
void tour_actors(const struct tour_opts *opts);

/* Reads argument i as an int64 / a double / a string; fails the body
 * (and returns false) if it is not one. */
static inline bool arg_i64(troupe_ctx *ctx, const troupe_value *args,
			   size_t nargs, size_t i, int64_t *out)
{
	if (i < nargs && troupe_value_i64(&args[i], out) == TROUPE_OK)
		return true;
	troupe_fail(ctx, "argument %zu is not an int64", i);
	return false;
}

static inline bool arg_f64(troupe_ctx *ctx, const troupe_value *args,
			   size_t nargs, size_t i, double *out)
{
	if (i < nargs && troupe_value_f64(&args[i], out) == TROUPE_OK)
		return true;
	troupe_fail(ctx, "argument %zu is not a double", i);
	return false;
}

static inline bool arg_str(troupe_ctx *ctx, const troupe_value *args,
			   size_t nargs, size_t i, const char **out)
{
	if (i < nargs && troupe_value_str(&args[i], out) == TROUPE_OK)
		return true;
	troupe_fail(ctx, "argument %zu is not a string", i);
	return false;
}

#endif /* TROUPE_TOUR_H */
