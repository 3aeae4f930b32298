#include "accel/engine/int8_layers.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace weaver::engine::quant {

namespace {

// requantize(acc, f) then clamp to [lo, hi], for the common case of a right
// shift (1 <= 31 - shift <= 62): the rounding shift, ties away from zero, is
// (p + half - (p < 0)) >> right on the exact product, without branches.
struct fast_multiplier {
  int64_t m0 = 0, half = 0;
  int right = 0;
  bool general = true; // another shift: quant::requantize itself
  fixed_multiplier f;
};

fast_multiplier fast(fixed_multiplier f) {
  fast_multiplier r;
  r.f = f;
  r.m0 = f.m0;
  r.right = 31 - f.shift;
  r.general = r.right < 1 || r.right > 62;
  if (!r.general) r.half = int64_t{1} << (r.right - 1);
  return r;
}

// The hot loops get an AVX-512 build beside the baseline one (chosen at run
// time): the exact int64 products vectorise there (vpmuldq, vpsravq), which
// SSE2 cannot. GCC only (clang's sanitizer build keeps the baseline).
// `omp simd` likewise GCC only: clang with the fuzzing build's sanitizers
// cannot vectorise these loops and says so as an error (-Wpass-failed).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define WEAVER_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WEAVER_SIMD_CLONES
#endif
#if defined(__GNUC__) && !defined(__clang__)
#define WEAVER_OMP_SIMD _Pragma("omp simd")
#else
#define WEAVER_OMP_SIMD
#endif

// The fast rule on raw numbers: round(v * m0 / 2^right), ties away from
// zero, clamped to [lo, hi]; 1 <= right <= 62.
inline int32_t round_shift(int32_t v, int64_t m0, int64_t half, int64_t right, int32_t lo, int32_t hi) {
  const int64_t p = static_cast<int64_t>(v) * m0;
  const int64_t q = (p + half - (p < 0 ? 1 : 0)) >> right;
  return static_cast<int32_t>(q < lo ? lo : q > hi ? hi : q);
}

inline int32_t apply(int32_t acc, const fast_multiplier& f, int32_t lo, int32_t hi) {
  int64_t q;
  if (f.general) {
    q = requantize(acc, f.f);
  } else {
    const int64_t p = static_cast<int64_t>(acc) * f.m0;
    q = (p + f.half - (p < 0 ? 1 : 0)) >> f.right;
  }
  return static_cast<int32_t>(q < lo ? lo : q > hi ? hi : q);
}

inline void put(uint8_t* out, int32_t v) { *out = static_cast<uint8_t>(v); }

} // namespace

void conv_multipliers(float s_in, const std::vector<float>& s_w, float s_out, const attrs& a,
                      std::vector<fixed_multiplier>& m, std::vector<fixed_multiplier>& m_neg) {
  m.clear();
  m_neg.clear();
  for (float sw : s_w) {
    const double r = static_cast<double>(s_in) * sw / s_out;
    m.push_back(to_fixed(r));
    if (a.activation == act::leaky) m_neg.push_back(to_fixed(r * a.alpha));
  }
}

namespace {

WEAVER_SIMD_CLONES
void requantize_rows(const int32_t* __restrict acc, int64_t pixels, int64_t co, const int32_t* __restrict b,
                     const int64_t* __restrict pm, const int64_t* __restrict ph, const int64_t* __restrict pr,
                     const int64_t* __restrict nm, const int64_t* __restrict nh, const int64_t* __restrict nr,
                     int32_t lo, int32_t hi, uint8_t* __restrict out) {
  const bool two = nm != pm; // leaky: another multiplier below zero
  for (int64_t p = 0; p < pixels; ++p) {
    const int32_t* s = acc + p * co;
    uint8_t* d = out + p * co;
    if (!two) {
      WEAVER_OMP_SIMD
      for (int64_t c = 0; c < co; ++c)
        d[c] = static_cast<uint8_t>(round_shift(s[c] + b[c], pm[c], ph[c], pr[c], lo, hi));
      continue;
    }
    WEAVER_OMP_SIMD
    for (int64_t c = 0; c < co; ++c) {
      const int32_t v = s[c] + b[c];
      const bool neg = v < 0;
      d[c] =
        static_cast<uint8_t>(round_shift(v, neg ? nm[c] : pm[c], neg ? nh[c] : ph[c], neg ? nr[c] : pr[c], lo, hi));
    }
  }
}

WEAVER_SIMD_CLONES
void max_rows(const uint8_t* __restrict s, uint8_t* __restrict d, int64_t n, uint8_t flip) {
  WEAVER_OMP_SIMD
  for (int64_t c = 0; c < n; ++c) {
    const auto v = static_cast<uint8_t>(s[c] ^ flip);
    d[c] = d[c] < v ? v : d[c];
  }
}

WEAVER_SIMD_CLONES
void add_rows(const uint8_t* __restrict x, bool xs, const uint8_t* __restrict y, bool ys, int64_t n, int64_t am,
              int64_t ah, int64_t ar, int64_t bm, int64_t bh, int64_t br, int64_t om, int64_t oh, int64_t orr,
              int32_t lo, int32_t hi, uint8_t* __restrict out) {
  constexpr int32_t big = std::numeric_limits<int32_t>::max();
  WEAVER_OMP_SIMD
  for (int64_t i = 0; i < n; ++i) {
    const int32_t xv = xs ? static_cast<int8_t>(x[i]) : x[i], yv = ys ? static_cast<int8_t>(y[i]) : y[i];
    const int32_t a = round_shift(xv, am, ah, ar, -big - 1, big), b = round_shift(yv, bm, bh, br, -big - 1, big);
    const int64_t sum64 = int64_t{a} + b;
    const int32_t sum = static_cast<int32_t>(sum64 < -big - 1 ? -big - 1 : sum64 > big ? big : sum64);
    out[i] = static_cast<uint8_t>(round_shift(sum, om, oh, orr, lo, hi));
  }
}

WEAVER_SIMD_CLONES
void resize_row(const uint8_t* __restrict tl, const uint8_t* __restrict tr, const uint8_t* __restrict bl,
                const uint8_t* __restrict br, bool sgn, int64_t n, int32_t fx, int32_t fy, int64_t m0, int64_t half,
                int64_t right, int32_t lo, int32_t hi, uint8_t* __restrict d) {
  WEAVER_OMP_SIMD
  for (int64_t c = 0; c < n; ++c) {
    const int32_t a = sgn ? static_cast<int8_t>(tl[c]) : tl[c], b = sgn ? static_cast<int8_t>(tr[c]) : tr[c];
    const int32_t e = sgn ? static_cast<int8_t>(bl[c]) : bl[c], g = sgn ? static_cast<int8_t>(br[c]) : br[c];
    const int32_t top = a * (256 - fx) + b * fx, bot = e * (256 - fx) + g * fx;
    d[c] = static_cast<uint8_t>(round_shift(top * (256 - fy) + bot * fy, m0, half, right, lo, hi));
  }
}

WEAVER_SIMD_CLONES
void copy_row(const uint8_t* __restrict s, bool sgn, int64_t n, int64_t m0, int64_t half, int64_t right, int32_t lo,
              int32_t hi, uint8_t* __restrict d) {
  WEAVER_OMP_SIMD
  for (int64_t k = 0; k < n; ++k) {
    const int32_t v = sgn ? static_cast<int8_t>(s[k]) : s[k];
    d[k] = static_cast<uint8_t>(round_shift(v, m0, half, right, lo, hi));
  }
}

} // namespace

void requantize_conv(const int32_t* acc, int64_t pixels, int64_t co, const std::vector<int32_t>& bias,
                     const std::vector<fixed_multiplier>& m, const std::vector<fixed_multiplier>& m_neg, const attrs& a,
                     bool out_signed, uint8_t* out) {
  const bool relu = a.activation == act::relu, leaky = a.activation == act::leaky;
  if (a.activation != act::none && !relu && !leaky) throw model_error("requantize_conv: only relu, leaky or none");
  if (static_cast<int64_t>(m.size()) != co || (leaky && m_neg.size() != m.size())
      || (!bias.empty() && static_cast<int64_t>(bias.size()) != co))
    throw model_error("requantize_conv: one multiplier (and bias) per channel");
  std::vector<fast_multiplier> fm(static_cast<size_t>(co)), fn(leaky ? static_cast<size_t>(co) : 0);
  bool general = false;
  for (int64_t c = 0; c < co; ++c) {
    fm[static_cast<size_t>(c)] = fast(m[static_cast<size_t>(c)]);
    general = general || fm[static_cast<size_t>(c)].general;
    if (leaky) {
      fn[static_cast<size_t>(c)] = fast(m_neg[static_cast<size_t>(c)]);
      general = general || fn[static_cast<size_t>(c)].general;
    }
  }
  std::vector<int32_t> b(static_cast<size_t>(co), 0);
  if (!bias.empty()) b = bias;
  const int32_t lo = relu ? std::max(code_lo(out_signed), 0) : code_lo(out_signed), hi = code_hi(out_signed);
  if (general) { // a multiplier of 1 or more, or below 2^-31: rare, scalar
    for (int64_t p = 0; p < pixels; ++p)
      for (int64_t c = 0; c < co; ++c) {
        const int32_t v = acc[p * co + c] + b[static_cast<size_t>(c)];
        put(out + p * co + c,
            apply(v, leaky && v < 0 ? fn[static_cast<size_t>(c)] : fm[static_cast<size_t>(c)], lo, hi));
      }
    return;
  }
  // Per channel: multiplier, half and shift for v >= 0 and (leaky) v < 0.
  std::vector<int64_t> pm(static_cast<size_t>(co)), ph(pm.size()), pr(pm.size()), nm(leaky ? pm.size() : 0),
    nh(nm.size()), nr(nm.size());
  for (size_t c = 0; c < pm.size(); ++c) {
    pm[c] = fm[c].m0;
    ph[c] = fm[c].half;
    pr[c] = fm[c].right;
    if (!leaky) continue;
    nm[c] = fn[c].m0;
    nh[c] = fn[c].half;
    nr[c] = fn[c].right;
  }
  const auto& n = leaky ? nm : pm; // no leaky: the same arrays, one multiplier
  requantize_rows(acc, pixels, co, b.data(), pm.data(), ph.data(), pr.data(), n.data(), (leaky ? nh : ph).data(),
                  (leaky ? nr : pr).data(), lo, hi, out);
}

void max_pool_codes(const uint8_t* in, const shape_t& is, bool is_signed, const attrs& a, uint8_t* out,
                    const shape_t& os) {
  const int64_t N = is[0], H = is[1], W = is[2], C = is[3], Ho = os[1], Wo = os[2];
  std::vector<int32_t> best(static_cast<size_t>(C));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oy = 0; oy < Ho; ++oy) {
      const int64_t wy = oy * a.stride[0] - a.pads[0];
      const int64_t y0 = std::max<int64_t>(wy, 0), y1 = std::min<int64_t>(wy + a.kernel[0], H);
      for (int64_t ox = 0; ox < Wo; ++ox) {
        const int64_t wx = ox * a.stride[1] - a.pads[1];
        const int64_t x0 = std::max<int64_t>(wx, 0), x1 = std::min<int64_t>(wx + a.kernel[1], W);
        uint8_t* d = out + ((n * Ho + oy) * Wo + ox) * C;
        if (y0 >= y1 || x0 >= x1) {
          std::fill(d, d + C, uint8_t{0});
          continue;
        }
        // Max of the codes as bytes: for s8, flipping the sign bit maps the
        // order of int8 onto that of uint8.
        const uint8_t flip = is_signed ? 0x80 : 0;
        for (int64_t c = 0; c < C; ++c) d[c] = 0;
        for (int64_t y = y0; y < y1; ++y)
          for (int64_t x = x0; x < x1; ++x) {
            max_rows(in + ((n * H + y) * W + x) * C, d, C, flip);
          }
        for (int64_t c = 0; c < C; ++c) d[c] = static_cast<uint8_t>(d[c] ^ flip);
      }
    }
}

add_multipliers add_multipliers_for(float sa, float sb, float so) {
  return {to_fixed(256.0 * sa / so), to_fixed(256.0 * sb / so), to_fixed(1.0 / 256.0)};
}

void add_codes(const uint8_t* x, bool xs, const uint8_t* y, bool ys, int64_t n, const add_multipliers& m, uint8_t* out,
               bool os) {
  constexpr int32_t big = std::numeric_limits<int32_t>::max();
  const auto fa = fast(m.a), fb = fast(m.b), fo = fast(m.out);
  const int32_t lo = code_lo(os), hi = code_hi(os);
  if (!fa.general && !fb.general && !fo.general) {
    add_rows(x, xs, y, ys, n, fa.m0, fa.half, fa.right, fb.m0, fb.half, fb.right, fo.m0, fo.half, fo.right, lo, hi,
             out);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const int32_t a = apply(code_of(x[i], xs), fa, -big - 1, big), b = apply(code_of(y[i], ys), fb, -big - 1, big);
    // The sum in int64 saturated to int32, as the kernel's s32 adder would
    // not: the multipliers keep |a|, |b| < 2^24 for any sane scales.
    const int64_t sum = std::clamp<int64_t>(int64_t{a} + b, -big - 1, big);
    put(out + i, apply(static_cast<int32_t>(sum), fo, lo, hi));
  }
}

std::vector<resize_tap> resize_taps(int64_t in_size, int64_t out_size, bool half_pixel, bool align_corners) {
  const float s = align_corners && out_size > 1 ? static_cast<float>(in_size - 1) / static_cast<float>(out_size - 1)
                                                : static_cast<float>(in_size) / static_cast<float>(out_size);
  std::vector<resize_tap> taps;
  const auto last = static_cast<int32_t>(in_size - 1);
  for (int64_t o = 0; o < out_size; ++o) {
    const float f = half_pixel ? (static_cast<float>(o) + 0.5f) * s - 0.5f : static_cast<float>(o) * s;
    const float fl = std::floor(f);
    const int32_t lo = std::min(std::max(static_cast<int32_t>(fl), 0), last);
    const int32_t hi = std::min(static_cast<int32_t>(std::ceil(f)), last);
    taps.push_back({lo, std::max(hi, 0), static_cast<int32_t>(std::lround((f - fl) * 256.0f))});
  }
  return taps;
}

fixed_multiplier resize_multiplier(float s_in, float s_out) {
  return to_fixed(static_cast<double>(s_in) / s_out / 65536.0);
}

void resize_bilinear_codes(const uint8_t* in, const shape_t& is, bool in_signed, const std::vector<resize_tap>& ty,
                           const std::vector<resize_tap>& tx, fixed_multiplier m, uint8_t* out, const shape_t& os,
                           bool out_signed) {
  const int64_t N = is[0], H = is[1], W = is[2], C = is[3], Ho = os[1], Wo = os[2];
  if (static_cast<int64_t>(ty.size()) != Ho || static_cast<int64_t>(tx.size()) != Wo)
    throw model_error("resize_bilinear_codes: one tap per output row and column");
  const auto f = fast(m);
  const int32_t lo = code_lo(out_signed), hi = code_hi(out_signed);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t y = 0; y < Ho; ++y) {
      const auto& a = ty[static_cast<size_t>(y)];
      const uint8_t* r0 = in + (n * H + a.lo) * W * C;
      const uint8_t* r1 = in + (n * H + a.hi) * W * C;
      for (int64_t x = 0; x < Wo; ++x) {
        const auto& b = tx[static_cast<size_t>(x)];
        uint8_t* d = out + ((n * Ho + y) * Wo + x) * C;
        if (!f.general) {
          resize_row(r0 + b.lo * C, r0 + b.hi * C, r1 + b.lo * C, r1 + b.hi * C, in_signed, C, b.frac, a.frac, f.m0,
                     f.half, f.right, lo, hi, d);
          continue;
        }
        for (int64_t c = 0; c < C; ++c) {
          const int32_t top =
            code_of(r0[b.lo * C + c], in_signed) * (256 - b.frac) + code_of(r0[b.hi * C + c], in_signed) * b.frac;
          const int32_t bot =
            code_of(r1[b.lo * C + c], in_signed) * (256 - b.frac) + code_of(r1[b.hi * C + c], in_signed) * b.frac;
          put(d + c, apply(top * (256 - a.frac) + bot * a.frac, f, lo, hi));
        }
      }
    }
  (void)W;
}

void copy_codes(const uint8_t* in, int64_t pixels, int64_t c, bool in_signed, fixed_multiplier m, uint8_t* out,
                int64_t out_cstride, int64_t coff, bool out_signed) {
  const auto f = fast(m);
  const int32_t lo = code_lo(out_signed), hi = code_hi(out_signed);
  // The identity (same scale and type) is a plain copy.
  const bool same = m.m0 == (int32_t{1} << 30) && m.shift == 1 && in_signed == out_signed;
  for (int64_t p = 0; p < pixels; ++p) {
    const uint8_t* s = in + p * c;
    uint8_t* d = out + p * out_cstride + coff;
    if (same) {
      std::copy(s, s + c, d);
      continue;
    }
    if (!f.general) {
      copy_row(s, in_signed, c, f.m0, f.half, f.right, lo, hi, d);
      continue;
    }
    for (int64_t k = 0; k < c; ++k) put(d + k, apply(code_of(s[k], in_signed), f, lo, hi));
  }
}

} // namespace weaver::engine::quant
