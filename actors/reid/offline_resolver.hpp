// Offline re-resolution: re-solves the person ids of a closed time window's
// tracklets globally, after the fact, where online re-id had to decide each
// track as it ended. Pure algorithm, no CAF, no store (see resolve_pass for
// the store side).
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "actors/reid/reid_engine.hpp"
#include "base/types.hpp"

namespace weaver {

struct resolver_config {
  // Two groups of tracklets become one person while the mean score of the
  // pairs between them (appearance similarity plus the bonuses below) is at
  // least this. Tuned with the bonuses on `weaver eval crosscam --seed 1`
  // layouts (0.77-0.89 gave X -> Y errors 0.38-0.42 there; this one also
  // kept the every-camera error lowest).
  float link_threshold = 0.83f;
  // Pairs further apart in time than this are not compared (a person who
  // comes back later keeps separate ids, as online): bounds the cost.
  int64_t max_gap_ms = 60000;
  // Space-time evidence, added to the appearance similarity of a pair:
  // - a handover: the earlier one left its view at an edge, the later one
  //   entered its (another camera's) view at an edge, within a plausible
  //   transit time (learned from the window's online links per camera pair,
  //   else configured, else [0, handover_ms]);
  float handover_bonus = 0.10f;
  int64_t handover_ms = 2000;
  // - a fragment: same camera, the later one starts within fragment_ms of
  //   the earlier one's end, near where it ended (fragment_px_per_s of
  //   movement plus one box height).
  float fragment_bonus = 0.08f;
  int64_t fragment_ms = 4000;
  float fragment_px_per_s = 150.f;
  // An edge is within this share of the camera's extent (estimated from all
  // of the window's boxes on that camera) from its border.
  float edge_share = 0.08f;
  // Views that do not overlap may still share a person this long (crossing
  // a shared edge, they are seen on both for a moment).
  int64_t touch_ms = 1500;
  // Views overlap (one person may be on both at once) when configured
  // (reid.links with negative min_transit_ms) or when online put at least
  // this many people on both at once for overlap_min_ms or more.
  int overlap_min_people = 2;
  int64_t overlap_min_ms = 1000;
  // Start from the online people (true) or from single tracklets (false).
  // From the online people, the pass only corrects: it splits what breaks a
  // constraint and merges groups whose evidence reaches link_threshold.
  // Measured with the topology on, `weaver eval crosscam --seed 1 --replay`:
  // X -> Y error online 97 of 253, after the pass 79 (from single
  // tracklets: 108, worse than online on 4 of the 6 layouts; from the
  // online people: no layout worse). online_bonus is added to pairs online
  // put together.
  bool from_online = true;
  float online_bonus = 0.02f;
  // Learned transit of a camera pair needs this many online links.
  int transit_min_links = 2;
  std::vector<camera_link> links; // reid.links: transit bounds, overlaps
};

/// The result for one window's tracklets (in the input order).
struct resolution {
  std::vector<uint64_t> person; // per tracklet: its person now
  std::vector<size_t> moved; // tracklets whose person changed (not by a merge)
  std::vector<person_merge> merges; // whole online people found to be another
  size_t people = 0; // distinct people in the window
  size_t split_out = 0; // tracklets taken out of an online person for a constraint
};

/// Constrained agglomerative clustering of tracklets:
/// 1. Starts from single tracklets, or (from_online) from the online people
///    with each tracklet that breaks a constraint with its person taken out
///    on its own (a split). The constraints: one person is never on one camera twice at once, nor on
///    two cameras at once unless their views overlap, and a walk between
///    configured linked cameras takes at least the link's min transit.
/// 2. Merges, best first, the two groups with the highest mean pair score
///    (pairs within max_gap_ms with features on both) while it reaches
///    link_threshold and the merged group keeps every constraint.
/// 3. Names each group: the online id holding most of its tracklets (each
///    id to one group, largest groups first), else a new id from `next_id`
///    up. An online person whose window tracklets all went to one other
///    group is reported as a merge, other changes as moves.
/// From the online people, steps 1-3 repeat on their own result until it no
/// longer changes: the evidence (overlapping views, transit times) is learnt
/// from the people given, which the pass changes. So the result is a fixed
/// point, and a second pass over it changes nothing.
/// Deterministic: the same tracklets in the same order give the same result.
class offline_resolver {
public:
  explicit offline_resolver(resolver_config cfg = {});

  resolution resolve(const std::vector<tracklet>& tracklets, uint64_t next_id) const;

  /// Whether one person may be on tracklets a and b (the constraints above;
  /// `overlap` = the two cameras' views overlap).
  bool compatible(const tracklet& a, const tracklet& b, bool overlap) const;

private:
  /// Steps 1-3 once, evidence learnt from `in`'s person ids.
  resolution resolve_once(const std::vector<tracklet>& in, uint64_t next_id) const;

  resolver_config cfg_;
};

} // namespace weaver
