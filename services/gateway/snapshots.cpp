#include "services/gateway/snapshots.hpp"

#include <algorithm>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace weaver::gateway {

namespace {

constexpr size_t kept_encodings = 4; // a page asks for the frame of the boxes it just read

std::shared_ptr<const std::string> encode(const cv::Mat& image, const snapshot_settings& s) {
  cv::Mat shown = image;
  if (s.max_width > 0 && image.cols > s.max_width) {
    double k = static_cast<double>(s.max_width) / image.cols;
    cv::resize(image, shown, cv::Size{s.max_width, std::max(1, static_cast<int>(image.rows * k + 0.5))}, 0, 0,
               cv::INTER_AREA);
  }
  std::vector<uchar> buf;
  if (!cv::imencode(".jpg", shown, buf, {cv::IMWRITE_JPEG_QUALITY, s.jpeg_quality}))
    throw std::runtime_error("snapshot: JPEG encoding failed");
  return std::make_shared<const std::string>(buf.begin(), buf.end());
}

} // namespace

picture_age age_of(const encoded_snapshot& s, timestamp_ms now_ms, int64_t stale_after_ms) {
  picture_age a;
  a.age_ms = std::max<int64_t>(0, now_ms - s.arrived_ms);
  a.stale = stale_after_ms > 0 && a.age_ms > stale_after_ms;
  return a;
}

snapshot_cache::snapshot_cache(std::shared_ptr<const live_view> view, snapshot_settings s)
  : view_(std::move(view)), settings_(s) {
  if (!view_) throw std::invalid_argument("snapshot_cache: no live view");
  if (!(settings_.max_fps > 0)) throw std::invalid_argument("snapshot_cache: max_fps must be positive");
  if (settings_.jpeg_quality < 1 || settings_.jpeg_quality > 100)
    throw std::invalid_argument("snapshot_cache: jpeg_quality must be 1..100");
}

std::optional<encoded_snapshot> snapshot_cache::latest(uint32_t camera, clock::time_point now) {
  std::lock_guard<std::mutex> lock{mutex_};
  // Only cameras the view has get an entry: the id comes from a URL.
  auto at = cams_.find(camera);
  if (at == cams_.end()) {
    if (!view_->latest(camera)) return std::nullopt;
    at = cams_.emplace(camera, camera_cache{}).first;
  }
  auto& c = at->second;
  const auto period =
    std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(1.0 / settings_.max_fps));
  bool due = !c.encoded_at || now - *c.encoded_at >= period;
  if (due) {
    auto live = view_->latest(camera);
    if (live && !live->image->image.empty()
        && (c.recent.empty() || live->image->seq != c.recent.back().seq
            || live->boxes.size() != c.recent.back().boxes.size())) {
      const auto& f = *live->image;
      encoded_snapshot e;
      e.camera = camera;
      e.seq = f.seq;
      e.time_ms = f.capture_ms;
      e.width = f.image.cols;
      e.height = f.image.rows;
      e.boxes = std::move(live->boxes);
      e.arrived_ms = live->arrived_ms;
      e.jpeg = encode(f.image, settings_);
      ++encodings_;
      c.encoded_at = now;
      c.recent.push_back(std::move(e));
      while (c.recent.size() > kept_encodings) c.recent.pop_front();
    }
  }
  if (c.recent.empty()) return std::nullopt;
  return c.recent.back();
}

namespace {

// The kept picture numbered `seq` of a camera, in either cache's per-camera
// state (both keep their last pictures in `recent`).
template <class Cams>
std::optional<encoded_snapshot> kept_picture(const Cams& cams, uint32_t camera, uint64_t seq) {
  auto it = cams.find(camera);
  if (it == cams.end()) return std::nullopt;
  for (const auto& e : it->second.recent)
    if (e.seq == seq) return e;
  return std::nullopt;
}

} // namespace

std::optional<encoded_snapshot> snapshot_cache::at(uint32_t camera, uint64_t seq) const {
  std::lock_guard<std::mutex> lock{mutex_};
  return kept_picture(cams_, camera, seq);
}

size_t snapshot_cache::cameras() const {
  std::lock_guard<std::mutex> lock{mutex_};
  return cams_.size();
}

uint64_t snapshot_cache::encodings() const {
  std::lock_guard<std::mutex> lock{mutex_};
  return encodings_;
}

remote_snapshots::remote_snapshots(fetch_fn fetch, double max_fps, std::vector<uint32_t> known)
  : fetch_(std::move(fetch)), max_fps_(max_fps), known_(std::move(known)) {
  if (!fetch_) throw std::invalid_argument("remote_snapshots: no fetch");
  if (!(max_fps_ > 0)) throw std::invalid_argument("remote_snapshots: max_fps must be positive");
}

std::optional<encoded_snapshot> remote_snapshots::latest(uint32_t camera, clock::time_point now) {
  if (std::find(known_.begin(), known_.end(), camera) == known_.end()) return std::nullopt;
  std::unique_lock<std::mutex> lock{mutex_};
  auto& c = cams_[camera];
  const auto period = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(1.0 / max_fps_));
  if (!c.fetched_at || now - *c.fetched_at >= period) {
    c.fetched_at = now; // concurrent viewers wait for no second fetch
    ++fetches_;
    lock.unlock();
    auto got = fetch_(camera); // outside the lock: it asks another process
    lock.lock();
    auto& again = cams_[camera];
    if (got && got->jpeg && (again.recent.empty() || got->seq != again.recent.back().seq)) {
      got->camera = camera;
      again.recent.push_back(std::move(*got));
      while (again.recent.size() > kept_encodings) again.recent.pop_front();
    }
  }
  auto& c2 = cams_[camera];
  if (c2.recent.empty()) return std::nullopt;
  return c2.recent.back();
}

std::optional<encoded_snapshot> remote_snapshots::at(uint32_t camera, uint64_t seq) const {
  std::lock_guard<std::mutex> lock{mutex_};
  return kept_picture(cams_, camera, seq);
}

uint64_t remote_snapshots::fetches() const {
  std::lock_guard<std::mutex> lock{mutex_};
  return fetches_;
}

} // namespace weaver::gateway
