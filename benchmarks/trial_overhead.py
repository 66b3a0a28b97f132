"""Benchmark: seconds of qsearch overhead per trial on SQLite, by phase, this code against an earlier commit.

Each run is a fresh study of ``studies/digits.yaml`` with the synthetic test double as trial body
(``trial_runner: synthetic``, no sleep: the real sampler, objective, quota guard, user attributes, constraints,
results row and ``tell``; the "training" takes microseconds), run as ``qsearch run`` runs it (``run_study``) on a
fresh SQLite file, in a child process of its own. What is left of a trial's time is the overhead.

The child times these phases, each *exclusive* of the phases nested in it (a study read made by the sampler
counts as a read, not as sampling), in the main thread only (the heartbeat thread is not the trial's time):

- ``trial_list_reads``: Optuna's ``get_all_trials`` (``study.get_trials`` and the samplers' reads) — each one
  queries the trials not yet cached (the running ones and any new ones) and sorts the whole list;
- ``other_reads``: the storage's other ``get_*`` calls (one trial, study attributes, stale heartbeats);
- ``user_attr_writes``: a trial's user attributes (one transaction per batch, or per key);
- ``other_writes``: creating the trial, its parameters, system attributes, state and values, heartbeats;
- ``sampling``: ``ask``, the sampler's relative proposal and each ``suggest_*`` (NSGA-II, the distinct wrapper);
- ``tell``: ``tell`` (constraints check, the sampler's ``after_trial``);
- ``results_row``: the row of qsearch's results table (one transaction);
- ``trial_body``: the synthetic runner (not overhead);
- ``rest``: everything else in ``study.optimize`` (the objective's own Python, Optuna's loop, callbacks).

It also counts the trial-list reads per trial by the function that made them.

The reference is an earlier commit (default ``4b4210a``, the code before the per-trial read was shared),
exported with ``git archive`` to a temporary folder and run by the same child code in the same run, the two
interleaved repeat by repeat (load from other processes hits both alike). Both runs of a repeat must record the
same trials (parameters, states, values, constraints, user attributes but for the measured ``duration_s``):
printed as ``same_trials``.

Prints the medians over the repeats and ``overhead_per_trial_vs_before: X`` (this code's overhead per trial
divided by the reference's; below 1 is less overhead) and ``overhead_s_per_trial_{before,after}``.

    nice -n 5 .venv/bin/python benchmarks/trial_overhead.py                    # 150 trials, 3 repeats
    nice -n 5 .venv/bin/python benchmarks/trial_overhead.py --trials 30 --repeats 1   # smoke test
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STUDY = ROOT / "studies" / "digits.yaml"
DEFAULT_BEFORE = "4b4210a"
PHASES = ("trial_list_reads", "other_reads", "user_attr_writes", "other_writes", "sampling", "tell", "results_row",
          "trial_body", "rest")
#: attributes whose value is a measured time: left out of the comparison of the recorded trials
TIMED_ATTRS = frozenset({"duration_s"})


# ------------------------------------------------------------------------------------------------ child


class Phases:
    """Exclusive seconds and calls per phase, in the main thread (see the module docstring)."""

    def __init__(self) -> None:
        self.seconds: collections.Counter = collections.Counter()
        self.calls: collections.Counter = collections.Counter()
        self.readers: collections.Counter = collections.Counter()
        self._stack: list[float] = []  # seconds spent in nested timed calls, per open timed call
        self._originals: list[tuple[Any, str, Any]] = []

    def wrap(self, owner: Any, name: str, phase: str) -> None:
        original = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
        if original is None:
            return  # this code version has no such function: nothing to time there
        main = threading.main_thread()

        def timed(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread() is not main:
                return original(*args, **kwargs)
            if phase == "trial_list_reads":
                self.readers[_reader()] += 1
            start = time.perf_counter()
            self._stack.append(0.0)
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                nested = self._stack.pop()
                self.seconds[phase] += elapsed - nested
                self.calls[phase] += 1
                if self._stack:
                    self._stack[-1] += elapsed

        self._originals.append((owner, name, original))
        setattr(owner, name, timed)

    def wrap_property(self, owner: type, name: str, phase: str) -> None:
        """Time the getter of a property (Optuna computes a trial's relative proposal in one)."""
        holder = type("Getter", (), {"get": owner.__dict__[name].fget})
        self.wrap(holder, "get", phase)
        setattr(owner, name, property(holder.__dict__["get"]))


def _reader() -> str:
    """Who asked for the trial list: the first calling frame outside Optuna's storage and Study wrappers."""
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename.replace("\\", "/")
        if not ("/optuna/storages/" in path or path.endswith("/optuna/study/study.py") or path == __file__):
            parts = path.split("/")
            package = "qsearch" if "qsearch" in parts else "optuna" if "optuna" in parts else parts[-2]
            return f"{package}/{parts[-1].removesuffix('.py')}:{frame.f_code.co_name}"
        frame = frame.f_back
    return "?"


def instrument(phases: Phases) -> None:
    """Wrap every timed function (see the module docstring) of Optuna and of the imported qsearch."""
    import optuna
    from optuna.storages._cached_storage import _CachedStorage
    from optuna.study import _optimize, _tell

    from qsearch.search import _objective, _retry, _synthetic

    phases.wrap(_CachedStorage, "get_all_trials", "trial_list_reads")
    for name in ("get_trial", "get_study_user_attrs", "get_study_system_attrs", "get_study_directions",
                 "get_trial_id_from_study_id_trial_number", "_get_stale_trial_ids", "get_heartbeat_interval",
                 "get_study_id_from_name", "get_study_name_from_id", "get_best_trial"):
        phases.wrap(_CachedStorage, name, "other_reads")
    phases.wrap(_CachedStorage, "set_trial_user_attr", "user_attr_writes")
    phases.wrap(_retry.RetryingRDBStorage, "set_trial_user_attrs", "user_attr_writes")
    for name in ("create_new_trial", "set_trial_param", "set_trial_state_values", "set_trial_system_attr",
                 "set_trial_intermediate_value", "record_heartbeat", "set_study_user_attr",
                 "set_study_system_attr"):
        phases.wrap(_CachedStorage, name, "other_writes")
    phases.wrap(optuna.Study, "ask", "sampling")
    phases.wrap(optuna.trial.Trial, "_suggest", "sampling")
    phases.wrap_property(optuna.trial.Trial, "relative_params", "sampling")
    phases.wrap(_tell, "_tell_with_warning", "tell")
    phases.wrap(_optimize, "_tell_with_warning", "tell")  # _optimize imported the name itself
    phases.wrap(_objective, "save_result", "results_row")
    phases.wrap(_synthetic, "synthetic_trial", "trial_body")


def fingerprint(study: Any) -> str:
    """SHA-256 of every recorded trial: number, state, parameters, values, constraints, user attributes
    (without :data:`TIMED_ATTRS`)."""
    rows = []
    for t in study.get_trials(deepcopy=False):
        attrs = {k: v for k, v in t.user_attrs.items() if k not in TIMED_ATTRS}
        rows.append([t.number, t.state.name, sorted(t.params.items()), t.values,
                     t.system_attrs.get("constraints"), json.dumps(attrs, sort_keys=True, default=str)])
    return hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()


def child(root: Path, study_path: Path, trials: int, folder: Path) -> dict:
    sys.path.insert(0, str(root))
    import optuna
    import yaml

    import qsearch
    from qsearch.execution import run_study
    from qsearch.studyfile import parse_study

    assert Path(qsearch.__file__).resolve().is_relative_to(root.resolve()), qsearch.__file__
    data = yaml.safe_load(study_path.read_text())
    data.update(trial_runner="synthetic", synthetic_sleep_s=0.0)
    study_file = parse_study(data)
    url = f"sqlite:///{folder / 'overhead.db'}"

    phases = Phases()
    instrument(phases)
    optimize = optuna.Study.__dict__["optimize"]
    spent = [0.0]

    def timed_optimize(self: Any, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return optimize(self, *args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - start

    optuna.Study.optimize = timed_optimize  # type: ignore[method-assign]
    study = run_study(study_file, url, "overhead", n_trials=trials)
    finished = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,
                                                             optuna.trial.TrialState.PRUNED)))
    seconds = dict(phases.seconds)
    seconds["rest"] = spent[0] - sum(seconds.values())
    return {"root": str(root), "trials": finished, "optimize_s": spent[0], "seconds": seconds,
            "calls": dict(phases.calls), "readers": dict(phases.readers), "fingerprint": fingerprint(study)}


# ----------------------------------------------------------------------------------------------- parent


def export_commit(ref: str, folder: Path) -> Path:
    """The tree of ``ref`` in ``folder`` (``git archive``: a plain copy, no worktree bookkeeping)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", ref], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def run_child(root: Path, study: Path, trials: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="qsearch-overhead-") as folder:
        command = [sys.executable, str(Path(__file__).resolve()), "--child", str(root), "--study", str(study),
                   "--trials", str(trials), "--folder", folder]
        env = {**os.environ, "PYTHONPATH": str(root)}
        result = subprocess.run(command, cwd=folder, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise SystemExit(f"child for {root} failed:\n{result.stderr[-3000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])


def per_trial(run: dict, phase: str) -> float:
    return run["seconds"].get(phase, 0.0) / run["trials"]


def overhead(run: dict) -> float:
    """Seconds per trial spent outside the trial body."""
    return (run["optimize_s"] - run["seconds"].get("trial_body", 0.0)) / run["trials"]


def report(label: str, runs: list[dict]) -> None:
    trials = runs[0]["trials"]
    print(f"-- {label}: {len(runs)} run(s) of {trials} trials; medians, ms per trial")
    for phase in PHASES:
        values = [1000 * per_trial(r, phase) for r in runs]
        calls = statistics.median(r["calls"].get(phase, 0) / r["trials"] for r in runs)
        print(f"   {phase:>17}: {statistics.median(values):7.2f} ms  ({calls:5.2f} calls/trial)")
    print(f"   {'overhead':>17}: {1000 * statistics.median(overhead(r) for r in runs):7.2f} ms")
    readers = collections.Counter()
    for r in runs:
        readers.update(r["readers"])
    print("   trial-list reads per trial, by caller:")
    for name, count in readers.most_common():
        print(f"      {count / len(runs) / trials:5.2f}  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--before", default=DEFAULT_BEFORE, help="the reference commit (git ref)")
    parser.add_argument("--study", type=Path, default=DEFAULT_STUDY)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.study, args.trials, args.folder)))
        return 0

    runs: dict[str, list[dict]] = {"before": [], "after": []}
    same = True
    with tempfile.TemporaryDirectory(prefix="qsearch-before-") as folder:
        before = export_commit(args.before, Path(folder))
        for repeat in range(args.repeats):
            order = [("before", before), ("after", ROOT)]
            for label, root in order if repeat % 2 == 0 else order[::-1]:
                runs[label].append(run_child(root, args.study, args.trials))
                print(f"repeat {repeat} {label}: {1000 * overhead(runs[label][-1]):.2f} ms/trial overhead",
                      flush=True)
            same &= runs["before"][-1]["fingerprint"] == runs["after"][-1]["fingerprint"]
    print(f"== {args.study.name}, synthetic trials, SQLite; before = {args.before}, after = working tree")
    report(f"before ({args.before})", runs["before"])
    report("after", runs["after"])
    before_s = statistics.median(overhead(r) for r in runs["before"])
    after_s = statistics.median(overhead(r) for r in runs["after"])
    print(f"same_trials: {same}")
    print(f"overhead_s_per_trial_before: {before_s:.4f}")
    print(f"overhead_s_per_trial_after: {after_s:.4f}")
    print(f"overhead_per_trial_vs_before: {after_s / before_s:.3f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
