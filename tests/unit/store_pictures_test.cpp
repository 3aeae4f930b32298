// Pictures in the store (actors/storage/pictures), on SQLite and PostgreSQL
// alike: evidence crops and live frames kept as blobs, checked on the way in
// and again on the way out (a forged row is not served), replaced, deleted
// by retention with the rows and by a reset; the query role's `evidence`
// and `live` answers; the storage actor keeping only valid frames of
// configured cameras; and the live frame's JSON form.
#include <doctest/doctest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "actors/query/query_actor.hpp"
#include "actors/storage/pictures.hpp"
#include "actors/storage/storage_actor.hpp"
#include "actors/storage/store.hpp"
#include "base/base64.hpp"
#include "base/metrics.hpp"
#include "test_databases.hpp"

using namespace weaver;

namespace {

constexpr timestamp_ms t0 = 1'700'000'000'000;

std::string jpeg_of(int w, int h, double shade) {
  std::vector<uchar> bytes;
  cv::imencode(".jpg", cv::Mat(h, w, CV_8UC3, cv::Scalar(10, 200, shade)), bytes);
  return {bytes.begin(), bytes.end()};
}

live_frame sample(uint32_t camera, uint64_t seq) {
  live_frame f;
  f.camera_id = camera;
  f.seq = seq;
  f.time_ms = t0 + static_cast<timestamp_ms>(seq) * 40;
  f.width = 128;
  f.height = 96;
  f.boxes = {{7, {10, 20, 30, 40}, 0.5f, std::nullopt}};
  f.jpeg = jpeg_of(64, 48, static_cast<double>(seq % 256));
  return f;
}

evidence_crop crop_of(uint32_t camera, uint64_t track, timestamp_ms t) {
  return {camera, track, t, jpeg_of(32, 64, static_cast<double>(track % 256))};
}

} // namespace

TEST_CASE("pictures: a blob keeps every byte (NULs, not UTF-8) on both engines") {
  for (auto d : test_backends()) {
    CAPTURE(sql::dialect_name(d));
    auto db = fresh_database(d);
    db->exec(d == sql::dialect::sqlite ? "CREATE TABLE b(x BLOB)" : "CREATE TABLE b(x BYTEA)", "test");
    std::string bytes;
    for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
    bytes += std::string("\0\0\xff", 3);
    db->query("INSERT INTO b(x) VALUES(?1)", {sql::blob{bytes}}, "test");
    auto back = db->scalar("SELECT x FROM b", {}, "test");
    REQUIRE(std::holds_alternative<sql::blob>(back));
    CHECK(sql::as_bytes(back) == bytes);
  }
}

TEST_CASE("pictures: evidence crops kept, replaced, checked on the way in and out") {
  for (auto d : test_backends()) {
    CAPTURE(sql::dialect_name(d));
    store st{fresh_database(d)};
    auto& db = st.db();
    CHECK_FALSE(pictures::crop(db, 1, 7));
    const auto a = crop_of(1, 7, t0), b = crop_of(2, 7, t0);
    pictures::put_crop(db, a);
    pictures::put_crop(db, b);
    CHECK(pictures::crop(db, 1, 7) == a.jpeg);
    CHECK(pictures::crop(db, 2, 7) == b.jpeg);
    auto again = crop_of(1, 7, t0 + 5);
    again.jpeg = jpeg_of(40, 80, 99);
    pictures::put_crop(db, again);
    CHECK(pictures::crop(db, 1, 7) == again.jpeg);
    // Refused on the way in: empty, too large, not a JPEG.
    auto bad = crop_of(1, 8, t0);
    bad.jpeg.clear();
    CHECK_THROWS_AS(pictures::put_crop(db, bad), std::invalid_argument);
    bad.jpeg = std::string(max_crop_bytes + 1, '\xff');
    CHECK_THROWS_AS(pictures::put_crop(db, bad), std::invalid_argument);
    bad.jpeg = "GIF89a";
    CHECK_THROWS_AS(pictures::put_crop(db, bad), std::invalid_argument);
    CHECK_FALSE(pictures::crop(db, 1, 8));
    // A row written behind its back is read as untrusted.
    db.query("INSERT INTO evidence_crops(camera_id, track_id, time_ms, jpeg) VALUES(1, 9, ?1, ?2)",
             {t0, sql::blob{"GIF89a"}}, "test");
    CHECK_FALSE(pictures::crop(db, 1, 9));
  }
}

TEST_CASE("pictures: live frames, one per camera, the latest kept (a restarted camera too); forged rows not served") {
  for (auto d : test_backends()) {
    CAPTURE(sql::dialect_name(d));
    store st{fresh_database(d)};
    auto& db = st.db();
    CHECK_FALSE(pictures::live(db, 1));
    pictures::put_live(db, sample(1, 5), t0 + 100);
    auto got = pictures::live(db, 1);
    REQUIRE(got);
    CHECK(got->kept_ms == t0 + 100);
    CHECK(got->frame.camera_id == 1);
    CHECK(got->frame.seq == 5);
    CHECK(got->frame.time_ms == sample(1, 5).time_ms);
    CHECK(got->frame.width == 128);
    CHECK(got->frame.height == 96);
    REQUIRE(got->frame.boxes.size() == 1);
    CHECK(got->frame.boxes[0].track_id == 7);
    CHECK(got->frame.boxes[0].bbox == box{10, 20, 30, 40});
    CHECK(got->frame.jpeg == sample(1, 5).jpeg);
    pictures::put_live(db, sample(1, 6), t0 + 200);
    CHECK(pictures::live(db, 1)->frame.seq == 6);
    // The camera restarted (its frames count from 0 again): its new
    // picture replaces the old run's, which would otherwise stay up.
    pictures::put_live(db, sample(1, 0), t0 + 300);
    CHECK(pictures::live(db, 1)->frame.seq == 0);
    CHECK(pictures::live(db, 1)->kept_ms == t0 + 300);
    CHECK_FALSE(pictures::live(db, 2));
    auto bad = sample(2, 1);
    bad.jpeg[0] = 'X';
    CHECK_THROWS_AS(pictures::put_live(db, bad, t0), std::invalid_argument);
    bad = sample(2, 1);
    bad.width = 0;
    CHECK_THROWS_AS(pictures::put_live(db, bad, t0), std::invalid_argument);
    CHECK_FALSE(pictures::live(db, 2));
    // Rows written behind its back: each is refused on the way out.
    const std::string good = sample(3, 1).jpeg;
    auto forge = [&](int64_t camera, int64_t width, const std::string& boxes, const std::string& jpeg) {
      db.query(
        "INSERT INTO live_frames(camera_id, seq, time_ms, width, height, boxes, jpeg, kept_ms) "
        "VALUES(?1, 1, ?2, ?3, 96, ?4, ?5, ?2)",
        {camera, t0, width, boxes, sql::blob{jpeg}}, "test");
    };
    forge(3, 128, "[]", good);
    CHECK(pictures::live(db, 3)); // the control: a well-formed row is served
    forge(4, 128, "[]", "GIF89a");
    CHECK_FALSE(pictures::live(db, 4));
    forge(5, 128, "not json", good);
    CHECK_FALSE(pictures::live(db, 5));
    forge(6, 128, R"([{"track": "seven"}])", good);
    CHECK_FALSE(pictures::live(db, 6));
    forge(7, int64_t{1} << 33, "[]", good); // would wrap into range as an int
    CHECK_FALSE(pictures::live(db, 7));
  }
}

TEST_CASE("pictures: retention deletes crops and live frames with the rows; reset deletes all") {
  for (auto d : test_backends()) {
    CAPTURE(sql::dialect_name(d));
    store st{fresh_database(d)};
    auto& db = st.db();
    pictures::put_crop(db, crop_of(1, 1, t0));
    pictures::put_crop(db, crop_of(1, 2, t0 + 10'000));
    pictures::put_live(db, sample(1, 1), t0); // time t0 + 40
    pictures::put_live(db, sample(2, 1000), t0); // time t0 + 40'000
    presence_batch b;
    b.rows = {{100, 1, t0, t0 + 1000}, {100, 1, t0 + 20'000, t0 + 30'000}};
    st.write(b);
    // The old presence row, the old crop and camera 1's live frame go.
    CHECK(st.delete_older_than(t0 + 5'000) == 3);
    CHECK_FALSE(pictures::crop(db, 1, 1));
    CHECK(pictures::crop(db, 1, 2));
    CHECK_FALSE(pictures::live(db, 1));
    CHECK(pictures::live(db, 2));
    CHECK(st.presence_count() == 1);
    st.clear();
    CHECK_FALSE(pictures::crop(db, 1, 2));
    CHECK_FALSE(pictures::live(db, 2));
  }
}

TEST_CASE("query evidence and live: from the store on both engines; null without one; parameters checked") {
  for (auto d : test_backends()) {
    CAPTURE(sql::dialect_name(d));
    store st{fresh_database(d)};
    auto& db = st.db();
    const auto c = crop_of(3, 5, t0);
    pictures::put_crop(db, c);
    pictures::put_live(db, sample(3, 9), t0 + 777);
    auto ask = [&](const char* name, std::vector<std::pair<std::string, std::string>> params) {
      return answer_query(db, query_request{1, name, std::move(params)}, query_settings{});
    };
    auto r = ask("evidence", {{"camera", "3"}, {"track", "5"}});
    REQUIRE(r.ok);
    auto bytes = bytes_from_base64(nlohmann::json::parse(r.json)["jpeg"].get<std::string>());
    REQUIRE(bytes);
    CHECK(*bytes == c.jpeg);
    r = ask("evidence", {{"camera", "3"}, {"track", "6"}});
    REQUIRE(r.ok);
    CHECK(nlohmann::json::parse(r.json)["jpeg"].is_null());
    CHECK(ask("evidence", {{"camera", "3"}}).bad_request);
    CHECK(ask("evidence", {{"camera", "x"}, {"track", "5"}}).bad_request);
    CHECK(ask("evidence", {{"camera", "3"}, {"track", "-1"}}).bad_request);

    r = ask("live", {{"camera", "3"}});
    REQUIRE(r.ok);
    auto j = nlohmann::json::parse(r.json);
    CHECK(j["seq"] == 9);
    CHECK(j["width"] == 128);
    CHECK(j["kept_ms"] == t0 + 777);
    REQUIRE(j["boxes"].size() == 1);
    CHECK(j["boxes"][0]["track"] == 7);
    bytes = bytes_from_base64(j["jpeg"].get<std::string>());
    REQUIRE(bytes);
    CHECK(*bytes == sample(3, 9).jpeg);
    r = ask("live", {{"camera", "4"}});
    REQUIRE(r.ok);
    CHECK(nlohmann::json::parse(r.json)["jpeg"].is_null());
    CHECK(ask("live", {{"camera", "x"}}).bad_request);
    CHECK(ask("live", {}).bad_request);
  }
}

TEST_CASE("storage actor: keeps crops and valid live frames of configured cameras in the store, counts the others") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<store> db = store::open(":memory:");
  storage_settings ss;
  ss.cameras = {1, 2};
  auto actor = sys.spawn(storage_actor_impl, db, std::make_shared<run_stats>(), ss);
  caf::scoped_actor self{sys};
  auto send = [&](presence_batch b) {
    bool acked = false;
    self->request(actor, caf::infinite, b).receive([&](caf::ok_atom) { acked = true; }, [&](caf::error&) {});
    return acked;
  };
  auto live = [&](live_frame f) {
    presence_batch b;
    b.live = std::move(f);
    return send(std::move(b));
  };
  const double camera0 = metrics::global().storage_errors("invalid_live_camera").Value();
  const double format0 = metrics::global().storage_errors("invalid_live_format").Value();
  CHECK(live(sample(1, 5)));
  CHECK(live(sample(9, 5))); // not a configured camera: acked, not kept
  CHECK(metrics::global().storage_errors("invalid_live_camera").Value() == camera0 + 1);
  auto bad = sample(2, 5);
  bad.jpeg[0] = 'X';
  CHECK(live(bad));
  CHECK(metrics::global().storage_errors("invalid_live_format").Value() == format0 + 1);
  presence_batch b;
  b.crops = {crop_of(1, 4, t0)};
  CHECK(send(b));
  // Read after the acknowledgements: the actor is done with the store.
  CHECK(pictures::live(db->db(), 1));
  CHECK_FALSE(pictures::live(db->db(), 9));
  CHECK_FALSE(pictures::live(db->db(), 2));
  CHECK(pictures::crop(db->db(), 1, 4) == crop_of(1, 4, t0).jpeg);
  self->send_exit(actor, caf::exit_reason::user_shutdown);
}

TEST_CASE("live frame JSON: one form for the query answer, read back as the camera asked for") {
  auto f = sample(3, 9);
  f.boxes.push_back({8, {50, 20, 30, 40}, 0.75f, uint64_t{12}}); // named by re-id in another process
  const auto j = live_frame_to_json(f);
  CHECK_FALSE(j.contains("kept_ms"));
  CHECK(live_frame_to_json(f, 42)["kept_ms"] == 42);
  auto back = live_frame_from_json(j, 3);
  REQUIRE(back);
  CHECK(back->seq == 9);
  CHECK(back->time_ms == f.time_ms);
  CHECK(back->width == 128);
  REQUIRE(back->boxes.size() == 2);
  CHECK(back->boxes[0].track_id == 7);
  CHECK_FALSE(back->boxes[0].person);
  REQUIRE(back->boxes[1].person);
  CHECK(*back->boxes[1].person == 12);
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
  bad = j;
  bad["boxes"] = "many";
  CHECK_FALSE(live_frame_from_json(bad, 3));
  CHECK_FALSE(live_frame_from_json(nlohmann::json::array(), 3));
}
