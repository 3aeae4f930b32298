#include "tools/eval/eval_replay.hpp"

#include <filesystem>
#include <map>
#include <stdexcept>

#include "actors/detector/detection_log.hpp"
#include "actors/reid/reid_engine.hpp"
#include "actors/storage/database.hpp"
#include "actors/storage/store.hpp"
#include "actors/tracker/tracklet_repair.hpp"
#include "schemas/compact.hpp"

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

std::vector<reid_input> repair_recording(const config& cfg, const std::vector<reid_input>& input, int frame_width,
                                         int frame_height, const std::string& tracks_dir) {
  // The tracker's flush: each camera's last batch before its end of stream.
  std::map<uint32_t, size_t> last_batch;
  std::vector<bool> flush(input.size(), false);
  for (size_t i = 0; i < input.size(); ++i) {
    if (const auto* tb = std::get_if<track_batch>(&input[i]))
      last_batch[tb->camera_id] = i;
    else if (auto it = last_batch.find(std::get<end_of_stream>(input[i]).camera_id); it != last_batch.end())
      flush[it->second] = true;
  }
  const tracklet_repair_config rc = repair_settings(cfg.tracker);
  std::map<uint32_t, tracklet_repair> repairs;
  for (const auto& c : cfg.cameras) {
    auto& r = repairs.try_emplace(c.id, rc).first->second;
    if (c.crop && c.crop->size() == 4)
      r.set_frame((*c.crop)[2], (*c.crop)[3]);
    else
      r.set_frame(frame_width, frame_height);
  }
  detection_log log{tracks_dir};
  std::vector<reid_input> out;
  out.reserve(input.size());
  for (size_t i = 0; i < input.size(); ++i) {
    const auto* tb = std::get_if<track_batch>(&input[i]);
    if (!tb) {
      out.push_back(input[i]);
      continue;
    }
    if (cfg.tracker.repair == "off") { // as recorded, then as the link would carry it
      log.write(*tb);
      track_batch b = *tb;
      if (cfg.mesh.compact) compact::compact_for_link(b);
      out.emplace_back(std::move(b));
      continue;
    }
    auto& r = repairs.try_emplace(tb->camera_id, rc).first->second;
    auto step = flush[i] ? r.flush(*tb) : r.update(*tb);
    if (!step.boxes.empty()) { // as the tracker role logs them
      track_batch rows;
      rows.camera_id = tb->camera_id;
      rows.seq = tb->seq;
      for (const auto& b : step.boxes) {
        track_event e;
        e.camera_id = tb->camera_id;
        e.track_id = b.track_id;
        e.frame_seq = b.frame_seq;
        e.bbox = b.bbox;
        rows.events.push_back(std::move(e));
      }
      log.write(rows);
    }
    step.batch.zone_visits = tb->zone_visits;
    if (cfg.mesh.compact) compact::compact_for_link(step.batch);
    out.emplace_back(std::move(step.batch));
  }
  return out;
}

} // namespace weaver
