#include "tools/eval/eval_replay.hpp"

#include <filesystem>
#include <stdexcept>

#include "actors/reid/reid_engine.hpp"
#include "actors/storage/database.hpp"
#include "actors/storage/store.hpp"

namespace weaver {

replay_result replay_reid(const config& cfg, const std::vector<reid_input>& input, const std::string& db_path) {
  if (!sql::is_postgres_location(db_path) && db_path != ":memory:")
    for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db_path + suffix);
  auto db = store::open(db_path);
  db->clear();
  for (const auto& c : cfg.cameras) {
    db->upsert_camera(c.id, c.name, c.zone);
    for (const auto& z : c.zones) db->upsert_zone(c.id, z.name);
  }
  reid_engine engine(cfg.reid);
  for (const auto& c : cfg.cameras) engine.add_camera(c.id);
  replay_result r;
  auto store_batch = [&](presence_batch pb) {
    r.identities += pb.identities.size();
    r.merges += pb.merges.size();
    if (!pb.rows.empty() || !pb.identities.empty() || !pb.merges.empty() || !pb.zone_visits.empty()) db->write(pb);
  };
  for (const auto& in : input) {
    ++r.batches;
    if (const auto* tb = std::get_if<track_batch>(&in)) {
      auto pb = engine.on_tracks(*tb);
      pb.zone_visits = tb->zone_visits; // as the re-id actor passes them on
      store_batch(std::move(pb));
    } else {
      store_batch(engine.on_end_of_stream(std::get<end_of_stream>(in).camera_id));
    }
  }
  store_batch(engine.flush());
  r.people = engine.people();
  return r;
}

} // namespace weaver
