#include "services/zones_file.hpp"

#include <stdexcept>

namespace weaver {

std::string zones_file_text(const std::map<uint32_t, zone_shapes>& cameras) {
  nlohmann::json cams = nlohmann::json::object();
  for (auto& [id, s] : cameras) cams[std::to_string(id)] = zone_shapes_json(s);
  return nlohmann::json{{"cameras", std::move(cams)}}.dump(2) + "\n";
}

std::map<uint32_t, zone_shapes> parse_zones_file(const std::string& text,
                                                 const std::function<std::pair<int, int>(uint32_t)>& frame_of) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) throw std::runtime_error("not JSON");
  if (!j.is_object() || j.size() != 1 || !j.contains("cameras") || !j["cameras"].is_object())
    throw std::runtime_error("expected {\"cameras\": {\"<id>\": {\"zones\": [...], \"lines\": [...]}}}");
  std::map<uint32_t, zone_shapes> out;
  for (auto& [key, body] : j["cameras"].items()) {
    bool digits = !key.empty() && key.size() <= 10 && key.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stoull(key) > UINT32_MAX) throw std::runtime_error("'" + key + "' is not a camera id");
    auto id = static_cast<uint32_t>(std::stoull(key));
    auto [w, h] = frame_of(id);
    auto parsed = parse_zone_shapes(body, w, h);
    if (!parsed.error.empty()) throw std::runtime_error("camera " + key + ": " + parsed.error);
    out[id] = std::move(parsed.shapes);
  }
  return out;
}

} // namespace weaver
