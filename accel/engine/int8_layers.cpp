#include "accel/engine/int8_layers.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "accel/engine/parallel.hpp"
#include "accel/engine/simd.hpp"

namespace weaver::engine::quant {

namespace {

// requantize(acc, f) then clamp to [lo, hi], for the common case of a right
// shift (1 <= 31 - shift <= 62): the rounding shift, ties away from zero, is
// (p + half - (p < 0)) >> right on the exact product, without branches.
struct fast_multiplier {
  int32_t m0 = 0;
  int64_t half = 0;
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

// The hot loops are WEAVER_SIMD_CLONES (simd.hpp): the int32 x int32 ->
// int64 products vectorise in the AVX-512 and AVX2 builds (vpmuldq), as do
// the 64-bit shifts and compares, which SSE2 cannot. Each loop runs over one
// contiguous run of elements with loop-invariant or per-element parameters,
// the shape GCC vectorises (checked with -fopt-info-vec); its multiplier is
// int32, so the product is a widening one.

// The fast rule on raw numbers: round(v * m0 / 2^right), ties away from
// zero, clamped to [lo, hi]; 1 <= right <= 62.
inline int32_t round_shift(int32_t v, int32_t m0, int64_t half, int64_t right, int32_t lo, int32_t hi) {
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

// A code byte as int32 without a branch on its type: an s8 byte with its
// sign bit flipped is the code + 128 (flip 0x80, off 128; u8: 0 and 0).
inline int32_t code_bits(uint8_t b, uint8_t flip, int32_t off) { return static_cast<int32_t>(b ^ flip) - off; }

// Grains of the parallel loops (elements, or output rows for the windowed
// layers): below them a fork and join would cost more than it saves.
constexpr int64_t grain_elements = 32 * 1024;

// The 256 codes an input byte can hold, requantized: a copy is one lookup.
std::array<uint8_t, 256> code_table(bool in_signed, const fast_multiplier& f, bool out_signed) {
  std::array<uint8_t, 256> t{};
  const int32_t lo = code_lo(out_signed), hi = code_hi(out_signed);
  for (int b = 0; b < 256; ++b)
    put(&t[static_cast<size_t>(b)], apply(code_of(static_cast<uint8_t>(b), in_signed), f, lo, hi));
  return t;
}

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

// `n` accumulators whose per-element parameters (bias, multiplier, half,
// shift; for v < 0 the second set, leaky's) run in step with them: the
// caller lays one channel's parameters out per element of a block of pixels.
WEAVER_SIMD_CLONES
void requantize_run(const int32_t* __restrict acc, int64_t n, const int32_t* __restrict b, const int32_t* __restrict pm,
                    const int64_t* __restrict ph, const int64_t* __restrict pr, int32_t lo, int32_t hi,
                    uint8_t* __restrict out) {
  WEAVER_OMP_SIMD
  for (int64_t c = 0; c < n; ++c)
    out[c] = static_cast<uint8_t>(round_shift(acc[c] + b[c], pm[c], ph[c], pr[c], lo, hi));
}

WEAVER_SIMD_CLONES
void requantize_run2(const int32_t* __restrict acc, int64_t n, const int32_t* __restrict b,
                     const int32_t* __restrict pm, const int64_t* __restrict ph, const int64_t* __restrict pr,
                     const int32_t* __restrict nm, const int64_t* __restrict nh, const int64_t* __restrict nr,
                     int32_t lo, int32_t hi, uint8_t* __restrict out) {
  WEAVER_OMP_SIMD
  for (int64_t c = 0; c < n; ++c) {
    const int32_t v = acc[c] + b[c];
    const bool neg = v < 0;
    out[c] =
      static_cast<uint8_t>(round_shift(v, neg ? nm[c] : pm[c], neg ? nh[c] : ph[c], neg ? nr[c] : pr[c], lo, hi));
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
void add_run(const uint8_t* __restrict x, uint8_t xf, int32_t xo, const uint8_t* __restrict y, uint8_t yf, int32_t yo,
             int64_t n, int32_t am, int64_t ah, int64_t ar, int32_t bm, int64_t bh, int64_t br, int32_t om, int64_t oh,
             int64_t orr, int32_t lo, int32_t hi, uint8_t* __restrict out) {
  constexpr int32_t big = std::numeric_limits<int32_t>::max();
  WEAVER_OMP_SIMD
  for (int64_t i = 0; i < n; ++i) {
    const int32_t a = round_shift(code_bits(x[i], xf, xo), am, ah, ar, -big - 1, big);
    const int32_t b = round_shift(code_bits(y[i], yf, yo), bm, bh, br, -big - 1, big);
    const int64_t sum64 = int64_t{a} + b;
    const int32_t sum = static_cast<int32_t>(sum64 < -big - 1 ? -big - 1 : sum64 > big ? big : sum64);
    out[i] = static_cast<uint8_t>(round_shift(sum, om, oh, orr, lo, hi));
  }
}

WEAVER_SIMD_CLONES
void resize_row(const uint8_t* __restrict tl, const uint8_t* __restrict tr, const uint8_t* __restrict bl,
                const uint8_t* __restrict br, uint8_t flip, int32_t off, int64_t n, int32_t fx, int32_t fy, int32_t m0,
                int64_t half, int64_t right, int32_t lo, int32_t hi, uint8_t* __restrict d) {
  WEAVER_OMP_SIMD
  for (int64_t c = 0; c < n; ++c) {
    const int32_t a = code_bits(tl[c], flip, off), b = code_bits(tr[c], flip, off);
    const int32_t e = code_bits(bl[c], flip, off), g = code_bits(br[c], flip, off);
    const int32_t top = a * (256 - fx) + b * fx, bot = e * (256 - fx) + g * fx;
    d[c] = static_cast<uint8_t>(round_shift(top * (256 - fy) + bot * fy, m0, half, right, lo, hi));
  }
}

} // namespace

void requantize_conv(const int32_t* acc, int64_t pixels, int64_t co, const std::vector<int32_t>& bias,
                     const std::vector<fixed_multiplier>& m, const std::vector<fixed_multiplier>& m_neg, const attrs& a,
                     bool out_signed, uint8_t* out, int threads) {
  const bool relu = a.activation == act::relu, leaky = a.activation == act::leaky;
  if (a.activation != act::none && !relu && !leaky) throw model_error("requantize_conv: only relu, leaky or none");
  if (static_cast<int64_t>(m.size()) != co || (leaky && m_neg.size() != m.size())
      || (!bias.empty() && static_cast<int64_t>(bias.size()) != co))
    throw model_error("requantize_conv: one multiplier (and bias) per channel");
  if (pixels <= 0 || co <= 0) return;
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
  const int32_t lo = relu ? std::max(code_lo(out_signed), 0) : code_lo(out_signed), hi = code_hi(out_signed);
  auto bias_of = [&](int64_t c) { return bias.empty() ? 0 : bias[static_cast<size_t>(c)]; };
  if (general) { // a multiplier of 1 or more, or below 2^-31: rare, scalar
    parallel_ranges(pixels, threads, grain_elements / co + 1, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p)
        for (int64_t c = 0; c < co; ++c) {
          const int32_t v = acc[p * co + c] + bias_of(c);
          put(out + p * co + c,
              apply(v, leaky && v < 0 ? fn[static_cast<size_t>(c)] : fm[static_cast<size_t>(c)], lo, hi));
        }
    });
    return;
  }
  // The per-channel parameters repeated for a block of `k` pixels (at least
  // 256 elements), so the vector loop runs over whole blocks, not over one
  // pixel's few channels (with 64-byte vectors, 32 channels would all fall
  // to the loop's remainder).
  const int64_t k = std::min<int64_t>(pixels, (256 + co - 1) / co), span = k * co;
  std::vector<int32_t> b(static_cast<size_t>(span)), pm(b.size()), nm(leaky ? b.size() : 0);
  std::vector<int64_t> ph(b.size()), pr(b.size()), nh(nm.size()), nr(nm.size());
  for (int64_t i = 0; i < span; ++i) {
    const auto c = static_cast<size_t>(i % co), j = static_cast<size_t>(i);
    b[j] = bias_of(static_cast<int64_t>(c));
    pm[j] = fm[c].m0;
    ph[j] = fm[c].half;
    pr[j] = fm[c].right;
    if (!leaky) continue;
    nm[j] = fn[c].m0;
    nh[j] = fn[c].half;
    nr[j] = fn[c].right;
  }
  const int64_t blocks = (pixels + k - 1) / k;
  parallel_ranges(blocks, threads, grain_elements / span + 1, [&](int64_t b0, int64_t b1) {
    for (int64_t blk = b0; blk < b1; ++blk) {
      const int64_t first = blk * k * co, n = std::min(pixels - blk * k, k) * co;
      if (leaky)
        requantize_run2(acc + first, n, b.data(), pm.data(), ph.data(), pr.data(), nm.data(), nh.data(), nr.data(), lo,
                        hi, out + first);
      else
        requantize_run(acc + first, n, b.data(), pm.data(), ph.data(), pr.data(), lo, hi, out + first);
    }
  });
}

void max_pool_codes(const uint8_t* in, const shape_t& is, bool is_signed, const attrs& a, uint8_t* out,
                    const shape_t& os, int threads) {
  const int64_t N = is[0], H = is[1], W = is[2], C = is[3], Ho = os[1], Wo = os[2];
  // Max of the codes as bytes: for s8, flipping the sign bit maps the order
  // of int8 onto that of uint8.
  const uint8_t flip = is_signed ? 0x80 : 0;
  parallel_ranges(N * Ho, threads, grain_elements / std::max<int64_t>(Wo * C, 1) + 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / Ho, oy = r % Ho;
      const int64_t wy = oy * a.stride[0] - a.pads[0];
      const int64_t y0 = std::max<int64_t>(wy, 0), y1 = std::min<int64_t>(wy + a.kernel[0], H);
      for (int64_t ox = 0; ox < Wo; ++ox) {
        const int64_t wx = ox * a.stride[1] - a.pads[1];
        const int64_t x0 = std::max<int64_t>(wx, 0), x1 = std::min<int64_t>(wx + a.kernel[1], W);
        uint8_t* d = out + ((n * Ho + oy) * Wo + ox) * C;
        std::fill(d, d + C, uint8_t{0}); // a window wholly in padding (ceil mode): code 0
        if (y0 >= y1 || x0 >= x1) continue;
        for (int64_t y = y0; y < y1; ++y)
          for (int64_t x = x0; x < x1; ++x) max_rows(in + ((n * H + y) * W + x) * C, d, C, flip);
        for (int64_t c = 0; c < C; ++c) d[c] = static_cast<uint8_t>(d[c] ^ flip);
      }
    }
  });
}

add_multipliers add_multipliers_for(float sa, float sb, float so) {
  return {to_fixed(256.0 * sa / so), to_fixed(256.0 * sb / so), to_fixed(1.0 / 256.0)};
}

void add_codes(const uint8_t* x, bool xs, const uint8_t* y, bool ys, int64_t n, const add_multipliers& m, uint8_t* out,
               bool os, int threads) {
  constexpr int32_t big = std::numeric_limits<int32_t>::max();
  const auto fa = fast(m.a), fb = fast(m.b), fo = fast(m.out);
  const int32_t lo = code_lo(os), hi = code_hi(os);
  const bool vec = !fa.general && !fb.general && !fo.general;
  parallel_ranges(n, threads, grain_elements, [&](int64_t i0, int64_t i1) {
    if (vec) {
      add_run(x + i0, xs ? 0x80 : 0, xs ? 128 : 0, y + i0, ys ? 0x80 : 0, ys ? 128 : 0, i1 - i0, fa.m0, fa.half,
              fa.right, fb.m0, fb.half, fb.right, fo.m0, fo.half, fo.right, lo, hi, out + i0);
      return;
    }
    for (int64_t i = i0; i < i1; ++i) {
      const int32_t a = apply(code_of(x[i], xs), fa, -big - 1, big), b = apply(code_of(y[i], ys), fb, -big - 1, big);
      // The sum in int64 saturated to int32, as the kernel's s32 adder would
      // not: the multipliers keep |a|, |b| < 2^24 for any sane scales.
      const int64_t sum = std::clamp<int64_t>(int64_t{a} + b, -big - 1, big);
      put(out + i, apply(static_cast<int32_t>(sum), fo, lo, hi));
    }
  });
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
                           bool out_signed, int threads) {
  const int64_t N = is[0], H = is[1], W = is[2], C = is[3], Ho = os[1], Wo = os[2];
  if (static_cast<int64_t>(ty.size()) != Ho || static_cast<int64_t>(tx.size()) != Wo)
    throw model_error("resize_bilinear_codes: one tap per output row and column");
  const auto f = fast(m);
  const int32_t lo = code_lo(out_signed), hi = code_hi(out_signed);
  const uint8_t flip = in_signed ? 0x80 : 0;
  const int32_t off = in_signed ? 128 : 0;
  parallel_ranges(N * Ho, threads, grain_elements / std::max<int64_t>(Wo * C, 1) + 1, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t n = r / Ho, y = r % Ho;
      const auto& a = ty[static_cast<size_t>(y)];
      const uint8_t* row0 = in + (n * H + a.lo) * W * C;
      const uint8_t* row1 = in + (n * H + a.hi) * W * C;
      for (int64_t x = 0; x < Wo; ++x) {
        const auto& b = tx[static_cast<size_t>(x)];
        uint8_t* d = out + ((n * Ho + y) * Wo + x) * C;
        if (!f.general) {
          resize_row(row0 + b.lo * C, row0 + b.hi * C, row1 + b.lo * C, row1 + b.hi * C, flip, off, C, b.frac, a.frac,
                     f.m0, f.half, f.right, lo, hi, d);
          continue;
        }
        for (int64_t c = 0; c < C; ++c) {
          const int32_t top =
            code_of(row0[b.lo * C + c], in_signed) * (256 - b.frac) + code_of(row0[b.hi * C + c], in_signed) * b.frac;
          const int32_t bot =
            code_of(row1[b.lo * C + c], in_signed) * (256 - b.frac) + code_of(row1[b.hi * C + c], in_signed) * b.frac;
          put(d + c, apply(top * (256 - a.frac) + bot * a.frac, f, lo, hi));
        }
      }
    }
  });
}

void copy_codes(const uint8_t* in, int64_t pixels, int64_t c, bool in_signed, fixed_multiplier m, uint8_t* out,
                int64_t out_cstride, int64_t coff, bool out_signed, int threads) {
  // The identity (same scale and type) is a plain copy; anything else one
  // table lookup per byte (an input byte has only 256 values).
  const bool same = m.m0 == (int32_t{1} << 30) && m.shift == 1 && in_signed == out_signed;
  const auto t = code_table(in_signed, fast(m), out_signed);
  parallel_ranges(pixels, threads, grain_elements / std::max<int64_t>(c, 1) + 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const uint8_t* s = in + p * c;
      uint8_t* d = out + p * out_cstride + coff;
      if (same) {
        std::copy(s, s + c, d);
        continue;
      }
      for (int64_t k = 0; k < c; ++k) d[k] = t[s[k]];
    }
  });
}

} // namespace weaver::engine::quant
