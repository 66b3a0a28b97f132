"""The non-spiking reference: fitted on the train split, scored on the same validation and test splits."""

from __future__ import annotations

import numpy as np
import torch

from qsearch.data import LabeledTensors, Splits, load_digits_splits
from qsearch.trial import chance_accuracy, reference_accuracy


def test_reference_fits_digits_far_above_chance():
    splits = load_digits_splits(seed=0)
    result = reference_accuracy(splits)
    assert result.n == len(splits.train) and result.name in ("logistic_regression", "mlp_128")
    assert result.validation > 90 and result.test > 90


def test_reference_sees_only_the_labels_the_features_explain():
    rng = np.random.default_rng(0)

    def split(n: int) -> LabeledTensors:
        y = torch.as_tensor(np.arange(n) % 2)
        return LabeledTensors(torch.as_tensor(rng.uniform(0, 1, (n, 5)), dtype=torch.float32), y)

    noise = Splits(split(200), split(100), split(100), n_classes=2, input_shape=(5,))
    result = reference_accuracy(noise)
    assert abs(result.test - 50.0) < 15  # random features: about chance, nothing leaked from the test labels
    assert chance_accuracy(np.array([0, 0, 0, 1])) == 75.0


def test_report_best_and_model_card_show_the_reference_beside_the_float_snn(tmp_path):
    """The reference the baseline records reaches every view: the report's line, `best` JSON, the model card."""
    import json

    from study_fixtures import tiny_study_dict
    from typer.testing import CliRunner

    from qsearch.cli import app
    from qsearch.execution import run_study
    from qsearch.export import export_trial
    from qsearch.studyfile import parse_study

    url = f"sqlite:///{tmp_path / 'ref.db'}"
    run_study(parse_study(tiny_study_dict(n_trials=2)), url, "ref", n_trials=2)
    best = CliRunner().invoke(app, ["best", "--storage", url, "--study-name", "ref", "--format", "json"])
    reference = json.loads(best.output)["reference"]
    assert reference["name"] in ("logistic_regression", "mlp_128") and reference["test"] > 80
    report = CliRunner().invoke(app, ["best", "--storage", url, "--study-name", "ref"])
    assert report.exit_code == 0, report.output
    assert "non-spiking reference (" in report.output and "float SNN: validation" in report.output
    out = export_trial(url, "ref", 1, tmp_path / "export")
    card = json.loads((out / "model_card.json").read_text())
    assert card["reference"] == reference


def test_reference_line_puts_the_snn_and_the_reference_on_one_line():
    from qsearch.report import reference_line
    from qsearch.results import ResultRow

    fields = {f: None for f in ResultRow.__dataclass_fields__}
    baseline = ResultRow(**{**fields, "test_accuracy": 95.0, "test_n": 360, "validation_accuracy": 96.0,
                            "validation_n": 360, "trial_number": 0, "is_baseline": True})
    line = reference_line({"name": "logistic_regression", "validation": 97.5, "test": 97.0}, baseline)
    assert line is not None and "\n" not in line
    assert "float SNN: validation 96.00" in line and "logistic_regression" in line and "+2.00 pt" in line
    assert reference_line(None, baseline) is None
