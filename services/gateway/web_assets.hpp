// The web console's files and the OpenAPI spec, as the gateway serves them
// (services/gateway/web/, services/gateway/openapi.yaml). They are built into
// the binary (cmake/embed_web.cmake), so every way Weaver ships carries them
// with no path to configure; gateway.web_root serves the same names from a
// folder instead, read on each request, for working on the console without
// rebuilding.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace weaver::gateway {

/// One embedded file (generated table).
struct embedded_file {
  const char* name; // file name: index.html, app.js, openapi.yaml
  const unsigned char* data;
  size_t size;
};
const embedded_file* embedded_files(size_t* count);

struct web_asset {
  std::string url; // "/", "/docs", "/app.js", "/openapi.yaml"
  std::string content_type;
  std::string body;
  std::string etag; // a quoted strong validator of the body
};

class web_assets {
public:
  /// root "": the embedded files; else the same file names under root.
  explicit web_assets(std::string root = "");

  /// The URL paths served, in a stable order.
  std::vector<std::string> urls() const;

  /// The asset of a URL path, or nothing. With a root, a file it lacks is
  /// the built-in one.
  std::optional<web_asset> get(const std::string& url) const;

  /// The URL of a file name (and /openapi.json, the spec as JSON):
  /// index.html -> "/", docs.html -> "/docs",
  /// others "/" + name.
  static std::string url_of(const std::string& name);

  /// The Content-Type of a file name, by extension.
  static std::string content_type_of(const std::string& name);

private:
  std::string root_;
  std::vector<web_asset> embedded_;
  std::vector<web_asset> derived_; // /openapi.json from the built-in spec
  std::vector<std::string> names_; // file name per entry of embedded_
};

} // namespace weaver::gateway
