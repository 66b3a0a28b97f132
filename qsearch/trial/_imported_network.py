"""The user's own trained network as a study's float baseline: read it (a NIR file or a Norse model), map it.

The I/O edge of :mod:`qsearch.snn._nir_import`. A Norse model (``model.kind: python``) goes through Norse's
own ``norse.torch.to_nir`` extractor into the same graph mapping as a NIR file, so there is one import route.
Two Norse gaps are filled here, and only here: ``Conv2d`` without a bias (Norse's extractor reads
``module.bias``) and ``LICell`` (Norse exports only ``LIBoxCell``), written as NIR ``CubaLI``.
"""

from __future__ import annotations

import importlib
import math
import os
import sys
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from qsearch.errors import InputError
from qsearch.snn import DEFAULT_DT, ImportedNetwork, SpikingNetwork, count_weight_layers, evaluate, map_graph
from qsearch.studyfile import ModelSection, StudyFile

IMPORTED_KINDS = ("nir", "python")

#: what ``expected_accuracy`` mismatches usually come from
LIKELY_CAUSES = "likely causes: data scaling or encoding, timesteps, dt (model.dt)"


def is_imported(spec: ModelSection) -> bool:
    return spec.kind in IMPORTED_KINDS


def _field(spec: ModelSection) -> str:
    return "model.path" if spec.kind == "nir" else "model.factory"


@lru_cache(maxsize=4)
def _read_nir(path: str, mtime: float) -> Any:  # keyed by mtime: a rewritten file is read again
    import nir

    try:  # NIR's type check would refuse Norse's own files (their Input keeps the batch axis: [1, 64]);
        return nir.read(path, type_check=False)  # map_graph checks every shape against the weights instead
    except Exception as error:  # h5py/NIR raise many types for a file that is not a NIR graph
        raise InputError(f"model.path: {path} is not a readable NIR graph ({type(error).__name__}: "
                         f"{str(error).splitlines()[0] if str(error) else ''})") from None


def read_graph(path: str | Path) -> Any:
    """The NIR graph stored at ``path`` (one line naming ``model.path`` if it is missing or unreadable)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"model.path: {path} does not exist (a path relative to the working directory)")
    return _read_nir(str(path.resolve()), path.stat().st_mtime)


def _factory(reference: str) -> Any:
    module_name, _, function_name = reference.partition(":")
    added = os.getcwd() not in sys.path
    if added:  # a module next to the study file, as `python -m` would find it
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise InputError(f"model.factory: cannot import {module_name!r} ({error})") from None
    finally:
        if added:
            sys.path.remove(os.getcwd())
    function = getattr(module, function_name, None)
    if not callable(function):
        raise InputError(f"model.factory: {module_name!r} has no function {function_name!r}")
    return function


def load_python_model(spec: ModelSection) -> torch.nn.Module:
    """The module ``model.factory`` returns, with ``model.state_dict`` loaded when given."""
    assert spec.factory is not None
    model = _factory(spec.factory)()
    if not isinstance(model, torch.nn.Module):
        raise InputError(f"model.factory: {spec.factory} returned {type(model).__name__}, not a torch module")
    if spec.state_dict:
        path = Path(spec.state_dict)
        if not path.is_file():
            raise InputError(f"model.state_dict: {path} does not exist")
        try:
            model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        except RuntimeError as error:
            raise InputError(f"model.state_dict: {path} does not fit the factory's model "
                             f"({str(error).splitlines()[0]})") from None
    return model.eval()


def _extractor(dt: float) -> Any:
    """Norse's ``to_nir`` module map, plus bias-free ``Conv2d`` and ``LICell`` (see the module docstring)."""
    import nir
    from norse.torch import LICell, LIFBoxCell, LIFCell
    from norse.torch.utils.export_nir import _extract_norse_module as extract_norse

    import qsearch._norse  # noqa: F401  (imports Norse under its warning filter)

    def extract(module: torch.nn.Module) -> Any:
        if isinstance(module, torch.nn.Conv2d) and module.bias is None:
            return nir.Conv2d(input_shape=None, weight=module.weight.detach(),
                              bias=torch.zeros(module.out_channels), stride=module.stride,
                              padding=module.padding, dilation=module.dilation, groups=module.groups)
        if isinstance(module, LIFCell | LIFBoxCell) and bool((module.p.v_reset != 0).any()):
            raise InputError(f"model.factory: a {type(module).__name__} has v_reset {module.p.v_reset}; "
                             "norse.torch.to_nir does not write v_reset (only 0 imports faithfully)")
        if isinstance(module, LICell):  # in to_nir's own time-constant convention (dt / tau_inv)
            p = module.p
            return nir.CubaLI(tau_syn=dt / p.tau_syn_inv.detach(), tau_mem=dt / p.tau_mem_inv.detach(),
                              r=torch.ones_like(p.v_leak.detach()), v_leak=p.v_leak.detach())
        if isinstance(module, torch.nn.AvgPool2d):
            return nir.AvgPool2d(kernel_size=np.array(_pair(module.kernel_size)),
                                 stride=np.array(_pair(module.stride or module.kernel_size)),
                                 padding=np.array(_pair(module.padding)))
        if isinstance(module, torch.nn.Flatten):
            return nir.Flatten(input_type=None, start_dim=module.start_dim - 1, end_dim=module.end_dim)
        return extract_norse(module, dt=dt)

    return extract


def _pair(value: Any) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def norse_graph(model: torch.nn.Module, sample_shape: tuple[int, ...], dt: float) -> Any:
    """The NIR graph of a Norse model, through Norse's ``to_nir`` machinery (nirtorch's tracing)."""
    from nirtorch import extract_nir_graph

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = extract_nir_graph(model, _extractor(dt), torch.zeros(1, *sample_shape), model_name="norse")
    modules = dict(model.named_modules())
    for name, node in graph.nodes.items():
        if node is None:
            kind = type(modules[name]).__name__ if name in modules else "unknown"
            raise InputError(f"model.factory: module '{name}' ({kind}) has no NIR form in norse.torch.to_nir; "
                             "use Linear, Conv2d, LIFCell, LIFBoxCell, LICell, LIBoxCell, AvgPool2d, Flatten")
    return graph


def model_graph(spec: ModelSection, input_shape: tuple[int, ...]) -> Any:
    if spec.kind == "nir":
        assert spec.path is not None
        return read_graph(spec.path)
    return norse_graph(load_python_model(spec), input_shape, spec.dt or DEFAULT_DT)


def _sample_shape(spec: ModelSection, data_shape: tuple[int, ...]) -> tuple[int, ...]:
    if spec.input_shape is None:
        return tuple(data_shape)
    if math.prod(spec.input_shape) != math.prod(data_shape):
        raise InputError(f"model.input_shape: {spec.input_shape} holds {math.prod(spec.input_shape)} values, "
                         f"the dataset's samples {math.prod(data_shape)}")
    return tuple(spec.input_shape)


def imported_network(spec: ModelSection, data_shape: tuple[int, ...]) -> ImportedNetwork:
    """The imported network for samples of ``data_shape`` (refusals are one-line InputErrors)."""
    shape = _sample_shape(spec, data_shape)
    convention = spec.tau_convention if spec.kind == "nir" else "norse"  # python: Norse's own to_nir wrote it
    return map_graph(model_graph(spec, shape), shape, spec.dt, field_name=_field(spec), tau_convention=convention)


def build_imported_model(spec: ModelSection, data_shape: tuple[int, ...]) -> SpikingNetwork:
    """A :class:`SpikingNetwork` holding the imported weights: the study's float network, untrained."""
    imported = imported_network(spec, data_shape)
    model = SpikingNetwork(imported.topology, imported.neuron, readout=imported.readout)
    with torch.no_grad():
        for weight, value in zip(model.weights, imported.weights, strict=True):
            weight.copy_(value)
    return model


def weight_layer_count(spec: ModelSection) -> int:
    """Weight layers of the imported network, without data (the search space's per-layer parameters)."""
    if spec.kind == "nir":
        assert spec.path is not None
        return count_weight_layers(read_graph(spec.path))
    model = load_python_model(spec)
    return sum(isinstance(m, torch.nn.Linear | torch.nn.Conv2d) for m in model.modules())


def check_expected_accuracy(study: StudyFile, model: SpikingNetwork, data: Any) -> float:
    """The imported float network's accuracy (percent, the study's accuracy split, baseline timesteps).

    Raises InputError naming ``model.expected_accuracy`` when it is set and missed by more than
    ``model.accuracy_tolerance`` points: then the study would search around a network that is not the user's.
    """
    split = data.test if study.accuracy_split == "test" else data.validation
    accuracy = 100 * evaluate(model, None, split, min_spikes=study.early_stopping.silent.min_spikes).accuracy
    expected = study.model.expected_accuracy
    if expected is not None and abs(accuracy - expected) > study.model.accuracy_tolerance:
        raise InputError(f"model.expected_accuracy: the imported network reaches {accuracy:.2f} % on the "
                         f"{study.accuracy_split} split at T={study.baseline_timesteps()}, expected {expected:g} "
                         f"± {study.model.accuracy_tolerance:g}; {LIKELY_CAUSES}")
    return accuracy


__all__ = ["IMPORTED_KINDS", "build_imported_model", "check_expected_accuracy", "imported_network", "is_imported",
           "load_python_model", "model_graph", "norse_graph", "read_graph", "weight_layer_count"]
