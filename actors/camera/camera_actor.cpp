#include "actors/camera/camera_actor.hpp"

#include <chrono>
#include <cmath>
#include <thread>

#include "actors/camera/crop.hpp"
#include "actors/camera/video_source.hpp"
#include "services/log.hpp"
#include "services/metrics.hpp"

namespace weaver {

std::vector<camera_group> group_cameras(const std::vector<camera_config>& cams) {
  std::vector<camera_group> groups;
  for (auto& c : cams) {
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const camera_group& g) { return g.source == c.source; });
    if (it == groups.end()) {
      groups.push_back(camera_group{c.source, {}});
      it = groups.end() - 1;
    }
    it->cameras.push_back(c);
  }
  return groups;
}

std::string camera_group::ids() const {
  std::string s;
  for (auto& c : cameras) s += (s.empty() ? "" : ",") + std::to_string(c.id);
  return s;
}

namespace {

bool stopping(const camera_options& o) { return o.stop && o.stop->load(); }

// Sleeps up to `ms`, waking early when asked to stop.
void nap(int64_t ms, const camera_options& o) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds{ms};
  while (!stopping(o) && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds{std::min<int64_t>(ms, 50)});
}

} // namespace

void camera_actor_impl(caf::blocking_actor* self, camera_group group, detector_actor detector,
                       camera_options opts, run_stats_ptr stats) {
  const logger log{"camera"};
  const auto ids = group.ids();
  video_source src{group.source};
  std::string err;
  backoff retry;
  while (!src.open(&err)) {
    if (src.is_file()) {
      log.error("camera ", ids, ": ", err);
      return;
    }
    auto wait = retry.next();
    log.warn("camera ", ids, ": ", err, "; retrying in ", wait, " ms");
    nap(wait, opts);
    if (stopping(opts)) return;
  }
  auto set_up = [&](bool up) {
    for (auto& c : group.cameras) metrics::global().camera_up(c.id).Set(up ? 1 : 0);
  };
  set_up(true);
  bool down = false;
  double fps = group.cameras.front().fps > 0 ? group.cameras.front().fps : src.fps();
  if (!(fps > 0 && fps < 1000)) fps = 10; // containers without a rate: assume 10
  std::vector<cv::Rect> rects;
  const cv::Size size{src.width(), src.height()};
  for (auto& c : group.cameras) {
    if (c.crop) {
      auto& r = *c.crop;
      std::string e;
      auto rect = clamp_crop(crop_rect{r[0], r[1], r[2], r[3]}, size, &e);
      if (rect.empty()) {
        log.error("camera ", c.id, ": crop outside the ", size.width, "x", size.height,
                  " source: ", e);
        return;
      }
      rects.push_back(rect);
    } else {
      rects.emplace_back(0, 0, size.width, size.height);
    }
  }
  std::vector<uint64_t> seq(group.cameras.size(), 0);
  auto t_start = std::chrono::steady_clock::now();
  uint64_t decoded = 0;
  while (!stopping(opts) && (opts.max_frames == 0 || decoded < opts.max_frames)) {
    cv::Mat image; // a fresh buffer each time: earlier frames may still be in flight
    if (!src.read(image) || image.empty()) {
      if (src.is_file() && group.cameras.front().loop && decoded > 0) {
        src = video_source{group.source};
        if (src.open(&err)) continue;
      }
      if (src.is_file()) break;
      // A live stream broke: reconnect with back-off.
      set_up(false);
      down = true;
      auto wait = retry.next();
      log.warn("camera ", ids, ": stream ", group.source, " interrupted; reconnecting in ", wait, " ms");
      nap(wait, opts);
      src = video_source{group.source};
      src.open(&err);
      continue;
    }
    if (down) {
      down = false;
      set_up(true);
    }
    retry.reset();
    if (opts.realtime) {
      auto due = t_start + std::chrono::microseconds{static_cast<int64_t>(decoded * 1e6 / fps)};
      std::this_thread::sleep_until(due);
    }
    ++decoded;
    std::vector<decltype(self->request(detector, caf::infinite, frame_ptr{}))> pending;
    for (size_t i = 0; i < group.cameras.size(); ++i) {
      auto& c = group.cameras[i];
      auto f = std::make_shared<frame>();
      f->camera_id = c.id;
      f->seq = seq[i]++;
      f->capture_ms = c.start_ms + static_cast<int64_t>(std::llround(f->seq * 1000.0 / fps));
      f->image = crop_view(image, rects[i]);
      auto raw = static_cast<uint64_t>(f->image.total() * f->image.elemSize());
      metrics::global().frames_in(c.id).Increment();
      metrics::global().bytes_raw(c.id).Increment(static_cast<double>(raw));
      if (stats) {
        stats->frames++;
        stats->bytes_raw += raw;
      }
      pending.push_back(self->request(detector, caf::infinite, frame_ptr{std::move(f)}));
    }
    for (auto& p : pending)
      p.receive([](caf::ok_atom) {},
                [&](caf::error& e) { log.error("camera ", ids, ": detector: ", self->system().render(e)); });
  }
  // End of stream per camera; acknowledged once everything before it is stored.
  for (size_t i = 0; i < group.cameras.size(); ++i) {
    end_of_stream eos{group.cameras[i].id, seq[i]};
    self->request(detector, caf::infinite, eos)
      .receive([](caf::ok_atom) {},
               [&](caf::error& e) { log.error("camera ", group.cameras[i].id, ": end of stream: ", self->system().render(e)); });
  }
  log.info("camera ", ids, ": done after ", decoded, " frames");
}

} // namespace weaver
