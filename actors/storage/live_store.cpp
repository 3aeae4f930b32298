#include "actors/storage/live_store.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include <nlohmann/json.hpp>

#include "base/base64.hpp"
#include "schemas/codec.hpp"

namespace weaver {

namespace fs = std::filesystem;

namespace {

// A file's largest believable size: the JPEG in base64 plus the boxes.
constexpr size_t max_file_bytes = max_live_jpeg_bytes / 3 * 4 + 8 + max_live_boxes * 160 + 4096;

} // namespace

nlohmann::json live_frame_to_json(const live_frame& f) {
  nlohmann::json boxes = nlohmann::json::array();
  for (const auto& b : f.boxes)
    boxes.push_back(
      {{"track", b.track_id}, {"x", b.bbox.x}, {"y", b.bbox.y}, {"w", b.bbox.w}, {"h", b.bbox.h}, {"score", b.score}});
  return {{"camera", f.camera_id},
          {"seq", f.seq},
          {"time_ms", f.time_ms},
          {"width", f.width},
          {"height", f.height},
          {"boxes", std::move(boxes)},
          {"jpeg", to_base64(std::vector<int8_t>(f.jpeg.begin(), f.jpeg.end()))}};
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
    const auto& boxes = j.at("boxes");
    if (!boxes.is_array() || boxes.size() > max_live_boxes) return std::nullopt;
    for (const auto& b : boxes)
      f.boxes.push_back(
        {b.at("track").get<uint64_t>(),
         box{b.at("x").get<float>(), b.at("y").get<float>(), b.at("w").get<float>(), b.at("h").get<float>()},
         b.at("score").get<float>()});
    auto bytes = bytes_from_base64(j.at("jpeg").get<std::string>());
    if (!bytes) return std::nullopt;
    f.jpeg = std::move(*bytes);
    return f;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt; // a field missing or of another type
  }
}

live_store::live_store(std::string dir) : dir_(std::move(dir)) {
  if (dir_.empty()) throw std::invalid_argument("live_store: no folder");
}

std::string live_store::path(uint32_t camera) const { return dir_ + "/" + std::to_string(camera) + ".json"; }

void live_store::put(const live_frame& f) {
  const auto j = live_frame_to_json(f);
  std::error_code ec;
  fs::create_directories(dir_, ec);
  const auto to = path(f.camera_id), tmp = to + ".tmp";
  {
    std::ofstream out{tmp, std::ios::binary | std::ios::trunc};
    out << j.dump();
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  fs::rename(tmp, to, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw std::runtime_error("cannot write " + to);
  }
}

std::optional<live_frame> live_store::get(uint32_t camera) const {
  const auto p = path(camera);
  std::error_code ec;
  auto size = fs::file_size(p, ec);
  if (ec || size == 0 || size > max_file_bytes) return std::nullopt;
  std::ifstream in{p, std::ios::binary};
  std::stringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  if (!j.is_object()) return std::nullopt;
  auto f = live_frame_from_json(j, camera);
  if (!f || codec::validate(*f)) return std::nullopt;
  return f;
}

void live_store::clear() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

} // namespace weaver
