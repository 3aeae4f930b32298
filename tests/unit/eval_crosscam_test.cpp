#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include "tools/eval/eval_crosscam.hpp"

using namespace weaver;
namespace fs = std::filesystem;

namespace {

// A base configuration file in a fresh directory; layout_config_yaml on it.
struct base_file {
  fs::path dir;
  explicit base_file(const std::string& text) {
    dir = fs::temp_directory_path() / ("weaver_eval_crosscam_" + std::to_string(::getpid()));
    fs::create_directories(dir / "conf");
    std::ofstream(dir / "conf" / "base.yaml") << text;
  }
  ~base_file() { fs::remove_all(dir); }
  YAML::Node layout(const std::string& detector = "") const {
    crosscam_layout l;
    l.name = "t";
    l.cameras.push_back({1, cv::Rect(0, 0, 100, 100), std::nullopt});
    l.cameras.push_back({2, cv::Rect(100, 0, 100, 100), std::nullopt});
    return YAML::Load(layout_config_yaml(l, (dir / "conf" / "base.yaml").string(), "v.avi", "s.db", detector));
  }
};

} // namespace

TEST_SUITE("eval_crosscam") {
  TEST_CASE("relative paths of the base are taken from the base's folder") {
    base_file b("detector: {dnn: {model: m/x.onnx, weights: /abs/w.bin}}\nreid: {metric: ../r.json}\n");
    auto y = b.layout();
    CHECK(y["paths_from"].as<std::string>() == (b.dir / "conf").string());
    CHECK(y["detector"]["dnn"]["model"].as<std::string>() == "m/x.onnx");
    CHECK(y["reid"]["metric"].as<std::string>() == "../r.json");
    CHECK(y["cameras"].size() == 2);
    CHECK(y["cameras"][0]["source"].as<std::string>() == fs::absolute("v.avi").string());
    CHECK(y["storage"]["path"].as<std::string>() == fs::absolute("s.db").string());
  }

  TEST_CASE("a base that is itself a copy passes on the folder it names") {
    base_file b("paths_from: ../deploy\nreid: {metric: r.json}\n");
    CHECK(b.layout()["paths_from"].as<std::string>() == (b.dir / "deploy").string());
  }

  TEST_CASE("a malformed base is left for the configuration loader to name, not thrown on here") {
    // Each of these is an error the config loader reports with its key; the
    // generator only copies them.
    for (std::string text : {"detector: cpu\nreid: {metric: [a, b]}\n", "detector: {dnn: {model: [1, 2]}}\nreid: 3\n",
                             "detector: {dnn: 7}\nreid: {metric: {x: 1}}\nquery: 5\n"}) {
      CAPTURE(text);
      base_file b(text);
      YAML::Node y;
      CHECK_NOTHROW(y = b.layout("cpu"));
      CHECK(y["cameras"].size() == 2);
    }
    // A file that is not a map of settings at all is refused by name.
    base_file b("just a word\n");
    CHECK_THROWS_AS(b.layout(), std::invalid_argument);
  }
}
