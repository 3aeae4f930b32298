#include "actors/tracker/evidence.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace weaver {

evidence_picker::evidence_picker(int height, int jpeg_quality) : height_(height), quality_(jpeg_quality) {
  if (height < 8 || jpeg_quality < 1 || jpeg_quality > 100)
    throw std::invalid_argument("evidence_picker: height >= 8 and jpeg_quality 1..100 required");
}

double evidence_picker::quality(const box& b, float score, int width, int height) {
  if (!(b.w > 0) || !(b.h > 0) || !std::isfinite(b.x) || !std::isfinite(b.y)) return 0;
  const double x0 = std::max(0.0, static_cast<double>(b.x)), y0 = std::max(0.0, static_cast<double>(b.y));
  const double x1 = std::min(static_cast<double>(width), static_cast<double>(b.x) + b.w);
  const double y1 = std::min(static_cast<double>(height), static_cast<double>(b.y) + b.h);
  if (x1 <= x0 || y1 <= y0) return 0;
  return (x1 - x0) * (y1 - y0) * (score > 0 ? score : 1.0);
}

std::vector<evidence_crop> evidence_picker::update(
  const track_batch& b, const std::function<frame_ptr(uint32_t camera, uint64_t seq)>& frame_of) {
  std::vector<evidence_crop> out;
  for (const auto& e : b.events) {
    const auto key = std::make_pair(e.camera_id, e.track_id);
    if (e.state != track_state::ended) {
      auto f = frame_of ? frame_of(e.camera_id, e.frame_seq) : nullptr;
      if (!f || f->image.empty()) continue;
      const auto& img = f->image;
      double q = quality(e.bbox, e.score, img.cols, img.rows);
      auto& c = best_[key];
      if (q <= c.quality || q <= 0) continue;
      // A margin of 10% around the box, kept inside the frame.
      const double mx = e.bbox.w * 0.1, my = e.bbox.h * 0.1;
      const int x0 = std::max(0, static_cast<int>(std::floor(e.bbox.x - mx)));
      const int y0 = std::max(0, static_cast<int>(std::floor(e.bbox.y - my)));
      const int x1 = std::min(img.cols, static_cast<int>(std::ceil(e.bbox.x + e.bbox.w + mx)));
      const int y1 = std::min(img.rows, static_cast<int>(std::ceil(e.bbox.y + e.bbox.h + my)));
      if (x1 - x0 < 2 || y1 - y0 < 2) continue;
      cv::Mat roi = img(cv::Rect{x0, y0, x1 - x0, y1 - y0});
      const double k = static_cast<double>(height_) / roi.rows;
      const int w = std::clamp(static_cast<int>(std::lround(roi.cols * k)), 1, height_);
      cv::resize(roi, c.thumb, cv::Size{w, height_}, 0, 0, cv::INTER_AREA);
      c.quality = q;
      c.time_ms = f->capture_ms;
      continue;
    }
    auto it = best_.find(key);
    if (it == best_.end()) continue;
    if (!it->second.thumb.empty()) {
      std::vector<uchar> buf;
      if (cv::imencode(".jpg", it->second.thumb, buf, {cv::IMWRITE_JPEG_QUALITY, quality_}))
        out.push_back({e.camera_id, e.track_id, it->second.time_ms, std::string(buf.begin(), buf.end())});
    }
    best_.erase(it);
  }
  return out;
}

} // namespace weaver
