// gen_history: writes a synthetic history (people walking a camera graph,
// actors/query/synthetic_history.hpp) into a Weaver store, then benchmarks
// the seed's two queries over it and checks their answers against the
// generator's own truth. Prints ingest rows/s and query p50 / p99.
//
// Usage: gen_history --db FILE [--people N] [--cameras C] [--days D]
//                    [--batch B] [--queries Q] [--seed S]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "actors/query/seed_queries.hpp"
#include "actors/query/synthetic_history.hpp"
#include "actors/storage/sqlite_store.hpp"

using namespace weaver;
using clock_type = std::chrono::steady_clock;

int main(int argc, char** argv) {
  std::string db;
  history_spec spec;
  spec.start_ms = 1'795'219'200'000;  // 2026-11-21T00:00:00Z
  size_t batch = 10000, queries = 50;
  int cameras = 8;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s: missing value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--db") db = next();
    else if (a == "--people") spec.people = std::strtoull(next(), nullptr, 10);
    else if (a == "--cameras") cameras = std::atoi(next());
    else if (a == "--days") spec.days = std::atoi(next());
    else if (a == "--batch") batch = std::strtoull(next(), nullptr, 10);
    else if (a == "--queries") queries = std::strtoull(next(), nullptr, 10);
    else if (a == "--seed") spec.seed = std::strtoull(next(), nullptr, 10);
    else {
      std::fprintf(stderr, "usage: gen_history --db FILE [--people N] [--cameras C] [--days D] "
                           "[--batch B] [--queries Q] [--seed S]\n");
      return 2;
    }
  }
  if (db.empty() || cameras < 2 || batch == 0) {
    std::fprintf(stderr, "gen_history: --db is required; --cameras >= 2, --batch >= 1\n");
    return 2;
  }
  spec.cameras.clear();
  for (int c = 1; c <= cameras; ++c) spec.cameras.push_back(static_cast<uint32_t>(c));
  // A corridor with a loop: each camera leads to its neighbours.
  for (int c = 1; c <= cameras; ++c) {
    spec.edges.push_back({static_cast<uint32_t>(c), static_cast<uint32_t>(c % cameras + 1)});
    spec.edges.push_back({static_cast<uint32_t>(c % cameras + 1), static_cast<uint32_t>(c)});
  }
  auto g0 = clock_type::now();
  synthetic_history h{spec};
  double gen_s = std::chrono::duration<double>(clock_type::now() - g0).count();
  for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
  sqlite_store st{db};
  auto t0 = clock_type::now();
  const auto& rows = h.rows();
  for (size_t i = 0; i < rows.size(); i += batch) {
    presence_batch b;
    b.rows.assign(rows.begin() + static_cast<std::ptrdiff_t>(i),
                  rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), i + batch)));
    st.write(b);
  }
  double ingest_s = std::chrono::duration<double>(clock_type::now() - t0).count();
  std::printf("gen_history: %zu rows, %llu people, %d cameras, %d day(s) (generated in %.1f s)\n",
              rows.size(), static_cast<unsigned long long>(spec.people), cameras, spec.days, gen_s);
  std::printf("ingest into SQLite (WAL, %zu rows per transaction): %.2f s, %.0f rows/s\n", batch, ingest_s,
              static_cast<double>(rows.size()) / ingest_s);
  auto bench = [&](const char* name, auto&& run, auto&& truth) {
    std::vector<double> ms;
    bool ok = true;
    for (size_t q = 0; q < queries; ++q) {
      auto q0 = clock_type::now();
      int64_t got = run(q);
      ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - q0).count());
      if (q < 3 && got != truth(q)) ok = false;   // the truth is slow: check a few
    }
    std::sort(ms.begin(), ms.end());
    std::printf("%-34s p50 %8.2f ms  p99 %8.2f ms  answers %s\n", name, ms[ms.size() / 2],
                ms[std::min(ms.size() - 1, ms.size() * 99 / 100)], ok ? "= truth" : "DIFFER");
    return ok;
  };
  const timestamp_ms day = spec.start_ms;
  bool ok = bench(
    "X -> Y, one day, max transit 2 min",
    [&](size_t q) {
      uint32_t from = static_cast<uint32_t>(q % cameras + 1), to = static_cast<uint32_t>(from % cameras + 1);
      return count_transitions(st.handle(), from, to, day, day + ms_per_day, 120'000).people;
    },
    [&](size_t q) {
      uint32_t from = static_cast<uint32_t>(q % cameras + 1), to = static_cast<uint32_t>(from % cameras + 1);
      return h.transitions(from, to, day, day + ms_per_day, 120'000);
    });
  ok = bench(
         "every camera of 3, one day",
         [&](size_t q) {
           std::vector<uint32_t> set{static_cast<uint32_t>(q % cameras + 1),
                                     static_cast<uint32_t>((q + 1) % cameras + 1),
                                     static_cast<uint32_t>((q + 2) % cameras + 1)};
           return people_on_every_camera(st.handle(), set, day).people;
         },
         [&](size_t q) {
           std::vector<uint32_t> set{static_cast<uint32_t>(q % cameras + 1),
                                     static_cast<uint32_t>((q + 1) % cameras + 1),
                                     static_cast<uint32_t>((q + 2) % cameras + 1)};
           return h.every_camera(set, day);
         }) && ok;
  return ok ? 0 : 1;
}
