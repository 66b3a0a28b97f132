"""Trial attributes as the dashboard shows them: a summary line first, memory in KiB, energy in nJ."""

from __future__ import annotations

from qsearch.dashboard._display import display_user_attrs

STORED = {"accuracy": 90.5, "accuracy_drop": 3.25, "config": {"scheme": "qat"}, "device": "cpu",
          "energy_pj": 1500.0, "feasible": True, "float_memory_bits": 81920, "memory_bits": 8192,
          "memory_breakdown": {"weights_layer0": 4096, "total": 8192}, "summary": "qat w4/4", "sops": 10.0}


def test_summary_first_and_config_last():
    shown = list(display_user_attrs(STORED))
    assert shown[0] == "summary" and shown[-1] == "config"
    assert display_user_attrs(STORED)["summary"] == "qat w4/4 | 90.50 % (drop +3.25 pt vs float) | 1.00 KiB | feasible"


def test_one_unit_per_quantity():
    shown = display_user_attrs(STORED)
    assert shown["memory_kib"] == 1.0 and shown["float_memory_kib"] == 10.0 and shown["energy_nj"] == 1.5
    assert shown["memory_breakdown_kib"] == "weights_layer0 0.500, total 1.000"
    assert not {"memory_bits", "float_memory_bits", "energy_pj", "memory_breakdown"} & set(shown)


def test_attributes_without_measurements_pass_through():
    assert display_user_attrs({"reason": "silent", "qsearch_baseline": True}) == {
        "qsearch_baseline": True, "reason": "silent"}
