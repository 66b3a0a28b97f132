"""Which device a trial runs on, and how trial processes share the GPUs of a machine. Pure functions.

``model.device`` is ``auto`` (CUDA when torch finds a device, else CPU), ``cpu`` or ``cuda``. Asking for
``cuda`` where there is none is the user's error, reported before any trial exists, rather than a silent
fallback that would record CPU numbers under a GPU study.

A small SNN trial (a few hundred neurons, batches of 64) keeps a large GPU mostly idle: each timestep of the LIF
recurrence is a handful of tiny kernels, so launch latency and the Python loop dominate. Several trial processes
per GPU overlap those gaps; :func:`gpu_worker_layout` spreads them round-robin, each seeing one GPU through
``CUDA_VISIBLE_DEVICES``. ``DEFAULT_TRIALS_PER_GPU`` is the best of 4, 8 and 16 measured on an H200 with the
default study (docs/gpu.md); there the machine's 16 CPU cores still ran that small network 2.2x faster.
"""

from __future__ import annotations

from typing import Literal

from qsearch.errors import InputError

DeviceChoice = Literal["auto", "cpu", "cuda"]
#: trial processes sharing one GPU unless told otherwise (4 beat 8 and 16 on an H200: docs/gpu.md)
DEFAULT_TRIALS_PER_GPU = 4


def resolve_device(choice: DeviceChoice, cuda_available: bool) -> str:
    """``"cuda"`` or ``"cpu"`` for ``model.device``; InputError for ``cuda`` without a CUDA device."""
    if choice not in ("auto", "cpu", "cuda"):
        raise InputError(f"model.device: {choice!r} is unknown; allowed: auto, cpu, cuda")
    if choice == "cuda" and not cuda_available:
        raise InputError("model.device: cuda was asked for but torch finds no CUDA device; use auto or cpu")
    return "cuda" if choice == "cuda" or (choice == "auto" and cuda_available) else "cpu"


def torch_device(choice: DeviceChoice) -> str:
    """:func:`resolve_device` on this machine (asks torch whether CUDA is there)."""
    import torch

    return resolve_device(choice, torch.cuda.is_available())


def gpu_worker_layout(n_gpus: int, cores: int, trials_per_gpu: int = DEFAULT_TRIALS_PER_GPU) -> list[dict[str, str]]:
    """The environment of each trial process on a machine with ``n_gpus`` GPUs and ``cores`` CPU cores.

    One process per core at most (each runs its own Python loop), ``trials_per_gpu`` per GPU at most, and at
    least one per GPU; process ``k`` sees GPU ``k mod n_gpus`` only (``CUDA_VISIBLE_DEVICES``), so the GPUs'
    loads differ by at most one process. An empty list for a machine without GPUs (the CPU layout applies).
    """
    if n_gpus < 0 or cores < 1 or trials_per_gpu < 1:
        raise ValueError(f"gpu_worker_layout: needs n_gpus >= 0, cores >= 1, trials_per_gpu >= 1; got "
                         f"{n_gpus}, {cores}, {trials_per_gpu}")
    if n_gpus == 0:
        return []
    return gpu_environments(max(n_gpus, min(cores, n_gpus * trials_per_gpu)), n_gpus)


def gpu_environments(workers: int, gpus: int) -> list[dict[str, str]]:
    """``CUDA_VISIBLE_DEVICES`` of each of ``workers`` processes, round-robin over ``gpus`` (0: no GPU, empty)."""
    return [{"CUDA_VISIBLE_DEVICES": str(k % gpus)} if gpus > 0 else {} for k in range(workers)]


__all__ = ["DEFAULT_TRIALS_PER_GPU", "DeviceChoice", "gpu_environments", "gpu_worker_layout", "resolve_device",
           "torch_device"]
