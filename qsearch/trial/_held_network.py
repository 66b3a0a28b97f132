"""Networks given in Python (``qsearch.run(model=...)``) as ``model.kind: python`` factories.

An in-memory module is captured the way a study file names one: ``model.factory`` is
``qsearch.trial._held_network:network_<fingerprint>``, a function of this module (PEP 562 ``__getattr__``) that
returns a copy of the module as it was handed over. The fingerprint, a SHA-256 of the module's class, its
printed form (Norse prints its neuron parameters) and its state dict, goes into the recorded study file: a
study continued with other weights is refused as a changed study file is, and a process that was not handed
the module says so in one line.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable

import torch

from qsearch.errors import InputError

PREFIX = "network_"
_HELD: dict[str, torch.nn.Module] = {}


def network_fingerprint(module: torch.nn.Module) -> str:
    """SHA-256 of the module's class, printed form and every state-dict tensor (name, dtype, shape, values)."""
    digest = hashlib.sha256(f"{type(module).__module__}.{type(module).__qualname__}|{module!r}".encode())
    for name, value in module.state_dict().items():
        tensor = value.detach().cpu().contiguous()
        digest.update(f"|{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.view(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def hold_network(module: torch.nn.Module) -> str:
    """Keep a copy of ``module`` for this process's trials; returns its ``model.factory`` reference."""
    if not isinstance(module, torch.nn.Module):
        raise InputError(f"model: a {type(module).__name__} is not a torch module (give a Norse network)")
    kept = copy.deepcopy(module).cpu().eval()
    fingerprint = network_fingerprint(kept)
    _HELD.setdefault(fingerprint, kept)
    return f"{__name__}:{PREFIX}{fingerprint}"


def held_fingerprint(factory: str | None) -> str | None:
    """The fingerprint in a ``model.factory`` reference to a held network, else None."""
    module, _, function = (factory or "").partition(":")
    return function.removeprefix(PREFIX) if module == __name__ and function.startswith(PREFIX) else None


def __getattr__(name: str) -> Callable[[], torch.nn.Module]:
    if not name.startswith(PREFIX):
        raise AttributeError(name)
    fingerprint = name.removeprefix(PREFIX)
    held = _HELD.get(fingerprint)
    if held is None:
        raise InputError(f"model.factory: this study's network ({fingerprint[:12]}) was given in Python to another "
                         "process; give it again, e.g. qsearch.load(storage, name, model=...)")
    return lambda: copy.deepcopy(held)


__all__ = ["held_fingerprint", "hold_network", "network_fingerprint"]
