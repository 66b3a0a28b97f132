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
// The loops live in _fused_lif_kernels.h, compiled for the baseline ISA and, on x86-64, for AVX2 (vector
// floor/ceil), picked at run time. Flags: -O3 -ffp-contract=off -fno-trapping-math; the last lets GCC if-convert
// (1 - z)*vd + z*v_reset into vector selects of both computed terms (it changes no value: it only allows FP
// operations to be evaluated speculatively).
// The quantizer multiplies by 1/step instead of dividing by step: the step is a power of two, so both are the
// exact same correctly rounded value (checked in make_params).

// Lean headers (no torch/extension.h, no pybind11): the op is registered with the dispatcher and called through
// torch.ops, which keeps the one-time compile at a fraction of a full extension's.
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty_like.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace {

constexpr int64_t kChunk = 512;

#include "_fused_lif_params.h"

namespace base {
#include "_fused_lif_kernels.h"
}  // namespace base

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define QSEARCH_HAVE_AVX2 1
#pragma GCC push_options
#pragma GCC target("avx2")
namespace avx2 {
#include "_fused_lif_kernels.h"
}  // namespace avx2
#pragma GCC pop_options

bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
}
#else
#define QSEARCH_HAVE_AVX2 0
#endif

template <typename T, bool QI, bool QV, int MODE, bool STE, bool SAVE>
void forward_dispatch_isa(const T* x, T* z, T* vd, const T* draws, int64_t steps, int64_t m, const Params<T>& p,
                          int64_t begin, int64_t end) {
#if QSEARCH_HAVE_AVX2
  if (cpu_has_avx2()) {
    avx2::forward_range<T, QI, QV, MODE, STE, SAVE>(x, z, vd, draws, steps, m, p, begin, end);
    return;
  }
#endif
  base::forward_range<T, QI, QV, MODE, STE, SAVE>(x, z, vd, draws, steps, m, p, begin, end);
}

template <typename T>
void backward_dispatch_isa(const T* gz, const T* vd, T* gx, int64_t steps, int64_t m, const Params<T>& p,
                           int64_t begin, int64_t end) {
#if QSEARCH_HAVE_AVX2
  if (cpu_has_avx2()) {
    avx2::backward_range<T>(gz, vd, gx, steps, m, p, begin, end);
    return;
  }
#endif
  base::backward_range<T>(gz, vd, gx, steps, m, p, begin, end);
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
        return ste ? &forward_erased<T, QI, QV, kTruncate, true, SAVE>
                   : &forward_erased<T, QI, QV, kTruncate, false, SAVE>;
      case kNearest:
        return ste ? &forward_erased<T, QI, QV, kNearest, true, SAVE>
                   : &forward_erased<T, QI, QV, kNearest, false, SAVE>;
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

int64_t grain(int64_t steps) {
  // enough work per task to amortise a thread hand-off; whole chunks so that no chunk is split
  const int64_t neurons = std::max<int64_t>(kChunk, (int64_t(1) << 16) / std::max<int64_t>(steps, 1));
  return (neurons + kChunk - 1) / kChunk * kChunk;
}

std::vector<at::Tensor> lif_forward(const at::Tensor& currents, const std::vector<double>& constants,
                                       bool quant_current, const std::vector<double>& current_format,
                                       bool quant_membrane, const std::vector<double>& membrane_format, int64_t mode,
                                       bool ste, const at::Tensor& draws, bool save) {
  TORCH_CHECK(currents.device().is_cpu(), "fused LIF: CPU tensors only");
  TORCH_CHECK(currents.dim() >= 1, "fused LIF: currents need a time axis");
  check_forward_arguments(constants, current_format, membrane_format, mode);
  auto x = currents.contiguous();
  const int64_t steps = x.size(0);
  const int64_t m = steps > 0 ? x.numel() / steps : 0;
  auto z = at::empty_like(x);
  auto vd = save ? at::empty_like(x) : at::Tensor();
  const bool stochastic = mode == kStochastic && (quant_current || quant_membrane);
  at::Tensor d;
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

at::Tensor lif_backward(const at::Tensor& grad_spikes, const at::Tensor& vd,
                           const std::vector<double>& constants) {
  TORCH_CHECK(grad_spikes.device().is_cpu() && vd.device().is_cpu(), "fused LIF: CPU tensors only");
  TORCH_CHECK(grad_spikes.sizes() == vd.sizes(), "fused LIF: gradient and saved state differ in shape");
  TORCH_CHECK(constants.size() == 5, "fused LIF: bad parameter vector");
  auto g = grad_spikes.to(vd.scalar_type()).contiguous();
  auto v = vd.contiguous();
  auto gx = at::empty_like(v);
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

// The library namespace is the extension's name (it carries the build key): the macro indirection expands it.
#define QSEARCH_FUSED_LIBRARY(ns, m) TORCH_LIBRARY(ns, m)
QSEARCH_FUSED_LIBRARY(TORCH_EXTENSION_NAME, m) {
  m.def(
      "lif_forward(Tensor currents, float[] constants, bool quant_current, float[] current_format, "
      "bool quant_membrane, float[] membrane_format, int mode, bool ste, Tensor draws, bool save) -> Tensor[]",
      &lif_forward);
  m.def("lif_backward(Tensor grad_spikes, Tensor vd, float[] constants) -> Tensor", &lif_backward);
}
