// Compact wire encodings (issue 17): what a stage puts on a link so the
// codec can write it small without losing anything the receiver uses.
//
// The codec stays lossless: it writes a feature as int8 only when every
// value is exactly q * 2^exp (|q| <= 127, one exponent per vector) and a box
// as int16 quarter pixels only when it sits on that grid, else as floats.
// A sending stage that wants the small form first moves its values onto
// those grids (to_int8_grid, to_quarter_pixels) and drops what no consumer
// reads (compact_for_link), so the receiver in another process and the one
// in the same process see the very same numbers. No CAF, no FlatBuffers.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "base/types.hpp"

namespace weaver::compact {

/// A feature as int8 steps of a power of two: value[i] = q[i] * 2^exp.
struct int8_feature {
  std::vector<int8_t> q;
  int exp = 0;
};

/// Exponents a decoder accepts: every q * 2^exp is then a normal, finite
/// float (|q| <= 127).
constexpr int min_exp = -120, max_exp = 24;

/// The exact int8 form of `v`, nullopt when some value is not on the grid
/// of its largest magnitude (or is not finite). An all-zero vector is q = 0.
std::optional<int8_feature> exact_int8(const std::vector<float>& v);

/// `v` moved onto its int8 grid: the smallest power-of-two step that keeps
/// the largest magnitude within 127 steps, each value rounded to a step.
/// Every |error| <= step / 2 < max|v| / 127; exact_int8 of the result holds.
/// Values that cannot be gridded (non-finite, or a step outside
/// min_exp..max_exp) leave `v` unchanged.
std::vector<float> to_int8_grid(const std::vector<float>& v);

/// Back to floats (exact).
std::vector<float> from_int8(const int8_t* q, size_t n, int exp);

/// Boxes as int16 quarter pixels (|coordinate| < 8192 px).
constexpr float box_steps_per_px = 4.f;
std::optional<std::array<int16_t, 4>> exact_quarter_pixels(const box& b);
/// Each coordinate rounded to the nearest quarter pixel (|error| <= 1/8 px);
/// a box out of int16 range is left as it is (it goes as floats).
box to_quarter_pixels(const box& b);
box from_quarter_pixels(const std::array<int16_t, 4>& q);

/// Which appearance vector the tracker reads from a detection: its
/// hand-crafted descriptor, or the DNN embedding when there is one
/// (tracker.appearance: handcrafted / dnn).
enum class appearance { handcrafted, dnn };

/// detector->tracker: keeps only the appearance vector the tracker reads
/// (the other is dropped), on the int8 grid. Boxes are left exact (the
/// tracker's IoU and zone tests see them).
void compact_for_link(detection_batch& b, appearance used);

/// tracker->reid: re-id reads a track's appearance only from its ended
/// event (the track's mean): started / updated events lose theirs, and no
/// event keeps its score (re-id reads none). Ended features go on the int8
/// grid; boxes on quarter pixels. With `update_features` (re-id in the same
/// process guesses live person ids from them: actors/reid/live_identity)
/// started / updated events keep theirs, on the int8 grid too.
void compact_for_link(track_batch& b, bool update_features = false);

/// tracker->reid in another process, with live person ids: an updated
/// event keeps its feature only if its track's last kept one (`kept`: track
/// -> camera time, one camera's) is at least `every_ms` older; the track's
/// first always. Live ids need a few features per track, not one per frame
/// (five a second cost 1/5 of the bytes). Ended tracks leave `kept`.
void thin_update_features(track_batch& b, std::map<uint64_t, timestamp_ms>& kept, int64_t every_ms);

} // namespace weaver::compact
