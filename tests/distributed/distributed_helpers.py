"""Helpers of the distributed tests (imported as a plain module: this folder is on sys.path)."""

from __future__ import annotations

from pathlib import Path

import yaml

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
MARIADB_URL = "mysql+pymysql://root@127.0.0.1:3306/test"
SERVICE_URLS = {"postgresql": POSTGRES_URL, "mariadb": MARIADB_URL}


def synthetic_study_dict(sleep_s: float = 0.0, **overrides) -> dict:
    """A study whose trials are the closed-form synthetic runner (milliseconds plus ``sleep_s``)."""
    study = {
        "name": "synthetic",
        "n_trials": 10,
        "trial_runner": "synthetic",
        "synthetic_sleep_s": sleep_s,
        "model": {"hidden": [32]},
        "training": {"epochs": 2, "qat_epochs": 1},
        "sampler": {"kind": "random", "seed": 0},
    }
    study.update(overrides)
    return study


def write_study(tmp_path: Path, sleep_s: float = 0.0, **overrides) -> Path:
    path = tmp_path / "synthetic.yaml"
    path.write_text(yaml.safe_dump(synthetic_study_dict(sleep_s, **overrides)))
    return path


