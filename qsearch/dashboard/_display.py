"""How a trial's user attributes read in optuna-dashboard: a one-line summary first, one unit per quantity.

Display only: the stored attributes (:mod:`qsearch.record.keys`, any version) are not changed, so studies
stored before this view read the same way. Memory is shown in KiB (its breakdown too) and energy in nJ, the
units of ``qsearch best`` and the figures; raw bit and pJ keys are replaced by them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qsearch.metrics import bits_to_kib, pj_to_nj

#: stored key -> (shown key, conversion); a stored key listed here is shown only converted
CONVERTED = {"memory_bits": ("memory_kib", bits_to_kib), "float_memory_bits": ("float_memory_kib", bits_to_kib),
             "energy_pj": ("energy_nj", pj_to_nj)}
#: keys shown right after the summary, in this order; the rest follow alphabetically, ``config`` last
FIRST = ("accuracy", "accuracy_drop", "feasible", "memory_kib", "memory_breakdown_kib", "float_memory_kib",
         "sops", "energy_nj", "test_accuracy", "test_n", "validation_accuracy", "validation_n")


def _summary_line(attrs: Mapping[str, Any]) -> str | None:
    if "summary" not in attrs:
        return None
    parts = [str(attrs["summary"])]
    if attrs.get("accuracy") is not None:
        drop = attrs.get("accuracy_drop")
        parts.append(f"{attrs['accuracy']:.2f} %" + (f" (drop {drop:+.2f} pt vs float)" if drop is not None else ""))
    if attrs.get("memory_bits") is not None:
        parts.append(f"{bits_to_kib(attrs['memory_bits']):.2f} KiB")
    if "feasible" in attrs:
        parts.append("feasible" if attrs["feasible"] else "infeasible")
    if attrs.get("reason"):
        parts.append(str(attrs["reason"]))
    return " | ".join(parts)


def display_user_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """The user attributes as the dashboard should show them (see the module docstring)."""
    shown: dict[str, Any] = {}
    for key, value in attrs.items():
        if key in CONVERTED and isinstance(value, int | float):
            name, convert = CONVERTED[key]
            shown[name] = round(convert(value), 4)
        elif key == "memory_breakdown" and isinstance(value, Mapping):
            shown["memory_breakdown_kib"] = ", ".join(f"{part} {bits_to_kib(bits):.3f}" for part, bits in
                                                      value.items() if isinstance(bits, int | float))
        else:
            shown[key] = value
    line = _summary_line(attrs)
    ordered: dict[str, Any] = {"summary": line} if line is not None else {}
    ordered.update({k: shown[k] for k in FIRST if k in shown})
    ordered.update({k: shown[k] for k in sorted(shown) if k not in ordered and k != "config"})
    if "config" in shown:
        ordered["config"] = shown["config"]
    return ordered
