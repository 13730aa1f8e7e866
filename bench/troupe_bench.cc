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

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <future>
#include <map>
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

using Clock = std::chrono::steady_clock;

// Wall time each in-process baseline is measured for.
constexpr double kBaselineSeconds = 0.05;

// Ray 2.48.0, release/perf_metrics/microbenchmark.json (m5.16xlarge, 64 vCPU).
constexpr double kRayTasksAsync = 8041.0;
constexpr double kRayTasksSync = 981.0;

// Targets from the issue (rates per second, bytes, ms/s).
constexpr double kTargetTasksAsync = 2e6;
constexpr double kTargetTasksSync = 3e5;
constexpr double kTargetPut = 5e6;
constexpr double kTargetGet = 1e7;

constexpr int kAsyncBatch = 1000;

double seconds_since(Clock::time_point t0)
{
	return std::chrono::duration<double>(Clock::now() - t0).count();
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

bool check(benchmark::State &state, troupe_err err, const char *what)
{
	if (err == TROUPE_OK)
		return true;
	std::string msg = std::string(what) + ": " + troupe_strerror(err);
	state.SkipWithError(msg.c_str());
	return false;
}

// One runtime per benchmark function call, default config, created and shut
// down outside the timed loop.
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

void empty_task(troupe *, troupe_ctx *, const troupe_value *, size_t)
{
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
	auto t0 = Clock::now();
	for (auto _ : state) {
		for (int i = 0; i < kAsyncBatch; i++) {
			troupe_err e = troupe_submit(r.rt, empty_task, nullptr,
						     0, nullptr, &refs[i]);
			if (!check(state, e, "troupe_submit"))
				return;
		}
		for (int i = 0; i < kAsyncBatch; i++) {
			troupe_value v;
			troupe_err e = troupe_get(r.rt, refs[i], -1, &v);
			if (!check(state, e, "troupe_get"))
				return;
			troupe_release(r.rt, refs[i]);
		}
	}
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
	auto t0 = Clock::now();
	for (auto _ : state) {
		troupe_ref ref;
		troupe_value v;
		troupe_err e = troupe_submit(r.rt, empty_task, nullptr, 0,
					     nullptr, &ref);
		if (!check(state, e, "troupe_submit"))
			return;
		e = troupe_get(r.rt, ref, -1, &v);
		if (!check(state, e, "troupe_get"))
			return;
		troupe_release(r.rt, ref);
	}
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

// One worker held by a blocking task; N empty tasks queued behind it.
int child_pending_troupe(long n)
{
	troupe_config cfg{};
	cfg.num_workers = 1;
	troupe *rt;
	troupe_err e = troupe_init(&rt, &cfg);
	if (e != TROUPE_OK)
		return fail_child("troupe_init", e);
	std::vector<troupe_ref> refs(size_t(n) + 1);
	std::memset(refs.data(), 0, refs.size() * sizeof refs[0]);
	if ((e = troupe_submit(rt, blocker_task, nullptr, 0, nullptr,
			       &refs[0])) != TROUPE_OK)
		return fail_child("troupe_submit (blocker)", e);
	while (!blocker_started.load())
		std::this_thread::yield();
	double before = rss_bytes();
	auto t0 = Clock::now();
	for (long i = 1; i <= n; i++)
		if ((e = troupe_submit(rt, empty_task, nullptr, 0, nullptr,
				       &refs[size_t(i)])) != TROUPE_OK)
			return fail_child("troupe_submit", e);
	double submit_s = seconds_since(t0);
	double after = rss_bytes();
	blocker_release.store(1, std::memory_order_release);
	for (auto ref : refs) {
		if ((e = troupe_get(rt, ref, -1, nullptr)) != TROUPE_OK)
			return fail_child("troupe_get", e);
		troupe_release(rt, ref);
	}
	if ((e = troupe_shutdown(rt)) != TROUPE_OK)
		return fail_child("troupe_shutdown", e);
	emit({{"bytes_per_task", (after - before) / double(n)},
	      {"submit_per_s", double(n) / submit_s}});
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
	unsigned n = std::thread::hardware_concurrency();
	for (unsigned i = 0; i < (n ? n : 1); i++)
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

int run_child_mode(const std::string &name)
{
	if (name == "pending_troupe")
		return child_pending_troupe(pending_n());
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

} // namespace

BENCHMARK(single_client_tasks_async)->UseRealTime();
BENCHMARK(single_client_tasks_sync)->UseRealTime();
BENCHMARK(spin_window_sync)
	->ArgNames({"spin_us", "gap_us"})
	->ArgsProduct({{-1, 5, 20, 50, 200}, {0, 1000}})
	->UseRealTime();
BENCHMARK(put_8B_release)->UseRealTime();
BENCHMARK(get_ready_8B)->UseRealTime();
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

int main(int argc, char **argv)
{
	size_t flag_len = std::strlen(kChildFlag);
	if (argc == 2 && std::strncmp(argv[1], kChildFlag, flag_len) == 0)
		return run_child_mode(argv[1] + flag_len);
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
