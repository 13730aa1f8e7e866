// troupe-bench: the short benchmark table (Google Benchmark, C++17, calling
// the public C API only).
//
// Every figure is paired with a baseline measured in the same process run and
// reported as counters beside it (see bench/README.md for how to read them):
//   base_per_s  the baseline's rate, measured once per run before the first
//               troupe iteration (kBaselineSeconds of wall time)
//   x_base      troupe's rate / the baseline's rate
//   x_ray       troupe's rate / Ray 2.48.0's published rate (where one exists)
//   x_target    troupe's rate / the target rate (>= 1: target met)
//
// The resource figures (memory per pending task, idle CPU, RSS growth) run in
// a fresh child process (this executable re-run with --troupe-bench-child=)
// so that what earlier benchmarks left in the heap cannot hide or inflate an
// RSS delta.  No figure here is asserted on: this program reports, it never
// fails on a slow result.

#include <benchmark/benchmark.h>

#include <troupe.h>

#include "bench_util.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

namespace
{

// Ray 2.48.0, release/perf_metrics/microbenchmark.json (m5.16xlarge, 64 vCPU).
constexpr double kRayTasksAsync = 8041.0;
constexpr double kRayTasksSync = 981.0;

// Targets from the issue (rates per second, bytes, ms/s).
constexpr double kTargetTasksAsync = 2e6;
constexpr double kTargetTasksSync = 3e5;
constexpr double kTargetPut = 5e6;
constexpr double kTargetGet = 1e7;

constexpr int kAsyncBatch = 1000;

// The figures a benchmark function reports once its loop is over.
void report(benchmark::State &state, double rate, double base, double ray,
	    double target)
{
	state.counters["base_per_s"] = base;
	state.counters["x_base"] = rate / base;
	if (ray > 0)
		state.counters["x_ray"] = rate / ray;
	if (target > 0)
		state.counters["x_target"] = rate / target;
}

// The sequential baseline calls the same body through a pointer the compiler
// cannot see through, so the call is not folded away.
troupe_fn volatile empty_task_ptr = empty_task;

// ------------------------------------------------------------ tasks

// Submit kAsyncBatch empty tasks, then get and release every ref.
void single_client_tasks_async(benchmark::State &state)
{
	static const double base = measure_rate(
		[] {
			troupe_fn f = empty_task_ptr;
			for (int i = 0; i < kAsyncBatch; i++)
				f(nullptr, nullptr, nullptr, 0);
			benchmark::ClobberMemory();
		},
		kAsyncBatch);
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	std::vector<troupe_ref> refs(kAsyncBatch);
	auto batch = [&]() -> bool {
		for (int i = 0; i < kAsyncBatch; i++) {
			troupe_err e = troupe_submit(r.rt, empty_task, nullptr,
						     0, nullptr, &refs[i]);
			if (!check(state, e, "troupe_submit"))
				return false;
		}
		for (int i = 0; i < kAsyncBatch; i++) {
			troupe_value v;
			troupe_err e = troupe_get(r.rt, refs[i], -1, &v);
			if (!check(state, e, "troupe_get"))
				return false;
			troupe_release(r.rt, refs[i]);
		}
		return true;
	};
	if (!batch()) // warm-up, as the actor rows (and Ray's timeit) do
		return;
	auto t0 = Clock::now();
	for (auto _ : state)
		if (!batch())
			return;
	double el = seconds_since(t0);
	double items = double(state.iterations()) * kAsyncBatch;
	state.SetItemsProcessed(int64_t(items));
	report(state, items / el, base, kRayTasksAsync, kTargetTasksAsync);
}

void *empty_thread(void *)
{
	return nullptr;
}

// One submit, get and release at a time.
void single_client_tasks_sync(benchmark::State &state)
{
	// What you'd write without a pool: a thread per call, joined at once.
	static const double base = measure_rate(
		[] {
			pthread_t t;
			if (pthread_create(&t, nullptr, empty_thread,
					   nullptr) == 0)
				pthread_join(t, nullptr);
		},
		1);
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	auto call = [&]() -> bool {
		troupe_ref ref;
		troupe_value v;
		troupe_err e = troupe_submit(r.rt, empty_task, nullptr, 0,
					     nullptr, &ref);
		if (!check(state, e, "troupe_submit"))
			return false;
		e = troupe_get(r.rt, ref, -1, &v);
		if (!check(state, e, "troupe_get"))
			return false;
		troupe_release(r.rt, ref);
		return true;
	};
	if (!call()) // warm-up, as the actor rows do
		return;
	auto t0 = Clock::now();
	for (auto _ : state)
		if (!call())
			return;
	double el = seconds_since(t0);
	state.SetItemsProcessed(state.iterations());
	report(state, double(state.iterations()) / el, base, kRayTasksSync,
	       kTargetTasksSync);
}

// The spin window (troupe_config.spin_us), swept: how it trades the latency
// of a call arriving after a gap against CPU burned while nothing comes.
// Arg 0 is spin_us (-1: park at once); arg 1 the gap between calls in us.
// Reports the call rate and the process CPU time per call; with a gap, the
// CPU a call costs includes what idle workers spun away waiting for it.
// The sweep behind lib/sched.md's default.
double process_cpu_s()
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

void spin_window_sync(benchmark::State &state)
{
	troupe_config cfg{};
	cfg.spin_us = int(state.range(0));
	long gap_us = long(state.range(1));
	Runtime r(&cfg);
	if (!check(state, r.err, "troupe_init"))
		return;
	double busy = 0; // wall time inside submit+get, gaps excluded
	double cpu0 = process_cpu_s();
	for (auto _ : state) {
		if (gap_us > 0) {
			// Sleep through the gap; the gap's CPU is charged to
			// the runtime (this thread burns none while asleep).
			struct timespec ts = {0, gap_us * 1000};
			nanosleep(&ts, nullptr);
		}
		auto t0 = Clock::now();
		troupe_ref ref;
		troupe_err e = troupe_submit(r.rt, empty_task, nullptr, 0,
					     nullptr, &ref);
		if (!check(state, e, "troupe_submit"))
			return;
		e = troupe_get(r.rt, ref, -1, nullptr);
		if (!check(state, e, "troupe_get"))
			return;
		troupe_release(r.rt, ref);
		busy += seconds_since(t0);
	}
	double cpu = process_cpu_s() - cpu0;
	double n = double(state.iterations());
	state.counters["calls_per_busy_s"] = n / busy;
	state.counters["us_per_call"] = busy / n * 1e6;
	state.counters["cpu_us_per_call"] = cpu / n * 1e6;
}

// ----------------------------------------------------------- objects

// troupe_put of 8 bytes + troupe_release.
void put_8B_release(benchmark::State &state)
{
	static const double base = measure_rate(
		[] {
			for (int i = 0; i < 1000; i++) {
				uint64_t x = uint64_t(i);
				void *p = std::malloc(sizeof x);
				benchmark::DoNotOptimize(p);
				std::memcpy(p, &x, sizeof x);
				benchmark::ClobberMemory();
				std::free(p);
			}
		},
		1000);
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	uint64_t x = 0;
	auto t0 = Clock::now();
	for (auto _ : state) {
		troupe_ref ref;
		x++;
		troupe_err e = troupe_put(r.rt, &x, sizeof x, &ref);
		if (!check(state, e, "troupe_put"))
			return;
		troupe_release(r.rt, ref);
	}
	double el = seconds_since(t0);
	state.SetItemsProcessed(state.iterations());
	report(state, double(state.iterations()) / el, base, 0, kTargetPut);
}

constexpr unsigned kGetObjects = 1024; // power of two: index by mask

// troupe_get of an object that is already ready (cycling over kGetObjects).
void get_ready_8B(benchmark::State &state)
{
	// What you'd write instead: a mutex-protected hash map of the values.
	static const double base = [] {
		std::mutex mu;
		std::unordered_map<uint64_t, std::vector<char> > map;
		for (uint64_t k = 1; k <= kGetObjects; k++)
			map.emplace(k, std::vector<char>(8, char(k)));
		uint64_t k = 0;
		return measure_rate(
			[&] {
				for (int i = 0; i < 1000; i++) {
					std::lock_guard<std::mutex> g(mu);
					auto it = map.find(
						(k++ & (kGetObjects - 1)) + 1);
					const void *data = it->second.data();
					size_t size = it->second.size();
					benchmark::DoNotOptimize(data);
					benchmark::DoNotOptimize(size);
				}
			},
			1000);
	}();
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	std::vector<troupe_ref> refs(kGetObjects);
	for (unsigned i = 0; i < kGetObjects; i++) {
		uint64_t x = i;
		if (!check(state, troupe_put(r.rt, &x, sizeof x, &refs[i]),
			   "troupe_put"))
			return;
	}
	unsigned i = 0;
	auto t0 = Clock::now();
	for (auto _ : state) {
		troupe_value v;
		troupe_err e =
			troupe_get(r.rt, refs[i++ & (kGetObjects - 1)], -1, &v);
		if (!check(state, e, "troupe_get"))
			return;
		benchmark::DoNotOptimize(v);
	}
	double el = seconds_since(t0);
	state.SetItemsProcessed(state.iterations());
	report(state, double(state.iterations()) / el, base, 0, kTargetGet);
	for (auto ref : refs)
		troupe_release(r.rt, ref);
}

// ------------------------------------------------------------ actors
//
// Ray's `ray microbenchmark` actor rows (python/ray/_private/ray_perf.py):
// 1_1 = one caller, one actor; 1_n = one caller, n actors; n_n = n caller
// threads, each with its own actor; _sync = one call then get; _async = a
// batch of calls then get all; _concurrent = an actor with max_concurrency
// > 1.  Ray's methods return b"ok"; so do these.

constexpr double kRayActorSync = 2012.0;
constexpr double kRayActorAsync = 8664.0;
constexpr double kRayActorConcurrent = 5775.0;
constexpr double kRayActor1N = 8038.0;
constexpr double kRayActorNN = 27376.0;
constexpr double kRayActorNNArg = 2759.0;

constexpr double kTargetActorSync = 3e5;
constexpr double kTargetActorAsync = 3e6;
constexpr double kTargetActorNN = 3e6; // in total, over all callers
constexpr double kTargetFireAndForget = 1e7;

constexpr unsigned kConcurrency = 4; // 1_1_actor_calls_concurrent
constexpr unsigned kFanOut = 4;	     // 1_n_actor_calls_async
constexpr int kFireBatch = 10000;    // actor_calls_fire_and_forget

// The actor: an 8-byte counter of the calls it ran.
void small_value(troupe *, troupe_ctx *ctx, void *state, const troupe_value *,
		 size_t)
{
	++*static_cast<uint64_t *>(state);
	troupe_return(ctx, "ok", 2); // EINVAL (ignored) when fire-and-forget
}

// The same for max_concurrency > 1, where the state is the methods' to
// protect.
void small_value_shared(troupe *, troupe_ctx *ctx, void *state,
			const troupe_value *, size_t)
{
	__atomic_fetch_add(static_cast<uint64_t *>(state), 1, __ATOMIC_RELAXED);
	troupe_return(ctx, "ok", 2);
}

// With a small argument (an i64), read like a real method would.
void small_value_arg(troupe *, troupe_ctx *ctx, void *state,
		     const troupe_value *args, size_t nargs)
{
	int64_t x;
	if (nargs != 1 || troupe_value_i64(&args[0], &x) != TROUPE_OK) {
		troupe_fail(ctx, "small_value_arg: expected one i64");
		return;
	}
	benchmark::DoNotOptimize(x);
	++*static_cast<uint64_t *>(state);
	troupe_return(ctx, "ok", 2);
}

// Returns the counter: the benchmarks check that every call ran.
void read_count(troupe *, troupe_ctx *ctx, void *state, const troupe_value *,
		size_t)
{
	uint64_t n = __atomic_load_n(static_cast<uint64_t *>(state),
				     __ATOMIC_RELAXED);
	troupe_return_i64(ctx, int64_t(n));
}

const troupe_method kMethods[] = {small_value, small_value_shared,
				  small_value_arg, read_count};

const troupe_class kCounterClass = {
	"bench_counter", sizeof(uint64_t), nullptr,
	nullptr,	 kMethods,	   sizeof kMethods / sizeof kMethods[0],
};

// An actor of kCounterClass, released at scope exit (before the runtime's
// shutdown: declare it after the Runtime).
struct Actor {
	troupe *rt;
	troupe_actor a{0};
	troupe_err err;
	Actor(troupe *r, unsigned max_concurrency = 0) : rt(r)
	{
		troupe_actor_opts o{};
		o.max_concurrency = max_concurrency;
		err = troupe_actor_create(rt, &kCounterClass, nullptr, 0, &o,
					  &a);
	}
	~Actor()
	{
		if (err == TROUPE_OK)
			troupe_actor_release(rt, a);
	}
	Actor(const Actor &) = delete;
	Actor &operator=(const Actor &) = delete;
};

// n calls of method on actor (args: i64(i) when with_arg), then get and
// release each ref.  refs has room for n.
troupe_err call_batch(troupe *rt, troupe_actor a, troupe_method m, int n,
		      bool with_arg, troupe_ref *refs)
{
	for (int i = 0; i < n; i++) {
		troupe_arg arg = i64_arg(i);
		troupe_err e = troupe_actor_call(rt, a, m,
						 with_arg ? &arg : nullptr,
						 with_arg ? 1 : 0, &refs[i]);
		if (e != TROUPE_OK) {
			for (int k = 0; k < i; k++)
				troupe_release(rt, refs[k]);
			return e;
		}
	}
	troupe_err first = TROUPE_OK;
	for (int i = 0; i < n; i++) {
		troupe_value v;
		troupe_err e = troupe_get(rt, refs[i], -1, &v);
		if (e != TROUPE_OK && first == TROUPE_OK)
			first = e;
		troupe_release(rt, refs[i]);
	}
	return first;
}

// Checks that the actor ran `expected` counting calls (every call made,
// none lost or run twice).  Reports the mismatch as the benchmark's error.
bool check_count(benchmark::State &state, troupe *rt, troupe_actor a,
		 uint64_t expected)
{
	troupe_ref ref;
	troupe_value v;
	int64_t n = -1;
	troupe_err e = troupe_actor_call(rt, a, read_count, nullptr, 0, &ref);
	if (!check(state, e, "troupe_actor_call (read_count)"))
		return false;
	e = troupe_get(rt, ref, -1, &v);
	if (e == TROUPE_OK)
		e = troupe_value_i64(&v, &n);
	troupe_release(rt, ref);
	if (!check(state, e, "troupe_get (read_count)"))
		return false;
	if (uint64_t(n) != expected) {
		std::string msg = "actor ran " + std::to_string(n) +
				  " calls, expected " +
				  std::to_string(expected);
		state.SkipWithError(msg.c_str());
		return false;
	}
	return true;
}

// --- baselines: what a C programmer would write instead of an actor

// One message: the call's (small) argument.
struct Msg {
	int64_t arg;
};

// The same method body as small_value / small_value_arg, on plain memory.
void base_method(uint64_t *state, int64_t arg)
{
	benchmark::DoNotOptimize(arg);
	++*state;
	char out[2];
	std::memcpy(out, "ok", 2);
	benchmark::DoNotOptimize(out);
}

// Sync baseline: a dedicated thread serving one request at a time through a
// mutex and two condition variables (one round trip per call).
class SyncServer {
	std::mutex mu;
	std::condition_variable cv_req, cv_resp;
	bool req = false, resp = false, stop = false;
	uint64_t state = 0;
	std::thread th;

	void serve()
	{
		std::unique_lock<std::mutex> g(mu);
		for (;;) {
			cv_req.wait(g, [&] { return req || stop; });
			if (stop)
				return;
			req = false;
			base_method(&state, 0);
			resp = true;
			cv_resp.notify_one();
		}
	}

    public:
	SyncServer() : th([this] { serve(); })
	{
	}
	~SyncServer()
	{
		{
			std::lock_guard<std::mutex> g(mu);
			stop = true;
		}
		cv_req.notify_one();
		th.join();
	}
	void call()
	{
		std::unique_lock<std::mutex> g(mu);
		req = true;
		cv_req.notify_one();
		cv_resp.wait(g, [&] { return resp; });
		resp = false;
	}
};

// Async baseline: a mutex-protected std::deque of messages consumed by
// `consumers` threads (one: an actor; several: max_concurrency).  push()
// queues one; wait_all() blocks until everything pushed so far has run.
class QueueActor {
	std::mutex mu;
	std::condition_variable cv_work, cv_done;
	std::deque<Msg> q;
	uint64_t pushed = 0, done = 0;
	bool stop = false, waiting = false;
	uint64_t state = 0; // atomic when consumers > 1
	bool shared;
	std::vector<std::thread> th;

	void consume()
	{
		std::unique_lock<std::mutex> g(mu);
		for (;;) {
			cv_work.wait(g, [&] { return stop || !q.empty(); });
			if (q.empty())
				return;
			Msg m = q.front();
			q.pop_front();
			g.unlock();
			if (shared) // as small_value_shared
				__atomic_fetch_add(&state, 1, __ATOMIC_RELAXED);
			else
				base_method(&state, m.arg);
			g.lock();
			if (++done == pushed && waiting)
				cv_done.notify_one();
		}
	}

    public:
	explicit QueueActor(unsigned consumers = 1) : shared(consumers > 1)
	{
		for (unsigned i = 0; i < consumers; i++)
			th.emplace_back([this] { consume(); });
	}
	~QueueActor()
	{
		{
			std::lock_guard<std::mutex> g(mu);
			stop = true;
		}
		cv_work.notify_all();
		for (auto &t : th)
			t.join();
	}
	void push(int64_t arg)
	{
		{
			std::lock_guard<std::mutex> g(mu);
			q.push_back(Msg{arg});
			pushed++;
		}
		cv_work.notify_one();
	}
	void wait_all()
	{
		std::unique_lock<std::mutex> g(mu);
		waiting = true;
		cv_done.wait(g, [&] { return done == pushed; });
		waiting = false;
	}
};

unsigned num_cpus()
{
	return bench_cpus();
}

// The baseline for the _async rows: `actors` QueueActors of `consumers`
// threads each; one batch = `per_actor` messages pushed round-robin over
// them, then a wait for all.
double queue_async_rate(unsigned actors, unsigned consumers, int per_actor)
{
	std::vector<std::unique_ptr<QueueActor> > qs;
	for (unsigned i = 0; i < actors; i++)
		qs.emplace_back(new QueueActor(consumers));
	return measure_rate(
		[&] {
			for (int i = 0; i < per_actor; i++)
				for (auto &q : qs)
					q->push(i);
			for (auto &q : qs)
				q->wait_all();
		},
		double(per_actor) * actors);
}

// 1_1_actor_calls_sync: one call, then get, at a time.
void actor_calls_sync_1_1(benchmark::State &state)
{
	static const double base = [] {
		SyncServer s;
		return measure_rate([&] { s.call(); }, 1);
	}();
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	Actor a(r.rt);
	if (!check(state, a.err, "troupe_actor_create"))
		return;
	troupe_ref ref;
	if (!check(state, call_batch(r.rt, a.a, small_value, 1, false, &ref),
		   "warm-up call"))
		return;
	auto t0 = Clock::now();
	for (auto _ : state) {
		troupe_value v;
		troupe_err e = troupe_actor_call(r.rt, a.a, small_value,
						 nullptr, 0, &ref);
		if (!check(state, e, "troupe_actor_call"))
			return;
		e = troupe_get(r.rt, ref, -1, &v);
		troupe_release(r.rt, ref);
		if (!check(state, e, "troupe_get"))
			return;
	}
	double el = seconds_since(t0);
	if (!check_count(state, r.rt, a.a, state.iterations() + 1))
		return;
	state.SetItemsProcessed(state.iterations());
	report(state, double(state.iterations()) / el, base, kRayActorSync,
	       kTargetActorSync);
}

// 1_1_actor_calls_async (max_concurrency 1) and 1_1_actor_calls_concurrent
// (max_concurrency kConcurrency): kAsyncBatch calls, then get all.
void actor_calls_async_1_1_impl(benchmark::State &state, unsigned conc,
				double base, double ray, double target)
{
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	Actor a(r.rt, conc);
	if (!check(state, a.err, "troupe_actor_create"))
		return;
	troupe_method m = conc > 1 ? small_value_shared : small_value;
	std::vector<troupe_ref> refs(kAsyncBatch);
	if (!check(state,
		   call_batch(r.rt, a.a, m, kAsyncBatch, false, refs.data()),
		   "warm-up batch"))
		return;
	auto t0 = Clock::now();
	for (auto _ : state)
		if (!check(state,
			   call_batch(r.rt, a.a, m, kAsyncBatch, false,
				      refs.data()),
			   "troupe_actor_call/get"))
			return;
	double el = seconds_since(t0);
	double items = double(state.iterations()) * kAsyncBatch;
	if (!check_count(state, r.rt, a.a, uint64_t(items) + kAsyncBatch))
		return;
	state.SetItemsProcessed(int64_t(items));
	report(state, items / el, base, ray, target);
}

void actor_calls_async_1_1(benchmark::State &state)
{
	static const double base = queue_async_rate(1, 1, kAsyncBatch);
	actor_calls_async_1_1_impl(state, 0, base, kRayActorAsync,
				   kTargetActorAsync);
}

void actor_calls_concurrent_1_1(benchmark::State &state)
{
	static const double base =
		queue_async_rate(1, kConcurrency, kAsyncBatch);
	actor_calls_async_1_1_impl(state, kConcurrency, base,
				   kRayActorConcurrent, 0);
	state.counters["max_concurrency"] = kConcurrency;
}

// 1_n_actor_calls_async: kAsyncBatch calls round-robin over kFanOut actors,
// then get all.
void actor_calls_async_1_n(benchmark::State &state)
{
	static const double base =
		queue_async_rate(kFanOut, 1, kAsyncBatch / int(kFanOut));
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	std::vector<std::unique_ptr<Actor> > actors;
	for (unsigned i = 0; i < kFanOut; i++) {
		actors.emplace_back(new Actor(r.rt));
		if (!check(state, actors.back()->err, "troupe_actor_create"))
			return;
	}
	std::vector<troupe_ref> refs(kAsyncBatch);
	auto batch = [&]() -> troupe_err {
		for (int i = 0; i < kAsyncBatch; i++) {
			troupe_err e = troupe_actor_call(
				r.rt, actors[unsigned(i) % kFanOut]->a,
				small_value, nullptr, 0, &refs[i]);
			if (e != TROUPE_OK) {
				for (int k = 0; k < i; k++)
					troupe_release(r.rt, refs[k]);
				return e;
			}
		}
		troupe_err first = TROUPE_OK;
		for (auto ref : refs) {
			troupe_err e = troupe_get(r.rt, ref, -1, nullptr);
			if (e != TROUPE_OK && first == TROUPE_OK)
				first = e;
			troupe_release(r.rt, ref);
		}
		return first;
	};
	if (!check(state, batch(), "warm-up batch"))
		return;
	auto t0 = Clock::now();
	for (auto _ : state)
		if (!check(state, batch(), "troupe_actor_call/get"))
			return;
	double el = seconds_since(t0);
	double items = double(state.iterations()) * kAsyncBatch;
	uint64_t per = (uint64_t(items) + kAsyncBatch) / kFanOut;
	for (auto &a : actors)
		if (!check_count(state, r.rt, a->a, per))
			return;
	state.SetItemsProcessed(int64_t(items));
	state.counters["actors"] = kFanOut;
	report(state, items / el, base, kRayActor1N, 0);
}

// n_n_actor_calls_async / n_n_actor_calls_with_arg_async: one caller
// thread per CPU, each with its own actor; each caller makes kAsyncBatch
// calls and gets them all per iteration.  The rate is the total.
void actor_calls_async_n_n_impl(benchmark::State &state, bool with_arg,
				double base, double ray, double target)
{
	unsigned n = num_cpus();
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	std::vector<std::unique_ptr<Actor> > actors;
	for (unsigned i = 0; i < n; i++) {
		actors.emplace_back(new Actor(r.rt));
		if (!check(state, actors.back()->err, "troupe_actor_create"))
			return;
	}
	troupe_method m = with_arg ? small_value_arg : small_value;
	std::vector<std::vector<troupe_ref> > refs(
		n, std::vector<troupe_ref>(kAsyncBatch));
	std::vector<troupe_err> errs(n, TROUPE_OK);
	uint64_t runs = 0;
	{
		// Declared after the actors: its threads are joined first.
		Gang gang(n, [&](unsigned i) {
			troupe_err e = call_batch(r.rt, actors[i]->a, m,
						  kAsyncBatch, with_arg,
						  refs[i].data());
			if (e != TROUPE_OK)
				errs[i] = e;
		});
		auto run = [&]() -> bool {
			gang.run();
			runs++;
			for (auto e : errs)
				if (!check(state, e, "troupe_actor_call/get"))
					return false;
			return true;
		};
		if (!run())
			return;
		auto t0 = Clock::now();
		for (auto _ : state)
			if (!run())
				return;
		double el = seconds_since(t0);
		double items = double(state.iterations()) * kAsyncBatch * n;
		state.SetItemsProcessed(int64_t(items));
		state.counters["callers"] = n;
		report(state, items / el, base, ray, target);
	}
	for (auto &a : actors)
		if (!check_count(state, r.rt, a->a, runs * kAsyncBatch))
			return;
}

// Baseline: one caller thread per CPU, each with its own QueueActor.
double queue_async_rate_n_n()
{
	unsigned n = num_cpus();
	std::vector<std::unique_ptr<QueueActor> > qs;
	for (unsigned i = 0; i < n; i++)
		qs.emplace_back(new QueueActor(1));
	Gang gang(n, [&](unsigned i) {
		for (int k = 0; k < kAsyncBatch; k++)
			qs[i]->push(k);
		qs[i]->wait_all();
	});
	return measure_rate([&] { gang.run(); }, double(kAsyncBatch) * n);
}

void actor_calls_async_n_n(benchmark::State &state)
{
	static const double base = queue_async_rate_n_n();
	actor_calls_async_n_n_impl(state, false, base, kRayActorNN,
				   kTargetActorNN);
}

void actor_calls_with_arg_async_n_n(benchmark::State &state)
{
	static const double base = queue_async_rate_n_n();
	actor_calls_async_n_n_impl(state, true, base, kRayActorNNArg, 0);
}

// Items per second through a plain lock-free ring between this thread and
// a new one: how fast this machine moves cache lines between two CPUs just
// now.  On the 2-vCPU VM that swings by 4x or more over tens of seconds (the
// host moves its vCPUs), and a one-caller, one-actor stream moves with it.
double spsc_ring_rate(long n)
{
	constexpr unsigned kRing = 1024;
	static uint64_t ring[kRing];
	alignas(64) static std::atomic<uint64_t> head, tail;
	head.store(0);
	tail.store(0);
	auto t0 = Clock::now();
	std::thread consumer([n] {
		uint64_t sum = 0;
		for (long i = 0; i < n; i++) {
			uint64_t h = head.load(std::memory_order_relaxed);
			while (h == tail.load(std::memory_order_acquire))
				;
			sum += ring[h % kRing];
			head.store(h + 1, std::memory_order_release);
		}
		benchmark::DoNotOptimize(sum);
	});
	for (long i = 0; i < n; i++) {
		uint64_t t = tail.load(std::memory_order_relaxed);
		while (t - head.load(std::memory_order_acquire) >= kRing)
			;
		ring[t % kRing] = uint64_t(i);
		tail.store(t + 1, std::memory_order_release);
	}
	consumer.join();
	return double(n) / seconds_since(t0);
}

// actor_calls_fire_and_forget: kFireBatch - 1 calls with ref = NULL, then
// one with a ref, gotten: the caller's calls run in order, so once it is
// in all the batch has run.  Every kRingEvery batches, untimed, the plain
// ring runs (spsc_ring_rate) and then one more batch to wake the pool: the
// ring's rate over the row's own time, x_spsc, tells a slow stretch of the
// machine from a slow troupe.
void actor_calls_fire_and_forget(benchmark::State &state)
{
	constexpr int kRingEvery = 20;
	constexpr long kRingItems = 1000000;
	static const double base = queue_async_rate(1, 1, kFireBatch);
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	Actor a(r.rt);
	if (!check(state, a.err, "troupe_actor_create"))
		return;
	auto batch = [&]() -> troupe_err {
		for (int i = 0; i < kFireBatch - 1; i++) {
			troupe_err e = troupe_actor_call(r.rt, a.a, small_value,
							 nullptr, 0, nullptr);
			if (e != TROUPE_OK)
				return e;
		}
		troupe_ref ref;
		return call_batch(r.rt, a.a, small_value, 1, false, &ref);
	};
	double el = 0, ring_per_s = 0;
	int rings = 0; // each followed by one untimed batch
	for (auto _ : state) {
		if (state.iterations() % kRingEvery == 0) {
			ring_per_s += spsc_ring_rate(kRingItems);
			rings++;
			if (!check(state, batch(), "warm-up batch"))
				return;
		}
		auto t0 = Clock::now();
		if (!check(state, batch(), "troupe_actor_call"))
			return;
		double t = seconds_since(t0);
		state.SetIterationTime(t);
		el += t;
	}
	double items = double(state.iterations()) * kFireBatch;
	if (!check_count(state, r.rt, a.a,
			 uint64_t(items) + uint64_t(rings) * kFireBatch))
		return;
	state.SetItemsProcessed(int64_t(items));
	report(state, items / el, base, 0, kTargetFireAndForget);
	state.counters["spsc_per_s"] = ring_per_s / rings;
	state.counters["x_spsc"] = items / el / (ring_per_s / rings);
}

// --------------------------------------- resource figures (child runs)

long env_long(const char *name, long def)
{
	const char *s = std::getenv(name);
	return s && *s ? std::strtol(s, nullptr, 10) : def;
}

double rss_bytes()
{
	long size = 0, resident = 0;
	FILE *f = std::fopen("/proc/self/statm", "r");
	if (f) {
		if (std::fscanf(f, "%ld %ld", &size, &resident) != 2)
			resident = 0;
		std::fclose(f);
	}
	return double(resident) * double(sysconf(_SC_PAGESIZE));
}

double process_cpu_seconds()
{
	timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

using Results = std::map<std::string, double>;

void emit(const Results &res)
{
	for (auto &kv : res)
		std::printf("%s %.17g\n", kv.first.c_str(), kv.second);
}

int fail_child(const char *what, troupe_err e)
{
	std::fprintf(stderr, "%s: %s\n", what, troupe_strerror(e));
	return 1;
}

std::atomic<int> blocker_started{0};
std::atomic<int> blocker_release{0};

void blocker_task(troupe *, troupe_ctx *, const troupe_value *, size_t)
{
	blocker_started.store(1);
	while (!blocker_release.load(std::memory_order_acquire))
		std::this_thread::yield();
}

// A runtime of one worker, which blocker_task holds until blocker_release
// (*blocker: its ref); on failure, the call that failed in *what.
troupe_err start_held(troupe **rt, troupe_ref *blocker, const char **what)
{
	troupe_config cfg{};
	cfg.num_workers = 1;
	troupe_err e = troupe_init(rt, &cfg);
	if (e != TROUPE_OK) {
		*what = "troupe_init";
		return e;
	}
	e = troupe_submit(*rt, blocker_task, nullptr, 0, nullptr, blocker);
	if (e != TROUPE_OK) {
		*what = "troupe_submit (blocker)";
		return e;
	}
	while (!blocker_started.load())
		std::this_thread::yield();
	return TROUPE_OK;
}

// One worker held by a blocking task; N empty tasks queued behind it.
int child_pending_troupe(long n)
{
	troupe *rt;
	std::vector<troupe_ref> refs(size_t(n) + 1);
	std::memset(refs.data(), 0, refs.size() * sizeof refs[0]);
	const char *what;
	troupe_err e = start_held(&rt, &refs[0], &what);
	if (e != TROUPE_OK)
		return fail_child(what, e);
	double before = rss_bytes();
	auto t0 = Clock::now();
	for (long i = 1; i <= n; i++)
		if ((e = troupe_submit(rt, empty_task, nullptr, 0, nullptr,
				       &refs[size_t(i)])) != TROUPE_OK)
			return fail_child("troupe_submit", e);
	double submit_s = seconds_since(t0);
	double after = rss_bytes();
	blocker_release.store(1, std::memory_order_release);
	t0 = Clock::now();
	for (auto ref : refs) {
		if ((e = troupe_get(rt, ref, -1, nullptr)) != TROUPE_OK)
			return fail_child("troupe_get", e);
		troupe_release(rt, ref);
	}
	double drain_s = seconds_since(t0);
	if ((e = troupe_shutdown(rt)) != TROUPE_OK)
		return fail_child("troupe_shutdown", e);
	emit({{"bytes_per_task", (after - before) / double(n)},
	      {"submit_per_s", double(n) / submit_s},
	      {"drain_per_s", double(n) / drain_s}});
	return 0;
}

// Shutdown with N tasks still queued behind a blocked worker, their refs
// held: every one must resolve (ESHUTDOWN) and be freed.
int child_shutdown_troupe(long n)
{
	troupe *rt;
	troupe_ref blocker;
	const char *what;
	troupe_err e = start_held(&rt, &blocker, &what);
	if (e != TROUPE_OK)
		return fail_child(what, e);
	for (long i = 0; i < n; i++) {
		troupe_ref ref;
		if ((e = troupe_submit(rt, empty_task, nullptr, 0, nullptr,
				       &ref)) != TROUPE_OK)
			return fail_child("troupe_submit", e);
	}
	blocker_release.store(1, std::memory_order_release);
	auto t0 = Clock::now();
	if ((e = troupe_shutdown(rt)) != TROUPE_OK)
		return fail_child("troupe_shutdown", e);
	emit({{"shutdown_per_s", double(n) / seconds_since(t0)}});
	return 0;
}

// What you'd write instead: a queue of std::packaged_task and the futures.
int child_pending_baseline(long n)
{
	std::deque<std::packaged_task<void()> > queue;
	std::vector<std::future<void> > futs;
	futs.reserve(size_t(n));
	double before = rss_bytes();
	for (long i = 0; i < n; i++) {
		queue.emplace_back([] {});
		futs.push_back(queue.back().get_future());
	}
	double after = rss_bytes();
	for (auto &t : queue)
		t();
	for (auto &f : futs)
		f.get();
	emit({{"bytes_per_task", (after - before) / double(n)}});
	return 0;
}

void sleep_ms(long ms)
{
	std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

// CPU the whole process burns over an idle window right after troupe_init.
int child_idle_troupe(long window_ms)
{
	troupe *rt;
	troupe_err e = troupe_init(&rt, nullptr);
	if (e != TROUPE_OK)
		return fail_child("troupe_init", e);
	double c0 = process_cpu_seconds();
	sleep_ms(window_ms);
	double cpu = process_cpu_seconds() - c0;
	if ((e = troupe_shutdown(rt)) != TROUPE_OK)
		return fail_child("troupe_shutdown", e);
	emit({{"ms_per_s", cpu * 1e3 / (double(window_ms) / 1e3)}});
	return 0;
}

// Baseline: one plain pthread per CPU parked on a condition variable.
int child_idle_baseline(long window_ms)
{
	std::mutex mu;
	std::condition_variable cv;
	bool stop = false;
	std::vector<std::thread> threads;
	unsigned n = bench_cpus();
	for (unsigned i = 0; i < n; i++)
		threads.emplace_back([&] {
			std::unique_lock<std::mutex> g(mu);
			cv.wait(g, [&] { return stop; });
		});
	double c0 = process_cpu_seconds();
	sleep_ms(window_ms);
	double cpu = process_cpu_seconds() - c0;
	{
		std::lock_guard<std::mutex> g(mu);
		stop = true;
	}
	cv.notify_all();
	for (auto &t : threads)
		t.join();
	emit({{"ms_per_s", cpu * 1e3 / (double(window_ms) / 1e3)}});
	return 0;
}

// RSS after n put(8 B) / get / release cycles, against RSS after init.
int child_cycles_troupe(long n)
{
	troupe *rt;
	troupe_err e = troupe_init(&rt, nullptr);
	if (e != TROUPE_OK)
		return fail_child("troupe_init", e);
	double before = rss_bytes();
	auto t0 = Clock::now();
	for (long i = 0; i < n; i++) {
		troupe_ref ref;
		troupe_value v;
		uint64_t x = uint64_t(i);
		if ((e = troupe_put(rt, &x, sizeof x, &ref)) != TROUPE_OK)
			return fail_child("troupe_put", e);
		if ((e = troupe_get(rt, ref, -1, &v)) != TROUPE_OK)
			return fail_child("troupe_get", e);
		if (v.size != sizeof x || std::memcmp(v.data, &x, sizeof x)) {
			std::fprintf(stderr, "troupe_get: wrong value\n");
			return 1;
		}
		if ((e = troupe_release(rt, ref)) != TROUPE_OK)
			return fail_child("troupe_release", e);
	}
	double el = seconds_since(t0);
	double after = rss_bytes();
	if ((e = troupe_shutdown(rt)) != TROUPE_OK)
		return fail_child("troupe_shutdown", e);
	emit({{"growth_MiB", (after - before) / 1048576.0},
	      {"cycles_per_s", double(n) / el}});
	return 0;
}

// Baseline: insert / find / erase on a mutex-protected unordered_map.
int child_cycles_baseline(long n)
{
	std::mutex mu;
	std::unordered_map<uint64_t, std::vector<char> > map;
	double before = rss_bytes();
	auto t0 = Clock::now();
	for (long i = 0; i < n; i++) {
		uint64_t k = uint64_t(i) + 1;
		{
			std::lock_guard<std::mutex> g(mu);
			map.emplace(k, std::vector<char>(8, char(i)));
		}
		{
			std::lock_guard<std::mutex> g(mu);
			auto it = map.find(k);
			benchmark::DoNotOptimize(it->second.data());
		}
		{
			std::lock_guard<std::mutex> g(mu);
			map.erase(k);
		}
	}
	double el = seconds_since(t0);
	double after = rss_bytes();
	emit({{"growth_MiB", (after - before) / 1048576.0},
	      {"cycles_per_s", double(n) / el}});
	return 0;
}

// N idle actors of kCounterClass (8-byte state, no constructor): RSS
// growth over the creates, the create rate, then (with verify: every
// actor; else every 1000th) a read_count call on each, and the time to
// release them all and shut down.
int child_actors_troupe(long n, bool verify)
{
	troupe *rt;
	troupe_err e = troupe_init(&rt, nullptr);
	if (e != TROUPE_OK)
		return fail_child("troupe_init", e);
	std::vector<troupe_actor> actors(static_cast<size_t>(n));
	std::memset(actors.data(), 0, actors.size() * sizeof actors[0]);
	double before = rss_bytes();
	auto t0 = Clock::now();
	for (auto &a : actors)
		if ((e = troupe_actor_create(rt, &kCounterClass, nullptr, 0,
					     nullptr, &a)) != TROUPE_OK)
			return fail_child("troupe_actor_create", e);
	double create_s = seconds_since(t0);
	double after = rss_bytes();
	size_t stride = verify ? 1 : 1000;
	std::vector<troupe_ref> refs;
	refs.reserve(actors.size() / stride + 1);
	for (size_t i = 0; i < actors.size(); i += stride) {
		troupe_ref ref;
		if ((e = troupe_actor_call(rt, actors[i], read_count, nullptr,
					   0, &ref)) != TROUPE_OK)
			return fail_child("troupe_actor_call", e);
		refs.push_back(ref);
	}
	for (auto ref : refs) {
		troupe_value v;
		int64_t x = -1;
		if ((e = troupe_get(rt, ref, -1, &v)) != TROUPE_OK ||
		    (e = troupe_value_i64(&v, &x)) != TROUPE_OK)
			return fail_child("troupe_get (read_count)", e);
		if (x != 0) {
			std::fprintf(stderr, "fresh actor counted %lld\n",
				     (long long)x);
			return 1;
		}
		troupe_release(rt, ref);
	}
	auto t1 = Clock::now();
	for (auto a : actors)
		if ((e = troupe_actor_release(rt, a)) != TROUPE_OK)
			return fail_child("troupe_actor_release", e);
	if ((e = troupe_shutdown(rt)) != TROUPE_OK)
		return fail_child("troupe_shutdown", e);
	double teardown_s = seconds_since(t1);
	emit({{"bytes_per_actor", (after - before) / double(n)},
	      {"rss_MiB", (after - before) / 1048576.0},
	      {"create_s", create_s},
	      {"create_per_s", double(n) / create_s},
	      {"teardown_s", teardown_s}});
	return 0;
}

// What you'd write instead of an idle actor: its state beside a mutex, a
// condition variable and a std::deque mailbox (no thread: threads would be
// megabytes each).
struct PlainActor {
	std::mutex mu;
	std::condition_variable cv;
	std::deque<Msg> mailbox;
	uint64_t state = 0;
};

int child_actors_baseline(long n)
{
	std::vector<PlainActor *> actors(static_cast<size_t>(n));
	std::memset(actors.data(), 0, actors.size() * sizeof actors[0]);
	double before = rss_bytes();
	auto t0 = Clock::now();
	for (auto &a : actors)
		a = new PlainActor();
	double create_s = seconds_since(t0);
	benchmark::DoNotOptimize(actors.data());
	benchmark::ClobberMemory();
	double after = rss_bytes();
	auto t1 = Clock::now();
	for (auto a : actors)
		delete a;
	double teardown_s = seconds_since(t1);
	emit({{"bytes_per_actor", (after - before) / double(n)},
	      {"rss_MiB", (after - before) / 1048576.0},
	      {"create_s", create_s},
	      {"create_per_s", double(n) / create_s},
	      {"teardown_s", teardown_s},
	      {"sizeof", double(sizeof(PlainActor))}});
	return 0;
}

constexpr const char *kChildFlag = "--troupe-bench-child=";

long pending_n()
{
	return env_long("TROUPE_BENCH_PENDING", 100000);
}
long idle_ms()
{
	return env_long("TROUPE_BENCH_IDLE_MS", 500);
}
long cycles_n()
{
	return env_long("TROUPE_BENCH_CYCLES", 1000000);
}
long actors_n()
{
	return env_long("TROUPE_BENCH_ACTORS", 100000);
}
long actors_big_n()
{
	return env_long("TROUPE_BENCH_ACTORS_BIG", 1000000);
}

int run_child_mode(const std::string &name)
{
	if (name == "pending_troupe")
		return child_pending_troupe(pending_n());
	if (name == "shutdown_troupe")
		return child_shutdown_troupe(pending_n());
	if (name == "pending_baseline")
		return child_pending_baseline(pending_n());
	if (name == "idle_troupe")
		return child_idle_troupe(idle_ms());
	if (name == "idle_baseline")
		return child_idle_baseline(idle_ms());
	if (name == "cycles_troupe")
		return child_cycles_troupe(cycles_n());
	if (name == "cycles_baseline")
		return child_cycles_baseline(cycles_n());
	if (name == "actors_troupe")
		return child_actors_troupe(actors_n(), true);
	if (name == "actors_baseline")
		return child_actors_baseline(actors_n());
	if (name == "actors1m_troupe")
		return child_actors_troupe(actors_big_n(), false);
	if (name == "actors1m_baseline")
		return child_actors_baseline(actors_big_n());
	std::fprintf(stderr, "unknown child %s\n", name.c_str());
	return 2;
}

// Runs this executable as `--troupe-bench-child=name` and parses its
// "key value" lines.  An empty map (with *err set) when the child failed.
Results run_child(const std::string &name, std::string *err)
{
	Results res;
	char exe[4096];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len <= 0) {
		*err = "readlink /proc/self/exe failed";
		return res;
	}
	exe[len] = '\0';
	std::string arg = std::string(kChildFlag) + name;
	int fds[2];
	if (pipe(fds) != 0) {
		*err = "pipe failed";
		return res;
	}
	std::fflush(nullptr);
	pid_t pid = fork();
	if (pid < 0) {
		*err = "fork failed";
		close(fds[0]);
		close(fds[1]);
		return res;
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		char *argv[] = {exe, const_cast<char *>(arg.c_str()), nullptr};
		execv(exe, argv);
		_exit(127);
	}
	close(fds[1]);
	std::string out;
	char buf[512];
	ssize_t r;
	while ((r = read(fds[0], buf, sizeof buf)) > 0 ||
	       (r < 0 && errno == EINTR))
		if (r > 0)
			out.append(buf, size_t(r));
	close(fds[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		*err = "child " + name + " failed (" +
		       (WIFSIGNALED(status) ?
				"signal " + std::to_string(WTERMSIG(status)) :
				"exit " + std::to_string(WEXITSTATUS(status))) +
		       "; rerun: troupe-bench " + arg + ")";
		return Results();
	}
	char key[128];
	double val;
	const char *p = out.c_str();
	int used;
	while (std::sscanf(p, "%127s %lf%n", key, &val, &used) == 2) {
		res[key] = val;
		p += used;
	}
	return res;
}

// Runs the troupe child and its baseline child once each.
bool run_pair(benchmark::State &state, const std::string &what, Results *t,
	      Results *b)
{
	std::string err;
	*t = run_child(what + "_troupe", &err);
	if (t->empty()) {
		state.SkipWithError(err.c_str());
		return false;
	}
	*b = run_child(what + "_baseline", &err);
	if (b->empty()) {
		state.SkipWithError(err.c_str());
		return false;
	}
	return true;
}

void memory_per_pending_task(benchmark::State &state)
{
	Results t, b;
	for (auto _ : state)
		if (!run_pair(state, "pending", &t, &b))
			return;
	state.counters["pending"] = double(pending_n());
	state.counters["B_per_task"] = t["bytes_per_task"];
	state.counters["base_B_per_task"] = b["bytes_per_task"];
	state.counters["x_base"] = t["bytes_per_task"] / b["bytes_per_task"];
	state.counters["x_target"] = t["bytes_per_task"] / 256.0;
	state.counters["submit_per_s"] = t["submit_per_s"];
}

void idle_cpu_after_init(benchmark::State &state)
{
	Results t, b;
	for (auto _ : state)
		if (!run_pair(state, "idle", &t, &b))
			return;
	state.counters["window_ms"] = double(idle_ms());
	state.counters["cpu_ms_per_s"] = t["ms_per_s"];
	state.counters["base_cpu_ms_per_s"] = b["ms_per_s"];
	state.counters["x_target"] = t["ms_per_s"] / 5.0;
}

void rss_growth_put_get_release_cycles(benchmark::State &state)
{
	Results t, b;
	for (auto _ : state)
		if (!run_pair(state, "cycles", &t, &b))
			return;
	state.counters["cycles"] = double(cycles_n());
	state.counters["growth_MiB"] = t["growth_MiB"];
	state.counters["base_growth_MiB"] = b["growth_MiB"];
	state.counters["cycles_per_s"] = t["cycles_per_s"];
	state.counters["base_cycles_per_s"] = b["cycles_per_s"];
	state.counters["x_base"] = t["cycles_per_s"] / b["cycles_per_s"];
}

void memory_per_idle_actor(benchmark::State &state)
{
	Results t, b;
	for (auto _ : state)
		if (!run_pair(state, "actors", &t, &b))
			return;
	state.counters["actors"] = double(actors_n());
	state.counters["B_per_actor"] = t["bytes_per_actor"];
	state.counters["base_B_per_actor"] = b["bytes_per_actor"];
	state.counters["base_sizeof"] = b["sizeof"];
	state.counters["x_base"] = t["bytes_per_actor"] / b["bytes_per_actor"];
	// Target: 256 bytes of overhead plus the state.
	state.counters["x_target"] =
		t["bytes_per_actor"] / (256.0 + kCounterClass.state_size);
	state.counters["create_per_s"] = t["create_per_s"];
}

void create_1M_actors(benchmark::State &state)
{
	Results t, b;
	for (auto _ : state)
		if (!run_pair(state, "actors1m", &t, &b))
			return;
	state.counters["actors"] = double(actors_big_n());
	state.counters["create_s"] = t["create_s"];
	state.counters["create_per_s"] = t["create_per_s"];
	state.counters["base_create_per_s"] = b["create_per_s"];
	state.counters["x_base"] = t["create_per_s"] / b["create_per_s"];
	state.counters["rss_MiB"] = t["rss_MiB"];
	state.counters["base_rss_MiB"] = b["rss_MiB"];
	state.counters["B_per_actor"] = t["bytes_per_actor"];
	state.counters["teardown_s"] = t["teardown_s"];
}

// Cost growth (issue 4, "Scaling"): N tasks pending at once, N live
// actors, each N in a fresh child process (as the resource rows above).
// One child per N; the row pairs read what it printed, so the table shows
// space and time on rows of their own.
std::map<std::string, Results> scale_results;

const Results *scale_child(benchmark::State &state, const char *child,
			   const char *env, long n)
{
	std::string key = std::string(child) + ":" + std::to_string(n);
	auto it = scale_results.find(key);
	if (it != scale_results.end())
		return &it->second;
	std::string err;
	setenv(env, std::to_string(n).c_str(), 1);
	Results r = run_child(child, &err);
	unsetenv(env);
	if (r.empty()) {
		state.SkipWithError(err.c_str());
		return nullptr;
	}
	Results &kept = scale_results[key];
	kept = std::move(r);
	return &kept;
}

// One figure of child `child` at N = the row's argument.
void scale_row(benchmark::State &state, const char *child, const char *env,
	       const char *key, const char *counter, double scale)
{
	const Results *r = nullptr;
	for (auto _ : state)
		r = scale_child(state, child, env, long(state.range(0)));
	if (r == nullptr)
		return;
	auto it = r->find(key);
	if (it == r->end()) {
		state.SkipWithError((std::string(child) + " printed no " +
				     key).c_str());
		return;
	}
	// scale < 0: a rate turned into nanoseconds per item.
	state.counters[counter] = scale < 0 ? 1e9 / it->second :
					      it->second * scale;
}

} // namespace

BENCHMARK(single_client_tasks_async)->UseRealTime();
BENCHMARK(single_client_tasks_sync)->UseRealTime();
BENCHMARK(spin_window_sync)
	->ArgNames({"spin_us", "gap_us"})
	->ArgsProduct({{-1, 5, 20, 50, 200}, {0, 1000}})
	->UseRealTime();
BENCHMARK(put_8B_release)->UseRealTime();
BENCHMARK(get_ready_8B)->UseRealTime();
BENCHMARK(actor_calls_sync_1_1)->Name("1_1_actor_calls_sync")->UseRealTime();
BENCHMARK(actor_calls_async_1_1)->Name("1_1_actor_calls_async")->UseRealTime();
BENCHMARK(actor_calls_concurrent_1_1)
	->Name("1_1_actor_calls_concurrent")
	->UseRealTime();
BENCHMARK(actor_calls_async_1_n)->Name("1_n_actor_calls_async")->UseRealTime();
BENCHMARK(actor_calls_async_n_n)->Name("n_n_actor_calls_async")->UseRealTime();
BENCHMARK(actor_calls_with_arg_async_n_n)
	->Name("n_n_actor_calls_with_arg_async")
	->UseRealTime();
BENCHMARK(actor_calls_fire_and_forget)->UseManualTime();
BENCHMARK(memory_per_pending_task)
	->Iterations(1)
	->UseRealTime()
	->Unit(benchmark::kMillisecond);
BENCHMARK(idle_cpu_after_init)
	->Iterations(1)
	->UseRealTime()
	->Unit(benchmark::kMillisecond);
BENCHMARK(rss_growth_put_get_release_cycles)
	->Iterations(1)
	->UseRealTime()
	->Unit(benchmark::kMillisecond);

BENCHMARK(memory_per_idle_actor)
	->Iterations(1)
	->UseRealTime()
	->Unit(benchmark::kMillisecond);
BENCHMARK(create_1M_actors)
	->Iterations(1)
	->UseRealTime()
	->Unit(benchmark::kMillisecond);

benchmark::BenchmarkReporter *troupe_bench_reporter(int *argc, char **argv);

int main(int argc, char **argv)
{
	size_t flag_len = std::strlen(kChildFlag);
	if (argc == 2 && std::strncmp(argv[1], kChildFlag, flag_len) == 0)
		return run_child_mode(argv[1] + flag_len);
	benchmark::BenchmarkReporter *reporter =
		troupe_bench_reporter(&argc, argv); // bench/report.cc
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks(reporter);
	benchmark::Shutdown();
	return 0;
}

// Cost growth: the first row of each N runs its child; the rows after it
// read the same child's figures (scale_row's arguments: child, size
// variable, the child's key, the row's counter, scale).
#define SCALE_ROWS(name, arg, hi, ...)                                         \
	BENCHMARK_CAPTURE(scale_row, row, __VA_ARGS__)                         \
		->Name(name)                                                   \
		->ArgName(arg)                                                 \
		->RangeMultiplier(10)                                          \
		->Range(1000, hi)                                              \
		->Iterations(1)                                                \
		->UseRealTime()                                                \
		->Unit(benchmark::kMillisecond)
#define PENDING "pending_troupe", "TROUPE_BENCH_PENDING"
#define ACTORS "actors_troupe", "TROUPE_BENCH_ACTORS"
SCALE_ROWS("scale_pending_tasks/bytes", "pending", 10000000, PENDING,
	   "bytes_per_task", "B_per_task", 1);
SCALE_ROWS("scale_pending_tasks/submit", "pending", 10000000, PENDING,
	   "submit_per_s", "submit_ns", -1);
SCALE_ROWS("scale_pending_tasks/get", "pending", 10000000, PENDING,
	   "drain_per_s", "get_release_ns", -1);
SCALE_ROWS("scale_pending_tasks/shutdown", "pending", 1000000,
	   "shutdown_troupe", "TROUPE_BENCH_PENDING", "shutdown_per_s",
	   "shutdown_ns", -1);
SCALE_ROWS("scale_live_actors/bytes", "actors", 1000000, ACTORS,
	   "bytes_per_actor", "B_per_actor", 1);
SCALE_ROWS("scale_live_actors/create", "actors", 1000000, ACTORS,
	   "create_per_s", "create_ns", -1);
