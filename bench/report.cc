// report.cc: `troupe-bench --troupe-report`, the one-table report that
// `troupe bench` prints (see bench/README.md, "The report").
//
// A Google Benchmark reporter: a progress line per finished row on stderr,
// then, once every row has run, one table on stdout:
//
//   metric | troupe | vs (baseline, Ray, peer, target) | their figure | ratio
//
// and the latency percentiles.  Nothing here knows the rows by name: a row
// shows a ratio line for every counter named x_<who> (x_base, x_ray,
// x_target, or a peer's x_tbb...), and the latency table takes every row
// with a p50_us counter.  Where the row reports the other side's figure
// (<who>_per_s, base_<figure>, ...) that is shown; else troupe ÷ ratio.

#include <benchmark/benchmark.h>

#include "bench_util.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <ostream>
#include <string>
#include <vector>

benchmark::BenchmarkReporter *troupe_bench_reporter(int *argc, char **argv);

namespace
{

using Counters = benchmark::UserCounters;

// "1.23 M" style: 3 significant digits and an SI prefix.
std::string si(double v)
{
	if (std::isnan(v) || std::isinf(v))
		return "—";
	static const char *prefix[] = {"", "k", "M", "G", "T"};
	int p = 0;
	double a = std::fabs(v);
	while (a >= 1000 && p < 4) {
		a /= 1000;
		v /= 1000;
		p++;
	}
	char buf[32];
	const char *fmt = a >= 100 ? "%.0f%s%s" :
			  a >= 10  ? "%.1f%s%s" :
				     "%.2f%s%s";
	if (a != 0 && a < 0.01)
		fmt = "%.2g%s%s";
	std::snprintf(buf, sizeof buf, fmt, v, p ? " " : "", prefix[p]);
	return buf;
}

bool ends_with(const std::string &s, const char *suffix)
{
	size_t n = std::strlen(suffix);
	return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// A counter's value with the unit its name implies.
std::string with_unit(const std::string &name, double v)
{
	if (name == "bytes_per_second")
		return si(v) + "B/s";
	if (ends_with(name, "GB_per_s"))
		return si(v) + " GB/s";
	if (ends_with(name, "ms_per_s"))
		return si(v) + " ms/s";
	if (name == "items_per_second" || ends_with(name, "_per_s"))
		return si(v) + "/s";
	if (ends_with(name, "_us"))
		return si(v) + " us";
	if (ends_with(name, "_ns"))
		return si(v) + " ns";
	if (ends_with(name, "_s"))
		return si(v) + " s";
	if (ends_with(name, "_MiB"))
		return si(v) + " MiB";
	if (name.compare(0, 2, "B_") == 0 ||
	    name.find("_B_") != std::string::npos)
		return si(v) + " B";
	return si(v);
}

// Whether counter k is a ratio: x_<who> (troupe's figure / who's), or
// <what>_x_<who> (t_x_tbb: troupe's time / TBB's).  The text after the
// prefix in *prefix ("" or "t_"), <who> in *who.
bool ratio_name(const std::string &k, std::string *prefix, std::string *who)
{
	size_t at = k.compare(0, 2, "x_") == 0 ? 0 : k.find("_x_");
	if (at == std::string::npos)
		return false;
	size_t start = at == 0 ? 2 : at + 3;
	*prefix = at == 0 ? "" : k.substr(0, at + 1);
	*who = k.substr(start);
	return !who->empty();
}

bool is_ratio(const std::string &k)
{
	std::string p, w;
	return ratio_name(k, &p, &w);
}

bool has(const Counters &c, const std::string &k)
{
	return c.find(k) != c.end();
}

double get(const Counters &c, const std::string &k)
{
	auto it = c.find(k);
	return it == c.end() ? NAN : it->second.value;
}

// The row's own figure: a counter K with a base_K beside it, else the rate
// Google Benchmark computed, else the first counter that is not a ratio or
// another side's figure.
std::string primary(const Counters &c)
{
	for (auto &kv : c)
		if (kv.first.compare(0, 5, "base_") != 0 &&
		    !is_ratio(kv.first) && has(c, "base_" + kv.first))
			return kv.first;
	if (has(c, "GB_per_s"))
		return "GB_per_s";
	if (has(c, "items_per_second"))
		return "items_per_second";
	if (has(c, "bytes_per_second"))
		return "bytes_per_second";
	for (auto &kv : c)
		if (kv.first.compare(0, 5, "base_") != 0 &&
		    !is_ratio(kv.first) && kv.first.compare(0, 4, "ray_") != 0)
			return kv.first;
	return "";
}

const char *who_label(const std::string &who)
{
	if (who == "base")
		return "baseline";
	if (who == "ray")
		return "Ray 2.48.0";
	if (who == "target")
		return "target";
	if (who == "memcpy")
		return "memcpy, warm";
	return nullptr;
}

// The other side's figure for ratio x_<who>, when the row reports it.
double other_figure(const Counters &c, const std::string &prefix,
		    const std::string &who, const std::string &prim)
{
	if (!prefix.empty()) // a ratio of some other figure: derive it
		return get(c, prim) / get(c, prefix + "x_" + who);
	if (who == "base" && has(c, "base_" + prim))
		return get(c, "base_" + prim);
	if (who == "base" && prim == "items_per_second" && has(c, "base_per_s"))
		return get(c, "base_per_s");
	if (prim == "GB_per_s" && has(c, who + "_GB_per_s"))
		return get(c, who + "_GB_per_s");
	if (has(c, who + "_per_s") && ends_with(prim, "per_second"))
		return get(c, who + "_per_s");
	if (has(c, who + "_" + prim))
		return get(c, who + "_" + prim);
	return get(c, prim) / get(c, "x_" + who);
}

// "name/real_time/iterations:30" -> "name".
std::string short_name(const benchmark::BenchmarkReporter::Run &r)
{
	std::string n = r.run_name.str();
	for (const char *cut : {"/real_time", "/iterations:", "/min_time:",
				"/manual_time", "/threads:"}) {
		size_t at = n.find(cut);
		if (at != std::string::npos) {
			size_t end = n.find('/', at + 1);
			n.erase(at, end == std::string::npos ?
					    std::string::npos :
					    end - at);
		}
	}
	return n;
}

class TroupeReporter : public benchmark::BenchmarkReporter {
    public:
	bool ReportContext(const Context &ctx) override
	{
		ncpus_ = int(bench_cpus());
		mhz_ = ctx.cpu_info.cycles_per_second / 1e6;
		return true;
	}

	void ReportRuns(const std::vector<Run> &runs) override
	{
		for (const Run &r : runs) {
			std::string name = short_name(r);
			bool median = r.run_type == Run::RT_Aggregate &&
				      r.aggregate_name == "median";
			if (r.run_type == Run::RT_Aggregate && !median)
				continue;
			auto it = index_.find(name);
			if (it == index_.end()) {
				index_[name] = rows_.size();
				rows_.push_back(r);
			} else if (median || rows_[it->second].run_type !=
						     Run::RT_Aggregate) {
				rows_[it->second] = r; // the median wins
			}
			if (r.run_type != Run::RT_Iteration)
				continue;
			auto now = std::chrono::steady_clock::now();
			char took[32];
			std::snprintf(took, sizeof took, " (%.1f s)",
				      std::chrono::duration<double>(now - last_)
					      .count());
			last_ = now;
			GetErrorStream()
				<< "[" << ++done_ << "] " << name
				<< (r.error_occurred ?
					    "  ERROR: " + r.error_message :
					    "  done")
				<< took << "\n"
				<< std::flush;
		}
	}

	void Finalize() override
	{
		std::ostream &o = GetOutputStream();
		char line[256];
		std::snprintf(line, sizeof line,
			      "troupe bench: %d CPUs at %.0f MHz; every ratio "
			      "is troupe / the other figure, from this run "
			      "(Ray: its published 2.48.0 figure)\n\n",
			      ncpus_, mhz_);
		o << line;
		std::snprintf(line, sizeof line, "%-56s %14s  %-12s %14s %9s\n",
			      "metric", "troupe", "vs", "their figure",
			      "ratio");
		o << line << std::string(109, '-') << "\n";
		std::vector<const Run *> lat;
		for (const Run &r : rows_) {
			std::string name = short_name(r);
			if (r.error_occurred) {
				std::snprintf(line, sizeof line,
					      "%-56s ERROR: %s\n", name.c_str(),
					      r.error_message.c_str());
				o << line;
				continue;
			}
			if (has(r.counters, "p50_us")) {
				lat.push_back(&r);
				continue;
			}
			row(o, name, r);
		}
		if (!lat.empty())
			latency(o, lat);
		o << std::flush;
	}

    private:
	static void row(std::ostream &o, const std::string &name, const Run &r)
	{
		char line[256];
		const Counters &c = r.counters;
		std::string prim = primary(c);
		std::string mine = prim.empty() ? "—" :
						  with_unit(prim, get(c, prim));
		if (prim.empty()) // no counter at all: the time per iteration
			mine = si(r.GetAdjustedRealTime()) + " " +
			       benchmark::GetTimeUnitString(r.time_unit);
		std::string label = name;
		if (!prim.empty() && prim != "items_per_second" &&
		    prim != "GB_per_s" && prim != "bytes_per_second")
			label += " (" + prim + ")";
		bool first = true;
		for (auto &kv : c) {
			std::string prefix, who;
			if (!ratio_name(kv.first, &prefix, &who))
				continue;
			const char *l = who_label(who);
			std::string vs = l ? l : who;
			if (!prefix.empty()) // t_x_tbb: "tbb (t_)"
				vs += " (" +
				      prefix.substr(0, prefix.size() - 1) + ")";
			std::string theirs =
				prim.empty() ?
					"—" :
					with_unit(prim,
						  other_figure(c, prefix, who,
							       prim));
			std::snprintf(line, sizeof line,
				      "%-56s %14s  %-12s %14s %9s\n",
				      first ? label.c_str() : "",
				      first ? mine.c_str() : "", vs.c_str(),
				      theirs.c_str(),
				      si(kv.second.value).c_str());
			o << line;
			first = false;
		}
		if (first) { // no ratio: the figure alone
			std::snprintf(line, sizeof line, "%-56s %14s\n",
				      label.c_str(), mine.c_str());
			o << line;
		}
	}

	static void latency(std::ostream &o, const std::vector<const Run *> &l)
	{
		char line[256];
		o << "\nlatency, microseconds (floor: a cache-line ping-pong "
		     "round trip between two threads, this run;\ntargets "
		     "when hot: p50 <= 4 x floor, p99 <= 20 us)\n\n";
		std::snprintf(line, sizeof line,
			      "%-40s %7s %7s %7s %7s %8s %7s %6s %6s\n",
			      "round trip", "p50", "p90", "p99", "p99.9", "max",
			      "floor", "x_flr", "n");
		o << line << std::string(102, '-') << "\n";
		for (const Run *r : l) {
			const Counters &c = r->counters;
			std::snprintf(line, sizeof line,
				      "%-40s %7s %7s %7s %7s %8s %7s %6s "
				      "%6.0f\n",
				      short_name(*r).c_str(),
				      si(get(c, "p50_us")).c_str(),
				      si(get(c, "p90_us")).c_str(),
				      si(get(c, "p99_us")).c_str(),
				      si(get(c, "p999_us")).c_str(),
				      si(get(c, "max_us")).c_str(),
				      si(get(c, "floor_p50_us")).c_str(),
				      si(get(c, "p50_x_floor")).c_str(),
				      get(c, "samples"));
			o << line;
		}
	}

	int ncpus_ = 0;
	double mhz_ = 0;
	int done_ = 0;
	std::chrono::steady_clock::time_point last_ =
		std::chrono::steady_clock::now();
	std::vector<Run> rows_;
	std::map<std::string, size_t> index_;
};

} // namespace

// Removes --troupe-report from argv (Google Benchmark would reject it) and
// returns the reporter to pass to RunSpecifiedBenchmarks, or nullptr for
// Google Benchmark's own console table.
benchmark::BenchmarkReporter *troupe_bench_reporter(int *argc, char **argv)
{
	static TroupeReporter reporter;
	bool found = false;
	int out = 1;
	for (int i = 1; i < *argc; i++) {
		if (std::strcmp(argv[i], "--troupe-report") == 0)
			found = true;
		else
			argv[out++] = argv[i];
	}
	*argc = out;
	argv[out] = nullptr;
	return found ? &reporter : nullptr;
}
