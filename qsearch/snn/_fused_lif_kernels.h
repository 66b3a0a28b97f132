// Kernels of _fused_lif.cpp (see there). Included twice on purpose, without an include guard: once in namespace
// `base` (the baseline ISA) and once in namespace `avx2` under `#pragma GCC target("avx2")`, where GCC vectorizes
// floor/ceil as well. Uses kChunk, Mode, Quant and Params from the including file.

template <typename T, int MODE, bool STE>
inline T quantize(T x, const Quant<T>& q, T draw) {
  T u = x * q.inv_step;  // == x / step (power-of-two step)
  T r;
  if constexpr (MODE == kTruncate) {
    r = std::floor(u);
  } else if constexpr (MODE == kNearest) {
    r = std::ceil(u - T(0.5));
  } else {
    T low = std::floor(u);
    r = low + (draw < (u - low) ? T(1) : T(0));
  }
  r = r < q.lo ? q.lo : (r > q.hi ? q.hi : r);  // torch.clamp, NaN passes through
  T value = r * q.step;
  if constexpr (STE) {
    value = value + (x - x);  // fake_quantize: q + (x - x.detach())
  }
  return value;
}

template <typename T, bool QI, bool QV, int MODE, bool STE, bool SAVE>
inline void forward_range(const T* __restrict x, T* __restrict z, T* __restrict vd_out, const T* __restrict draws,
                          int64_t steps, int64_t m, const Params<T>& p, int64_t begin, int64_t end) {
  constexpr int64_t kDraws = (QI ? 2 : 0) + (QV ? 1 : 0);
  T v[kChunk];
  T i[kChunk];
  for (int64_t c0 = begin; c0 < end; c0 += kChunk) {
    const int64_t n = std::min(kChunk, end - c0);
    for (int64_t j = 0; j < n; ++j) {
      v[j] = T(0);
      i[j] = T(0);
    }
    for (int64_t t = 0; t < steps; ++t) {
      const T* __restrict xt = x + t * m + c0;
      T* __restrict zt = z + t * m + c0;
      T* __restrict vdt = SAVE ? vd_out + t * m + c0 : nullptr;
      const T* __restrict d_i1 = nullptr;
      const T* __restrict d_v = nullptr;
      const T* __restrict d_i2 = nullptr;
      if constexpr (MODE == kStochastic && kDraws > 0) {
        const T* base = draws + t * kDraws * m + c0;
        int k = 0;
        if (QI) d_i1 = base + (k++) * m;
        if (QV) d_v = base + (k++) * m;
        if (QI) d_i2 = base + (k++) * m;
      }
      for (int64_t j = 0; j < n; ++j) {
        T cur = i[j] + xt[j];
        if constexpr (QI) cur = quantize<T, MODE, STE>(cur, p.qi, MODE == kStochastic ? d_i1[j] : T(0));
        const T vj = v[j];
        T vd = vj + p.a_mem * ((p.v_leak - vj) + cur);
        if constexpr (QV) vd = quantize<T, MODE, STE>(vd, p.qv, MODE == kStochastic ? d_v[j] : T(0));
        T decayed = cur + p.neg_a_syn * cur;
        if constexpr (QI) decayed = quantize<T, MODE, STE>(decayed, p.qi, MODE == kStochastic ? d_i2[j] : T(0));
        const T spike = (vd - p.v_th) > T(0) ? T(1) : T(0);
        v[j] = (T(1) - spike) * vd + spike * p.v_reset;
        i[j] = decayed;
        zt[j] = spike;
        if constexpr (SAVE) vdt[j] = vd;
      }
    }
  }
}

template <typename T>
inline void backward_range(const T* __restrict gz, const T* __restrict vd, T* __restrict gx, int64_t steps, int64_t m,
                           const Params<T>& p, int64_t begin, int64_t end) {
  T gv[kChunk];
  T gi[kChunk];
  const T keep_i = T(1) + p.neg_a_syn;
  const T keep_v = T(1) - p.a_mem;
  for (int64_t c0 = begin; c0 < end; c0 += kChunk) {
    const int64_t n = std::min(kChunk, end - c0);
    for (int64_t j = 0; j < n; ++j) {
      gv[j] = T(0);
      gi[j] = T(0);
    }
    for (int64_t t = steps - 1; t >= 0; --t) {
      const T* __restrict gzt = gz + t * m + c0;
      const T* __restrict vdt = vd + t * m + c0;
      T* __restrict gxt = gx + t * m + c0;
      for (int64_t j = 0; j < n; ++j) {
        const T vdj = vdt[j];
        const T over = vdj - p.v_th;
        const T spike = over > T(0) ? T(1) : T(0);
        const T denom = std::abs(over) + T(1);
        const T g_spike = gzt[j] + gv[j] * (p.v_reset - vdj);
        const T g_vd = gv[j] * (T(1) - spike) + g_spike / (denom * denom);
        const T g_i1 = gi[j] * keep_i + g_vd * p.a_mem;
        gxt[j] = g_i1;
        gv[j] = g_vd * keep_v;
        gi[j] = g_i1;
      }
    }
  }
}
