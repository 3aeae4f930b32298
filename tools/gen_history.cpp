// gen_history: writes a synthetic history (people walking a camera graph,
// tools/eval/synthetic_history.hpp) into a Weaver store, then benchmarks
// the seed's two queries over it and checks their answers against the
// generator's own truth. Prints ingest rows/s and query p50 / p99.
//
// Usage: gen_history --db LOCATION [--people N] [--cameras C] [--days D]
//                    [--batch B] [--queries Q] [--seed S] [--skip-load]
//                    [--gateway URL --token T] [--graph ring|full|A-B,B-C,...]
// LOCATION is a SQLite file or a postgresql:// URL. --skip-load reuses a
// store loaded before with the same spec; --gateway also times the same
// queries through a running REST gateway (weaver node --role query,gateway
// on that store), end to end over HTTP.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "actors/query/seed_queries.hpp"
#include "actors/storage/store.hpp"
#include "base/iso8601.hpp"
#include "tools/eval/synthetic_history.hpp"

#include "services/http.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

using namespace weaver;
using clock_type = std::chrono::steady_clock;

int main(int argc, char** argv) {
  std::string db, gateway, token, graph = "ring";
  bool skip_load = false;
  history_spec spec;
  spec.start_ms = 1'795'219'200'000; // 2026-11-21T00:00:00Z
  size_t batch = 10000, queries = 50;
  int cameras = 8;
  CLI::App app{"Writes a synthetic history into a store and times the seed's two queries."};
  app.add_option("--db", db, "Store: a SQLite file or a postgresql:// URL")->required();
  app.add_option("--people", spec.people, "People to generate");
  app.add_option("--cameras", cameras, "Cameras 1..C")->check(CLI::Range(2, 100000));
  app.add_option("--days", spec.days, "Days of history")->check(CLI::Range(1, 100000));
  app.add_option("--batch", batch, "Rows per transaction")->check(CLI::PositiveNumber);
  app.add_option("--queries", queries, "Queries of each kind")->check(CLI::PositiveNumber);
  app.add_option("--seed", spec.seed, "Random seed");
  app.add_flag("--skip-load", skip_load, "Reuse a store loaded before with the same spec");
  app.add_option("--gateway", gateway, "Also time the queries through this REST gateway (http://host:port)");
  app.add_option("--token", token, "Bearer token for --gateway");
  app.add_option("--graph", graph, "ring, full or directed edges A-B,B-C,...");
  CLI11_PARSE(app, argc, argv);
  spec.cameras.clear();
  for (int c = 1; c <= cameras; ++c) spec.cameras.push_back(static_cast<uint32_t>(c));
  // The walkable graph: a ring (each camera leads to its two neighbours, the
  // default), full (any camera to any other), or directed edges "1-2,2-3".
  if (graph == "ring") {
    for (int c = 1; c <= cameras; ++c) {
      spec.edges.push_back({static_cast<uint32_t>(c), static_cast<uint32_t>(c % cameras + 1)});
      spec.edges.push_back({static_cast<uint32_t>(c % cameras + 1), static_cast<uint32_t>(c)});
    }
  } else if (graph != "full") {
    std::stringstream ss{graph};
    for (std::string edge; std::getline(ss, edge, ',');) {
      unsigned a = 0, b = 0;
      if (std::sscanf(edge.c_str(), "%u-%u", &a, &b) != 2 || a < 1 || b < 1 || a > static_cast<unsigned>(cameras)
          || b > static_cast<unsigned>(cameras)) {
        std::fprintf(stderr, "gen_history: --graph: bad edge '%s' (cameras are 1..%d)\n", edge.c_str(), cameras);
        return 2;
      }
      spec.edges.push_back({a, b});
    }
  }
  auto g0 = clock_type::now();
  synthetic_history h{spec};
  double gen_s = std::chrono::duration<double>(clock_type::now() - g0).count();
  const bool pg = sql::is_postgres_location(db);
  if (!pg && !skip_load)
    for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
  auto owned = store::open(db);
  auto& st = *owned;
  const auto& rows = h.rows();
  std::printf("gen_history: %zu rows, %llu people, %d cameras, %d day(s) (generated in %.1f s)\n", rows.size(),
              static_cast<unsigned long long>(spec.people), cameras, spec.days, gen_s);
  if (!skip_load) {
    if (pg) st.clear();
    // Rows arrive as they do live: when each presence closes.
    std::vector<presence> live = rows;
    std::stable_sort(live.begin(), live.end(), [](auto& a, auto& b) { return a.exit_ms < b.exit_ms; });
    auto t0 = clock_type::now();
    for (size_t i = 0; i < live.size(); i += batch) {
      presence_batch b;
      b.rows.assign(live.begin() + static_cast<std::ptrdiff_t>(i),
                    live.begin() + static_cast<std::ptrdiff_t>(std::min(live.size(), i + batch)));
      st.write(b);
    }
    double ingest_s = std::chrono::duration<double>(clock_type::now() - t0).count();
    std::printf("ingest into %s (%zu rows per transaction, in exit order): %.2f s, %.0f rows/s\n",
                pg ? "PostgreSQL" : "SQLite (WAL)", batch, ingest_s, static_cast<double>(rows.size()) / ingest_s);
    // What autovacuum does by itself soon after a bulk insert (PostgreSQL 13+
    // vacuums insert-only tables): statistics for the planner, and the
    // visibility map that lets every-camera read its covering index only.
    if (pg) {
      auto v0 = clock_type::now();
      st.db().exec("VACUUM ANALYZE people_present", "vacuum");
      std::printf("VACUUM ANALYZE after the load: %.1f s\n",
                  std::chrono::duration<double>(clock_type::now() - v0).count());
    }
  } else if (st.presence_count() != rows.size()) {
    std::fprintf(stderr, "gen_history: --skip-load: the store holds %zu rows, the spec makes %zu\n",
                 st.presence_count(), rows.size());
    return 1;
  }
  std::unique_ptr<httplib::Client> http;
  if (!gateway.empty()) {
    http = std::make_unique<httplib::Client>(gateway);
    http->set_read_timeout(60, 0);
    if (!token.empty()) http->set_bearer_token_auth(token.c_str());
  }
  // The count a gateway route answers ("people"), or -1 on an error.
  auto over_http = [&](const std::string& path) -> int64_t {
    auto res = http->Get(path.c_str());
    if (!res || res->status != 200) {
      std::fprintf(
        stderr, "gateway %s: %s\n", path.c_str(),
        res ? (std::to_string(res->status) + " " + res->body).c_str() : httplib::to_string(res.error()).c_str());
      return -1;
    }
    return nlohmann::json::parse(res->body)["people"].get<int64_t>();
  };
  auto bench = [&](const char* name, auto&& run, auto&& truth) {
    std::vector<double> ms;
    bool ok = true;
    for (size_t q = 0; q < queries; ++q) {
      auto q0 = clock_type::now();
      int64_t got = run(q);
      ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - q0).count());
      if (q < 3 && got != truth(q)) ok = false; // the truth is slow: check a few
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%-44s p50 %8.2f ms  p99 %8.2f ms  answers %s\n", name, ms[ms.size() / 2],
                ms[std::min(ms.size() - 1, ms.size() * 99 / 100)], ok ? "= truth" : "DIFFER");
    return ok;
  };
  // Query q asks about day q % days, so the figures cover the whole history.
  auto day_of = [&](size_t q) {
    return spec.start_ms + static_cast<int64_t>(q % static_cast<size_t>(spec.days)) * ms_per_day;
  };
  auto pair_of = [&](size_t q) {
    uint32_t from = static_cast<uint32_t>(q % cameras + 1);
    return std::make_pair(from, static_cast<uint32_t>(from % cameras + 1));
  };
  auto set_of = [&](size_t q) {
    return std::vector<uint32_t>{static_cast<uint32_t>(q % cameras + 1), static_cast<uint32_t>((q + 1) % cameras + 1),
                                 static_cast<uint32_t>((q + 2) % cameras + 1)};
  };
  auto xy_truth = [&](size_t q) {
    auto [from, to] = pair_of(q);
    return h.transitions(from, to, day_of(q), day_of(q) + ms_per_day, 120'000);
  };
  auto every_truth = [&](size_t q) { return h.every_camera(set_of(q), day_of(q)); };
  bool ok = bench(
    "X -> Y, one day, max transit 2 min",
    [&](size_t q) {
      auto [from, to] = pair_of(q);
      return count_transitions(st.db(), from, to, day_of(q), day_of(q) + ms_per_day, 120'000).people;
    },
    xy_truth);
  ok = bench(
         "every camera of 3, one day",
         [&](size_t q) { return people_on_every_camera(st.db(), set_of(q), day_of(q)).people; }, every_truth)
    && ok;
  if (http) {
    ok = bench(
           "gateway: GET /v1/transitions (one day)",
           [&](size_t q) {
             auto [from, to] = pair_of(q);
             return over_http("/v1/transitions?from=" + std::to_string(from) + "&to=" + std::to_string(to)
                              + "&t0=" + format_iso8601(day_of(q)) + "&t1=" + format_iso8601(day_of(q) + ms_per_day)
                              + "&max_transit_s=120&limit=1");
           },
           xy_truth)
      && ok;
    ok =
      bench(
        "gateway: GET /v1/every-camera (one day)",
        [&](size_t q) {
          auto set = set_of(q);
          return over_http("/v1/every-camera?cameras=" + std::to_string(set[0]) + "," + std::to_string(set[1]) + ","
                           + std::to_string(set[2]) + "&day=" + format_iso8601(day_of(q)).substr(0, 10) + "&limit=1");
        },
        every_truth)
      && ok;
  }
  return ok ? 0 : 1;
}
