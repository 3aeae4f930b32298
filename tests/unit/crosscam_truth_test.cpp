#include <doctest/doctest.h>

#include "actors/camera/crop.hpp"
#include "tools/eval/crosscam_truth.hpp"

using namespace weaver;

namespace {

// One person per id walking: frame -> box.
void walk(std::map<int, std::vector<gt_box>>& gt, int id, int f0, int f1, float x0, float dx, float y = 100) {
  for (int f = f0; f <= f1; ++f) {
    gt_box g;
    g.id = id;
    g.b = {x0 + dx * (f - f0), y, 20, 60};
    gt[f].push_back(g);
  }
}

} // namespace

TEST_SUITE("crosscam_truth") {
  TEST_CASE("a visit is where the foot point is, and lasts at least 5 frames") {
    std::map<int, std::vector<gt_box>> gt;
    // Person 1 walks right 10 px a frame: foot x = 10 + 10 f crosses x = 100 at f = 9.
    walk(gt, 1, 0, 19, 0, 10);
    // Person 2: 4 frames on camera 2 only -> too short to count.
    walk(gt, 2, 0, 3, 150, 0);
    std::vector<virtual_camera> cams{crop_camera(1, 0, 0, 100, 400), crop_camera(2, 100, 0, 300, 400)};
    auto rows = true_presence(gt, cams);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].person_id == 1);
    CHECK(rows[0].camera_id == 1);
    CHECK(rows[0].enter_ms == 0);
    CHECK(rows[0].exit_ms == 800); // frames 0..8 at 10 fps
    CHECK(rows[1].camera_id == 2);
    CHECK(rows[1].enter_ms == 900);
    CHECK(rows[1].exit_ms == 1900);
    // Cut at 12 frames: camera 2 holds frames 9..11 only (3 < 5): gone.
    auto cut = true_presence(gt, cams, 10, 5, 12);
    REQUIRE(cut.size() == 1);
    CHECK(cut[0].camera_id == 1);
  }

  TEST_CASE("the foot point, not the box centre, decides") {
    std::map<int, std::vector<gt_box>> gt;
    walk(gt, 3, 0, 9, 50, 0, 100); // box y 100..160: centre 130, foot 160
    std::vector<virtual_camera> cams{crop_camera(1, 0, 0, 200, 150), crop_camera(2, 0, 150, 200, 150)};
    auto rows = true_presence(gt, cams);
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].camera_id == 2);
  }

  TEST_CASE("a warped camera sees what its quadrilateral holds, through the same homography") {
    // A trapezoid narrower at the top, warped onto a 100 x 200 image.
    warp_quad q{cv::Point2d{40, 0}, cv::Point2d{60, 0}, cv::Point2d{100, 200}, cv::Point2d{0, 200}};
    virtual_camera c = crop_camera(1, 0, 0, 100, 200);
    c.to_view = warp_homography(q, {100, 200});
    std::map<int, std::vector<gt_box>> gt;
    walk(gt, 1, 0, 9, 0, 0, 0); // foot (10, 60): left of the trapezoid's edge there
    walk(gt, 2, 0, 9, 40, 0, 100); // foot (50, 160): inside
    auto rows = true_presence(gt, {c});
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].person_id == 2);
    // Its ground-truth box in camera pixels: the mapped corners' bounds, its
    // foot point where the homography puts it.
    auto boxes = camera_ground_truth(gt, c);
    REQUIRE(boxes.size() == 10);
    CHECK(boxes[0].frame == 1);
    CHECK(boxes[0].id == 2);
    auto foot = apply_homography(c.to_view, {50, 160});
    CHECK(boxes[0].top + boxes[0].height == doctest::Approx(foot.y));
    CHECK(boxes[0].left < foot.x);
    CHECK(boxes[0].left + boxes[0].width > foot.x);
  }

  TEST_CASE("a crop's ground truth is translated and clipped") {
    std::map<int, std::vector<gt_box>> gt;
    walk(gt, 1, 0, 0, 90, 0, 100); // x 90..110, foot x 100 -> camera 2 (x >= 100)
    auto boxes = camera_ground_truth(gt, crop_camera(2, 100, 0, 300, 400));
    REQUIRE(boxes.size() == 1);
    CHECK(boxes[0].left == 0);
    CHECK(boxes[0].width == 10);
    CHECK(boxes[0].top == 100);
    CHECK(boxes[0].height == 60);
    CHECK(camera_ground_truth(gt, crop_camera(1, 0, 0, 100, 400)).empty());
    // A box the ground truth says to ignore is no box to find.
    gt[0][0].consider = false;
    CHECK(camera_ground_truth(gt, crop_camera(2, 100, 0, 300, 400)).empty());
  }

  TEST_CASE("each track's true person: the one its boxes overlap most, when often enough") {
    auto box = [](int64_t frame, int64_t id, double x) {
      mot::box_row r;
      r.frame = frame, r.id = id, r.left = x, r.top = 0, r.width = 20, r.height = 60;
      return r;
    };
    std::vector<mot::box_row> truth, tracks;
    for (int64_t f = 1; f <= 10; ++f) {
      truth.push_back(box(f, 7, 0));
      truth.push_back(box(f, 8, 100));
      tracks.push_back(box(f, 1, f <= 7 ? 2 : 100)); // person 7 for 7 frames, then 8
      tracks.push_back(box(f, 2, 300)); // nobody there
    }
    for (int64_t f = 1; f <= 6; ++f) tracks.push_back(box(f, 3, f <= 1 ? 100 : 300)); // 8, but 1 box of 6
    auto t = track_truth(tracks, truth);
    CHECK(t.at(1) == 7);
    CHECK(t.count(2) == 0);
    CHECK(t.count(3) == 0);
    CHECK(track_truth(tracks, truth, 0.5, 0.15).at(3) == 8);
    // A box beside its person (IoU 0.33 at 10 px off for 20 px wide) is not theirs.
    CHECK(track_truth({box(1, 4, 10)}, {box(1, 7, 0)}).empty());
  }

  TEST_CASE("a person cut by a view's edge is its tracks' true person, though present on the next view") {
    // Box y 100..160 on a strip of rows 0..130 over another of rows 130..400:
    // the foot stands on the lower strip, the upper sees the top 30 rows.
    std::map<int, std::vector<gt_box>> gt;
    walk(gt, 5, 0, 9, 40, 0);
    const auto upper = crop_camera(1, 0, 0, 200, 130), lower = crop_camera(2, 0, 130, 200, 270);
    CHECK(camera_ground_truth(gt, upper).empty()); // not present there
    auto cut = camera_ground_truth(gt, upper, 0, true);
    REQUIRE(cut.size() == 10);
    CHECK(cut[0].id == 5);
    CHECK(cut[0].top == 100);
    CHECK(cut[0].height == 30);
    // The upper camera's track of their visible part is theirs: re-id hands
    // its presence to the lower view, where it is judged as theirs.
    std::vector<mot::box_row> tracks;
    for (int64_t f = 1; f <= 10; ++f) {
      mot::box_row r;
      r.frame = f, r.id = 3, r.left = 41, r.top = 101, r.width = 19, r.height = 29;
      tracks.push_back(r);
    }
    auto t = camera_track_truth(tracks, gt, upper);
    REQUIRE(t.count(3) == 1);
    CHECK(t.at(3) == 5);
    // A person wholly in the lower view is nobody's on the upper one.
    std::map<int, std::vector<gt_box>> low;
    walk(low, 6, 0, 9, 40, 0, 200);
    CHECK(camera_ground_truth(low, upper, 0, true).empty());
    CHECK(camera_ground_truth(low, lower, 0, true).size() == 10);
  }

  TEST_CASE("pairwise identity decisions: right, wrong and missed joins, one camera and two apart") {
    // Found person 1 = true 7 on cameras 1 and 2 plus a stranger (true 8) on
    // camera 2; true 7 also on camera 3 under found person 2.
    std::vector<judged_track> t{{1, 1, 7}, {2, 1, 7}, {2, 1, 8}, {3, 2, 7}, {1, 3, 9}};
    auto c = count_links(t);
    CHECK(c.cross_camera.right == 1); // (1,1,7)-(2,1,7)
    CHECK(c.cross_camera.wrong == 1); // (1,1,7)-(2,1,8)
    CHECK(c.same_camera.wrong == 1); // (2,1,7)-(2,1,8)
    CHECK(c.cross_camera.missed == 2); // (3,2,7) with each of the other two 7s
    CHECK(c.same_camera.right == 0);
    CHECK(c.same_camera.missed == 0);
    CHECK(count_links({}).cross_camera.wrong == 0);
  }
}

TEST_CASE("transition_parts_of: true transitions carried apart from invented ones") {
  // True 7 walks 1 -> 2 and keeps found id 1; true 8 walks 1 -> 2 but is
  // split (ids 2 and 3); found id 4 joins true 9 on camera 1 with true 10
  // on camera 2 (invented); id 5 leaves camera 1 and reaches camera 2 after
  // the transit bound; id 6's visit to camera 1 lies within its visit to
  // camera 2 (no transition either way).
  std::vector<judged_presence> t{{1, 1, 7, 0, 1000},    {2, 1, 7, 1500, 3000},    {1, 2, 8, 0, 1000},
                                 {2, 3, 8, 1200, 3000}, {1, 4, 9, 0, 1000},       {2, 4, 10, 1100, 2000},
                                 {1, 5, 11, 0, 1000},   {2, 5, 11, 70000, 71000}, {2, 6, 12, 0, 1000},
                                 {1, 6, 12, 500, 900}};
  auto p = transition_parts_of(t, 60000);
  CHECK(p.carried == 1); // true 7 on 1 -> 2
  CHECK(p.invented == 1); // found 4
  // No transit bound: id 5's walk counts too.
  CHECK(transition_parts_of(t, -1).carried == 2);
  // A track of nobody (truth unknown) makes no transition real.
  std::vector<judged_presence> u{{1, 1, -1, 0, 1000}, {2, 1, -1, 1500, 3000}};
  CHECK(transition_parts_of(u, 60000).carried == 0);
  CHECK(transition_parts_of(u, 60000).invented == 1);
  // The same true person carried by a found person that also holds a
  // stranger on the same pair: carried, and that person is not invented.
  std::vector<judged_presence> v{{1, 1, 7, 0, 1000}, {2, 1, 7, 1500, 3000}, {2, 1, 8, 4000, 5000}};
  CHECK(transition_parts_of(v, 60000).carried == 1);
  CHECK(transition_parts_of(v, 60000).invented == 0);
}
