#include "services/track_cli.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <variant>

#include "accel/detect/appearance.hpp"
#include "actors/camera/video_source.hpp"
#include "actors/tracker/deep_sort.hpp"
#include "actors/tracker/sort_tracker.hpp"
#include "actors/tracker/tracklet_repair.hpp"

namespace weaver {

namespace {

// MOT detections by frame (1-based).
std::map<int, std::vector<detection>> read_detections(const std::string& path, float min_score, size_t& total) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("--det: cannot read " + path);
  std::map<int, std::vector<detection>> frames;
  std::string line;
  int line_no = 0;
  total = 0;
  while (std::getline(in, line)) {
    ++line_no;
    for (char& ch : line)
      if (ch == ',' || ch == '\t' || ch == '\r') ch = ' ';
    if (line.find_first_not_of(' ') == std::string::npos || line[line.find_first_not_of(' ')] == '#') continue;
    std::istringstream fields(line);
    double frame = 0, id = 0, x = 0, y = 0, w = 0, h = 0, score = 1;
    if (!(fields >> frame >> id >> x >> y >> w >> h))
      throw std::runtime_error(path + ":" + std::to_string(line_no) + ": expected frame,id,x,y,w,h,score,...");
    if (!(fields >> score)) score = 1; // no score column: keep the detection
    if (frame < 1 || frame != std::floor(frame) || frame > 1e8 || !std::isfinite(x) || !std::isfinite(y) || !(w > 0)
        || !(h > 0) || !std::isfinite(w) || !std::isfinite(h))
      throw std::runtime_error(path + ":" + std::to_string(line_no) + ": bad frame number or box");
    ++total;
    if (score < min_score) continue;
    detection d;
    d.bbox = {static_cast<float>(x), static_cast<float>(y), static_cast<float>(w), static_cast<float>(h)};
    d.score = static_cast<float>(score);
    frames[static_cast<int>(frame)].push_back(std::move(d));
  }
  return frames;
}

struct row {
  int frame;
  uint64_t id;
  box b;
};

} // namespace

int track_command(const track_options& o) {
  try {
    std::string appearance = o.appearance;
    if (appearance.empty()) appearance = o.video.empty() ? "none" : "handcrafted";
    if (appearance != "handcrafted" && appearance != "pipeline" && appearance != "none")
      throw std::runtime_error("--appearance: handcrafted, pipeline or none, not '" + appearance + "'");
    if (appearance != "none" && o.video.empty())
      throw std::runtime_error("--appearance " + appearance + " needs --video");
    // "handcrafted" is the descriptor without centre weighting and surround:
    // Deep SORT's gates and repair's were tuned on it for these detections
    // (with the pipeline's, IDF1 0.724 -> 0.630; README). "pipeline" is what
    // the detectors attach by default.
    const appearance_options descriptor =
      appearance == "handcrafted" ? plain_appearance_options() : appearance_options{};
    if (o.tracker != "deepsort" && o.tracker != "sort")
      throw std::runtime_error("--tracker: deepsort or sort, not '" + o.tracker + "'");
    if (o.boxes != "detector" && o.boxes != "filter")
      throw std::runtime_error("--boxes: detector or filter, not '" + o.boxes + "'");
    if (o.repair != "fill" && o.repair != "join" && o.repair != "off")
      throw std::runtime_error("--repair: fill, join or off, not '" + o.repair + "'");
    if (o.boxes == "filter" && o.tracker != "deepsort")
      throw std::runtime_error("--boxes filter needs --tracker deepsort");

    size_t total = 0;
    auto frames = read_detections(o.det, o.min_score, total);
    const int last = frames.empty() ? 0 : frames.rbegin()->first;

    std::unique_ptr<video_source> video;
    if (appearance != "none") {
      video = std::make_unique<video_source>(o.video);
      std::string err;
      if (!video->open(&err)) throw std::runtime_error("--video: " + err);
    }

    constexpr uint32_t camera = 1;
    std::variant<deep_sort, sort_tracker> tracker = [&]() -> std::variant<deep_sort, sort_tracker> {
      if (o.tracker == "sort") {
        sort_config c;
        if (o.n_init > 0) c.min_hits = o.n_init;
        if (o.max_age >= 0) c.max_age = o.max_age;
        return sort_tracker{camera, c};
      }
      deep_sort_config c;
      if (o.n_init > 0) c.n_init = o.n_init;
      if (o.max_age >= 0) c.max_age = o.max_age;
      if (o.max_cosine_distance >= 0) c.max_cosine_distance = o.max_cosine_distance;
      if (o.budget > 0) c.budget = o.budget;
      if (o.lambda >= 0) c.lambda = o.lambda;
      return deep_sort{camera, c};
    }();

    tracklet_repair_config rc;
    rc.fill = o.repair == "fill";
    if (o.smooth >= 0) rc.smooth_frames = o.smooth;
    tracklet_repair repair{rc};
    // How many frames after the frame it reports each event is passed on
    // (what re-id and zones wait), per state: the cost of repair online.
    struct lag {
      uint64_t n = 0, sum = 0, most = 0;
    };
    std::map<track_state, lag> lags;
    auto measure = [&](const track_batch& tb) {
      for (const auto& e : tb.events) {
        auto& l = lags[e.state];
        const uint64_t d = tb.seq > e.frame_seq ? tb.seq - e.frame_seq : 0;
        ++l.n;
        l.sum += d;
        l.most = std::max(l.most, d);
      }
    };
    auto keep = [&](const track_batch& tb, std::vector<row>& rows) {
      if (o.repair == "off") {
        measure(tb);
        for (const auto& e : tb.events)
          if (e.state != track_state::ended) rows.push_back({static_cast<int>(tb.seq) + 1, e.track_id, e.bbox});
        return;
      }
      auto step = repair.update(tb);
      measure(step.batch);
      for (const auto& b : step.boxes) rows.push_back({static_cast<int>(b.frame_seq) + 1, b.track_id, b.bbox});
    };

    std::vector<row> rows;
    size_t used = 0;
    double tracker_s = 0;
    cv::Mat image;
    constexpr timestamp_ms frame_ms = 100; // nominal 10 fps; times are not written
    for (int f = 1; f <= last; ++f) {
      detection_batch b;
      b.camera_id = camera;
      b.seq = static_cast<uint64_t>(f - 1);
      b.capture_ms = static_cast<timestamp_ms>(f - 1) * frame_ms;
      if (auto it = frames.find(f); it != frames.end()) b.detections = std::move(it->second);
      used += b.detections.size();
      if (video) {
        if (!video->read(image))
          throw std::runtime_error("--video: ends before frame " + std::to_string(f) + " of the detections");
        b.width = image.cols;
        b.height = image.rows;
        repair.set_frame(image.cols, image.rows);
        for (auto& d : b.detections) d.feature = appearance_descriptor(image, d.bbox, descriptor);
      }
      auto t0 = std::chrono::steady_clock::now();
      track_batch tb = std::visit([&](auto& t) { return t.update(b); }, tracker);
      tracker_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (o.boxes == "filter")
        for (auto& e : tb.events)
          if (e.state != track_state::ended)
            if (auto est = std::get<deep_sort>(tracker).estimate(e.track_id)) e.bbox = *est;
      keep(tb, rows);
    }
    track_batch end = std::visit([&](auto& t) { return t.flush(static_cast<timestamp_ms>(last) * frame_ms); }, tracker);
    if (o.repair != "off")
      for (const auto& b : repair.flush(end).boxes)
        rows.push_back({static_cast<int>(b.frame_seq) + 1, b.track_id, b.bbox});
    // (the flush's events are not counted: the stream's end, not a delay)
    std::sort(rows.begin(), rows.end(),
              [](const row& a, const row& b) { return std::tie(a.frame, a.id) < std::tie(b.frame, b.id); });
    // Ids 1.. in order of first appearance (repair leaves gaps where a track
    // continued another).
    std::map<uint64_t, uint64_t> dense;
    for (auto& r : rows) r.id = dense.try_emplace(r.id, dense.size() + 1).first->second;
    std::sort(rows.begin(), rows.end(),
              [](const row& a, const row& b) { return std::tie(a.frame, a.id) < std::tie(b.frame, b.id); });

    std::ofstream out(o.out);
    if (!out) throw std::runtime_error("--out: cannot write " + o.out);
    char buf[160];
    for (const auto& r : rows) {
      std::snprintf(buf, sizeof buf, "%d,%llu,%.3f,%.3f,%.3f,%.3f,1,-1,-1,-1\n", r.frame,
                    static_cast<unsigned long long>(r.id), r.b.x, r.b.y, r.b.w, r.b.h);
      out << buf;
    }
    out.close();
    if (!out) throw std::runtime_error("--out: write failed: " + o.out);
    if (!o.quiet) {
      uint64_t started = std::visit([](auto& t) { return t.tracks_started(); }, tracker);
      std::cout << "track: " << o.tracker << " (appearance " << appearance << ", repair " << o.repair << "), " << last
                << " frames, " << used << " of " << total << " detections, " << started << " tracks (" << dense.size()
                << " after repair), " << rows.size() << " boxes written to " << o.out << "; tracker alone "
                << static_cast<long long>(tracker_s > 0 ? last / tracker_s : 0) << " frames/s\n";
      std::cout << "events passed on, frames after the frame they report (mean / most):";
      for (auto [state, name] : {std::pair{track_state::started, "started"},
                                 {track_state::updated, "updated"},
                                 {track_state::ended, "ended"}}) {
        const lag& l = lags[state];
        char buf2[96];
        std::snprintf(buf2, sizeof buf2, " %s %.2f / %llu (%llu)", name, l.n ? double(l.sum) / l.n : 0.0,
                      static_cast<unsigned long long>(l.most), static_cast<unsigned long long>(l.n));
        std::cout << buf2;
      }
      std::cout << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "error: track: " << e.what() << "\n";
    return 2;
  }
}

} // namespace weaver
