"""The LIF recurrence of :func:`qsearch.snn._lif_reference.lif_sequence_reference` as one fused C++ kernel (CPU),
and the loader every kernel library shares (:class:`KernelLibrary`; the CUDA twin is :mod:`._fused_cuda`).

The dispatcher :func:`qsearch.snn._dynamics.lif_sequence` tries this kernel first on CPU tensors; this module
does not import the dispatcher.

Small layers are bound by per-operation overhead: the Python loop issues ~15 tensor operations and as many autograd
nodes per timestep. ``_fused_lif.cpp`` runs all T steps in one call, evaluating the same float operations in the
same order (bit-identical spikes), and its backward is hand-written BPTT with straight-through quantizers and
Norse's SuperSpike surrogate. Stochastic rounding consumes uniform draws made here, in one call, from the
StateQuant's generator: the same stream, in the same order, as the reference loop's per-step draws.

The kernel is a small op library (``torch.ops.qsearch_fused_lif_<key>``), compiled with
:func:`torch.utils.cpp_extension.load` on first use (about 15-25 s of one core; longer on a loaded machine) and kept in
``~/.cache/qsearch/torch_extensions/<key>`` (the key hashes source, flags, torch and Python versions), so a
machine builds it once. Each build runs in its own temporary directory and publishes the library with an atomic
rename: concurrent first uses race harmlessly and an interrupted build leaves no lock behind. Without a compiler
(or ninja), or when disabled, nothing is built and callers fall back to the Python loop.

Settings (:class:`KernelSettings`) come in through :func:`configure`; this module reads no environment. The
``qsearch`` command reads ``QSEARCH_FUSED=0`` (disable) and ``QSEARCH_EXTENSIONS_DIR`` (cache root; else
``$XDG_CACHE_HOME/qsearch/torch_extensions``) at its edge with :meth:`KernelSettings.from_environment`, in every
process it starts, workers included (they inherit the environment and run the same command).
"""

from __future__ import annotations

import hashlib
import logging
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from qsearch.snn._lif_reference import StateQuant
from qsearch.snn._neuron import NeuronConstants

logger = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("_fused_lif.cpp")
HEADERS = (Path(__file__).with_name("_fused_lif_kernels.h"), Path(__file__).with_name("_fused_lif_params.h"))
CFLAGS = ("-O3", "-ffp-contract=off", "-fno-trapping-math")
_MODES = {"truncate": 0, "nearest": 1, "stochastic": 2}
_NO_FORMAT = [1.0, 0.0, 0.0]



def _default_cache_root(cache_home: str | None = None) -> Path:
    base = Path(cache_home) if cache_home else Path.home() / ".cache"
    return base / "qsearch" / "torch_extensions"


@dataclass(frozen=True)
class KernelSettings:
    """Whether to use the kernel and where built libraries are kept."""

    enabled: bool = True
    cache_root: Path = field(default_factory=_default_cache_root)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> KernelSettings:
        """``QSEARCH_FUSED=0`` disables; ``QSEARCH_EXTENSIONS_DIR``, else ``XDG_CACHE_HOME``, sets the root."""
        root = environ.get("QSEARCH_EXTENSIONS_DIR")
        return cls(enabled=environ.get("QSEARCH_FUSED", "1") != "0",
                   cache_root=Path(root) if root else _default_cache_root(environ.get("XDG_CACHE_HOME")))


_lock = threading.Lock()
_settings = KernelSettings()


@dataclass(frozen=True)
class KernelSource:
    """What one kernel library is built from: its name prefix, sources, headers (hashed into the key) and flags."""

    prefix: str
    sources: tuple[Path, ...]
    headers: tuple[Path, ...]
    cflags: tuple[str, ...]
    cuda_cflags: tuple[str, ...] = ()

    def key(self) -> str:
        """A hash of everything that makes the built library differ: sources, flags, torch, CUDA and Python."""
        digest = hashlib.sha256()
        parts = [*(path.read_bytes() for path in (*self.sources, *self.headers)), torch.__version__.encode(),
                 str(torch.version.cuda).encode(), sys.version.encode(), platform.machine().encode(),
                 " ".join((*self.cflags, *self.cuda_cflags)).encode()]
        for part in parts:
            digest.update(part)
            digest.update(b"\0")
        return digest.hexdigest()[:16]


class KernelLibrary:
    """One kernel op library: built once per machine (cached under its key), loaded once per process."""

    def __init__(self, source: KernelSource) -> None:
        self.source = source
        self._ops: Any | None = None
        self._tried = False
        #: seconds the last build took in this process (None: loaded from the cache or not built)
        self.build_seconds: float | None = None

    def forget(self) -> None:
        """Try again on next use (after a change of settings)."""
        self._ops, self._tried = None, False

    def load(self) -> Any | None:
        """The library's ops, building it on first use; None when it cannot be had (logged once, debug)."""
        if self._tried:
            return self._ops
        with _lock:
            if not self._tried:
                if not _settings.enabled:
                    logger.debug("%s disabled (QSEARCH_FUSED=0); using the Python loop", self.source.prefix)
                else:
                    try:
                        self._ops = self._build_or_load()
                    except Exception as exc:  # no compiler, no ninja, no nvcc, read-only cache, ...: the loop works
                        logger.debug("%s unavailable (%s: %s); using the Python loop", self.source.prefix,
                                     type(exc).__name__, exc)
                        self._ops = None
                self._tried = True
        return self._ops

    def _build_or_load(self) -> Any:
        key = self.source.key()
        name = f"{self.source.prefix}_{key}"
        target_dir = cache_root() / key
        target = target_dir / f"{name}.so"
        if target.is_file():
            try:
                return _ops(name, target)
            except (OSError, RuntimeError) as exc:  # e.g. built against another torch of the same version: rebuild
                logger.debug("cached kernel %s does not load (%s); rebuilding", target, exc)
        from torch.utils import cpp_extension

        _put_environment_tools_on_path()
        target_dir.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="build-", dir=target_dir))
        try:
            start = time.perf_counter()
            built = cpp_extension.load(name=name, sources=[str(path) for path in self.source.sources],
                                       extra_cflags=list(self.source.cflags),
                                       extra_cuda_cflags=list(self.source.cuda_cflags) or None,
                                       build_directory=str(scratch), is_python_module=False, verbose=False)
            self.build_seconds = time.perf_counter() - start
            os.replace(built, target)  # atomic publish; the library is already loaded and stays mapped
            logger.debug("built %s in %.1f s into %s", name, self.build_seconds, target)
            return _ops(name)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


CPU_LIBRARY = KernelLibrary(KernelSource("qsearch_fused_lif", (SOURCE,), HEADERS, CFLAGS))
_LIBRARIES: list[KernelLibrary] = [CPU_LIBRARY]


def register_library(library: KernelLibrary) -> KernelLibrary:
    """Have :func:`configure` reset ``library`` too (the CUDA kernel's module registers its own)."""
    _LIBRARIES.append(library)
    return library


def configure(settings: KernelSettings) -> None:
    """Use ``settings`` from now on (a kernel already loaded stays loaded; a disabled one is not tried)."""
    global _settings
    with _lock:
        if settings != _settings:
            _settings = settings
            for library in _LIBRARIES:
                library.forget()


def cache_root() -> Path:
    return _settings.cache_root


def build_key() -> str:
    return CPU_LIBRARY.source.key()


def _ops(name: str, path: Path | None = None) -> Any:
    """The kernel's ops (``torch.ops.<name>``), loading the library at ``path`` first when given."""
    if path is not None:
        torch.ops.load_library(str(path))
    return getattr(torch.ops, name)


def _put_environment_tools_on_path() -> None:
    """torch finds ninja on PATH; the ``ninja`` wheel installs it next to this interpreter, which a plain
    ``.venv/bin/qsearch`` call (no activated environment) does not put on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    if shutil.which("ninja") is None and (Path(bin_dir) / "ninja").exists():
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def load_extension() -> Any | None:
    """The CPU kernel's ops, building the library on first use; None when it cannot be had."""
    return CPU_LIBRARY.load()


def is_available() -> bool:
    return load_extension() is not None


def _format(fmt: Any) -> tuple[bool, list[float]] | None:
    """(quantize?, [step, min_code, max_code]); None for a format the kernel does not handle (binary)."""
    if fmt.is_float:
        return False, _NO_FORMAT
    if fmt.is_binary or abs(fmt.frac_bits) > 100:  # binary: another quantizer; the kernel needs 1/step finite
        return None
    return True, [float(fmt.step), float(fmt.min_code), float(fmt.max_code)]


class _FusedLIF(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, currents: torch.Tensor, ext: Any, constants: list[float], args: tuple,
                draws: torch.Tensor) -> torch.Tensor:
        spikes, v_decayed = ext.lif_forward(currents, constants, *args, draws, True)
        ctx.ext = ext
        ctx.constants = constants
        ctx.save_for_backward(v_decayed)
        return spikes

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, grad_spikes: torch.Tensor) -> tuple:
        (v_decayed,) = ctx.saved_tensors
        grad = ctx.ext.lif_backward(grad_spikes, v_decayed, ctx.constants)
        return grad, None, None, None, None


def fused_lif_sequence(currents: torch.Tensor, p: NeuronConstants,
                       state_quant: StateQuant | None = None) -> torch.Tensor | None:
    """Spikes of ``lif_sequence(currents, p, state_quant)`` from the CPU kernel; None where it does not apply."""
    if currents.device.type != "cpu":
        return None
    return run_kernel(CPU_LIBRARY, currents, p, state_quant, draws_per_call=False)


def run_kernel(library: KernelLibrary, currents: torch.Tensor, p: NeuronConstants, state_quant: StateQuant | None,
               draws_per_call: bool) -> torch.Tensor | None:
    """Spikes from ``library``'s ``lif_forward``/``lif_backward`` ops (CPU or CUDA: one schema); None where the
    kernel does not apply (dtype, format, rounding mode, or the library cannot be had)."""
    if currents.dtype not in (torch.float32, torch.float64) or currents.dim() < 2 or currents.shape[0] == 0:
        return None
    quant_current, current_fmt, quant_membrane, membrane_fmt, mode = False, _NO_FORMAT, False, _NO_FORMAT, 0
    generator = None
    if state_quant is not None:
        current = _format(state_quant.current)
        membrane = _format(state_quant.membrane)
        if current is None or membrane is None or state_quant.rounding not in _MODES:
            return None
        (quant_current, current_fmt), (quant_membrane, membrane_fmt) = current, membrane
        mode = _MODES[state_quant.rounding]
        generator = state_quant.generator
    ext = library.load()
    if ext is None:
        return None
    constants = [float(p.a_mem), float(p.a_syn), float(p.v_leak), float(p.v_th), float(p.v_reset)]
    need_grad = torch.is_grad_enabled() and currents.requires_grad
    draws = _draws(currents, quant_current, quant_membrane, mode, generator, draws_per_call)
    # the reference's fake_quantize adds (x - x.detach()) only when x requires grad: mirror it bit for bit
    args = (quant_current, current_fmt, quant_membrane, membrane_fmt, mode, need_grad)
    if need_grad:
        return _FusedLIF.apply(currents, ext, constants, args, draws)
    spikes, _ = ext.lif_forward(currents.detach(), constants, *args, draws, False)
    return spikes


def _draws(currents: torch.Tensor, quant_current: bool, quant_membrane: bool, mode: int,
           generator: torch.Generator | None, per_call: bool) -> torch.Tensor:
    """Uniform draws (T, k, ...) in the reference's order per step: current jump, membrane, current decay.

    One call yields the reference's stream where the generator's stream does not depend on how draws are split
    into calls (the CPU's Mersenne twister); CUDA's Philox generator advances by a per-call offset, so there the
    draws are made call by call, exactly as the reference loop makes them (``per_call``).
    """
    k = 2 * quant_current + quant_membrane
    if mode != _MODES["stochastic"] or k == 0:
        return torch.empty(0, dtype=currents.dtype, device=currents.device)
    step_shape = tuple(currents.shape[1:])
    if per_call:
        draws = [torch.rand(step_shape, generator=generator, device=currents.device, dtype=currents.dtype)
                 for _ in range(currents.shape[0] * k)]
        return torch.stack(draws).view(currents.shape[0], k, *step_shape)
    shape = (currents.shape[0], k, *step_shape)
    return torch.rand(shape, generator=generator, device=currents.device, dtype=currents.dtype)
