#include "tools/eval/mot_eval.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <istream>
#include <limits>
#include <map>
#include <sstream>
#include <unordered_map>

#include "actors/tracker/assignment.hpp"

namespace weaver::mot {

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr double nan = std::numeric_limits<double>::quiet_NaN();
constexpr double eps = std::numeric_limits<double>::epsilon();

[[noreturn]] void bad_line(const std::string& name, size_t line, const std::string& why) {
  throw input_error(name + ":" + std::to_string(line) + ": " + why);
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// Fields separated by commas (blanks around them allowed) or, in a line
// without commas, by blanks.
std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> out;
  if (line.find(',') != std::string::npos) {
    std::string field;
    std::istringstream in{line};
    while (std::getline(in, field, ',')) out.push_back(trim(field));
    if (!line.empty() && line.back() == ',') out.emplace_back();
  } else {
    std::istringstream in{line};
    std::string field;
    while (in >> field) out.push_back(field);
  }
  return out;
}

double to_number(const std::string& field, const std::string& name, size_t line, int column) {
  const char* what[] = {"frame", "id", "left", "top", "width", "height", "conf"};
  std::string col = column < 7 ? what[column] : "column " + std::to_string(column + 1);
  if (field.empty()) bad_line(name, line, col + " is empty");
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(field.c_str(), &end);
  if (end != field.c_str() + field.size() || errno == ERANGE || !std::isfinite(v))
    bad_line(name, line, col + " is not a number: '" + field + "'");
  return v;
}

int64_t to_integer(double v, const std::string& col, const std::string& name, size_t line) {
  if (v != std::floor(v) || std::fabs(v) > 9.0e15) bad_line(name, line, col + " is not an integer");
  return static_cast<int64_t>(v);
}

uint64_t pair_key(int a, int b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

} // namespace

std::vector<box_row> parse_mot(std::istream& in, const std::string& name, bool ground_truth) {
  std::vector<box_row> rows;
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (trim(line).empty()) continue;
    auto f = split_fields(trim(line));
    if (f.size() < 6)
      bad_line(name, n, "expected at least 6 fields (frame,id,left,top,width,height), got " + std::to_string(f.size()));
    box_row r;
    // Every field must be numeric, also those after the ones used.
    std::vector<double> v(f.size());
    for (size_t k = 0; k < f.size(); ++k) v[k] = to_number(f[k], name, n, static_cast<int>(k));
    r.frame = to_integer(v[0], "frame", name, n);
    r.id = to_integer(v[1], "id", name, n);
    r.left = v[2];
    r.top = v[3];
    r.width = v[4];
    r.height = v[5];
    r.conf = f.size() > 6 ? v[6] : 1.0;
    if (ground_truth && r.conf < 1) continue;
    rows.push_back(r);
  }
  if (in.bad()) throw input_error(name + ": read error");
  std::vector<size_t> order(rows.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return rows[a].frame != rows[b].frame ? rows[a].frame < rows[b].frame : rows[a].id < rows[b].id;
  });
  std::vector<box_row> sorted;
  sorted.reserve(rows.size());
  for (size_t k = 0; k < order.size(); ++k) {
    const auto& r = rows[order[k]];
    if (!sorted.empty() && sorted.back().frame == r.frame && sorted.back().id == r.id)
      throw input_error(name + ": frame " + std::to_string(r.frame) + " holds id " + std::to_string(r.id)
                        + " more than once");
    sorted.push_back(r);
  }
  return sorted;
}

std::vector<box_row> load_mot(const std::string& path, bool ground_truth) {
  std::ifstream in{path};
  if (!in) throw input_error(path + ": cannot open file");
  return parse_mot(in, path, ground_truth);
}

double box_iou(const box_row& a, const box_row& b) {
  const double ax2 = a.left + a.width, ay2 = a.top + a.height;
  const double bx2 = b.left + b.width, by2 = b.top + b.height;
  const double iw = std::max(std::min(ax2, bx2) - std::max(a.left, b.left), 0.0);
  const double ih = std::max(std::min(ay2, by2) - std::max(a.top, b.top), 0.0);
  const double inter = iw * ih;
  const double area_a = (ax2 - a.left) * (ay2 - a.top);
  const double area_b = (bx2 - b.left) * (by2 - b.top);
  const double uni = area_a + area_b - inter;
  if (area_a <= eps || area_b <= eps || uni <= eps) return 0.0;
  return inter / uni;
}

double hota_alpha(int k) { return 0.05 + k * 0.05; } // numpy.arange(0.05, 0.99, 0.05)

mot_counts evaluate_sequence(const std::vector<box_row>& gt, const std::vector<box_row>& res,
                             const mot_options& options) {
  mot_counts c;
  const double max_dist = 1.0 - options.min_iou;

  // Dense ids and boxes grouped by frame (in increasing frame order; within a
  // frame in increasing id order).
  std::map<int64_t, int> gt_ids, res_ids;
  for (auto& r : gt) gt_ids.emplace(r.id, 0);
  for (auto& r : res) res_ids.emplace(r.id, 0);
  int n_gt = 0, n_res = 0;
  for (auto& [id, k] : gt_ids) k = n_gt++;
  for (auto& [id, k] : res_ids) k = n_res++;
  struct frame_boxes {
    std::vector<const box_row*> gt, res;
    std::vector<int> gid, rid; // their dense ids, for both passes below
  };
  std::map<int64_t, frame_boxes> frames;
  for (auto& r : gt) frames[r.frame].gt.push_back(&r);
  for (auto& r : res) frames[r.frame].res.push_back(&r);
  for (auto& [f, fb] : frames) {
    auto by_id = [](const box_row* a, const box_row* b) { return a->id < b->id; };
    std::stable_sort(fb.gt.begin(), fb.gt.end(), by_id);
    std::stable_sort(fb.res.begin(), fb.res.end(), by_id);
    for (auto* r : fb.gt) fb.gid.push_back(gt_ids[r->id]);
    for (auto* r : fb.res) fb.rid.push_back(res_ids[r->id]);
  }
  c.frames = static_cast<int64_t>(frames.size());
  c.num_objects = static_cast<int64_t>(gt.size());
  c.num_predictions = static_cast<int64_t>(res.size());
  c.num_unique_objects = n_gt;

  // CLEAR MOT state (py-motmetrics' MOTAccumulator): each object's current
  // hypothesis; per object, frames present and tracked, and the
  // fragmentation state (last event, a tracked -> missed transition pending
  // until the object is tracked again).
  std::vector<int> current(n_gt, -1);
  std::vector<int64_t> present(n_gt, 0), tracked(n_gt, 0);
  std::vector<char> last_tracked(n_gt, 0), pending_frag(n_gt, 0);
  // Identity metrics: frames per id, frames per (gt, res) pair within IoU.
  std::vector<int64_t> gt_frames(n_gt, 0), res_frames(n_res, 0);
  std::unordered_map<uint64_t, int64_t> id_overlap;
  // HOTA, first pass: per (gt, res) pair the summed per-frame alignment.
  std::unordered_map<uint64_t, double> potential;
  std::vector<std::vector<double>> frame_iou;
  frame_iou.reserve(frames.size());

  std::vector<double> iou, cost;
  std::vector<char> gt_done, res_done;
  for (auto& [frame, fb] : frames) {
    const int no = static_cast<int>(fb.gt.size()), nh = static_cast<int>(fb.res.size());
    const auto& gid = fb.gid;
    const auto& rid = fb.rid;
    iou.assign(static_cast<size_t>(no) * nh, 0.0);
    for (int i = 0; i < no; ++i)
      for (int j = 0; j < nh; ++j) iou[static_cast<size_t>(i) * nh + j] = box_iou(*fb.gt[i], *fb.res[j]);
    auto dist = [&](int i, int j) {
      double d = 1.0 - iou[static_cast<size_t>(i) * nh + j];
      return d <= max_dist ? d : inf;
    };

    // Identity metrics: the raw overlaps.
    for (int i = 0; i < no; ++i) ++gt_frames[gid[i]];
    for (int j = 0; j < nh; ++j) ++res_frames[rid[j]];
    for (int i = 0; i < no; ++i)
      for (int j = 0; j < nh; ++j)
        if (std::isfinite(dist(i, j))) ++id_overlap[pair_key(gid[i], rid[j])];

    // CLEAR MOT. 1: keep last correspondences that are still within IoU.
    gt_done.assign(no, 0);
    res_done.assign(nh, 0);
    if (no > 0 && nh > 0) {
      for (int i = 0; i < no; ++i) {
        int h = current[gid[i]];
        if (h < 0) continue;
        for (int j = 0; j < nh; ++j) {
          if (res_done[j] || rid[j] != h) continue;
          double d = dist(i, j);
          if (std::isfinite(d)) {
            gt_done[i] = res_done[j] = 1;
            ++c.num_matches;
            c.distance_sum += d;
          }
          break;
        }
      }
      // 2: min-cost assignment of the rest (most pairs, then least distance).
      cost.assign(static_cast<size_t>(no) * nh, inf);
      for (int i = 0; i < no; ++i)
        for (int j = 0; j < nh; ++j)
          if (!gt_done[i] && !res_done[j]) cost[static_cast<size_t>(i) * nh + j] = dist(i, j);
      auto row_col = solve_assignment(cost, no, nh);
      for (int i = 0; i < no; ++i) {
        int j = row_col[i];
        if (j < 0 || !std::isfinite(cost[static_cast<size_t>(i) * nh + j])) continue;
        int o = gid[i], h = rid[j];
        if (current[o] >= 0 && current[o] != h)
          ++c.num_switches;
        else
          ++c.num_matches;
        c.distance_sum += cost[static_cast<size_t>(i) * nh + j];
        current[o] = h;
        gt_done[i] = res_done[j] = 1;
      }
    }
    // 3 and 4: the rest are misses and false positives.
    for (int i = 0; i < no; ++i) {
      int o = gid[i];
      ++present[o];
      if (gt_done[i]) {
        ++tracked[o];
        if (pending_frag[o]) {
          ++c.num_fragmentations;
          pending_frag[o] = 0;
        }
        last_tracked[o] = 1;
      } else {
        ++c.num_misses;
        if (last_tracked[o]) pending_frag[o] = 1;
        last_tracked[o] = 0;
      }
    }
    for (int j = 0; j < nh; ++j)
      if (!res_done[j]) ++c.num_false_positives;

    // HOTA, first pass (TrackEval): per-frame alignment of each pair, the
    // IoU over the union of both rows of the similarity matrix.
    if (no > 0 && nh > 0) {
      std::vector<double> row_sum(no, 0.0), col_sum(nh, 0.0);
      for (int i = 0; i < no; ++i)
        for (int j = 0; j < nh; ++j) {
          row_sum[i] += iou[static_cast<size_t>(i) * nh + j];
          col_sum[j] += iou[static_cast<size_t>(i) * nh + j];
        }
      for (int i = 0; i < no; ++i)
        for (int j = 0; j < nh; ++j) {
          double s = iou[static_cast<size_t>(i) * nh + j];
          double denom = col_sum[j] + row_sum[i] - s;
          if (s > 0 && denom > eps) potential[pair_key(gid[i], rid[j])] += s / denom;
        }
    }
    frame_iou.push_back(iou);
  }

  // CLEAR MOT: mostly tracked / partially tracked / mostly lost.
  for (int o = 0; o < n_gt; ++o) {
    double ratio = present[o] > 0 ? static_cast<double>(tracked[o]) / present[o] : 0.0;
    if (ratio >= 0.8)
      ++c.mostly_tracked;
    else if (ratio >= 0.2)
      ++c.partially_tracked;
    else
      ++c.mostly_lost;
  }

  // Identity metrics: the gt-to-result id matching with most overlapping
  // frames (equivalently, least IDFP + IDFN). Ids without any overlap only
  // ever add to IDFN / IDFP, so the matrix holds the others only.
  {
    std::map<int, int> rows, cols;
    for (auto& [key, n] : id_overlap) {
      rows.emplace(static_cast<int>(key >> 32), 0);
      cols.emplace(static_cast<int>(key & 0xffffffffu), 0);
    }
    int nr = 0, nc = 0;
    for (auto& [id, k] : rows) k = nr++;
    for (auto& [id, k] : cols) k = nc++;
    std::vector<double> w(static_cast<size_t>(nr) * nc, 0.0);
    for (auto& [key, n] : id_overlap)
      w[static_cast<size_t>(rows[static_cast<int>(key >> 32)]) * nc + cols[static_cast<int>(key & 0xffffffffu)]] =
        -static_cast<double>(n);
    auto row_col = solve_assignment(w, nr, nc);
    for (int r = 0; r < nr; ++r)
      if (row_col[r] >= 0) c.idtp += static_cast<int64_t>(-w[static_cast<size_t>(r) * nc + row_col[r]]);
    c.idfn = c.num_objects - c.idtp;
    c.idfp = c.num_predictions - c.idtp;
  }

  // HOTA, second pass: per frame, match on alignment x IoU, then count per alpha.
  auto alignment = [&](int g, int t) {
    auto it = potential.find(pair_key(g, t));
    if (it == potential.end()) return 0.0;
    return it->second / (static_cast<double>(gt_frames[g]) + res_frames[t] - it->second);
  };
  std::unordered_map<uint64_t, std::array<int64_t, hota_alphas>> pair_matches;
  size_t fi = 0;
  for (auto& [frame, fb] : frames) {
    const auto& sim = frame_iou[fi++];
    const int no = static_cast<int>(fb.gt.size()), nh = static_cast<int>(fb.res.size());
    if (no == 0 || nh == 0) {
      for (int a = 0; a < hota_alphas; ++a) {
        c.hota_fp[a] += nh;
        c.hota_fn[a] += no;
      }
      continue;
    }
    const auto& gid = fb.gid;
    const auto& rid = fb.rid;
    cost.assign(static_cast<size_t>(no) * nh, 0.0);
    for (int i = 0; i < no; ++i)
      for (int j = 0; j < nh; ++j) {
        double s = sim[static_cast<size_t>(i) * nh + j];
        cost[static_cast<size_t>(i) * nh + j] = s > 0 ? -alignment(gid[i], rid[j]) * s : 0.0;
      }
    auto row_col = solve_assignment(cost, no, nh);
    for (int a = 0; a < hota_alphas; ++a) {
      const double alpha = hota_alpha(a);
      int64_t matched = 0;
      for (int i = 0; i < no; ++i) {
        int j = row_col[i];
        if (j < 0) continue;
        double s = sim[static_cast<size_t>(i) * nh + j];
        if (s >= alpha - eps) {
          ++matched;
          c.loc_sum[a] += s;
          auto& m = pair_matches[pair_key(gid[i], rid[j])];
          ++m[a];
        }
      }
      c.hota_tp[a] += matched;
      c.hota_fn[a] += no - matched;
      c.hota_fp[a] += nh - matched;
    }
  }
  for (int a = 0; a < hota_alphas; ++a) {
    double ass_a = 0, ass_re = 0, ass_pr = 0;
    for (auto& [key, m] : pair_matches) {
      double n = static_cast<double>(m[a]);
      if (n == 0) continue;
      double g = static_cast<double>(gt_frames[key >> 32]);
      double t = static_cast<double>(res_frames[key & 0xffffffffu]);
      ass_a += n * (n / std::max(1.0, g + t - n));
      ass_re += n * (n / std::max(1.0, g));
      ass_pr += n * (n / std::max(1.0, t));
    }
    // TrackEval's per-sequence AssA, then times TP: the weight it combines with.
    const double tp = c.hota_tp[a];
    c.ass_a_tp[a] = ass_a / std::max(1.0, tp) * tp;
    c.ass_re_tp[a] = ass_re / std::max(1.0, tp) * tp;
    c.ass_pr_tp[a] = ass_pr / std::max(1.0, tp) * tp;
  }
  return c;
}

mot_counts combine(const std::vector<mot_counts>& parts) {
  mot_counts c;
  for (auto& p : parts) {
    c.frames += p.frames;
    c.num_objects += p.num_objects;
    c.num_predictions += p.num_predictions;
    c.num_matches += p.num_matches;
    c.num_switches += p.num_switches;
    c.num_false_positives += p.num_false_positives;
    c.num_misses += p.num_misses;
    c.num_fragmentations += p.num_fragmentations;
    c.num_unique_objects += p.num_unique_objects;
    c.mostly_tracked += p.mostly_tracked;
    c.partially_tracked += p.partially_tracked;
    c.mostly_lost += p.mostly_lost;
    c.distance_sum += p.distance_sum;
    c.idtp += p.idtp;
    c.idfp += p.idfp;
    c.idfn += p.idfn;
    for (int a = 0; a < hota_alphas; ++a) {
      c.hota_tp[a] += p.hota_tp[a];
      c.hota_fn[a] += p.hota_fn[a];
      c.hota_fp[a] += p.hota_fp[a];
      c.ass_a_tp[a] += p.ass_a_tp[a];
      c.ass_re_tp[a] += p.ass_re_tp[a];
      c.ass_pr_tp[a] += p.ass_pr_tp[a];
      c.loc_sum[a] += p.loc_sum[a];
    }
  }
  return c;
}

mot_summary summarize(const mot_counts& c) {
  auto ratio = [](double num, double den) { return den != 0 ? num / den : nan; };
  mot_summary s{};
  const double det = static_cast<double>(c.num_matches + c.num_switches);
  const double gt = static_cast<double>(c.num_objects);
  s.mota = gt != 0 ? 1.0 - static_cast<double>(c.num_misses + c.num_switches + c.num_false_positives) / gt : nan;
  s.motp = ratio(c.distance_sum, det);
  s.recall = ratio(det, gt);
  s.precision = ratio(det, det + c.num_false_positives);
  s.idp = ratio(c.idtp, c.idtp + c.idfp);
  s.idr = ratio(c.idtp, c.idtp + c.idfn);
  s.idf1 = ratio(2.0 * c.idtp, gt + c.num_predictions);
  for (int a = 0; a < hota_alphas; ++a) {
    const double tp = c.hota_tp[a], fn = c.hota_fn[a], fp = c.hota_fp[a];
    const double deta = tp / std::max(1.0, tp + fn + fp);
    const double assa = c.ass_a_tp[a] / std::max(1.0, tp);
    s.deta += deta;
    s.assa += assa;
    s.hota += std::sqrt(deta * assa);
    s.detre += tp / std::max(1.0, tp + fn);
    s.detpr += tp / std::max(1.0, tp + fp);
    s.assre += c.ass_re_tp[a] / std::max(1.0, tp);
    s.asspr += c.ass_pr_tp[a] / std::max(1.0, tp);
    s.loca += std::max(1e-10, c.loc_sum[a]) / std::max(1e-10, tp);
  }
  for (double* v : {&s.hota, &s.deta, &s.assa, &s.loca, &s.detre, &s.detpr, &s.assre, &s.asspr}) *v /= hota_alphas;
  return s;
}

} // namespace weaver::mot
