"""A configuration the sampler proposes again is not trained again: it reuses the earlier trial's measurements."""

from __future__ import annotations

import optuna
from study_fixtures import tiny_study_dict

from qsearch.execution import run_study
from qsearch.quant import QuantConfig
from qsearch.results import engine_for, load_results
from qsearch.search import DUPLICATE_ATTR
from qsearch.studyfile import parse_study
from qsearch.trial import _pipeline as trial_module
from qsearch.trial import run_trial, synthetic_trial

#: a search space of one point: every trial after the first non-baseline one repeats it
ONE_POINT = {"scheme": ["ptq"], "weight_bits": [4], "membrane_bits": [8], "current_bits": [8],
             "param_bits": [8], "rounding": ["nearest"], "timesteps": [8]}


class CountingRunner:
    """The synthetic runner, recording every configuration it is asked to train."""

    def __init__(self) -> None:
        self.calls: list[QuantConfig] = []

    def __call__(self, study_file, config, **kwargs):
        self.calls.append(config)
        return synthetic_trial(study_file, config, **kwargs)


def _study_file(**overrides):
    return parse_study(tiny_study_dict(search_space=ONE_POINT, trial_runner="synthetic", **overrides))


def test_repeated_parameters_are_trained_once_and_reuse_values_attributes_and_constraints(sqlite_url):
    runner = CountingRunner()
    study = run_study(_study_file(), sqlite_url, "dup", n_trials=4, runner=runner)
    baseline, first, *repeats = study.trials
    assert [c.scheme for c in runner.calls] == ["float", "ptq"]  # the baseline and trial 1; 2 and 3 reuse 1
    assert len(repeats) == 2
    for t in repeats:
        assert t.state == optuna.trial.TrialState.COMPLETE
        assert t.user_attrs[DUPLICATE_ATTR] == first.number
        assert t.params == first.params and t.values == first.values
        assert t.constraints == first.constraints
        measured = {k: v for k, v in first.user_attrs.items() if k != "duration_s"}
        assert {k: t.user_attrs[k] for k in measured} == measured
    assert DUPLICATE_ATTR not in first.user_attrs and DUPLICATE_ATTR not in baseline.user_attrs
    rows = {r["trial_number"]: r for r in load_results(engine_for(sqlite_url), "dup")}
    assert [rows[t.number]["reason"] for t in study.trials] == ["completed", "completed", "duplicate", "duplicate"]
    for t in repeats:
        same = ("accuracy", "accuracy_drop", "memory_kib", "compression_ratio", "sops", "feasible", "config",
                "memory_breakdown")
        assert {k: rows[t.number][k] for k in same} == {k: rows[first.number][k] for k in same}


def test_a_changed_configuration_behind_the_same_parameters_is_trained(sqlite_url):
    runner = CountingRunner()
    run_study(_study_file(quantization={"weight_calibration": "max"}), sqlite_url, "dup", n_trials=2, runner=runner)
    study = run_study(_study_file(), sqlite_url, "dup", n_trials=1, runner=runner, allow_changed_study_file=True)
    assert [c.weight_calibration for c in runner.calls[1:]] == ["max", "mse"]
    assert DUPLICATE_ATTR not in study.trials[-1].user_attrs


def test_a_real_trial_measures_the_same_numbers_again_from_scratch(tiny_study):
    # the premise of reusing a duplicate: data, initialisation, training and stochastic rounding are seeded
    config = QuantConfig(scheme="qat", weight_bits=(3, 4), membrane_bits=8, current_bits=8, param_bits=8,
                         rounding="stochastic", timesteps=8, sparsity=(0.25, 0.25), weight_calibration="mse")
    first = run_trial(tiny_study, config)
    trial_module._FLOAT_CACHE.clear()  # as in another process: the float network is trained again
    again = run_trial(tiny_study, config)
    keep = ("accuracy", "validation_accuracy", "memory_bits", "memory_breakdown", "sops", "energy_pj",
            "weight_formats")
    assert {k: first.as_dict()[k] for k in keep} == {k: again.as_dict()[k] for k in keep}


def test_a_repeated_trial_writes_its_attributes_once(sqlite_url, monkeypatch):
    from qsearch.search import _objective

    writes: list[dict] = []
    original = _objective.set_user_attrs

    def counting(trial, attrs):
        writes.append(dict(attrs))
        original(trial, attrs)

    monkeypatch.setattr(_objective, "set_user_attrs", counting)
    study = run_study(_study_file(), sqlite_url, "dup", n_trials=3, runner=CountingRunner())
    repeat = study.trials[2]
    assert len(writes) == 2 + 2 + 1  # baseline and trial 1: at the start and at the end; the repeat: once
    assert writes[-1][DUPLICATE_ATTR] == study.trials[1].number
    assert {k: v for k, v in writes[-1].items() if k != "duration_s"} == {
        k: v for k, v in repeat.user_attrs.items() if k != "duration_s"}
