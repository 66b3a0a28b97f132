"""The LIF dispatcher: implementations by device, the reference closing every chain, and no import circle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch

from qsearch.snn import NeuronSpec, _dynamics, _fused, register_lif_implementation
from qsearch.snn._lif_reference import lif_sequence_reference

SNN = Path(_dynamics.__file__).parent


def _qsearch_imports(module: Path) -> set[str]:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("qsearch"):
            imported.add(node.module)
            imported.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names if alias.name.startswith("qsearch"))
    return imported


@pytest.mark.parametrize("module", ["_fused.py", "_fused_cuda.py", "_lif_reference.py"])
def test_implementations_do_not_import_the_dispatcher(module: str) -> None:
    assert "qsearch.snn._dynamics" not in _qsearch_imports(SNN / module)


def _currents() -> torch.Tensor:
    g = torch.Generator().manual_seed(3)
    return torch.randn(6, 4, 5, generator=g) * 2 + 0.5


def test_registered_implementation_runs_first_and_none_falls_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_dynamics._IMPLEMENTATIONS, "cpu", list(_dynamics._IMPLEMENTATIONS["cpu"]))
    p = NeuronSpec().constants()
    currents = _currents()
    calls: list[str] = []

    def declines(c, q, s):
        calls.append("declines")
        return None

    register_lif_implementation("cpu", declines)
    assert torch.equal(_dynamics.lif_sequence(currents, p), lif_sequence_reference(currents, p))
    assert calls == ["declines"]

    def constant(c, q, s):
        return torch.full_like(c, 7.0)

    register_lif_implementation("cpu", constant)
    assert _dynamics.lif_implementations("cpu")[:2] == (constant, declines)
    assert bool((_dynamics.lif_sequence(currents, p) == 7.0).all())


def test_cuda_tries_its_fused_kernel_then_the_reference() -> None:
    assert [f.__name__ for f in _dynamics.lif_implementations("cuda")] == ["_fused_gpu"]


def test_without_any_implementation_the_reference_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_dynamics._IMPLEMENTATIONS, "cpu", [])
    p = NeuronSpec().constants()
    currents = _currents().requires_grad_()
    spikes = _dynamics.lif_sequence(currents, p)
    assert torch.equal(spikes, lif_sequence_reference(currents, p))
    spikes.sum().backward()
    assert currents.grad is not None


def test_kernel_settings_from_environment() -> None:
    default = _fused.KernelSettings.from_environment({})
    assert default.enabled
    assert default.cache_root == Path.home() / ".cache" / "qsearch" / "torch_extensions"
    assert not _fused.KernelSettings.from_environment({"QSEARCH_FUSED": "0"}).enabled
    assert _fused.KernelSettings.from_environment({"XDG_CACHE_HOME": "/x"}).cache_root == Path(
        "/x/qsearch/torch_extensions")
    chosen = _fused.KernelSettings.from_environment({"XDG_CACHE_HOME": "/x", "QSEARCH_EXTENSIONS_DIR": "/y"})
    assert chosen.cache_root == Path("/y")


def test_a_disabled_kernel_is_not_loaded_and_the_loop_runs() -> None:
    before = _fused._settings
    try:
        _fused.configure(_fused.KernelSettings(enabled=False, cache_root=before.cache_root))
        assert _fused.load_extension() is None
        p = NeuronSpec().constants()
        assert _fused.fused_lif_sequence(_currents(), p) is None
    finally:
        _fused.configure(before)
    assert _fused._settings == before
