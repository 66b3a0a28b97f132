"""Stopping QAT trials that can no longer reach the accuracy budget (qsearch.search._hopeless)."""

from __future__ import annotations

import dataclasses

import optuna
import pytest
from study_fixtures import tiny_study_dict

from qsearch.execution import run_study
from qsearch.results import engine_for, load_results
from qsearch.search import BASELINE_ATTR, Curve, Evidence, HopelessRule, HopelessTrialError, replay
from qsearch.search._hopeless import EVIDENCE_ATTR
from qsearch.studyfile import parse_study
from qsearch.trial import synthetic_trial, unjudged


def _rising(final: float, epochs: int, gain_per_epoch: float) -> Curve:
    """A curve that gains ``gain_per_epoch`` every epoch and ends exactly at ``final``."""
    return Curve(tuple(final - gain_per_epoch * (epochs - 1 - e) for e in range(epochs)), final)


def test_no_bound_until_enough_curves_cover_the_remaining_epochs():
    curves = [_rising(90.0, 4, 1.0)] * 2
    assert HopelessRule.from_curves(curves, epochs=4, min_curves=3).bounds == ()
    rule = HopelessRule.from_curves(curves, epochs=4, margin=0.5, min_curves=2)
    assert rule.bounds == (0.5, 1.5, 2.5, 3.5)
    assert rule.bound(4) is None  # no curve had 5 epochs: no evidence, never stopped that early
    longer = HopelessRule.from_curves(curves, epochs=5, margin=0.5, min_curves=2)
    assert longer.should_stop(0, 0.0, 99.0) is None  # 4 epochs to go: no evidence
    assert longer.should_stop(1, 0.0, 99.0) is not None  # 3 to go: covered by both curves


def test_bound_is_the_largest_gain_seen_made_non_decreasing_plus_margin():
    late_jump = Curve((80.0, 80.0, 80.0, 90.0), 91.0)  # gains with r to go: 1, 11, 11, 11
    early_jump = Curve((70.0, 89.0, 89.5, 90.0), 90.0)  # 0, 0.5, 1, 20
    rule = HopelessRule.from_curves([late_jump, early_jump], epochs=4, margin=2.0, min_curves=2)
    assert rule.bounds == (3.0, 13.0, 13.0, 22.0)


def test_a_trial_that_cannot_reach_the_target_is_stopped_with_its_evidence():
    rule = HopelessRule.from_curves([_rising(95.0, 5, 1.0)] * 3, epochs=5, margin=2.0, min_curves=3)
    evidence = rule.should_stop(epoch=1, accuracy=85.0, target=94.0)  # 3 epochs to go: at most 3 + 2 = 5 pt
    assert evidence == Evidence(epoch=1, accuracy=85.0, needed=94.0, bound=5.0, remaining=3, curves=3)
    assert "epoch 1" in str(HopelessTrialError(evidence))


def test_a_trial_that_can_still_reach_the_target_is_not_stopped():
    rule = HopelessRule.from_curves([_rising(95.0, 5, 1.0)] * 3, epochs=5, margin=2.0, min_curves=3)
    assert rule.should_stop(epoch=1, accuracy=89.0, target=94.0) is None  # 89 + 5 = 94 reaches it
    assert rule.should_stop(epoch=4, accuracy=93.5, target=94.0) is None  # last epoch: 93.5 + 2 margin
    assert rule.should_stop(epoch=4, accuracy=91.9, target=94.0) is not None


def test_replay_counts_false_stops_of_a_late_bloomer_and_a_margin_removes_them():
    steady = [_rising(95.0 - i, 5, 0.5) for i in range(6)]  # target 94: the first two end feasible
    late_bloomer = Curve((80.0, 80.0, 80.0, 80.0, 95.0), 95.5)  # gains 15.5 pt in its last epoch: feasible
    hopeless = _rising(85.0, 5, 0.5)
    curves = [*steady, late_bloomer, hopeless]
    tight = replay(curves, target=94.0, margin=0.0, min_curves=3)
    # no margin: the 92, 91 and 90 % trials, the late bloomer (false) and the 85 % one are all stopped
    assert (tight.trials, tight.infeasible, tight.stopped, tight.false_stops) == (8, 5, 5, 1)
    assert tight.false_stop_rate == pytest.approx(1 / 3)
    wide = replay(curves, target=94.0, margin=16.0, min_curves=3)
    assert wide.false_stops == 0 and wide.stopped == 0
    usual = replay([*steady, hopeless], target=94.0, margin=2.0, min_curves=3)
    # 2 pt margin: 92 % may still reach 94 (90 + 2 gain + 2); 91, 90 and 85 % stop after their first epoch
    assert (usual.stopped, usual.false_stops) == (3, 0)
    assert usual.epochs_saved == 12 and usual.saved_fraction == pytest.approx(12 / 35)


def test_float_pretraining_reports_but_is_never_stopped():
    seen = []

    def judge(epoch, loss, accuracy):
        seen.append(epoch)
        raise HopelessTrialError(Evidence(epoch, accuracy, 99.0, 0.0, 0, 1))

    hook = unjudged(judge)
    hook(0, 1.0, 0.5)
    hook(1, 1.0, 0.5)
    assert seen == [0, 1] and unjudged(None) is None


# --- the objective: a study of QAT trials with constructed learning curves ---------------------------------

QAT_EPOCHS = 4
BASELINE = 95.0  # target = 95 - max_accuracy_drop 1 = 94


def _final(weight_bits: int) -> float:
    return BASELINE - 2.0 * (6 - weight_bits)  # 6 bits: 95 (feasible), 5: 93, 4: 91, 3: 89, 2: 87


def curve_runner(study_file, config, learning_rate=None, epochs=None, on_epoch=None):
    """The synthetic trial with a constructed curve: 1 pt per epoch up to a final set by the weight bits."""
    outcome = synthetic_trial(study_file, config, learning_rate, epochs)
    final = BASELINE if config.is_float else _final(config.layer_bits(0))
    curve = _rising(final, QAT_EPOCHS, 1.0).validation
    for epoch, accuracy in enumerate(curve):
        if on_epoch is not None:
            on_epoch(epoch, 1.0, accuracy / 100)
    return dataclasses.replace(outcome, accuracy=final, validation_curve=list(curve))


def _study_file(enabled: bool = True):
    return parse_study(tiny_study_dict(
        search_space={"scheme": ["qat"], "weight_bits": [2, 3, 4, 5, 6], "membrane_bits": [8], "current_bits": [8],
                      "param_bits": [8], "rounding": ["nearest", "truncate"], "timesteps": [8]},
        training={"qat_epochs": QAT_EPOCHS}, trial_runner="synthetic", sampler={"kind": "random", "seed": 3},
        early_stopping={"hopeless": {"enabled": enabled, "margin": 2.0, "min_curves": 2}}))


def test_hopeless_qat_trials_are_pruned_and_reachable_ones_complete(sqlite_url):
    study = run_study(_study_file(), sqlite_url, "hopeless", n_trials=11, runner=curve_runner)
    engine = engine_for(sqlite_url)
    rows = {r["trial_number"]: r for r in load_results(engine, "hopeless")}
    curves = 0
    pruned = 0
    for t in study.trials:
        if t.user_attrs.get(BASELINE_ATTR):
            continue
        bits = t.params["weight_bits"]
        # with 3 epochs to go the bound is 3 + 2 = 5 pt over the first epoch's final - 3: reach = final + 2
        hopeless = curves >= 2 and _final(bits) + 2.0 < 94.0
        if hopeless:
            pruned += 1
            assert t.state == optuna.trial.TrialState.PRUNED
            assert t.user_attrs["reason"] == "hopeless" and rows[t.number]["reason"] == "hopeless"
            evidence = t.user_attrs[EVIDENCE_ATTR]
            assert evidence["epoch"] == 0 and evidence["needed"] == pytest.approx(94.0)
            assert evidence["accuracy"] == pytest.approx(_final(bits) - 3.0)
            assert evidence["bound"] == pytest.approx(5.0)
            assert t.user_attrs["epochs_run"] == 1
        else:
            assert t.state == optuna.trial.TrialState.COMPLETE, (t.number, bits)
            assert t.user_attrs["validation_curve"] == pytest.approx(list(_rising(_final(bits), 4, 1.0).validation))
            curves += "duplicate_of" not in t.user_attrs
    assert pruned >= 2  # the seed draws 2-4 bit weights after the first two curves


def test_with_the_rule_off_every_trial_completes(sqlite_url):
    study = run_study(_study_file(enabled=False), sqlite_url, "off", n_trials=8, runner=curve_runner)
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
