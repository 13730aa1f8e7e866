// The Savina micro-benchmarks (Imam & Sarkar, "Savina — An Actor Benchmark
// Suite", AGERE! 2014) written twice, with CAF 0.17 event-based actors and
// with troupe actors, and timed in the same run (bench/README.md, "Savina
// rows against CAF").
//
// Each row runs the CAF version first, in its own caf::actor_system with as
// many scheduler threads as troupe has workers, destroys it (its threads are
// joined), then runs the troupe version on a fresh runtime.  Only the message
// phase is timed: actors are created and wired (each learns its peers) before
// the clock starts and torn down after it stops, in both versions.  A
// Savina asynchronous send is a fire-and-forget troupe_actor_call (ref =
// NULL) on one side and a CAF send on the other; a reply-to address travels
// in the message as an argument on both sides (TROUPE_ACTOR(h) / a
// caf::actor), and the end of a run is signalled to the benchmark thread
// through the same mutex + condition variable in both.  Every row checks a
// count at the end (messages seen, meetings made) and reports an error
// instead of a figure when it is off or when a run does not finish in time.
//
// Counters: items_per_second is troupe's message rate; caf_per_s CAF's;
// x_caf = troupe's rate / CAF's (>= 1: troupe at least as fast); troupe_s /
// caf_s the two timed phases in seconds.

#ifdef TROUPE_BENCH_CAF

#include <benchmark/benchmark.h>

#include <troupe.h>

#include "bench_util.h"

#include <caf/all.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

namespace
{

// A run that has not finished after this long has lost a message.
constexpr double kTimeoutSeconds = 60.0;

// The end of a run: set once by the actor that sees the last message, waited
// for by the benchmark thread.  The same object serves both versions.
struct Done {
	std::mutex mu;
	std::condition_variable cv;
	bool done = false;
	int64_t result = 0;      // what the last actor reports (a count)
	std::atomic<int> errors{0}; // troupe calls that failed inside methods

	void reset()
	{
		std::lock_guard<std::mutex> g(mu);
		done = false;
		result = 0;
		errors.store(0);
	}
	void signal(int64_t r)
	{
		std::lock_guard<std::mutex> g(mu);
		result = r;
		done = true;
		cv.notify_all();
	}
	bool wait()
	{
		std::unique_lock<std::mutex> g(mu);
		return cv.wait_for(g,
				   std::chrono::duration<double>(
					   kTimeoutSeconds),
				   [this] { return done; });
	}
};

Done g_done;

// The header's TROUPE_ACTOR is a C compound literal (i64_arg: bench_util.h).
troupe_arg actor_arg(troupe_actor h)
{
	troupe_arg a{};
	a.kind = TROUPE_ARG_ACTOR;
	a.actor = h;
	return a;
}

// A call made inside a method: a failure cannot be returned to anyone, so
// it is counted and ends the run (the row then reports it).
void send(troupe *rt, troupe_actor a, troupe_method m, const troupe_arg *args,
	  size_t nargs)
{
	troupe_err e = troupe_actor_call(rt, a, m, args, nargs, nullptr);
	if (e != TROUPE_OK) {
		g_done.errors.fetch_add(1);
		g_done.signal(-1);
	}
}

int64_t arg_i64(const troupe_value *args, size_t i)
{
	int64_t v = 0;
	troupe_value_i64(&args[i], &v);
	return v;
}

troupe_actor arg_actor(const troupe_value *args, size_t i)
{
	troupe_actor a{0};
	troupe_value_actor(&args[i], &a);
	return a;
}

caf::actor_system_config &caf_config(caf::actor_system_config &cfg,
				     unsigned threads)
{
	cfg.set("scheduler.max-threads", size_t(threads));
	return cfg;
}

unsigned troupe_workers(troupe *rt)
{
	unsigned n = 0;
	troupe_num_workers(rt, &n);
	return n ? n : 1;
}

constexpr int kRounds = 5;

// A row's rounds: each runs CAF's side (in an actor system of its own,
// destroyed before troupe's side starts, so that its idle threads do not
// poll meanwhile), then troupe's (on a runtime of its own).  The row
// reports each side's median and the ratio of the medians: one round is
// 10-100 ms, and CAF's fjthrput read 3.1-8.3 M/s between single rounds on
// this VM.  Troupe's manual time is the row's time.
class Rounds {
    public:
	explicit Rounds(benchmark::State &state) : state_(state)
	{
	}
	void add(double msgs, double t_troupe, double t_caf)
	{
		state_.SetIterationTime(t_troupe);
		troupe_.push_back(t_troupe);
		caf_.push_back(t_caf);
		state_.SetItemsProcessed(
			int64_t(msgs * double(troupe_.size())));
		double t = median(troupe_), c = median(caf_);
		state_.counters["troupe_s"] = t;
		state_.counters["caf_s"] = c;
		state_.counters["caf_per_s"] = msgs / c;
		state_.counters["x_caf"] = c / t;
	}

    private:
	benchmark::State &state_;
	std::vector<double> troupe_, caf_;
};

// Creates n actors of cls; false (with the row's error set) on failure.
bool create_actors(benchmark::State &state, troupe *rt,
		   const troupe_class *cls, std::vector<troupe_actor> &out,
		   size_t n)
{
	for (size_t i = 0; i < n; i++) {
		troupe_actor a;
		troupe_err e = troupe_actor_create(rt, cls, nullptr, 0,
						   nullptr, &a);
		if (e != TROUPE_OK) {
			state.SkipWithError(
				(std::string("troupe_actor_create: ") +
				 troupe_strerror(e))
					.c_str());
			return false;
		}
		out.push_back(a);
	}
	return true;
}

// A call with a ref, waited for: the wiring before the clock starts.
bool call_sync(benchmark::State &state, troupe *rt, troupe_actor a,
	       troupe_method m, const troupe_arg *args, size_t nargs,
	       int64_t *out = nullptr)
{
	troupe_ref ref;
	troupe_err e = troupe_actor_call(rt, a, m, args, nargs, &ref);
	if (e == TROUPE_OK) {
		troupe_value v;
		e = troupe_get(rt, ref, kTimeoutSeconds, &v);
		if (e == TROUPE_OK && out)
			e = troupe_value_i64(&v, out);
		troupe_release(rt, ref);
	}
	if (e != TROUPE_OK) {
		state.SkipWithError(
			(std::string("troupe call: ") + troupe_strerror(e))
				.c_str());
		return false;
	}
	return true;
}

void release_all(troupe *rt, std::vector<troupe_actor> &as)
{
	for (troupe_actor a : as)
		troupe_actor_release(rt, a);
	as.clear();
}

// Waits for the troupe run; false (with the row's error) when it failed.
bool wait_troupe(benchmark::State &state)
{
	if (!g_done.wait()) {
		state.SkipWithError("troupe: timed out (a message was lost)");
		return false;
	}
	if (g_done.errors.load()) {
		state.SkipWithError("troupe: a call inside a method failed");
		return false;
	}
	return true;
}

bool check_count(benchmark::State &state, const char *who, int64_t got,
		 int64_t want)
{
	if (got == want)
		return true;
	std::string msg = std::string(who) + ": count " + std::to_string(got) +
			  ", expected " + std::to_string(want);
	state.SkipWithError(msg.c_str());
	return false;
}

void caf_stop(std::vector<caf::actor> &as)
{
	for (auto &a : as)
		caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
	as.clear();
}

// CAF 0.17 atoms (at most 10 characters).
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;
using wire_atom = caf::atom_constant<caf::atom("wire")>;
using inc_atom = caf::atom_constant<caf::atom("inc")>;
using get_atom = caf::atom_constant<caf::atom("get")>;
using work_atom = caf::atom_constant<caf::atom("work")>;
using token_atom = caf::atom_constant<caf::atom("token")>;
using meet_atom = caf::atom_constant<caf::atom("meet")>;
using change_atom = caf::atom_constant<caf::atom("change")>;
using exit_atom = caf::atom_constant<caf::atom("exit")>;
using faded_atom = caf::atom_constant<caf::atom("faded")>;

// ------------------------------------------------------------ pingpong
//
// Savina PingPong: ping sends ping(reply_to = ping, n) to pong, pong answers
// pong(n) to reply_to, N round trips (2N messages).

constexpr int64_t kPingPongN = 100000;

struct PingState {
	troupe_actor self, pong;
};
struct PongState {
	int64_t pings;
};

void pong_ping(troupe *rt, troupe_ctx *, void *st, const troupe_value *args,
	       size_t);
void ping_pong(troupe *rt, troupe_ctx *, void *st, const troupe_value *args,
	       size_t);

void ping_wire(troupe *, troupe_ctx *, void *st, const troupe_value *args,
	       size_t)
{
	auto *s = static_cast<PingState *>(st);
	s->self = arg_actor(args, 0);
	s->pong = arg_actor(args, 1);
}

// ping.pong(left): one round trip done; start the next or finish.
void ping_pong(troupe *rt, troupe_ctx *, void *st, const troupe_value *args,
	       size_t)
{
	auto *s = static_cast<PingState *>(st);
	int64_t left = arg_i64(args, 0);
	if (left == 0) {
		g_done.signal(0);
		return;
	}
	troupe_arg a[] = {actor_arg(s->self), i64_arg(left - 1)};
	send(rt, s->pong, pong_ping, a, 2);
}

const troupe_method kPingMethods[] = {ping_wire, ping_pong};
const troupe_class kPingClass = {"savina_ping", sizeof(PingState), nullptr,
				 nullptr, kPingMethods, 2};

void pong_ping(troupe *rt, troupe_ctx *, void *st, const troupe_value *args,
	       size_t)
{
	static_cast<PongState *>(st)->pings++;
	troupe_arg a[] = {i64_arg(arg_i64(args, 1))};
	send(rt, arg_actor(args, 0), ping_pong, a, 1);
}

void pong_count(troupe *, troupe_ctx *ctx, void *st, const troupe_value *,
		size_t)
{
	troupe_return_i64(ctx, static_cast<PongState *>(st)->pings);
}

const troupe_method kPongMethods2[] = {pong_ping, pong_count};
const troupe_class kPongClass2 = {"savina_pong", sizeof(PongState), nullptr,
				  nullptr, kPongMethods2, 2};

struct CafPong {
	int64_t pings = 0;
};

caf::behavior caf_pong(caf::stateful_actor<CafPong> *self)
{
	return {
		[=](ping_atom, const caf::actor &reply_to, int64_t n) {
			self->state.pings++;
			self->send(reply_to, pong_atom::value, n);
		},
		[=](get_atom) { return self->state.pings; },
	};
}

caf::behavior caf_ping(caf::event_based_actor *self, caf::actor pong)
{
	return {
		[=](pong_atom, int64_t left) {
			if (left == 0) {
				g_done.signal(0);
				return;
			}
			self->send(pong, ping_atom::value,
				   caf::actor_cast<caf::actor>(self), left - 1);
		},
	};
}

int64_t caf_ask_i64(caf::actor_system &sys, const caf::actor &a)
{
	caf::scoped_actor self{sys};
	int64_t r = -1;
	self->request(a, caf::infinite, get_atom::value)
		.receive([&](int64_t v) { r = v; },
			 [&](caf::error &) { r = -2; });
	return r;
}

void savina_pingpong(benchmark::State &state)
{
	const int64_t n = kPingPongN;
	Rounds rounds(state);
	for (auto _ : state) {
		// Each round on a fresh runtime, as CAF's side gets a fresh
		// actor system (see Rounds).
		Runtime r;
		if (r.err != TROUPE_OK) {
			state.SkipWithError("troupe_init failed");
			return;
		}
		unsigned workers = troupe_workers(r.rt);
		double t_caf;
		{
			caf::actor_system_config cfg;
			caf::actor_system sys{caf_config(cfg, workers)};
			std::vector<caf::actor> as;
			as.push_back(sys.spawn(caf_pong));
			as.push_back(sys.spawn(caf_ping, as[0]));
			g_done.reset();
			auto t0 = Clock::now();
			caf::anon_send(as[1], pong_atom::value, n);
			if (!g_done.wait()) {
				state.SkipWithError("caf: timed out");
				caf_stop(as);
				return;
			}
			t_caf = seconds_since(t0);
			int64_t pings = caf_ask_i64(sys, as[0]);
			caf_stop(as);
			if (!check_count(state, "caf pings", pings, n))
				return;
		}
		std::vector<troupe_actor> as;
		if (!create_actors(state, r.rt, &kPongClass2, as, 1) ||
		    !create_actors(state, r.rt, &kPingClass, as, 1))
			return;
		troupe_arg w[] = {actor_arg(as[1]), actor_arg(as[0])};
		if (!call_sync(state, r.rt, as[1], ping_wire, w, 2))
			return;
		g_done.reset();
		auto t0 = Clock::now();
		troupe_arg a[] = {i64_arg(n)};
		troupe_err e =
			troupe_actor_call(r.rt, as[1], ping_pong, a, 1, nullptr);
		if (e != TROUPE_OK || !wait_troupe(state)) {
			if (e != TROUPE_OK)
				state.SkipWithError("troupe_actor_call failed");
			return;
		}
		double t_troupe = seconds_since(t0);
		int64_t pings = -1;
		if (!call_sync(state, r.rt, as[0], pong_count, nullptr, 0,
			       &pings) ||
		    !check_count(state, "troupe pings", pings, n))
			return;
		release_all(r.rt, as);
		rounds.add(2.0 * double(n), t_troupe, t_caf);
	}
}

// ------------------------------------------------------------ count
//
// Savina Count: N increments sent to one counter, then a query for the total
// (the counter answers it; the total must be N).  The benchmark thread is
// the producer on both sides.

constexpr int64_t kCountN = 1000000;

struct CounterState {
	int64_t n;
};

void counter_inc(troupe *, troupe_ctx *, void *st, const troupe_value *,
		 size_t)
{
	static_cast<CounterState *>(st)->n++;
}

void counter_get(troupe *, troupe_ctx *ctx, void *st, const troupe_value *,
		 size_t)
{
	troupe_return_i64(ctx, static_cast<CounterState *>(st)->n);
}

const troupe_method kCounterMethods[] = {counter_inc, counter_get};
const troupe_class kCounterClass = {"savina_counter", sizeof(CounterState),
				    nullptr, nullptr, kCounterMethods, 2};

struct CafCounter {
	int64_t n = 0;
};

caf::behavior caf_counter(caf::stateful_actor<CafCounter> *self)
{
	return {
		[=](inc_atom) { self->state.n++; },
		[=](get_atom) { return self->state.n; },
	};
}

void savina_count(benchmark::State &state)
{
	const int64_t n = kCountN;
	Rounds rounds(state);
	for (auto _ : state) {
		// Each round on a fresh runtime, as CAF's side gets a fresh
		// actor system (see Rounds).
		Runtime r;
		if (r.err != TROUPE_OK) {
			state.SkipWithError("troupe_init failed");
			return;
		}
		unsigned workers = troupe_workers(r.rt);
		double t_caf;
		{
			caf::actor_system_config cfg;
			caf::actor_system sys{caf_config(cfg, workers)};
			std::vector<caf::actor> as{sys.spawn(caf_counter)};
			caf::scoped_actor self{sys};
			int64_t total = -1;
			auto t0 = Clock::now();
			for (int64_t i = 0; i < n; i++)
				self->send(as[0], inc_atom::value);
			self->request(as[0], caf::infinite, get_atom::value)
				.receive([&](int64_t v) { total = v; },
					 [&](caf::error &) { total = -2; });
			t_caf = seconds_since(t0);
			caf_stop(as);
			if (!check_count(state, "caf count", total, n))
				return;
		}
		std::vector<troupe_actor> as;
		if (!create_actors(state, r.rt, &kCounterClass, as, 1))
			return;
		int64_t total = -1;
		auto t0 = Clock::now();
		for (int64_t i = 0; i < n; i++) {
			troupe_err e = troupe_actor_call(r.rt, as[0],
							 counter_inc, nullptr,
							 0, nullptr);
			if (e != TROUPE_OK) {
				state.SkipWithError("troupe_actor_call failed");
				return;
			}
		}
		if (!call_sync(state, r.rt, as[0], counter_get, nullptr, 0,
			       &total))
			return;
		double t_troupe = seconds_since(t0);
		release_all(r.rt, as);
		if (!check_count(state, "troupe count", total, n))
			return;
		rounds.add(double(n) + 1, t_troupe, t_caf);
	}
}

// ------------------------------------------------------------ fjthrput
//
// Savina Fork-Join (throughput): the benchmark thread sends N messages to
// each of A workers (round-robin, as Savina's loop does); each message does
// a small computation (Savina's: a sine, kept so it is not folded away).  A
// worker that has seen N messages reports; the run ends when all A have.

constexpr int kFjActors = 60;
constexpr int64_t kFjPerActor = 10000;

std::atomic<int> g_fj_left{0};

double fj_work(double acc, int64_t i)
{
	return acc + std::sin(37.2 + double(i & 1023));
}

struct FjState {
	int64_t seen;
	double acc;
};

void fj_msg(troupe *, troupe_ctx *, void *st, const troupe_value *, size_t)
{
	auto *s = static_cast<FjState *>(st);
	s->acc = fj_work(s->acc, s->seen);
	if (++s->seen == kFjPerActor && g_fj_left.fetch_sub(1) == 1)
		g_done.signal(0);
}

const troupe_method kFjMethods[] = {fj_msg};
const troupe_class kFjClass = {"savina_fj", sizeof(FjState), nullptr,
			       nullptr, kFjMethods, 1};

struct CafFj {
	int64_t seen = 0;
	double acc = 0;
};

caf::behavior caf_fj(caf::stateful_actor<CafFj> *self)
{
	return {
		[=](work_atom) {
			auto &s = self->state;
			s.acc = fj_work(s.acc, s.seen);
			if (++s.seen == kFjPerActor &&
			    g_fj_left.fetch_sub(1) == 1)
				g_done.signal(0);
		},
	};
}

void savina_fjthrput(benchmark::State &state)
{
	Rounds rounds(state);
	for (auto _ : state) {
		// Each round on a fresh runtime, as CAF's side gets a fresh
		// actor system (see Rounds).
		Runtime r;
		if (r.err != TROUPE_OK) {
			state.SkipWithError("troupe_init failed");
			return;
		}
		unsigned workers = troupe_workers(r.rt);
		double t_caf;
		{
			caf::actor_system_config cfg;
			caf::actor_system sys{caf_config(cfg, workers)};
			std::vector<caf::actor> as;
			for (int i = 0; i < kFjActors; i++)
				as.push_back(sys.spawn(caf_fj));
			caf::scoped_actor self{sys};
			g_done.reset();
			g_fj_left.store(kFjActors);
			auto t0 = Clock::now();
			for (int64_t m = 0; m < kFjPerActor; m++)
				for (auto &a : as)
					self->send(a, work_atom::value);
			bool ok = g_done.wait();
			t_caf = seconds_since(t0);
			caf_stop(as);
			if (!ok) {
				state.SkipWithError("caf: timed out");
				return;
			}
		}
		std::vector<troupe_actor> as;
		if (!create_actors(state, r.rt, &kFjClass, as, kFjActors))
			return;
		g_done.reset();
		g_fj_left.store(kFjActors);
		auto t0 = Clock::now();
		for (int64_t m = 0; m < kFjPerActor; m++)
			for (troupe_actor a : as)
				if (troupe_actor_call(r.rt, a, fj_msg, nullptr,
						      0, nullptr) !=
				    TROUPE_OK) {
					state.SkipWithError(
						"troupe_actor_call failed");
					return;
				}
		if (!wait_troupe(state))
			return;
		double t_troupe = seconds_since(t0);
		release_all(r.rt, as);
		rounds.add(double(kFjActors) * double(kFjPerActor), t_troupe,
			   t_caf);
	}
}

// ------------------------------------------------------------ threadring
//
// Savina ThreadRing: a token carrying a hop count goes round a ring of R
// actors; each passes it on with the count less one; the actor that gets it
// at 0 ends the run.  H hops = H messages.

constexpr int kRingActors = 100;
constexpr int64_t kRingHops = 100000;

struct RingState {
	troupe_actor next;
	int64_t seen;
};

void ring_token(troupe *rt, troupe_ctx *, void *st, const troupe_value *args,
		size_t);

void ring_wire(troupe *, troupe_ctx *, void *st, const troupe_value *args,
	       size_t)
{
	static_cast<RingState *>(st)->next = arg_actor(args, 0);
}

std::atomic<int64_t> g_ring_seen{0};

void ring_token(troupe *rt, troupe_ctx *, void *st, const troupe_value *args,
		size_t)
{
	auto *s = static_cast<RingState *>(st);
	s->seen++;
	int64_t left = arg_i64(args, 0);
	if (left == 0) {
		g_done.signal(0);
		return;
	}
	troupe_arg a[] = {i64_arg(left - 1)};
	send(rt, s->next, ring_token, a, 1);
}

void ring_count(troupe *, troupe_ctx *ctx, void *st, const troupe_value *,
		size_t)
{
	troupe_return_i64(ctx, static_cast<RingState *>(st)->seen);
}

const troupe_method kRingMethods[] = {ring_wire, ring_token, ring_count};
const troupe_class kRingClass = {"savina_ring", sizeof(RingState), nullptr,
				 nullptr, kRingMethods, 3};

struct CafRing {
	caf::actor next;
	int64_t seen = 0;
};

caf::behavior caf_ring(caf::stateful_actor<CafRing> *self)
{
	return {
		[=](wire_atom, const caf::actor &next) {
			self->state.next = next;
		},
		[=](token_atom, int64_t left) {
			self->state.seen++;
			if (left == 0) {
				g_done.signal(0);
				return;
			}
			self->send(self->state.next, token_atom::value,
				   left - 1);
		},
		[=](get_atom) { return self->state.seen; },
	};
}

void savina_threadring(benchmark::State &state)
{
	// Hops H reach H + 1 actors (the first gets the token at H).
	const int64_t want = kRingHops + 1;
	Rounds rounds(state);
	for (auto _ : state) {
		// Each round on a fresh runtime, as CAF's side gets a fresh
		// actor system (see Rounds).
		Runtime r;
		if (r.err != TROUPE_OK) {
			state.SkipWithError("troupe_init failed");
			return;
		}
		unsigned workers = troupe_workers(r.rt);
		double t_caf;
		{
			caf::actor_system_config cfg;
			caf::actor_system sys{caf_config(cfg, workers)};
			std::vector<caf::actor> as;
			for (int i = 0; i < kRingActors; i++)
				as.push_back(sys.spawn(caf_ring));
			{
				caf::scoped_actor self{sys};
				for (int i = 0; i < kRingActors; i++)
					self->request(as[size_t(i)],
						      caf::infinite,
						      wire_atom::value,
						      as[size_t(
							      (i + 1) %
							      kRingActors)])
						.receive([] {},
							 [](caf::error &) {});
			}
			g_done.reset();
			auto t0 = Clock::now();
			caf::anon_send(as[0], token_atom::value, kRingHops);
			bool ok = g_done.wait();
			t_caf = seconds_since(t0);
			int64_t seen = 0;
			for (auto &a : as)
				seen += caf_ask_i64(sys, a);
			caf_stop(as);
			if (!ok) {
				state.SkipWithError("caf: timed out");
				return;
			}
			if (!check_count(state, "caf hops", seen, want))
				return;
		}
		std::vector<troupe_actor> as;
		if (!create_actors(state, r.rt, &kRingClass, as, kRingActors))
			return;
		for (int i = 0; i < kRingActors; i++) {
			troupe_arg w[] = {actor_arg(
				as[size_t((i + 1) % kRingActors)])};
			if (!call_sync(state, r.rt, as[size_t(i)], ring_wire,
				       w, 1))
				return;
		}
		g_done.reset();
		auto t0 = Clock::now();
		troupe_arg a[] = {i64_arg(kRingHops)};
		if (troupe_actor_call(r.rt, as[0], ring_token, a, 1,
				      nullptr) != TROUPE_OK) {
			state.SkipWithError("troupe_actor_call failed");
			return;
		}
		if (!wait_troupe(state))
			return;
		double t_troupe = seconds_since(t0);
		int64_t seen = 0;
		for (troupe_actor x : as) {
			int64_t c = 0;
			if (!call_sync(state, r.rt, x, ring_count, nullptr, 0,
				       &c))
				return;
			seen += c;
		}
		release_all(r.rt, as);
		if (!check_count(state, "troupe hops", seen, want))
			return;
		rounds.add(double(want), t_troupe, t_caf);
	}
}

// ------------------------------------------------------------ chameneos
//
// Savina Chameneos: C creatures of three colours meet through one broker
// (the mall).  A creature sends meet(self, colour) to the mall; the mall
// keeps the first and, on the second, sends the first meet(second, colour)
// and counts a meeting.  The first takes the complement colour, sends
// change(colour) to the second, and both go back to the mall.  Once M
// meetings are made the mall answers every meet with exit; a creature then
// sends faded(its meetings) and the mall, once all C have faded, ends the
// run.  The creatures' meeting counts add up to 2M.

constexpr int kChamCreatures = 5;
constexpr int64_t kChamMeetings = 100000;

int64_t complement(int64_t a, int64_t b)
{
	// Colours 0, 1, 2: the same colour stays, two different give the third.
	return a == b ? a : 3 - a - b;
}

struct MallState {
	int64_t left;
	troupe_actor waiting;
	int64_t waiting_colour;
	int64_t faded;
	int64_t sum;
};

struct CreatureState {
	troupe_actor self, mall;
	int64_t colour;
	int64_t meetings;
};

void mall_meet(troupe *rt, troupe_ctx *, void *st, const troupe_value *args,
	       size_t);
void creature_meet(troupe *rt, troupe_ctx *, void *st,
		   const troupe_value *args, size_t);
void creature_change(troupe *rt, troupe_ctx *, void *st,
		     const troupe_value *args, size_t);
void creature_exit(troupe *rt, troupe_ctx *, void *st, const troupe_value *,
		   size_t);
void mall_faded(troupe *rt, troupe_ctx *, void *st, const troupe_value *args,
		size_t);

void mall_wire(troupe *, troupe_ctx *, void *st, const troupe_value *args,
	       size_t)
{
	auto *s = static_cast<MallState *>(st);
	*s = MallState{};
	s->left = arg_i64(args, 0);
}

void mall_meet(troupe *rt, troupe_ctx *, void *st, const troupe_value *args,
	       size_t)
{
	auto *s = static_cast<MallState *>(st);
	troupe_actor who = arg_actor(args, 0);
	int64_t colour = arg_i64(args, 1);
	if (s->left > 0) {
		if (s->waiting.id == 0) {
			s->waiting = who;
			s->waiting_colour = colour;
		} else {
			s->left--;
			troupe_arg a[] = {actor_arg(who),
					  i64_arg(colour)};
			send(rt, s->waiting, creature_meet, a, 2);
			s->waiting.id = 0;
		}
	} else {
		send(rt, who, creature_exit, nullptr, 0);
	}
}

void mall_faded(troupe *, troupe_ctx *, void *st, const troupe_value *args,
		size_t)
{
	auto *s = static_cast<MallState *>(st);
	s->sum += arg_i64(args, 0);
	if (++s->faded == kChamCreatures)
		g_done.signal(s->sum);
}

const troupe_method kMallMethods[] = {mall_wire, mall_meet, mall_faded};
const troupe_class kMallClass = {"savina_mall", sizeof(MallState), nullptr,
				 nullptr, kMallMethods, 3};

void creature_wire(troupe *rt, troupe_ctx *, void *st,
		   const troupe_value *args, size_t)
{
	auto *s = static_cast<CreatureState *>(st);
	s->self = arg_actor(args, 0);
	s->mall = arg_actor(args, 1);
	s->colour = arg_i64(args, 2);
	(void)rt;
}

void creature_go(troupe *rt, troupe_ctx *, void *st, const troupe_value *,
		 size_t)
{
	auto *s = static_cast<CreatureState *>(st);
	troupe_arg a[] = {actor_arg(s->self), i64_arg(s->colour)};
	send(rt, s->mall, mall_meet, a, 2);
}

void creature_meet(troupe *rt, troupe_ctx *, void *st,
		   const troupe_value *args, size_t)
{
	auto *s = static_cast<CreatureState *>(st);
	troupe_actor other = arg_actor(args, 0);
	s->colour = complement(s->colour, arg_i64(args, 1));
	s->meetings++;
	troupe_arg c[] = {i64_arg(s->colour)};
	send(rt, other, creature_change, c, 1);
	troupe_arg a[] = {actor_arg(s->self), i64_arg(s->colour)};
	send(rt, s->mall, mall_meet, a, 2);
}

void creature_change(troupe *rt, troupe_ctx *, void *st,
		     const troupe_value *args, size_t)
{
	auto *s = static_cast<CreatureState *>(st);
	s->colour = arg_i64(args, 0);
	s->meetings++;
	troupe_arg a[] = {actor_arg(s->self), i64_arg(s->colour)};
	send(rt, s->mall, mall_meet, a, 2);
}

void creature_exit(troupe *rt, troupe_ctx *, void *st, const troupe_value *,
		   size_t)
{
	auto *s = static_cast<CreatureState *>(st);
	troupe_arg a[] = {i64_arg(s->meetings)};
	send(rt, s->mall, mall_faded, a, 1);
}

const troupe_method kCreatureMethods[] = {creature_wire, creature_go,
					  creature_meet, creature_change,
					  creature_exit};
const troupe_class kCreatureClass = {"savina_chameneo", sizeof(CreatureState),
				     nullptr, nullptr, kCreatureMethods, 5};

struct CafMall {
	int64_t left = 0;
	caf::actor waiting;
	int64_t waiting_colour = 0;
	int64_t faded = 0;
	int64_t sum = 0;
};

caf::behavior caf_mall(caf::stateful_actor<CafMall> *self, int64_t meetings)
{
	self->state.left = meetings;
	return {
		[=](meet_atom, const caf::actor &who, int64_t colour) {
			auto &s = self->state;
			if (s.left > 0) {
				if (!s.waiting) {
					s.waiting = who;
					s.waiting_colour = colour;
				} else {
					s.left--;
					self->send(s.waiting, meet_atom::value,
						   who, colour);
					s.waiting = nullptr;
				}
			} else {
				self->send(who, exit_atom::value);
			}
		},
		[=](faded_atom, int64_t meetings_of) {
			auto &s = self->state;
			s.sum += meetings_of;
			if (++s.faded == kChamCreatures)
				g_done.signal(s.sum);
		},
	};
}

struct CafCreature {
	int64_t colour = 0;
	int64_t meetings = 0;
};

caf::behavior caf_creature(caf::stateful_actor<CafCreature> *self,
			   caf::actor mall, int64_t colour)
{
	self->state.colour = colour;
	return {
		[=](wire_atom) { // go
			self->send(mall, meet_atom::value,
				   caf::actor_cast<caf::actor>(self),
				   self->state.colour);
		},
		[=](meet_atom, const caf::actor &other, int64_t oc) {
			auto &s = self->state;
			s.colour = complement(s.colour, oc);
			s.meetings++;
			self->send(other, change_atom::value, s.colour);
			self->send(mall, meet_atom::value,
				   caf::actor_cast<caf::actor>(self), s.colour);
		},
		[=](change_atom, int64_t c) {
			auto &s = self->state;
			s.colour = c;
			s.meetings++;
			self->send(mall, meet_atom::value,
				   caf::actor_cast<caf::actor>(self), s.colour);
		},
		[=](exit_atom) {
			self->send(mall, faded_atom::value,
				   self->state.meetings);
		},
	};
}

void savina_chameneos(benchmark::State &state)
{
	const int64_t want = 2 * kChamMeetings;
	Rounds rounds(state);
	for (auto _ : state) {
		// Each round on a fresh runtime, as CAF's side gets a fresh
		// actor system (see Rounds).
		Runtime r;
		if (r.err != TROUPE_OK) {
			state.SkipWithError("troupe_init failed");
			return;
		}
		unsigned workers = troupe_workers(r.rt);
		double t_caf;
		{
			caf::actor_system_config cfg;
			caf::actor_system sys{caf_config(cfg, workers)};
			std::vector<caf::actor> as;
			as.push_back(sys.spawn(caf_mall, kChamMeetings));
			for (int i = 0; i < kChamCreatures; i++)
				as.push_back(sys.spawn(caf_creature, as[0],
						       int64_t(i % 3)));
			g_done.reset();
			auto t0 = Clock::now();
			for (int i = 1; i <= kChamCreatures; i++)
				caf::anon_send(as[size_t(i)],
					       wire_atom::value);
			bool ok = g_done.wait();
			t_caf = seconds_since(t0);
			int64_t sum = g_done.result;
			caf_stop(as);
			if (!ok) {
				state.SkipWithError("caf: timed out");
				return;
			}
			if (!check_count(state, "caf meetings", sum, want))
				return;
		}
		std::vector<troupe_actor> as;
		if (!create_actors(state, r.rt, &kMallClass, as, 1) ||
		    !create_actors(state, r.rt, &kCreatureClass, as,
				   kChamCreatures))
			return;
		troupe_arg mw[] = {i64_arg(kChamMeetings)};
		if (!call_sync(state, r.rt, as[0], mall_wire, mw, 1))
			return;
		for (int i = 1; i <= kChamCreatures; i++) {
			troupe_arg w[] = {actor_arg(as[size_t(i)]),
					  actor_arg(as[0]),
					  i64_arg((i - 1) % 3)};
			if (!call_sync(state, r.rt, as[size_t(i)],
				       creature_wire, w, 3))
				return;
		}
		g_done.reset();
		auto t0 = Clock::now();
		for (int i = 1; i <= kChamCreatures; i++)
			if (troupe_actor_call(r.rt, as[size_t(i)], creature_go,
					      nullptr, 0,
					      nullptr) != TROUPE_OK) {
				state.SkipWithError("troupe_actor_call failed");
				return;
			}
		if (!wait_troupe(state))
			return;
		double t_troupe = seconds_since(t0);
		int64_t sum = g_done.result;
		release_all(r.rt, as);
		if (!check_count(state, "troupe meetings", sum, want))
			return;
		// Messages: per meeting 2 meets + meet + change, plus C
		// (meet, exit, faded) at the end.
		rounds.add(4.0 * double(kChamMeetings) + 3 * kChamCreatures,
			   t_troupe, t_caf);
	}
}

} // namespace

BENCHMARK(savina_pingpong)
	->Name("savina_pingpong_100k")
	->Iterations(kRounds)
	->UseManualTime()
	->Unit(benchmark::kMillisecond);
BENCHMARK(savina_count)
	->Name("savina_count_1M")
	->Iterations(kRounds)
	->UseManualTime()
	->Unit(benchmark::kMillisecond);
BENCHMARK(savina_fjthrput)
	->Name("savina_fjthrput_60x10k")
	->Iterations(kRounds)
	->UseManualTime()
	->Unit(benchmark::kMillisecond);
BENCHMARK(savina_threadring)
	->Name("savina_threadring_100x100k")
	->Iterations(kRounds)
	->UseManualTime()
	->Unit(benchmark::kMillisecond);
BENCHMARK(savina_chameneos)
	->Name("savina_chameneos_5x100k")
	->Iterations(kRounds)
	->UseManualTime()
	->Unit(benchmark::kMillisecond);

#endif // TROUPE_BENCH_CAF
