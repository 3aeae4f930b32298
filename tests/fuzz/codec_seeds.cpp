// Writes the codec harness's seed corpus: one well-formed envelope of each
// message kind (run again when the schema changes):
//   build/tests/fuzz/fuzz_codec_seeds tests/fuzz/corpus/codec
#include <cstdio>
#include <fstream>
#include <string>

#include <opencv2/core.hpp>

#include "schemas/codec.hpp"

using namespace weaver;

namespace {

void save(const std::string& dir, const std::string& name, const std::vector<uint8_t>& bytes) {
  std::ofstream(dir + "/" + name, std::ios::binary)
    .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const timestamp_ms t = 1'700'000'000'000;
  frame f{1, 7, t, cv::Mat(8, 6, CV_8UC3, cv::Scalar(10, 200, 30))};
  save(dir, "frame", codec::encode(f, "camera-1", 1));
  detection_batch d{1, 7, t, 640, 480, {}};
  d.detections.push_back({{10, 20, 30, 60}, 0.9f, 0, {0.6f, 0.8f}, {1.0f}});
  d.detections.push_back({{100, 50, 20, 40}, 0.4f, 0, {}, {}});
  save(dir, "detections", codec::encode(d, "detector-1", 2));
  track_batch tb{1, 7, t, {}, {}, {}, {}};
  const evidence_crop crop{1, 2, t - 400, std::string("\xff\xd8\xff\xe0\x00\x10JFIF\x00\xff\xd9", 13)};
  tb.events.push_back({1, 3, track_state::started, t, 7, {10, 20, 30, 60}, 0.9f, {}});
  tb.events.push_back({1, 2, track_state::ended, t - 400, 5, {12, 22, 30, 60}, 0.8f, {0.6f, 0.8f}});
  tb.zone_visits.push_back({1, 3, "door", t - 1000, t});
  tb.crops.push_back(crop);
  save(dir, "tracks", codec::encode(tb, "tracker-1", 3));
  // The same batch with the camera's live frame (v3).
  tb.live = live_frame{1, 7, t, 640, 480, {{3, {10, 20, 30, 60}, 0.9f, std::nullopt}}, crop.jpeg};
  save(dir, "tracks-live", codec::encode(tb, "tracker-1", 9));
  // ... and as re-id passes it on, its box named (LiveFrame.people).
  presence_batch named;
  named.live = tb.live;
  named.live->boxes.push_back({4, {50, 20, 30, 60}, 0.8f, uint64_t{12}});
  save(dir, "presence-live-people", codec::encode(named, "reid-1", 10));
  presence_batch pb;
  pb.identities.push_back({1, 2, 5, 0.7f});
  pb.rows.push_back({5, 1, t - 5000, t - 400});
  pb.merges.push_back({6, 5});
  pb.zone_visits.push_back({1, 2, "door", t - 3000, -1});
  pb.crops.push_back(crop);
  save(dir, "presences", codec::encode(pb, "reid-1", 4));
  query_request q{9, "transitions", {{"from", "1"}, {"to", "2"}}};
  save(dir, "query", codec::encode(q, "gateway", 5));
  query_response r{9, true, "", "{\"count\":3}", false};
  save(dir, "answer", codec::encode(r, "query", 6));
  save(dir, "heartbeat", codec::encode(heartbeat{"tracker", t, true}, "tracker-1", 7));
  save(dir, "end", codec::encode(end_of_stream{1, 795}, "camera-1", 8));
  return 0;
}
