"""The hopeless stop's false-stop rate and QAT savings, replayed on recorded learning curves (issue #14).

Give it studies run with the rule off (``early_stopping.hopeless.enabled: false``, e.g. the ``before`` runs that
``time_to_front.py --keep DIR`` leaves in DIR as ``before-<seed>-<trials>.db``). Each study's finished QAT
curves are judged in trial order by ``qsearch.search._hopeless.replay``: every trial by the rule built from the
curves before it, exactly as a study with the rule on would judge it. Per study and pooled over all of them it
prints, for each margin, the trials stopped, the false stops (stopped, yet the finished trial was feasible: its
final validation accuracy reached the budget) over the trials that ended feasible, and the share of QAT epochs
saved. The shipped margin is ``early_stopping.hopeless.margin``'s default (2 points).

    python benchmarks/hopeless_replay.py DIR/before-*.db [--study-name ttf] [--margins 0 1 2 3]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import optuna

from qsearch.record import keys
from qsearch.search import STUDY_FILE_ATTR, ReplayReport, replay, study_curves
from qsearch.search._hopeless import DEFAULT_MARGIN
from qsearch.studyfile import parse_study


def study_replays(db: Path, study_name: str, margins: list[float]) -> tuple[int, dict[float, ReplayReport]]:
    """The study's QAT curve count and the replay per margin (target from its own baseline and budget)."""
    study = optuna.load_study(study_name=study_name, storage=f"sqlite:///{db}")
    trials = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    baseline = next(t for t in trials if t.user_attrs.get(keys.BASELINE))
    spec = parse_study(study.user_attrs[STUDY_FILE_ATTR], f"{db}: recorded study file")
    if spec.early_stopping.hopeless.enabled:
        raise SystemExit(f"{db}: the hopeless rule was on, so its curves are not the whole population; "
                         "replay studies run with early_stopping.hopeless.enabled: false")
    drop = spec.constraints.max_accuracy_drop
    if drop is None:
        raise SystemExit(f"{db}: constraints.max_accuracy_drop is null, so there is no budget to judge against")
    target = float(baseline.user_attrs[keys.ACCURACY]) - drop
    curves = study_curves(trials)
    min_curves = spec.early_stopping.hopeless.min_curves
    return len(curves), {margin: replay(curves, target, margin=margin, min_curves=min_curves) for margin in margins}


def line(label: str, report: ReplayReport) -> str:
    feasible = report.trials - report.infeasible
    return (f"{label}: stopped {report.stopped} of {report.trials} ({report.infeasible} ended infeasible); false "
            f"stops {report.false_stops} of {feasible} feasible ({report.false_stop_rate:.1%}); QAT epochs saved "
            f"{report.epochs_saved}/{report.epochs_total} ({report.saved_fraction:.1%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("databases", type=Path, nargs="+")
    parser.add_argument("--study-name", default="ttf")
    parser.add_argument("--margins", type=float, nargs="+", default=[0.0, 1.0, DEFAULT_MARGIN, 3.0])
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pooled: dict[float, list[ReplayReport]] = {m: [] for m in args.margins}
    for db in args.databases:
        count, reports = study_replays(db, args.study_name, args.margins)
        print(f"{db.name}: {count} QAT curves")
        for margin, report in reports.items():
            print("  " + line(f"margin {margin:g}", report))
            pooled[margin].append(report)
    print(f"pooled over {len(args.databases)} studies:")
    for margin, reports in pooled.items():
        total = ReplayReport(*(sum(getattr(r, f) for r in reports) for f in
                               ("trials", "stopped", "false_stops", "infeasible", "epochs_total", "epochs_saved")))
        print("  " + line(f"margin {margin:g}" + (" (shipped)" if margin == DEFAULT_MARGIN else ""), total))


if __name__ == "__main__":
    main()
