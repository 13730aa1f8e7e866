/*
 * The tour, part one: tasks, futures and the object store.
 *
 * Every task and object example of the Ray tutorials in shared/seeds/, ported
 * to C in the order the tutorials show them.  Each Python function decorated
 * with @ray.remote becomes a task body: a plain C function that reads its
 * arguments as byte values and reports its result with troupe_return*().
 * `f.remote(x)` becomes troupe_submit(), `ray.get` troupe_get(), `ray.put`
 * troupe_put(), `ray.wait` troupe_wait().
 *
 * Values are bytes.  A number travels as its 8 bytes (TROUPE_I64, the
 * troupe_*_i64 helpers), a string with its NUL (TROUPE_STR), anything else
 * as whatever layout the two sides agree on.  A value promises no alignment,
 * so the bodies copy bytes out with memcpy rather than casting pointers.
 *
 * A body's troupe_return*() can only fail for lack of memory; the caller
 * then sees an empty value, which troupe_get_i64 and friends report as
 * TROUPE_ETYPE — so the bodies below do not check it.
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

/* Element i of a value holding int64s. */
static int64_t i64_at(const troupe_value *v, size_t i)
{
	int64_t x;

	memcpy(&x, (const char *)v->data + i * sizeof x, sizeof x);
	return x;
}

/* ray.get(list_of_refs): the int64 results, in order. */
static troupe_err get_all_i64(troupe *rt, const troupe_ref *refs, size_t n,
			      int64_t *out)
{
	for (size_t i = 0; i < n; i++) {
		troupe_err err =
			troupe_get_i64(rt, refs[i], GET_TIMEOUT_S, &out[i]);
		if (err != TROUPE_OK)
			return err;
	}
	return TROUPE_OK;
}

/* ======================================= seeds/000: A Quick Tour of Ray Core */

/* @ray.remote
 * def square(a):
 *     return a*a                                                           */
static void square(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		   size_t nargs)
{
	int64_t a;

	(void)rt;
	if (arg_i64(ctx, args, nargs, 0, &a))
		troupe_return_i64(ctx, a * a);
}

static void tour_square(troupe *rt)
{
	troupe_ref ref = {0};
	int64_t result;

	section("square.remote(3), then ray.get(ref)", "000");
	/* The ref comes back at once; the task runs on a worker. */
	troupe_arg args[] = {TROUPE_I64(3)};
	TRY(troupe_submit(rt, square, args, 1, NULL, &ref));
	printf("  square.remote(3) -> ref %#" PRIx64 "\n", ref.id);
	TRY(troupe_get_i64(rt, ref, GET_TIMEOUT_S, &result));
	check(result == 9, "ray.get(ref) = %" PRId64, result);
out:
	drop(rt, &ref);
}

/* Activity: a task that takes two params, takes the square root of the
 * first, then adds the second. */
static void sqrt_plus(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		      size_t nargs)
{
	double a, b;

	(void)rt;
	if (arg_f64(ctx, args, nargs, 0, &a) &&
	    arg_f64(ctx, args, nargs, 1, &b))
		troupe_return_f64(ctx, sqrt(a) + b);
}

static void tour_activity(troupe *rt)
{
	static const double params[2][2] = {{16.0, 1.0}, {2.0, 0.5}};
	troupe_ref refs[2] = {{0}};
	double results[2];

	section("Activity: sqrt of the first param plus the second", "000");
	/* Invoke it with both parameter sets first, then collect. */
	for (int i = 0; i < 2; i++) {
		troupe_arg args[] = {TROUPE_F64(params[i][0]),
				     TROUPE_F64(params[i][1])};
		TRY(troupe_submit(rt, sqrt_plus, args, 2, NULL, &refs[i]));
	}
	for (int i = 0; i < 2; i++) {
		TRY(troupe_get_f64(rt, refs[i], GET_TIMEOUT_S, &results[i]));
		check(results[i] == sqrt(params[i][0]) + params[i][1],
		      "sqrt_plus(%g, %g) = %.6f", params[i][0], params[i][1],
		      results[i]);
	}
out:
	drop_all(rt, refs, 2);
}

/* Tasks can launch other tasks:
 *
 * @ray.remote
 * def sum_of_squares(arr):
 *     return sum(ray.get([square.remote(val) for val in arr]))
 *
 * The get inside a body does not tie up the pool: the worker runs the
 * awaited task itself, or the pool adds a thread while it waits. */
static void sum_of_squares(troupe *rt, troupe_ctx *ctx,
			   const troupe_value *args, size_t nargs)
{
	size_t n = nargs == 1 ? args[0].size / sizeof(int64_t) : 0;
	troupe_ref *refs = calloc(n ? n : 1, sizeof *refs);
	troupe_err err = refs != NULL ? TROUPE_OK : TROUPE_ENOMEM;
	size_t submitted = 0;
	int64_t sum = 0;

	for (size_t i = 0; i < n && err == TROUPE_OK; i++) {
		troupe_arg arg = TROUPE_I64(i64_at(&args[0], i));
		err = troupe_submit(rt, square, &arg, 1, NULL, &refs[i]);
		if (err == TROUPE_OK)
			submitted++;
	}
	for (size_t i = 0; i < submitted && err == TROUPE_OK; i++) {
		int64_t sq;
		err = troupe_get_i64(rt, refs[i], GET_TIMEOUT_S, &sq);
		if (err == TROUPE_OK)
			sum += sq;
	}
	for (size_t i = 0; i < submitted; i++) {
		troupe_err rel = troupe_release(rt, refs[i]);
		if (err == TROUPE_OK)
			err = rel;
	}
	free(refs);

	if (err != TROUPE_OK)
		troupe_fail(ctx, "sum_of_squares: %s", troupe_strerror(err));
	else
		troupe_return_i64(ctx, sum);
}

static void tour_sum_of_squares(troupe *rt)
{
	const int64_t arr[] = {3, 4, 5};
	troupe_ref ref = {0};
	int64_t result;

	section("Tasks can launch other tasks: sum_of_squares([3, 4, 5])",
		"000");
	troupe_arg args[] = {TROUPE_BYTES(arr, sizeof arr)};
	TRY(troupe_submit(rt, sum_of_squares, args, 1, NULL, &ref));
	TRY(troupe_get_i64(rt, ref, GET_TIMEOUT_S, &result));
	check(result == 50, "sum_of_squares([3, 4, 5]) = %" PRId64, result);
out:
	drop(rt, &ref);
}

/* ============ seeds/001: Remote Functions as Tasks — Example 1: serial vs parallel */

/* def regular_function():            @ray.remote
 *     time.sleep(1)                  def remote_function():
 *     return 1                           time.sleep(1)
 *                                        return 1                          */
static int64_t regular_function(void)
{
	sleep_s(1.0);
	return 1;
}

static void remote_function(troupe *rt, troupe_ctx *ctx,
			    const troupe_value *args, size_t nargs)
{
	(void)rt, (void)args, (void)nargs;
	troupe_return_i64(ctx, regular_function());
}

static void tour_serial_vs_parallel(void)
{
	/* A sleeping task holds its worker, as it holds a Ray worker process,
	 * so give the runtime five workers: ray.init(num_cpus=5). */
	troupe_config cfg = {.num_workers = 5};
	troupe *rt = NULL;
	troupe_ref refs[5] = {{0}};
	int64_t results[5], sum = 0;
	double start, serial_s, parallel_s;

	section("Serial vs parallel: 5 calls that sleep 1 s each", "001");

	/* results = [regular_function() for _ in range(5)] */
	start = now_s();
	for (int i = 0; i < 5; i++)
		sum += regular_function();
	serial_s = now_s() - start;
	check(sum == 5, "serial:   sum = %" PRId64 ", wall time %.2f s", sum,
	      serial_s);

	/* results = [remote_function.remote() for _ in range(5)]
	 * assert sum(ray.get(results)) == 5 */
	TRY(troupe_init(&rt, &cfg));
	start = now_s();
	for (int i = 0; i < 5; i++)
		TRY(troupe_submit(rt, remote_function, NULL, 0, NULL,
				  &refs[i]));
	TRY(get_all_i64(rt, refs, 5, results));
	parallel_s = now_s() - start;
	sum = 0;
	for (int i = 0; i < 5; i++)
		sum += results[i];
	check(sum == 5, "parallel: sum = %" PRId64 ", wall time %.2f s", sum,
	      parallel_s);
	check(parallel_s < 2.5, "the 5 tasks overlapped (%.2f s < 2.5 s)",
	      parallel_s);
out:
	drop_all(rt, refs, 5);
	stop(rt);
}

/* ================== seeds/001: Example 2: adding two arrays, refs as arguments */

/* An array travels as int64s: rows, cols, then the cells row by row. */
enum { ROWS = 10, COLS = 10 };

/* data/file_1.txt: the seed shows only add_array's output, which doubled
 * arr1 (see add_array), so halving that output gives back its arr1. */
static const int64_t file_1[ROWS][COLS] = {
	{0, 48, 72, 75, 54, 89, 84, 68, 9, 38},
	{3, 40, 73, 58, 10, 35, 96, 6, 65, 33},
	{55, 67, 12, 97, 52, 73, 7, 76, 39, 50},
	{59, 34, 20, 40, 92, 55, 11, 39, 93, 38},
	{89, 89, 37, 52, 48, 86, 49, 3, 19, 50},
	{84, 37, 68, 11, 20, 36, 46, 61, 52, 77},
	{70, 90, 56, 55, 49, 76, 94, 28, 32, 23},
	{5, 44, 92, 15, 53, 63, 87, 75, 61, 25},
	{51, 58, 29, 30, 93, 94, 52, 72, 80, 27},
	{1, 28, 82, 35, 89, 36, 10, 84, 85, 65},
};

/* data/file_2.txt is not shown; any 10x10 will do. */
static void make_file_2(int64_t arr[ROWS][COLS])
{
	for (int r = 0; r < ROWS; r++)
		for (int c = 0; c < COLS; c++)
			arr[r][c] = (r * 37 + c * 11) % 100;
}

/* Writes ROWS x COLS cells in numpy.loadtxt's input format. */
static bool write_array(const char *path, const int64_t *cells)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return false;
	fprintf(f, "# %d x %d integers, comma separated\n", ROWS, COLS);
	for (int r = 0; r < ROWS; r++)
		for (int c = 0; c < COLS; c++)
			fprintf(f, "%" PRId64 "%s", cells[r * COLS + c],
				c + 1 < COLS ? ", " : "\n");
	return fclose(f) == 0;
}

/* Parses one line of loadtxt input into cells; returns how many (-1: bad).
 * '#' starts a comment; a line of only a comment has no cells. */
static int parse_row(char *line, int64_t *cells, int max)
{
	char *hash = strchr(line, '#'), *p = line, *end;
	int n = 0;

	if (hash != NULL)
		*hash = '\0';
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '\n')
		return 0;
	for (;;) {
		if (n == max)
			return -1;
		cells[n++] = strtoll(p, &end, 10);
		if (end == p)
			return -1;
		p = end + strspn(end, " \t\r\n");
		if (*p == '\0')
			return n;
		if (*p++ != ',')
			return -1;
	}
}

/* @ray.remote
 * def read_array(fn: str) -> np.array:
 *     arr = loadtxt(fn, comments="#", delimiter=",", unpack=False)
 *     return arr.astype("int")
 *
 * Reads up to ROWS x COLS cells and returns the array zero-copy: the
 * runtime takes the buffer and frees it when the object goes away. */
static void read_array(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		       size_t nargs)
{
	const char *fn, *error = NULL;
	int64_t *arr, row[COLS], rows = 0, cols = 0;
	char line[512];
	FILE *f;

	(void)rt;
	if (nargs != 1 || troupe_value_str(&args[0], &fn) != TROUPE_OK) {
		troupe_fail(ctx, "read_array(fn): fn must be a string");
		return;
	}
	f = fopen(fn, "r");
	arr = malloc((2 + ROWS * COLS) * sizeof *arr);
	if (f == NULL || arr == NULL)
		error = f == NULL ? "cannot open it" : "out of memory";
	while (error == NULL && fgets(line, sizeof line, f) != NULL) {
		int n = parse_row(line, row, COLS);
		if (n == 0)
			continue;
		if (n < 0 || (rows > 0 && n != cols) || rows == ROWS) {
			error = "malformed, or more than 10x10";
			break;
		}
		cols = n;
		memcpy(&arr[2 + rows * cols], row, (size_t)n * sizeof *row);
		rows++;
	}
	if (f != NULL)
		fclose(f);
	if (error != NULL) {
		free(arr);
		troupe_fail(ctx, "read_array(%s): %s", fn, error);
		return;
	}
	arr[0] = rows;
	arr[1] = cols;
	if (troupe_return_owned(ctx, 0, arr,
				(size_t)(2 + rows * cols) * sizeof *arr,
				free) != TROUPE_OK)
		free(arr);
}

/* The shape of an array value, when it is one. */
static bool array_shape(const troupe_value *v, int64_t *rows, int64_t *cols)
{
	if (v->size < 2 * sizeof(int64_t))
		return false;
	*rows = i64_at(v, 0);
	*cols = i64_at(v, 1);
	return *rows >= 0 && *cols >= 0 && *rows <= ROWS && *cols <= COLS &&
	       v->size == (size_t)(2 + *rows * *cols) * sizeof(int64_t);
}

/* @ray.remote
 * def add_array(arr1: np.array, arr2: np.array) -> np.array:
 *     return np.add(arr1, arr1)
 *
 * The seed adds arr1 to itself by mistake (its printed result is 2 * arr1);
 * this port adds arr1 and arr2 as the text around it intends. */
static void add_array(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		      size_t nargs)
{
	int64_t rows, cols, rows2, cols2;
	int64_t *sum;

	(void)rt;
	if (nargs != 2 || !array_shape(&args[0], &rows, &cols) ||
	    !array_shape(&args[1], &rows2, &cols2) || rows != rows2 ||
	    cols != cols2) {
		troupe_fail(ctx, "add_array: needs two arrays of one shape");
		return;
	}
	sum = malloc((size_t)(2 + rows * cols) * sizeof *sum);
	if (sum == NULL) {
		troupe_fail(ctx, "add_array: out of memory");
		return;
	}
	sum[0] = rows;
	sum[1] = cols;
	for (int64_t i = 2; i < 2 + rows * cols; i++)
		sum[i] = i64_at(&args[0], (size_t)i) +
			 i64_at(&args[1], (size_t)i);
	if (troupe_return_owned(ctx, 0, sum,
				(size_t)(2 + rows * cols) * sizeof *sum,
				free) != TROUPE_OK)
		free(sum);
}

/* @ray.remote
 * def sum_array(arr1: np.array) -> int:
 *     return np.sum(arr1)                                                  */
static void sum_array(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		      size_t nargs)
{
	int64_t rows, cols, sum = 0;

	(void)rt;
	if (nargs != 1 || !array_shape(&args[0], &rows, &cols)) {
		troupe_fail(ctx, "sum_array: needs an array");
		return;
	}
	for (int64_t i = 2; i < 2 + rows * cols; i++)
		sum += i64_at(&args[0], (size_t)i);
	troupe_return_i64(ctx, sum);
}

static void tour_arrays(troupe *rt)
{
	int64_t file_2[ROWS][COLS];
	char dir[] = "/tmp/troupe-tour-XXXXXX", path_1[64] = "",
	     path_2[64] = "";
	troupe_ref arr1 = {0}, arr2 = {0}, result_ref = {0};
	troupe_ref sum_1_ref = {0}, sum_2_ref = {0};
	troupe_value result;
	int64_t sum_1, sum_2, want_1 = 0, want_2 = 0, rows, cols;
	bool same = true;

	section("Adding two arrays: refs as task arguments", "001");
	make_file_2(file_2);
	if (mkdtemp(dir) == NULL) {
		check(false, "cannot make a temporary directory %s", dir);
		return;
	}
	snprintf(path_1, sizeof path_1, "%s/file_1.txt", dir);
	snprintf(path_2, sizeof path_2, "%s/file_2.txt", dir);
	if (!write_array(path_1, &file_1[0][0]) ||
	    !write_array(path_2, &file_2[0][0])) {
		check(false, "cannot write the data files in %s", dir);
		goto out;
	}
	printf("  data files: %s, %s\n", path_1, path_2);

	/* obj_ref_arr1 = read_array.remote("data/file_1.txt"), same for 2 */
	troupe_arg fn_1[] = {TROUPE_STR(path_1)}, fn_2[] = {TROUPE_STR(path_2)};
	TRY(troupe_submit(rt, read_array, fn_1, 1, NULL, &arr1));
	TRY(troupe_submit(rt, read_array, fn_2, 1, NULL, &arr2));
	printf("  array 1: ref %#" PRIx64 "\n  array 2: ref %#" PRIx64 "\n",
	       arr1.id, arr2.id);

	/* result_obj_ref = add_array.remote(obj_ref_arr1, obj_ref_arr2): the
	 * task waits for both reads and sees their values without a copy. */
	troupe_arg both[] = {TROUPE_REF(arr1), TROUPE_REF(arr2)};
	TRY(troupe_submit(rt, add_array, both, 2, NULL, &result_ref));
	TRY(troupe_get(rt, result_ref, GET_TIMEOUT_S, &result));
	if (!check(array_shape(&result, &rows, &cols) && rows == ROWS &&
			   cols == COLS,
		   "add_array returned a %dx%d array", ROWS, COLS))
		goto out;
	printf("  Result: add arr1 + arr2:\n");
	for (int r = 0; r < ROWS; r++) {
		printf("   %s", r == 0 ? "[[" : " [");
		for (int c = 0; c < COLS; c++) {
			int64_t cell =
				i64_at(&result, (size_t)(2 + r * COLS + c));
			printf("%4" PRId64, cell);
			same = same && cell == file_1[r][c] + file_2[r][c];
			want_1 += file_1[r][c];
			want_2 += file_2[r][c];
		}
		printf("]%s\n", r + 1 == ROWS ? "]" : "");
	}
	check(same, "every cell is arr1 + arr2");

	/* sum_1 = ray.get(sum_array.remote(obj_ref_arr1)), same for 2 */
	troupe_arg a1[] = {TROUPE_REF(arr1)}, a2[] = {TROUPE_REF(arr2)};
	TRY(troupe_submit(rt, sum_array, a1, 1, NULL, &sum_1_ref));
	TRY(troupe_submit(rt, sum_array, a2, 1, NULL, &sum_2_ref));
	TRY(troupe_get_i64(rt, sum_1_ref, GET_TIMEOUT_S, &sum_1));
	TRY(troupe_get_i64(rt, sum_2_ref, GET_TIMEOUT_S, &sum_2));
	check(sum_1 == want_1, "Sum of arr1: %" PRId64, sum_1);
	check(sum_2 == want_2, "Sum of arr2: %" PRId64, sum_2);
out:
	drop(rt, &sum_2_ref);
	drop(rt, &sum_1_ref);
	drop(rt, &result_ref);
	drop(rt, &arr2);
	drop(rt, &arr1);
	if (path_1[0] != '\0')
		unlink(path_1);
	if (path_2[0] != '\0')
		unlink(path_2);
	rmdir(dir);
}

/* ====================== seeds/002: An Introduction to Ray — sum of squares per core */

/* def none_ray_task(a: int, b: int) -> int:
 *     return math.sqrt(sum(x * x for x in range(a, b)))
 *
 * Python sums exact integers.  For range(1, 10000000) the sum is 3.3e20,
 * past uint64_t, so carry into a high word and round to double only at the
 * end: the result then matches Python's 18257417214.20. */
static double none_ray_task(int64_t a, int64_t b)
{
	uint64_t lo = 0, hi = 0;

	for (int64_t x = a; x < b; x++) {
		uint64_t sq = (uint64_t)x * (uint64_t)x;
		lo += sq;
		hi += lo < sq; /* the carry */
	}
	return sqrt(ldexp((double)hi, 64) + (double)lo);
}

/* @ray.remote
 * def ray_task(a: int, b: int) -> int:
 *     print("pid={}; ppid={}".format(os.getpid(), os.getppid()))
 *     return math.sqrt(sum(x * x for x in range(a, b)))
 *
 * (Every task runs in this process, so there is no pid worth printing.) */
static void ray_task(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		     size_t nargs)
{
	int64_t a, b;

	(void)rt;
	if (arg_i64(ctx, args, nargs, 0, &a) &&
	    arg_i64(ctx, args, nargs, 1, &b))
		troupe_return_f64(ctx, none_ray_task(a, b));
}

/* sum(x * x for x in range(1, n + 1)), exactly, for small enough n. */
static uint64_t sum_of_squares_upto(uint64_t n)
{
	return n * (n + 1) / 2 * (2 * n + 1) / 3;
}

static void tour_sum_per_core(troupe *rt, bool quick)
{
	const int64_t a = 1, b = quick ? 1000000 : 10000000;
	char want[32], got[32];
	unsigned n_cores = 0;
	troupe_ref *refs = NULL;
	double value = 0, start, serial_s, parallel_s;
	bool all_same = true;

	section("Sum of squares on every core: serial, then one task per core",
		"002");
	/* The tour's default runtime has a worker per core, as
	 * ray.init(num_cpus=multiprocessing.cpu_count()) would. */
	TRY(troupe_num_workers(rt, &n_cores));
	printf("  Number of cores: %u\n", n_cores);
	if (quick) /* --quick: check against the closed form instead */
		snprintf(want, sizeof want, "%.2f",
			 sqrt((double)sum_of_squares_upto((uint64_t)b - 1)));
	else
		snprintf(want, sizeof want, "18257417214.20");

	start = now_s();
	for (unsigned i = 0; i < n_cores; i++) {
		double v = none_ray_task(a, b);
		all_same = all_same && (i == 0 || v == value);
		value = v;
	}
	serial_s = now_s() - start;
	snprintf(got, sizeof got, "%.2f", value);
	check(all_same && strcmp(got, want) == 0,
	      "local: none_ray_task(%" PRId64 ", %" PRId64 ") = %s, %u calls"
	      " in %.1f ms",
	      a, b, got, n_cores, serial_s * 1e3);

	/* The seed calls ray.get right after each .remote(), which runs the
	 * tasks one at a time; submitting all of them first lets them run on
	 * every core at once. */
	refs = calloc(n_cores, sizeof *refs);
	if (refs == NULL) {
		check(false, "out of memory");
		goto out;
	}
	start = now_s();
	for (unsigned i = 0; i < n_cores; i++) {
		troupe_arg args[] = {TROUPE_I64(a), TROUPE_I64(b)};
		TRY(troupe_submit(rt, ray_task, args, 2, NULL, &refs[i]));
	}
	all_same = true;
	for (unsigned i = 0; i < n_cores; i++) {
		double v;
		TRY(troupe_get_f64(rt, refs[i], GET_TIMEOUT_S, &v));
		all_same = all_same && v == value;
	}
	parallel_s = now_s() - start;
	check(all_same,
	      "tasks: %u x ray_task(%" PRId64 ", %" PRId64 ") = %s in %.1f ms",
	      n_cores, a, b, got, parallel_s * 1e3);
	printf("  speedup: %.1fx\n", serial_s / parallel_s);
	if (serial_s / n_cores < 0.1)
		printf("  (a call takes %.1f ms in C; the seed's Python needed "
		       "0.9 s for range(1, 10000000).\n   At this size, waking "
		       "the workers can show in the speedup.)\n",
		       serial_s / n_cores * 1e3);
out:
	if (refs != NULL)
		drop_all(rt, refs, n_cores);
	free(refs);
}

/* ============================== seeds/002: futures and ray.put */

/* @ray.remote
 * def func():
 *     return 42                                                            */
static void func(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		 size_t nargs)
{
	(void)rt, (void)args, (void)nargs;
	troupe_return_i64(ctx, 42);
}

/* @ray.remote
 * def add_list(num_list):
 *     return sum(num_list)                                                 */
static void add_list(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		     size_t nargs)
{
	int64_t sum = 0;

	(void)rt;
	if (nargs != 1 || args[0].size % sizeof(int64_t) != 0) {
		troupe_fail(ctx, "add_list: needs a list of int64");
		return;
	}
	for (size_t i = 0; i < args[0].size / sizeof(int64_t); i++)
		sum += i64_at(&args[0], i);
	troupe_return_i64(ctx, sum);
}

static void tour_futures(troupe *rt)
{
	const int64_t num_list[] = {23, 42, 93};
	troupe_ref obj_ref = {0}, num_ref = {0}, calc_ref = {0};
	troupe_value list;
	int64_t answer, total;

	section("Futures: func() -> 42, ray.put([23, 42, 93]), add_list(ref)",
		"002");
	TRY(troupe_submit(rt, func, NULL, 0, NULL, &obj_ref));
	TRY(troupe_get_i64(rt, obj_ref, GET_TIMEOUT_S, &answer));
	check(answer == 42,
	      "Value of the computed and finished future: %" PRId64, answer);

	/* num_ref = ray.put(num_list): the store keeps its own copy. */
	TRY(troupe_put(rt, num_list, sizeof num_list, &num_ref));
	TRY(troupe_get(rt, num_ref, GET_TIMEOUT_S, &list));
	check(list.size == sizeof num_list &&
		      memcmp(list.data, num_list, sizeof num_list) == 0,
	      "ray.get(num_ref) = [%" PRId64 ", %" PRId64 ", %" PRId64 "]",
	      i64_at(&list, 0), i64_at(&list, 1), i64_at(&list, 2));

	/* calc_ref = add_list.remote(num_ref) */
	troupe_arg args[] = {TROUPE_REF(num_ref)};
	TRY(troupe_submit(rt, add_list, args, 1, NULL, &calc_ref));
	TRY(troupe_get_i64(rt, calc_ref, GET_TIMEOUT_S, &total));
	check(total == 158, "add_list.remote(num_ref) = %" PRId64, total);
out:
	drop(rt, &calc_ref);
	drop(rt, &num_ref);
	drop(rt, &obj_ref);
}

/* ================ seeds/003: tasks, the object store, wait and dependencies */

/* The seed's database holds 5 words but its loops index up to 7 (and the
 * follow-up task reads idx + 1); three more words make those loops work.
 * As a value it is NWORDS fixed-width, NUL-padded words. */
enum { NWORDS = 8, WORD_SIZE = 16 };
static const char database[NWORDS][WORD_SIZE] = {
	"some", "words", "as", "an", "example", "with", "three", "more",
};

/* The (idx, database[idx]) tuple a retrieve returns. */
struct retrieved {
	int64_t idx;
	char word[WORD_SIZE];
};

/* def retrieve(idx):
 *     time.sleep(idx / 10)
 *     return idx, database[idx]
 *
 * db is the database's bytes: the array above, or an object store view. */
static struct retrieved retrieve(int64_t idx, const char *db)
{
	struct retrieved r = {.idx = idx};

	sleep_s((double)idx / 10);
	memcpy(r.word, db + idx * WORD_SIZE, WORD_SIZE - 1);
	return r;
}

/* @ray.remote
 * def retrieve_task(idx):
 *     return retrieve(idx)                                                 */
static void retrieve_task(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
			  size_t nargs)
{
	int64_t idx;
	struct retrieved r;

	(void)rt;
	if (!arg_i64(ctx, args, nargs, 0, &idx))
		return;
	if (idx < 0 || idx >= NWORDS) {
		troupe_fail(ctx, "retrieve_task: no word %" PRId64, idx);
		return;
	}
	r = retrieve(idx, &database[0][0]);
	troupe_return(ctx, &r, sizeof r);
}

/* The object-store version takes the database as an argument, and reads
 * it in place:
 *
 * @ray.remote
 * def retrieve_task(idx, db):
 *     time.sleep(idx / 10)
 *     return idx, db[idx]                                                  */
static void retrieve_task_db(troupe *rt, troupe_ctx *ctx,
			     const troupe_value *args, size_t nargs)
{
	int64_t idx;
	struct retrieved r;

	(void)rt;
	if (!arg_i64(ctx, args, nargs, 0, &idx))
		return;
	if (nargs != 2 || args[1].size != sizeof database || idx < 0 ||
	    idx >= NWORDS) {
		troupe_fail(ctx,
			    "retrieve_task(%" PRId64 ", db): bad arguments",
			    idx);
		return;
	}
	r = retrieve(idx, args[1].data);
	troupe_return(ctx, &r, sizeof r);
}

/* Reads a retrieve result back out of its value. */
static bool as_retrieved(const troupe_value *v, struct retrieved *r)
{
	if (v->size != sizeof *r)
		return false;
	memcpy(r, v->data, sizeof *r);
	r->word[WORD_SIZE - 1] = '\0';
	return true;
}

static bool is_entry(const struct retrieved *r, int64_t idx)
{
	return r->idx == idx && strcmp(r->word, database[idx]) == 0;
}

/* ray.get(obj_refs) for retrieve results: prints them and says whether
 * entry i is (i, database[i]) for every i. */
static bool get_retrieved(troupe *rt, const troupe_ref *refs, size_t n,
			  const char *what)
{
	bool all = true;

	printf("  %s:", what);
	for (size_t i = 0; i < n && all; i++) {
		troupe_value v;
		struct retrieved r;
		all = succeeded(troupe_get(rt, refs[i], GET_TIMEOUT_S, &v),
				"troupe_get") &&
		      as_retrieved(&v, &r) && is_entry(&r, (int64_t)i);
		if (all)
			printf(" (%" PRId64 ", '%s')", r.idx, r.word);
	}
	printf("\n");
	return all;
}

static void tour_retrieve(troupe *rt)
{
	troupe_ref refs[NWORDS] = {{0}}, db_ref = {0};
	double start, serial_s, elapsed;
	bool all = true;

	section("A database lookup: serial, as tasks, and via the object store",
		"003");
	/* data = [retrieve(idx) for idx in range(8)]  (2.8 s ideal) */
	start = now_s();
	printf("  serial:");
	for (int64_t idx = 0; idx < NWORDS; idx++) {
		struct retrieved r = retrieve(idx, &database[0][0]);
		all = all && is_entry(&r, idx);
		printf(" (%" PRId64 ", '%s')", r.idx, r.word);
	}
	serial_s = now_s() - start;
	printf("\n");
	check(all, "serial: %d lookups in %.2f s", NWORDS, serial_s);

	/* obj_refs = [retrieve_task.remote(idx) for idx in range(8)]
	 * data = ray.get(obj_refs)  (0.7 s ideal: the runtime has 8 workers) */
	start = now_s();
	for (int64_t idx = 0; idx < NWORDS; idx++) {
		troupe_arg args[] = {TROUPE_I64(idx)};
		TRY(troupe_submit(rt, retrieve_task, args, 1, NULL,
				  &refs[idx]));
	}
	all = get_retrieved(rt, refs, NWORDS, "tasks");
	elapsed = now_s() - start;
	check(all && elapsed < 2.0, "tasks: %d lookups in %.2f s, side by side",
	      NWORDS, elapsed);
	drop_all(rt, refs, NWORDS);

	/* db_obj_ref = ray.put(database)
	 * obj_refs = [retrieve_task.remote(idx, db_obj_ref) for idx in range(8)]
	 * Each task reads the one stored copy in place. */
	start = now_s();
	TRY(troupe_put(rt, database, sizeof database, &db_ref));
	for (int64_t idx = 0; idx < NWORDS; idx++) {
		troupe_arg args[] = {TROUPE_I64(idx), TROUPE_REF(db_ref)};
		TRY(troupe_submit(rt, retrieve_task_db, args, 2, NULL,
				  &refs[idx]));
	}
	all = get_retrieved(rt, refs, NWORDS, "object store");
	elapsed = now_s() - start;
	check(all && elapsed < 2.0, "object store: %d lookups in %.2f s",
	      NWORDS, elapsed);
out:
	drop_all(rt, refs, NWORDS);
	drop(rt, &db_ref);
}

static void tour_wait(troupe *rt)
{
	troupe_ref object_refs[NWORDS] = {{0}}, finished[2] = {{0}};
	troupe_ref db_ref = {0};
	size_t left = 0;
	int64_t next = 0; /* the idx expected to arrive next */
	double start = now_s();

	section("Non-blocking calls: ray.wait(num_returns=2, timeout=7.0)",
		"003");
	TRY(troupe_put(rt, database, sizeof database, &db_ref));
	for (int64_t idx = 0; idx < NWORDS; idx++) {
		troupe_arg args[] = {TROUPE_I64(idx), TROUPE_REF(db_ref)};
		TRY(troupe_submit(rt, retrieve_task_db, args, 2, NULL,
				  &object_refs[left]));
		left++;
	}

	/* while len(object_refs) > 0:
	 *     finished, object_refs = ray.wait(object_refs, num_returns=2,
	 *                                      timeout=7.0)
	 *     data = ray.get(finished)
	 *
	 * troupe_wait marks every ref that has resolved.  Like ray.wait, move
	 * at most num_returns of them to `finished` and keep the rest. */
	while (left > 0) {
		bool ready[NWORDS];
		size_t num_returns = left < 2 ? left : 2, taken = 0, kept = 0;
		troupe_err err = troupe_wait(rt, object_refs, left, num_returns,
					     7.0, ready);

		/* A timeout is no error here: take whatever did finish. */
		if (err != TROUPE_ETIMEDOUT)
			TRY(err);
		for (size_t i = 0; i < left; i++) {
			if (ready[i] && taken < num_returns)
				finished[taken++] = object_refs[i];
			else
				object_refs[kept++] = object_refs[i];
		}
		left = kept;
		if (taken == 0) {
			check(false, "nothing finished within 7 s");
			goto out;
		}

		printf("  %.2f s:", now_s() - start);
		for (size_t i = 0; i < taken; i++) {
			troupe_value v;
			struct retrieved r;
			TRY(troupe_get(rt, finished[i], GET_TIMEOUT_S, &v));
			if (!as_retrieved(&v, &r) || !is_entry(&r, next))
				break;
			printf(" (%" PRId64 ", '%s')", r.idx, r.word);
			next++;
		}
		printf("\n");
		drop_all(rt, finished, taken);
	}
	check(next == NWORDS, "all %d arrived in the order of their sleeps",
	      NWORDS);
out:
	drop_all(rt, finished, 2);
	drop_all(rt, object_refs, left);
	drop(rt, &db_ref);
}

/* A follow-up result: the retrieve result it was given, and the next word. */
struct followup {
	struct retrieved retrieve_result;
	char followup_result[WORD_SIZE];
};

/* @ray.remote
 * def followup_task(retrieve_result, db):
 *     idx, _ = retrieve_result
 *     followup_result = db[idx+1]
 *     return retrieve_result, followup_result
 *
 * Submitted with a retrieve task's ref as its first argument: it runs once
 * that result is ready and reads it in place, no round trip through the
 * caller. */
static void followup_task(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
			  size_t nargs)
{
	struct followup out = {.followup_result = ""};
	const char *db;
	int64_t idx;

	(void)rt;
	if (nargs != 2 || !as_retrieved(&args[0], &out.retrieve_result) ||
	    args[1].size != sizeof database) {
		troupe_fail(ctx, "followup_task: bad arguments");
		return;
	}
	idx = out.retrieve_result.idx;
	if (idx < 0 || idx + 1 >= NWORDS) {
		troupe_fail(ctx, "followup_task: no word after %" PRId64, idx);
		return;
	}
	db = args[1].data;
	memcpy(out.followup_result, db + (idx + 1) * WORD_SIZE, WORD_SIZE - 1);
	troupe_return(ctx, &out, sizeof out);
}

static void tour_followup(troupe *rt)
{
	static const int64_t idxs[4] = {0, 2, 4, 6};
	troupe_ref retrieve_refs[4] = {{0}}, followup_refs[4] = {{0}};
	troupe_ref db_ref = {0};
	bool all = true;
	double start = now_s();

	section("Task dependencies: followup_task(retrieve_task ref, db ref)",
		"003");
	TRY(troupe_put(rt, database, sizeof database, &db_ref));
	/* retrieve_refs = [retrieve_task.remote(idx, db_obj_ref) for idx in ...]
	 * followup_refs = [followup_task.remote(ref, db_obj_ref) for ref in ...] */
	for (int i = 0; i < 4; i++) {
		troupe_arg args[] = {TROUPE_I64(idxs[i]), TROUPE_REF(db_ref)};
		TRY(troupe_submit(rt, retrieve_task_db, args, 2, NULL,
				  &retrieve_refs[i]));
	}
	for (int i = 0; i < 4; i++) {
		troupe_arg args[] = {TROUPE_REF(retrieve_refs[i]),
				     TROUPE_REF(db_ref)};
		TRY(troupe_submit(rt, followup_task, args, 2, NULL,
				  &followup_refs[i]));
	}
	/* result = ray.get(followup_refs) */
	printf("  result:");
	for (int i = 0; i < 4; i++) {
		troupe_value v;
		struct followup f;
		TRY(troupe_get(rt, followup_refs[i], GET_TIMEOUT_S, &v));
		all = all && v.size == sizeof f;
		if (!all)
			break;
		memcpy(&f, v.data, sizeof f);
		f.followup_result[WORD_SIZE - 1] = '\0';
		f.retrieve_result.word[WORD_SIZE - 1] = '\0';
		all = is_entry(&f.retrieve_result, idxs[i]) &&
		      strcmp(f.followup_result, database[idxs[i] + 1]) == 0;
		printf(" ((%" PRId64 ", '%s'), '%s')", f.retrieve_result.idx,
		       f.retrieve_result.word, f.followup_result);
	}
	printf("\n");
	check(all, "each follow-up got its retrieve result and the next word");
	printf("  %.2f s in all: each follow-up ran as soon as its retrieve "
	       "finished\n",
	       now_s() - start);
out:
	drop_all(rt, followup_refs, 4);
	drop_all(rt, retrieve_refs, 4);
	drop(rt, &db_ref);
}

/* ============================================ seeds/004: Ray Anyscale */

/* @ray.remote
 * def slow_function():
 *     time.sleep(5)  # Pretend this is doing some heavy work
 *     return "Done!"
 *
 * (Half a second makes the same point as the seed's five.) */
static void slow_function(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
			  size_t nargs)
{
	(void)rt, (void)args, (void)nargs;
	sleep_s(0.5);
	troupe_return_str(ctx, "Done!");
}

static void tour_slow_function(troupe *rt)
{
	troupe_ref future = {0};
	const char *result;
	double start = now_s(), submitted_s;

	section("Asynchronous execution: slow_function.remote() returns at once",
		"004");
	TRY(troupe_submit(rt, slow_function, NULL, 0, NULL, &future));
	submitted_s = now_s() - start;
	printf("  I can do other things while waiting!\n");
	check(submitted_s < 0.25, "the submit returned after %.3f s",
	      submitted_s);
	TRY(troupe_get_str(rt, future, GET_TIMEOUT_S, &result));
	check(strcmp(result, "Done!") == 0, "%s (after %.2f s)", result,
	      now_s() - start);
out:
	drop(rt, &future);
}

/* @ray.remote
 * def stateless_increment(count):
 *     return count + 1
 *
 * (The seed's StatefulCounter, the actor half of the comparison, comes with
 * the actors part of the tour.) */
static void stateless_increment(troupe *rt, troupe_ctx *ctx,
				const troupe_value *args, size_t nargs)
{
	int64_t count;

	(void)rt;
	if (arg_i64(ctx, args, nargs, 0, &count))
		troupe_return_i64(ctx, count + 1);
}

static void tour_stateless(troupe *rt)
{
	troupe_ref ref = {0};
	int64_t v;

	section("Stateless: stateless_increment.remote(0), twice", "004");
	for (int i = 0; i < 2; i++) {
		troupe_arg args[] = {TROUPE_I64(0)};
		TRY(troupe_submit(rt, stateless_increment, args, 1, NULL,
				  &ref));
		TRY(troupe_get_i64(rt, ref, GET_TIMEOUT_S, &v));
		check(v == 1, "stateless_increment(0) = %" PRId64, v);
		drop(rt, &ref);
	}
out:
	drop(rt, &ref);
}

/* @ray.remote
 * def add(x, y):
 *     return x + y                                                         */
static void add(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		size_t nargs)
{
	int64_t x, y;

	(void)rt;
	if (arg_i64(ctx, args, nargs, 0, &x) &&
	    arg_i64(ctx, args, nargs, 1, &y))
		troupe_return_i64(ctx, x + y);
}

static void tour_add(troupe *rt)
{
	troupe_ref result_ref = {0};
	int64_t result;

	section("Creating tasks: add.remote(2, 3)", "004");
	troupe_arg args[] = {TROUPE_I64(2), TROUPE_I64(3)};
	TRY(troupe_submit(rt, add, args, 2, NULL, &result_ref));
	TRY(troupe_get_i64(rt, result_ref, GET_TIMEOUT_S, &result));
	check(result == 5, "ray.get(add.remote(2, 3)) = %" PRId64, result);
out:
	drop(rt, &result_ref);
}

/* "If a task raises an exception, it's propagated when you call ray.get()".
 * In C a body fails with troupe_fail(); its refs resolve to TROUPE_ETASK
 * and carry the message. */
static void checked_sqrt(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
			 size_t nargs)
{
	double x;

	(void)rt;
	if (!arg_f64(ctx, args, nargs, 0, &x))
		return;
	if (x < 0) {
		troupe_fail(ctx, "math domain error: sqrt(%g)", x);
		return;
	}
	troupe_return_f64(ctx, sqrt(x));
}

/* Set if add_one ever runs: a task whose argument failed must not. */
static atomic_bool add_one_ran;

static void add_one(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		    size_t nargs)
{
	double x;

	(void)rt;
	atomic_store(&add_one_ran, true);
	if (arg_f64(ctx, args, nargs, 0, &x))
		troupe_return_f64(ctx, x + 1);
}

static void tour_errors(troupe *rt)
{
	/* A name makes the error messages say which task failed. */
	const troupe_task_opts sqrt_opts = {.name = "checked_sqrt"};
	const troupe_task_opts add_opts = {.name = "add_one"};
	troupe_ref bad = {0}, downstream = {0};
	const char *msg = NULL, *downstream_msg = NULL;
	troupe_err err;

	section("Error handling: a task's failure comes back from ray.get",
		"004");
	troupe_arg args[] = {TROUPE_F64(-1.0)};
	TRY(troupe_submit(rt, checked_sqrt, args, 1, &sqrt_opts, &bad));
	/* A task taking the failed result as its argument never runs; its
	 * ref fails too, with a message that says where it started. */
	troupe_arg dep[] = {TROUPE_REF(bad)};
	TRY(troupe_submit(rt, add_one, dep, 1, &add_opts, &downstream));

	err = troupe_get(rt, bad, GET_TIMEOUT_S, NULL);
	check(err == TROUPE_ETASK, "get(checked_sqrt(-1)): %s",
	      troupe_strerror(err));
	TRY(troupe_error_message(rt, bad, &msg));
	check(strstr(msg, "math domain error") != NULL, "its message: %s", msg);

	err = troupe_get(rt, downstream, GET_TIMEOUT_S, NULL);
	check(err == TROUPE_ETASK, "get(add_one(that ref)): %s",
	      troupe_strerror(err));
	TRY(troupe_error_message(rt, downstream, &downstream_msg));
	check(strstr(downstream_msg, "math domain error") != NULL,
	      "its message carries the cause: %s", downstream_msg);
	check(!atomic_load(&add_one_ran), "add_one's body never ran");
out:
	drop(rt, &downstream);
	drop(rt, &bad);
}

/* futures = [my_task.remote(i, i) for i in range(100)]
 * results = ray.get(futures)
 *
 * The seed leaves my_task undefined; here it multiplies its arguments. */
static void my_task(troupe *rt, troupe_ctx *ctx, const troupe_value *args,
		    size_t nargs)
{
	int64_t a, b;

	(void)rt;
	if (arg_i64(ctx, args, nargs, 0, &a) &&
	    arg_i64(ctx, args, nargs, 1, &b))
		troupe_return_i64(ctx, a * b);
}

static void tour_hundred_tasks(troupe *rt)
{
	enum { N = 100 };
	troupe_ref futures[N] = {{0}};
	int64_t results[N];
	bool in_order = true;

	section("Parallelism: [my_task.remote(i, i) for i in range(100)]",
		"004");
	for (int64_t i = 0; i < N; i++) {
		troupe_arg args[] = {TROUPE_I64(i), TROUPE_I64(i)};
		TRY(troupe_submit(rt, my_task, args, 2, NULL, &futures[i]));
	}
	TRY(get_all_i64(rt, futures, N, results));
	for (int64_t i = 0; i < N; i++)
		in_order = in_order && results[i] == i * i;
	check(in_order,
	      "results in order: [%" PRId64 ", %" PRId64 ", %" PRId64
	      ", ..., %" PRId64 "]",
	      results[0], results[1], results[2], results[N - 1]);
out:
	drop_all(rt, futures, N);
}

/* ================================================================ driver */

void tour_tasks(const struct tour_opts *opts)
{
	/* The notebooks' plain ray.init(): one worker per core. */
	troupe *rt = NULL;
	/* seeds/003 sleeps up to 0.7 s in each of 8 tasks at once. */
	troupe_config eight = {.num_workers = NWORDS};
	troupe *rt8 = NULL;

	if (!succeeded(troupe_init(&rt, NULL), "troupe_init(&rt, NULL)") ||
	    !succeeded(troupe_init(&rt8, &eight), "troupe_init(&rt8, &eight)"))
		goto out;

	tour_square(rt);
	tour_activity(rt);
	tour_sum_of_squares(rt);

	tour_serial_vs_parallel(); /* its own runtime of 5 workers */
	tour_arrays(rt);

	tour_sum_per_core(rt, opts->quick);
	tour_futures(rt);

	tour_retrieve(rt8);
	tour_wait(rt8);
	tour_followup(rt8);

	tour_slow_function(rt);
	tour_stateless(rt);
	tour_add(rt);
	tour_errors(rt);
	tour_hundred_tasks(rt);
out:
	stop(rt8);
	stop(rt);
}
