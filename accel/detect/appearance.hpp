// A hand-crafted appearance descriptor for person crops: colour layout that
// survives the change of camera well enough for re-identification when no
// learned embedding is available. Pure algorithm, no CAF.
#pragma once

#include <cstddef>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "base/types.hpp"

namespace weaver {

/// Horizontal body stripes (head/shoulders, torso, hips, legs).
constexpr size_t appearance_stripes = 4;
constexpr size_t appearance_hue_bins = 8;
constexpr size_t appearance_sat_bins = 4;
constexpr size_t appearance_val_bins = 4;
constexpr size_t appearance_grad_bins = 8; // texture: gradient orientations
constexpr size_t appearance_stripe_dims =
  appearance_hue_bins * appearance_sat_bins + appearance_val_bins + appearance_grad_bins;
/// Length of every descriptor.
constexpr size_t appearance_dims = appearance_stripes * appearance_stripe_dims;

/// How the descriptor weighs a box's pixels. The defaults are what the
/// pipeline uses; the other settings exist so `weaver eval appearance` can
/// measure them (figures in the README).
struct appearance_options {
  // Centre weighting: a pixel's weight falls off as a Gaussian of its
  // horizontal distance from the box's axis (sigma in half-widths), instead
  // of skipping the outer 15% left and right. 0 = the 15% cut.
  // Centre weighting (0.4) and the surround separate people better in
  // `weaver eval appearance`, and with today's re-id and offline pass they
  // give fewer invented walks and a higher IDF1 on every replayed layout set
  // (README, "Centre + surround, the default since 2026-12-07").
  float centre_sigma = 0.4f;
  // Foreground by contrast with the surround: colours as common in a ring
  // around the box as inside it are background (pavement, walls), so their
  // pixels weigh less. No background model is needed, so any card and
  // any detector can compute it from the frame alone.
  bool surround = true;
  // A person cut by the image's top or bottom edge: stripes are laid over
  // the whole body the box's width suggests, not over the visible part, so
  // the legs of a person cut at the waist still land in the leg stripes.
  bool partial = false;
  float texture_weight = 0.25f; // texture histograms' share beside colour
  float value_weight = 0.5f; // brightness histograms' share
  // Optional foreground mask of the whole image (8-bit, 0 = background),
  // e.g. from a background model; masked pixels are not counted.
  const cv::Mat* mask = nullptr;
};

/// The options before centre weighting and the surround: every pixel of the
/// box's middle counts alike. `weaver track --appearance handcrafted` keeps
/// it (Deep SORT's gates were tuned on it), `weaver eval appearance` calls
/// it `base`.
appearance_options plain_appearance_options();

/// Descriptor of box `b` in the BGR8 image `bgr`: per stripe a hue x
/// saturation histogram (achromatic pixels in one bin, since their hue is
/// noise), a value histogram (brightness follows exposure more than
/// clothes, so it weighs less) and a texture histogram (unsigned gradient
/// orientations of the brightness, weighted by gradient magnitude: stripes,
/// checks and plain cloth differ), each normalised to its total and
/// square-rooted (Hellinger, so cosine similarity compares distributions),
/// then all concatenated and L2-normalised. Pixels are weighted as `o` says.
/// The box is clamped to the image. Returns `appearance_dims` zeros when
/// nothing is left or the image is not BGR8.
std::vector<float> appearance_descriptor(const cv::Mat& bgr, const box& b, const appearance_options& o);

/// The same with the pipeline's options.
std::vector<float> appearance_descriptor(const cv::Mat& bgr, const box& b);

/// Settings of appearance_quality (the defaults are the pipeline's).
struct appearance_quality_options {
  // Measured on seed 1's layouts (README): size alone helped; the border and
  // cover factors cost rank-1 (a person at a view's edge is what the
  // neighbouring view sees too), so they are off (1 and 0).
  float full_height = 80; // px; a box this tall or taller loses nothing for its size
  float border = 1.0f; // factor for a box within 2 px of the image's border
  float occlusion = 0.0f; // exponent on (1 - share of the box others cover)
};

/// What one detection's descriptor is worth in its track's mean appearance,
/// in (0, 1]: the detector's score (1 when unknown, i.e. <= 0), times less
/// for a small box (fewer, blurrier pixels), for a box at the image's border
/// (the person is cut, so the stripes misalign) and for the share of the box
/// other boxes cover (someone else's clothes inside). `image` may be empty
/// (then no border test).
float appearance_quality(const box& b, float score, cv::Size image, const std::vector<box>& others,
                         const appearance_quality_options& o = {});

/// Scales `v` to unit length (left as is when all zero).
void l2_normalise(std::vector<float>& v);

/// Cosine similarity in [-1, 1]; 0 when either vector is empty or zero, or
/// when their lengths differ.
float cosine_similarity(const std::vector<float>& a, const std::vector<float>& b);

} // namespace weaver
