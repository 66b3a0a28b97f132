"""The one record that drives a run's execution layer: what the launch edge decided, frozen."""

from __future__ import annotations

from dataclasses import dataclass

from qsearch.record import DEFAULT_GRACE_S, DEFAULT_HEARTBEAT_S


@dataclass(frozen=True)
class RunSettings:
    """Everything a worker needs besides the study file; built once at the launch edge (CLI, ``run_workers``).

    ``total_trials`` is the finished-trial count the whole study stops at (shared by every worker); without
    it a worker adds ``n_trials`` to what the study holds when it starts. ``worker_index`` offsets the
    sampler's seed (0 keeps the study file's seed: a single process stays reproducible).
    """

    storage_url: str
    study_name: str
    n_trials: int
    total_trials: int | None = None
    timeout: float | None = None
    heartbeat_interval: int | None = DEFAULT_HEARTBEAT_S
    grace_period: int | None = DEFAULT_GRACE_S
    worker_index: int = 0
    allow_changed_study_file: bool = False
    artifact_dir: str | None = None  # where trials keep their weights (default: FILE.artifacts beside SQLite/journal)

    def __post_init__(self) -> None:
        if self.heartbeat_interval is not None and self.grace_period is not None \
                and self.grace_period <= self.heartbeat_interval:
            from qsearch.errors import InputError

            raise InputError(f"--grace-period: {self.grace_period} must exceed --heartbeat-interval "
                             f"{self.heartbeat_interval}")


__all__ = ["RunSettings"]
