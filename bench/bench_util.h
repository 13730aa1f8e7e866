// What every file of troupe-bench shares: the clock, the same-run baseline
// measurement, the error check that marks a row failed, and a runtime that
// lives for one benchmark function.  Header-only, in each file's anonymous
// namespace, so every row stays in its own translation unit.
#ifndef TROUPE_BENCH_UTIL_H
#define TROUPE_BENCH_UTIL_H

#include <benchmark/benchmark.h>

#include <troupe.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sched.h>

namespace
{

using Clock = std::chrono::steady_clock;

// Wall time each in-process baseline is measured for.
constexpr double kBaselineSeconds = 0.05;

inline double seconds_since(Clock::time_point t0)
{
	return std::chrono::duration<double>(Clock::now() - t0).count();
}

// The middle sample (the upper of the two middle ones for an even count).
inline double median(std::vector<double> v)
{
	std::sort(v.begin(), v.end());
	return v[v.size() / 2];
}

// The CPUs this process may run on (its affinity mask, as troupe counts
// them for its default worker count), so that `taskset -c 0,1 troupe bench`
// sizes every row, client count and peer pool for two CPUs.
inline unsigned bench_cpus()
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return unsigned(CPU_COUNT(&set));
	unsigned n = std::thread::hardware_concurrency();
	return n ? n : 1;
}

// Runs batch() (which does `items` operations) until kBaselineSeconds have
// passed; returns operations per second.
template <class F> double measure_rate(F &&batch, double items)
{
	batch(); // warm caches and the allocator
	auto t0 = Clock::now();
	double n = 0, el;
	do {
		batch();
		n += items;
	} while ((el = seconds_since(t0)) < kBaselineSeconds);
	return n / el;
}

// False, with the row marked failed, unless err is TROUPE_OK.
inline bool check(benchmark::State &state, troupe_err err, const char *what)
{
	if (err == TROUPE_OK)
		return true;
	std::string msg = std::string(what) + ": " + troupe_strerror(err);
	state.SkipWithError(msg.c_str());
	return false;
}

// One runtime per benchmark function call, created and shut down outside
// the timed loop.
struct Runtime {
	troupe *rt = nullptr;
	troupe_err err;
	explicit Runtime(const troupe_config *cfg = nullptr)
		: err(troupe_init(&rt, cfg))
	{
	}
	~Runtime()
	{
		if (rt)
			troupe_shutdown(rt);
	}
	Runtime(const Runtime &) = delete;
	Runtime &operator=(const Runtime &) = delete;
};

inline void empty_task(troupe *, troupe_ctx *, const troupe_value *, size_t)
{
}

// The header's TROUPE_I64() is a C compound literal, which ISO C++ does not
// have: C++ builds the struct.
inline troupe_arg i64_arg(int64_t x)
{
	troupe_arg a{};
	a.kind = TROUPE_ARG_I64;
	a.i64 = x;
	return a;
}

// n caller threads that each run fn(i) once per run(); run() returns when
// all have.  Threads wait on a condition variable between runs.
class Gang {
	std::mutex mu;
	std::condition_variable cv_go, cv_done;
	uint64_t gen = 0;
	unsigned n, done = 0;
	bool stop = false;
	std::function<void(unsigned)> fn;
	std::vector<std::thread> th;

	void loop(unsigned i)
	{
		uint64_t seen = 0;
		std::unique_lock<std::mutex> g(mu);
		for (;;) {
			cv_go.wait(g, [&] { return stop || gen != seen; });
			if (stop)
				return;
			seen = gen;
			g.unlock();
			fn(i);
			g.lock();
			if (++done == n)
				cv_done.notify_one();
		}
	}

    public:
	Gang(unsigned count, std::function<void(unsigned)> f)
		: n(count), fn(std::move(f))
	{
		for (unsigned i = 0; i < n; i++)
			th.emplace_back([this, i] { loop(i); });
	}
	~Gang()
	{
		{
			std::lock_guard<std::mutex> g(mu);
			stop = true;
		}
		cv_go.notify_all();
		for (auto &t : th)
			t.join();
	}
	void run()
	{
		std::unique_lock<std::mutex> g(mu);
		done = 0;
		gen++;
		cv_go.notify_all();
		cv_done.wait(g, [&] { return done == n; });
	}
};

} // namespace

#endif
