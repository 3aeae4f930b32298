#include "actors/camera/camera_actor.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>
#include <thread>

#include "actors/camera/crop.hpp"
#include "actors/camera/video_source.hpp"
#include "base/log.hpp"
#include "base/metrics.hpp"

namespace weaver {

std::vector<camera_group> group_cameras(const std::vector<camera_config>& cams) {
  std::vector<camera_group> groups;
  for (auto& c : cams) {
    auto it = std::find_if(groups.begin(), groups.end(), [&](const camera_group& g) { return g.source == c.source; });
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

timestamp_ms capture_time(bool live, timestamp_ms start_ms, uint64_t seq, double fps, timestamp_ms wall_now_ms) {
  if (live) return wall_now_ms;
  return start_ms + static_cast<int64_t>(std::llround(seq * 1000.0 / fps));
}

bool ended_early(uint64_t decoded, int64_t declared) {
  if (declared <= 0) return false;
  const auto n = static_cast<uint64_t>(declared);
  return decoded + std::max<uint64_t>(2, n / 100) < n;
}

void camera_actor_impl(caf::blocking_actor* self, camera_group group, detector_actor detector, camera_options opts,
                       run_stats_ptr stats) {
  const logger log{"camera"};
  const auto ids = group.ids();
  const auto& first = group.cameras.front();
  video_source src{group.source, first.input};
  const bool live = !src.is_file();
  backoff retry{first.reconnect_initial_ms, first.reconnect_max_ms};
  bool up = false;
  std::string why_down;
  // One place that flips the camera's state: metric, readiness and log.
  auto set_up = [&](bool now_up, const std::string& why) {
    for (auto& c : group.cameras) metrics::global().camera_up(c.id).Set(now_up ? 1 : 0);
    if (opts.report) opts.report(now_up, why);
    up = now_up;
  };
  std::vector<cv::Rect> rects;
  // Per camera: the homography of its `warp` (source -> camera pixels), if
  // any. The config fixed it (the quad and the crop's size): made once.
  std::vector<std::optional<cv::Matx33d>> warps;
  for (auto& c : group.cameras) {
    warps.emplace_back();
    if (c.warp) warps.back() = warp_homography(*c.warp, {(*c.crop)[2], (*c.crop)[3]});
  }
  // Opens the source and places the crops on it; false with `err` set when
  // either fails. A crop outside the source is a configuration error that no
  // retry mends: `fatal` tells the caller.
  std::string err;
  bool fatal = false;
  auto open_source = [&]() {
    if (!src.open(&err)) return false;
    rects.clear();
    const cv::Size size{src.width(), src.height()};
    for (auto& c : group.cameras) {
      if (!c.crop) {
        rects.emplace_back(0, 0, size.width, size.height);
        continue;
      }
      auto& r = *c.crop;
      std::string e;
      auto rect = clamp_crop(crop_rect{r[0], r[1], r[2], r[3]}, size, &e);
      if (rect.empty()) {
        err = "camera " + std::to_string(c.id) + ": crop outside the " + std::to_string(size.width) + "x"
          + std::to_string(size.height) + " source: " + e;
        fatal = true;
        src.close();
        return false;
      }
      rects.push_back(rect);
    }
    return true;
  };
  // Retries with back-off until the source opens or the run stops. Files
  // are not retried: a file that cannot be decoded will not mend by itself.
  auto connect = [&]() {
    while (!stopping(opts)) {
      if (open_source()) {
        set_up(true, "streaming: " + src.describe());
        if (!why_down.empty()) log.info("camera ", ids, ": ", src.describe(), " is back");
        why_down.clear();
        return true;
      }
      if (!live || fatal) {
        set_up(false, err);
        log.error("camera ", ids, ": ", err, live ? "" : "; this camera ends");
        if (opts.failed) opts.failed("camera " + ids + ": " + err);
        return false;
      }
      auto wait = retry.next();
      if (err != why_down) log.warn("camera ", ids, ": ", err, "; retrying every <= ", wait, " ms");
      why_down = err;
      set_up(false, err + "; retrying in " + std::to_string(wait) + " ms");
      nap(wait, opts);
    }
    return false;
  };
  if (opts.report) opts.report(false, "opening " + src.shown());
  bool running = connect();
  double fps = first.fps > 0 ? first.fps : src.fps();
  if (!(fps > 0 && fps < 1000)) fps = 10; // containers without a rate: assume 10
  std::vector<uint64_t> seq(group.cameras.size(), 0);
  auto t_start = std::chrono::steady_clock::now();
  uint64_t decoded = 0;
  while (running && !stopping(opts) && (opts.max_frames == 0 || decoded < opts.max_frames)) {
    cv::Mat image; // a fresh buffer each time: earlier frames may still be in flight
    const bool got = src.read(image) && !image.empty();
    // The source's compressed bytes, once per source however many virtual
    // cameras crop it: under the first camera's id.
    if (const uint64_t n = src.take_source_bytes()) {
      metrics::global().source_bytes(group.cameras.front().id).Increment(static_cast<double>(n));
      if (stats) stats->bytes_source += n;
    }
    if (!got) {
      if (!live) {
        if (first.loop && decoded > 0 && open_source()) continue;
        if (!first.loop && ended_early(decoded, src.frame_count())) {
          auto e = "camera " + ids + ": " + src.shown() + " ended after " + std::to_string(decoded) + " of the "
            + std::to_string(src.frame_count()) + " frames its container declares (truncated or corrupt)";
          log.error(e);
          if (opts.failed) opts.failed(e);
        }
        break;
      }
      // A live stream broke: down until it reconnects (with back-off).
      why_down = "stream interrupted: no frame from " + src.shown();
      log.warn("camera ", ids, ": ", why_down, "; reconnecting");
      set_up(false, why_down + "; reconnecting");
      src.close();
      nap(retry.next(), opts);
      running = connect();
      continue;
    }
    if (!up) set_up(true, "streaming: " + src.describe());
    retry.reset();
    if (opts.realtime && !live) {
      auto due = t_start + std::chrono::microseconds{static_cast<int64_t>(decoded * 1e6 / fps)};
      std::this_thread::sleep_until(due);
    }
    ++decoded;
    const timestamp_ms wall =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
    std::vector<decltype(self->request(detector, caf::infinite, frame_ptr{}))> pending;
    for (size_t i = 0; i < group.cameras.size(); ++i) {
      auto& c = group.cameras[i];
      // Crops are placed again on each (re)open; a frame of another size
      // than the stream opened with (a mid-stream resolution change) is skipped.
      if (rects[i].br().x > image.cols || rects[i].br().y > image.rows) continue;
      auto f = std::make_shared<frame>();
      f->camera_id = c.id;
      f->seq = seq[i]++;
      f->capture_ms = capture_time(live, c.start_ms, f->seq, fps, wall);
      if (warps[i]) {
        auto& r = *c.crop;
        f->image = warp_view(image, *warps[i], {r[2], r[3]});
      } else {
        f->image = crop_view(image, rects[i]);
      }
      auto raw = static_cast<uint64_t>(f->image.total() * f->image.elemSize());
      metrics::global().frames_in(c.id).Increment();
      metrics::global().bytes_raw(c.id).Increment(static_cast<double>(raw));
      if (stats) {
        stats->frames++;
        stats->bytes_raw += raw;
      }
      if (opts.live) opts.live->offer_frame(f);
      pending.push_back(self->request(detector, caf::infinite, frame_ptr{std::move(f)}));
    }
    for (auto& p : pending)
      p.receive([](caf::ok_atom) {},
                [&](caf::error& e) { log.error("camera ", ids, ": detector: ", self->system().render(e)); });
  }
  // A source that ended is not a fault: readiness stays as it was.
  if (up && opts.report) opts.report(true, "finished after " + std::to_string(decoded) + " frames");
  // End of stream per camera; acknowledged once everything before it is stored.
  for (size_t i = 0; i < group.cameras.size(); ++i) {
    end_of_stream eos{group.cameras[i].id, seq[i]};
    self->request(detector, caf::infinite, eos)
      .receive([](caf::ok_atom) {},
               [&](caf::error& e) {
                 log.error("camera ", group.cameras[i].id, ": end of stream: ", self->system().render(e));
               });
  }
  log.info("camera ", ids, ": done after ", decoded, " frames");
}

} // namespace weaver
