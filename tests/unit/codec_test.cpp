// Unit tests of the mesh codec (schemas/codec): round trips of every message
// kind, semantic rejections, and robustness of decode against truncated,
// random and mutated bytes (run under ASan/UBSan too).
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <flatbuffers/flatbuffers.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <fcntl.h>
#include <unistd.h>

#include "base/types.hpp"
#include "schemas/codec.hpp"
#include "schemas/compact.hpp"
#include "schemas/envelope_generated.h"

namespace {

namespace codec = weaver::codec;
namespace fb = weaver::v1;
using bytes = std::vector<uint8_t>;

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::optional<codec::message> dec(const bytes& b, std::string* err = nullptr) {
  return codec::decode(b.data(), b.size(), err);
}

// A smooth picture (JPEG-friendly) of the given size.
cv::Mat picture(int w, int h) {
  cv::Mat m(h, w, CV_8UC3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(x * 255 / w), uchar(y * 255 / h), uchar((x + y) * 127 / (w + h)));
  cv::circle(m, {w / 2, h / 2}, std::min(w, h) / 4, {30, 200, 90}, -1);
  return m;
}

cv::Mat noise(int w, int h, int type = CV_8UC3) {
  cv::Mat m(h, w, type);
  cv::randu(m, 0, 256);
  return m;
}

weaver::detection_batch sample_detections() {
  weaver::detection_batch d;
  d.camera_id = 7;
  d.seq = 123456789012ULL;
  d.capture_ms = 1700000000123;
  d.width = 768;
  d.height = 576;
  for (int i = 0; i < 3; ++i) {
    weaver::detection x;
    x.bbox = {10.5f * i, 20.25f, 30.f + i, 60.f};
    x.score = 0.5f + 0.1f * i;
    x.class_id = i;
    if (i != 1)
      for (int k = 0; k < 128; ++k) x.feature.push_back(std::sin(float(k + i)));
    d.detections.push_back(x);
  }
  return d;
}

weaver::track_batch sample_tracks() {
  weaver::track_batch t;
  t.camera_id = 2;
  t.seq = 99;
  t.time_ms = -5; // times are plain integers, negative ones included
  const weaver::track_state states[] = {weaver::track_state::started, weaver::track_state::updated,
                                        weaver::track_state::ended};
  for (int i = 0; i < 3; ++i) {
    weaver::track_event e;
    e.camera_id = 2;
    e.track_id = 1000 + i;
    e.state = states[i];
    e.time_ms = 1700000000000 + i;
    e.frame_seq = 99;
    e.bbox = {1, 2, 3, 4 + float(i)};
    e.score = 0.25f * i;
    e.feature.assign(size_t(16 * i), 0.125f * i);
    t.events.push_back(e);
  }
  t.zone_visits = {{2, 1000, "till", 1700000000000, -1}, {2, 1001, "door \xc3\xa9", 5, 9}};
  return t;
}

weaver::presence_batch sample_presence() {
  weaver::presence_batch p;
  p.identities.push_back({1, 11, 501, 0.75f});
  p.identities.push_back({4294967295u, 18446744073709551615ULL, 0, 1.f});
  p.rows.push_back({501, 1, 1700000000000, 1700000060000});
  p.rows.push_back({502, 3, -1, 0});
  return p;
}

weaver::query_request sample_query() {
  weaver::query_request q;
  q.id = 77;
  q.name = "transitions";
  q.params = {
    {"from", "1"}, {"to", "2"}, {"max_transit_s", "600"}, {"", ""}, {std::string("a\0b", 3), "\xc3\xa9t\xc3\xa9"}};
  return q;
}

weaver::frame sample_frame(int w, int h) {
  weaver::frame f;
  f.camera_id = 3;
  f.seq = 41;
  f.capture_ms = 1700000000040;
  f.image = picture(w, h);
  return f;
}

// Valid messages of every kind (kept small: the robustness tests decode each
// prefix and thousands of mutations of them).
std::vector<bytes> samples() {
  std::vector<bytes> out;
  cv::Mat big = noise(48, 40);
  weaver::frame roi = sample_frame(1, 1);
  roi.image = big(cv::Rect(5, 3, 24, 18));
  out.push_back(codec::encode(roi, "camera-3", 1));
  out.push_back(codec::encode(sample_frame(32, 24), "camera-3", 2, true));
  weaver::frame gray = sample_frame(1, 1);
  gray.image = noise(9, 7, CV_8UC1);
  out.push_back(codec::encode(gray, "camera-4", 3));
  out.push_back(codec::encode(weaver::frame{}, "camera-5", 4));
  out.push_back(codec::encode(sample_detections(), "detector", 5));
  out.push_back(codec::encode(weaver::detection_batch{}, "detector", 6));
  out.push_back(codec::encode(sample_tracks(), "tracker", 7));
  out.push_back(codec::encode(sample_presence(), "reid", 8));
  out.push_back(codec::encode(sample_query(), "gateway", 9));
  out.push_back(codec::encode(weaver::query_response{77, true, "", "{\"rows\":[1,2,3]}"}, "query", 10));
  out.push_back(codec::encode(weaver::query_response{78, false, "no such query", ""}, "query", 11));
  out.push_back(codec::encode(weaver::heartbeat{"storage", 1700000000000, true}, "storage-0", 12));
  out.push_back(codec::encode(weaver::end_of_stream{3, 1500}, "camera-3", 13));
  return out;
}

// Touches every field of a decoded message and checks the invariants decode
// promises, then re-encodes it: a message that decoded must be usable.
void use(const codec::message& m) {
  REQUIRE(m.body.index() == static_cast<size_t>(m.k));
  // A mutated version may name an older one this build still reads (v1 and
  // v2 messages without the later fields decode as they were written).
  CHECK(m.version >= codec::oldest_schema_version);
  CHECK(m.version <= codec::schema_version);
  volatile size_t sink = m.sender.size();
  auto finite_box = [](const weaver::box& b) {
    return std::isfinite(b.x) && std::isfinite(b.y) && std::isfinite(b.w) && std::isfinite(b.h);
  };
  bytes again;
  switch (m.k) {
    case codec::kind::frame: {
      const auto& f = std::get<weaver::frame>(m.body);
      if (!f.image.empty()) {
        REQUIRE(f.image.type() == CV_8UC3);
        REQUIRE(f.image.isContinuous());
        REQUIRE(f.image.cols <= codec::max_image_side);
        REQUIRE(f.image.rows <= codec::max_image_side);
        sink = sink + size_t(cv::sum(f.image)[0]);
      }
      again = codec::encode(f, m.sender, m.sequence);
      break;
    }
    case codec::kind::detections: {
      const auto& d = std::get<weaver::detection_batch>(m.body);
      REQUIRE(d.width >= 0);
      REQUIRE(d.height >= 0);
      for (const auto& x : d.detections) {
        REQUIRE(finite_box(x.bbox));
        REQUIRE(std::isfinite(x.score));
        REQUIRE(x.feature.size() <= codec::max_feature_size);
        for (float v : x.feature) REQUIRE(std::isfinite(v));
        sink = sink + size_t(weaver::iou(x.bbox, x.bbox) >= 0);
      }
      again = codec::encode(d, m.sender, m.sequence);
      break;
    }
    case codec::kind::tracks: {
      const auto& t = std::get<weaver::track_batch>(m.body);
      for (const auto& e : t.events) {
        REQUIRE(static_cast<int>(e.state) <= 2);
        REQUIRE(finite_box(e.bbox));
        REQUIRE(std::isfinite(e.score));
        for (float v : e.feature) REQUIRE(std::isfinite(v));
      }
      again = codec::encode(t, m.sender, m.sequence);
      break;
    }
    case codec::kind::presence: {
      const auto& p = std::get<weaver::presence_batch>(m.body);
      for (const auto& i : p.identities) REQUIRE(std::isfinite(i.confidence));
      sink = sink + p.rows.size();
      again = codec::encode(p, m.sender, m.sequence);
      break;
    }
    case codec::kind::query_request: {
      const auto& q = std::get<weaver::query_request>(m.body);
      for (const auto& [k, v] : q.params) sink = sink + k.size() + v.size();
      again = codec::encode(q, m.sender, m.sequence);
      break;
    }
    case codec::kind::query_response: {
      const auto& r = std::get<weaver::query_response>(m.body);
      sink = sink + r.error.size() + r.json.size();
      again = codec::encode(r, m.sender, m.sequence);
      break;
    }
    case codec::kind::heartbeat:
      again = codec::encode(std::get<weaver::heartbeat>(m.body), m.sender, m.sequence);
      break;
    case codec::kind::end_of_stream:
      again = codec::encode(std::get<weaver::end_of_stream>(m.body), m.sender, m.sequence);
      break;
  }
  (void)sink;
  std::string err;
  auto back = dec(again, &err);
  REQUIRE_MESSAGE(back.has_value(), "re-encoded message fails: " << err);
  CHECK(back->k == m.k);
}

// A hand-built envelope, for inputs our encoders never write.
bytes build(const std::function<flatbuffers::Offset<void>(flatbuffers::FlatBufferBuilder&)>& payload, fb::Payload type,
            uint16_t version = codec::schema_version, bool identifier = true) {
  flatbuffers::FlatBufferBuilder b;
  auto p = payload ? payload(b) : flatbuffers::Offset<void>(0);
  auto sender = b.CreateString("test");
  auto env = fb::CreateEnvelope(b, version, sender, 1, 2, type, p);
  if (identifier)
    fb::FinishEnvelopeBuffer(b, env);
  else
    b.Finish(env);
  return bytes(b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize());
}

bytes frame_msg(int w, int h, fb::PixelFormat format, const bytes& pixels) {
  return build(
    [&](flatbuffers::FlatBufferBuilder& b) {
      auto px = b.CreateVector(pixels);
      return fb::CreateFrame(b, 1, 2, 3, w, h, format, px).Union();
    },
    fb::Payload::Frame);
}

bytes one_detection(weaver::box bx, float score, std::vector<float> feature) {
  return build(
    [&](flatbuffers::FlatBufferBuilder& b) {
      auto feat = b.CreateVector(feature);
      fb::Box box(bx.x, bx.y, bx.w, bx.h);
      std::vector<flatbuffers::Offset<fb::Detection>> v{fb::CreateDetection(b, &box, score, 0, feat)};
      auto vec = b.CreateVector(v);
      return fb::CreateDetectionBatch(b, 1, 2, 3, 640, 480, vec).Union();
    },
    fb::Payload::DetectionBatch);
}

// decode must fail, with an error mentioning `what`.
void rejects(const bytes& b, const std::string& what) {
  std::string err;
  auto m = dec(b, &err);
  CHECK_FALSE(m.has_value());
  CHECK_MESSAGE(err.find(what) != std::string::npos, "error \"" << err << "\" lacks \"" << what << "\"");
}

// libjpeg reports recoverable corruption ("Corrupt JPEG data: ...") on
// stderr; the mutation test provokes thousands of those. Sanitizer builds
// keep stderr: that is where their reports go.
#if defined(__SANITIZE_ADDRESS__)
#define WEAVER_CODEC_TEST_KEEP_STDERR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEAVER_CODEC_TEST_KEEP_STDERR 1
#endif
#endif
class quiet_stderr {
public:
#ifdef WEAVER_CODEC_TEST_KEEP_STDERR
  quiet_stderr() : saved_(-1) {}
#else
  quiet_stderr() : saved_(dup(2)) {
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
      dup2(null, 2);
      close(null);
    }
  }
#endif
  ~quiet_stderr() {
    if (saved_ >= 0) {
      dup2(saved_, 2);
      close(saved_);
    }
  }
  quiet_stderr(const quiet_stderr&) = delete;
  quiet_stderr& operator=(const quiet_stderr&) = delete;

private:
  int saved_;
};

} // namespace

TEST_CASE("codec: kind names") {
  CHECK(std::string(codec::to_string(codec::kind::frame)) == "frame");
  CHECK(std::string(codec::to_string(codec::kind::detections)) == "detections");
  CHECK(std::string(codec::to_string(codec::kind::tracks)) == "tracks");
  CHECK(std::string(codec::to_string(codec::kind::presence)) == "presence");
  CHECK(std::string(codec::to_string(codec::kind::query_request)) == "query_request");
  CHECK(std::string(codec::to_string(codec::kind::query_response)) == "query_response");
  CHECK(std::string(codec::to_string(codec::kind::heartbeat)) == "heartbeat");
  CHECK(std::string(codec::to_string(codec::kind::end_of_stream)) == "end_of_stream");
  CHECK(std::string(codec::to_string(static_cast<codec::kind>(200))) == "unknown");
}

TEST_CASE("codec: raw frame from a ROI view round-trips exactly") {
  cv::Mat big = noise(160, 120);
  weaver::frame f;
  f.camera_id = 12;
  f.seq = 9876543210ULL;
  f.capture_ms = 1700000001234;
  f.image = big(cv::Rect(17, 9, 71, 53));
  REQUIRE_FALSE(f.image.isContinuous());

  const int64_t before = now_ms();
  bytes b = codec::encode(f, "camera-12", 5);
  CHECK(b.size() > size_t(71 * 53 * 3));
  CHECK(std::memcmp(b.data() + 4, codec::file_identifier, 4) == 0);
  std::string err;
  auto m = dec(b, &err);
  REQUIRE_MESSAGE(m, err);
  CHECK(m->k == codec::kind::frame);
  CHECK(m->version == codec::schema_version);
  CHECK(m->sender == "camera-12");
  CHECK(m->sequence == 5);
  CHECK(m->sent_ms >= before);
  CHECK(m->sent_ms <= now_ms());
  const auto& g = std::get<weaver::frame>(m->body);
  CHECK(g.camera_id == 12);
  CHECK(g.seq == 9876543210ULL);
  CHECK(g.capture_ms == 1700000001234);
  REQUIRE(g.image.type() == CV_8UC3);
  REQUIRE(g.image.size() == f.image.size());
  CHECK(g.image.isContinuous());
  CHECK(cv::norm(g.image, f.image, cv::NORM_INF) == 0);
  // The decoded image owns its pixels: the message bytes may go away.
  b.assign(b.size(), 0);
  CHECK(cv::norm(g.image, f.image, cv::NORM_INF) == 0);
  CHECK(codec::peek_kind(nullptr, 0) == std::nullopt);
}

TEST_CASE("codec: JPEG frame from a ROI view round-trips closely") {
  cv::Mat big = picture(320, 240);
  weaver::frame f = sample_frame(1, 1);
  f.image = big(cv::Rect(40, 30, 200, 150));
  REQUIRE_FALSE(f.image.isContinuous());
  bytes raw = codec::encode(f, "cam", 1);
  bytes jpg = codec::encode(f, "cam", 1, true);
  CHECK(jpg.size() * 4 < raw.size());
  std::string err;
  auto m = dec(jpg, &err);
  REQUIRE_MESSAGE(m, err);
  const auto& g = std::get<weaver::frame>(m->body);
  CHECK(g.camera_id == f.camera_id);
  CHECK(g.seq == f.seq);
  CHECK(g.capture_ms == f.capture_ms);
  REQUIRE(g.image.type() == CV_8UC3);
  REQUIRE(g.image.size() == f.image.size());
  CHECK(cv::PSNR(g.image, f.image) > 30);
  // Lower quality, smaller file.
  bytes low = codec::encode(f, "cam", 1, true, 20);
  CHECK(low.size() < jpg.size());
  CHECK(dec(low).has_value());
}

TEST_CASE("codec: gray, BGRA, empty and PNG frames") {
  weaver::frame f = sample_frame(1, 1);
  f.image = noise(33, 17, CV_8UC1);
  auto m = dec(codec::encode(f, "cam", 1));
  REQUIRE(m);
  cv::Mat expect;
  cv::cvtColor(f.image, expect, cv::COLOR_GRAY2BGR);
  const auto& g = std::get<weaver::frame>(m->body).image;
  REQUIRE(g.type() == CV_8UC3);
  CHECK(cv::norm(g, expect, cv::NORM_INF) == 0);

  f.image = noise(20, 10, CV_8UC4);
  m = dec(codec::encode(f, "cam", 1));
  REQUIRE(m);
  cv::cvtColor(f.image, expect, cv::COLOR_BGRA2BGR);
  CHECK(cv::norm(std::get<weaver::frame>(m->body).image, expect, cv::NORM_INF) == 0);

  for (bool jpeg : {false, true}) {
    m = dec(codec::encode(weaver::frame{}, "cam", 1, jpeg));
    REQUIRE(m);
    CHECK(std::get<weaver::frame>(m->body).image.empty());
  }

  cv::Mat pic = picture(40, 30);
  std::vector<uchar> png;
  REQUIRE(cv::imencode(".png", pic, png));
  std::string err;
  m = dec(frame_msg(40, 30, fb::PixelFormat::PNG, bytes(png.begin(), png.end())), &err);
  REQUIRE_MESSAGE(m, err);
  CHECK(cv::norm(std::get<weaver::frame>(m->body).image, pic, cv::NORM_INF) == 0);

  f.image = cv::Mat(4, 4, CV_32FC1, cv::Scalar(0));
  CHECK_THROWS_AS(codec::encode(f, "cam", 1), std::invalid_argument);
}

TEST_CASE("codec: detection batch with features round-trips") {
  const auto d = sample_detections();
  std::string err;
  auto m = dec(codec::encode(d, "detector-1", 77), &err);
  REQUIRE_MESSAGE(m, err);
  CHECK(m->k == codec::kind::detections);
  CHECK(m->sender == "detector-1");
  CHECK(m->sequence == 77);
  const auto& g = std::get<weaver::detection_batch>(m->body);
  CHECK(g.camera_id == d.camera_id);
  CHECK(g.seq == d.seq);
  CHECK(g.capture_ms == d.capture_ms);
  CHECK(g.width == d.width);
  CHECK(g.height == d.height);
  REQUIRE(g.detections.size() == d.detections.size());
  for (size_t i = 0; i < d.detections.size(); ++i) {
    CHECK(g.detections[i].bbox == d.detections[i].bbox);
    CHECK(g.detections[i].score == d.detections[i].score);
    CHECK(g.detections[i].class_id == d.detections[i].class_id);
    CHECK(g.detections[i].feature == d.detections[i].feature);
  }
  m = dec(codec::encode(weaver::detection_batch{}, "", 0));
  REQUIRE(m);
  CHECK(m->sender.empty());
  CHECK(std::get<weaver::detection_batch>(m->body).detections.empty());
}

TEST_CASE("codec: track batch round-trips") {
  const auto t = sample_tracks();
  auto m = dec(codec::encode(t, "tracker", 1));
  REQUIRE(m);
  CHECK(m->k == codec::kind::tracks);
  const auto& g = std::get<weaver::track_batch>(m->body);
  CHECK(g.camera_id == t.camera_id);
  CHECK(g.seq == t.seq);
  CHECK(g.time_ms == t.time_ms);
  REQUIRE(g.events.size() == t.events.size());
  for (size_t i = 0; i < t.events.size(); ++i) {
    const auto &a = g.events[i], &e = t.events[i];
    CHECK(a.camera_id == e.camera_id);
    CHECK(a.track_id == e.track_id);
    CHECK(a.state == e.state);
    CHECK(a.time_ms == e.time_ms);
    CHECK(a.frame_seq == e.frame_seq);
    CHECK(a.bbox == e.bbox);
    CHECK(a.score == e.score);
    CHECK(a.feature == e.feature);
  }
  CHECK(g.zone_visits == t.zone_visits);
}

TEST_CASE("codec: presence batch round-trips") {
  const auto p = sample_presence();
  auto m = dec(codec::encode(p, "reid", 1));
  REQUIRE(m);
  CHECK(m->k == codec::kind::presence);
  const auto& g = std::get<weaver::presence_batch>(m->body);
  REQUIRE(g.identities.size() == p.identities.size());
  for (size_t i = 0; i < p.identities.size(); ++i) {
    CHECK(g.identities[i].camera_id == p.identities[i].camera_id);
    CHECK(g.identities[i].track_id == p.identities[i].track_id);
    CHECK(g.identities[i].person_id == p.identities[i].person_id);
    CHECK(g.identities[i].confidence == p.identities[i].confidence);
  }
  CHECK(g.rows == p.rows);
  CHECK(g.merges.empty());
  CHECK(g.zone_visits.empty());

  auto withz = p;
  withz.zone_visits = {{3, 18446744073709551615ULL, "vault", -7, -1}};
  m = dec(codec::encode(withz, "reid", 2));
  REQUIRE(m);
  CHECK(std::get<weaver::presence_batch>(m->body).zone_visits == withz.zone_visits);

  auto withm = p;
  withm.merges = {{7, 3}, {9, 3}};
  m = dec(codec::encode(withm, "reid", 2));
  REQUIRE(m);
  const auto& gm = std::get<weaver::presence_batch>(m->body);
  REQUIRE(gm.merges.size() == 2);
  CHECK(gm.merges[1].from == 9);
  CHECK(gm.merges[1].into == 3);
  withm.merges = {{4, 4}};
  std::string err;
  auto bytes = codec::encode(withm, "reid", 3);
  CHECK_FALSE(codec::decode(bytes.data(), bytes.size(), &err));
  CHECK(err.find("merge 0: bad person ids") != std::string::npos);
}

TEST_CASE("codec: queries, heartbeat and end of stream round-trip") {
  const auto q = sample_query();
  auto m = dec(codec::encode(q, "gateway", 3));
  REQUIRE(m);
  CHECK(m->k == codec::kind::query_request);
  const auto& gq = std::get<weaver::query_request>(m->body);
  CHECK(gq.id == q.id);
  CHECK(gq.name == q.name);
  CHECK(gq.params == q.params);

  for (const auto& r :
       {weaver::query_response{1, true, "", "{\"a\":[1,2]}"}, weaver::query_response{2, false, "from: bad", "", true},
        weaver::query_response{3, false, "store down", "", false}}) {
    m = dec(codec::encode(r, "query", 4));
    REQUIRE(m);
    CHECK(m->k == codec::kind::query_response);
    const auto& g = std::get<weaver::query_response>(m->body);
    CHECK(g.id == r.id);
    CHECK(g.ok == r.ok);
    CHECK(g.error == r.error);
    CHECK(g.json == r.json);
    CHECK(g.bad_request == r.bad_request);
  }

  m = dec(codec::encode(weaver::heartbeat{"detector", 1700000000999, true}, "detector-0", 5));
  REQUIRE(m);
  CHECK(m->k == codec::kind::heartbeat);
  CHECK(std::get<weaver::heartbeat>(m->body).role == "detector");
  CHECK(std::get<weaver::heartbeat>(m->body).time_ms == 1700000000999);
  CHECK(std::get<weaver::heartbeat>(m->body).ready);

  m = dec(codec::encode(weaver::end_of_stream{9, 1234567}, "camera-9", 6));
  REQUIRE(m);
  CHECK(m->k == codec::kind::end_of_stream);
  CHECK(std::get<weaver::end_of_stream>(m->body).camera_id == 9);
  CHECK(std::get<weaver::end_of_stream>(m->body).frames == 1234567);
}

TEST_CASE("codec: peek_kind and unaligned input") {
  const codec::kind expect[] = {codec::kind::frame,          codec::kind::frame,          codec::kind::frame,
                                codec::kind::frame,          codec::kind::detections,     codec::kind::detections,
                                codec::kind::tracks,         codec::kind::presence,       codec::kind::query_request,
                                codec::kind::query_response, codec::kind::query_response, codec::kind::heartbeat,
                                codec::kind::end_of_stream};
  const auto all = samples();
  REQUIRE(all.size() == std::size(expect));
  for (size_t i = 0; i < all.size(); ++i) {
    CAPTURE(i);
    CHECK(codec::peek_kind(all[i].data(), all[i].size()) == expect[i]);
    // Same bytes at an odd address.
    bytes shifted(all[i].size() + 1);
    std::memcpy(shifted.data() + 1, all[i].data(), all[i].size());
    CHECK(codec::peek_kind(shifted.data() + 1, all[i].size()) == expect[i]);
    std::string err;
    auto m = codec::decode(shifted.data() + 1, all[i].size(), &err);
    REQUIRE_MESSAGE(m, err);
    CHECK(m->k == expect[i]);
    use(*m);
  }
  const bytes junk(64, 0xAB);
  CHECK(codec::peek_kind(junk.data(), junk.size()) == std::nullopt);
}

TEST_CASE("codec: envelope-level rejections") {
  auto hb = [](flatbuffers::FlatBufferBuilder& b) {
    auto role = b.CreateString("x");
    return fb::CreateHeartbeat(b, role, 1, true).Union();
  };
  CHECK(dec(build(hb, fb::Payload::Heartbeat)).has_value());
  rejects(bytes{}, "too small");
  rejects(bytes(7, 0), "too small");
  rejects(build(hb, fb::Payload::Heartbeat, 1, false), "identifier");
  CHECK(dec(build(hb, fb::Payload::Heartbeat, 1)).has_value()); // v1 still decodes
  rejects(build(hb, fb::Payload::Heartbeat, codec::schema_version + 1), "version 4");
  rejects(build(hb, fb::Payload::Heartbeat, 0), "version 0");
  rejects(build(nullptr, fb::Payload::NONE), "no payload");
  rejects(build(nullptr, fb::Payload::Heartbeat), "no payload");
  const bytes unknown = build(hb, static_cast<fb::Payload>(42));
  rejects(unknown, "unknown payload type 42");
  CHECK(codec::peek_kind(unknown.data(), unknown.size()) == std::nullopt);
  // A heartbeat table declared as a frame: it verifies as a frame table of
  // other field types, or not at all; either way no crash.
  std::string err;
  auto m = dec(build(hb, fb::Payload::Frame), &err);
  if (m) use(*m);
  // Verifier failure: a frame whose pixel vector runs past the end.
  bytes b = frame_msg(2, 2, fb::PixelFormat::BGR8, bytes(12, 1));
  b.resize(b.size() - 4);
  rejects(b, "malformed");
}

TEST_CASE("codec: frame semantic rejections") {
  rejects(frame_msg(4, 3, fb::PixelFormat::BGR8, bytes(35)), "needs 36 bytes");
  rejects(frame_msg(4, 3, fb::PixelFormat::BGR8, bytes(12)), "needs 36 bytes");
  rejects(frame_msg(4, 3, fb::PixelFormat::GRAY8, bytes(36)), "needs 12 bytes");
  rejects(frame_msg(-4, 3, fb::PixelFormat::BGR8, bytes(36)), "negative");
  rejects(frame_msg(4, -3, fb::PixelFormat::BGR8, bytes{}), "negative");
  rejects(frame_msg(100000, 100000, fb::PixelFormat::JPEG, bytes(10)), "too large");
  rejects(frame_msg(16384, 16384, fb::PixelFormat::BGR8, bytes(10)), "too large");
  rejects(frame_msg(0, 5, fb::PixelFormat::BGR8, bytes{}), "empty side");
  rejects(frame_msg(0, 0, fb::PixelFormat::BGR8, bytes(3)), "empty frame");
  rejects(frame_msg(1, 1, static_cast<fb::PixelFormat>(9), bytes(3)), "unknown pixel format");
  rejects(frame_msg(8, 8, fb::PixelFormat::JPEG, bytes(100, 7)), "JPEG header");
  rejects(frame_msg(8, 8, fb::PixelFormat::PNG, bytes(100, 7)), "PNG header");

  std::vector<uchar> jpg;
  REQUIRE(cv::imencode(".jpg", picture(32, 24), jpg));
  const bytes j(jpg.begin(), jpg.end());
  CHECK(dec(frame_msg(32, 24, fb::PixelFormat::JPEG, j)).has_value());
  rejects(frame_msg(64, 48, fb::PixelFormat::JPEG, j), "frame says 64x48");
  rejects(frame_msg(32, 24, fb::PixelFormat::PNG, j), "PNG header");
  // The header survives but the image data is gone: undecodable.
  size_t sof = 2;
  while (!(j[sof] == 0xFF && j[sof + 1] == 0xC0)) sof += 2 + (j[sof + 2] << 8 | j[sof + 3]);
  const bytes head(j.begin(), j.begin() + long(sof + 2 + (j[sof + 2] << 8 | j[sof + 3])));
  rejects(frame_msg(32, 24, fb::PixelFormat::JPEG, head), "cannot decode JPEG");
  // A JPEG claiming to be 65535 x 65535: refused before any decoding.
  bytes bomb = j;
  bomb[sof + 5] = bomb[sof + 6] = bomb[sof + 7] = bomb[sof + 8] = 0xFF;
  rejects(frame_msg(32, 24, fb::PixelFormat::JPEG, bomb), "65535x65535");

  std::vector<uchar> png;
  REQUIRE(cv::imencode(".png", picture(32, 24), png));
  bytes p(png.begin(), png.end());
  rejects(frame_msg(24, 32, fb::PixelFormat::PNG, p), "frame says 24x32");
  p.resize(p.size() / 2);
  quiet_stderr quiet; // libpng complains about the truncated file
  rejects(frame_msg(32, 24, fb::PixelFormat::PNG, p), "cannot decode PNG");
}

TEST_CASE("codec: detection, track and presence semantic rejections") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  CHECK(dec(one_detection({1, 2, 3, 4}, 0.5f, {0.6f, 0.8f})).has_value());
  rejects(one_detection({nan, 2, 3, 4}, 0.5f, {}), "not finite");
  rejects(one_detection({1, 2, inf, 4}, 0.5f, {}), "not finite");
  rejects(one_detection({1, 2, 3, 4}, -inf, {}), "not finite");
  rejects(one_detection({1, 2, 3, 4}, 0.5f, {0.1f, nan}), "feature value 1");
  rejects(one_detection({1, 2, 3, 4}, 0.5f, std::vector<float>(codec::max_feature_size + 1, 0.f)),
          "feature vector too long");
  rejects(
    build([](flatbuffers::FlatBufferBuilder& b) { return fb::CreateDetectionBatch(b, 1, 2, 3, -640, 480).Union(); },
          fb::Payload::DetectionBatch),
    "negative");

  auto track = [](fb::TrackState state, float score) {
    return build(
      [&](flatbuffers::FlatBufferBuilder& b) {
        fb::Box box(1, 2, 3, 4);
        std::vector<flatbuffers::Offset<fb::TrackEvent>> v{fb::CreateTrackEvent(b, 1, 2, state, 3, 4, &box, score)};
        auto vec = b.CreateVector(v);
        return fb::CreateTrackBatch(b, 1, 2, 3, vec).Union();
      },
      fb::Payload::TrackBatch);
  };
  CHECK(dec(track(fb::TrackState::Ended, 1)).has_value());
  rejects(track(static_cast<fb::TrackState>(7), 1), "unknown state 7");
  rejects(track(fb::TrackState::Started, nan), "not finite");

  rejects(build(
            [&](flatbuffers::FlatBufferBuilder& b) {
              std::vector<flatbuffers::Offset<fb::Identity>> v{fb::CreateIdentity(b, 1, 2, 3, nan)};
              auto vec = b.CreateVector(v);
              return fb::CreatePresenceBatch(b, vec).Union();
            },
            fb::Payload::PresenceBatch),
          "confidence is not finite");
}

TEST_CASE("codec: truncations of every message are rejected") {
  size_t tried = 0, padding_only = 0;
  for (const bytes& full : samples()) {
    REQUIRE(dec(full).has_value());
    for (size_t len = 0; len < full.size(); ++len) {
      // An exact-size copy, so a sanitizer sees any read past the end.
      const bytes cut(full.begin(), full.begin() + long(len));
      std::string err;
      auto m = codec::decode(cut.data(), cut.size(), &err);
      const auto k = codec::peek_kind(cut.data(), cut.size());
      ++tried;
      if (!m) {
        CHECK_FALSE(err.empty());
        CHECK_FALSE(k.has_value());
        continue;
      }
      // FlatBuffers ends with the padding of the first object it built: a
      // prefix that drops only those zero bytes loses nothing and decodes.
      CAPTURE(len);
      CAPTURE(full.size());
      CHECK(full.size() - len < 8);
      for (size_t i = len; i < full.size(); ++i) CHECK(full[i] == 0);
      CHECK(k == m->k);
      use(*m);
      ++padding_only;
    }
  }
  CHECK(tried > 3000);
  MESSAGE("prefixes: " << tried << ", decoding (dropped padding only): " << padding_only);
}

TEST_CASE("codec: random bytes are rejected") {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> byte(0, 255);
  size_t decoded = 0;
  for (int i = 0; i < 6000; ++i) {
    const size_t n = std::uniform_int_distribution<size_t>(0, 700)(rng);
    bytes b(n);
    for (auto& x : b) x = uint8_t(byte(rng));
    const bool crafted = i % 2 == 1 && n >= 16;
    if (crafted) {
      // Get past the identifier check: a plausible root offset and "WVR1".
      const uint32_t root = std::uniform_int_distribution<uint32_t>(8, uint32_t(n - 4))(rng) & ~3u;
      std::memcpy(b.data(), &root, 4);
      std::memcpy(b.data() + 4, codec::file_identifier, 4);
    }
    std::string err;
    auto m = codec::decode(b.data(), b.size(), &err);
    (void)codec::peek_kind(b.data(), b.size());
    if (!crafted) CHECK_FALSE(m.has_value());
    if (m) {
      ++decoded;
      use(*m);
    } else {
      CHECK_FALSE(err.empty());
    }
  }
  MESSAGE("random buffers that decoded: " << decoded);
}

TEST_CASE("codec: mutated messages are rejected or safe to use") {
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> byte(0, 255);
  const auto all = samples();
  size_t tried = 0, decoded = 0;
  quiet_stderr quiet;
  for (const bytes& good : all) {
    for (int i = 0; i < 1000; ++i) {
      bytes b = good;
      const int flips = std::uniform_int_distribution<int>(1, 4)(rng);
      for (int k = 0; k < flips; ++k) {
        const size_t at = std::uniform_int_distribution<size_t>(0, b.size() - 1)(rng);
        if (k % 2 == 0)
          b[at] = uint8_t(byte(rng));
        else
          b[at] ^= uint8_t(1u << (byte(rng) % 8));
      }
      std::string err;
      auto m = codec::decode(b.data(), b.size(), &err);
      const auto k = codec::peek_kind(b.data(), b.size());
      ++tried;
      if (m) {
        ++decoded;
        CHECK(k == m->k);
        use(*m);
      } else {
        CHECK_FALSE(err.empty());
      }
    }
  }
  CHECK(tried == all.size() * 1000);
  CHECK(decoded > 0);
  MESSAGE("mutated buffers: " << tried << ", still decoding: " << decoded);
}

TEST_CASE("codec: tracklets round-trip; hostile ones are refused") {
  weaver::presence_batch p;
  weaver::tracklet t;
  t.camera_id = 2;
  t.track_id = 41;
  t.person_id = 7;
  t.enter_ms = 1000;
  t.exit_ms = 5000;
  t.entry_box = {1, 2, 30, 60};
  t.exit_box = {300, 20, 31, 62};
  t.confidence = 0.75f;
  t.feature = weaver::quantise_feature({0.1f, -0.5f, 0.25f, 0.f});
  p.tracklets = {t, t};
  p.tracklets[1].track_id = 42;
  p.tracklets[1].feature.clear();
  auto m = dec(codec::encode(p, "reid", 1));
  REQUIRE(m);
  CHECK(std::get<weaver::presence_batch>(m->body).tracklets == p.tracklets);
  CHECK_FALSE(codec::validate(*m));

  // Semantic checks: each hostile field alone is named.
  auto refused = [&](weaver::tracklet bad, const std::string& reason) {
    weaver::presence_batch q;
    q.tracklets = {bad};
    auto got = dec(codec::encode(q, "reid", 2));
    REQUIRE(got); // well-formed ...
    auto problem = codec::validate(*got); // ... but not believable
    REQUIRE(problem);
    CHECK(problem->reason == reason);
    CHECK(problem->detail.find("tracklet 0") != std::string::npos);
  };
  auto bad = t;
  bad.person_id = 0;
  refused(bad, "id");
  bad = t;
  bad.person_id = codec::max_id + 1;
  refused(bad, "id");
  bad = t;
  bad.exit_ms = bad.enter_ms - 1;
  refused(bad, "order");
  bad = t;
  bad.enter_ms = -5;
  refused(bad, "time");
  bad = t;
  bad.exit_box.w = -3;
  refused(bad, "box");
  bad = t;
  bad.entry_box.x = 1e9f;
  refused(bad, "box");
  bad = t;
  bad.confidence = 1.5f;
  refused(bad, "score");

  // Not finite, or too long: refused by decode itself.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto one = [&](float conf, weaver::box entry, size_t feature_len) {
    return build(
      [&](flatbuffers::FlatBufferBuilder& b) {
        fb::Box e(entry.x, entry.y, entry.w, entry.h), x(1, 2, 3, 4);
        std::vector<int8_t> f(feature_len, 5);
        auto feat = b.CreateVector(f);
        std::vector<flatbuffers::Offset<fb::Tracklet>> v{fb::CreateTracklet(b, 1, 2, 3, 10, 20, &e, &x, conf, feat)};
        auto vec = b.CreateVector(v);
        return fb::CreatePresenceBatch(b, 0, 0, 0, 0, vec).Union();
      },
      fb::Payload::PresenceBatch);
  };
  CHECK(dec(one(0.5f, {1, 2, 3, 4}, 176)).has_value());
  rejects(one(nan, {1, 2, 3, 4}, 4), "tracklet 0: box or confidence is not finite");
  rejects(one(0.5f, {nan, 2, 3, 4}, 4), "tracklet 0: box or confidence is not finite");
  rejects(one(0.5f, {1, 2, 3, 4}, weaver::max_tracklet_feature + 1), "tracklet 0: feature too long");
}

TEST_CASE("codec: evidence crops ride on track and presence batches; oversized or non-JPEG ones are refused") {
  std::vector<uchar> jpeg;
  cv::imencode(".jpg", picture(40, 96), jpeg);
  weaver::evidence_crop c{3, 17, 1700000000500, std::string(jpeg.begin(), jpeg.end())};
  auto tracks = [] {
    auto t = sample_tracks();
    t.time_ms = 1700000000000; // sample_tracks' negative time is not believable
    return t;
  };

  auto t = tracks();
  t.crops = {c};
  auto m = dec(codec::encode(t, "tracker", 1));
  REQUIRE(m);
  const auto& tb = std::get<weaver::track_batch>(m->body);
  REQUIRE(tb.crops.size() == 1);
  CHECK(tb.crops[0].camera_id == 3);
  CHECK(tb.crops[0].track_id == 17);
  CHECK(tb.crops[0].time_ms == c.time_ms);
  CHECK(tb.crops[0].jpeg == c.jpeg);
  CHECK_FALSE(codec::validate(*m));

  weaver::presence_batch p;
  p.crops = {c, c};
  p.crops[1].track_id = 18;
  m = dec(codec::encode(p, "reid", 2));
  REQUIRE(m);
  const auto& pb = std::get<weaver::presence_batch>(m->body);
  REQUIRE(pb.crops.size() == 2);
  CHECK(pb.crops[1].track_id == 18);
  CHECK(pb.crops[1].jpeg == c.jpeg);
  CHECK_FALSE(codec::validate(*m));

  // A batch without crops writes none (most frames end no track).
  CHECK(std::get<weaver::track_batch>(dec(codec::encode(tracks(), "tracker", 3))->body).crops.empty());

  // Larger than max_crop_bytes: refused by decode, before it is copied.
  auto big = c;
  big.jpeg.resize(weaver::max_crop_bytes + 1, '\x55');
  t.crops = {big};
  std::string err;
  CHECK_FALSE(dec(codec::encode(t, "tracker", 4), &err));
  CHECK(err.find("crop 0 of") != std::string::npos);
  p.crops = {big};
  CHECK_FALSE(dec(codec::encode(p, "reid", 5), &err));
  CHECK(err.find("presence: crop 0") != std::string::npos);

  // Well-formed but not believable: each named by validate.
  auto refused = [&](weaver::evidence_crop bad, const std::string& reason) {
    weaver::track_batch q = tracks();
    q.crops = {c, bad};
    auto got = dec(codec::encode(q, "tracker", 6));
    REQUIRE(got);
    auto problem = codec::validate(*got);
    REQUIRE(problem);
    CHECK(problem->reason == reason);
    CHECK(problem->detail.find("crop 1") != std::string::npos);
    weaver::presence_batch r;
    r.crops = {bad};
    got = dec(codec::encode(r, "reid", 7));
    REQUIRE(got);
    CHECK(codec::validate(*got));
  };
  auto bad = c;
  bad.jpeg = "GIF89a not a jpeg";
  refused(bad, "format");
  bad.jpeg.clear();
  refused(bad, "size");
  bad = c;
  bad.track_id = codec::max_id + 1;
  refused(bad, "id");
  bad = c;
  bad.time_ms = -1;
  refused(bad, "time");
}

// A camera's live frame as the tracker's sampler makes one.
weaver::live_frame sample_live(uint32_t camera) {
  std::vector<uchar> jpeg;
  cv::imencode(".jpg", picture(64, 48), jpeg);
  weaver::live_frame f;
  f.camera_id = camera;
  f.seq = 41;
  f.time_ms = 1700000000400;
  f.width = 128;
  f.height = 96;
  f.boxes = {{7, {10, 12, 20, 40}, 0.75f, std::nullopt}, {9, {60.25f, 8, 16, 30}, 0.5f, std::nullopt}};
  f.jpeg.assign(jpeg.begin(), jpeg.end());
  return f;
}

TEST_CASE("codec: a live frame rides on track and presence batches (v3) and is checked like any input") {
  auto t = sample_tracks();
  t.time_ms = 1700000000000;
  t.live = sample_live(t.camera_id);
  auto m = dec(codec::encode(t, "tracker", 1));
  REQUIRE(m);
  CHECK(m->version == 3);
  const auto& tb = std::get<weaver::track_batch>(m->body);
  REQUIRE(tb.live);
  CHECK(tb.live->camera_id == t.camera_id);
  CHECK(tb.live->seq == 41);
  CHECK(tb.live->time_ms == 1700000000400);
  CHECK(tb.live->width == 128);
  CHECK(tb.live->height == 96);
  REQUIRE(tb.live->boxes.size() == 2);
  CHECK(tb.live->boxes[1].track_id == 9);
  CHECK(tb.live->boxes[1].bbox == weaver::box{60.25f, 8, 16, 30});
  CHECK(tb.live->boxes[1].score == 0.5f);
  CHECK(tb.live->jpeg == t.live->jpeg);
  CHECK_FALSE(codec::validate(*m));
  // A batch without one carries none.
  auto plain = t;
  plain.live.reset();
  CHECK_FALSE(std::get<weaver::track_batch>(dec(codec::encode(plain, "tracker", 2))->body).live);

  weaver::presence_batch p;
  p.live = sample_live(5);
  m = dec(codec::encode(p, "reid", 3));
  REQUIRE(m);
  const auto& pb = std::get<weaver::presence_batch>(m->body);
  REQUIRE(pb.live);
  CHECK(pb.live->camera_id == 5);
  CHECK(pb.live->jpeg == p.live->jpeg);
  CHECK_FALSE(codec::validate(*m));

  // Larger than max_live_jpeg_bytes: refused by decode, before it is copied.
  auto big = t;
  big.live->jpeg.resize(weaver::max_live_jpeg_bytes + 1, '\x55');
  std::string err;
  CHECK_FALSE(dec(codec::encode(big, "tracker", 4), &err));
  CHECK(err.find("tracks: live frame of") != std::string::npos);

  // Well-formed but not believable: each named by validate.
  auto refused = [&](weaver::live_frame bad, const std::string& reason) {
    auto q = t;
    q.live = bad;
    auto got = dec(codec::encode(q, "tracker", 5));
    REQUIRE(got);
    auto problem = codec::validate(*got);
    REQUIRE(problem);
    CHECK(problem->reason == reason);
    CHECK(problem->detail.find("live frame") != std::string::npos);
  };
  auto bad = *t.live;
  bad.jpeg = "GIF89a not a jpeg at all";
  refused(bad, "format");
  bad = *t.live;
  bad.jpeg.pop_back(); // cut short: no end of image
  refused(bad, "format");
  bad.jpeg = "\xFF\xD8";
  refused(bad, "size");
  bad = *t.live;
  bad.time_ms = -5;
  refused(bad, "time");
  bad = *t.live;
  bad.width = 0;
  refused(bad, "size");
  bad = *t.live;
  bad.boxes[0].track_id = codec::max_id + 1;
  refused(bad, "id");
  bad = *t.live;
  bad.boxes[0].bbox.w = -1;
  refused(bad, "box");
  bad = *t.live;
  bad.camera_id = t.camera_id + 1; // another camera's picture on this camera's batch
  refused(bad, "id");
  bad = *t.live;
  bad.boxes[1].person = codec::max_id + 1;
  refused(bad, "id");
}

TEST_CASE("codec: a live frame carries its boxes' provisional people (re-id in another process)") {
  weaver::presence_batch p;
  p.live = sample_live(5);
  p.live->boxes[1].person = 12;
  auto m = dec(codec::encode(p, "reid", 1));
  REQUIRE(m);
  const auto& pb = std::get<weaver::presence_batch>(m->body);
  REQUIRE(pb.live);
  REQUIRE(pb.live->boxes.size() == 2);
  CHECK_FALSE(pb.live->boxes[0].person);
  REQUIRE(pb.live->boxes[1].person);
  CHECK(*pb.live->boxes[1].person == 12);
  CHECK_FALSE(codec::validate(*m));
  // None given: none read (and none written).
  p.live->boxes[1].person.reset();
  auto plain = dec(codec::encode(p, "reid", 2));
  REQUIRE(plain);
  for (const auto& b : std::get<weaver::presence_batch>(plain->body).live->boxes) CHECK_FALSE(b.person);
  CHECK(codec::encode(p, "reid", 2).size() < codec::encode(
                                               [&] {
                                                 auto q = p;
                                                 q.live->boxes[0].person = 3;
                                                 return q;
                                               }(),
                                               "reid", 2)
                                               .size());
  // A people list that does not match the boxes is refused.
  for (size_t n : {size_t{1}, size_t{3}}) {
    auto frame_with = [&](flatbuffers::FlatBufferBuilder& b) {
      std::vector<fb::LiveBox> boxes{fb::LiveBox(7, fb::Box(10, 12, 20, 40), 0.75f),
                                     fb::LiveBox(9, fb::Box(60, 8, 16, 30), 0.5f)};
      auto boxes_vec = b.CreateVectorOfStructs(boxes);
      auto jpeg = b.CreateVector(reinterpret_cast<const uint8_t*>(p.live->jpeg.data()), p.live->jpeg.size());
      auto people = b.CreateVector(std::vector<uint64_t>(n, 4));
      auto frame = fb::CreateLiveFrame(b, 5, 41, 1700000000400, 128, 96, boxes_vec, jpeg, people);
      return fb::CreatePresenceBatch(b, 0, 0, 0, 0, 0, 0, frame).Union();
    };
    rejects(build(frame_with, fb::Payload::PresenceBatch, 3), "people for 2 boxes");
  }
}

TEST_CASE("codec: schema versions are handled as common.fbs documents") {
  // The fields appended to TrackBatch while the version stayed 1 or 2
  // (zone visits, crops) are read from v1 and v2 messages alike.
  std::vector<uchar> jpeg;
  cv::imencode(".jpg", picture(16, 16), jpeg);
  auto batch = [&](bool live) {
    return [&, live](flatbuffers::FlatBufferBuilder& b) {
      auto zone = b.CreateString("door");
      std::vector<flatbuffers::Offset<fb::ZoneVisit>> visits{fb::CreateZoneVisit(b, 2, 5, zone, 1700000000000, -1)};
      auto visits_vec = b.CreateVector(visits);
      auto pixels = b.CreateVector(jpeg.data(), jpeg.size());
      std::vector<flatbuffers::Offset<fb::EvidenceCrop>> crops{fb::CreateEvidenceCrop(b, 2, 5, 1700000000000, pixels)};
      auto crops_vec = b.CreateVector(crops);
      flatbuffers::Offset<fb::LiveFrame> frame = 0;
      if (live) {
        std::vector<fb::LiveBox> boxes{fb::LiveBox(5, fb::Box(1, 2, 3, 4), 0.5f)};
        auto boxes_vec = b.CreateVectorOfStructs(boxes);
        frame = fb::CreateLiveFrame(b, 2, 9, 1700000000000, 16, 16, boxes_vec, pixels);
      }
      return fb::CreateTrackBatch(b, 2, 9, 1700000000000, 0, visits_vec, crops_vec, frame).Union();
    };
  };
  for (uint16_t version : {1, 2, 3}) {
    CAPTURE(version);
    std::string err;
    auto m = dec(build(batch(false), fb::Payload::TrackBatch, version), &err);
    REQUIRE_MESSAGE(m, err);
    CHECK(m->version == version);
    const auto& tb = std::get<weaver::track_batch>(m->body);
    CHECK(tb.zone_visits.size() == 1);
    CHECK(tb.crops.size() == 1);
    CHECK_FALSE(tb.live);
  }
  // The live frame is v3's: in a v1 or v2 message it is refused, not read
  // (a sender of those versions cannot have written it).
  rejects(build(batch(true), fb::Payload::TrackBatch, 2), "live frame in a v2 message");
  rejects(build(batch(true), fb::Payload::TrackBatch, 1), "live frame in a v1 message");
  auto m = dec(build(batch(true), fb::Payload::TrackBatch, 3));
  REQUIRE(m);
  REQUIRE(std::get<weaver::track_batch>(m->body).live);
  CHECK(std::get<weaver::track_batch>(m->body).live->boxes.size() == 1);
  // A newer version than this build's is refused whatever it carries: its
  // new fields would be read as absent.
  rejects(build(batch(false), fb::Payload::TrackBatch, 4), "unsupported schema version 4 (this build speaks 1..3)");
  // What this build writes is the highest version it reads.
  auto written = codec::encode(weaver::heartbeat{"tracker", 1700000000000, true}, "t", 1);
  CHECK(dec(written)->version == codec::schema_version);
  CHECK(codec::schema_version == static_cast<uint16_t>(fb::SchemaVersion::V3));
}

TEST_CASE("codec: quantised features keep their direction") {
  std::vector<float> f{0.9f, 0.01f, -0.3f, 0.f, 0.2f, 0.05f};
  auto q = weaver::quantise_feature(f);
  CHECK(q[0] == 127);
  CHECK(q[3] == 0);
  CHECK(q[2] == -42); // -0.3 / 0.9 * 127 = -42.3
  auto back = weaver::dequantise_feature(q);
  double dot = 0, nf = 0;
  for (size_t k = 0; k < f.size(); ++k) dot += f[k] * back[k], nf += f[k] * f[k];
  CHECK(dot / std::sqrt(nf) == doctest::Approx(1.0).epsilon(1e-3));
  CHECK(weaver::quantise_feature({0.f, 0.f}) == std::vector<int8_t>{0, 0});
  CHECK(weaver::dequantise_feature({0, 0}) == std::vector<float>{0.f, 0.f});
  // Not finite components count as zero (a feature is never trusted blindly).
  CHECK(weaver::quantise_feature({std::numeric_limits<float>::infinity(), 1.f}) == std::vector<int8_t>{0, 127});
}

// ------------------------------------------------- compact forms (schema v2)

namespace {

// 176 values that no compressor shrinks much (a hand-crafted descriptor's size).
std::vector<float> random_feature(unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-0.3f, 0.3f);
  std::vector<float> f(176);
  for (auto& v : f) v = u(rng);
  return f;
}

weaver::detection_batch with_random_features() {
  auto d = sample_detections();
  for (size_t i = 0; i < d.detections.size(); ++i) d.detections[i].feature = random_feature(unsigned(i));
  return d;
}

weaver::detection_batch compacted_detections() {
  auto d = with_random_features();
  for (auto& x : d.detections) x.embedding.assign(128, 0.05f);
  weaver::compact::compact_for_link(d, weaver::compact::appearance::handcrafted);
  return d;
}

bytes qdetection(uint16_t version, bool with_float_box, bool with_float_feature, int exp) {
  return build(
    [&](flatbuffers::FlatBufferBuilder& b) {
      std::vector<int8_t> q{1, -2, 127};
      auto qf = b.CreateVector(q);
      auto ff = with_float_feature ? b.CreateVector(std::vector<float>{1.f}) : 0;
      fb::QBox qb(4, 8, 12, 16);
      fb::Box fbox(1, 2, 3, 4);
      std::vector<flatbuffers::Offset<fb::Detection>> v{
        fb::CreateDetection(b, with_float_box ? &fbox : nullptr, 0.5f, 0, ff, 0, &qb, qf, static_cast<int8_t>(exp))};
      auto vec = b.CreateVector(v);
      return fb::CreateDetectionBatch(b, 1, 2, 3, 640, 480, vec).Union();
    },
    fb::Payload::DetectionBatch, version);
}

} // namespace

TEST_CASE("codec: compacted detections go as int8 and quarter pixels, and come back exactly") {
  const auto d = compacted_detections();
  const auto plain = with_random_features(); // the same, as floats
  const auto small = codec::encode(d, "detector", 1);
  const auto big = codec::encode(plain, "detector", 1);
  MESSAGE("3 detections with a 176-value feature: " << small.size() << " bytes compact, " << big.size()
                                                    << " as floats");
  CHECK(small.size() * 5 < big.size() * 2); // > 2.5x: a quarter of the feature bytes, plus headers
  std::string err;
  auto m = dec(small, &err);
  REQUIRE_MESSAGE(m, err);
  CHECK(m->version == codec::schema_version);
  const auto& g = std::get<weaver::detection_batch>(m->body);
  REQUIRE(g.detections.size() == d.detections.size());
  for (size_t i = 0; i < d.detections.size(); ++i) {
    CHECK(g.detections[i].bbox == d.detections[i].bbox);
    CHECK(g.detections[i].feature == d.detections[i].feature);
    CHECK(g.detections[i].embedding.empty());
    CHECK(g.detections[i].score == d.detections[i].score);
    CHECK(g.detections[i].class_id == d.detections[i].class_id);
  }
  // Against the floats before compaction: within the grids' bounds.
  const auto& before = plain;
  for (size_t i = 0; i < before.detections.size(); ++i) {
    CHECK(std::fabs(g.detections[i].bbox.x - before.detections[i].bbox.x) <= 0.125f);
    CHECK(std::fabs(g.detections[i].bbox.h - before.detections[i].bbox.h) <= 0.125f);
    const auto& f = before.detections[i].feature;
    float max = 0;
    for (float v : f) max = std::max(max, std::fabs(v));
    for (size_t k = 0; k < f.size(); ++k) CHECK(std::fabs(g.detections[i].feature[k] - f[k]) < max / 127);
  }
  // Floats off the grid still round-trip exactly (as floats).
  auto p = dec(big);
  REQUIRE(p);
  CHECK(std::get<weaver::detection_batch>(p->body).detections[0].feature == plain.detections[0].feature);
}

TEST_CASE("codec: track events do not repeat the batch's camera, time and frame") {
  auto t = sample_tracks();
  t.events[0].time_ms = t.time_ms; // shared
  t.events[1].camera_id = 5; // not shared
  t.events[2].frame_seq = 0; // not shared (a real zero)
  t.events[2].time_ms = 0;
  auto m = dec(codec::encode(t, "tracker", 1));
  REQUIRE(m);
  const auto& g = std::get<weaver::track_batch>(m->body);
  REQUIRE(g.events.size() == t.events.size());
  for (size_t i = 0; i < t.events.size(); ++i) {
    CHECK(g.events[i].camera_id == t.events[i].camera_id);
    CHECK(g.events[i].time_ms == t.events[i].time_ms);
    CHECK(g.events[i].frame_seq == t.events[i].frame_seq);
    CHECK(g.events[i].feature == t.events[i].feature);
    CHECK(g.events[i].bbox == t.events[i].bbox);
  }
  // A field both shared and sent, an unknown bit, or sharing in v1: refused.
  auto event_msg = [](uint8_t shared, uint32_t camera, uint16_t version) {
    return build(
      [&](flatbuffers::FlatBufferBuilder& b) {
        std::vector<flatbuffers::Offset<fb::TrackEvent>> v{
          fb::CreateTrackEvent(b, camera, 1, fb::TrackState::Updated, 0, 0, nullptr, 0, 0, nullptr, 0, 0, shared)};
        auto vec = b.CreateVector(v);
        return fb::CreateTrackBatch(b, 3, 4, 5, vec).Union();
      },
      fb::Payload::TrackBatch, version);
  };
  auto ok = dec(event_msg(7, 0, 2));
  REQUIRE(ok);
  const auto& e = std::get<weaver::track_batch>(ok->body).events.at(0);
  CHECK(e.camera_id == 3);
  CHECK(e.time_ms == 5);
  CHECK(e.frame_seq == 4);
  rejects(event_msg(1, 9, 2), "both shared with the batch and sent");
  rejects(event_msg(8, 0, 2), "unknown shared fields");
  rejects(event_msg(1, 0, 1), "shared fields in a v1 message");
}

TEST_CASE("codec: v1 messages decode; compact forms are checked") {
  // A v1 detection with float box and feature, as a v1 build wrote it.
  auto v1 = one_detection({1, 2, 3, 4}, 0.5f, {0.6f, 0.8f});
  const auto* env = fb::GetEnvelope(v1.data());
  REQUIRE(env->version() == codec::schema_version);
  auto old = build(
    [](flatbuffers::FlatBufferBuilder& b) {
      auto feat = b.CreateVector(std::vector<float>{0.6f, 0.8f});
      fb::Box box(1, 2, 3, 4);
      std::vector<flatbuffers::Offset<fb::Detection>> v{fb::CreateDetection(b, &box, 0.5f, 0, feat)};
      auto vec = b.CreateVector(v);
      return fb::CreateDetectionBatch(b, 1, 2, 3, 640, 480, vec).Union();
    },
    fb::Payload::DetectionBatch, 1);
  auto m = dec(old);
  REQUIRE(m);
  CHECK(m->version == 1);
  const auto& x = std::get<weaver::detection_batch>(m->body).detections.at(0);
  CHECK(x.bbox == weaver::box{1, 2, 3, 4});
  CHECK(x.feature == std::vector<float>{0.6f, 0.8f});

  auto q = dec(qdetection(2, false, false, -3));
  REQUIRE(q);
  const auto& y = std::get<weaver::detection_batch>(q->body).detections.at(0);
  CHECK(y.bbox == weaver::box{1, 2, 3, 4});
  CHECK(y.feature == std::vector<float>{0.125f, -0.25f, 15.875f});
  rejects(qdetection(1, false, false, 0), "compact box in a v1 message");
  rejects(qdetection(2, true, false, 0), "box sent twice");
  rejects(qdetection(2, false, true, 0), "feature sent twice");
  rejects(qdetection(2, false, false, weaver::compact::min_exp - 1), "exponent");
  rejects(qdetection(2, false, false, weaver::compact::max_exp + 1), "exponent");
}

TEST_CASE("codec: compressed envelopes round-trip; broken ones are refused") {
  auto d = sample_detections();
  for (auto& x : d.detections) x.feature.assign(176, 0.f); // compresses well
  const auto z = codec::encode(d, "detector", 1);
  REQUIRE(z.size() > 8);
  CHECK(std::memcmp(z.data() + 4, codec::compressed_identifier, 4) == 0);
  std::string err;
  auto m = dec(z, &err);
  REQUIRE_MESSAGE(m, err);
  CHECK(std::get<weaver::detection_batch>(m->body).detections.at(0).feature == d.detections[0].feature);
  CHECK(codec::peek_kind(z.data(), z.size()) == codec::kind::detections);
  // Unaligned input.
  bytes shifted(z.size() + 1);
  std::memcpy(shifted.data() + 1, z.data(), z.size());
  CHECK(codec::decode(shifted.data() + 1, z.size()).has_value());

  // A small message is not worth it: sent as it is.
  const auto hb = codec::encode(weaver::heartbeat{"x", 1, true}, "x", 1);
  CHECK(fb::EnvelopeBufferHasIdentifier(hb.data()));

  auto with_size = [&](uint32_t n) {
    bytes b = z;
    for (int i = 0; i < 4; ++i) b[i] = uint8_t(n >> (8 * i));
    return b;
  };
  uint32_t real = uint32_t(z[0]) | uint32_t(z[1]) << 8 | uint32_t(z[2]) << 16 | uint32_t(z[3]) << 24;
  rejects(with_size(real + 1), "inflates to");
  rejects(with_size(real - 1), "compressed envelope");
  rejects(with_size(uint32_t(codec::max_inflated_bytes) + 1), "compressed envelope of");
  bytes cut(z.begin(), z.end() - 3);
  rejects(cut, "compressed envelope");
  CHECK_FALSE(codec::peek_kind(cut.data(), cut.size()).has_value());
  // Junk after the header; a compressed envelope inside another.
  bytes junk = z;
  for (size_t i = 8; i < junk.size(); ++i) junk[i] = uint8_t(i * 37);
  rejects(junk, "compressed envelope");
  bytes inner = z; // wrap z (itself compressed) without zstd's help: a raw block frame
  {
    bytes frame;
    const uint8_t magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
    frame.insert(frame.end(), magic, magic + 4);
    frame.push_back(0x20); // single segment, no checksum, 1-byte content size
    frame.push_back(uint8_t(inner.size()));
    const uint32_t block = 1 | (uint32_t(inner.size()) << 3); // last, raw
    frame.push_back(uint8_t(block));
    frame.push_back(uint8_t(block >> 8));
    frame.push_back(uint8_t(block >> 16));
    frame.insert(frame.end(), inner.begin(), inner.end());
    bytes nested(8);
    for (int i = 0; i < 4; ++i) nested[i] = uint8_t(inner.size() >> (8 * i));
    std::memcpy(nested.data() + 4, codec::compressed_identifier, 4);
    nested.insert(nested.end(), frame.begin(), frame.end());
    REQUIRE(inner.size() < 256);
    rejects(nested, "inside a compressed envelope");
  }
}
