/*
 * Helpers shared by the tests: process introspection (/proc), clocks,
 * polling with a hang-detection limit, and a "gate" task body that blocks
 * until the test opens it — the way to hold a ref PENDING on purpose.
 *
 * Nothing here asserts: bodies run on worker threads, where a cmocka
 * assertion (a longjmp) is not allowed.  Bodies record what they saw in
 * atomics, and the test thread checks those.
 */
#ifndef TROUPE_TEST_UTIL_H
#define TROUPE_TEST_UTIL_H

#include <dirent.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <troupe.h>

/* Sanitizer builds change memory and speed figures; tests say so when they
 * print them. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TEST_SANITIZED 1
#endif
#endif
#ifndef TEST_SANITIZED
#define TEST_SANITIZED 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifndef TEST_ASAN
#define TEST_ASAN 0
#endif

/* How long a test waits for something that must happen before calling it a
 * hang.  Generous: it detects hangs, it does not measure speed. */
#define TEST_HANG_S 30.0

static inline double test_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void test_sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Entries in a /proc directory, not counting "." and "..", nor the fd that
 * opendir itself holds when counting /proc/self/fd. */
static inline int test_count_dir(const char *path)
{
	DIR *d = opendir(path);
	if (d == NULL)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* The CPUs the process may run on: what num_workers = 0 gives a runtime
 * (troupe.h), which honours taskset and cpusets. */
static inline unsigned test_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static inline int test_thread_count(void)
{
	return test_count_dir("/proc/self/task");
}

static inline int test_fd_count(void)
{
	int n = test_count_dir("/proc/self/fd");
	return n < 0 ? n : n - 1; /* the DIR's own fd */
}

/* Resident set size in bytes (second field of /proc/self/statm). */
static inline long test_rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	if (f == NULL)
		return -1;
	long size = 0, resident = -1;
	if (fscanf(f, "%ld %ld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* Polls until cond holds or TEST_HANG_S passes; the caller then asserts
 * cond (so a hang is reported as a failure, not a stuck test). */
#define TEST_WAIT_UNTIL(cond)                                                  \
	do {                                                                   \
		double test_deadline_ = test_now_s() + TEST_HANG_S;            \
		while (!(cond) && test_now_s() < test_deadline_)               \
			test_sleep_ms(1);                                      \
	} while (0)

/* A gate: tasks running gate_fn block until the test opens it.  A gate
 * that nobody opens lets go after TEST_HANG_S anyway, so a test that fails
 * half-way cannot hang its own teardown. */
struct test_gate {
	atomic_int open;
	atomic_int started;
	atomic_int finished;
};

/* Body: args[0] is a struct test_gate * passed by value as bytes; returns
 * the i64 in args[1] when there is one, else 7. */
static inline void test_gate_fn(troupe *rt, troupe_ctx *ctx,
				const troupe_value *args, size_t nargs)
{
	(void)rt;
	struct test_gate *g;
	memcpy(&g, args[0].data, sizeof g);
	atomic_fetch_add(&g->started, 1);
	double deadline = test_now_s() + TEST_HANG_S;
	while (!atomic_load(&g->open) && test_now_s() < deadline)
		test_sleep_ms(1);
	int64_t v = 7;
	if (nargs > 1)
		troupe_value_i64(&args[1], &v);
	atomic_fetch_add(&g->finished, 1);
	troupe_return_i64(ctx, v);
}

static inline troupe_err test_submit_gate(troupe *rt, struct test_gate *g,
					  troupe_ref *ref)
{
	troupe_arg a = TROUPE_BYTES(&g, sizeof g);
	return troupe_submit(rt, test_gate_fn, &a, 1, NULL, ref);
}

/* A pointer passed to a body as inline bytes. */
#define TEST_PTR_ARG(p) TROUPE_BYTES(&(p), sizeof(p))
static inline void *test_ptr_of(const troupe_value *v)
{
	void *p = NULL;
	if (v->size == sizeof p)
		memcpy(&p, v->data, sizeof p);
	return p;
}

/* splitmix64: seeds and random streams for the stress tests. */
static inline uint64_t test_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t test_time_seed(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^
	       ((uint64_t)getpid() << 32);
}

/* The usual case fixture: a fresh runtime with `workers` workers and a
 * gate; teardown opens the gate before shutting down, so a case that
 * fails half-way does not leave a body blocked. */
struct test_fixture {
	troupe *rt;
	struct test_gate gate;
};

static inline int test_fixture_setup(void **state, unsigned workers)
{
	struct test_fixture *f = calloc(1, sizeof *f);
	if (f == NULL)
		return -1;
	troupe_config cfg = {.num_workers = workers};
	if (troupe_init(&f->rt, &cfg) != TROUPE_OK) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static inline int test_fixture_teardown(void **state)
{
	struct test_fixture *f = *state;
	atomic_store(&f->gate.open, 1);
	troupe_err e = troupe_shutdown(f->rt);
	free(f);
	return e == TROUPE_OK ? 0 : -1;
}

#endif
