#include "tools/eval/eval_appearance.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <stdexcept>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "accel/detect/detector.hpp"
#include "actors/camera/crop.hpp"
#include "actors/reid/appearance_metric.hpp"
#include "tools/eval/crosscam_layouts.hpp"
#include "tools/eval/crosscam_truth.hpp"
#include "tools/eval/detection_eval.hpp"

namespace weaver {

namespace {

using json = nlohmann::json;

// Descriptors are unit length (or zero): their dot product is the cosine.
float dot(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return 0.f;
  float s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

std::array<double, 5> percentiles(std::vector<float>& v) {
  std::array<double, 5> q{};
  if (v.empty()) return q;
  std::sort(v.begin(), v.end());
  const std::array<double, 5> at{0.1, 0.25, 0.5, 0.75, 0.9};
  for (size_t k = 0; k < at.size(); ++k) q[k] = v[static_cast<size_t>(at[k] * double(v.size() - 1))];
  return q;
}

// The summary of collected similarities and rank-1 hits.
similarity_summary summarise(std::vector<float> same, std::vector<float> different, size_t queries, size_t hits) {
  similarity_summary s;
  s.same = same.size();
  s.different = different.size();
  s.queries = queries;
  s.rank1 = queries ? double(hits) / double(queries) : 0.0;
  auto mean = [](const std::vector<float>& v) {
    return v.empty() ? 0.0 : std::accumulate(v.begin(), v.end(), 0.0) / double(v.size());
  };
  s.same_mean = mean(same);
  s.different_mean = mean(different);
  for (size_t k = 0; k < similarity_thresholds.size(); ++k) {
    const double t = similarity_thresholds[k];
    auto share = [t](const std::vector<float>& v) {
      return v.empty() ? 0.0
                       : double(std::count_if(v.begin(), v.end(), [t](float x) { return x >= t; })) / double(v.size());
    };
    s.tpr[k] = share(same);
    s.fpr[k] = share(different);
  }
  s.auc = roc_auc(same, different);
  s.same_q = percentiles(same);
  s.different_q = percentiles(different);
  return s;
}

// Pairs and queries over groups of items: `pair(i, j)` says whether items
// i and j (of one group) are compared; same person = a positive.
template <class Key, class Pair>
similarity_summary compare(const std::vector<appearance_item>& items, Key key, Pair pair) {
  std::map<decltype(key(items.front())), std::vector<size_t>> groups;
  for (size_t i = 0; i < items.size(); ++i) groups[key(items[i])].push_back(i);
  std::vector<float> same, different;
  size_t queries = 0, hits = 0;
  for (const auto& [k, idx] : groups) {
    const size_t n = idx.size();
    std::vector<float> sim(n * n, 0.f);
    for (size_t a = 0; a < n; ++a)
      for (size_t b = a + 1; b < n; ++b) {
        const auto& x = items[idx[a]];
        const auto& y = items[idx[b]];
        if (!pair(x, y)) continue;
        const float s = dot(x.feature, y.feature);
        sim[a * n + b] = sim[b * n + a] = s;
        (x.person == y.person ? same : different).push_back(s);
      }
    for (size_t a = 0; a < n; ++a) {
      bool has = false, any = false;
      float best = -2;
      int best_person = 0;
      for (size_t b = 0; b < n; ++b) {
        if (a == b || !pair(items[idx[a]], items[idx[b]])) continue;
        any = true;
        has = has || items[idx[b]].person == items[idx[a]].person;
        if (sim[a * n + b] > best) best = sim[a * n + b], best_person = items[idx[b]].person;
      }
      if (!any || !has) continue;
      ++queries;
      hits += best_person == items[idx[a]].person;
    }
  }
  return summarise(std::move(same), std::move(different), queries, hits);
}

json summary_json(const similarity_summary& s) {
  auto r3 = [](double v) { return std::round(v * 1000) / 1000; };
  json q_same = json::array(), q_diff = json::array(), tpr = json::array(), fpr = json::array();
  for (double v : s.same_q) q_same.push_back(r3(v));
  for (double v : s.different_q) q_diff.push_back(r3(v));
  for (double v : s.tpr) tpr.push_back(r3(v));
  for (double v : s.fpr) fpr.push_back(r3(v));
  return json{{"auc", r3(s.auc)},
              {"rank1", r3(s.rank1)},
              {"queries", s.queries},
              {"pairs_same", s.same},
              {"pairs_different", s.different},
              {"same_mean", r3(s.same_mean)},
              {"different_mean", r3(s.different_mean)},
              {"same_percentiles_10_25_50_75_90", q_same},
              {"different_percentiles_10_25_50_75_90", q_diff},
              {"thresholds", similarity_thresholds},
              {"same_at_or_above", tpr},
              {"different_at_or_above", fpr}};
}

// Per-pixel median of `n` frames spread over the video: the empty scene
// (people move on; vtest.avi's camera is still).
cv::Mat median_background(const std::string& video, int frames, int n) {
  cv::VideoCapture cap(video);
  std::vector<cv::Mat> pick;
  cv::Mat img;
  for (int f = 0; f < frames && cap.read(img); ++f)
    if (f % std::max(1, frames / n) == 0) pick.push_back(img.clone());
  if (pick.empty()) throw std::runtime_error("cannot read " + video);
  cv::Mat bg(pick[0].size(), CV_8UC3);
  std::vector<uint8_t> v(pick.size());
  const size_t total = pick[0].total() * 3;
  for (size_t i = 0; i < total; ++i) {
    for (size_t k = 0; k < pick.size(); ++k) v[k] = pick[k].data[i];
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    bg.data[i] = v[v.size() / 2];
  }
  return bg;
}

cv::Mat foreground_mask(const cv::Mat& view, const cv::Mat& bg) {
  cv::Mat diff, chans[3], m;
  cv::absdiff(view, bg, diff);
  cv::split(diff, chans);
  m = cv::max(cv::max(chans[0], chans[1]), chans[2]);
  cv::threshold(m, m, 30, 255, cv::THRESH_BINARY);
  cv::morphologyEx(m, m, cv::MORPH_OPEN, cv::getStructuringElement(cv::MORPH_ELLIPSE, {3, 3}));
  cv::morphologyEx(m, m, cv::MORPH_CLOSE, cv::getStructuringElement(cv::MORPH_ELLIPSE, {7, 7}));
  return m;
}

struct sample {
  int layout = 0;
  uint32_t camera = 0;
  int person = 0, frame = 0;
  float quality = 1;
  std::vector<std::vector<float>> features; // per variant
};

std::vector<float> weighted_mean(const std::vector<const sample*>& run, size_t v, bool weighted) {
  std::vector<float> sum;
  for (const auto* s : run) {
    const auto& f = s->features[v];
    if (sum.empty()) sum.assign(f.size(), 0.f);
    const float w = weighted ? s->quality : 1.f;
    for (size_t i = 0; i < f.size() && i < sum.size(); ++i) sum[i] += w * f[i];
  }
  l2_normalise(sum);
  return sum;
}

const std::vector<std::string>& default_variants() {
  static const std::vector<std::string> v{"base",        "base+c0.4",     "base+s",      "base+p",  "base+m",
                                          "base+c0.4+s", "base+c0.4+s+p", "base+c0.4+m", "base+t0", "pipeline"};
  return v;
}

} // namespace

similarity_summary compare_handovers(const std::vector<handover_visit>& vs, size_t k) {
  std::vector<float> same, different;
  size_t queries = 0, hits = 0;
  for (const auto& a : vs) {
    float best_same = -2, best_diff = -2;
    for (const auto& b : vs) {
      if (b.layout != a.layout || b.camera == a.camera) continue;
      if (b.first < a.last - 15 || b.first > a.last + 100 || b.first <= a.first) continue;
      const float sim = cosine_similarity(a.features[k], b.entering[k]);
      if (b.person == a.person) {
        same.push_back(sim);
        best_same = std::max(best_same, sim);
      } else {
        different.push_back(sim);
        best_diff = std::max(best_diff, sim);
      }
    }
    if (best_same > -2) {
      ++queries;
      if (best_same > best_diff) ++hits;
    }
  }
  return summarise(std::move(same), std::move(different), queries, hits);
}

double roc_auc(std::vector<float> same, std::vector<float> different) {
  if (same.empty() || different.empty()) return 0.5;
  std::vector<std::pair<float, bool>> all;
  all.reserve(same.size() + different.size());
  for (float s : same) all.emplace_back(s, true);
  for (float s : different) all.emplace_back(s, false);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  double rank_sum = 0; // of the positives, ranks from 1, ties at their mean rank
  for (size_t i = 0; i < all.size();) {
    size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double mean_rank = (double(i + 1) + double(j)) / 2;
    for (size_t k = i; k < j; ++k)
      if (all[k].second) rank_sum += mean_rank;
    i = j;
  }
  const double p = double(same.size()), n = double(different.size());
  return (rank_sum - p * (p + 1) / 2) / (p * n);
}

similarity_summary compare_across(const std::vector<appearance_item>& items) {
  if (items.empty()) return summarise({}, {}, 0, 0);
  return compare(
    items, [](const appearance_item& i) { return i.layout; },
    [](const appearance_item& a, const appearance_item& b) { return a.camera != b.camera; });
}

similarity_summary compare_within(const std::vector<appearance_item>& items, int min_gap) {
  if (items.empty()) return summarise({}, {}, 0, 0);
  return compare(
    items, [](const appearance_item& i) { return std::make_pair(i.layout, i.camera); },
    [min_gap](const appearance_item& a, const appearance_item& b) {
      return a.person != b.person || std::abs(a.frame - b.frame) >= min_gap;
    });
}

appearance_variant parse_appearance_variant(const std::string& name) {
  appearance_variant v;
  v.name = name;
  if (name == "nanodet") {
    v.nanodet = true;
    return v;
  }
  size_t at = 0;
  while (at <= name.size()) {
    size_t end = name.find('+', at);
    if (end == std::string::npos) end = name.size();
    const std::string t = name.substr(at, end - at);
    auto number = [&](const std::string& s) {
      size_t used = 0;
      float x = 0;
      try {
        x = std::stof(s, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != s.size() || !(x >= 0))
        throw std::invalid_argument("appearance variant " + name + ": bad number in " + t);
      return x;
    };
    if (t == "pipeline") {
    } else if (t == "base") {
      // The plain pixel weighting; parts before it (p, m, ...) still hold.
      const appearance_options plain = plain_appearance_options();
      v.options.centre_sigma = plain.centre_sigma;
      v.options.surround = plain.surround;
    } else if (t == "s") {
      v.options.surround = true;
    } else if (t == "p") {
      v.options.partial = true;
    } else if (t == "m") {
      v.background_mask = true;
    } else if (t == "k") {
      v.metric = true;
    } else if (t.size() > 1 && t[0] == 'c') {
      v.options.centre_sigma = number(t.substr(1));
    } else if (t.size() > 1 && t[0] == 't') {
      v.options.texture_weight = number(t.substr(1));
    } else if (t.size() > 1 && t[0] == 'v') {
      v.options.value_weight = number(t.substr(1));
    } else {
      throw std::invalid_argument("appearance variant " + name + ": unknown part '" + t
                                  + "' (pipeline, base, c<sigma>, s, p, m, k, t<w>, v<w>, or nanodet)");
    }
    at = end + 1;
  }
  return v;
}

json eval_appearance(const eval_appearance_options& o) {
  if (o.layouts < 1 || o.step < 1) throw std::invalid_argument("--layouts and --step must be >= 1");
  std::vector<appearance_variant> variants;
  for (const auto& n : o.variants.empty() ? default_variants() : o.variants)
    variants.push_back(parse_appearance_variant(n));
  const bool want_mask = std::any_of(variants.begin(), variants.end(), [](const auto& v) { return v.background_mask; });
  const bool want_dnn = std::any_of(variants.begin(), variants.end(), [](const auto& v) { return v.nanodet; });
  appearance_metric metric;
  if (std::any_of(variants.begin(), variants.end(), [](const auto& v) { return v.metric; })) {
    if (o.metric.empty()) throw std::invalid_argument("a variant with k needs --metric FILE");
    metric = appearance_metric::load(o.metric);
  }

  const auto gt = load_mot_gt(o.gt);
  cv::VideoCapture cap(o.video);
  if (!cap.isOpened()) throw std::runtime_error("cannot open --video " + o.video);
  const cv::Size size{static_cast<int>(cap.get(cv::CAP_PROP_FRAME_WIDTH)),
                      static_cast<int>(cap.get(cv::CAP_PROP_FRAME_HEIGHT))};
  const int video_frames = static_cast<int>(cap.get(cv::CAP_PROP_FRAME_COUNT));
  const int last = o.max_frames > 0 ? std::min(o.max_frames, video_frames) : video_frames;
  const cv::Mat background = want_mask ? median_background(o.video, video_frames, 50) : cv::Mat();

  struct view {
    int layout;
    layout_camera cam;
    virtual_camera truth;
    std::map<int, std::vector<std::pair<int, box>>> boxes; // 0-based frame -> (person, box)
  };
  std::vector<view> views;
  const auto layouts = generate_layouts(o.seed, o.layouts, size);
  for (size_t l = 0; l < layouts.size(); ++l)
    for (const auto& c : layouts[l].cameras) {
      view v{static_cast<int>(l), c, to_virtual(c, 0, 10), {}};
      for (const auto& r : camera_ground_truth(gt, v.truth, last))
        v.boxes[static_cast<int>(r.frame) - 1].emplace_back(
          static_cast<int>(r.id),
          box{static_cast<float>(r.left), static_cast<float>(r.top), static_cast<float>(r.width),
              static_cast<float>(r.height)});
      views.push_back(std::move(v));
    }

  std::map<std::pair<int, int>, std::unique_ptr<detector>> dnn; // per view size
  auto dnn_for = [&](cv::Size s) -> detector& {
    auto& d = dnn[{s.width, s.height}];
    if (!d) {
      detector_options opts;
      opts.dnn.model = o.model;
      d = make_detector("nanodet", opts);
    }
    return *d;
  };

  std::vector<sample> samples;
  size_t dropped = 0;
  cv::Mat frame_img;
  for (int f = 0; f < last && cap.read(frame_img); ++f) {
    if (f % o.step != 0) continue;
    for (const auto& v : views) {
      auto it = v.boxes.find(f);
      if (it == v.boxes.end()) continue;
      const cv::Size vs = v.truth.size;
      cv::Mat img = v.cam.warp ? warp_view(frame_img, v.truth.to_view, vs) : crop_view(frame_img, v.cam.crop);
      cv::Mat mask;
      if (want_mask) {
        cv::Mat bg = v.cam.warp ? warp_view(background, v.truth.to_view, vs) : crop_view(background, v.cam.crop);
        mask = foreground_mask(img, bg);
      }
      std::vector<detection> dets;
      if (want_dnn) dets = dnn_for(vs).detect(img);
      std::vector<char> taken(dets.size(), 0);
      for (const auto& [person, b] : it->second) {
        std::vector<box> others;
        for (const auto& [p2, b2] : it->second)
          if (p2 != person) others.push_back(b2);
        sample s{v.layout, v.cam.id, person, f, appearance_quality(b, 1.f, vs, others, o.quality), {}};
        // The detection that found this person (greedy by IoU >= 0.5), for the embedding.
        int match = -1;
        float best = 0.5f;
        for (size_t k = 0; k < dets.size(); ++k)
          if (!taken[k] && iou(dets[k].bbox, b) >= best) best = iou(dets[k].bbox, b), match = static_cast<int>(k);
        if (want_dnn && match < 0) {
          ++dropped;
          continue;
        }
        if (match >= 0) taken[static_cast<size_t>(match)] = 1;
        for (const auto& var : variants) {
          if (var.nanodet) {
            s.features.push_back(dets[static_cast<size_t>(match)].embedding);
            continue;
          }
          auto opt = var.options;
          if (var.background_mask) opt.mask = &mask;
          auto f = appearance_descriptor(img, b, opt);
          s.features.push_back(var.metric ? metric.apply(f) : std::move(f));
        }
        samples.push_back(std::move(s));
      }
    }
  }

  // Visits: a person's runs on a camera, split at gaps over 10 frames.
  std::map<std::tuple<int, uint32_t, int>, std::vector<const sample*>> by_person;
  for (const auto& s : samples) by_person[{s.layout, s.camera, s.person}].push_back(&s);
  std::vector<std::vector<const sample*>> visits;
  for (const auto& [k, list] : by_person) {
    std::vector<const sample*> run;
    for (const auto* s : list) {
      if (!run.empty() && s->frame - run.back()->frame > std::max(10, o.step)) {
        if (run.size() >= 5) visits.push_back(run);
        run.clear();
      }
      run.push_back(s);
    }
    if (run.size() >= 5) visits.push_back(run);
  }

  json out{
    {"seed", o.seed},
    {"layouts", o.layouts},
    {"frames", last},
    {"step", o.step},
    {"min_gap", o.min_gap},
    {"boxes", samples.size()},
    {"visits", visits.size()},
    {"quality",
     {{"full_height", o.quality.full_height}, {"border", o.quality.border}, {"occlusion", o.quality.occlusion}}}};
  if (want_dnn) out["boxes_without_detection"] = dropped;
  json vs = json::array();
  for (size_t v = 0; v < variants.size(); ++v) {
    std::vector<appearance_item> boxes, plain, weighted;
    for (const auto& s : samples) boxes.push_back({s.layout, s.camera, s.person, s.frame, s.features[v]});
    // Handovers: whole-visit means, against the last (leaving) and first
    // (entering) `edge` samples of the visits (about a second), and both averaged.
    std::vector<handover_visit> hv;
    const size_t edge = static_cast<size_t>(std::max(1, 10 / std::max(1, o.step)));
    auto blend = [](std::vector<float> x, const std::vector<float>& y) {
      for (size_t i = 0; i < x.size() && i < y.size(); ++i) x[i] += y[i];
      l2_normalise(x);
      return x;
    };
    for (const auto& run : visits) {
      const auto* s = run.front();
      const auto whole = weighted_mean(run, v, true);
      plain.push_back({s->layout, s->camera, s->person, s->frame, weighted_mean(run, v, false)});
      weighted.push_back({s->layout, s->camera, s->person, s->frame, whole});
      const auto n = static_cast<long>(std::min(edge, run.size()));
      const auto tail = weighted_mean({run.end() - n, run.end()}, v, true);
      const auto head = weighted_mean({run.begin(), run.begin() + n}, v, true);
      hv.push_back({s->layout,
                    s->camera,
                    s->person,
                    s->frame,
                    run.back()->frame,
                    {whole, tail, blend(whole, tail)},
                    {whole, head, blend(whole, head)}});
    }
    vs.push_back({{"variant", variants[v].name},
                  {"boxes_within_view", summary_json(compare_within(boxes, o.min_gap))},
                  {"boxes_across_views", summary_json(compare_across(boxes))},
                  {"visits_across_views_mean", summary_json(compare_across(plain))},
                  {"visits_across_views_quality_mean", summary_json(compare_across(weighted))},
                  {"handovers_mean", summary_json(compare_handovers(hv, 0))},
                  {"handovers_edges", summary_json(compare_handovers(hv, 1))},
                  {"handovers_blend", summary_json(compare_handovers(hv, 2))}});
  }
  out["variants"] = vs;
  return out;
}

int eval_appearance_command(const eval_appearance_options& o) {
  json j;
  try {
    j = eval_appearance(o);
  } catch (const std::exception& e) {
    std::cerr << "error: eval appearance: " << e.what() << "\n";
    return 2;
  }
  const std::string text = j.dump(2);
  std::cout << text << "\n";
  std::fprintf(stderr, "%zu boxes, %zu visits (seed %llu)\n", j["boxes"].get<size_t>(), j["visits"].get<size_t>(),
               static_cast<unsigned long long>(o.seed));
  std::fprintf(stderr, "%-16s %-13s %-13s %-13s %-13s %-13s %s\n", "variant", "box within", "box across", "visit mean",
               "visit qmean", "handover", "qmean same/diff p50, >=0.9");
  for (const auto& v : j["variants"]) {
    auto cell = [&](const char* k) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3f %.3f", v[k]["auc"].get<double>(), v[k]["rank1"].get<double>());
      return std::string(buf);
    };
    const auto& q = v["visits_across_views_quality_mean"];
    std::fprintf(
      stderr, "%-16s %-13s %-13s %-13s %-13s %-13s %.3f/%.3f %.2f/%.2f\n", v["variant"].get<std::string>().c_str(),
      cell("boxes_within_view").c_str(), cell("boxes_across_views").c_str(), cell("visits_across_views_mean").c_str(),
      cell("visits_across_views_quality_mean").c_str(), cell("handovers_mean").c_str(),
      q["same_percentiles_10_25_50_75_90"][2].get<double>(), q["different_percentiles_10_25_50_75_90"][2].get<double>(),
      q["same_at_or_above"][2].get<double>(), q["different_at_or_above"][2].get<double>());
  }
  if (!o.out.empty()) {
    std::ofstream f{o.out};
    if (!(f << text << "\n")) {
      std::cerr << "error: eval appearance: --out: cannot write " << o.out << "\n";
      return 1;
    }
  }
  return 0;
}

} // namespace weaver
