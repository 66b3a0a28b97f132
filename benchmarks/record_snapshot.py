"""A study's records as comparable JSON: Optuna trials (params, values, attributes) plus `qsearch trials`/`best`.

Used to prove that a refactor keeps behaviour: run the same seeded study on the code before and after, dump
each with this script, and diff the two files. Timings, hostnames, heartbeats and process ids differ from run
to run and are dropped; artifacts are named by their file (their ids are random). Run it from a folder that
is not a checkout, so that ``python -m qsearch.cli`` imports the qsearch under test (docs/architecture.md).

    python benchmarks/record_snapshot.py sqlite:///before.db digits > before.json
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import optuna

#: attribute keys whose values vary between two runs of the same seeded study (time, place, process)
VOLATILE = ("time", "host", "heartbeat", "pid", "seconds", "duration", "started", "finished_at", "wall")


def _stable(attrs: dict[str, Any]) -> dict[str, Any]:
    def keep(key: str) -> bool:
        return not any(word in key.lower() for word in VOLATILE)

    def scrub(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in sorted(value.items()) if keep(k)}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        return value

    def artifact(key: str, value: Any) -> tuple[str, Any]:
        """An artifact's key and id are random (a UUID): name it by its file instead."""
        if not key.startswith("artifacts:"):
            return key, value
        meta = json.loads(value)
        return f"artifacts:{meta['filename']}", {k: v for k, v in meta.items() if k != "artifact_id"}

    return dict(sorted(artifact(k, scrub(v)) for k, v in attrs.items() if keep(k)))


def snapshot(storage: str, study_name: str) -> dict[str, Any]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=study_name, storage=storage)
    trials = [{
        "number": t.number, "state": t.state.name, "params": t.params, "values": t.values,
        "user_attrs": _stable(t.user_attrs), "system_attrs": _stable(t.system_attrs),
        "distributions": {k: repr(d) for k, d in sorted(t.distributions.items())},
    } for t in study.get_trials(deepcopy=False)]
    views = {}
    for command in ("trials", "best"):
        out = subprocess.run([sys.executable, "-m", "qsearch.cli", command, "--storage", storage,
                              "--study-name", study_name, "--format", "json"],
                             capture_output=True, text=True, check=True).stdout
        views[command] = _stable({"rows": json.loads(out)})["rows"]
    return {"study_attrs": _stable(study.user_attrs), "trials": trials, "views": views}


if __name__ == "__main__":
    json.dump(snapshot(sys.argv[1], sys.argv[2]), sys.stdout, indent=1, sort_keys=True, default=str)
    print()
