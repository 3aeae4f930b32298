#include "tools/eval/mot_eval.hpp"
#include "tools/eval/eval_cli.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <sstream>
#include <string>

using namespace weaver;
using namespace weaver::mot;

namespace {

const std::string data_dir = std::string(WEAVER_SOURCE_DIR) + "/tests/data/motmetrics/";

box_row box(int64_t frame, int64_t id, double left, double top, double w = 10, double h = 20) {
  box_row r;
  r.frame = frame;
  r.id = id;
  r.left = left;
  r.top = top;
  r.width = w;
  r.height = h;
  return r;
}

struct expected_row {
  const char* name;
  double idf1, idp, idr, recall, precision;
  int gt, mt, pt, ml, fp, fn, idsw, frag;
  double mota, motp;
};

// tests/data/motmetrics/README.md (py-motmetrics 1.2.0's published values).
const expected_row table[] = {
  {"TUD-Campus", 0.557659, 0.729730, 0.451253, 0.582173, 0.941441, 8, 1, 6, 1, 13, 150, 7, 7, 0.526462, 0.277201},
  {"TUD-Stadtmitte", 0.644619, 0.819760, 0.531142, 0.608997, 0.939920, 10, 5, 4, 1, 45, 452, 7, 6, 0.564014, 0.345904},
  {"overall", 0.624296, 0.799176, 0.512211, 0.602640, 0.940268, 18, 6, 10, 2, 58, 602, 14, 13, 0.555116, 0.330177},
};

void check_row(const expected_row& e, const mot_counts& c) {
  INFO(e.name);
  auto s = summarize(c);
  CHECK(std::fabs(s.idf1 - e.idf1) < 1e-3);
  CHECK(std::fabs(s.idp - e.idp) < 1e-3);
  CHECK(std::fabs(s.idr - e.idr) < 1e-3);
  CHECK(std::fabs(s.recall - e.recall) < 1e-3);
  CHECK(std::fabs(s.precision - e.precision) < 1e-3);
  CHECK(c.num_unique_objects == e.gt);
  CHECK(c.mostly_tracked == e.mt);
  CHECK(c.partially_tracked == e.pt);
  CHECK(c.mostly_lost == e.ml);
  CHECK(c.num_false_positives == e.fp);
  CHECK(c.num_misses == e.fn);
  CHECK(c.num_switches == e.idsw);
  CHECK(c.num_fragmentations == e.frag);
  CHECK(std::fabs(s.mota - e.mota) < 1e-3);
  CHECK(std::fabs(s.motp - e.motp) < 1e-3);
  // The table's six decimals are met too.
  for (auto [got, want] : {std::pair{s.idf1, e.idf1},
                           {s.idp, e.idp},
                           {s.idr, e.idr},
                           {s.recall, e.recall},
                           {s.precision, e.precision},
                           {s.mota, e.mota},
                           {s.motp, e.motp}})
    CHECK(std::fabs(got - want) < 5e-7);
}

mot_counts eval_file(const std::string& seq) {
  return evaluate_sequence(load_mot(data_dir + seq + "/gt.txt", true), load_mot(data_dir + seq + "/test.txt", false));
}

} // namespace

TEST_SUITE("mot_eval") {
  TEST_CASE("py-motmetrics' TUD-Campus and TUD-Stadtmitte: every number of the table") {
    auto campus = eval_file("TUD-Campus");
    auto stadtmitte = eval_file("TUD-Stadtmitte");
    check_row(table[0], campus);
    check_row(table[1], stadtmitte);
    check_row(table[2], combine({campus, stadtmitte}));
  }

  TEST_CASE("HOTA over both sequences as TrackEval reports it (0.1%)") {
    auto all = summarize(combine({eval_file("TUD-Campus"), eval_file("TUD-Stadtmitte")}));
    // The table rounds to 0.1%: the exact value lies within half of that.
    CHECK(std::fabs(all.deta * 100 - 39.8) <= 0.05);
    CHECK(std::fabs(all.assa * 100 - 41.2) <= 0.05);
    CHECK(std::fabs(all.hota * 100 - 40.0) <= 0.05);
    CHECK(all.loca > 0.5);
    CHECK(all.loca < 1.0);
  }

  TEST_CASE("a perfect tracker") {
    std::vector<box_row> gt;
    for (int f = 1; f <= 10; ++f)
      for (int id = 1; id <= 3; ++id) gt.push_back(box(f, id, 30.0 * id + f, 5.0 * id));
    auto res = gt;
    for (auto& r : res) r.id += 100; // ids need not be equal, only consistent
    auto c = evaluate_sequence(gt, res);
    auto s = summarize(c);
    CHECK(c.num_matches == 30);
    CHECK(c.num_switches == 0);
    CHECK(c.num_false_positives == 0);
    CHECK(c.num_misses == 0);
    CHECK(c.num_fragmentations == 0);
    CHECK(c.mostly_tracked == 3);
    CHECK(c.num_unique_objects == 3);
    CHECK(s.mota == 1.0);
    CHECK(s.motp == 0.0);
    CHECK(s.recall == 1.0);
    CHECK(s.precision == 1.0);
    CHECK(s.idf1 == 1.0);
    CHECK(s.idp == 1.0);
    CHECK(s.idr == 1.0);
    CHECK(s.hota == doctest::Approx(1.0));
    CHECK(s.deta == doctest::Approx(1.0));
    CHECK(s.assa == doctest::Approx(1.0));
    CHECK(s.loca == doctest::Approx(1.0));
  }

  TEST_CASE("an identity switch") {
    // One person over 4 frames; the tracker calls it 1, then 2.
    std::vector<box_row> gt, res;
    for (int f = 1; f <= 4; ++f) {
      gt.push_back(box(f, 7, 10.0 * f, 0));
      res.push_back(box(f, f <= 2 ? 1 : 2, 10.0 * f, 0));
    }
    auto c = evaluate_sequence(gt, res);
    auto s = summarize(c);
    CHECK(c.num_switches == 1);
    CHECK(c.num_matches == 3);
    CHECK(c.num_false_positives == 0);
    CHECK(c.num_misses == 0);
    CHECK(c.num_fragmentations == 0);
    CHECK(s.mota == doctest::Approx(0.75));
    CHECK(c.idtp == 2);
    CHECK(s.idf1 == doctest::Approx(0.5));
    // HOTA: every detection matched (DetA 1); each of the two gt-to-track
    // associations covers 2 of 4 frames: A = 2 / (4 + 2 - 2) = 0.5.
    CHECK(s.deta == doctest::Approx(1.0));
    CHECK(s.assa == doctest::Approx(0.5));
    CHECK(s.hota == doctest::Approx(std::sqrt(0.5)));
  }

  TEST_CASE("a fragmentation; misses after the last match do not count") {
    // Tracked in frames 1, 2, 4, 5; missed in 3, 6 and 7.
    std::vector<box_row> gt, res;
    for (int f = 1; f <= 7; ++f) {
      gt.push_back(box(f, 1, 10.0 * f, 0));
      if (f == 1 || f == 2 || f == 4 || f == 5) res.push_back(box(f, 5, 10.0 * f, 0));
    }
    auto c = evaluate_sequence(gt, res);
    auto s = summarize(c);
    CHECK(c.num_fragmentations == 1);
    CHECK(c.num_switches == 0);
    CHECK(c.num_misses == 3);
    CHECK(c.partially_tracked == 1); // 4 / 7 of its frames
    CHECK(s.mota == doctest::Approx(1.0 - 3.0 / 7));
    CHECK(s.recall == doctest::Approx(4.0 / 7));
    CHECK(s.idf1 == doctest::Approx(8.0 / 11));
  }

  TEST_CASE("a false positive, and a kept correspondence beats a better overlap") {
    std::vector<box_row> gt = {box(1, 1, 0, 0, 10, 10), box(2, 1, 0, 0, 10, 10)};
    // Frame 1: track 1 exact, track 9 far away (a false positive).
    // Frame 2: track 1 at IoU 0.6, track 2 exact: 1 keeps the person.
    std::vector<box_row> res = {box(1, 1, 0, 0, 10, 10), box(1, 9, 100, 100, 10, 10), box(2, 1, 0, 0, 10, 6),
                                box(2, 2, 0, 0, 10, 10)};
    auto c = evaluate_sequence(gt, res);
    auto s = summarize(c);
    CHECK(c.num_false_positives == 2);
    CHECK(c.num_switches == 0);
    CHECK(c.num_matches == 2);
    CHECK(c.num_misses == 0);
    CHECK(s.mota == doctest::Approx(0.0));
    CHECK(s.precision == doctest::Approx(0.5));
    CHECK(s.motp == doctest::Approx(0.2)); // (0 + 0.4) / 2
    CHECK(c.idtp == 2);
    CHECK(s.idf1 == doctest::Approx(4.0 / 6));
  }

  TEST_CASE("IoU below the threshold is a miss and a false positive") {
    // Same 10x10 box shifted by 4: IoU = 60 / 140 < 0.5.
    std::vector<box_row> gt = {box(1, 1, 0, 0, 10, 10)};
    std::vector<box_row> res = {box(1, 1, 4, 0, 10, 10)};
    auto c = evaluate_sequence(gt, res);
    CHECK(c.num_misses == 1);
    CHECK(c.num_false_positives == 1);
    CHECK(c.idtp == 0);
    mot_options loose;
    loose.min_iou = 0.4;
    auto c2 = evaluate_sequence(gt, res, loose);
    CHECK(c2.num_matches == 1);
    CHECK(c2.idtp == 1);
  }

  TEST_CASE("HOTA at IoU 0.5: matched for alpha <= 0.5 only") {
    std::vector<box_row> gt, res;
    for (int f = 1; f <= 3; ++f) {
      gt.push_back(box(f, 1, 0, 0, 10, 10));
      res.push_back(box(f, 1, 0, 0, 10, 20)); // IoU 100 / 200
    }
    auto s = summarize(evaluate_sequence(gt, res));
    CHECK(s.deta == doctest::Approx(10.0 / 19));
    CHECK(s.assa == doctest::Approx(10.0 / 19));
    CHECK(s.hota == doctest::Approx(10.0 / 19));
    // LocA is 1 where nothing matched (TrackEval's convention).
    CHECK(s.loca == doctest::Approx((10 * 0.5 + 9 * 1.0) / 19));
  }

  TEST_CASE("an empty result") {
    std::vector<box_row> gt;
    for (int f = 1; f <= 3; ++f)
      for (int id = 1; id <= 2; ++id) gt.push_back(box(f, id, 50.0 * id, 0));
    auto c = evaluate_sequence(gt, {});
    auto s = summarize(c);
    CHECK(c.num_misses == 6);
    CHECK(c.num_false_positives == 0);
    CHECK(c.mostly_lost == 2);
    CHECK(s.mota == 0.0);
    CHECK(s.recall == 0.0);
    CHECK(std::isnan(s.precision));
    CHECK(std::isnan(s.motp));
    CHECK(s.idf1 == 0.0);
    CHECK(s.hota == 0.0);
    CHECK(s.deta == 0.0);
    CHECK(s.assa == 0.0);
    CHECK(s.loca == 1.0);
    // And its JSON has null for the undefined ratios.
    auto j = mot_json(c);
    CHECK(j["precision"].is_null());
    CHECK(j["num_misses"] == 6);
  }

  TEST_CASE("parsing: separators, the consider flag, errors") {
    std::istringstream a{"1,1,10,20,30,40,1,-1,-1,-1\n\n2 1 10 20 30 40 0\r\n3, 2, 1.5, 2, 3, 4\n"};
    auto rows = parse_mot(a, "a", true);
    REQUIRE(rows.size() == 2); // the consider = 0 row is dropped
    CHECK(rows[1].frame == 3);
    CHECK(rows[1].left == 1.5);
    std::istringstream b{"1,1,10,20,30,40,0\n"};
    CHECK(parse_mot(b, "b", false).size() == 1); // results keep every row

    auto error_of = [](const std::string& text) {
      std::istringstream in{text};
      try {
        parse_mot(in, "f.txt", false);
      } catch (const input_error& e) {
        return std::string(e.what());
      }
      return std::string("no error");
    };
    CHECK(error_of("1,1,10,20,30,40\n1,x,1,2,3,4\n") == "f.txt:2: id is not a number: 'x'");
    CHECK(error_of("1,1,10,20\n") == "f.txt:1: expected at least 6 fields (frame,id,left,top,width,height), got 4");
    CHECK(error_of("1.5,1,10,20,30,40\n") == "f.txt:1: frame is not an integer");
    CHECK(error_of("1,1,10,,30,40\n") == "f.txt:1: top is empty");
    CHECK(error_of("4,2,1,1,1,1\n4,2,5,5,1,1\n") == "f.txt: frame 4 holds id 2 more than once");
    CHECK_THROWS_AS(load_mot("/no/such/gt.txt", true), input_error);
  }

  TEST_CASE("eval_mot: JSON per sequence and overall; sequence names") {
    eval_mot_options o;
    o.gt = {data_dir + "TUD-Campus/gt.txt", data_dir + "TUD-Stadtmitte/gt.txt"};
    o.res = {data_dir + "TUD-Campus/test.txt", data_dir + "TUD-Stadtmitte/test.txt"};
    auto j = eval_mot(o);
    REQUIRE(j["sequences"].size() == 2);
    CHECK(j["sequences"][0]["name"] == "TUD-Campus");
    CHECK(j["sequences"][1]["metrics"]["num_switches"] == 7);
    CHECK(j["overall"]["num_misses"] == 602);
    CHECK(j["overall"]["mota"].get<double>() == doctest::Approx(0.555116).epsilon(1e-5));
    CHECK(mot_sequence_name("data/MOT17-02/gt/gt.txt") == "MOT17-02");
    CHECK(mot_sequence_name("run.txt") == "run");
    o.res.pop_back();
    CHECK_THROWS_AS(eval_mot(o), std::invalid_argument);
  }

} // TEST_SUITE
