#include "actors/storage/pictures.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

#include "base/base64.hpp"
#include "schemas/codec.hpp"

namespace weaver {

namespace {

nlohmann::json boxes_to_json(const std::vector<live_box>& boxes) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& b : boxes) {
    nlohmann::json j{{"track", b.track_id}, {"x", b.bbox.x}, {"y", b.bbox.y},
                     {"w", b.bbox.w},       {"h", b.bbox.h}, {"score", b.score}};
    if (b.person) j["person"] = *b.person;
    out.push_back(std::move(j));
  }
  return out;
}

// Throws nlohmann::json::exception for a field missing or of another type.
std::optional<std::vector<live_box>> boxes_from_json(const nlohmann::json& boxes) {
  if (!boxes.is_array() || boxes.size() > max_live_boxes) return std::nullopt;
  std::vector<live_box> out;
  for (const auto& b : boxes) {
    std::optional<uint64_t> person;
    if (b.contains("person")) person = b.at("person").get<uint64_t>();
    out.push_back({b.at("track").get<uint64_t>(),
                   box{b.at("x").get<float>(), b.at("y").get<float>(), b.at("w").get<float>(), b.at("h").get<float>()},
                   b.at("score").get<float>(), person});
  }
  return out;
}

} // namespace

nlohmann::json live_frame_to_json(const live_frame& f, std::optional<timestamp_ms> kept_ms) {
  nlohmann::json j{{"camera", f.camera_id},
                   {"seq", f.seq},
                   {"time_ms", f.time_ms},
                   {"width", f.width},
                   {"height", f.height},
                   {"boxes", boxes_to_json(f.boxes)},
                   {"jpeg", to_base64(std::vector<int8_t>(f.jpeg.begin(), f.jpeg.end()))}};
  if (kept_ms) j["kept_ms"] = *kept_ms;
  return j;
}

std::optional<live_frame> live_frame_from_json(const nlohmann::json& j, uint32_t camera) {
  if (!j.is_object()) return std::nullopt;
  try {
    live_frame f;
    f.camera_id = camera;
    if (j.contains("camera") && j.at("camera").get<uint32_t>() != camera) return std::nullopt;
    f.seq = j.at("seq").get<uint64_t>();
    f.time_ms = j.at("time_ms").get<int64_t>();
    f.width = j.at("width").get<int>();
    f.height = j.at("height").get<int>();
    auto boxes = boxes_from_json(j.at("boxes"));
    if (!boxes) return std::nullopt;
    f.boxes = std::move(*boxes);
    auto bytes = bytes_from_base64(j.at("jpeg").get<std::string>());
    if (!bytes) return std::nullopt;
    f.jpeg = std::move(*bytes);
    return f;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt; // a field missing or of another type
  }
}

namespace pictures {

void put_crop(sql::database& db, const evidence_crop& c) {
  if (auto problem = codec::validate(c)) throw std::invalid_argument("evidence crop: " + problem->detail);
  db.query(
    "INSERT INTO evidence_crops(camera_id, track_id, time_ms, jpeg) VALUES(?1, ?2, ?3, ?4) "
    "ON CONFLICT(camera_id, track_id) DO UPDATE SET time_ms = excluded.time_ms, jpeg = excluded.jpeg",
    {static_cast<int64_t>(c.camera_id), static_cast<int64_t>(c.track_id), c.time_ms, sql::blob{c.jpeg}},
    "storage: evidence crop");
}

std::optional<std::string> crop(sql::database& db, uint32_t camera, uint64_t track) {
  auto rows = db.query("SELECT time_ms, jpeg FROM evidence_crops WHERE camera_id = ?1 AND track_id = ?2",
                       {static_cast<int64_t>(camera), static_cast<int64_t>(track)}, "query: evidence crop");
  if (rows.empty()) return std::nullopt;
  evidence_crop c{camera, track, sql::as_int(rows[0][0]), sql::as_bytes(rows[0][1])};
  if (codec::validate(c)) return std::nullopt;
  return std::move(c.jpeg);
}

void put_live(sql::database& db, const live_frame& f, timestamp_ms kept_ms) {
  if (auto problem = codec::validate(f)) throw std::invalid_argument("live frame: " + problem->detail);
  // Always the latest to arrive: the link delivers a tracker's batches in
  // order, and a restarted camera counts its frames (seq) from 0 again, so
  // a "higher seq wins" rule would keep a dead run's picture up.
  db.query(
    "INSERT INTO live_frames(camera_id, seq, time_ms, width, height, boxes, jpeg, kept_ms) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
    "ON CONFLICT(camera_id) DO UPDATE SET seq = excluded.seq, time_ms = excluded.time_ms, "
    "width = excluded.width, height = excluded.height, boxes = excluded.boxes, jpeg = excluded.jpeg, "
    "kept_ms = excluded.kept_ms",
    {static_cast<int64_t>(f.camera_id), static_cast<int64_t>(f.seq), f.time_ms, static_cast<int64_t>(f.width),
     static_cast<int64_t>(f.height), boxes_to_json(f.boxes).dump(), sql::blob{f.jpeg}, kept_ms},
    "storage: live frame");
}

std::optional<kept_live_frame> live(sql::database& db, uint32_t camera) {
  auto rows = db.query("SELECT seq, time_ms, width, height, boxes, jpeg, kept_ms FROM live_frames WHERE camera_id = ?1",
                       {static_cast<int64_t>(camera)}, "query: live frame");
  if (rows.empty()) return std::nullopt;
  const auto& r = rows[0];
  kept_live_frame k;
  auto& f = k.frame;
  f.camera_id = camera;
  f.seq = static_cast<uint64_t>(sql::as_int(r[0]));
  f.time_ms = sql::as_int(r[1]);
  // Checked before the narrowing: a forged row must not wrap into range.
  const int64_t w = sql::as_int(r[2]), h = sql::as_int(r[3]);
  if (w < 1 || h < 1 || w > codec::max_image_side || h > codec::max_image_side) return std::nullopt;
  f.width = static_cast<int>(w);
  f.height = static_cast<int>(h);
  try {
    auto boxes = boxes_from_json(nlohmann::json::parse(sql::as_text(r[4])));
    if (!boxes) return std::nullopt;
    f.boxes = std::move(*boxes);
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
  f.jpeg = sql::as_bytes(r[5]);
  k.kept_ms = sql::as_int(r[6]);
  if (codec::validate(f)) return std::nullopt;
  return k;
}

size_t delete_older_than(sql::database& db, timestamp_ms cutoff_ms) {
  size_t n = 0;
  db.query("DELETE FROM evidence_crops WHERE time_ms < ?1", {cutoff_ms}, "retention: evidence crops");
  n += db.changes();
  db.query("DELETE FROM live_frames WHERE time_ms < ?1", {cutoff_ms}, "retention: live frames");
  n += db.changes();
  return n;
}

} // namespace pictures

} // namespace weaver
