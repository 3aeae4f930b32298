// The storage actor refuses what cannot be true: rows with an exit before
// their enter, person ids out of range, negative times (what bit-flipped
// batches that still pass verification carried) are counted by reason and
// never stored; the batch's good rows are stored and the batch is acked.
#include <doctest/doctest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/storage/storage_actor.hpp"
#include "base/metrics.hpp"

using namespace weaver;

namespace {

double refused(const std::string& reason) { return metrics::global().storage_errors("invalid_" + reason).Value(); }

} // namespace

TEST_CASE("storage actor: a bad row is refused and counted, never stored; good rows are") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<store> db = store::open(":memory:");
  auto stats = std::make_shared<run_stats>();
  auto actor = sys.spawn(storage_actor_impl, db, stats, storage_settings{});

  const double order0 = refused("order"), id0 = refused("id"), time0 = refused("time");
  presence_batch b;
  b.rows = {presence{1, 1, 1000, 2000}, // good
            presence{2, 1, 5000, 4000}, // exit before enter
            presence{9000000000000000000ULL, 1, 1000, 2000}, // person id near 9e18
            presence{3, 2, -86400000, 1000}, // negative time
            presence{0, 2, 1000, 2000}, // person 0 is nobody
            presence{4, 2, 3000, 3000}}; // good: an instant
  b.identities = {identity{1, 10, 1, 0.9f}, identity{1, 11, 9000000000000000000ULL, 0.9f}};
  b.zone_visits = {zone_visit{1, 10, "door", 1000, 2000}, zone_visit{1, 10, "door", 3000, 2500},
                   zone_visit{1, 12, "door", 4000, -1}}; // still inside: fine
  b.merges = {person_merge{7, 9000000000000000000ULL}};

  caf::scoped_actor self{sys};
  bool acked = false;
  self->request(actor, caf::infinite, b).receive([&](caf::ok_atom) { acked = true; }, [&](caf::error&) {});
  CHECK(acked);

  auto rows = db->presence_rows();
  REQUIRE(rows.size() == 2);
  CHECK(rows[0] == presence{1, 1, 1000, 2000});
  CHECK(rows[1] == presence{4, 2, 3000, 3000});
  for (auto& r : rows) {
    CHECK(r.exit_ms >= r.enter_ms);
    CHECK(r.person_id < (uint64_t{1} << 53));
  }
  auto ids = db->identity_rows();
  REQUIRE(ids.size() == 1);
  CHECK(ids[0].person_id == 1);
  auto visits = db->zone_visit_rows();
  CHECK(visits.size() == 2);
  for (auto& v : visits) CHECK((v.exit_ms < 0 || v.exit_ms >= v.enter_ms));

  CHECK(refused("order") - order0 == 2); // a row and a zone visit
  CHECK(refused("id") - id0 == 4); // two rows, an identity, a merge
  CHECK(refused("time") - time0 == 1);
  self->send_exit(actor, caf::exit_reason::user_shutdown);
}
