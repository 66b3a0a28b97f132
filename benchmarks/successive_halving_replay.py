"""Would successive halving over QAT epochs pay on top of the hopeless stop? A replay on a recorded study (issue #14).

Method: one default study (``studies/digits.yaml``, 200 trials, seed 0, qsearch as shipped: hopeless stop on) is
read from its storage (``--run`` makes it first). Trained QAT trials are grouped into NSGA-II generations (Optuna's
``NSGAIISampler:generation`` system attribute; population 20). At each rung (after epoch ``k`` of the 10-epoch QAT
schedule) the trials of a generation that reached epoch ``k`` are ranked and the top ``ceil(n / eta)`` go on; eta 2
and 3, rungs after epoch 1, or 1 and 2. Ranking ``accuracy``: validation accuracy after epoch ``k`` (the issue's
proposal); ``pareto``: non-domination rank on (that accuracy, memory), ties by accuracy — memory is known before
training, so a cheap model is not cut for being a little less accurate. Synchronous halving: the whole generation
is known at each rung, which a sequential study could only do by checkpointing and resuming trials, so the savings
are an upper bound. PTQ trials, the baseline and reused duplicates train no QAT epochs and are not ranked. A cut
trial saves the epochs it really ran after the rung, so savings are *beyond* the hopeless stop that already ran.

Stopped trials, honestly: a trial pruned hopeless (or silent) stores no curve, only its epochs run and, for
hopeless, its accuracy at the stop. Its rung value is known when it stopped right after that rung; otherwise it is
unknown and the replay is done twice, unknown values ranked last and first; a setting is judged by the worse of
the two (least saving, most loss).

Measured: QAT epochs saved (% of those run); front loss: trials on the final feasible front cut (``front_cut``),
trials on the running feasible front at any time cut (``ever_front_cut``: the parents NSGA-II bred from), feasible
trials cut; and the hypervolume (validation accuracy above float - ``max_accuracy_drop`` vs memory below the
float32 model's, as ``time_to_front.py``) of the front left after the cut, as a share of the real one. What a replay
cannot see: NSGA-II would have bred from another population (cut trials are pruned), so later generations differ.
Verdict: ``keep`` only when some setting saves >= 20 % of QAT epochs beyond hopeless and cuts no final-front trial
(both placements), else ``drop``.

Figures (one study, seed 0, 200 trials, 2 shared cores, 2026-12): 176 trained QAT trials in 9 generations, 1576
QAT epochs run with the hopeless stop (25 trials stopped early, 12 with a rung value unknown); QAT trials are 87 %
of the study's wall; 4 QAT trials on the final feasible front, 17 ever on the running front. Accuracy ranking:
eta 2 after epoch 1 saves 37-42 % of the QAT epochs beyond hopeless but cuts 3 of the 4 final-front trials (6 of
17 ever-front; 98.5 % of the hypervolume left); the more aggressive settings save up to 75 % and cut 3-4 of 4.
Pareto ranking: eta 2 after epoch 1 saves 41-44 %, cuts 1 of 4 (2-4 of 17 ever-front, 99.6 % of the hypervolume
left); every other setting cuts 2-4 of 4 and leaves 65-82 %. No setting saves >= 20 % without cutting a
final-front trial: ``successive_halving: drop``. The front is decided at one validation sample (0.28 pt of 360),
so which trial is on it is noisy; the hypervolume left is the steadier figure.

    python benchmarks/successive_halving_replay.py --storage sqlite:////tmp/h2/sh.db --study-name sh [--run]
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from compare_samplers import hypervolume_2d  # this script's folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent
GENERATION_KEY = "NSGAIISampler:generation"
SIZES = [64, 128, 10]
SETTINGS = [(2, (1,)), (2, (1, 2)), (3, (1,)), (3, (1, 2))]  # (eta, rung epochs)
RANKINGS = ("accuracy", "pareto")
KEEP_SAVING = 0.20


@dataclass(frozen=True)
class QatTrial:
    """A trained QAT trial: its generation, epochs run, rung values known (epoch -> accuracy), whether it ran past
    the epochs it has values for (unknown rung values), and its final point when COMPLETE."""

    number: int
    generation: int
    memory_kib: float
    epochs_run: int
    values: dict[int, float]
    complete_curve: bool
    feasible: bool
    on_front: bool
    ever_on_front: bool


def value_at(trial: QatTrial, epoch: int) -> float | None:
    """Validation accuracy after ``epoch`` (1-based); None when the trial ran it but recorded no value there."""
    return trial.values.get(epoch)


def non_dominated(points: list[tuple[int, float, float]]) -> set[int]:
    """Numbers of the (number, accuracy up, memory down) points no other point dominates."""
    return {n for n, a, m in points if not any(a2 >= a and m2 <= m and (a2, m2) != (a, m) for _, a2, m2 in points)}


def read_study(storage: str, name: str) -> tuple[list[QatTrial], list[tuple[int, float, float]], float, int,
                                                 tuple[float, float]]:
    """The QAT trials, every feasible COMPLETE point (number, accuracy, memory KiB), the accuracy floor, the size
    of the final feasible front, and (seconds in trained QAT trials, the study's wall seconds)."""
    import optuna

    from qsearch.cost import memory_breakdown
    from qsearch.quant import QuantConfig
    from qsearch.record import keys

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    trials = optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
    drop = yaml.safe_load((ROOT / "studies" / "digits.yaml").read_text())["constraints"]["max_accuracy_drop"]
    baseline = next(float(t.user_attrs[keys.ACCURACY]) for t in trials if t.user_attrs.get(keys.BASELINE))
    floor = baseline - drop
    points = [(t.number, float(t.user_attrs[keys.ACCURACY]), float(t.user_attrs["memory_bits"]) / 8192)
              for t in trials if t.state == optuna.trial.TrialState.COMPLETE and not t.user_attrs.get(keys.BASELINE)
              and t.user_attrs.get(keys.FEASIBLE)]
    front = non_dominated(points)
    ever: set[int] = set()
    for i in range(len(points)):  # the running front after each feasible trial, in trial order
        ever |= non_dominated(points[:i + 1])
    qat = []
    for t in trials:
        attrs = t.user_attrs
        if ((attrs.get(keys.CONFIG) or {}).get("scheme") != "qat" or keys.DUPLICATE_OF in attrs
                or GENERATION_KEY not in t.system_attrs):
            continue
        epochs = int(attrs.get(keys.EPOCHS_RUN) or 0)
        curve = attrs.get(keys.VALIDATION_CURVE)
        if curve:
            values = {i + 1: float(v) for i, v in enumerate(curve)}
        elif attrs.get(keys.HOPELESS_EVIDENCE):
            evidence = attrs[keys.HOPELESS_EVIDENCE]
            values = {int(evidence["epoch"]) + 1: float(evidence["accuracy"])}
        else:
            values = {}
        memory = memory_breakdown(SIZES, QuantConfig.from_dict(attrs[keys.CONFIG])).total / 8192
        qat.append(QatTrial(t.number, int(t.system_attrs[GENERATION_KEY]), memory, epochs, values, bool(curve),
                            bool(attrs.get(keys.FEASIBLE)), t.number in front, t.number in ever))
    numbers = {t.number for t in qat}
    qat_seconds = sum(t.duration.total_seconds() for t in trials if t.number in numbers and t.duration)
    ended = [t.datetime_complete for t in trials if t.datetime_complete]
    study_seconds = (max(ended) - min(t.datetime_start for t in trials if t.datetime_start)).total_seconds()
    return qat, points, floor, len(front), (qat_seconds, study_seconds)


def pareto_ranks(items: list[tuple[float, float]]) -> list[int]:
    """Non-domination rank (0: not dominated) of each (accuracy up, memory down) pair."""
    ranks, left, rank = [0] * len(items), set(range(len(items))), 0
    while left:
        layer = {i for i in left if not any(items[j][0] >= items[i][0] and items[j][1] <= items[i][1]
                                            and items[j] != items[i] for j in left)}
        for i in layer:
            ranks[i] = rank
        left -= layer
        rank += 1
    return ranks


def cut(trials: list[QatTrial], eta: int, rungs: tuple[int, ...], unknown_first: bool,
        ranking: str) -> dict[int, int]:
    """Trial number -> the rung epoch it is cut after, for synchronous successive halving per generation."""
    cuts: dict[int, int] = {}
    unknown = math.inf if unknown_first else -math.inf
    for generation in sorted({t.generation for t in trials}):
        alive = [t for t in trials if t.generation == generation]
        for rung in rungs:
            alive = [t for t in alive if t.epochs_run >= rung]  # stopped before the rung: already gone
            if not alive:
                break
            accuracy = [unknown if value_at(t, rung) is None else value_at(t, rung) for t in alive]
            ranks = (pareto_ranks([(a, t.memory_kib) for a, t in zip(accuracy, alive, strict=True)])
                     if ranking == "pareto" else [0] * len(alive))
            order = sorted(range(len(alive)), key=lambda i: (ranks[i], -accuracy[i]))
            keep = math.ceil(len(alive) / eta)
            for i in order[keep:]:
                cuts[alive[i].number] = rung
            alive = [alive[i] for i in order[:keep]]
    return cuts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--storage", default="sqlite:////tmp/h2/sh.db")
    parser.add_argument("--study-name", default="sh")
    parser.add_argument("--run", action="store_true", help="run studies/digits.yaml into the storage first")
    args = parser.parse_args()
    if args.run:
        subprocess.run([sys.executable, "-m", "qsearch.cli", "run", str(ROOT / "studies" / "digits.yaml"),
                        "--storage", args.storage, "--study-name", args.study_name, "--quiet"], check=True, cwd=ROOT)
    trials, points, floor, front_size, (qat_seconds, study_seconds) = read_study(args.storage, args.study_name)
    from qsearch.cost import float_memory_bits

    ceiling = float_memory_bits([64, 128, 10]) / 8192
    real_hv = hypervolume_2d([(a, m) for _, a, m in points], floor, ceiling)
    total = sum(t.epochs_run for t in trials)
    front = [t for t in trials if t.on_front]
    feasible = [t for t in trials if t.feasible]
    stopped = [t for t in trials if not t.complete_curve]
    unknown = sum(any(value_at(t, r) is None and t.epochs_run >= r for r in (1, 2)) for t in stopped)
    print(f"{len(trials)} trained QAT trials in {len({t.generation for t in trials})} generations, {total} QAT "
          f"epochs run (hopeless stop on); {len(stopped)} stopped early (hopeless/silent), {unknown} of them with a "
          f"rung value unknown; {len(feasible)} feasible, {len(front)} on the final feasible front (which has "
          f"{front_size} trials, PTQ included; {len(points)} feasible trials in all)")
    print(f"QAT trials took {qat_seconds:.0f} s of the study's {study_seconds:.0f} s wall: one QAT epoch ~ "
          f"{qat_seconds / total:.2f} s, so 10 % of QAT epochs ~ {0.1 * qat_seconds / study_seconds:.1%} of the study")
    ever = [t for t in trials if t.ever_on_front]
    print(f"{len(ever)} QAT trials were on the running feasible front at some point (parents NSGA-II bred from)")
    print("rank      eta  rungs  unknown  saved_epochs  saved_%  front_cut  ever_front_cut  feasible_cut  hv_left")
    verdicts = []
    for ranking in RANKINGS:
        for eta, rungs in SETTINGS:
            for unknown_first in (False, True):
                cuts = cut(trials, eta, rungs, unknown_first, ranking)
                saved = sum(max(0, t.epochs_run - cuts[t.number]) for t in trials if t.number in cuts)
                front_cut = sum(t.number in cuts for t in front)
                ever_cut = sum(t.number in cuts for t in ever)
                feasible_cut = sum(t.number in cuts for t in feasible)
                left = [(a, m) for n, a, m in points if n not in cuts]
                hv = hypervolume_2d(left, floor, ceiling) / real_hv if real_hv else 0.0
                where = "first" if unknown_first else "last"
                print(f"{ranking:8s}  {eta:3d}  {','.join(map(str, rungs)):5s}  {where:7s}  {saved:12d}  "
                      f"{saved / total:7.1%}  {front_cut:4d}/{len(front):<4d}  {ever_cut:7d}/{len(ever):<6d}  "
                      f"{feasible_cut:5d}/{len(feasible):<6d}  {hv:7.1%}")
                verdicts.append(((ranking, eta, rungs), saved / total, front_cut))
    # a setting passes only if both placements of unknown rung values lose no front trial and save enough
    settings = list(dict.fromkeys(v[0] for v in verdicts))
    worst = {k: (min(v[1] for v in verdicts if v[0] == k), max(v[2] for v in verdicts if v[0] == k)) for k in settings}
    passing = [k for k in settings if worst[k][1] == 0 and worst[k][0] >= KEEP_SAVING]
    best = max(settings, key=lambda k: worst[k][0])
    safest = min(settings, key=lambda k: (worst[k][1], -worst[k][0]))

    def name(k: tuple) -> str:
        return f"rank {k[0]}, eta {k[1]}, rungs after epoch {'+'.join(map(str, k[2]))}"

    if passing:
        k = max(passing, key=lambda k: worst[k][0])
        print(f"successive_halving: keep (saves >= {worst[k][0]:.0%} QAT epochs beyond hopeless, loses 0 of "
              f"{len(front)} front trials; {name(k)})")
    else:
        print(f"successive_halving: drop (saves X = {worst[safest][0]:.0%} QAT epochs beyond hopeless, loses K = "
              f"{worst[safest][1]} of M = {len(front)} front trials at the least-loss setting, {name(safest)}; the "
              f"largest saving, {worst[best][0]:.0%} ({name(best)}), loses {worst[best][1]})")

if __name__ == "__main__":
    main()
