""":func:`run` and :func:`load`: one call from Python on the user's own network and data, the study
``qsearch run`` would make.

The data and the network are given as objects and enter the study file by fingerprint
(``dataset.name: python``, ``model.kind: python``), so everything below this layer (trials, storage, selection,
confirmation, the dashboard view) is what the command line runs. Errors the user can fix are raised as one
:class:`~qsearch.errors.QsearchError` whose message is the line the command would print.
"""

from __future__ import annotations

import sys
import threading
import warnings
from collections.abc import Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch

from qsearch.api._datasets import materialize
from qsearch.api._engine import TEST_SELECTION_WARNING, confirm_study, raised_as_one_line, search
from qsearch.api._result import StudyResult
from qsearch.errors import InputError, QsearchError, QsearchWarning
from qsearch.studyfile import StudyFile, load_study_file, parse_study

StudySource = str | Path | Mapping[str, Any] | StudyFile


def run(study: StudySource, *, model: torch.nn.Module | None = None, data: Any = None,
        storage: str | None = None, study_name: str | None = None, n_trials: int | None = None,
        total_trials: int | None = None, timeout: float | None = None, worker_index: int = 0,
        artifacts: str | Path | None = None, allow_changed_study_file: bool = False,
        progress: bool = True) -> StudyResult:
    """Run (or continue) a study in this process and return what it found, as ``qsearch run`` would.

    ``study``: a study file's path, its contents as a dict, or a :class:`~qsearch.studyfile.StudyFile`.
    ``model``: a trained Norse (or PyTorch) module taken as the float baseline (``model.kind: python``; the
    study file's other ``model`` settings, such as ``dt`` and ``expected_accuracy``, stay). ``data``: a
    :class:`Datasets` of the splits, or one dataset, loader or ``(x, y)`` pair holding every sample; it
    replaces the study file's data set (whose seed, fractions, scaling and encoding stay). ``storage``,
    ``study_name``, ``n_trials``, ``total_trials`` and ``timeout`` override the study file as the command's
    options do; a name already in the storage is continued (on PostgreSQL or MySQL by any number of
    processes: give each its own ``worker_index``, which offsets the sampler's seed).
    """
    _one_line_in_ipython()
    with raised_as_one_line(None):
        sf = _given(_study_file(study), model, data)
    url = storage or sf.storage
    with raised_as_one_line(url):
        from qsearch import dashboard
        from qsearch.execution import RunSettings, StopGate, launch
        from qsearch.record import check_persistent
        from qsearch.trial import check_study_inputs

        if sf.accuracy_split == "test":
            warnings.warn(TEST_SELECTION_WARNING, QsearchWarning, stacklevel=2)
        settings = RunSettings(url, study_name or sf.name, n_trials or sf.n_trials, total_trials,
                               timeout or sf.timeout, worker_index=worker_index,
                               allow_changed_study_file=allow_changed_study_file,
                               artifact_dir=None if artifacts is None else str(artifacts))
        check_persistent(url)
        check_study_inputs(sf)  # missing data or a model that does not fit it: one line, nothing recorded
        gate = StopGate()
        # Ctrl-C (a kernel interrupt) ends the running trial cleanly, as in the command; signals need the main thread
        with launch.stop_signals(gate) if _main_thread() else nullcontext():
            searched = search(sf, settings, quiet=not progress,
                              publish=lambda recorded, store: dashboard.publish(
                                  recorded, artifact_dir=artifacts, store_model=store), gate=gate)
        recorded = confirm_study(searched.read(settings), quiet=not progress, study_wall_s=searched.wall_s)
        dashboard.publish(recorded, artifact_dir=artifacts)
        return StudyResult(recorded)


def load(storage: str, study_name: str, *, model: torch.nn.Module | None = None, data: Any = None) -> StudyResult:
    """The result of a recorded study (made by ``qsearch run`` or :func:`run`); reads the storage only.

    ``model`` and ``data``: the network and data a study made from Python was run on, for what trains again
    in this process (``export(..., retrain=True)``, a trial without kept weights); they must be the same
    (by fingerprint) as those the study recorded."""
    _one_line_in_ipython()
    with raised_as_one_line(storage):
        from qsearch.record import check_readable, read_study, readers_only
        from qsearch.search import python_inputs_changed

        check_readable(storage)
        with readers_only():
            recorded = read_study(storage, study_name)
        if model is not None or data is not None:
            changed = python_inputs_changed(recorded.spec, _given(recorded.study_file(), model, data), study_name)
            if changed is not None:
                raise InputError(changed)
        return StudyResult(recorded)


def _study_file(study: StudySource) -> StudyFile:
    if isinstance(study, StudyFile):
        return study
    if isinstance(study, Mapping):
        return parse_study(dict(study), "study")
    if isinstance(study, str | Path):
        return load_study_file(study)
    raise InputError(f"study: a {type(study).__name__} is not a study; give a study file's path, a dict or a "
                     "StudyFile")


def _given(sf: StudyFile, model: torch.nn.Module | None, data: Any) -> StudyFile:
    """``sf`` with the data and the network given in Python in place of its data set and model."""
    from qsearch.data import PythonSpec, hold_data
    from qsearch.trial import hold_network

    update: dict[str, Any] = {}
    if data is not None:
        pairs, frames = materialize(data)
        kept = {k: getattr(sf.dataset, k) for k in ("seed", "validation_fraction", "test_fraction", "scaling",
                                                     "encoding") if hasattr(sf.dataset, k)}
        update["dataset"] = PythonSpec(fingerprint=hold_data(pairs, frames), **kept)
        if frames:
            _check_frame_timesteps(sf, next(iter(pairs.values()))[0])
    if model is not None:
        update["model"] = sf.model.model_copy(update={"kind": "python", "factory": hold_network(model),
                                                      "path": None, "state_dict": None})
    return sf.model_copy(update=update) if update else sf


def _check_frame_timesteps(sf: StudyFile, x: Any) -> None:
    """Frames are given with their time bins: every trial must ask for that many timesteps."""
    bins = int(x.shape[1]) if x.ndim >= 3 else None
    if bins is not None and (set(sf.search_space.timesteps) != {bins} or sf.baseline.timesteps not in (None, bins)):
        raise InputError(f"search_space.timesteps: the frames have {bins} time bins; set search_space.timesteps "
                         f"to [{bins}] (and baseline.timesteps to {bins} or leave it out)")


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _one_line_in_ipython() -> None:
    """In IPython and Jupyter, a :class:`QsearchError` shows as its one line, as the command prints it, not as
    a traceback (a bug in qsearch, any other exception, keeps its traceback)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return

    def show(_shell: Any, _kind: type, value: BaseException, _tb: Any, tb_offset: int | None = None) -> None:
        print(f"qsearch: error: {value}", file=sys.stderr)

    shell.set_custom_exc((QsearchError,), show)


__all__ = ["StudySource", "load", "run"]
