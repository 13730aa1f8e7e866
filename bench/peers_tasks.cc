// troupe-bench rows against the task-parallel peers (oneTBB, OpenMP) and the
// plain baselines (a sequential loop, a thread per task): 1,000,000 empty
// tasks, fib(30) with a task per call, and sum-of-squares scaling over 1..N
// workers.  See bench/README.md ("Task peers") for what each row times.
//
// Every troupe row reports its ratios to the peers as counters in its row.
// TBB, and the sum of squares' sequential baseline, are timed in turns with
// the row's own iterations (time_peer); the other peers once per process
// run (static), before the row's runtime starts.  The peer rows (…/tbb,
// …/openmp, …/sequential, …/thread_per_task) time the same work again on
// their own so that it shows in the table too.

#include <benchmark/benchmark.h>

#include <troupe.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <pthread.h>

#ifdef TROUPE_BENCH_TBB
#include <oneapi/tbb/task_group.h>
#endif
#ifdef TROUPE_BENCH_OPENMP
#include <omp.h>
#endif

#include "bench_util.h"

namespace
{

// Median of k timings of f() (seconds).  Used for the peers a troupe row is
// compared with: measured once per process run, before the row's runtime
// exists, so neither pool competes with the other for the CPUs.
template <class F> double median_seconds(int k, F &&f)
{
	std::vector<double> t;
	for (int i = 0; i < k; i++) {
		auto t0 = Clock::now();
		f();
		t.push_back(seconds_since(t0));
	}
	return median(std::move(t));
}

// The ratios with TBB are of medians of runs taken in turns: a troupe
// run, then a TBB run, and so on, within the row.  This VM's speed moves
// by 2-3x over tens of seconds (bench/README.md); a peer timed once, rows
// away, put that drift into the ratio.  Between runs a pause lets the pool
// that ran go idle (TBB's workers spin a while after a wait, troupe's
// before they park), so neither competes with the other's run.
void let_pools_idle()
{
	std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

// Times one run of f() while the row's clock is paused, between pauses.
template <class F> double time_peer(benchmark::State &state, F &&f)
{
	state.PauseTiming();
	let_pools_idle();
	auto t0 = Clock::now();
	f();
	double t = seconds_since(t0);
	let_pools_idle();
	state.ResumeTiming();
	return t;
}

// -------------------------------------------- 1,000,000 empty tasks

constexpr int kEmptyTasks = 1000000;
// Threads are megabytes each and ~10-50 us to start: the thread-per-task
// baseline runs this many and is reported per task.
constexpr int kThreadTasks = 2000;

// Called through a pointer the compiler cannot see through, so the
// sequential loop is not folded away.
void (*volatile empty_fn)() = [] {};

double seq_empty_seconds()
{
	auto t0 = Clock::now();
	void (*f)() = empty_fn;
	for (int i = 0; i < kEmptyTasks; i++)
		f();
	benchmark::ClobberMemory();
	return seconds_since(t0);
}

void *empty_thread(void *)
{
	return nullptr;
}

// Seconds per task: kThreadTasks threads started, then all joined.
double thread_per_task_seconds()
{
	std::vector<pthread_t> t(kThreadTasks);
	int started = 0;
	auto t0 = Clock::now();
	for (int i = 0; i < kThreadTasks; i++)
		if (pthread_create(&t[i], nullptr, empty_thread, nullptr) == 0)
			started++;
		else
			break;
	for (int i = 0; i < started; i++)
		pthread_join(t[i], nullptr);
	return seconds_since(t0) / (started ? started : 1);
}

#ifdef TROUPE_BENCH_TBB
double tbb_empty_seconds()
{
	auto t0 = Clock::now();
	tbb::task_group g;
	for (int i = 0; i < kEmptyTasks; i++)
		g.run([] {});
	g.wait();
	return seconds_since(t0);
}
#endif

// One run: submit kEmptyTasks, then get + release every ref.
troupe_err troupe_empty_run(troupe *rt, std::vector<troupe_ref> &refs)
{
	for (int i = 0; i < kEmptyTasks; i++) {
		troupe_err e = troupe_submit(rt, empty_task, nullptr, 0,
					     nullptr, &refs[i]);
		if (e != TROUPE_OK) {
			for (int k = 0; k < i; k++)
				troupe_release(rt, refs[k]);
			return e;
		}
	}
	troupe_err first = TROUPE_OK;
	for (int i = 0; i < kEmptyTasks; i++) {
		troupe_err e = troupe_get(rt, refs[i], -1, nullptr);
		if (e != TROUPE_OK && first == TROUPE_OK)
			first = e;
		troupe_release(rt, refs[i]);
	}
	return first;
}

struct EmptyPeers {
	double seq_s, thread_s;
};

const EmptyPeers &empty_peers()
{
	static const EmptyPeers p = [] {
		EmptyPeers r{};
		r.seq_s = median_seconds(3, [] { seq_empty_seconds(); });
		r.thread_s = thread_per_task_seconds() * kEmptyTasks;
		return r;
	}();
	return p;
}

// Each iteration: a troupe run, then (untimed) a TBB run; the rates are
// of the medians.
void empty_tasks_troupe(benchmark::State &state)
{
	const EmptyPeers &p = empty_peers();
#ifdef TROUPE_BENCH_TBB
	tbb_empty_seconds(); // start TBB's workers
	std::vector<double> tbb;
#endif
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	std::vector<troupe_ref> refs(kEmptyTasks);
	if (!check(state, troupe_empty_run(r.rt, refs), "warm-up run"))
		return;
	std::vector<double> mine;
	for (auto _ : state) {
		auto t0 = Clock::now();
		troupe_err e = troupe_empty_run(r.rt, refs);
		mine.push_back(seconds_since(t0));
		if (!check(state, e, "submit/get/release"))
			return;
#ifdef TROUPE_BENCH_TBB
		tbb.push_back(time_peer(state, tbb_empty_seconds));
#endif
	}
	double rate = kEmptyTasks / median(mine);
	state.SetItemsProcessed(state.iterations() * kEmptyTasks);
	state.counters["tasks_per_s"] = rate;
	state.counters["x_seq"] = rate / (kEmptyTasks / p.seq_s);
	state.counters["x_thread"] = rate / (kEmptyTasks / p.thread_s);
#ifdef TROUPE_BENCH_TBB
	state.counters["tbb_per_s"] = kEmptyTasks / median(tbb);
	state.counters["x_tbb"] = rate / state.counters["tbb_per_s"];
	state.counters["x_target"] = state.counters["x_tbb"]; // target >= 1
#endif
}

void empty_tasks_sequential(benchmark::State &state)
{
	for (auto _ : state)
		seq_empty_seconds();
	state.SetItemsProcessed(state.iterations() * kEmptyTasks);
}

void empty_tasks_thread_per_task(benchmark::State &state)
{
	// Per task: the row's time is for kThreadTasks threads.
	double per_task = 0;
	for (auto _ : state)
		per_task = thread_per_task_seconds();
	state.SetItemsProcessed(state.iterations() * kThreadTasks);
	state.counters["tasks_per_s"] = 1.0 / per_task;
	state.counters["threads"] = kThreadTasks;
}

#ifdef TROUPE_BENCH_TBB
void empty_tasks_tbb(benchmark::State &state)
{
	tbb_empty_seconds(); // start TBB's workers
	for (auto _ : state)
		tbb_empty_seconds();
	state.SetItemsProcessed(state.iterations() * kEmptyTasks);
}
#endif

// -------------------------------------------------- fib(30), a task per call

constexpr int kFibN = 30;
constexpr int kFibCutoff = 15; // the _cutoff15 row: n < 15 sequentially
constexpr int64_t kFib30 = 832040;

// noinline + the volatile n keep the compiler from turning the sequential
// baseline into a loop or a constant.
__attribute__((noinline)) int64_t fib_seq(int n)
{
	return n < 2 ? n : fib_seq(n - 1) + fib_seq(n - 2);
}

volatile int fib_n = kFibN;

// A task per call: submit fib(n-1) and fib(n-2), get both, return the sum.
// The results come back as refs; each get inside a body runs its child
// inline when no other worker has taken it (lib/sched.md).  Take: each
// child is read with troupe_take_i64 (get and release in one call)
// instead of troupe_get_i64 and troupe_release.
template <int Cutoff, bool Take>
void fib_body(troupe *rt, troupe_ctx *ctx, const troupe_value *args, size_t)
{
	int64_t n;
	troupe_value_i64(&args[0], &n);
	if (n < Cutoff || n < 2) {
		troupe_return_i64(ctx, fib_seq(int(n)));
		return;
	}
	troupe_ref refs[2];
	troupe_arg a1 = i64_arg(n - 1), a2 = i64_arg(n - 2);
	troupe_err e = troupe_submit(rt, fib_body<Cutoff, Take>, &a1, 1,
				     nullptr, &refs[0]);
	if (e != TROUPE_OK) {
		troupe_fail(ctx, "fib: submit failed");
		return;
	}
	e = troupe_submit(rt, fib_body<Cutoff, Take>, &a2, 1, nullptr,
			  &refs[1]);
	if (e != TROUPE_OK) {
		troupe_release(rt, refs[0]);
		troupe_fail(ctx, "fib: submit failed");
		return;
	}
	int64_t x = 0, y = 0;
	troupe_err e1, e2;
	if (Take) {
		// A take keeps the ref on failure.
		if ((e1 = troupe_take_i64(rt, refs[0], -1, &x)) != TROUPE_OK)
			troupe_release(rt, refs[0]);
		if ((e2 = troupe_take_i64(rt, refs[1], -1, &y)) != TROUPE_OK)
			troupe_release(rt, refs[1]);
	} else {
		e1 = troupe_get_i64(rt, refs[0], -1, &x);
		e2 = troupe_get_i64(rt, refs[1], -1, &y);
		troupe_release(rt, refs[0]);
		troupe_release(rt, refs[1]);
	}
	if (e1 != TROUPE_OK || e2 != TROUPE_OK) {
		troupe_fail(ctx, "fib: a child failed");
		return;
	}
	troupe_return_i64(ctx, x + y);
}

// The root, submitted from the benchmark thread and got there.
template <int Cutoff, bool Take>
troupe_err troupe_fib(troupe *rt, int n, int64_t *out)
{
	troupe_ref ref;
	troupe_arg a = i64_arg(n);
	troupe_err e = troupe_submit(rt, fib_body<Cutoff, Take>, &a, 1,
				     nullptr, &ref);
	if (e != TROUPE_OK)
		return e;
	e = troupe_get_i64(rt, ref, -1, out);
	troupe_release(rt, ref);
	return e;
}

#ifdef TROUPE_BENCH_TBB
// The classic: a task_group per call.
int64_t fib_tbb(int n)
{
	if (n < 2)
		return n;
	int64_t x, y;
	tbb::task_group g;
	g.run([&] { x = fib_tbb(n - 1); });
	g.run([&] { y = fib_tbb(n - 2); });
	g.wait();
	return x + y;
}
#endif

#ifdef TROUPE_BENCH_OPENMP
int64_t fib_omp_rec(int n)
{
	if (n < 2)
		return n;
	int64_t x, y;
#pragma omp task shared(x)
	x = fib_omp_rec(n - 1);
#pragma omp task shared(y)
	y = fib_omp_rec(n - 2);
#pragma omp taskwait
	return x + y;
}

int64_t fib_omp(int n)
{
	int64_t r = 0;
#pragma omp parallel
#pragma omp single
	r = fib_omp_rec(n);
	return r;
}
#endif

struct FibPeers {
	double seq_s, omp_s;
};

// The peers timed once per process run (TBB is timed in turns with each
// row: see let_pools_idle).
const FibPeers &fib_peers()
{
	static const FibPeers p = [] {
		FibPeers r{};
		r.seq_s = median_seconds(3, [] {
			benchmark::DoNotOptimize(fib_seq(fib_n));
		});
#ifdef TROUPE_BENCH_OPENMP
		fib_omp(20); // start the OpenMP team
		r.omp_s = median_seconds(3, [] {
			benchmark::DoNotOptimize(fib_omp(fib_n));
		});
#endif
		return r;
	}();
	return p;
}

// Each row runs fib(30) several times, each run followed (untimed) by one
// of TBB's, and reports the medians: one run of ~0.2 s moved by half
// between runs on this VM.
template <int Cutoff, bool Take> void fib_troupe(benchmark::State &state)
{
	const FibPeers &p = fib_peers();
#ifdef TROUPE_BENCH_TBB
	fib_tbb(20); // start TBB's workers
	std::vector<double> tbb;
	auto tbb_run = [] { benchmark::DoNotOptimize(fib_tbb(fib_n)); };
#endif
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	int64_t v = 0;
	if (!check(state, troupe_fib<Cutoff, Take>(r.rt, 20, &v),
		   "warm-up fib(20)"))
		return;
	std::vector<double> runs;
	for (auto _ : state) {
		auto t0 = Clock::now();
		troupe_err e = troupe_fib<Cutoff, Take>(r.rt, fib_n, &v);
		runs.push_back(seconds_since(t0));
		if (!check(state, e, "fib"))
			return;
		if (v != kFib30) {
			state.SkipWithError("fib(30) gave a wrong value");
			return;
		}
#ifdef TROUPE_BENCH_TBB
		tbb.push_back(time_peer(state, tbb_run));
#endif
	}
	double t = median(runs);
	state.counters["fib_s"] = t;
	state.counters["seq_s"] = p.seq_s;
	state.counters["t_x_seq"] = t / p.seq_s;
#ifdef TROUPE_BENCH_TBB
	state.counters["tbb_s"] = median(tbb);
	state.counters["t_x_tbb"] = t / median(tbb); // target <= 2
#endif
#ifdef TROUPE_BENCH_OPENMP
	state.counters["omp_s"] = p.omp_s;
	state.counters["t_x_omp"] = t / p.omp_s; // target < 1
#endif
}

void fib_sequential(benchmark::State &state)
{
	for (auto _ : state)
		benchmark::DoNotOptimize(fib_seq(fib_n));
}

#ifdef TROUPE_BENCH_TBB
void fib_tbb_row(benchmark::State &state)
{
	fib_tbb(20);
	for (auto _ : state)
		benchmark::DoNotOptimize(fib_tbb(fib_n));
}
#endif

#ifdef TROUPE_BENCH_OPENMP
void fib_omp_row(benchmark::State &state)
{
	fib_omp(20);
	for (auto _ : state)
		benchmark::DoNotOptimize(fib_omp(fib_n));
}
#endif

// ------------------------------------ sum of squares, 1..N workers
//
// seeds/002: sqrt(sum(x * x for x in range(1, 10**8))), split into kChunks
// tasks.  The sum (3.3e23) passes uint64_t, so each chunk carries into a
// high word (as tools/tour_tasks.c does) and returns 16 bytes; the caller
// adds them up exactly.

constexpr int64_t kSumEnd = 100000000;
constexpr int kChunks = 64;

struct U128 {
	uint64_t lo, hi;
};

__attribute__((noinline)) U128 sum_squares(int64_t a, int64_t b)
{
	U128 s{0, 0};
	for (int64_t x = a; x < b; x++) {
		uint64_t sq = uint64_t(x) * uint64_t(x);
		s.lo += sq;
		s.hi += s.lo < sq;
	}
	return s;
}

void add(U128 &s, U128 v)
{
	s.lo += v.lo;
	s.hi += v.hi + (s.lo < v.lo);
}

double to_double(U128 s)
{
	return std::ldexp(double(s.hi), 64) + double(s.lo);
}

// Chunk i of kChunks: the range [*a, *b) of the sum.
void chunk_range(int i, int64_t *a, int64_t *b)
{
	int64_t step = (kSumEnd - 1 + kChunks - 1) / kChunks;
	*a = 1 + i * step;
	*b = std::min(*a + step, kSumEnd);
}

void sum_body(troupe *, troupe_ctx *ctx, const troupe_value *args, size_t)
{
	int64_t a, b;
	troupe_value_i64(&args[0], &a);
	troupe_value_i64(&args[1], &b);
	U128 s = sum_squares(a, b);
	troupe_return(ctx, &s, sizeof s);
}

troupe_err troupe_sum(troupe *rt, double *out)
{
	troupe_ref refs[kChunks];
	for (int i = 0; i < kChunks; i++) {
		int64_t a, b;
		chunk_range(i, &a, &b);
		troupe_arg args[] = {i64_arg(a), i64_arg(b)};
		troupe_err e = troupe_submit(rt, sum_body, args, 2, nullptr,
					     &refs[i]);
		if (e != TROUPE_OK) {
			for (int k = 0; k < i; k++)
				troupe_release(rt, refs[k]);
			return e;
		}
	}
	// Wait for all first: a get with no timeout would run chunks nobody
	// has started on this thread (lib/sched.md), and the row measures
	// what the pool's N workers do.  A wait from outside never runs one.
	bool ready[kChunks];
	troupe_err w = troupe_wait(rt, refs, kChunks, kChunks, -1, ready);
	U128 s{0, 0};
	troupe_err first = w;
	for (int i = 0; i < kChunks; i++) {
		troupe_value v;
		troupe_err e = troupe_get(rt, refs[i], -1, &v);
		if (e == TROUPE_OK && v.size == sizeof(U128)) {
			U128 c;
			std::memcpy(&c, v.data, sizeof c);
			add(s, c);
		} else if (first == TROUPE_OK) {
			first = e != TROUPE_OK ? e : TROUPE_ETYPE;
		}
		troupe_release(rt, refs[i]);
	}
	*out = std::sqrt(to_double(s));
	return first;
}

double seq_sum()
{
	return std::sqrt(to_double(sum_squares(1, kSumEnd)));
}

// The same 64 chunks over n plain threads that take them in turn from an
// atomic counter: what a C programmer's own code gets out of these CPUs in
// the same moment.  A Gang (bench_util.h): the threads start once, with
// the row, and sleep on a condition variable between runs while the
// caller waits for them, as troupe's caller waits for its workers
// (threads started for each run read 1.67-1.71 against troupe's
// 1.90-1.99: a new thread starts on its parent's CPU and waits to be
// moved).  On this VM one vCPU at times runs
// at half speed for seconds (seen with plain threads and no troupe in the
// process: a loop pinned to it takes 110 ms instead of 55), which caps
// any n-thread run, this one as well.
struct ThreadsSum {
	explicit ThreadsSum(unsigned n)
		: part(n), gang(n, [this](unsigned t) { chunks(t); })
	{
	}
	double sum()
	{
		next = 0;
		std::fill(part.begin(), part.end(), U128{0, 0});
		gang.run();
		U128 s{0, 0};
		for (const U128 &p : part)
			add(s, p);
		return std::sqrt(to_double(s));
	}
	void chunks(unsigned t)
	{
		for (int i; (i = next.fetch_add(1)) < kChunks;) {
			int64_t a, b;
			chunk_range(i, &a, &b);
			add(part[t], sum_squares(a, b));
		}
	}
	std::vector<U128> part;
	std::atomic<int> next{0};
	Gang gang; // last: its threads use the members above
};

void sumsq_troupe(benchmark::State &state)
{
	double want = seq_sum();
	troupe_config cfg{};
	cfg.num_workers = unsigned(state.range(0));
	Runtime r(&cfg);
	if (!check(state, r.err, "troupe_init"))
		return;
	// Each iteration is followed (untimed) by one sequential run: one
	// iteration is ~60 ms on 2 cores, where one preemption by another
	// process shows, and a baseline timed once per process (as this row's
	// was) read up to 3.35 against runs it never met.
	ThreadsSum team(unsigned(state.range(0)));
	std::vector<double> ts, seq, thr;
	double v = 0;
	for (auto _ : state) {
		auto t0 = Clock::now();
		troupe_err e = troupe_sum(r.rt, &v);
		ts.push_back(seconds_since(t0));
		if (!check(state, e, "sum"))
			return;
		if (v != want) {
			state.SkipWithError("sum of squares: wrong value");
			return;
		}
		seq.push_back(time_peer(state, [] {
			benchmark::DoNotOptimize(seq_sum());
		}));
		double tv = 0;
		thr.push_back(time_peer(state, [&] { tv = team.sum(); }));
		if (tv != want) {
			state.SkipWithError(
				"sum of squares (threads): wrong value");
			return;
		}
	}
	// Each pair's own ratio, and their median: pairs met the same
	// machine, which on this VM drifts between 55 and 110 ms for the
	// sequential run alone.
	std::vector<double> pairs, thr_pairs;
	for (size_t i = 0; i < ts.size(); i++) {
		pairs.push_back(seq[i] / ts[i]);
		thr_pairs.push_back(seq[i] / thr[i]);
	}
	double t = median(std::move(ts));
	double base = median(std::move(seq));
	double speedup = median(std::move(pairs));
	double ceiling = median(std::move(thr_pairs));
	state.counters["median_s"] = t;
	state.counters["seq_s"] = base;
	state.counters["speedup"] = speedup;
	state.counters["threads_speedup"] = ceiling;
	state.counters["x_threads"] = speedup / ceiling;
	state.counters["per_worker"] = speedup / double(state.range(0));
	if (state.range(0) == 2)
		state.counters["x_target"] = speedup / 1.9;
}

void sumsq_sequential(benchmark::State &state)
{
	for (auto _ : state)
		benchmark::DoNotOptimize(seq_sum());
}

void sumsq_workers(benchmark::internal::Benchmark *b)
{
	unsigned n = bench_cpus();
	for (unsigned w = 1; w <= n; w++)
		b->Arg(int64_t(w));
}

} // namespace

BENCHMARK(empty_tasks_troupe)
	->Name("peer_empty_tasks_1M/troupe")
	->Iterations(5)
	->UseRealTime()
	->Unit(benchmark::kMillisecond);
#ifdef TROUPE_BENCH_TBB
BENCHMARK(empty_tasks_tbb)
	->Name("peer_empty_tasks_1M/tbb")
	->Iterations(3)
	->UseRealTime()
	->Unit(benchmark::kMillisecond);
#endif
BENCHMARK(empty_tasks_sequential)
	->Name("peer_empty_tasks_1M/sequential")
	->Iterations(3)
	->UseRealTime()
	->Unit(benchmark::kMillisecond);
BENCHMARK(empty_tasks_thread_per_task)
	->Name("peer_empty_tasks_1M/thread_per_task_2000")
	->Iterations(1)
	->UseRealTime()
	->Unit(benchmark::kMillisecond);

BENCHMARK_TEMPLATE(fib_troupe, 0, false)
	->Name("peer_fib30/troupe")
	->Iterations(5)
	->UseRealTime()
	->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(fib_troupe, 0, true)
	->Name("peer_fib30/troupe_take")
	->Iterations(5)
	->UseRealTime()
	->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(fib_troupe, kFibCutoff, false)
	->Name("peer_fib30/troupe_cutoff15")
	->Iterations(5)
	->UseRealTime()
	->Unit(benchmark::kMillisecond);
#ifdef TROUPE_BENCH_TBB
BENCHMARK(fib_tbb_row)
	->Name("peer_fib30/tbb")
	->Iterations(1)
	->UseRealTime()
	->Unit(benchmark::kMillisecond);
#endif
#ifdef TROUPE_BENCH_OPENMP
BENCHMARK(fib_omp_row)
	->Name("peer_fib30/openmp")
	->Iterations(1)
	->UseRealTime()
	->Unit(benchmark::kMillisecond);
#endif
BENCHMARK(fib_sequential)
	->Name("peer_fib30/sequential")
	->Iterations(3)
	->UseRealTime()
	->Unit(benchmark::kMillisecond);

BENCHMARK(sumsq_troupe)
	->Name("peer_sumsq_1e8/troupe")
	->ArgName("workers")
	->Apply(sumsq_workers)
	->Iterations(5)
	->UseRealTime()
	->Unit(benchmark::kMillisecond);
BENCHMARK(sumsq_sequential)
	->Name("peer_sumsq_1e8/sequential")
	->Iterations(5)
	->UseRealTime()
	->Unit(benchmark::kMillisecond);
