// Per-camera events from tracks that the query side needs: entering and
// leaving configured zones (polygons) and crossing configured lines, in the
// camera's pixels. A person's position is the bottom centre of their box
// (where they stand), which is what floor zones and door lines are drawn
// against. Pure algorithm, no CAF.
#pragma once

#include <cstdint>
#include <map>

#include <string>
#include <utility>
#include <vector>

#include "base/types.hpp"

namespace weaver {

struct point2 {
  float x = 0, y = 0;
};

struct zone_def {
  std::string name;
  std::vector<point2> polygon; // >= 3 vertices, either winding
};

/// A directed line: crossing it from its left side to its right side (as
/// seen walking from `a` to `b`, image y pointing down) is "forward".
struct line_def {
  std::string name;
  point2 a, b;
};

enum class zone_event_kind { enter, exit, cross_forward, cross_backward };
const char* to_string(zone_event_kind k);

struct zone_event {
  uint32_t camera_id = 0;
  uint64_t track_id = 0;
  std::string name; // zone or line
  zone_event_kind kind = zone_event_kind::enter;
  timestamp_ms time_ms = 0;
  timestamp_ms entered_ms = 0; // exit: when the track entered the zone
};

class zone_monitor {
public:
  zone_monitor(uint32_t camera_id, std::vector<zone_def> zones, std::vector<line_def> lines);

  /// Events of one frame's track events, in track order then zone order.
  /// A started track that begins inside a zone enters it; an ended track
  /// leaves every zone it was in.
  std::vector<zone_event> update(const track_batch& b);

  /// New zones and lines from now on (a runtime edit), the tracks kept: a
  /// stay in a zone whose name is still there carries on, and the next
  /// update decides with the new polygon; a stay in a zone no longer there
  /// ends now, and its exit (at the track's last time seen) is returned.
  /// Lines are replaced outright (a crossing is a step between two frames).
  std::vector<zone_event> replace(std::vector<zone_def> zones, std::vector<line_def> lines);

  const std::vector<zone_def>& zones() const { return zones_; }
  const std::vector<line_def>& lines() const { return lines_; }

  bool empty() const { return zones_.empty() && lines_.empty(); }
  uint32_t camera_id() const { return camera_id_; }

  /// Which tracks are where and inside which zones since when, as JSON text,
  /// so a restarted tracker neither re-enters nor forgets a stay; restore()
  /// takes what snapshot() gave (zones no longer configured are dropped;
  /// throws on a malformed text, state unchanged).
  std::string snapshot() const;
  void restore(const std::string& text);

private:
  struct track_state_ {
    point2 last;
    timestamp_ms last_ms = 0; // when it was last seen (exits of removed zones)
    std::map<size_t, timestamp_ms> inside; // zone index -> entered at
  };
  uint32_t camera_id_;
  std::vector<zone_def> zones_;
  std::vector<line_def> lines_;
  std::map<uint64_t, track_state_> tracks_;
};

/// Whether `p` lies inside `polygon` (even-odd rule; boundary counts as in
/// for the left and top edges only, so adjacent zones never both claim it).
bool inside_polygon(const std::vector<point2>& polygon, point2 p);

} // namespace weaver
