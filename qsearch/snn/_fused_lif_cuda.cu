// Fused LIF recurrence on CUDA: the CUDA twin of _fused_lif.cpp (same ops, same schema, same semantics).
//
// One thread per neuron (an element of the B x N state), looping over all T steps with its state in registers;
// consecutive threads read consecutive neurons of a step, so every load and store is coalesced. Each step
// evaluates exactly the float operations of the Python reference in the same order (compiled with
// -fmad=false: no multiply-add is fused), hence spikes are bit-identical to the reference loop on the same
// device, stochastic rounding included (the draws are made in Python, in the reference's call order):
//
//   i  = Qi(i + x_t);  vd = Qv(v + a_mem*((v_leak - v) + i));  i = Qi(i + (-a_syn)*i)
//   z  = (vd - v_th) > 0;  v = (1 - z)*vd + z*v_reset
//
// The backward is the CPU kernel's hand-written BPTT (straight-through quantizers, SuperSpike surrogate).
// Quantizer switches are runtime arguments rather than template parameters: they are uniform over a launch, so
// no warp diverges on them, and one instance per dtype keeps the one-time nvcc build short.

#include <ATen/Dispatch.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty_like.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace {

#include "_fused_lif_params.h"

constexpr int kThreads = 256;

template <typename T>
__device__ __forceinline__ T quantize(T x, const Quant<T>& q, int mode, bool ste, T draw) {
  const T u = x * q.inv_step;  // == x / step (power-of-two step)
  T r;
  if (mode == kTruncate) {
    r = floor(u);
  } else if (mode == kNearest) {
    r = ceil(u - T(0.5));
  } else {
    const T low = floor(u);
    r = low + (draw < (u - low) ? T(1) : T(0));
  }
  r = r < q.lo ? q.lo : (r > q.hi ? q.hi : r);  // torch.clamp, NaN passes through
  T value = r * q.step;
  if (ste) {
    value = value + (x - x);  // fake_quantize: q + (x - x.detach())
  }
  return value;
}

template <typename T>
__global__ void lif_forward_kernel(const T* __restrict__ x, T* __restrict__ z, T* __restrict__ vd_out,
                                   const T* __restrict__ draws, int64_t steps, int64_t m, Params<T> p, bool qi,
                                   bool qv, int mode, bool ste, bool save) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= m) return;
  const bool stochastic = mode == kStochastic;
  const int64_t k_draws = (qi ? 2 : 0) + (qv ? 1 : 0);
  T v = T(0);
  T i = T(0);
  for (int64_t t = 0; t < steps; ++t) {
    const int64_t at = t * m + j;
    const T* d = stochastic ? draws + t * k_draws * m + j : nullptr;  // (T, k, m): i1, v, i2 as present
    int64_t k = 0;
    T cur = i + x[at];
    if (qi) cur = quantize(cur, p.qi, mode, ste, stochastic ? d[(k++) * m] : T(0));
    T vd = v + p.a_mem * ((p.v_leak - v) + cur);
    if (qv) vd = quantize(vd, p.qv, mode, ste, stochastic ? d[(k++) * m] : T(0));
    T decayed = cur + p.neg_a_syn * cur;
    if (qi) decayed = quantize(decayed, p.qi, mode, ste, stochastic ? d[(k++) * m] : T(0));
    const T spike = (vd - p.v_th) > T(0) ? T(1) : T(0);
    v = (T(1) - spike) * vd + spike * p.v_reset;
    i = decayed;
    z[at] = spike;
    if (save) vd_out[at] = vd;
  }
}

template <typename T>
__global__ void lif_backward_kernel(const T* __restrict__ gz, const T* __restrict__ vd, T* __restrict__ gx,
                                    int64_t steps, int64_t m, Params<T> p) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= m) return;
  const T keep_i = T(1) + p.neg_a_syn;
  const T keep_v = T(1) - p.a_mem;
  T gv = T(0);
  T gi = T(0);
  for (int64_t t = steps - 1; t >= 0; --t) {
    const int64_t at = t * m + j;
    const T vdj = vd[at];
    const T over = vdj - p.v_th;
    const T spike = over > T(0) ? T(1) : T(0);
    const T denom = fabs(over) + T(1);
    const T g_spike = gz[at] + gv * (p.v_reset - vdj);
    const T g_vd = gv * (T(1) - spike) + g_spike / (denom * denom);
    const T g_i1 = gi * keep_i + g_vd * p.a_mem;
    gx[at] = g_i1;
    gv = g_vd * keep_v;
    gi = g_i1;
  }
}

unsigned int blocks(int64_t m) { return static_cast<unsigned int>((m + kThreads - 1) / kThreads); }

std::vector<at::Tensor> lif_forward(const at::Tensor& currents, const std::vector<double>& constants,
                                    bool quant_current, const std::vector<double>& current_format,
                                    bool quant_membrane, const std::vector<double>& membrane_format, int64_t mode,
                                    bool ste, const at::Tensor& draws, bool save) {
  TORCH_CHECK(currents.is_cuda(), "fused LIF (CUDA): CUDA tensors only");
  TORCH_CHECK(currents.dim() >= 1, "fused LIF: currents need a time axis");
  check_forward_arguments(constants, current_format, membrane_format, mode);
  const c10::cuda::CUDAGuard guard(currents.device());
  auto x = currents.contiguous();
  const int64_t steps = x.size(0);
  const int64_t m = steps > 0 ? x.numel() / steps : 0;
  auto z = at::empty_like(x);
  auto vd = save ? at::empty_like(x) : at::Tensor();
  const bool stochastic = mode == kStochastic && (quant_current || quant_membrane);
  at::Tensor d;
  if (stochastic) {
    const int64_t k = (quant_current ? 2 : 0) + (quant_membrane ? 1 : 0);
    TORCH_CHECK(draws.defined() && draws.is_cuda() && draws.scalar_type() == x.scalar_type() &&
                    draws.numel() == steps * k * m,
                "fused LIF: stochastic rounding needs (T, k, ...) uniform draws of the currents' dtype and device");
    d = draws.contiguous();
  }
  if (x.numel() == 0) return {z, save ? vd : z};
  const int kernel_mode = stochastic ? static_cast<int>(kStochastic)
                                     : (mode == kStochastic ? static_cast<int>(kTruncate) : static_cast<int>(mode));
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "qsearch_fused_lif_cuda_forward", [&] {
    const auto p = make_params<scalar_t>(constants, current_format, membrane_format);
    lif_forward_kernel<scalar_t><<<blocks(m), kThreads, 0, stream>>>(
        x.const_data_ptr<scalar_t>(), z.mutable_data_ptr<scalar_t>(),
        save ? vd.mutable_data_ptr<scalar_t>() : nullptr, stochastic ? d.const_data_ptr<scalar_t>() : nullptr,
        steps, m, p, quant_current, quant_membrane, kernel_mode, ste, save);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {z, save ? vd : z};
}

at::Tensor lif_backward(const at::Tensor& grad_spikes, const at::Tensor& vd, const std::vector<double>& constants) {
  TORCH_CHECK(grad_spikes.is_cuda() && vd.is_cuda(), "fused LIF (CUDA): CUDA tensors only");
  TORCH_CHECK(grad_spikes.sizes() == vd.sizes(), "fused LIF: gradient and saved state differ in shape");
  TORCH_CHECK(constants.size() == 5, "fused LIF: bad parameter vector");
  const c10::cuda::CUDAGuard guard(vd.device());
  auto g = grad_spikes.to(vd.scalar_type()).contiguous();
  auto v = vd.contiguous();
  auto gx = at::empty_like(v);
  const int64_t steps = v.dim() > 0 ? v.size(0) : 0;
  const int64_t m = steps > 0 ? v.numel() / steps : 0;
  if (v.numel() == 0) return gx;
  auto stream = c10::cuda::getCurrentCUDAStream();
  AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "qsearch_fused_lif_cuda_backward", [&] {
    const std::vector<double> unused = {1.0, 0.0, 0.0};
    const auto p = make_params<scalar_t>(constants, unused, unused);
    lif_backward_kernel<scalar_t><<<blocks(m), kThreads, 0, stream>>>(
        g.const_data_ptr<scalar_t>(), v.const_data_ptr<scalar_t>(), gx.mutable_data_ptr<scalar_t>(), steps, m, p);
    C10_CUDA_KERNEL_LAUNCH_CHECK();
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
