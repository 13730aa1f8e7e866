/*
 * troupe — the command-line tool.
 *
 *   troupe tour [--quick] [--seed N]
 *                           the Ray tutorials, ported to C, each result checked
 *   troupe bench [--quick] [--json FILE]
 *                           the benchmark table (bench/troupe-bench), as one
 *                           report: troupe | peer or Ray figure | ratio
 *
 * The tour's examples live in tour_*.c; this file parses the command line,
 * runs them and keeps the score.
 *
 * Copyright 2026 the troupe authors.  SPDX-License-Identifier: Apache-2.0
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tour.h"

/* ------------------------------------------------------ keeping the score */

static int examples;	    /* sections started */
static int failed_examples; /* sections with at least one FAIL */
static int failures;	    /* every FAIL, inside a section or not */
static bool section_failed;

static void section_end(void)
{
	if (examples > 0 && section_failed)
		failed_examples++;
	section_failed = false;
}

void section(const char *title, const char *seed)
{
	section_end();
	examples++;
	printf("\n%d. %s  [seeds/%s]\n", examples, title, seed);
}

static void report_failure(void)
{
	section_failed = true;
	failures++;
}

bool check(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("  %-5s ", cond ? "ok" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		report_failure();
	return cond;
}

bool succeeded(troupe_err err, const char *call)
{
	if (err == TROUPE_OK)
		return true;
	printf("  FAIL  %s: %s\n", call, troupe_strerror(err));
	report_failure();
	return false;
}

void drop(troupe *rt, troupe_ref *ref)
{
	if (ref->id != 0)
		succeeded(troupe_release(rt, *ref), "troupe_release");
	ref->id = 0;
}

void drop_all(troupe *rt, troupe_ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		drop(rt, &refs[i]);
}

void drop_actor(troupe *rt, troupe_actor *actor)
{
	if (actor->id != 0)
		succeeded(troupe_actor_release(rt, *actor),
			  "troupe_actor_release");
	actor->id = 0;
}

void stop(troupe *rt)
{
	if (rt != NULL)
		succeeded(troupe_shutdown(rt), "troupe_shutdown");
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sleep_s(double seconds)
{
	struct timespec ts = {
		.tv_sec = (time_t)seconds,
		.tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9),
	};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* ------------------------------------------------------------- commands */

static int usage(FILE *out)
{
	fputs("usage: troupe <command> [options]\n"
	      "\n"
	      "commands:\n"
	      "  tour [--quick] [--seed N]\n"
	      "                   walk through the Ray tutorials ported to C,\n"
	      "                   checking every result; --quick shrinks the\n"
	      "                   compute-bound example, --seed N repeats the\n"
	      "                   random choices of an earlier run\n"
	      "  bench [--quick] [--json FILE]\n"
	      "                   run the benchmarks (bench/README.md) and print\n"
	      "                   one table: troupe, the baseline / Ray / peer\n"
	      "                   figure, the ratio, then latency percentiles;\n"
	      "                   --quick: shorter runs, the slowest rows left\n"
	      "                   out (under a minute on 2 cores); --json FILE:\n"
	      "                   also write Google Benchmark's JSON to FILE.\n"
	      "                   Finds troupe-bench in ../bench beside this\n"
	      "                   program, or at $TROUPE_BENCH\n"
	      "\n"
	      "options:\n"
	      "  --help           print this text\n",
	      out);
	return 2;
}

/* Parses a --seed value: a decimal uint64. */
static bool parse_seed(const char *s, uint64_t *seed)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*seed = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static int cmd_tour(int argc, char **argv)
{
	/* Without --seed, a fresh seed each run (printed, to repeat it). */
	struct tour_opts opts = {
		.quick = false,
		.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32),
	};

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			opts.quick = true;
		} else if (strcmp(argv[i], "--seed") == 0) {
			if (!parse_seed(i + 1 < argc ? argv[i + 1] : NULL,
					&opts.seed)) {
				fprintf(stderr, "troupe tour: --seed needs a "
						"number\n");
				return usage(stderr);
			}
			i++;
		} else if (strcmp(argv[i], "--help") == 0) {
			return usage(stdout);
		} else {
			fprintf(stderr, "troupe tour: unknown option '%s'\n",
				argv[i]);
			return usage(stderr);
		}
	}

	/* Line-buffered even into a pipe, so each result shows as it comes. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("troupe tour: Ray Core's task, object and actor examples, in C"
	       " (--seed %" PRIu64 ")\n",
	       opts.seed);
	tour_tasks(&opts);
	tour_actors(&opts);
	section_end();
	printf("\ntour: %d examples, %d ok\n", examples,
	       examples - failed_examples);
	return failures == 0 ? 0 : 1;
}

/* Where troupe-bench is: $TROUPE_BENCH, else ../bench/troupe-bench from
 * the directory this program is in (the build tree's layout).  The
 * directory is read from /proc/self/exe, falling back to argv[0]. */
static bool find_bench(const char *argv0, char *path, size_t size)
{
	const char *env = getenv("TROUPE_BENCH");
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (env != NULL && *env != '\0')
		return snprintf(path, size, "%s", env) < (int)size;
	n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
	} else if (snprintf(self, sizeof self, "%s", argv0) >=
		   (int)sizeof self) {
		return false;
	}
	slash = strrchr(self, '/');
	if (slash == NULL)
		return snprintf(path, size, "../bench/troupe-bench") <
		       (int)size;
	*slash = '\0';
	return snprintf(path, size, "%s/../bench/troupe-bench", self) <
	       (int)size;
}

/* The rows --quick leaves out: each takes seconds on 2 cores (creating a
 * million actors; a million tasks against the peers; the cost-growth rows,
 * up to 10^7 pending tasks).  A negative
 * Google Benchmark filter. */
#define QUICK_FILTER \
	"--benchmark_filter=-create_1M_actors|peer_empty_tasks_1M|scale_"

static int cmd_bench(const char *argv0, int argc, char **argv)
{
	bool quick = false;
	const char *json = NULL;
	char bench[PATH_MAX];
	char out_arg[PATH_MAX + 32];
	char *args[8];
	int n = 0;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			quick = true;
		} else if (strcmp(argv[i], "--json") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "troupe bench: --json needs a "
						"file name\n");
				return usage(stderr);
			}
			json = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0) {
			return usage(stdout);
		} else {
			fprintf(stderr, "troupe bench: unknown option '%s'\n",
				argv[i]);
			return usage(stderr);
		}
	}
	if (!find_bench(argv0, bench, sizeof bench)) {
		fprintf(stderr, "troupe bench: path too long\n");
		return 1;
	}
	args[n++] = bench;
	args[n++] = "--troupe-report";
	/* libbenchmark 1.7 takes plain seconds; later versions accept them. */
	args[n++] = quick ? "--benchmark_min_time=0.01" :
			    "--benchmark_min_time=0.5";
	if (quick)
		args[n++] = QUICK_FILTER;
	if (json != NULL) {
		if (snprintf(out_arg, sizeof out_arg, "--benchmark_out=%s",
			     json) >= (int)sizeof out_arg) {
			fprintf(stderr,
				"troupe bench: --json: name too long\n");
			return 1;
		}
		args[n++] = out_arg;
		args[n++] = "--benchmark_out_format=json";
	}
	args[n] = NULL;
	fflush(NULL);
	execv(bench, args);
	fprintf(stderr,
		"troupe bench: cannot run %s: %s\n"
		"  (build with -Dbench=true, or set TROUPE_BENCH to the "
		"troupe-bench program)\n",
		bench, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "tour") == 0)
		return cmd_tour(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "bench") == 0)
		return cmd_bench(argv[0], argc - 2, argv + 2);
	if (argc == 2 && strcmp(argv[1], "--help") == 0)
		return usage(stdout);
	if (argc >= 2)
		fprintf(stderr, "troupe: unknown command '%s'\n", argv[1]);
	return usage(stderr);
}
