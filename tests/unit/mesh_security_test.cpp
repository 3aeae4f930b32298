#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "services/config.hpp"
#include "services/mesh_security.hpp"

using namespace weaver;

namespace {

namespace fs = std::filesystem;

struct key_dir {
  fs::path dir = fs::temp_directory_path() / ("weaver-mesh-keys-" + std::to_string(::getpid()));
  key_dir() { fs::remove_all(dir); }
  ~key_dir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string path(const std::string& f) const { return (dir / f).string(); }
};

// Resolves and expects a config_error; returns its key.
std::string error_key(const mesh_config& m, const std::vector<std::string>& roles) {
  try {
    resolve_mesh_keys(m, roles);
  } catch (const config_error& e) {
    return e.key;
  }
  FAIL("no error");
  return {};
}

} // namespace

TEST_SUITE("mesh_security") {
  TEST_CASE("weaver keys writes a keypair whose secret only the owner can read") {
    key_dir kd;
    auto dir = kd.dir;
    auto kp = write_curve_keypair(dir.string(), "tracker");
    CHECK(is_z85_key(kp.public_key));
    CHECK(curve_public_of(kp.secret_key) == kp.public_key);
    auto perms = std::filesystem::status(dir / "tracker.key").permissions();
    CHECK((perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all))
          == std::filesystem::perms::none);
    std::ifstream pub(dir / "tracker.pub"), sec(dir / "tracker.key");
    std::string p, s;
    std::getline(pub, p);
    std::getline(sec, s);
    CHECK(p == kp.public_key);
    CHECK(s == kp.secret_key);
    // Never overwrites a key.
    CHECK_THROWS_AS(write_curve_keypair(dir.string(), "tracker"), std::runtime_error);
  }

  TEST_CASE("mesh keys: curve from files and the environment, plain only when chosen") {
    key_dir kd;
    auto tracker = write_curve_keypair(kd.dir.string(), "tracker");
    auto detector = write_curve_keypair(kd.dir.string(), "detector");
    mesh_config m;
    // Nothing configured: refused, naming mesh.security.
    CHECK(error_key(m, {"tracker"}) == "mesh.security");
    m.security = "plain";
    CHECK_FALSE(resolve_mesh_keys(m, {"tracker"}).curve);
    CHECK_FALSE(resolve_mesh_keys(m, {"tracker"}).inbound("tracker", "detector").curve);

    mesh_config c;
    c.secret_file = kd.path("tracker.key");
    c.public_keys["tracker"] = kd.path("tracker.pub");
    ::setenv("WEAVER_TEST_DETECTOR_PUB", detector.public_key.c_str(), 1);
    c.public_keys["detector"] = "env:WEAVER_TEST_DETECTOR_PUB";
    c.public_keys["reid"] = make_curve_keypair().public_key; // Z85 text itself
    auto k = resolve_mesh_keys(c, {"tracker"}); // curve implied by the keys
    CHECK(k.curve);
    CHECK(k.own.public_key == tracker.public_key);
    auto in = k.inbound("tracker", "detector");
    CHECK(in.curve);
    CHECK(in.domain == "tracker");
    CHECK(in.allowed == std::map<std::string, std::string>{{detector.public_key, "detector"}});
    CHECK(k.outbound("reid").server_key == c.public_keys["reid"]);
    // A role with no key cannot be reached or admitted.
    CHECK_THROWS_AS(k.outbound("storage"), config_error);
    CHECK_THROWS_AS(k.inbound("reid", "storage"), config_error);

    // The secret must be this node's: hosting detector with tracker's secret fails.
    CHECK(error_key(c, {"detector"}) == "mesh.keys.secret");
    // Each failure names its key.
    auto bad = c;
    bad.public_keys["detector"] = "env:WEAVER_TEST_UNSET_VARIABLE";
    CHECK(error_key(bad, {"tracker"}) == "mesh.keys.public.detector");
    bad = c;
    bad.public_keys["reid"] = kd.path("missing.pub");
    CHECK(error_key(bad, {"tracker"}) == "mesh.keys.public.reid");
    bad = c;
    bad.secret_file.clear();
    CHECK(error_key(bad, {"tracker"}) == "mesh.keys.secret");
    bad.secret_env = "WEAVER_TEST_UNSET_VARIABLE";
    CHECK(error_key(bad, {"tracker"}) == "mesh.keys.secret_env");
    ::setenv("WEAVER_TEST_SECRET", "not a key", 1);
    bad.secret_env = "WEAVER_TEST_SECRET";
    CHECK(error_key(bad, {"tracker"}) == "mesh.keys.secret_env");
    ::setenv("WEAVER_TEST_SECRET", tracker.secret_key.c_str(), 1);
    CHECK(resolve_mesh_keys(bad, {"tracker"}).own.public_key == tracker.public_key);
  }

  TEST_CASE("mesh.security and mesh.keys in the configuration") {
    const std::string cams = "cameras:\n  - {id: 1, source: \"rtsp://10.0.0.5:554/s\"}\n";
    auto err = [&](const std::string& mesh) {
      try {
        parse_config(cams + mesh, "/base");
      } catch (const config_error& e) {
        return e.key;
      }
      return std::string{};
    };
    CHECK(err("mesh: {security: none}\n") == "mesh.security");
    CHECK(err("mesh: {security: plain, keys: {secret: a.key}}\n") == "mesh.keys");
    CHECK(err("mesh: {keys: {public: {janitor: a.pub}}}\n") == "mesh.keys.public.janitor");
    CHECK(err("mesh: {keys: {secret: a.key, secret_env: S}}\n") == "mesh.keys.secret_env");
    CHECK(err("mesh: {keys: {secrets: a.key}}\n").rfind("mesh.keys.", 0) == 0);
    auto cfg = parse_config(cams + "mesh: {security: curve, keys: {secret: k/t.key, public: {tracker: k/t.pub, "
                                 "reid: env:R}}}\n", "/base");
    CHECK(cfg.mesh.security == "curve");
    CHECK(cfg.mesh.secret_file == "/base/k/t.key");
    CHECK(cfg.mesh.public_keys.at("tracker") == "/base/k/t.pub");
    CHECK(cfg.mesh.public_keys.at("reid") == "env:R");
  }

} // TEST_SUITE
