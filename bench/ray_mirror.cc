// ray_mirror.cc: the rows of `ray microbenchmark` that troupe_bench.cc does
// not already have, under Ray's names, and the latency distributions.
//
// Counters as in troupe_bench.cc (see bench/README.md):
//   base_per_s / x_base  a baseline measured in this run, and troupe / it
//   ray_per_s / x_ray    Ray 2.48.0's published figure, and troupe / it
// The latency rows report percentiles in microseconds beside a floor, a
// cache-line ping-pong between two threads measured in the same run.  No
// figure is asserted on: a troupe call that fails is the row's error.

#include <benchmark/benchmark.h>

#include <troupe.h>

#include "bench_util.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

namespace
{

// Ray 2.48.0, release/perf_metrics/microbenchmark.json (m5.16xlarge, 64
// vCPU): rates per second; the _gigabytes rows in GB/s.
constexpr double kRayGetCalls = 10620.0;
constexpr double kRayPutCalls = 5173.0;
constexpr double kRayMultiPutCalls = 16526.0;
constexpr double kRayPutGB = 19.86;
constexpr double kRayMultiPutGB = 38.14;
constexpr double kRayTasksAndGetBatch = 5.80;
constexpr double kRayGet10kRefs = 13.37;
constexpr double kRayWait1k = 5.08;
constexpr double kRayMultiTasksAsync = 21230.0;

constexpr int kBatch = 1000;	      // tasks per batch / refs waited on
constexpr int kPutsPerThread = 10000; // multi_client_put_calls
constexpr size_t kLarge = 100u << 20; // the _gigabytes rows: 100 MiB
constexpr int kContainedRefs = 10000; // get_object_containing_10k_refs
constexpr int kHotSamples = 20000;    // latency rows, back to back
constexpr int kIdleSamples = 30;      // latency rows, after an idle gap
constexpr long kIdleGapMs = 100;
constexpr int kFloorRounds = 20000; // ping-pong round trips

unsigned num_clients()
{
	return bench_cpus();
}

void report(benchmark::State &state, double rate, double base, double ray)
{
	state.counters["base_per_s"] = base;
	state.counters["x_base"] = rate / base;
	state.counters["ray_per_s"] = ray;
	state.counters["x_ray"] = rate / ray;
}

troupe_fn volatile empty_task_ptr = empty_task;

// The sequential baseline of the task rows: the same body, called in a loop.
void call_empty_batch()
{
	troupe_fn f = empty_task_ptr;
	for (int i = 0; i < kBatch; i++)
		f(nullptr, nullptr, nullptr, 0);
	benchmark::ClobberMemory();
}

// n client threads that live through a whole row, as Ray's clients (actors)
// do.  run() has each call body(i) once and returns the first error any of
// them reported.  Threads started per round would put thread creation in
// the timed loop, and with it each new thread's first troupe call (its RCU
// registration, its allocator heap).
class Clients {
	std::atomic<int> first{TROUPE_OK};
	std::function<troupe_err(unsigned)> body;
	Gang gang;

    public:
	Clients(unsigned n, std::function<troupe_err(unsigned)> b)
		: body(std::move(b)), gang(n, [this](unsigned i) {
			  troupe_err e = body(i);
			  int ok = TROUPE_OK;
			  if (e != TROUPE_OK)
				  first.compare_exchange_strong(ok, int(e));
		  })
	{
	}
	troupe_err run()
	{
		first.store(TROUPE_OK);
		gang.run();
		return troupe_err(first.load());
	}
};

// ---------------------------------------------------------- objects

// Ray: ray.get of one small object put once.
void single_client_get_calls(benchmark::State &state)
{
	// What you'd write instead: a lookup in a mutex-protected map.
	static const double base = [] {
		std::mutex mu;
		std::unordered_map<uint64_t, std::vector<char> > map;
		map.emplace(1, std::vector<char>(8, 0));
		return measure_rate(
			[&] {
				for (int i = 0; i < 1000; i++) {
					std::lock_guard<std::mutex> g(mu);
					auto it = map.find(1);
					const void *d = it->second.data();
					benchmark::DoNotOptimize(d);
				}
			},
			1000);
	}();
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	troupe_ref ref;
	if (!check(state, troupe_put_i64(r.rt, 0, &ref), "troupe_put_i64"))
		return;
	auto t0 = Clock::now();
	for (auto _ : state) {
		troupe_value v;
		if (!check(state, troupe_get(r.rt, ref, -1, &v), "troupe_get"))
			break;
		benchmark::DoNotOptimize(v);
	}
	double el = seconds_since(t0);
	troupe_release(r.rt, ref);
	state.SetItemsProcessed(state.iterations());
	report(state, double(state.iterations()) / el, base, kRayGetCalls);
}

void malloc_copy_free(size_t size, const void *src)
{
	void *p = std::malloc(size);
	benchmark::DoNotOptimize(p);
	std::memcpy(p, src, size);
	benchmark::ClobberMemory();
	std::free(p);
}

// Ray: ray.put(0), the ref dropped at once (so: put + release).
void single_client_put_calls(benchmark::State &state)
{
	static const double base = measure_rate(
		[] {
			for (uint64_t i = 0; i < 1000; i++)
				malloc_copy_free(sizeof i, &i);
		},
		1000);
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	int64_t x = 0;
	auto t0 = Clock::now();
	for (auto _ : state) {
		troupe_ref ref;
		if (!check(state, troupe_put_i64(r.rt, x++, &ref),
			   "troupe_put_i64"))
			break;
		troupe_release(r.rt, ref);
	}
	double el = seconds_since(t0);
	state.SetItemsProcessed(state.iterations());
	report(state, double(state.iterations()) / el, base, kRayPutCalls);
}

// Ray: one client per CPU, each putting small objects.  Each iteration has
// every client thread do kPutsPerThread put + release.
void multi_client_put_calls(benchmark::State &state)
{
	unsigned n = num_clients();
	static const double base = [n] {
		Clients c(n, [](unsigned) {
			for (uint64_t i = 0; i < kPutsPerThread; i++)
				malloc_copy_free(sizeof i, &i);
			return TROUPE_OK;
		});
		return measure_rate([&] { c.run(); },
				    double(n) * kPutsPerThread);
	}();
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	Clients clients(n, [&](unsigned) {
		for (int64_t i = 0; i < kPutsPerThread; i++) {
			troupe_ref ref;
			troupe_err e = troupe_put_i64(r.rt, i, &ref);
			if (e != TROUPE_OK)
				return e;
			troupe_release(r.rt, ref);
		}
		return TROUPE_OK;
	});
	auto t0 = Clock::now();
	for (auto _ : state)
		if (!check(state, clients.run(), "troupe_put_i64"))
			break;
	double el = seconds_since(t0);
	double items = double(state.iterations()) * n * kPutsPerThread;
	state.SetItemsProcessed(int64_t(items));
	state.counters["clients"] = n;
	report(state, items / el, base, kRayMultiPutCalls);
}

// A kLarge source buffer per client, touched once (outside the clock).
std::vector<std::vector<char> > large_sources(unsigned n)
{
	std::vector<std::vector<char> > v(n);
	for (unsigned i = 0; i < n; i++)
		v[i].assign(kLarge, char(i + 1));
	return v;
}

// A kLarge buffer on 2 MiB pages where the kernel has them (as troupe asks
// for its large values, lib/alloc.h), written once: a copy into it pays
// neither page faults nor 4 KiB pages' TLB misses.
struct WarmBlock {
	void *p = nullptr;
	WarmBlock()
	{
		constexpr size_t kHuge = size_t(2) << 20;
		p = std::aligned_alloc(kHuge,
				       (kLarge + kHuge - 1) / kHuge * kHuge);
		if (p == nullptr)
			return;
#ifdef MADV_HUGEPAGE
		(void)madvise(p, kLarge, MADV_HUGEPAGE);
#endif
		std::memset(p, 1, kLarge);
	}
	~WarmBlock()
	{
		std::free(p);
	}
	WarmBlock(const WarmBlock &) = delete;
	WarmBlock &operator=(const WarmBlock &) = delete;
};

// The _gigabytes rows: `clients` threads each put (copy) kLarge bytes and
// release the ref, per iteration.  The baseline is the same copy into a
// fresh malloc'd buffer, freed again: what troupe_put has to do at least.
// The memcpy figure is the copy alone, into a WarmBlock of each thread's:
// what any copying put is bounded by on this machine.
void put_gigabytes(benchmark::State &state, unsigned clients, double ray_gb)
{
	auto src = large_sources(clients);
	double base = [&] {
		Clients c(clients, [&](unsigned i) {
			malloc_copy_free(kLarge, src[i].data());
			return TROUPE_OK;
		});
		return measure_rate([&] { c.run(); },
				    double(clients) * double(kLarge));
	}();
	double floor = [&] {
		std::vector<WarmBlock> dst(clients);
		for (auto &d : dst)
			if (d.p == nullptr)
				return 0.0;
		Clients c(clients, [&](unsigned i) {
			std::memcpy(dst[i].p, src[i].data(), kLarge);
			benchmark::ClobberMemory();
			return TROUPE_OK;
		});
		return measure_rate([&] { c.run(); },
				    double(clients) * double(kLarge));
	}();
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	Clients putters(clients, [&](unsigned i) {
		troupe_ref ref;
		troupe_err e = troupe_put(r.rt, src[i].data(), kLarge, &ref);
		if (e == TROUPE_OK)
			troupe_release(r.rt, ref);
		return e;
	});
	auto t0 = Clock::now();
	for (auto _ : state)
		if (!check(state, putters.run(), "troupe_put"))
			break;
	double el = seconds_since(t0);
	double bytes = double(state.iterations()) * clients * double(kLarge);
	state.SetBytesProcessed(int64_t(bytes));
	state.counters["clients"] = clients;
	state.counters["MiB_per_put"] = double(kLarge >> 20);
	state.counters["GB_per_s"] = bytes / el / 1e9;
	state.counters["base_GB_per_s"] = base / 1e9;
	state.counters["x_base"] = bytes / el / base;
	state.counters["memcpy_GB_per_s"] = floor / 1e9;
	state.counters["x_memcpy"] = bytes / el / floor;
	state.counters["ray_GB_per_s"] = ray_gb;
	state.counters["x_ray"] = bytes / el / 1e9 / ray_gb;
}

void single_client_put_gigabytes(benchmark::State &state)
{
	put_gigabytes(state, 1, kRayPutGB);
}

void multi_client_put_gigabytes(benchmark::State &state)
{
	put_gigabytes(state, num_clients(), kRayMultiPutGB);
}

// Ray: an object holding 10,000 refs is got (and its refs deserialized).
// troupe's objects are bytes, so here: kContainedRefs small objects are put
// once; each iteration puts an object whose bytes are their ids, gets it,
// then gets every ref it names (checking each value) and releases the
// outer object.  The inner refs stay held by the benchmark throughout:
// troupe does not track refs inside an object's bytes.
void single_client_get_object_containing_10k_refs(benchmark::State &state)
{
	// What you'd write instead: copy the id array, look each id up in a
	// mutex-protected map.
	static const double base = [] {
		std::mutex mu;
		std::unordered_map<uint64_t, int64_t> map;
		std::vector<uint64_t> ids(kContainedRefs);
		for (int i = 0; i < kContainedRefs; i++) {
			ids[i] = uint64_t(i) * 7919 + 1;
			map.emplace(ids[i], i);
		}
		return measure_rate(
			[&] {
				size_t sz = ids.size() * sizeof ids[0];
				auto *p = static_cast<uint64_t *>(
					std::malloc(sz));
				std::memcpy(p, ids.data(), sz);
				int64_t sum = 0;
				for (int i = 0; i < kContainedRefs; i++) {
					std::lock_guard<std::mutex> g(mu);
					sum += map.find(p[i])->second;
				}
				benchmark::DoNotOptimize(sum);
				std::free(p);
			},
			1);
	}();
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	std::vector<troupe_ref> inner(kContainedRefs);
	std::vector<uint64_t> ids(kContainedRefs);
	for (int i = 0; i < kContainedRefs; i++) {
		if (!check(state, troupe_put_i64(r.rt, i, &inner[i]),
			   "troupe_put_i64")) {
			for (int k = 0; k < i; k++)
				troupe_release(r.rt, inner[k]);
			return;
		}
		ids[i] = inner[i].id;
	}
	auto t0 = Clock::now();
	for (auto _ : state) {
		troupe_ref outer;
		troupe_value v;
		if (!check(state,
			   troupe_put(r.rt, ids.data(),
				      ids.size() * sizeof ids[0], &outer),
			   "troupe_put"))
			break;
		troupe_err e = troupe_get(r.rt, outer, -1, &v);
		size_t n = v.size / sizeof(uint64_t);
		for (size_t i = 0; e == TROUPE_OK && i < n; i++) {
			uint64_t id;
			std::memcpy(&id,
				    static_cast<const char *>(v.data) +
					    i * sizeof id,
				    sizeof id);
			int64_t x = -1;
			e = troupe_get_i64(r.rt, troupe_ref{id}, -1, &x);
			if (e == TROUPE_OK && x != int64_t(i))
				e = TROUPE_ETYPE; // a wrong value
		}
		troupe_release(r.rt, outer);
		if (!check(state, e, "troupe_get (contained ref)"))
			break;
	}
	double el = seconds_since(t0);
	for (auto ref : inner)
		troupe_release(r.rt, ref);
	state.SetItemsProcessed(state.iterations());
	state.counters["refs"] = kContainedRefs;
	report(state, double(state.iterations()) / el, base, kRayGet10kRefs);
}

// ------------------------------------------------------------ tasks

// Submits kBatch empty tasks into refs; on failure releases what it made.
troupe_err submit_batch(troupe *rt, troupe_ref *refs)
{
	for (int i = 0; i < kBatch; i++) {
		troupe_err e = troupe_submit(rt, empty_task, nullptr, 0,
					     nullptr, &refs[i]);
		if (e != TROUPE_OK) {
			for (int k = 0; k < i; k++)
				troupe_release(rt, refs[k]);
			return e;
		}
	}
	return TROUPE_OK;
}

// Waits for all kBatch refs at once (troupe_wait, num_ready = kBatch);
// with get, then gets each value; releases them all either way.
troupe_err wait_batch(troupe *rt, troupe_ref *refs, bool get)
{
	bool ready[kBatch];
	troupe_err e = troupe_wait(rt, refs, kBatch, kBatch, -1, ready);
	for (int i = 0; e == TROUPE_OK && i < kBatch; i++)
		if (!ready[i])
			e = TROUPE_ETIMEDOUT; // contract broken: report it
	for (int i = 0; i < kBatch; i++) {
		if (get && e == TROUPE_OK) {
			troupe_value v;
			e = troupe_get(rt, refs[i], 0, &v);
		}
		troupe_release(rt, refs[i]);
	}
	return e;
}

// Ray: ray.get([small_value.remote() for _ in range(1000)]); per batch.
void single_client_tasks_and_get_batch(benchmark::State &state)
{
	static const double base = measure_rate(call_empty_batch, 1);
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	std::vector<troupe_ref> refs(kBatch);
	auto t0 = Clock::now();
	for (auto _ : state) {
		troupe_err e = submit_batch(r.rt, refs.data());
		if (e == TROUPE_OK)
			e = wait_batch(r.rt, refs.data(), true);
		if (!check(state, e, "submit / wait / get"))
			break;
	}
	double el = seconds_since(t0);
	state.SetItemsProcessed(state.iterations());
	report(state, double(state.iterations()) / el, base,
	       kRayTasksAndGetBatch);
}

// troupe_wait on kBatch refs of empty tasks, num_ready = kBatch; per wait.
void single_client_wait_1k_refs(benchmark::State &state)
{
	static const double base = measure_rate(call_empty_batch, 1);
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	std::vector<troupe_ref> refs(kBatch);
	auto t0 = Clock::now();
	for (auto _ : state) {
		troupe_err e = submit_batch(r.rt, refs.data());
		if (e == TROUPE_OK)
			e = wait_batch(r.rt, refs.data(), false);
		if (!check(state, e, "submit / wait"))
			break;
	}
	double el = seconds_since(t0);
	state.SetItemsProcessed(state.iterations());
	report(state, double(state.iterations()) / el, base, kRayWait1k);
}

// One submitting thread per CPU, each submitting kBatch empty tasks then
// getting and releasing each; items = tasks of all threads.
void multi_client_tasks_async(benchmark::State &state)
{
	unsigned n = num_clients();
	static const double base = [n] {
		Clients c(n, [](unsigned) {
			call_empty_batch();
			return TROUPE_OK;
		});
		return measure_rate([&] { c.run(); }, double(n) * kBatch);
	}();
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	std::vector<std::vector<troupe_ref> > refs(
		n, std::vector<troupe_ref>(kBatch));
	Clients clients(n, [&](unsigned c) {
		troupe_ref *batch = refs[c].data();
		troupe_err e = submit_batch(r.rt, batch);
		for (int i = 0; e == TROUPE_OK && i < kBatch; i++) {
			e = troupe_get(r.rt, batch[i], -1, nullptr);
			troupe_release(r.rt, batch[i]);
			if (e != TROUPE_OK)
				for (int k = i + 1; k < kBatch; k++)
					troupe_release(r.rt, batch[k]);
		}
		return e;
	});
	if (!check(state, clients.run(), "warm-up round"))
		return;
	auto t0 = Clock::now();
	for (auto _ : state)
		if (!check(state, clients.run(), "submit / get"))
			break;
	double el = seconds_since(t0);
	double items = double(state.iterations()) * n * kBatch;
	state.SetItemsProcessed(int64_t(items));
	state.counters["clients"] = n;
	report(state, items / el, base, kRayMultiTasksAsync);
}

// ---------------------------------------------------------- latency

void cpu_relax()
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

// Nearest-rank percentile of sorted samples.
double percentile(const std::vector<double> &s, double q)
{
	if (s.empty())
		return 0;
	size_t k = size_t(std::ceil(q * double(s.size())));
	return s[k == 0 ? 0 : std::min(k, s.size()) - 1];
}

struct PingPong {
	// Each flag on its own line, so a round trip is two line transfers.
	alignas(64) std::atomic<uint64_t> ping{0};
	alignas(64) std::atomic<uint64_t> pong{0};
};

// The floor: round trips of a cache line between two spinning threads, in
// microseconds, sorted.  Release/acquire: each side only needs to see the
// other's store; there is no data beside the flags.
std::vector<double> pingpong_floor(int rounds)
{
	PingPong pp;
	std::thread t([&] {
		for (uint64_t i = 1; i <= uint64_t(rounds); i++) {
			while (pp.ping.load(std::memory_order_acquire) != i)
				cpu_relax();
			pp.pong.store(i, std::memory_order_release);
		}
	});
	std::vector<double> s;
	s.reserve(size_t(rounds));
	for (uint64_t i = 1; i <= uint64_t(rounds); i++) {
		auto t0 = Clock::now();
		pp.ping.store(i, std::memory_order_release);
		while (pp.pong.load(std::memory_order_acquire) != i)
			cpu_relax();
		s.push_back(seconds_since(t0) * 1e6);
	}
	t.join();
	std::sort(s.begin(), s.end());
	return s;
}

void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0)
		;
}

void ok_method(troupe *, troupe_ctx *ctx, void *, const troupe_value *, size_t)
{
	troupe_return(ctx, "ok", 2);
}

const troupe_method kLatencyMethods[] = {ok_method};
const troupe_class kLatencyClass = {"bench_latency", 0, nullptr, nullptr,
				    kLatencyMethods, 1};

// One round trip: an empty task submitted and got, or (with an actor) a
// call made and its result got; the ref released outside the timing.
troupe_err round_trip(troupe *rt, troupe_actor a, double *us)
{
	troupe_ref ref;
	auto t0 = Clock::now();
	troupe_err e = a.id != 0 ? troupe_actor_call(rt, a, ok_method, nullptr,
						     0, &ref) :
				   troupe_submit(rt, empty_task, nullptr, 0,
						 nullptr, &ref);
	if (e != TROUPE_OK)
		return e;
	e = troupe_get(rt, ref, -1, nullptr);
	*us = seconds_since(t0) * 1e6;
	troupe_release(rt, ref);
	return e;
}

// The latency rows.  state.iterations() samples (fixed by Iterations()),
// each after gap_ms of sleep when gap_ms > 0.  The floor is measured first,
// before the runtime starts, in the same process run.
void latency(benchmark::State &state, bool actor, long gap_ms)
{
	std::vector<double> floor = pingpong_floor(kFloorRounds);
	Runtime r;
	if (!check(state, r.err, "troupe_init"))
		return;
	troupe_actor a{0};
	if (actor && !check(state,
			    troupe_actor_create(r.rt, &kLatencyClass, nullptr,
						0, nullptr, &a),
			    "troupe_actor_create"))
		return;
	std::vector<double> s;
	s.reserve(size_t(state.max_iterations));
	double us;
	troupe_err e = round_trip(r.rt, a, &us); // warm-up, not counted
	for (auto _ : state) {
		if (e != TROUPE_OK)
			break;
		if (gap_ms > 0)
			sleep_ms(gap_ms);
		e = round_trip(r.rt, a, &us);
		s.push_back(us);
	}
	if (a.id != 0)
		troupe_actor_release(r.rt, a);
	if (!check(state, e, actor ? "call / get" : "submit / get"))
		return;
	std::sort(s.begin(), s.end());
	double f50 = percentile(floor, 0.5);
	state.counters["samples"] = double(s.size());
	state.counters["p50_us"] = percentile(s, 0.5);
	state.counters["p90_us"] = percentile(s, 0.9);
	state.counters["p99_us"] = percentile(s, 0.99);
	state.counters["p999_us"] = percentile(s, 0.999);
	state.counters["max_us"] = s.empty() ? 0 : s.back();
	state.counters["floor_p50_us"] = f50;
	state.counters["floor_p99_us"] = percentile(floor, 0.99);
	state.counters["p50_x_floor"] = percentile(s, 0.5) / f50;
}

void latency_task_roundtrip_hot(benchmark::State &state)
{
	latency(state, false, 0);
}
void latency_task_roundtrip_idle(benchmark::State &state)
{
	latency(state, false, kIdleGapMs);
}
void latency_actor_call_roundtrip_hot(benchmark::State &state)
{
	latency(state, true, 0);
}
void latency_actor_call_roundtrip_idle(benchmark::State &state)
{
	latency(state, true, kIdleGapMs);
}

} // namespace

BENCHMARK(single_client_get_calls)->UseRealTime();
BENCHMARK(single_client_put_calls)->UseRealTime();
BENCHMARK(multi_client_put_calls)->UseRealTime();
BENCHMARK(single_client_put_gigabytes)->UseRealTime();
BENCHMARK(multi_client_put_gigabytes)->UseRealTime();
BENCHMARK(single_client_tasks_and_get_batch)->UseRealTime();
BENCHMARK(single_client_get_object_containing_10k_refs)->UseRealTime();
BENCHMARK(single_client_wait_1k_refs)->UseRealTime();
BENCHMARK(multi_client_tasks_async)->UseRealTime();
BENCHMARK(latency_task_roundtrip_hot)
	->Iterations(kHotSamples)
	->UseRealTime()
	->Unit(benchmark::kMicrosecond);
BENCHMARK(latency_task_roundtrip_idle)
	->Name("latency_task_roundtrip_idle_100ms")
	->Iterations(kIdleSamples)
	->UseRealTime()
	->Unit(benchmark::kMillisecond);
BENCHMARK(latency_actor_call_roundtrip_hot)
	->Iterations(kHotSamples)
	->UseRealTime()
	->Unit(benchmark::kMicrosecond);
BENCHMARK(latency_actor_call_roundtrip_idle)
	->Name("latency_actor_call_roundtrip_idle_100ms")
	->Iterations(kIdleSamples)
	->UseRealTime()
	->Unit(benchmark::kMillisecond);
