// A hand-crafted appearance descriptor for person crops: colour layout that
// survives the change of camera well enough for re-identification when no
// learned embedding is available. Pure algorithm, no CAF.
#pragma once

#include <cstddef>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "actors/types.hpp"

namespace weaver {

/// Horizontal body stripes (head/shoulders, torso, hips, legs).
constexpr size_t appearance_stripes = 4;
constexpr size_t appearance_hue_bins = 8;
constexpr size_t appearance_sat_bins = 4;
constexpr size_t appearance_val_bins = 4;
constexpr size_t appearance_grad_bins = 8;   // texture: gradient orientations
constexpr size_t appearance_stripe_dims
  = appearance_hue_bins * appearance_sat_bins + appearance_val_bins + appearance_grad_bins;
/// Length of every descriptor.
constexpr size_t appearance_dims = appearance_stripes * appearance_stripe_dims;

/// Descriptor of box `b` in the BGR8 image `bgr`: per stripe a hue x
/// saturation histogram (achromatic pixels in one bin, since their hue is
/// noise), a value histogram at half weight (brightness follows exposure
/// more than clothes) and a texture histogram (unsigned gradient
/// orientations of the brightness, weighted by gradient magnitude: stripes,
/// checks and plain cloth differ), each normalised to its total and
/// square-rooted (Hellinger, so cosine similarity compares distributions),
/// then all concatenated and L2-normalised. The box is clamped to the image
/// and its outer 15% left and right are skipped (mostly background). Returns
/// `appearance_dims` zeros when nothing is left or the image is not BGR8.
std::vector<float> appearance_descriptor(const cv::Mat& bgr, const box& b);

/// Cosine similarity in [-1, 1]; 0 when either vector is empty or zero, or
/// when their lengths differ.
/// Scales `v` to unit length (left as is when all zero).
void l2_normalise(std::vector<float>& v);

float cosine_similarity(const std::vector<float>& a, const std::vector<float>& b);

} // namespace weaver
