// Live frames beside the store: written whole, replaced, read back only
// when the file still holds a believable frame (it is read as untrusted),
// cleared on reset; the query role's `live` answer; and the storage actor
// keeping only valid frames of configured cameras.
#include <doctest/doctest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "actors/query/query_actor.hpp"
#include "actors/storage/live_store.hpp"
#include "actors/storage/storage_actor.hpp"
#include "base/base64.hpp"
#include "base/metrics.hpp"

using namespace weaver;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  std::string path;
  temp_dir() {
    path = (fs::temp_directory_path()
            / ("weaver-live-" + std::to_string(::getpid()) + "-" + std::to_string(reinterpret_cast<uintptr_t>(this))))
             .string();
    fs::remove_all(path);
  }
  ~temp_dir() { fs::remove_all(path); }
};

live_frame sample(uint32_t camera, uint64_t seq) {
  std::vector<uchar> jpeg;
  cv::imencode(".jpg", cv::Mat(48, 64, CV_8UC3, cv::Scalar(10, 200, static_cast<double>(seq % 256))), jpeg);
  live_frame f;
  f.camera_id = camera;
  f.seq = seq;
  f.time_ms = 1'700'000'000'000 + static_cast<timestamp_ms>(seq) * 40;
  f.width = 128;
  f.height = 96;
  f.boxes = {{7, {10, 20, 30, 40}, 0.5f}};
  f.jpeg.assign(jpeg.begin(), jpeg.end());
  return f;
}

} // namespace

TEST_CASE("live_store: put, get, replace; nothing for other cameras") {
  temp_dir d;
  live_store s{d.path + "/live"};
  CHECK_FALSE(s.get(1));
  s.put(sample(1, 5));
  auto got = s.get(1);
  REQUIRE(got);
  CHECK(got->seq == 5);
  CHECK(got->time_ms == sample(1, 5).time_ms);
  CHECK(got->width == 128);
  REQUIRE(got->boxes.size() == 1);
  CHECK(got->boxes[0].bbox == box{10, 20, 30, 40});
  CHECK(got->jpeg == sample(1, 5).jpeg);
  s.put(sample(1, 6));
  CHECK(s.get(1)->seq == 6);
  CHECK_FALSE(s.get(2));
  for (auto& e : fs::directory_iterator(d.path + "/live")) CHECK(e.path().extension() == ".json"); // no .tmp left
  s.clear();
  CHECK_FALSE(s.get(1));
  CHECK_THROWS_AS(live_store{""}, std::invalid_argument);
}

TEST_CASE("live_store: a damaged or forged file is not served") {
  temp_dir d;
  live_store s{d.path};
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream{d.path + "/" + name, std::ios::binary} << text;
  };
  s.put(sample(1, 5));
  fs::copy_file(d.path + "/1.json", d.path + "/2.json"); // camera 1's picture under camera 2
  CHECK_FALSE(s.get(2));
  write("3.json", "{\"camera\": 3, \"seq\": 1"); // cut short
  CHECK_FALSE(s.get(3));
  auto j = nlohmann::json::parse(std::ifstream{d.path + "/1.json"});
  j["camera"] = 4;
  j["jpeg"] = to_base64(std::vector<int8_t>{'G', 'I', 'F', '8', '9', 'a'}); // not a JPEG
  write("4.json", j.dump());
  CHECK_FALSE(s.get(4));
  j = nlohmann::json::parse(std::ifstream{d.path + "/1.json"});
  j["camera"] = 5;
  j["boxes"] = "many"; // wrong type
  write("5.json", j.dump());
  CHECK_FALSE(s.get(5));
  write("6.json", std::string(4 << 20, ' ')); // larger than any live frame's file
  CHECK_FALSE(s.get(6));
  CHECK(s.get(1)); // the good one still is
}

TEST_CASE("query live: a camera's live frame with its boxes and JPEG, null without one") {
  temp_dir d;
  live_store{live_store::beside(d.path)}.put(sample(3, 9));
  auto db = store::open(":memory:");
  query_settings qs;
  qs.crops_dir = d.path;
  auto ask = [&](std::vector<std::pair<std::string, std::string>> params) {
    return answer_query(db->db(), query_request{1, "live", std::move(params)}, qs);
  };
  auto r = ask({{"camera", "3"}});
  REQUIRE(r.ok);
  auto j = nlohmann::json::parse(r.json);
  CHECK(j["seq"] == 9);
  CHECK(j["width"] == 128);
  CHECK(j["boxes"].size() == 1);
  CHECK(j["boxes"][0]["track"] == 7);
  auto bytes = bytes_from_base64(j["jpeg"].get<std::string>());
  REQUIRE(bytes);
  CHECK(*bytes == sample(3, 9).jpeg);
  r = ask({{"camera", "4"}});
  REQUIRE(r.ok);
  CHECK(nlohmann::json::parse(r.json)["jpeg"].is_null());
  CHECK(ask({{"camera", "x"}}).bad_request);
  CHECK(ask({}).bad_request);
}

TEST_CASE("storage actor: keeps valid live frames of configured cameras, refuses and counts the others") {
  temp_dir d;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<store> db = store::open(":memory:");
  storage_settings ss;
  ss.live = std::make_shared<live_store>(d.path);
  ss.cameras = {1, 2};
  auto actor = sys.spawn(storage_actor_impl, db, std::make_shared<run_stats>(), ss);
  caf::scoped_actor self{sys};
  auto send = [&](live_frame f) {
    presence_batch b;
    b.live = std::move(f);
    bool acked = false;
    self->request(actor, caf::infinite, b).receive([&](caf::ok_atom) { acked = true; }, [&](caf::error&) {});
    return acked;
  };
  const double camera0 = metrics::global().storage_errors("invalid_live_camera").Value();
  const double format0 = metrics::global().storage_errors("invalid_live_format").Value();
  CHECK(send(sample(1, 5)));
  CHECK(ss.live->get(1));
  CHECK(send(sample(9, 5))); // not a configured camera: acked, not kept
  CHECK_FALSE(ss.live->get(9));
  CHECK(metrics::global().storage_errors("invalid_live_camera").Value() == camera0 + 1);
  auto bad = sample(2, 5);
  bad.jpeg[0] = 'X';
  CHECK(send(bad));
  CHECK_FALSE(ss.live->get(2));
  CHECK(metrics::global().storage_errors("invalid_live_format").Value() == format0 + 1);
  self->send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST_CASE("live frame JSON: one form for the file and the query answer, read back as the camera asked for") {
  const auto f = sample(3, 9);
  const auto j = live_frame_to_json(f);
  auto back = live_frame_from_json(j, 3);
  REQUIRE(back);
  CHECK(back->seq == 9);
  CHECK(back->time_ms == f.time_ms);
  CHECK(back->width == 128);
  REQUIRE(back->boxes.size() == 1);
  CHECK(back->boxes[0].track_id == 7);
  CHECK(back->jpeg == f.jpeg);
  CHECK_FALSE(live_frame_from_json(j, 4)); // another camera's frame
  auto no_camera = j;
  no_camera.erase("camera");
  CHECK(live_frame_from_json(no_camera, 4)); // the asker's camera then
  auto bad = j;
  bad["seq"] = "nine";
  CHECK_FALSE(live_frame_from_json(bad, 3));
  bad = j;
  bad["jpeg"] = "not base64 !";
  CHECK_FALSE(live_frame_from_json(bad, 3));
  CHECK_FALSE(live_frame_from_json(nlohmann::json::array(), 3));
}
