// The weaver_dnn kernel (see weaver_dnn.hpp for the design). Written for
// Vitis HLS (the pragmas) and compiled by g++ as the C-simulation, which
// ignores them (-Wno-unknown-pragmas for this file only). Loops have static
// bounds where HLS needs them (the on-chip buffers) and `tripcount` hints
// where the bound comes from the program.
#include "accel/hls/weaver_dnn.hpp"

namespace weaver::hls {
namespace {

static_assert(pe_m <= pe_n, "the depthwise lanes use the input buffer's pe_n channel rows");

s32 word(const u8* p, s32 i) {
  const u8* b = p + 4 * i;
  return static_cast<s32>(static_cast<u32>(b[0]) | static_cast<u32>(b[1]) << 8 | static_cast<u32>(b[2]) << 16
                          | static_cast<u32>(b[3]) << 24);
}

void put_word(u8* p, s32 i, s32 v) {
  const u32 u = static_cast<u32>(v);
  for (int k = 0; k < 4; ++k) p[4 * i + k] = static_cast<u8>(u >> (8 * k));
}

view read_view(const u8* w, s32& i) {
  view v;
  v.space = word(w, i++);
  v.off = word(w, i++);
  v.h = word(w, i++);
  v.w = word(w, i++);
  v.c = word(w, i++);
  v.cstride = word(w, i++);
  v.coff = word(w, i++);
  v.is_signed = word(w, i++);
  return v;
}

layer read_layer(const u8* w) {
  layer l;
  s32 i = 0;
  l.op = word(w, i++);
  l.act = word(w, i++);
  l.in = read_view(w, i);
  l.in2 = read_view(w, i);
  l.out = read_view(w, i);
  l.lo = word(w, i++);
  l.hi = word(w, i++);
  l.kh = word(w, i++);
  l.kw = word(w, i++);
  l.sh = word(w, i++);
  l.sw = word(w, i++);
  l.pt = word(w, i++);
  l.pl = word(w, i++);
  l.dh = word(w, i++);
  l.dw = word(w, i++);
  l.groups = word(w, i++);
  l.w_off = word(w, i++);
  l.b_off = word(w, i++);
  l.m_off = word(w, i++);
  l.m0 = word(w, i++);
  l.shift = word(w, i++);
  l.m0_a = word(w, i++);
  l.shift_a = word(w, i++);
  l.m0_b = word(w, i++);
  l.shift_b = word(w, i++);
  l.mode = word(w, i++);
  l.tap_off = word(w, i++);
  return l;
}

/// Where each space starts for one image, and how many bytes it has.
struct memory {
  const u8* input;
  u8* work;
  s64 input_bytes, work_bytes;
  const u8* weights;
  s64 weights_bytes;
};

const u8* base_of(const memory& m, const view& v) { return v.space == space_input ? m.input : m.work; }

s32 code_at(const u8* p, s32 is_signed) {
  return is_signed ? static_cast<s32>(static_cast<s8>(*p)) : static_cast<s32>(*p);
}

bool view_ok(const memory& m, const view& v, bool writable) {
  if (v.space != space_input && v.space != space_work) return false;
  if (writable && v.space != space_work) return false;
  if (v.h <= 0 || v.w <= 0 || v.c <= 0 || v.off < 0 || v.coff < 0 || v.cstride < v.coff + v.c) return false;
  const s64 end = v.off + (static_cast<s64>(v.h) * v.w - 1) * v.cstride + v.coff + v.c;
  return end <= (v.space == space_input ? m.input_bytes : m.work_bytes);
}

bool weights_ok(const memory& m, s64 off, s64 bytes) {
  return off >= 0 && bytes >= 0 && off + bytes <= m.weights_bytes;
}

// ---------------------------------------------------------------- convolution

/// One tile of work for the PE array: output rows [oy0, oy0 + tr) and
/// columns [ox0, ox0 + tc), output channels [oc0, oc0 + tm) of group g.
struct conv_tile {
  s32 oy0, ox0, tr, tc, oc0, tm;
};

// On-chip buffers. Ping-pong: tile t computes from [t & 1] while t + 1 loads
// into the other half.
struct conv_buffers {
  s32 in[2][pe_n][max_in_tile][max_in_tile]; // 9-bit codes, as s32 in C-sim
  s8 w[2][max_window * max_window][pe_n][pe_m];
  s32 acc[tile_r][tile_c][pe_m];
};

/// Loads input channels [ic0, ic0 + tn) (within group g's) of the input
/// rows / columns the tile's window covers, zero where it reaches padding.
void load_input(const memory& m, const layer& l, const conv_tile& t, s32 ic_base, s32 tn,
                s32 (&buf)[pe_n][max_in_tile][max_in_tile]) {
  const u8* base = base_of(m, l.in) + l.in.off;
  const s32 rows = (t.tr - 1) * l.sh + (l.kh - 1) * l.dh + 1, cols = (t.tc - 1) * l.sw + (l.kw - 1) * l.dw + 1;
  const s32 y0 = t.oy0 * l.sh - l.pt, x0 = t.ox0 * l.sw - l.pl;
load_rows:
  for (s32 r = 0; r < rows; ++r) {
#pragma HLS LOOP_TRIPCOUNT max = 40
    for (s32 c = 0; c < cols; ++c) {
#pragma HLS LOOP_TRIPCOUNT max = 40
      const s32 y = y0 + r, x = x0 + c;
      const bool inside = y >= 0 && y < l.in.h && x >= 0 && x < l.in.w;
      const u8* px = base + (static_cast<s64>(y) * l.in.w + x) * l.in.cstride + l.in.coff + ic_base;
      for (s32 n = 0; n < pe_n; ++n) {
#pragma HLS UNROLL
        buf[n][r][c] = inside && n < tn ? code_at(px + n, l.in.is_signed) : 0;
      }
    }
  }
}

/// Weights of output channels [oc0, oc0 + tm) for input channels
/// [ic0, ic0 + tn) of the group (HWIO in DDR: [kh][kw][cin/groups][cout]).
void load_weights(const memory& m, const layer& l, s32 oc0, s32 tm, s32 ic0, s32 tn,
                  s8 (&buf)[max_window * max_window][pe_n][pe_m]) {
  const s32 cg = l.in.c / l.groups, co = l.out.c;
  const u8* w = m.weights + l.w_off;
load_taps:
  for (s32 k = 0; k < l.kh * l.kw; ++k) {
#pragma HLS LOOP_TRIPCOUNT max = 49
    for (s32 n = 0; n < pe_n; ++n)
      for (s32 j = 0; j < pe_m; ++j) {
#pragma HLS PIPELINE II = 1
        buf[k][n][j] =
          n < tn && j < tm ? static_cast<s8>(w[(static_cast<s64>(k) * cg + ic0 + n) * co + oc0 + j]) : s8{0};
      }
  }
}

/// The PE array on one (input tile, weight tile): every cycle pe_m x pe_n
/// products for one output pixel and one window tap, summed per output
/// channel by an adder tree.
void compute(const layer& l, const conv_tile& t, const s32 (&in)[pe_n][max_in_tile][max_in_tile],
             const s8 (&w)[max_window * max_window][pe_n][pe_m], s32 (&acc)[tile_r][tile_c][pe_m]) {
taps:
  for (s32 ky = 0; ky < l.kh; ++ky)
    for (s32 kx = 0; kx < l.kw; ++kx)
    pixels:
      for (s32 r = 0; r < t.tr; ++r)
        for (s32 c = 0; c < t.tc; ++c) {
#pragma HLS PIPELINE II = 1
          const s32 iy = r * l.sh + ky * l.dh, ix = c * l.sw + kx * l.dw;
          for (s32 j = 0; j < pe_m; ++j) {
#pragma HLS UNROLL
            s32 sum = 0;
            for (s32 n = 0; n < pe_n; ++n) {
#pragma HLS UNROLL
              sum += in[n][iy][ix] * w[ky * l.kw + kx][n][j];
            }
            acc[r][c][j] += sum;
          }
        }
}

/// Depthwise: lane j holds channel oc0 + j with its own single input
/// channel; pe_m lanes per cycle.
void compute_depthwise(const layer& l, const conv_tile& t, const s32 (&in)[pe_n][max_in_tile][max_in_tile],
                       const s8 (&w)[max_window * max_window][pe_n][pe_m], s32 (&acc)[tile_r][tile_c][pe_m]) {
  for (s32 ky = 0; ky < l.kh; ++ky)
    for (s32 kx = 0; kx < l.kw; ++kx)
      for (s32 r = 0; r < t.tr; ++r)
        for (s32 c = 0; c < t.tc; ++c) {
#pragma HLS PIPELINE II = 1
          const s32 iy = r * l.sh + ky * l.dh, ix = c * l.sw + kx * l.dw;
          for (s32 j = 0; j < pe_m; ++j) {
#pragma HLS UNROLL
            acc[r][c][j] += in[j][iy][ix] * w[ky * l.kw + kx][0][j];
          }
        }
}

void load_input_depthwise(const memory& m, const layer& l, const conv_tile& t,
                          s32 (&buf)[pe_n][max_in_tile][max_in_tile]) {
  load_input(m, l, t, t.oc0, t.tm, buf); // channel oc0 + j reads input channel oc0 + j
}

void load_weights_depthwise(const memory& m, const layer& l, s32 oc0, s32 tm,
                            s8 (&buf)[max_window * max_window][pe_n][pe_m]) {
  const u8* w = m.weights + l.w_off;
  for (s32 k = 0; k < l.kh * l.kw; ++k)
    for (s32 j = 0; j < pe_m; ++j) {
#pragma HLS PIPELINE II = 1
      buf[k][0][j] = j < tm ? static_cast<s8>(w[static_cast<s64>(k) * l.out.c + oc0 + j]) : s8{0};
    }
}

/// Bias in, then requantize, activate, saturate and store the tile's codes.
void init_acc(const memory& m, const layer& l, const conv_tile& t, s32 (&acc)[tile_r][tile_c][pe_m]) {
  for (s32 j = 0; j < pe_m; ++j) {
    const s32 b = l.b_off >= 0 && j < t.tm ? word(m.weights + l.b_off, t.oc0 + j) : 0;
    for (s32 r = 0; r < tile_r; ++r)
      for (s32 c = 0; c < tile_c; ++c) acc[r][c][j] = b;
  }
}

void store(const memory& m, const layer& l, const conv_tile& t, const s32 (&acc)[tile_r][tile_c][pe_m]) {
  s32 m0[pe_m], sh[pe_m], m0n[pe_m], shn[pe_m];
#pragma HLS ARRAY_PARTITION variable = m0 complete
  for (s32 j = 0; j < t.tm; ++j) {
    const u8* q = m.weights + l.m_off + 16 * (t.oc0 + j);
    m0[j] = word(q, 0);
    sh[j] = word(q, 1);
    m0n[j] = word(q, 2);
    shn[j] = word(q, 3);
  }
  u8* out = m.work + l.out.off;
store_pixels:
  for (s32 r = 0; r < t.tr; ++r)
    for (s32 c = 0; c < t.tc; ++c) {
#pragma HLS PIPELINE II = 1
      u8* px = out + (static_cast<s64>(t.oy0 + r) * l.out.w + t.ox0 + c) * l.out.cstride + l.out.coff + t.oc0;
      for (s32 j = 0; j < t.tm; ++j) {
        const s32 a = acc[r][c][j];
        const bool neg = l.act == act_leaky && a < 0;
        s32 v = requantize(a, neg ? m0n[j] : m0[j], neg ? shn[j] : sh[j]);
        if (l.act == act_relu && v < 0) v = 0;
        px[j] = static_cast<u8>(clamp32(v, l.lo, l.hi));
      }
    }
}

s32 min32(s32 a, s32 b) { return a < b ? a : b; }

status run_conv(const memory& m, const layer& l) {
  if (l.groups <= 0 || l.in.c % l.groups || l.out.c % l.groups || l.kh <= 0 || l.kw <= 0 || l.sh <= 0 || l.sw <= 0
      || l.dh <= 0 || l.dw <= 0 || (l.act != act_none && l.act != act_relu && l.act != act_leaky))
    return status_bad_layer;
  const s32 ext_y = (l.kh - 1) * l.dh + 1, ext_x = (l.kw - 1) * l.dw + 1;
  if (ext_y > max_window || ext_x > max_window) return status_exceeds_buffers;
  // Output rows / cols per tile such that the window they span fits.
  const s32 tr = min32(tile_r, (max_in_tile - ext_y) / l.sh + 1), tc = min32(tile_c, (max_in_tile - ext_x) / l.sw + 1);
  if (tr <= 0 || tc <= 0) return status_exceeds_buffers;
  const s32 cg = l.in.c / l.groups, cog = l.out.c / l.groups;
  // Every output's window starts inside the padded input.
  if ((l.out.h - 1) * l.sh - l.pt >= l.in.h || (l.out.w - 1) * l.sw - l.pl >= l.in.w || l.pt < 0 || l.pl < 0)
    return status_bad_layer;
  const s64 wbytes = static_cast<s64>(l.kh) * l.kw * cg * l.out.c;
  if (!weights_ok(m, l.w_off, wbytes) || !weights_ok(m, l.m_off, 16LL * l.out.c)
      || (l.b_off >= 0 && !weights_ok(m, l.b_off, 4LL * l.out.c)))
    return status_out_of_bounds;
  static conv_buffers b; // on-chip (BRAM/URAM); static: too large for a C-sim stack
#pragma HLS ARRAY_PARTITION variable = b.in complete dim = 2
#pragma HLS ARRAY_PARTITION variable = b.w complete dim = 3
#pragma HLS ARRAY_PARTITION variable = b.w complete dim = 4
#pragma HLS ARRAY_PARTITION variable = b.acc complete dim = 3
  const bool depthwise = cg == 1 && cog == 1 && l.groups > 1;
  for (s32 g = 0; g < (depthwise ? 1 : l.groups); ++g)
    for (s32 oc = 0; oc < (depthwise ? l.out.c : cog); oc += pe_m)
      for (s32 oy = 0; oy < l.out.h; oy += tr)
        for (s32 ox = 0; ox < l.out.w; ox += tc) {
          conv_tile t{oy, ox, min32(tr, l.out.h - oy), min32(tc, l.out.w - ox), 0, 0};
          t.oc0 = depthwise ? oc : g * cog + oc;
          t.tm = min32(pe_m, (depthwise ? l.out.c : cog) - oc);
          init_acc(m, l, t, b.acc);
          if (depthwise) {
            load_input_depthwise(m, l, t, b.in[0]);
            load_weights_depthwise(m, l, t.oc0, t.tm, b.w[0]);
            compute_depthwise(l, t, b.in[0], b.w[0], b.acc);
          } else {
            // Input-channel tiles, double-buffered: tile k + 1 loads while
            // tile k computes (a DATAFLOW region in hardware).
            const s32 tiles = (cg + pe_n - 1) / pe_n;
            load_input(m, l, t, g * cg, min32(pe_n, cg), b.in[0]);
            load_weights(m, l, t.oc0, t.tm, 0, min32(pe_n, cg), b.w[0]);
          channel_tiles:
            for (s32 k = 0; k < tiles; ++k) {
#pragma HLS DATAFLOW
              if (k + 1 < tiles) {
                const s32 ic = (k + 1) * pe_n, tn = min32(pe_n, cg - ic);
                load_input(m, l, t, g * cg + ic, tn, b.in[(k + 1) & 1]);
                load_weights(m, l, t.oc0, t.tm, ic, tn, b.w[(k + 1) & 1]);
              }
              compute(l, t, b.in[k & 1], b.w[k & 1], b.acc);
            }
          }
          store(m, l, t, b.acc);
        }
  return status_ok;
}

// ------------------------------------------------------- the other layers

status run_maxpool(const memory& m, const layer& l) {
  if (l.kh <= 0 || l.kw <= 0 || l.sh <= 0 || l.sw <= 0 || l.in.c != l.out.c) return status_bad_layer;
  const u8* in = base_of(m, l.in) + l.in.off;
  u8* out = m.work + l.out.off;
  for (s32 oy = 0; oy < l.out.h; ++oy)
    for (s32 ox = 0; ox < l.out.w; ++ox)
      for (s32 c = 0; c < l.out.c; ++c) {
#pragma HLS PIPELINE II = 1
        s32 best = -2147483647 - 1;
        bool any = false;
        for (s32 ky = 0; ky < l.kh; ++ky)
          for (s32 kx = 0; kx < l.kw; ++kx) {
            const s32 y = oy * l.sh - l.pt + ky, x = ox * l.sw - l.pl + kx;
            if (y < 0 || y >= l.in.h || x < 0 || x >= l.in.w) continue; // padding never wins
            const s32 v =
              code_at(in + (static_cast<s64>(y) * l.in.w + x) * l.in.cstride + l.in.coff + c, l.in.is_signed);
            best = any && best > v ? best : v;
            any = true;
          }
        out[(static_cast<s64>(oy) * l.out.w + ox) * l.out.cstride + l.out.coff + c] =
          static_cast<u8>(clamp32(any ? best : 0, l.lo, l.hi));
      }
  return status_ok;
}

/// out = round((requant(a, Ma) + requant(b, Mb)) * M), Ma and Mb scaling
/// each input to the output's units with 8 more fractional bits, M = 2^-8
/// (or a further rescale): two roundings, the first 256x finer.
status run_add(const memory& m, const layer& l) {
  if (l.in.h != l.out.h || l.in.w != l.out.w || l.in.c != l.out.c || l.in2.h != l.out.h || l.in2.w != l.out.w
      || l.in2.c != l.out.c)
    return status_bad_layer;
  const u8* a = base_of(m, l.in) + l.in.off;
  const u8* b = base_of(m, l.in2) + l.in2.off;
  u8* out = m.work + l.out.off;
  for (s32 p = 0; p < l.out.h * l.out.w; ++p)
    for (s32 c = 0; c < l.out.c; ++c) {
#pragma HLS PIPELINE II = 1
      const s32 x = code_at(a + static_cast<s64>(p) * l.in.cstride + l.in.coff + c, l.in.is_signed);
      const s32 y = code_at(b + static_cast<s64>(p) * l.in2.cstride + l.in2.coff + c, l.in2.is_signed);
      s32 v = requantize(requantize(x, l.m0_a, l.shift_a) + requantize(y, l.m0_b, l.shift_b), l.m0, l.shift);
      if (l.act == act_relu && v < 0) v = 0;
      out[static_cast<s64>(p) * l.out.cstride + l.out.coff + c] = static_cast<u8>(clamp32(v, l.lo, l.hi));
    }
  return status_ok;
}

/// Bilinear: top = tl * (256 - fx) + tr * fx, v = top * (256 - fy) + bot * fy
/// (Q16, exact in s32), then requant by M = s_in / s_out * 2^-16. The taps
/// (which rows and columns, and the fractions) come from the host's table,
/// so the coordinate convention (half pixel, align corners) is the host's.
/// Nearest: the `lo` tap, requantized by M = s_in / s_out.
status run_resize(const memory& m, const layer& l) {
  if (l.in.c != l.out.c || (l.mode != 0 && l.mode != 1)) return status_bad_layer;
  if (!weights_ok(m, l.tap_off, 12LL * (l.out.h + l.out.w))) return status_out_of_bounds;
  const u8* in = base_of(m, l.in) + l.in.off;
  const u8* taps = m.weights + l.tap_off;
  u8* out = m.work + l.out.off;
  for (s32 oy = 0; oy < l.out.h; ++oy) {
    const s32 y0 = word(taps, 3 * oy), y1 = word(taps, 3 * oy + 1), fy = word(taps, 3 * oy + 2);
    if (y0 < 0 || y1 < 0 || y0 >= l.in.h || y1 >= l.in.h || fy < 0 || fy > 256) return status_bad_layer;
    for (s32 ox = 0; ox < l.out.w; ++ox) {
      const s32 t = 3 * (l.out.h + ox);
      const s32 x0 = word(taps, t), x1 = word(taps, t + 1), fx = word(taps, t + 2);
      if (x0 < 0 || x1 < 0 || x0 >= l.in.w || x1 >= l.in.w || fx < 0 || fx > 256) return status_bad_layer;
      for (s32 c = 0; c < l.out.c; ++c) {
#pragma HLS PIPELINE II = 1
        auto at = [&](s32 y, s32 x) {
          return code_at(in + (static_cast<s64>(y) * l.in.w + x) * l.in.cstride + l.in.coff + c, l.in.is_signed);
        };
        s32 v;
        if (l.mode == 1) {
          const s32 top = at(y0, x0) * (256 - fx) + at(y0, x1) * fx;
          const s32 bot = at(y1, x0) * (256 - fx) + at(y1, x1) * fx;
          v = requantize(top * (256 - fy) + bot * fy, l.m0, l.shift);
        } else {
          v = requantize(at(y0, x0), l.m0, l.shift);
        }
        out[(static_cast<s64>(oy) * l.out.w + ox) * l.out.cstride + l.out.coff + c] =
          static_cast<u8>(clamp32(v, l.lo, l.hi));
      }
    }
  }
  return status_ok;
}

status run_copy(const memory& m, const layer& l) {
  if (l.in.h != l.out.h || l.in.w != l.out.w || l.in.c != l.out.c) return status_bad_layer;
  const u8* in = base_of(m, l.in) + l.in.off;
  u8* out = m.work + l.out.off;
  for (s32 p = 0; p < l.out.h * l.out.w; ++p)
    for (s32 c = 0; c < l.out.c; ++c) {
#pragma HLS PIPELINE II = 1
      const s32 v =
        requantize(code_at(in + static_cast<s64>(p) * l.in.cstride + l.in.coff + c, l.in.is_signed), l.m0, l.shift);
      out[static_cast<s64>(p) * l.out.cstride + l.out.coff + c] = static_cast<u8>(clamp32(v, l.lo, l.hi));
    }
  return status_ok;
}

status run_layer(const memory& m, const layer& l) {
  const bool two = l.op == op_add;
  if (!view_ok(m, l.in, false) || (two && !view_ok(m, l.in2, false)) || !view_ok(m, l.out, true))
    return l.in.space != space_input && l.in.space != space_work ? status_bad_layer : status_out_of_bounds;
  switch (l.op) {
    case op_conv:
      return run_conv(m, l);
    case op_maxpool:
      return run_maxpool(m, l);
    case op_add:
      return run_add(m, l);
    case op_resize:
      return run_resize(m, l);
    case op_copy:
      return run_copy(m, l);
    default:
      return status_bad_layer;
  }
}

} // namespace

weights_sum weights_checksum(const u8* weights, s32 bytes) {
  u32 a[checksum_lanes], b[checksum_lanes];
#pragma HLS ARRAY_PARTITION variable = a complete
#pragma HLS ARRAY_PARTITION variable = b complete
  for (int j = 0; j < checksum_lanes; ++j) a[j] = b[j] = 0;
  const s32 words = bytes <= 0 ? 0 : (bytes + 3) / 4;
checksum_beats:
  for (s32 i0 = 0; i0 < words; i0 += checksum_lanes) {
#pragma HLS PIPELINE II = 1
#pragma HLS LOOP_TRIPCOUNT max = 262144
    for (int j = 0; j < checksum_lanes; ++j) {
#pragma HLS UNROLL
      const s32 i = i0 + j;
      if (i >= words) continue;
      u32 w = 0;
      for (int k = 0; k < 4; ++k)
        if (4 * i + k < bytes) w |= static_cast<u32>(weights[4 * i + k]) << (8 * k);
      a[j] += w;
      b[j] += a[j];
    }
  }
  weights_sum r{0, 0};
  for (int j = 0; j < checksum_lanes; ++j) {
#pragma HLS UNROLL
    r.a += a[j] * static_cast<u32>(2 * j + 1);
    r.b += b[j] * static_cast<u32>(2 * j + 1);
  }
  return r;
}

} // namespace weaver::hls

extern "C" void weaver_dnn(const weaver::hls::u8* input, const weaver::hls::u8* weights, const weaver::hls::u8* program,
                           weaver::hls::u8* output, weaver::hls::u32 batch) {
#pragma HLS INTERFACE m_axi port = input offset = slave bundle = gmem0 max_read_burst_length = 64
#pragma HLS INTERFACE m_axi port = weights offset = slave bundle = gmem1 max_read_burst_length = 64
#pragma HLS INTERFACE m_axi port = program offset = slave bundle = gmem2
#pragma HLS INTERFACE m_axi port = output offset = slave bundle = gmem0 max_write_burst_length = 64
#pragma HLS INTERFACE s_axilite port = input
#pragma HLS INTERFACE s_axilite port = weights
#pragma HLS INTERFACE s_axilite port = program
#pragma HLS INTERFACE s_axilite port = output
#pragma HLS INTERFACE s_axilite port = batch
#pragma HLS INTERFACE s_axilite port = return
  using namespace weaver::hls;
  const s32 magic = word(program, 0), version = word(program, 1), layers = word(program, 2);
  const s32 input_stride = word(program, 3), output_stride = word(program, 4);
  const s32 weights_bytes = word(program, 6);
  put_word(output, 0, status_ok);
  put_word(output, 1, -1);
  if (static_cast<u32>(magic) != program_magic || static_cast<u32>(version) != program_version) {
    put_word(output, 0, status_bad_program);
    return;
  }
  if (layers < 0 || layers > max_layers) {
    put_word(output, 0, status_too_many_layers);
    return;
  }
  // Weights of another program would run as numbers all the same: refuse them.
  const weights_sum sum = weights_checksum(weights, weights_bytes);
  if (sum.a != static_cast<u32>(word(program, 7)) || sum.b != static_cast<u32>(word(program, 8))) {
    put_word(output, 0, status_bad_weights);
    return;
  }
images:
  for (u32 i = 0; i < batch; ++i) {
#pragma HLS LOOP_TRIPCOUNT max = 8
    memory m{input + static_cast<s64>(i) * input_stride,
             output + status_bytes + static_cast<s64>(i) * output_stride,
             input_stride,
             output_stride,
             weights,
             weights_bytes};
  layers_loop:
    for (s32 k = 0; k < layers; ++k) {
#pragma HLS LOOP_TRIPCOUNT max = 128
      const layer l = read_layer(program + 4 * (header_words + k * layer_words));
      const status s = run_layer(m, l);
      if (s != status_ok) {
        put_word(output, 0, s);
        put_word(output, 1, k);
        return;
      }
    }
  }
}
