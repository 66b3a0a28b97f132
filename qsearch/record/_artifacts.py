"""Files kept beside a study: where its artifact folder is, and the trained weights of trials on the front.

A trial that lands on the front keeps its trained network (the ``state_dict`` after training, before the
quantization plan, which is rebuilt from it without training) as an Optuna artifact of that trial, so
``export`` and the dashboard's selected model never train again: on a large network that is hours. Weights
are written with ``torch.save`` and read with ``torch.load(weights_only=True)``: tensors only, never a pickle
of arbitrary objects (the artifact folder may be shared).
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import optuna
import torch
from optuna.artifacts import FileSystemArtifactStore, download_artifact, get_all_artifact_meta, upload_artifact

from qsearch.record.optuna_compat import study_storage

#: the artifact holding a trial's trained weights
WEIGHTS_FILE = "weights.pt"


def artifact_dir_for(url: str, given: str | Path | None = None) -> Path | None:
    """Where a storage's artifacts live: ``given``, else ``<file>.artifacts`` beside a SQLite/journal file,
    else None (a database server has no folder of its own: pass ``--artifacts``)."""
    if given is not None:
        return Path(given)
    for prefix in ("sqlite:///", "journal:"):
        if url.startswith(prefix):
            return Path(url[len(prefix):] + ".artifacts")
    return None


def artifact_store_for(url: str, given: str | Path | None = None) -> FileSystemArtifactStore | None:
    """The artifact store of a storage (its folder created), None where it has no folder."""
    folder = artifact_dir_for(url, given)
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    return FileSystemArtifactStore(str(folder))


@contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():  # Optuna 5 marks its artifact API experimental; it is the current one
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        yield


def store_weights(trial: optuna.Trial, store: FileSystemArtifactStore, state: dict[str, torch.Tensor]) -> str:
    """Keep ``state`` as the running ``trial``'s weights artifact; its artifact id."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / WEIGHTS_FILE
        torch.save({name: tensor.detach().cpu() for name, tensor in state.items()}, path)
        with _quiet():
            return upload_artifact(artifact_store=store, file_path=str(path), study_or_trial=trial,
                                   mimetype="application/octet-stream")


def stored_weights(study: optuna.Study, trial: optuna.trial.FrozenTrial,
                   store: FileSystemArtifactStore | None) -> dict[str, torch.Tensor] | None:
    """The weights a trial kept (None: it kept none, or the store is elsewhere)."""
    if store is None:
        return None
    with _quiet():
        metas = [m for m in get_all_artifact_meta(trial, storage=study_storage(study)) if m.filename == WEIGHTS_FILE]
    if not metas:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / WEIGHTS_FILE
        try:
            with _quiet():
                download_artifact(artifact_store=store, file_path=str(path), artifact_id=metas[-1].artifact_id)
        except Exception:  # noqa: BLE001 - a missing or unreadable file: the export retrains, and says so
            return None
        state = torch.load(path, map_location="cpu", weights_only=True)
    return state if isinstance(state, dict) else None
