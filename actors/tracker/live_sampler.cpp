#include "actors/tracker/live_sampler.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace weaver {

live_sampler::live_sampler(live_sampler_settings s) : settings_(s) {
  if (!(settings_.fps >= 0)) throw std::invalid_argument("live_sampler: fps must be >= 0");
  if (settings_.max_width < 16) throw std::invalid_argument("live_sampler: max_width must be >= 16");
  if (settings_.jpeg_quality < 1 || settings_.jpeg_quality > 100)
    throw std::invalid_argument("live_sampler: jpeg_quality must be 1..100");
}

std::optional<live_frame> live_sampler::sample(uint32_t camera, const std::optional<live_snapshot>& snap,
                                               clock::time_point now) {
  if (!enabled() || !snap || !snap->image || snap->image->image.empty()) return std::nullopt;
  const auto period = std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(1.0 / settings_.fps));
  auto last = last_.find(camera);
  if (last != last_.end() && now - last->second < period) return std::nullopt;
  last_[camera] = now; // a failed or oversized encoding is not retried at once either

  const frame& f = *snap->image;
  cv::Mat shown = f.image;
  if (f.image.cols > settings_.max_width) {
    const double k = static_cast<double>(settings_.max_width) / f.image.cols;
    cv::resize(f.image, shown, cv::Size{settings_.max_width, std::max(1, static_cast<int>(f.image.rows * k + 0.5))}, 0,
               0, cv::INTER_AREA);
  }
  std::vector<uchar> buf;
  if (!cv::imencode(".jpg", shown, buf, {cv::IMWRITE_JPEG_QUALITY, settings_.jpeg_quality})
      || buf.size() > max_live_jpeg_bytes) {
    ++dropped_;
    return std::nullopt;
  }
  live_frame out;
  out.camera_id = camera;
  out.seq = f.seq;
  out.time_ms = f.capture_ms;
  out.width = f.image.cols;
  out.height = f.image.rows;
  out.boxes = snap->boxes;
  if (out.boxes.size() > max_live_boxes) out.boxes.resize(max_live_boxes);
  out.jpeg.assign(buf.begin(), buf.end());
  ++sampled_;
  return out;
}

} // namespace weaver
