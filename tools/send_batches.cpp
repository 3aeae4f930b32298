// send_batches: the storage role's client for crash tests. Sends a synthetic
// history (tools/eval/synthetic_history) as presence batches to a remote
// storage role over the mesh (the same outbound link reid uses: it resends
// what was not acknowledged, so a restarted storage gets it again) and
// appends every row of every acknowledged batch to --acked. --verify checks
// that a store holds every row listed there.
//
//   send_batches --endpoint tcp://127.0.0.1:5555 --acked rows.csv
//                [--people N] [--batch B] [--pace-ms MS] [--seed S]
//   send_batches --verify LOCATION --acked rows.csv [--expect-total N]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/actors.hpp"
#include "actors/storage/store.hpp"
#include "services/bridge.hpp"
#include "tools/eval/synthetic_history.hpp"

#include <CLI/CLI.hpp>

using namespace weaver;

namespace {

int verify(const std::string& location, const std::string& acked, long long expect_total) {
  auto st = store::open(location);
  std::set<std::tuple<uint64_t, uint32_t, timestamp_ms>> have;
  std::map<std::tuple<uint64_t, uint32_t, timestamp_ms>, timestamp_ms> exit_of;
  for (auto& r : st->presence_rows()) {
    have.insert({r.person_id, r.camera_id, r.enter_ms});
    exit_of[{r.person_id, r.camera_id, r.enter_ms}] = r.exit_ms;
  }
  std::ifstream in(acked);
  if (!in) {
    std::fprintf(stderr, "send_batches: cannot read %s\n", acked.c_str());
    return 2;
  }
  size_t rows = 0, missing = 0, wrong = 0;
  for (std::string line; std::getline(in, line);) {
    std::istringstream ss(line);
    unsigned long long p, c;
    long long enter, exit;
    char comma;
    if (!(ss >> p >> comma >> c >> comma >> enter >> comma >> exit)) continue;
    ++rows;
    auto key = std::make_tuple(static_cast<uint64_t>(p), static_cast<uint32_t>(c), static_cast<timestamp_ms>(enter));
    if (!have.count(key))
      ++missing;
    else if (exit_of[key] != exit)
      ++wrong;
  }
  std::printf("verify %s: %zu acknowledged rows, %zu missing, %zu with another exit; store holds %zu rows\n",
              st->db().describe().c_str(), rows, missing, wrong, have.size());
  if (expect_total >= 0 && static_cast<long long>(have.size()) != expect_total) {
    std::printf("verify: expected exactly %lld rows in the store (no duplicates, none lost)\n", expect_total);
    return 1;
  }
  return missing == 0 && wrong == 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
  std::string endpoint, acked, verify_location;
  history_spec spec;
  spec.people = 2000;
  spec.start_ms = 1'795'219'200'000; // 2026-11-21T00:00:00Z
  size_t batch = 200;
  int pace_ms = 0;
  long long expect_total = -1;
  CLI::App app{"Streams synthetic presence batches to a storage role (or, with --verify, checks a store)."};
  app.add_option("--endpoint", endpoint, "The storage role's mesh endpoint");
  app.add_option("--acked", acked, "File listing every acknowledged row (appended)")->required();
  app.add_option("--verify", verify_location, "Check that this store holds every row of --acked");
  app.add_option("--people", spec.people, "People in the synthetic history");
  app.add_option("--batch", batch, "Rows per batch")->check(CLI::PositiveNumber);
  app.add_option("--pace-ms", pace_ms, "Pause after each acknowledged batch");
  app.add_option("--seed", spec.seed, "Random seed");
  app.add_option("--expect-total", expect_total, "--verify: the store must hold exactly this many rows");
  CLI11_PARSE(app, argc, argv);
  if (!verify_location.empty()) return verify(verify_location, acked, expect_total);
  if (endpoint.empty()) {
    std::fprintf(stderr, "send_batches: --endpoint or --verify is required\n");
    return 2;
  }

  synthetic_history h{spec};
  const auto& rows = h.rows();
  std::ofstream log(acked, std::ios::app);
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto storage = spawn_outbound<storage_actor>(sys, "send_batches->storage", endpoint, nullptr);
  caf::scoped_actor self{sys};
  size_t sent = 0, batches = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < rows.size(); i += batch) {
    presence_batch b;
    b.rows.assign(rows.begin() + static_cast<std::ptrdiff_t>(i),
                  rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), i + batch)));
    bool ok = false;
    // The link resends until the storage role acknowledges (also across its
    // restart); an error reply (a failed write) is retried here.
    while (!ok) {
      self->request(storage, caf::infinite, b)
        .receive([&](caf::ok_atom) { ok = true; },
                 [&](caf::error& e) {
                   std::fprintf(stderr, "send_batches: batch %zu: %s; retrying\n", batches, to_string(e).c_str());
                   std::this_thread::sleep_for(std::chrono::milliseconds{200});
                 });
    }
    // Acknowledged: committed by storage. Record it before sending more.
    for (auto& r : b.rows) log << r.person_id << ',' << r.camera_id << ',' << r.enter_ms << ',' << r.exit_ms << '\n';
    log.flush();
    sent += b.rows.size();
    ++batches;
    if (pace_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds{pace_ms});
  }
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("send_batches: %zu rows in %zu acknowledged batches in %.2f s (%.0f rows/s)\n", sent, batches, s,
              static_cast<double>(sent) / s);
  self->send_exit(storage, caf::exit_reason::user_shutdown);
  return 0;
}
