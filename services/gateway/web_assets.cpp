#include "services/gateway/web_assets.hpp"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

namespace weaver::gateway {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// FNV-1a 64 of the body: a validator, not a security measure.
std::string etag_of(const std::string& body) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : body) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

// YAML to JSON for /openapi.json (what /docs reads: browsers parse JSON
// natively). A plain scalar that reads as a boolean, null or number is
// one; a quoted scalar stays a string.
nlohmann::json to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      auto j = nlohmann::json::object();
      for (auto it = n.begin(); it != n.end(); ++it) j[it->first.as<std::string>()] = to_json(it->second);
      return j;
    }
    case YAML::NodeType::Sequence: {
      auto j = nlohmann::json::array();
      for (auto it = n.begin(); it != n.end(); ++it) j.push_back(to_json(*it));
      return j;
    }
    case YAML::NodeType::Scalar: {
      const auto& s = n.Scalar();
      if (n.Tag() == "?") {
        if (s == "true") return true;
        if (s == "false") return false;
        if (s == "null" || s == "~") return nullptr;
        auto num = nlohmann::json::parse(s, nullptr, false);
        if (!num.is_discarded() && num.is_number()) return num;
      }
      return s;
    }
    default:
      return nullptr;
  }
}

} // namespace

std::string web_assets::url_of(const std::string& name) {
  if (name == "index.html") return "/";
  if (name == "docs.html") return "/docs";
  return "/" + name;
}

std::string web_assets::content_type_of(const std::string& name) {
  if (ends_with(name, ".html")) return "text/html; charset=utf-8";
  if (ends_with(name, ".js")) return "text/javascript; charset=utf-8";
  if (ends_with(name, ".css")) return "text/css; charset=utf-8";
  if (ends_with(name, ".svg")) return "image/svg+xml";
  if (ends_with(name, ".yaml")) return "application/yaml; charset=utf-8";
  if (ends_with(name, ".json")) return "application/json";
  if (ends_with(name, ".png")) return "image/png";
  return "application/octet-stream";
}

web_assets::web_assets(std::string root) : root_(std::move(root)) {
  size_t n = 0;
  const embedded_file* files = embedded_files(&n);
  for (size_t i = 0; i < n; ++i) {
    web_asset a;
    a.url = url_of(files[i].name);
    a.content_type = content_type_of(files[i].name);
    a.body.assign(reinterpret_cast<const char*>(files[i].data), files[i].size);
    a.etag = etag_of(a.body);
    if (std::string{files[i].name} == "openapi.yaml") {
      web_asset j;
      j.url = "/openapi.json";
      j.content_type = "application/json";
      j.body = to_json(YAML::Load(a.body)).dump();
      j.etag = etag_of(j.body);
      derived_.push_back(std::move(j));
    }
    embedded_.push_back(std::move(a));
    names_.push_back(files[i].name);
  }
}

std::vector<std::string> web_assets::urls() const {
  std::vector<std::string> out;
  for (auto& a : embedded_) out.push_back(a.url);
  for (auto& a : derived_) out.push_back(a.url);
  return out;
}

std::optional<web_asset> web_assets::get(const std::string& url) const {
  for (size_t i = 0; i < embedded_.size(); ++i) {
    if (embedded_[i].url != url) continue;
    if (root_.empty()) return embedded_[i];
    // Only the names the build embedded: a URL never becomes a path. A file
    // the folder lacks (openapi.yaml lives beside it) is the built-in one.
    std::ifstream in{root_ + "/" + names_[i], std::ios::binary};
    if (!in) return embedded_[i];
    std::ostringstream ss;
    ss << in.rdbuf();
    web_asset a = embedded_[i];
    a.body = ss.str();
    a.etag = etag_of(a.body);
    return a;
  }
  for (auto& a : derived_)
    if (a.url == url) return a;
  return std::nullopt;
}

} // namespace weaver::gateway
