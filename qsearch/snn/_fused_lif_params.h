// Parameters of the fused LIF kernels, shared by the CPU kernel (_fused_lif.cpp) and the CUDA kernel
// (_fused_lif_cuda.cu): the rounding modes, the per-layer constants and their checked conversion from the Python
// floats. Included once per translation unit, inside its anonymous namespace, after the ATen headers.

enum Mode : int { kTruncate = 0, kNearest = 1, kStochastic = 2 };

template <typename T>
struct Quant {
  T step, inv_step, lo, hi;
};

template <typename T>
struct Params {
  T a_mem, neg_a_syn, v_leak, v_th, v_reset;
  Quant<T> qi, qv;
};

template <typename T>
Quant<T> make_quant(const std::vector<double>& q) {
  // q = (step, min_code, max_code); the step must be a power of two whose inverse T represents exactly
  int exponent = 0;
  TORCH_CHECK(q[0] > 0 && std::frexp(q[0], &exponent) == 0.5, "fused LIF: the step must be a power of two");
  const T step = static_cast<T>(q[0]);
  const T inv_step = static_cast<T>(1.0 / q[0]);
  TORCH_CHECK(static_cast<double>(step) == q[0] && static_cast<double>(inv_step) * q[0] == 1.0 &&
                  std::isfinite(static_cast<double>(inv_step)),
              "fused LIF: the step or its inverse is not representable");
  return {step, inv_step, static_cast<T>(q[1]), static_cast<T>(q[2])};
}

template <typename T>
Params<T> make_params(const std::vector<double>& c, const std::vector<double>& qi, const std::vector<double>& qv) {
  // c = (a_mem, a_syn, v_leak, v_th, v_reset): Python floats become T as PyTorch turns a scalar operand into
  // the tensor's dtype.
  Params<T> p;
  p.a_mem = static_cast<T>(c[0]);
  p.neg_a_syn = static_cast<T>(-c[1]);
  p.v_leak = static_cast<T>(c[2]);
  p.v_th = static_cast<T>(c[3]);
  p.v_reset = static_cast<T>(c[4]);
  p.qi = make_quant<T>(qi);
  p.qv = make_quant<T>(qv);
  return p;
}

inline void check_forward_arguments(const std::vector<double>& constants, const std::vector<double>& current_format,
                                    const std::vector<double>& membrane_format, int64_t mode) {
  TORCH_CHECK(constants.size() == 5 && current_format.size() == 3 && membrane_format.size() == 3,
              "fused LIF: bad parameter vectors");
  TORCH_CHECK(mode >= 0 && mode <= 2, "fused LIF: unknown rounding mode");
}
