// Evidence crops beside the store: written whole, read back, deleted by age
// like the rows, cleared on reset; and the query role's `evidence` answer.
#include <doctest/doctest.h>

#include <unistd.h>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "actors/query/query_actor.hpp"
#include "actors/storage/crop_store.hpp"
#include "actors/storage/store.hpp"
#include "base/base64.hpp"

using namespace weaver;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  std::string path;
  temp_dir() {
    path = (fs::temp_directory_path()
            / ("weaver-crops-" + std::to_string(::getpid()) + "-" + std::to_string(reinterpret_cast<uintptr_t>(this))))
             .string();
    fs::remove_all(path);
  }
  ~temp_dir() { fs::remove_all(path); }
};

} // namespace

TEST_CASE("crop_store: put, get, replace; nothing for unknown tracks") {
  temp_dir d;
  crop_store s{d.path + "/crops"};
  CHECK_FALSE(s.get(1, 7));
  s.put(1, 7, "jpeg-one");
  s.put(2, 7, "jpeg-two");
  CHECK(s.get(1, 7) == std::string{"jpeg-one"});
  CHECK(s.get(2, 7) == std::string{"jpeg-two"});
  s.put(1, 7, "jpeg-again");
  CHECK(s.get(1, 7) == std::string{"jpeg-again"});
  CHECK_FALSE(fs::exists(d.path + "/crops/1/7.jpg.tmp"));
  CHECK_THROWS(s.put(1, 8, ""));
  CHECK_THROWS(s.put(1, 8, std::string(crop_store::max_bytes + 1, 'x')));
  CHECK_FALSE(s.get(1, 8));
  CHECK_THROWS_AS(crop_store{""}, std::invalid_argument);
}

TEST_CASE("crop_store: retention deletes the crops older than the cutoff, reset deletes all") {
  temp_dir d;
  crop_store s{d.path};
  s.put(1, 1, "old");
  s.put(1, 2, "new");
  // Age one file by its modification time, as the clock would.
  fs::last_write_time(d.path + "/1/1.jpg", fs::file_time_type::clock::now() - std::chrono::hours{48});
  CHECK(s.delete_older_than(std::chrono::system_clock::now() - std::chrono::hours{24}) == 1);
  CHECK_FALSE(s.get(1, 1));
  CHECK(s.get(1, 2));
  CHECK(s.delete_older_than(std::chrono::system_clock::now() - std::chrono::hours{24}) == 0);
  s.clear();
  CHECK_FALSE(s.get(1, 2));
  CHECK(s.delete_older_than(std::chrono::system_clock::now()) == 0); // no folder: nothing, no error
}

TEST_CASE("query evidence: a track's crop as base64, null without one, parameters checked") {
  temp_dir d;
  crop_store{d.path}.put(3, 5, std::string("\xff\xd8\xff", 3));
  auto db = store::open(":memory:");
  query_settings qs;
  qs.crops_dir = d.path;
  auto ask = [&](std::vector<std::pair<std::string, std::string>> params) {
    return answer_query(db->db(), query_request{1, "evidence", std::move(params)}, qs);
  };
  auto r = ask({{"camera", "3"}, {"track", "5"}});
  REQUIRE(r.ok);
  auto j = nlohmann::json::parse(r.json);
  auto bytes = from_base64(j["jpeg"].get<std::string>());
  REQUIRE(bytes);
  CHECK(std::string(bytes->begin(), bytes->end()) == std::string("\xff\xd8\xff", 3));
  r = ask({{"camera", "3"}, {"track", "6"}});
  REQUIRE(r.ok);
  CHECK(nlohmann::json::parse(r.json)["jpeg"].is_null());
  CHECK(ask({{"camera", "3"}}).bad_request);
  CHECK(ask({{"camera", "x"}, {"track", "5"}}).bad_request);
  CHECK(ask({{"camera", "3"}, {"track", "-1"}}).bad_request);
  qs.crops_dir.clear(); // no crops configured
  r = ask({{"camera", "3"}, {"track", "5"}});
  REQUIRE(r.ok);
  CHECK(nlohmann::json::parse(r.json)["jpeg"].is_null());
}

TEST_CASE("query trajectory: each presence names the track behind it (its evidence crop), null without one") {
  auto db = store::open(":memory:");
  presence_batch b;
  b.rows = {{7, 1, 1000, 2000}, {7, 2, 3000, 4000}};
  tracklet t;
  t.camera_id = 1;
  t.track_id = 11;
  t.person_id = 7;
  t.enter_ms = 1000;
  t.exit_ms = 2000;
  b.tracklets = {t};
  db->write(b);
  auto r = answer_query(db->db(), query_request{1, "trajectory", {{"person", "7"}}}, query_settings{});
  REQUIRE(r.ok);
  auto p = nlohmann::json::parse(r.json)["presences"];
  REQUIRE(p.size() == 2);
  CHECK(p[0]["camera"] == 1);
  CHECK(p[0]["track"] == 11);
  CHECK(p[1]["track"].is_null());
}
