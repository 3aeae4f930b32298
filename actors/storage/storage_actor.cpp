#include "actors/storage/storage_actor.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>

#include <caf/sec.hpp>

#include "actors/storage/pictures.hpp"
#include "base/errors.hpp"
#include "base/log.hpp"
#include "base/metrics.hpp"
#include "schemas/codec.hpp"

namespace weaver {

namespace {

void apply_retention(storage_state& st) {
  static const logger log{"storage"};
  auto now =
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  try {
    auto n = st.db->delete_older_than(now - st.settings.retention_ms);
    if (n > 0)
      log.info("retention: deleted " + std::to_string(n) + " row(s) older than "
               + std::to_string(st.settings.retention_ms / 3'600'000) + " h");
    metrics::global().retention_deleted().Increment(static_cast<double>(n));
  } catch (const std::exception& e) {
    log.error(std::string("retention: ") + e.what());
    metrics::global().storage_errors("retention").Increment();
  }
}

// Resolves the windows that are due (actors/reid/resolve_pass), oldest first.
void apply_resolve(storage_state& st) {
  static const logger log{"storage"};
  try {
    auto& db = *st.db;
    // Data time, not the wall clock: a replay of old video resolves too, and
    // a window is only closed once tracks after it were stored.
    auto latest = db.last_tracklet_exit();
    if (!latest) return;
    for (auto [since, until] :
         due_windows(st.settings.resolve, *latest, db.resolved_until(), db.first_tracklet_exit())) {
      auto r = resolve_window(db, since, until, st.settings.resolver);
      log.info("resolved [", since, ", ", until, "): ", r.tracklets, " tracklets, ", r.people_before, " -> ",
               r.people_after, " people, ", r.moved, " moved, ", r.merges, " merged");
    }
  } catch (const std::exception& e) {
    log.error(std::string("resolve: ") + e.what());
    metrics::global().storage_errors("resolve").Increment();
  }
}

// Removes the items of `items` that cannot be true, counting each in
// weaver_storage_errors_total{reason="invalid_<why>"}; logs the first few.
template <class T>
size_t drop_invalid(std::vector<T>& items, const char* what) {
  static const logger log{"storage"};
  static std::atomic<uint64_t> logged{0};
  size_t before = items.size();
  items.erase(std::remove_if(items.begin(), items.end(),
                             [&](const T& item) {
                               auto problem = codec::validate(item);
                               if (!problem) return false;
                               metrics::global().storage_errors("invalid_" + problem->reason).Increment();
                               if (logged++ < 10) log.warn("refused a ", what, ": ", problem->detail);
                               return true;
                             }),
              items.end());
  return before - items.size();
}

// The store's last check, whichever way the batch came (the mesh's inbound
// bridge validates too; a reid in this process does not pass one): a row
// that cannot be true is refused and counted, never stored.
size_t drop_invalid(presence_batch& pb) {
  return drop_invalid(pb.identities, "identity") + drop_invalid(pb.rows, "row") + drop_invalid(pb.merges, "merge")
    + drop_invalid(pb.zone_visits, "zone visit") + drop_invalid(pb.tracklets, "tracklet")
    + drop_invalid(pb.crops, "crop");
}

// Keeps the batch's evidence crops in the store (actors/storage/pictures),
// after its rows; a crop that cannot be written is counted, and the rows
// stand.
void put_crops(storage_state& st, const std::vector<evidence_crop>& crops) {
  for (const auto& c : crops) {
    try {
      pictures::put_crop(st.db->db(), c);
    } catch (const std::exception& e) {
      static const logger log{"storage"};
      log.warn("evidence crop: ", e.what());
      metrics::global().storage_errors("crop").Increment();
    }
  }
}

// Keeps the batch's live frame in the store for the gateway (through the
// query role). From the network: refused unless it passes the codec's
// checks and names a configured camera; counted, never fatal.
void put_live(storage_state& st, const std::optional<live_frame>& f) {
  if (!f) return;
  static const logger log{"storage"};
  static std::atomic<uint64_t> logged{0};
  auto problem = codec::validate(*f);
  if (!problem && !st.settings.cameras.count(f->camera_id))
    problem = codec::invalid{"camera", "live frame of camera " + std::to_string(f->camera_id) + ", not configured"};
  if (problem) {
    metrics::global().storage_errors("invalid_live_" + problem->reason).Increment();
    if (logged++ < 10) log.warn("refused a live frame: ", problem->detail);
    return;
  }
  try {
    const auto now =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
    pictures::put_live(st.db->db(), *f, now);
  } catch (const std::exception& e) {
    if (logged++ < 10) log.warn("live frame: ", e.what());
    metrics::global().storage_errors("live").Increment();
  }
}

} // namespace

storage_actor::behavior_type storage_actor_impl(storage_actor::stateful_pointer<storage_state> self,
                                                std::shared_ptr<store> db, run_stats_ptr stats,
                                                storage_settings settings) {
  self->state.db = std::move(db);
  self->state.stats = std::move(stats);
  self->state.settings = settings;
  if (settings.retention_ms > 0) self->send(self, tick_atom::value);
  if (settings.resolve.every_ms > 0)
    self->delayed_send(self, std::chrono::milliseconds{settings.resolve.every_ms}, resolve_atom::value);
  return {[=](presence_batch& pb) -> caf::result<caf::ok_atom> {
            auto& st = self->state;
            auto t0 = std::chrono::steady_clock::now();
            drop_invalid(pb);
            try {
              st.db->write(pb);
            } catch (const std::exception& e) {
              static const logger log{"storage"};
              log.error(e.what());
              metrics::global().storage_errors("write").Increment();
              return make_error(errc::store_failed, e.what());
            }
            put_crops(st, pb.crops);
            put_live(st, pb.live);
            metrics::global().stage_latency("store").Observe(
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            metrics::global().rows_written().Increment(static_cast<double>(pb.rows.size()));
            if (st.stats) st.stats->presence_rows += pb.rows.size();
            return caf::ok_atom::value;
          },
          [=](const end_of_stream&) -> caf::ok_atom {
            return caf::ok_atom::value; // every batch before it is committed
          },
          [=](tick_atom) {
            apply_retention(self->state);
            self->delayed_send(self, self->state.settings.retention_every, tick_atom::value);
          },
          [=](resolve_atom) {
            apply_resolve(self->state);
            self->delayed_send(self, std::chrono::milliseconds{self->state.settings.resolve.every_ms},
                               resolve_atom::value);
          }};
}

} // namespace weaver
