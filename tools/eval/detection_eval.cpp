#include "tools/eval/detection_eval.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <tuple>

namespace weaver {

std::map<int, std::vector<gt_box>> load_mot_gt(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read ground truth " + path);
  std::map<int, std::vector<gt_box>> gt;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream is(line);
    double v[7];
    char comma;
    is >> v[0];
    for (int i = 1; i < 7; ++i) is >> comma >> v[i];
    if (is)
      gt[static_cast<int>(v[0]) - 1].push_back(
        {{static_cast<float>(v[2]), static_cast<float>(v[3]), static_cast<float>(v[4]), static_cast<float>(v[5])},
         v[6] != 0,
         static_cast<int>(v[1])});
  }
  return gt;
}

void score_detections(const std::vector<detection>& dets, const std::vector<gt_box>& gt, float min_iou,
                      detection_tally& t) {
  std::vector<std::tuple<float, size_t, size_t>> pairs;
  for (size_t i = 0; i < dets.size(); ++i)
    for (size_t j = 0; j < gt.size(); ++j)
      if (float u = iou(dets[i].bbox, gt[j].b); u >= min_iou) pairs.emplace_back(u, i, j);
  std::sort(pairs.rbegin(), pairs.rend());
  std::vector<int> det_match(dets.size(), 0);
  std::vector<bool> gt_used(gt.size(), false);
  for (bool considered : {true, false})
    for (auto& [u, i, j] : pairs)
      if (!det_match[i] && !gt_used[j] && gt[j].consider == considered) {
        det_match[i] = considered ? 1 : 2;
        gt_used[j] = true;
      }
  for (int m : det_match) m == 1 ? ++t.tp : m == 0 ? ++t.fp : 0;
  for (const auto& g : gt) t.positives += g.consider;
}

} // namespace weaver
