"""docs/study-file.md is generated from the study file's pydantic schema and must match it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from qsearch import studyfile
from qsearch.studyfile import StudyFile
from qsearch.studyfile_reference import field_description, render_reference, sections

PAGE = Path(__file__).resolve().parents[1] / "docs" / "study-file.md"


def _models(model: type[BaseModel]) -> list[type[BaseModel]]:
    """``model`` and every section model reachable from its fields (through unions and ``| None``)."""
    from qsearch.studyfile_reference import _models_in

    found = [model]
    for info in model.model_fields.values():
        for sub in _models_in(info.annotation):
            found += [m for m in _models(sub) if m not in found]
    return found


def test_committed_reference_is_current():
    assert PAGE.is_file(), "docs/study-file.md is missing: run `make docs`"
    assert PAGE.read_text() == render_reference(), (
        "docs/study-file.md is stale (qsearch/studyfile.py changed): run `make docs` and commit the page")


def test_every_field_of_every_section_has_a_description():
    missing = [f"{section.title}: {field.name}" for section in sections() for field in section.fields
               if not field.description.strip()]
    assert not missing, f"fields without a description (add Field(description=...)): {missing}"


@pytest.mark.parametrize("model", [m for m in _models(StudyFile) if m.__module__ == studyfile.__name__],
                         ids=lambda m: m.__name__)
def test_study_file_sections_describe_their_own_fields(model):
    """The sections defined in qsearch.studyfile carry their own descriptions (no supplement)."""
    missing = [name for name, info in model.model_fields.items() if not (info.description or "").strip()]
    assert not missing, f"{model.__name__}: add Field(description=...) to {missing}"


def test_every_reachable_field_is_documented():
    documented = {(s.path, f.name) for s in sections() for f in s.fields}
    for section in sections():
        assert section.fields, section.title
    for model in _models(StudyFile):
        for name in model.model_fields:
            assert field_description(model, name), f"{model.__name__}.{name}"
    assert ("", "trial_runner") in documented
    assert ("dataset", "path") in documented and ("dataset", "scaling") in documented
    kinds = {s.variant for s in sections() if s.path == "dataset.encoding"}
    assert kinds == {"kind: rate", "kind: regular", "kind: latency", "kind: direct"}


def _row(section_title: str, field: str) -> list[str]:
    page = PAGE.read_text()
    part = page.split(f"## {section_title}\n", 1)[1].split("\n## ", 1)[0]
    for line in part.splitlines():
        if line.startswith(f"| `{field}` |"):
            return [cell.strip() for cell in line.strip("|").split(" | ")]
    raise AssertionError(f"no row {field} under {section_title}")


def test_documented_defaults_are_the_schema_defaults():
    assert _row("`model`", "weight_scale")[2] == "`auto`"
    assert StudyFile().model.weight_scale == "auto"
    assert _row("`model`", "readout")[1] == "one of `spiking`, `li`, `li_sum`"
    assert _row("`constraints`", "max_accuracy_drop")[2] == "`1.0`"
    assert _row("`search_space`", "weight_bits")[2] == "`[2, 3, 4, 6, 8]`"
    assert _row("Top level", "storage")[2] == "`sqlite:///qsearch.db`"
    assert _row("`dataset` with `name: npz`", "path")[2] == "required"
    assert _row("`dataset` with `name: npz`", "scaling")[1] == "one of `auto`, `feature`, `global`, `none`"
    assert _row("`model`", "init_rate")[1] == "number; 0 < x < 1"
