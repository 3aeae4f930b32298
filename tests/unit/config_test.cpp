#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>
#include <cstdlib>

#include <opencv2/core.hpp>
#include <opencv2/videoio.hpp>

#include <nlohmann/json.hpp>

#include "accel/detect/appearance.hpp"
#include "actors/reid/view_handoff.hpp"
#include "services/config.hpp"

using namespace weaver;
namespace fs = std::filesystem;

namespace {

// A temporary folder with a small real video (5 MJPG frames), removed at the end.
struct video_dir {
  fs::path dir;
  fs::path video;

  video_dir() {
    static int counter = 0;
    dir = fs::temp_directory_path()
      / ("weaver_config_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(dir);
    fs::create_directories(dir);
    video = dir / "clip.avi";
    cv::Size size{64, 48};
    cv::VideoWriter w(video.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 10.0, size);
    REQUIRE(w.isOpened());
    for (int i = 0; i < 5; ++i) {
      cv::Mat frame(size, CV_8UC3, cv::Scalar(10 * i, 20, 200 - 10 * i));
      w.write(frame);
    }
    w.release();
    REQUIRE(fs::file_size(video) > 0);
  }
  ~video_dir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string base() const { return dir.string(); }
};

struct failure {
  std::string key;
  std::string what;
};

// Parses and expects a config_error; returns its key and message.
failure error_of(const std::string& yaml, const std::string& base) {
  try {
    parse_config(yaml, base);
  } catch (const config_error& e) {
    return {e.key, e.what()};
  } catch (const std::exception& e) {
    FAIL("not a config_error: " << e.what());
  }
  FAIL("no error for:\n" << yaml);
  return {};
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

const char* one_camera =
  "cameras:\n"
  "  - id: 1\n"
  "    source: clip.avi\n";

} // namespace

TEST_SUITE("config") {
  TEST_CASE("a good configuration with three virtual cameras") {
    video_dir v;
    auto cfg = parse_config(
      "start_time: \"2026-11-21T09:00:00Z\"\n"
      "cameras:\n"
      "  - id: 1\n"
      "    name: entrance\n"
      "    zone: shoes\n"
      "    source: clip.avi\n"
      "    crop: [0, 0, 32, 48]\n"
      "  - id: 2\n"
      "    zone: jewelry\n"
      "    source: camera:1\n"
      "    crop: [32, 0, 32, 24]\n"
      "    fps: 5\n"
      "    loop: true\n"
      "  - id: 7\n"
      "    source: camera:1\n"
      "    crop: [32, 24, 32, 24]\n"
      "    start_time: \"2026-11-21T10:00:00+01:00\"\n",
      v.base(), "store.yaml");
    CHECK(cfg.file == "store.yaml");
    REQUIRE(cfg.cameras.size() == 3);
    auto expected_source = v.video.lexically_normal().string();
    for (auto& c : cfg.cameras) {
      CAPTURE(c.id);
      CHECK(c.source == expected_source);
      REQUIRE(c.crop.has_value());
    }
    CHECK(cfg.cameras[0].id == 1);
    CHECK(cfg.cameras[0].name == "entrance");
    CHECK(cfg.cameras[0].zone == "shoes");
    CHECK(*cfg.cameras[0].crop == std::vector<int>{0, 0, 32, 48});
    CHECK(cfg.cameras[0].fps == 0.0);
    CHECK_FALSE(cfg.cameras[0].loop);
    CHECK(cfg.cameras[0].start_ms == 1795251600000);

    CHECK(cfg.cameras[1].id == 2);
    CHECK(cfg.cameras[1].name == "camera-2");
    CHECK(cfg.cameras[1].zone == "jewelry");
    CHECK(*cfg.cameras[1].crop == std::vector<int>{32, 0, 32, 24});
    CHECK(cfg.cameras[1].fps == doctest::Approx(5.0));
    CHECK(cfg.cameras[1].loop);
    CHECK(cfg.cameras[1].start_ms == 1795251600000);

    CHECK(cfg.cameras[2].id == 7);
    CHECK(*cfg.cameras[2].crop == std::vector<int>{32, 24, 32, 24});
    CHECK(cfg.cameras[2].start_ms == 1795251600000); // 10:00+01:00 == 09:00Z

    REQUIRE(cfg.camera(7) != nullptr);
    CHECK(cfg.camera(7)->id == 7);
    CHECK(cfg.camera(3) == nullptr);
  }

  TEST_CASE("paths_from: a copy written elsewhere takes its relative paths from the folder it names") {
    video_dir v;
    fs::create_directories(v.dir / "elsewhere");
    const std::string copy_dir = (v.dir / "elsewhere").string();
    auto cfg = parse_config(std::string(one_camera) + "paths_from: ..\nstorage: {path: w.db}\n", copy_dir);
    CHECK(cfg.cameras[0].source == v.video.string());
    CHECK(cfg.storage_path == (v.dir / "w.db").string());
    // Absolute: as given. Without it: the file's own folder.
    cfg = parse_config(std::string(one_camera) + "paths_from: " + v.base() + "\n", "/nonexistent");
    CHECK(cfg.cameras[0].source == v.video.string());
    CHECK(starts_with(error_of(one_camera, copy_dir).key, "cameras[0].source"));
    // A folder that is not there, or no folder at all, is named.
    auto f = error_of(std::string(one_camera) + "paths_from: nowhere\n", v.base());
    CHECK(f.key == "paths_from");
    CHECK(contains(f.what, "no such folder: " + (v.dir / "nowhere").string()));
    CHECK(error_of(std::string(one_camera) + "paths_from: \"\"\n", v.base()).key == "paths_from");
    CHECK(error_of(std::string(one_camera) + "paths_from: [a]\n", v.base()).key == "paths_from");
  }

  TEST_CASE("tracker.zones_file: edited cameras' shapes replace the configured ones, checked; absent = none") {
    video_dir v;
    const std::string cams =
      "cameras:\n"
      "  - id: 1\n"
      "    source: clip.avi\n"
      "    crop: [0, 0, 20, 48]\n"
      "    zones: [{name: old, polygon: [[0, 0], [10, 0], [0, 10]]}]\n"
      "  - {id: 2, source: camera:1}\n"
      "tracker: {zones_file: edits.json}\n";
    auto write = [&](const std::string& text) { std::ofstream{v.dir / "edits.json"} << text; };
    auto none = parse_config(cams, v.base()); // no file yet: the configured shapes
    CHECK(none.tracker.zones_file == (v.dir / "edits.json").string());
    CHECK(none.cameras[0].zones.at(0).name == "old");
    CHECK(none.tracker.zones_edited.empty());
    write(R"({"cameras": {"1": {"zones": [], "lines": [{"name": "door", "from": [0, 5], "to": [20, 5]}]},
                          "9": {"zones": []}}})");
    auto edited = parse_config(cams, v.base());
    CHECK(edited.cameras[0].zones.empty());
    REQUIRE(edited.cameras[0].lines.size() == 1);
    CHECK(edited.cameras[0].lines[0].name == "door");
    CHECK(edited.tracker.zones_edited == std::set<uint32_t>{1});
    REQUIRE(edited.notices.size() == 1); // camera 9 is gone from the configuration
    CHECK(contains(edited.notices[0], "camera 9, which is not configured"));
    // Checked as an edit is: against camera 1's crop (20 x 48).
    write(R"({"cameras": {"1": {"lines": [{"name": "door", "from": [0, 5], "to": [21, 5]}]}}})");
    auto bad = error_of(cams, v.base());
    CHECK(bad.key == "tracker.zones_file");
    CHECK(contains(bad.what, "camera 1: lines[0].to: [21, 5] is outside the frame"));
    write("{");
    CHECK(contains(error_of(cams, v.base()).what, "not JSON"));
  }

  TEST_CASE("re-id's view handoff: the crops' geometry, whole bodies on overlapping views, co-located overlap") {
    video_dir v;
    const std::string cams =
      "cameras:\n"
      "  - {id: 1, source: clip.avi, crop: [0, 0, 20, 48]}\n"
      "  - {id: 2, source: camera:1, crop: [12, 0, 20, 48]}\n";
    auto off = parse_config(cams, v.base());
    CHECK(off.reid.handoff.views.empty());
    CHECK(off.reid.overlap_colocated > 1.0f); // off unless asked
    auto on = parse_config(cams + "reid: {handoff: true, handoff_overlaps: true, overlap_colocated: 0.5}\n", v.base());
    REQUIRE(on.reid.handoff.views.size() == 2);
    CHECK(on.reid.handoff.whole_bodies);
    CHECK(on.reid.overlap_colocated == doctest::Approx(0.5));
    CHECK(view_handoff(on.reid.handoff).overlap(1, 2)); // columns 12-19 are in both
    CHECK_THROWS_AS(parse_config(cams + "reid: {overlap_colocated: -0.1}\n", v.base()), config_error);
    CHECK_THROWS_AS(parse_config(cams + "reid: {overlap_colocated: 3}\n", v.base()), config_error);
    // The walking bound goes to online re-id and the offline pass alike, with the geometry.
    CHECK(off.reid.handoff_speed == 0.0f);
    auto walk = parse_config(cams + "reid: {handoff: true, handoff_speed: 2}\n", v.base());
    CHECK(walk.reid.handoff_speed == doctest::Approx(2.0));
    CHECK(walk.reid.resolver.handoff_speed == doctest::Approx(2.0));
    CHECK(walk.reid.resolver.handoff.views.size() == 2);
    CHECK_THROWS_AS(parse_config(cams + "reid: {handoff_speed: -1}\n", v.base()), config_error);
  }

  TEST_CASE("the offline pass's re-chaining at a refused link: on by default, configurable, checked") {
    video_dir v;
    const std::string cams = "cameras:\n  - {id: 1, source: clip.avi}\n";
    auto def = parse_config(cams, v.base());
    CHECK(def.reid.resolver.rechain_threshold == doctest::Approx(0.9));
    CHECK(def.reid.resolver.rechain_margin == doctest::Approx(0.0));
    // ... and the online joins it decides better (deferred when close).
    CHECK(def.reid.ambiguity_margin == doctest::Approx(0.005));
    auto set = parse_config(cams + "reid: {resolve: {rechain_threshold: 0.93, rechain_margin: -0.1}}\n", v.base());
    CHECK(set.reid.resolver.rechain_threshold == doctest::Approx(0.93));
    CHECK(set.reid.resolver.rechain_margin == doctest::Approx(-0.1));
    CHECK(def.reid.resolver.rechain_hold_ms == 10000);
    CHECK(parse_config(cams + "reid: {resolve: {rechain_hold_s: 0}}\n", v.base()).reid.resolver.rechain_hold_ms == 0);
    CHECK_THROWS_AS(parse_config(cams + "reid: {resolve: {rechain_hold_s: -1}}\n", v.base()), config_error);
    CHECK_THROWS_AS(parse_config(cams + "reid: {resolve: {rechain_margin: 2}}\n", v.base()), config_error);
    CHECK_THROWS_AS(parse_config(cams + "reid: {resolve: {rechain_threshold: 3}}\n", v.base()), config_error);
    CHECK_THROWS_AS(parse_config(cams + "reid: {resolve: {rechain: 1}}\n", v.base()), config_error);
  }

  TEST_CASE("returns to the same camera: 3 s unless lost inside the view, configurable, checked") {
    video_dir v;
    const std::string cams = "cameras:\n  - {id: 1, source: clip.avi}\n";
    auto def = parse_config(cams, v.base());
    CHECK(def.reid.same_camera_gap_ms == 3000);
    CHECK(def.reid.lost_inside_share == doctest::Approx(0.08));
    auto set = parse_config(cams + "reid: {same_camera_gap_s: 10, lost_inside_share: -1}\n", v.base());
    CHECK(set.reid.same_camera_gap_ms == 10000);
    CHECK(set.reid.lost_inside_share == doctest::Approx(-1.0));
    CHECK_THROWS_AS(parse_config(cams + "reid: {same_camera_gap_s: -1}\n", v.base()), config_error);
    CHECK_THROWS_AS(parse_config(cams + "reid: {lost_inside_share: 0.6}\n", v.base()), config_error);
    CHECK_THROWS_AS(parse_config(cams + "reid: {same_camera_gap_s: fast}\n", v.base()), config_error);
    // NaN is out of every range (it compares false with both ends).
    CHECK_THROWS_AS(parse_config(cams + "reid: {same_camera_gap_s: .nan}\n", v.base()), config_error);
    CHECK_THROWS_AS(parse_config(cams + "reid: {max_gap_s: .nan}\n", v.base()), config_error);
  }

  TEST_CASE("reid.metric: a learnt metric file relative to the configuration; none by default; a bad file is named") {
    video_dir v;
    const std::string cams = "cameras:\n  - {id: 1, source: clip.avi}\n";
    CHECK(parse_config(cams, v.base()).reid.metric.empty());
    auto metric_of = [](size_t d) {
      std::vector<float> t(2 * d, 0.f);
      t[0] = t[d + 1] = 1.f;
      return nlohmann::json{
        {"kind", "kiss"}, {"input_dims", d}, {"dims", 2}, {"mean", std::vector<float>(d, 0.f)}, {"transform", t}};
    };
    std::ofstream(v.dir / "metric.json") << metric_of(appearance_dims).dump();
    auto on = parse_config(cams + "reid: {metric: metric.json}\n", v.base());
    CHECK(on.reid.metric.input_dims() == appearance_dims);
    CHECK(on.reid.metric.output_dims() == 2);
    // Only for the hand-made descriptor it was learnt on.
    std::ofstream(v.dir / "short.json") << metric_of(3).dump();
    auto other = error_of(cams + "reid: {metric: short.json}\n", v.base());
    CHECK(other.key == "reid.metric");
    CHECK(contains(other.what, "3 numbers"));
    CHECK(error_of(cams + "tracker: {appearance: dnn}\nreid: {metric: metric.json}\n", v.base()).key == "reid.metric");
    auto missing = error_of(cams + "reid: {metric: none.json}\n", v.base());
    CHECK(missing.key == "reid.metric");
    CHECK(contains(missing.what, "none.json"));
    std::ofstream(v.dir / "bad.json") << "{\"kind\": \"kiss\", \"input_dims\": 3}";
    CHECK(error_of(cams + "reid: {metric: bad.json}\n", v.base()).key == "reid.metric");
  }

  TEST_CASE("defaults") {
    video_dir v;
    auto cfg = parse_config(
      "cameras:\n"
      "  - {id: 1, source: clip.avi}\n"
      "  - {id: 2, source: camera:1, crop: [0, 0, 10, 10]}\n"
      "  - {id: 5, source: camera:1, crop: [10, 10, 10, 10]}\n",
      v.base());
    CHECK(cfg.file == "<string>");
    CHECK_FALSE(cfg.realtime);
    for (auto& c : cfg.cameras) CHECK(c.start_ms == 0);
    CHECK_FALSE(cfg.cameras[0].crop.has_value());

    // Transitions: consecutive pairs, both ways, in camera order.
    std::vector<std::pair<uint32_t, uint32_t>> transitions{{1, 2}, {2, 1}, {2, 5}, {5, 2}};
    CHECK(cfg.query.transitions == transitions);
    CHECK(cfg.query.every_camera == std::vector<uint32_t>{1, 2, 5});
    CHECK(cfg.query.max_transit_ms == 60000);

    // One CPU card.
    REQUIRE(cfg.cards.size() == 1);
    CHECK(cfg.cards[0].kind == "cpu");
    CHECK(cfg.cards[0].name == "cpu0");
    CHECK(cfg.cards[0].threads == 1);

    CHECK(cfg.detector.kind == "motion");
    CHECK(cfg.detector.queue == 4);
    CHECK(cfg.detector.max_age_ms == 2000);
    CHECK(cfg.tracker.max_age == 5);
    CHECK(cfg.tracker.min_hits == 3);
    CHECK(cfg.reid.max_gap_ms == 10000);
    CHECK(cfg.metrics_port == 0);
    CHECK(cfg.gateway_port == 0);
    CHECK(cfg.mesh.roles.empty());
    CHECK(cfg.mesh.endpoints.empty());
    // The default database lives next to the configuration.
    CHECK(cfg.storage_path == (v.dir / "weaver.db").lexically_normal().string());
  }

  TEST_CASE("explicit sections override the defaults") {
    video_dir v;
    auto cfg = parse_config(std::string(one_camera)
                            + "realtime: true\n"
                              "detector: {kind: hog, queue: 8, max_age_ms: 500, hog: {upscale: 1.5}}\n"
                              "cards:\n"
                              "  - {name: a, threads: 2}\n"
                              "  - {kind: cpu}\n"
                              "query: {max_transit_s: 30, transitions: [[1, 1]], every_camera: [1]}\n"
                              "storage: {path: \":memory:\"}\n"
                              "mesh:\n"
                              "  roles: [camera, detector]\n"
                              "  endpoints: {tracker: \"tcp://127.0.0.1:5555\", reid: \"ipc:///tmp/r\"}\n",
                          v.base());
    CHECK(cfg.realtime);
    CHECK(cfg.detector.kind == "hog");
    CHECK(cfg.detector.queue == 8);
    CHECK(cfg.detector.max_age_ms == 500);
    CHECK(cfg.detector.hog_upscale == doctest::Approx(1.5));
    REQUIRE(cfg.cards.size() == 2);
    CHECK(cfg.cards[0].name == "a");
    CHECK(cfg.cards[0].threads == 2);
    CHECK(cfg.cards[1].name == "cpu1");
    CHECK(cfg.query.max_transit_ms == 30000);
    CHECK(cfg.query.transitions == std::vector<std::pair<uint32_t, uint32_t>>{{1, 1}});
    CHECK(cfg.query.every_camera == std::vector<uint32_t>{1});
    CHECK(cfg.storage_path == ":memory:");
    CHECK(cfg.mesh.roles == std::vector<std::string>{"camera", "detector"});
    CHECK(cfg.mesh.endpoints.at("tracker") == "tcp://127.0.0.1:5555");
    CHECK(cfg.mesh.endpoints.at("reid") == "ipc:///tmp/r");
  }

  TEST_CASE("relative paths resolve against base_dir, absolute ones stay") {
    video_dir v;
    fs::create_directories(v.dir / "sub");
    fs::copy_file(v.video, v.dir / "sub" / "other.avi");
    auto cfg = parse_config("cameras:\n"
                          "  - {id: 1, source: ./sub/../clip.avi}\n"
                          "  - {id: 2, source: sub/other.avi}\n"
                          "  - {id: 3, source: \"" + v.video.string() + "\"}\n"
                          "storage: {path: data/people.db}\n",
                          v.base());
    CHECK(cfg.cameras[0].source == (v.dir / "clip.avi").lexically_normal().string());
    CHECK(cfg.cameras[1].source == (v.dir / "sub" / "other.avi").lexically_normal().string());
    CHECK(cfg.cameras[2].source == v.video.lexically_normal().string());
    CHECK(cfg.storage_path == (v.dir / "data" / "people.db").lexically_normal().string());
    // Network sources are left alone.
    auto net = parse_config("cameras:\n  - {id: 1, source: \"rtsp://10.0.0.5:554/stream1\"}\n", v.base());
    CHECK(net.cameras[0].source == "rtsp://10.0.0.5:554/stream1");
  }

  TEST_CASE("load_config reads a file and resolves paths against its folder") {
    video_dir v;
    auto path = v.dir / "weaver.yaml";
    {
      std::ofstream out{path};
      out << one_camera;
    }
    auto cfg = load_config(path.string());
    CHECK(cfg.file == path.string());
    REQUIRE(cfg.cameras.size() == 1);
    CHECK(cfg.cameras[0].source == v.video.lexically_normal().string());

    auto missing = (v.dir / "nope.yaml").string();
    try {
      load_config(missing);
      FAIL("no error for a missing file");
    } catch (const config_error& e) {
      CHECK(e.key == missing);
      CHECK(starts_with(e.what(), missing + ": "));
    }
    CHECK_THROWS_AS(load_config(missing), config_error);
  }

  TEST_CASE("a list or a mapping as a key is a config_error naming where") {
    video_dir v;
    // Found by fuzz_config: yaml-cpp's conversion error escaped parse_config.
    auto e = error_of("? [a, b]\n: 1\n", v.base());
    CHECK(e.key == "<root>");
    CHECK(contains(e.what, "plain name"));
    auto nested = error_of(std::string(one_camera) + "detector:\n  ? {kind: motion}\n  : x\n", v.base());
    CHECK(nested.key == "detector");
  }

  TEST_CASE("a list entry that is text where a mapping belongs is a config_error naming it") {
    video_dir v;
    // Found by fuzz_config (1M-run campaign): a card given as plain text
    // reached yaml-cpp's subscript of a scalar, whose error escaped.
    auto card = error_of(std::string(one_camera) + "cards:\n  - just text\n", v.base());
    CHECK(card.key == "cards[0]");
    CHECK(contains(card.what, "expected a mapping"));
    auto cam = error_of("cameras:\n  - 7\n", v.base());
    CHECK(cam.key == "cameras[0]");
  }

  TEST_CASE("missing or empty cameras") {
    video_dir v;
    auto e = error_of("realtime: true\n", v.base());
    CHECK(e.key == "cameras");
    CHECK(starts_with(e.what, "cameras: "));
    CHECK(error_of("cameras: []\n", v.base()).key == "cameras");
    CHECK(error_of("cameras: {id: 1}\n", v.base()).key == "cameras");
    auto empty = error_of("", v.base());
    CHECK(contains(empty.what, "empty"));
  }

  TEST_CASE("a missing source file names the camera index") {
    video_dir v;
    auto e = error_of(
      "cameras:\n"
      "  - {id: 1, source: clip.avi}\n"
      "  - {id: 2, source: camera:1}\n"
      "  - {id: 3, source: missing.avi}\n",
      v.base());
    CHECK(e.key == "cameras[2].source");
    CHECK(starts_with(e.what, "cameras[2].source: "));
    CHECK(contains(e.what, "no such file"));
    CHECK(contains(e.what, (v.dir / "missing.avi").string()));

    auto no_source = error_of("cameras:\n  - {id: 1}\n", v.base());
    CHECK(no_source.key == "cameras[0].source");
    CHECK(contains(no_source.what, "required"));
  }

  TEST_CASE("camera:<id> references must name a camera with a direct source") {
    video_dir v;
    auto unknown = error_of(
      "cameras:\n"
      "  - {id: 1, source: clip.avi}\n"
      "  - {id: 2, source: camera:9}\n",
      v.base());
    CHECK(unknown.key == "cameras[1].source");
    CHECK(contains(unknown.what, "no camera 9"));
    auto chained = error_of(
      "cameras:\n"
      "  - {id: 1, source: camera:2}\n"
      "  - {id: 2, source: camera:1}\n",
      v.base());
    CHECK(chained.key == "cameras[0].source");
    auto bad = error_of("cameras:\n  - {id: 1, source: \"camera:x\"}\n", v.base());
    CHECK(bad.key == "cameras[0].source");
    CHECK(contains(bad.what, "camera:<id>"));
  }

  TEST_CASE("duplicate and bad camera ids") {
    video_dir v;
    auto dup = error_of(
      "cameras:\n"
      "  - {id: 4, source: clip.avi}\n"
      "  - {id: 4, source: clip.avi}\n",
      v.base());
    CHECK(dup.key == "cameras[1].id");
    CHECK(contains(dup.what, "duplicate"));
    CHECK(contains(dup.what, "4"));
    CHECK(error_of("cameras:\n  - {source: clip.avi}\n", v.base()).key == "cameras[0].id");
    CHECK(error_of("cameras:\n  - {id: -3, source: clip.avi}\n", v.base()).key == "cameras[0].id");
    CHECK(error_of("cameras:\n  - {id: 4294967296, source: clip.avi}\n", v.base()).key == "cameras[0].id");
  }

  TEST_CASE("bad crops") {
    video_dir v;
    for (auto crop : {"[0, 0, -5, 10]", "[0, 0, 10, 0]", "[-1, 0, 10, 10]", "[1, 2, 3]", "[a, 0, 1, 1]", "7"}) {
      CAPTURE(crop);
      auto e = error_of(std::string("cameras:\n  - {id: 1, source: clip.avi, crop: ") + crop + "}\n", v.base());
      CHECK(e.key == "cameras[0].crop");
      CHECK(starts_with(e.what, "cameras[0].crop: "));
    }
  }

  TEST_CASE("a warp: four source points inside the crop") {
    video_dir v;
    auto cfg = parse_config(
      "cameras:\n  - {id: 1, source: clip.avi, crop: [10, 0, 100, 50], "
      "warp: [[30, 0], [90, 0], [110, 50], [10.5, 50]]}\n",
      v.base());
    REQUIRE(cfg.cameras[0].warp.has_value());
    CHECK((*cfg.cameras[0].warp)[3].x == 10.5);
    CHECK((*cfg.cameras[0].warp)[2].y == 50);
    for (auto warp : {"[[30, 0], [90, 0], [110, 50]]", "[[30, 0], [90, 0], [111, 50], [10, 50]]",
                      "[[30, 0], [90, 0], [110, 50], [a, 50]]", "[[10, 0], [50, 0], [100, 0], [10, 50]]", "7"}) {
      CAPTURE(warp);
      auto e = error_of(
        std::string("cameras:\n  - {id: 1, source: clip.avi, crop: [10, 0, 100, 50], warp: ") + warp + "}\n", v.base());
      CHECK(e.key == "cameras[0].warp");
    }
    auto no_crop =
      error_of("cameras:\n  - {id: 1, source: clip.avi, warp: [[0, 0], [9, 0], [9, 9], [0, 9]]}\n", v.base());
    CHECK(no_crop.key == "cameras[0].warp");
    CHECK(contains(no_crop.what, "needs a crop"));
  }

  TEST_CASE("a line needs both ends: a missing one is named, never read past") {
    video_dir v;
    auto base = std::string("cameras:\n  - id: 1\n    source: clip.avi\n    lines:\n      - name: door\n");
    auto no_from = error_of(base + "        to: [10, 20]\n", v.base());
    CHECK(no_from.key == "cameras[0].lines[0].from");
    CHECK(contains(no_from.what, "required"));
    auto no_to = error_of(base + "        from: [1, 2]\n", v.base());
    CHECK(no_to.key == "cameras[0].lines[0].to");
    auto neither = error_of(base, v.base());
    CHECK(neither.key == "cameras[0].lines[0].from");
    auto short_point = error_of(base + "        from: [1]\n        to: [10, 20]\n", v.base());
    CHECK(short_point.key == "cameras[0].lines[0].from");
    auto words = error_of(base + "        from: [1, 2]\n        to: [a, b]\n", v.base());
    CHECK(words.key == "cameras[0].lines[0].to");
    auto good = parse_config(base + "        from: [1, 2]\n        to: [10, 20]\n", v.base());
    REQUIRE(good.cameras.at(0).lines.size() == 1);
    CHECK(good.cameras[0].lines[0].a.x == 1.0f);
    CHECK(good.cameras[0].lines[0].a.y == 2.0f);
    CHECK(good.cameras[0].lines[0].b.x == 10.0f);
    CHECK(good.cameras[0].lines[0].b.y == 20.0f);
  }

  TEST_CASE("unknown keys are named") {
    video_dir v;
    auto top = error_of(std::string(one_camera) + "bogus: 1\n", v.base());
    CHECK(top.key == "bogus");
    CHECK(contains(top.what, "unknown key"));
    auto cam = error_of("cameras:\n  - {id: 1, source: clip.avi, colour: red}\n", v.base());
    CHECK(cam.key == "cameras[0].colour");
    auto det = error_of(std::string(one_camera) + "detector: {speed: 3}\n", v.base());
    CHECK(det.key == "detector.speed");
    // Nothing bounded links by it: read but never used, so no longer read.
    auto window = error_of(std::string(one_camera) + "mesh: {window: 16}\n", v.base());
    CHECK(window.key == "mesh.window");
  }

  TEST_CASE("unknown detector kind") {
    video_dir v;
    auto e = error_of(std::string(one_camera) + "detector: {kind: yolo}\n", v.base());
    CHECK(e.key == "detector.kind");
    CHECK(contains(e.what, "yolo"));
    CHECK(contains(e.what, "unknown detector"));
  }

  TEST_CASE("detector.dnn.precision: f32 by default, int8 needs an existing int8_model") {
    video_dir v;
    { std::ofstream(v.dir / "net.json") << "{}"; }
    { std::ofstream(v.dir / "net.int8.json") << "{}"; }
    const std::string dnn = std::string(one_camera) + "detector: {kind: nanodet, dnn: {model: net.json";
    auto f32 = parse_config(dnn + "}}\n", v.base());
    CHECK(f32.detector.dnn.precision == "f32");
    auto int8 = parse_config(dnn + ", precision: int8, int8_model: net.int8.json}}\n", v.base());
    CHECK(int8.detector.dnn.precision == "int8");
    CHECK(int8.detector.dnn.int8_model == (v.dir / "net.int8.json").lexically_normal().string());
    CHECK(error_of(dnn + ", precision: int4}}\n", v.base()).key == "detector.dnn.precision");
    auto missing = error_of(dnn + ", precision: int8}}\n", v.base());
    CHECK(missing.key == "detector.dnn.int8_model");
    CHECK(contains(missing.what, "weaver model quantize"));
    CHECK(error_of(dnn + ", precision: int8, int8_model: nope.json}}\n", v.base()).key == "detector.dnn.int8_model");
  }

  TEST_CASE("detector.dnn.input: [width, height] of whole pixels, \"source\" or \"model\"") {
    video_dir v;
    { std::ofstream(v.dir / "net.json") << "{}"; }
    const std::string dnn = std::string(one_camera) + "detector: {kind: nanodet, dnn: {model: net.json, input: ";
    auto sized = parse_config(dnn + "[576, 448]}}\n", v.base());
    CHECK(sized.detector.dnn.input_width == 576);
    CHECK(sized.detector.dnn.input_height == 448);
    CHECK(parse_config(dnn + "source}}\n", v.base()).detector.dnn.input_width == -1);
    // A word inside the pair is the config's own error, named by key (it
    // was the YAML library's conversion error, with no key).
    auto word = error_of(dnn + "[576, wide]}}\n", v.base());
    CHECK(word.key == "detector.dnn.input");
    CHECK(contains(word.what, "expected [width, height]"));
    CHECK(error_of(dnn + "[576]}}\n", v.base()).key == "detector.dnn.input");
    CHECK(error_of(dnn + "[16, 448]}}\n", v.base()).key == "detector.dnn.input");
    CHECK(contains(error_of(dnn + "[570, 448]}}\n", v.base()).what, "multiples of 32"));
  }

  TEST_CASE("detector.dnn.int8_exact: off by default, a boolean, forced on when an xrt card may be in the pool") {
    video_dir v;
    { std::ofstream(v.dir / "net.json") << "{}"; }
    { std::ofstream(v.dir / "net.int8.json") << "{}"; }
    { std::ofstream(v.dir / "k.xclbin") << "x"; }
    const std::string dnn = std::string(one_camera)
      + "detector: {kind: nanodet, dnn: {model: net.json, precision: int8, int8_model: net.int8.json";
    CHECK_FALSE(parse_config(dnn + "}}\n", v.base()).detector.dnn.int8_exact);
    CHECK(parse_config(dnn + ", int8_exact: true}}\n", v.base()).detector.dnn.int8_exact);
    CHECK(error_of(dnn + ", int8_exact: maybe}}\n", v.base()).key == "detector.dnn.int8_exact");
    // An xrt card computes exactly: every card must, whatever the file says.
    auto xrt =
      parse_config(dnn + ", int8_exact: false}}\ncards: [{kind: cpu}, {kind: xrt, xclbin: k.xclbin}]\n", v.base());
    CHECK(int8_exact_forced(xrt));
    CHECK(xrt.detector.dnn.int8_exact);
    auto cpu = parse_config(dnn + "}}\ncards: [{kind: cpu}, {kind: sim}]\n", v.base());
    CHECK_FALSE(int8_exact_forced(cpu));
    CHECK_FALSE(cpu.detector.dnn.int8_exact);
    // cards: all takes the xrt devices it finds when an xclbin is configured.
    CHECK_FALSE(parse_config(dnn + "}}\ncards: all\n", v.base()).detector.dnn.int8_exact);
    CHECK(parse_config(dnn + "}}\ncards: all\nxrt: {xclbin: k.xclbin}\n", v.base()).detector.dnn.int8_exact);
  }

  TEST_CASE("detector kind onnx: dnn.head required and known, yolo v2/v3 heads need anchors") {
    video_dir v;
    { std::ofstream(v.dir / "net.onnx") << "x"; }
    const std::string onnx = std::string(one_camera) + "detector: {kind: onnx, dnn: {model: net.onnx";
    auto ok = parse_config(onnx + ", head: yolov8, input: model}}\n", v.base());
    CHECK(ok.detector.kind == "onnx");
    CHECK(ok.detector.dnn.head == "yolov8");
    auto v3 = parse_config(onnx + ", head: yolov3, anchors: [10, 14, 23, 27.5]}}\n", v.base());
    CHECK(v3.detector.dnn.anchors == std::vector<float>{10, 14, 23, 27.5f});
    auto none = error_of(onnx + "}}\n", v.base());
    CHECK(none.key == "detector.dnn.head");
    CHECK(contains(none.what, "required for detector onnx"));
    auto unknown = error_of(onnx + ", head: yolov9}}\n", v.base());
    CHECK(unknown.key == "detector.dnn.head");
    CHECK(contains(unknown.what, "yolov5, yolov8"));
    CHECK(error_of(onnx + ", head: yolov2}}\n", v.base()).key == "detector.dnn.anchors");
    CHECK(error_of(onnx + ", head: yolov2, anchors: [1, 2, 3]}}\n", v.base()).key == "detector.dnn.anchors");
    CHECK(error_of(onnx + ", head: yolov2, anchors: [1, -2]}}\n", v.base()).key == "detector.dnn.anchors");
    CHECK(error_of(onnx + ", head: yolov2, anchors: [1, x]}}\n", v.base()).key == "detector.dnn.anchors");
    CHECK_FALSE(ok.detector.dnn.letterbox);
    CHECK(parse_config(onnx + ", head: yolov8, letterbox: true}}\n", v.base()).detector.dnn.letterbox);
    CHECK(error_of(onnx + ", head: yolov8, letterbox: grey}}\n", v.base()).key == "detector.dnn.letterbox");
    auto other =
      error_of(std::string(one_camera) + "detector: {kind: nanodet, dnn: {model: net.onnx, head: yolov8}}\n", v.base());
    CHECK(other.key == "detector.dnn.head");
    CHECK(contains(other.what, "only for detector onnx"));
  }

  TEST_CASE("wrong types and ranges name the key") {
    video_dir v;
    auto fps = error_of("cameras:\n  - {id: 1, source: clip.avi, fps: \"fast\"}\n", v.base());
    CHECK(fps.key == "cameras[0].fps");
    CHECK(contains(fps.what, "number"));
    CHECK(contains(fps.what, "fast"));
    CHECK(error_of("cameras:\n  - {id: 1, source: clip.avi, loop: maybe}\n", v.base()).key == "cameras[0].loop");
    CHECK(error_of("cameras:\n  - {id: 1, source: clip.avi, fps: 5000}\n", v.base()).key == "cameras[0].fps");
    CHECK(error_of(std::string(one_camera) + "detector: {queue: 0}\n", v.base()).key == "detector.queue");
    CHECK(error_of(std::string(one_camera) + "metrics: {port: 70000}\n", v.base()).key == "metrics.port");
    CHECK(error_of(std::string(one_camera) + "cards: [{kind: fpga}]\n", v.base()).key == "cards[0].kind");
  }

  TEST_CASE("bad start_time") {
    video_dir v;
    auto top = error_of(std::string(one_camera) + "start_time: yesterday\n", v.base());
    CHECK(top.key == "start_time");
    CHECK(contains(top.what, "yesterday"));
    auto cam = error_of("cameras:\n  - {id: 1, source: clip.avi, start_time: \"2026-13-01\"}\n", v.base());
    CHECK(cam.key == "cameras[0].start_time");
    CHECK(contains(cam.what, "ISO-8601"));
  }

  TEST_CASE("query sections must name configured cameras") {
    video_dir v;
    auto base = std::string(
      "cameras:\n"
      "  - {id: 1, source: clip.avi}\n"
      "  - {id: 2, source: camera:1}\n");
    auto tr = error_of(base + "query: {transitions: [[1, 2], [1, 9]]}\n", v.base());
    CHECK(tr.key == "query.transitions[1]");
    CHECK(contains(tr.what, "unknown camera"));
    auto shape = error_of(base + "query: {transitions: [[1, 2, 1]]}\n", v.base());
    CHECK(shape.key == "query.transitions[0]");
    auto every = error_of(base + "query: {every_camera: [2, 3]}\n", v.base());
    CHECK(every.key == "query.every_camera[1]");
  }

  TEST_CASE("mesh endpoints and roles") {
    video_dir v;
    auto ep = error_of(std::string(one_camera) + "mesh: {endpoints: {tracker: \"localhost:5555\"}}\n", v.base());
    CHECK(ep.key == "mesh.endpoints.tracker");
    CHECK(contains(ep.what, "localhost:5555"));
    auto ep_role = error_of(std::string(one_camera) + "mesh: {endpoints: {janitor: \"tcp://a:1\"}}\n", v.base());
    CHECK(ep_role.key == "mesh.endpoints.janitor");
    CHECK(contains(ep_role.what, "unknown role"));
    auto role = error_of(std::string(one_camera) + "mesh: {roles: [camera, janitor]}\n", v.base());
    CHECK(role.key == "mesh.roles[1]");
    CHECK(contains(role.what, "unknown role"));
    CHECK(contains(role.what, "janitor"));
  }

  TEST_CASE("invalid YAML text") {
    video_dir v;
    auto e = error_of("cameras: [1, 2\n", v.base());
    CHECK(e.key == "<string>");
    CHECK(contains(e.what, "invalid YAML"));
    try {
      parse_config("cameras: {id: 1\n", v.base(), "site.yaml");
      FAIL("no error");
    } catch (const config_error& err) {
      CHECK(err.key == "site.yaml");
      CHECK(starts_with(err.what(), "site.yaml: invalid YAML"));
    }
  }

  TEST_CASE("values may come from the environment") {
    video_dir v;
    ::setenv("WEAVER_TEST_CAM_SOURCE", "rtsp://admin:pw@10.1.2.3/s", 1);
    ::setenv("WEAVER_TEST_FPS", "12.5", 1);
    ::unsetenv("WEAVER_TEST_UNSET");
    auto cfg = parse_config(
      "cameras:\n"
      "  - {id: 1, source: clip.avi, name: \"cost $$5 ${WEAVER_TEST_UNSET:-door}\"}\n"
      "  - {id: 2, source: \"${WEAVER_TEST_CAM_SOURCE}\", fps: \"${WEAVER_TEST_FPS}\"}\n",
      v.base());
    CHECK(cfg.cameras[0].name == "cost $5 door");
    CHECK(cfg.cameras[1].source == "rtsp://admin:pw@10.1.2.3/s");
    CHECK(cfg.cameras[1].fps == doctest::Approx(12.5));
    auto unset = error_of("cameras:\n  - {id: 1, source: \"${WEAVER_TEST_UNSET}\"}\n", v.base());
    CHECK(unset.key == "cameras[0].source");
    CHECK(contains(unset.what, "WEAVER_TEST_UNSET is not set"));
    auto bad = error_of("cameras:\n  - {id: 1, source: clip.avi, name: \"${1x}\"}\n", v.base());
    CHECK(bad.key == "cameras[0].name");
    CHECK(error_of("cameras:\n  - {id: 1, source: clip.avi, name: \"${OPEN\"}\n", v.base()).key == "cameras[0].name");
    // The structure never comes from the environment: a value stays one value.
    ::setenv("WEAVER_TEST_CAM_SOURCE", "x\n  evil: true", 1);
    auto one = error_of("cameras:\n  - {id: 1, source: \"${WEAVER_TEST_CAM_SOURCE}\"}\n", v.base());
    CHECK(one.key == "cameras[0].source");
    ::unsetenv("WEAVER_TEST_CAM_SOURCE");
    ::unsetenv("WEAVER_TEST_FPS");
  }

  TEST_CASE("rtsp options and reconnect back-off per camera") {
    video_dir v;
    auto cfg = parse_config(
      "cameras:\n"
      "  - {id: 1, source: \"rtsp://cam/s\", rtsp: {transport: udp, open_timeout_ms: 2000,"
      " read_timeout_ms: 3000, probe_kb: 64, analyze_ms: 0}, reconnect: {initial_ms: 100,"
      " max_ms: 500}}\n"
      "  - {id: 2, source: \"camera:1\", crop: [0, 0, 10, 10]}\n"
      "  - {id: 3, source: clip.avi}\n",
      v.base());
    CHECK(cfg.cameras[0].input.transport == rtsp_transport::udp);
    CHECK(cfg.cameras[0].input.open_timeout_ms == 2000);
    CHECK(cfg.cameras[0].input.read_timeout_ms == 3000);
    CHECK(cfg.cameras[0].input.probe_kb == 64);
    CHECK(cfg.cameras[0].input.analyze_ms == 0);
    CHECK(cfg.cameras[0].reconnect_initial_ms == 100);
    CHECK(cfg.cameras[0].reconnect_max_ms == 500);
    // A virtual camera opens its source the same way.
    CHECK(cfg.cameras[1].input.transport == rtsp_transport::udp);
    CHECK(cfg.cameras[1].reconnect_max_ms == 500);
    // Defaults: TCP, 5 s timeouts, back-off from 250 ms up to 1 s.
    CHECK(cfg.cameras[2].input.transport == rtsp_transport::tcp);
    CHECK(cfg.cameras[2].input.open_timeout_ms == 5000);
    CHECK(cfg.cameras[2].input.probe_kb == 512);
    CHECK(cfg.cameras[2].reconnect_initial_ms == 250);
    CHECK(cfg.cameras[2].reconnect_max_ms == 1000);
    auto t = error_of("cameras:\n  - {id: 1, source: \"rtsp://c/s\", rtsp: {transport: quic}}\n", v.base());
    CHECK(t.key == "cameras[0].rtsp.transport");
    CHECK(error_of("cameras:\n  - {id: 1, source: \"rtsp://c/s\", rtsp: {open_timeout_ms: 0}}\n", v.base()).key
          == "cameras[0].rtsp.open_timeout_ms");
    CHECK(
      error_of("cameras:\n  - {id: 1, source: \"rtsp://c/s\", reconnect: {initial_ms: 500, max_ms: 100}}\n", v.base())
        .key
      == "cameras[0].reconnect.max_ms");
    CHECK(error_of("cameras:\n  - {id: 1, source: \"rtsp://c/s\", rtsp: {tcp: true}}\n", v.base()).key
          == "cameras[0].rtsp.tcp");
  }

  TEST_CASE("config errors never show a camera's password") {
    video_dir v;
    auto e = error_of("cameras:\n  - {id: 1, source: \"rtsp://admin:hunter2@\"}\n", v.base());
    CHECK(e.key == "cameras[0].source");
    CHECK_FALSE(contains(e.what, "hunter2"));
  }

  TEST_CASE("a camera another node opens: remote:<where>") {
    video_dir v;
    auto cfg = parse_config(
      "cameras:\n"
      "  - {id: 1, source: \"remote:edge-0\"}\n"
      "  - {id: 2, source: \"camera:1\", crop: [0, 0, 8, 8]}\n",
      v.base());
    CHECK(cfg.cameras[0].source == "remote:edge-0"); // not made a path
    CHECK(cfg.cameras[1].source == "remote:edge-0");
    CHECK(is_remote_source(cfg.cameras[1].source));
    CHECK_FALSE(is_remote_source("/data/remote:x.avi"));
  }

  TEST_CASE("tracker.repair: fill by default, off or join") {
    video_dir v;
    CHECK(parse_config(one_camera, v.base()).tracker.repair == "fill");
    CHECK(parse_config(std::string(one_camera) + "tracker: {repair: off}\n", v.base()).tracker.repair == "off");
    CHECK(error_of(std::string(one_camera) + "tracker: {repair: maybe}\n", v.base()).key == "tracker.repair");
  }

} // TEST_SUITE

TEST_CASE("cards: sim and xrt entries, 'all', and the pool section") {
  video_dir v;
  std::ofstream(v.dir / "k.xclbin") << "x";
  auto cfg = parse_config(std::string(one_camera) +
                              "detector: {kind: hog}\n"
                              "cards:\n"
                              "  - {kind: cpu, name: c, threads: 3}\n"
                              "  - kind: sim\n"
                              "    name: s\n"
                              "    distribution: exponential\n"
                              "    mean_ms: 40\n"
                              "    batch_speedup: [1, 1.5]\n"
                              "    results: none\n"
                              "    faults: {fail_after: 7, recover_after_ms: 100}\n"
                              "pool: {queue_per_camera: 8, depth: 1, policy: round_robin, "
                              "card_timeout_ms: 300, probe_ms: 50}\n",
                          v.base());
  REQUIRE(cfg.cards.size() == 2);
  CHECK(cfg.cards[0].threads == 3);
  CHECK(cfg.cards[1].kind == "sim");
  CHECK(cfg.cards[1].sim.name == "s");
  CHECK(cfg.cards[1].sim.distribution == "exponential");
  CHECK(cfg.cards[1].sim.mean_ms == doctest::Approx(40));
  CHECK(cfg.cards[1].sim.batch_speedup == std::vector<double>{1, 1.5});
  CHECK(cfg.cards[1].sim.faults.fail_after == 7);
  CHECK(cfg.cards[1].sim.faults.recover_after_ms == 100);
  CHECK(cfg.pool.queue_per_camera == 8);
  CHECK(cfg.pool.depth == 1);
  CHECK(cfg.pool.policy == "round_robin");
  CHECK(cfg.pool.card_timeout_ms == 300);
  CHECK(cfg.pool.probe_ms == 50);

  auto all = parse_config(std::string(one_camera) + "cards: all\n", v.base());
  CHECK(all.cards_all);
  CHECK(all.cards.empty());

  // xrt cards need a DNN detector and an xclbin that exists.
  auto e1 = error_of(std::string(one_camera) + "detector: {kind: motion}\n"
                     "cards: [{kind: xrt, xclbin: k.xclbin}]\n", v.base());
  CHECK(e1.key == "cards[0].kind");
  CHECK(contains(e1.what, "xrt cards run DNN detectors only"));
  auto e2 = error_of(std::string(one_camera) + "cards: [{kind: xrt, xclbin: nope.xclbin}]\n", v.base());
  CHECK(e2.key == "cards[0].xclbin");
  CHECK(contains(e2.what, "no such file"));
  auto e3 = error_of(std::string(one_camera) + "cards: [{kind: tpu}]\n", v.base());
  CHECK(contains(e3.what, "known: cpu, sim, xrt"));
  auto e4 = error_of(std::string(one_camera) + "cards: [{kind: sim, distribution: pareto}]\n", v.base());
  CHECK(e4.key == "cards[0].distribution");
  auto e5 = error_of(std::string(one_camera) + "cards: [{kind: sim, batch_speedup: [1, 0]}]\n", v.base());
  CHECK(e5.key == "cards[0].batch_speedup[1]");
  auto e6 = error_of(std::string(one_camera) + "cards: [{kind: cpu, name: a}, {kind: sim, name: a}]\n", v.base());
  CHECK(contains(e6.what, "duplicate card name 'a'"));
  auto e7 = error_of(std::string(one_camera) + "pool: {policy: random}\n", v.base());
  CHECK(e7.key == "pool.policy");
  auto e8 = error_of(std::string(one_camera) + "detector: {queue: 8}\npool: {queue_per_camera: 4}\n", v.base());
  CHECK(e8.key == "pool.queue_per_camera");
  auto e9 = error_of(std::string(one_camera) + "cards: [{kind: sim, faults: {explode_after: 3}}]\n", v.base());
  CHECK(e9.key == "cards[0].faults.explode_after");
}

TEST_CASE("cards: a sim card of the weaver_dnn kernel's speed (fpga: the cycle model's frame time as its mean)") {
  video_dir v;
  const std::string model = std::string(WEAVER_SOURCE_DIR) + "/tools/data/models/nanodet.json";
  REQUIRE_MESSAGE(std::filesystem::exists(model), "run tools/setup.sh to fetch the NanoDet model");
  auto cfg = parse_config(std::string(one_camera) + "cards:\n  - kind: sim\n    name: u50\n"
                            "    fpga: {card: U50, pe: 32x64, model: " + model + ", input: [576, 448]}\n",
                          v.base());
  REQUIRE(cfg.cards.size() == 1);
  const auto& s = cfg.cards[0].sim;
  CHECK(s.fpga.card == "U50");
  CHECK(s.fpga.network == "nanodet.json 576x448");
  const auto layers = hls_cycles::layers_of_model(model, 576, 448);
  CHECK(s.fpga.layers.size() == layers.size());
  CHECK(sim_model{s}.mean_ms()
        == doctest::Approx(hls_cycles::frame_ms(layers, {32, 64}, hls_cycles::card_named("U50"))).epsilon(1e-12));

  const std::string card = std::string(one_camera) + "cards: [{kind: sim, fpga: {card: ";
  auto e1 = error_of(card + "U280, model: " + model + ", input: [576, 448]}}]\n", v.base());
  CHECK(e1.key == "cards[0].fpga.");
  CHECK(contains(e1.what, "unknown FPGA card 'U280'"));
  auto e2 = error_of(card + "U50, model: nope.json, input: [576, 448]}}]\n", v.base());
  CHECK(e2.key == "cards[0].fpga.model");
  auto e3 = error_of(card + "U50, model: " + model + ", input: 576}}]\n", v.base());
  CHECK(e3.key == "cards[0].fpga.input");
  auto e4 = error_of(card + "U50, pe: 32, model: " + model + ", input: [576, 448]}}]\n", v.base());
  CHECK(contains(e4.what, "PE array '32'"));
  auto e5 = error_of(std::string(one_camera) + "cards: [{kind: sim, mean_ms: 9, fpga: {card: U50, model: " + model
                       + ", input: [576, 448]}}]\n",
                     v.base());
  CHECK(contains(e5.what, "give one or the other"));
}

TEST_CASE("config: re-id is told the sizes of the views whose bottom edge another view continues") {
  auto cam = [](uint32_t id, std::vector<int> crop, std::string source = "v.avi") {
    camera_config c;
    c.id = id;
    c.source = std::move(source);
    c.crop = std::move(crop);
    return c;
  };
  // Two rows of two: the top row's bottom edges are continued, the bottom row's are the image's.
  std::vector<camera_config> grid{cam(1, {0, 0, 384, 288}), cam(2, {384, 0, 384, 288}), cam(3, {0, 288, 384, 288}),
                                  cam(4, {384, 288, 384, 288})};
  auto v = views_continued_below(grid);
  CHECK(v.size() == 2);
  CHECK(v[1] == std::pair<int, int>{384, 288});
  CHECK(v[2] == std::pair<int, int>{384, 288});
  // Side by side (the demo's thirds): none.
  CHECK(views_continued_below({cam(1, {0, 0, 256, 576}), cam(2, {256, 0, 256, 576})}).empty());
  // Below but of another source, or not under it, or warped: none.
  CHECK(views_continued_below({cam(1, {0, 0, 384, 288}), cam(2, {0, 288, 384, 288}, "w.avi")}).empty());
  CHECK(views_continued_below({cam(1, {0, 0, 384, 288}), cam(2, {384, 288, 384, 288})}).empty());
  auto warped = cam(1, {0, 0, 384, 288});
  warped.warp = warp_quad{};
  CHECK(views_continued_below({warped, cam(2, {0, 288, 384, 288})}).empty());
  // Overlapping the edge counts.
  CHECK(views_continued_below({cam(1, {0, 0, 384, 300}), cam(2, {0, 280, 384, 296})}).size() == 1);
}

TEST_CASE("config: gateway.stale_after_s is 10 s by default, 0 = never, at least 3 periods of mesh.live_fps") {
  video_dir v;
  auto cfg = parse_config(one_camera, v.base());
  CHECK(cfg.gateway.stale_after_s == 10);
  CHECK(parse_config(std::string(one_camera) + "gateway: {stale_after_s: 0}\n", v.base()).gateway.stale_after_s == 0);
  CHECK(parse_config(std::string(one_camera) + "gateway: {stale_after_s: 3}\nmesh: {live_fps: 1}\n", v.base())
          .gateway.stale_after_s
        == 3);
  auto e = error_of(std::string(one_camera) + "gateway: {stale_after_s: 2}\nmesh: {live_fps: 1}\n", v.base());
  CHECK(e.key == "gateway.stale_after_s");
  CHECK(contains(e.what, "3 periods of mesh.live_fps"));
  // Not written: the default stretches to 3 periods of a slow live_fps
  // (such a configuration ran before the bound existed).
  CHECK(parse_config(std::string(one_camera) + "mesh: {live_fps: 0.2}\n", v.base()).gateway.stale_after_s
        == doctest::Approx(15));
  CHECK(parse_config(std::string(one_camera) + "gateway: {port: 8080}\nmesh: {live_fps: 0.1}\n", v.base())
          .gateway.stale_after_s
        == doctest::Approx(30));
  CHECK(parse_config(std::string(one_camera) + "mesh: {live_fps: 1}\n", v.base()).gateway.stale_after_s == 10);
  CHECK(error_of(std::string(one_camera) + "gateway: {stale_after_s: -1}\n", v.base()).key == "gateway.stale_after_s");
  CHECK(error_of(std::string(one_camera) + "gateway: {stale_after_s: soon}\n", v.base()).key
        == "gateway.stale_after_s");
}

TEST_CASE("config: storage.crops is on by default, on every store; false, none or \"\" turn it off") {
  video_dir v;
  auto with = [&](const std::string& storage) {
    return parse_config(std::string(one_camera) + "storage: " + storage + "\n", v.base());
  };
  CHECK(parse_config(one_camera, v.base()).crops);
  CHECK(parse_config(one_camera, v.base()).notices.empty());
  CHECK(with("{url: \"postgresql://u@h/db\"}").crops);
  CHECK(with("{crops: true}").crops);
  CHECK_FALSE(with("{crops: false}").crops);
  CHECK_FALSE(with("{crops: none}").crops);
  CHECK_FALSE(with("{crops: \"\"}").crops);
  CHECK(with("{crops: false}").notices.empty());
  CHECK(error_of(std::string(one_camera) + "storage: {crops: [a]}\n", v.base()).key == "storage.crops");
}

TEST_CASE("config: storage.crops naming a folder (the form before crops moved into the store) still runs, told why") {
  video_dir v;
  auto cfg = parse_config(std::string(one_camera) + "storage: {crops: weaver.db.crops}\n", v.base());
  CHECK(cfg.crops); // as before: a folder meant crops on
  REQUIRE(cfg.notices.size() == 1);
  CHECK(contains(cfg.notices[0], "storage.crops"));
  CHECK(contains(cfg.notices[0], "weaver.db.crops"));
  CHECK(contains(cfg.notices[0], "kept in the store"));
}

TEST_CASE("config: token scopes: query and alerts by default (read only), zones only when listed") {
  video_dir v;
  auto cfg = parse_config(std::string(one_camera)
                            + "gateway:\n  tokens:\n"
                              "    - {name: viewer, token: viewer-token-0123456789}\n"
                              "    - {name: editor, token: editor-token-0123456789, scopes: [query, zones]}\n",
                          v.base());
  REQUIRE(cfg.gateway.tokens.size() == 2);
  CHECK(cfg.gateway.tokens[0].scopes == std::vector<std::string>{"query", "alerts"});
  CHECK(cfg.gateway.tokens[1].scopes == std::vector<std::string>{"query", "zones"});
  auto e = error_of(
    std::string(one_camera) + "gateway:\n  tokens:\n    - {name: x, token: x-token-0123456789abc, scopes: [write]}\n",
    v.base());
  CHECK(e.key == "gateway.tokens[0].scopes[0]");
  CHECK(contains(e.what, "unknown scope 'write' (known: query, alerts, zones)"));
}
