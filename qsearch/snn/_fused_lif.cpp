// Fused LIF recurrence of qsearch.snn._dynamics.lif_sequence: forward over all T steps and hand-written BPTT.
//
// Each step evaluates exactly the float operations of the Python reference, one rounding per operation and in
// the same order (the file is compiled with -ffp-contract=off, so no multiply-add is fused), hence float32 and
// float64 spikes are bit-identical to the reference:
//
//   i  = Qi(i + x_t);  vd = Qv(v + a_mem*((v_leak - v) + i));  i = Qi(i + (-a_syn)*i)
//   z  = (vd - v_th) > 0;  v = (1 - z)*vd + z*v_reset
//
// Q(x) = clamp(R(x / step), min_code, max_code) * step [+ (x - x) under the straight-through estimator], with
// R = floor (truncate), ceil(u - 1/2) (nearest) or floor(u) + (draw < u - floor(u)) (stochastic, draws given).
// Backward (straight-through quantizers, Norse's SuperSpike surrogate s'(x) = 1/(|x|+1)^2), for t = T-1..0:
//
//   gz = g_z[t] + gv*(v_reset - vd_t);  gvd = gv*(1 - z_t) + gz*s'(vd_t - v_th)
//   gi1 = gi*(1 - a_syn) + gvd*a_mem;  g_x[t] = gi1;  gv = gvd*(1 - a_mem);  gi = gi1
//
// Neurons are independent, so the work is split into chunks of neurons whose state stays in L1 over all T.
// On x86-64 the loops are also compiled for AVX2 (vector floor/ceil) and picked at run time.

#include <torch/extension.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace {

constexpr int64_t kChunk = 512;

enum Mode : int { kTruncate = 0, kNearest = 1, kStochastic = 2 };

template <typename T>
struct Quant {
  T step, lo, hi;
};

template <typename T>
struct Params {
  T a_mem, neg_a_syn, v_leak, v_th, v_reset;
  Quant<T> qi, qv;
};

template <typename T, int MODE, bool STE>
__attribute__((always_inline)) inline T quantize(T x, const Quant<T>& q, T draw) {
  T u = x / q.step;
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
__attribute__((always_inline)) inline void forward_range(const T* __restrict x, T* __restrict z, T* __restrict vd_out,
                                                         const T* __restrict draws, int64_t steps, int64_t m,
                                                         const Params<T>& p, int64_t begin, int64_t end) {
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
__attribute__((always_inline)) inline void backward_range(const T* __restrict gz, const T* __restrict vd,
                                                          T* __restrict gx, int64_t steps, int64_t m,
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

#if defined(__x86_64__) && defined(__GNUC__)
#define QSEARCH_HAVE_AVX2_CLONE 1
#else
#define QSEARCH_HAVE_AVX2_CLONE 0
#endif

// Entry points compiled twice (baseline ISA and AVX2); always_inline pulls the loops into each target.
template <typename T, bool QI, bool QV, int MODE, bool STE, bool SAVE>
void forward_default(const T* x, T* z, T* vd, const T* draws, int64_t steps, int64_t m, const Params<T>& p,
                     int64_t begin, int64_t end) {
  forward_range<T, QI, QV, MODE, STE, SAVE>(x, z, vd, draws, steps, m, p, begin, end);
}

template <typename T>
void backward_default(const T* gz, const T* vd, T* gx, int64_t steps, int64_t m, const Params<T>& p, int64_t begin,
                      int64_t end) {
  backward_range<T>(gz, vd, gx, steps, m, p, begin, end);
}

#if QSEARCH_HAVE_AVX2_CLONE
template <typename T, bool QI, bool QV, int MODE, bool STE, bool SAVE>
__attribute__((target("avx2"))) void forward_avx2(const T* x, T* z, T* vd, const T* draws, int64_t steps, int64_t m,
                                                  const Params<T>& p, int64_t begin, int64_t end) {
  forward_range<T, QI, QV, MODE, STE, SAVE>(x, z, vd, draws, steps, m, p, begin, end);
}

template <typename T>
__attribute__((target("avx2"))) void backward_avx2(const T* gz, const T* vd, T* gx, int64_t steps, int64_t m,
                                                   const Params<T>& p, int64_t begin, int64_t end) {
  backward_range<T>(gz, vd, gx, steps, m, p, begin, end);
}

bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}
#endif

template <typename T, bool QI, bool QV, int MODE, bool STE, bool SAVE>
void forward_dispatch_isa(const T* x, T* z, T* vd, const T* draws, int64_t steps, int64_t m, const Params<T>& p,
                          int64_t begin, int64_t end) {
#if QSEARCH_HAVE_AVX2_CLONE
  if (cpu_has_avx2()) {
    forward_avx2<T, QI, QV, MODE, STE, SAVE>(x, z, vd, draws, steps, m, p, begin, end);
    return;
  }
#endif
  forward_default<T, QI, QV, MODE, STE, SAVE>(x, z, vd, draws, steps, m, p, begin, end);
}

template <typename T>
void backward_dispatch_isa(const T* gz, const T* vd, T* gx, int64_t steps, int64_t m, const Params<T>& p,
                           int64_t begin, int64_t end) {
#if QSEARCH_HAVE_AVX2_CLONE
  if (cpu_has_avx2()) {
    backward_avx2<T>(gz, vd, gx, steps, m, p, begin, end);
    return;
  }
#endif
  backward_default<T>(gz, vd, gx, steps, m, p, begin, end);
}

using ForwardFn = void (*)(const void*, void*, void*, const void*, int64_t, int64_t, const void*, int64_t, int64_t);

template <typename T, bool QI, bool QV, int MODE, bool STE, bool SAVE>
void forward_erased(const void* x, void* z, void* vd, const void* draws, int64_t steps, int64_t m, const void* p,
                    int64_t begin, int64_t end) {
  forward_dispatch_isa<T, QI, QV, MODE, STE, SAVE>(static_cast<const T*>(x), static_cast<T*>(z),
                                                   static_cast<T*>(vd), static_cast<const T*>(draws), steps, m,
                                                   *static_cast<const Params<T>*>(p), begin, end);
}

// Runtime flags -> one template instance (quantizers off: rounding mode and STE are irrelevant).
template <typename T, bool QI, bool QV, bool SAVE>
ForwardFn pick_mode(int mode, bool ste) {
  if constexpr (!QI && !QV) {
    return &forward_erased<T, false, false, kTruncate, false, SAVE>;
  } else {
    switch (mode) {
      case kTruncate:
        return ste ? &forward_erased<T, QI, QV, kTruncate, true, SAVE> : &forward_erased<T, QI, QV, kTruncate, false, SAVE>;
      case kNearest:
        return ste ? &forward_erased<T, QI, QV, kNearest, true, SAVE> : &forward_erased<T, QI, QV, kNearest, false, SAVE>;
      default:
        return ste ? &forward_erased<T, QI, QV, kStochastic, true, SAVE>
                   : &forward_erased<T, QI, QV, kStochastic, false, SAVE>;
    }
  }
}

template <typename T, bool SAVE>
ForwardFn pick_quant(bool qi, bool qv, int mode, bool ste) {
  if (qi && qv) return pick_mode<T, true, true, SAVE>(mode, ste);
  if (qi) return pick_mode<T, true, false, SAVE>(mode, ste);
  if (qv) return pick_mode<T, false, true, SAVE>(mode, ste);
  return pick_mode<T, false, false, SAVE>(mode, ste);
}

template <typename T>
Params<T> make_params(const std::vector<double>& c, const std::vector<double>& qi, const std::vector<double>& qv) {
  // c = (a_mem, a_syn, v_leak, v_th, v_reset); q = (step, min_code, max_code). Python floats become T as
  // PyTorch turns a scalar operand into the tensor's dtype.
  Params<T> p;
  p.a_mem = static_cast<T>(c[0]);
  p.neg_a_syn = static_cast<T>(-c[1]);
  p.v_leak = static_cast<T>(c[2]);
  p.v_th = static_cast<T>(c[3]);
  p.v_reset = static_cast<T>(c[4]);
  p.qi = {static_cast<T>(qi[0]), static_cast<T>(qi[1]), static_cast<T>(qi[2])};
  p.qv = {static_cast<T>(qv[0]), static_cast<T>(qv[1]), static_cast<T>(qv[2])};
  return p;
}

int64_t grain(int64_t steps) {
  // enough work per task to amortise a thread hand-off; whole chunks so that no chunk is split
  const int64_t neurons = std::max<int64_t>(kChunk, (int64_t(1) << 16) / std::max<int64_t>(steps, 1));
  return (neurons + kChunk - 1) / kChunk * kChunk;
}

std::vector<torch::Tensor> lif_forward(const torch::Tensor& currents, const std::vector<double>& constants,
                                       bool quant_current, const std::vector<double>& current_format,
                                       bool quant_membrane, const std::vector<double>& membrane_format, int64_t mode,
                                       bool ste, const torch::Tensor& draws, bool save) {
  TORCH_CHECK(currents.device().is_cpu(), "fused LIF: CPU tensors only");
  TORCH_CHECK(currents.dim() >= 1, "fused LIF: currents need a time axis");
  TORCH_CHECK(constants.size() == 5 && current_format.size() == 3 && membrane_format.size() == 3,
              "fused LIF: bad parameter vectors");
  TORCH_CHECK(mode >= 0 && mode <= 2, "fused LIF: unknown rounding mode");
  auto x = currents.contiguous();
  const int64_t steps = x.size(0);
  const int64_t m = steps > 0 ? x.numel() / steps : 0;
  auto z = torch::empty_like(x);
  auto vd = save ? torch::empty_like(x) : torch::Tensor();
  const bool stochastic = mode == kStochastic && (quant_current || quant_membrane);
  torch::Tensor d;
  if (stochastic) {
    const int64_t k = (quant_current ? 2 : 0) + (quant_membrane ? 1 : 0);
    TORCH_CHECK(draws.defined() && draws.scalar_type() == x.scalar_type() && draws.numel() == steps * k * m,
                "fused LIF: stochastic rounding needs (T, k, ...) uniform draws of the currents' dtype");
    d = draws.contiguous();
  }
  if (x.numel() == 0) return {z, save ? vd : z};
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "qsearch_fused_lif_forward", [&] {
    const auto p = make_params<scalar_t>(constants, current_format, membrane_format);
    ForwardFn fn = save ? pick_quant<scalar_t, true>(quant_current, quant_membrane, static_cast<int>(mode), ste)
                        : pick_quant<scalar_t, false>(quant_current, quant_membrane, static_cast<int>(mode), ste);
    const scalar_t* xp = x.const_data_ptr<scalar_t>();
    scalar_t* zp = z.mutable_data_ptr<scalar_t>();
    scalar_t* vp = save ? vd.mutable_data_ptr<scalar_t>() : nullptr;
    const scalar_t* dp = stochastic ? d.const_data_ptr<scalar_t>() : nullptr;
    at::parallel_for(0, m, grain(steps), [&](int64_t begin, int64_t end) {
      fn(xp, zp, vp, dp, steps, m, &p, begin, end);
    });
  });
  return {z, save ? vd : z};
}

torch::Tensor lif_backward(const torch::Tensor& grad_spikes, const torch::Tensor& vd,
                           const std::vector<double>& constants) {
  TORCH_CHECK(grad_spikes.device().is_cpu() && vd.device().is_cpu(), "fused LIF: CPU tensors only");
  TORCH_CHECK(grad_spikes.sizes() == vd.sizes(), "fused LIF: gradient and saved state differ in shape");
  TORCH_CHECK(constants.size() == 5, "fused LIF: bad parameter vector");
  auto g = grad_spikes.to(vd.scalar_type()).contiguous();
  auto v = vd.contiguous();
  auto gx = torch::empty_like(v);
  const int64_t steps = v.dim() > 0 ? v.size(0) : 0;
  const int64_t m = steps > 0 ? v.numel() / steps : 0;
  if (v.numel() == 0) return gx;
  AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "qsearch_fused_lif_backward", [&] {
    const std::vector<double> unused = {1.0, 0.0, 0.0};
    const auto p = make_params<scalar_t>(constants, unused, unused);
    const scalar_t* gp = g.const_data_ptr<scalar_t>();
    const scalar_t* vp = v.const_data_ptr<scalar_t>();
    scalar_t* op = gx.mutable_data_ptr<scalar_t>();
    at::parallel_for(0, m, grain(steps), [&](int64_t begin, int64_t end) {
      backward_dispatch_isa<scalar_t>(gp, vp, op, steps, m, p, begin, end);
    });
  });
  return gx;
}

}  // namespace

PYBIND11_MODULE(TORCH_EXTENSION_NAME, module) {
  module.def("lif_forward", &lif_forward, "fused LIF forward: (spikes, membrane after decay)");
  module.def("lif_backward", &lif_backward, "fused LIF BPTT: gradient wrt the input currents");
}
