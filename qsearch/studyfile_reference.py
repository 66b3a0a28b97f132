"""The study-file reference, docs/study-file.md, generated from the pydantic schema of :mod:`qsearch.studyfile`.

:func:`sections` walks :class:`~qsearch.studyfile.StudyFile` and every section model nested in it (a
discriminated union such as ``dataset`` gives one section per kind) and reads each field's type, constraints,
default and ``description``; :func:`render_reference` turns them into Markdown, one table per section.
``python -m qsearch.studyfile_reference > docs/study-file.md`` (``make docs``) rewrites the page, and
tests/test_study_file_reference.py fails when the committed page is stale.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from qsearch.studyfile import StudyFile

#: Descriptions of fields whose models live outside qsearch.studyfile (the dataset and encoding specs of
#: qsearch.data) and carry none of their own; a field's own ``description`` always wins.
SUPPLEMENTARY_DESCRIPTIONS: dict[str, str] = {
    "name": "the dataset kind (selects this section)",
    "kind": "the encoding kind (selects this section)",
    "seed": "seed of the split and subsample draws and of the rate encoding's random spikes",
    "validation_fraction": "share of the samples held out as the validation split (what the search and the "
                           "selection see)",
    "test_fraction": "share of the samples held out as the test split (only reported, never selected on)",
    "encoding": "how intensities in [0, 1] become the network's input (spikes, or analog codes: direct), chosen "
                "by encoding.kind (sections dataset.encoding)",
}

_HEADER = """# Study file reference

<!-- Generated from qsearch/studyfile.py by `make docs` (python -m qsearch.studyfile_reference); do not edit. -->

A study file is one YAML mapping. Every section is optional and strict: an unknown key is an error naming its
path (`sampler.foo: unknown key`). [`studies/digits.yaml`](../studies/digits.yaml) is the default study; copy it,
give the copy a new `name:`, and edit. A field left out takes the default below, the same default the runtime
records use in code. `null` is YAML's "none". Accuracies and budgets are in percent and percentage points
("pt"); an accuracy drop is float minus quantized accuracy, so a positive drop is worse than the float baseline.
"""


@dataclass(frozen=True)
class FieldDoc:
    """One row of a section's table."""

    name: str
    type: str
    default: str
    description: str


@dataclass(frozen=True)
class SectionDoc:
    """One section: its YAML path (empty at the top level), the kind it is when its field is a discriminated
    union (``name: digits``), its summary and its fields."""

    path: str
    variant: str | None
    summary: str
    fields: tuple[FieldDoc, ...]

    @property
    def title(self) -> str:
        where = f"`{self.path}`" if self.path else "Top level"
        return f"{where} with `{self.variant}`" if self.variant else where


def _is_model(tp: object) -> bool:
    return inspect.isclass(tp) and issubclass(tp, BaseModel)


def _union_args(tp: object) -> tuple[Any, ...] | None:
    return get_args(tp) if get_origin(tp) in (Union, types.UnionType) else None


def _models_in(tp: object) -> list[type[BaseModel]]:
    """The section models a field's annotation holds (through ``| None`` and unions; not inside lists)."""
    if _is_model(tp):
        return [tp]  # type: ignore[list-item]  # _is_model checked it
    args = _union_args(tp)
    return [m for arg in args for m in _models_in(arg)] if args else []


def _discriminator(models: list[type[BaseModel]]) -> str | None:
    """The field that tells the members of a union apart: a one-value Literal field every member has."""
    if len(models) < 2:
        return None
    for name in models[0].model_fields:
        if all(name in m.model_fields and get_origin(m.model_fields[name].annotation) is Literal
               and len(get_args(m.model_fields[name].annotation)) == 1 for m in models):
            return name
    return None


def _variant(model: type[BaseModel], key: str | None) -> str | None:
    return None if key is None else f"{key}: {get_args(model.model_fields[key].annotation)[0]}"


def _value(value: object) -> str:
    """A default as it would be written in YAML (flow style)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + "}"
    return str(value)


_SCALARS = {bool: "true/false", int: "integer", float: "number", str: "string"}
_PLURAL = {"integer": "integers", "number": "numbers", "string": "strings"}


def _type(tp: object) -> str:
    """An annotation in words: scalars, Literal choices, lists, unions, sections."""
    if tp is type(None):
        return "`null`"
    if get_origin(tp) is Literal:
        choices = ", ".join(f"`{_value(v)}`" for v in get_args(tp))
        return f"`{_value(get_args(tp)[0])}`" if len(get_args(tp)) == 1 else f"one of {choices}"
    if get_origin(tp) is list:
        item = _type(get_args(tp)[0])
        return f"list of {_PLURAL[item]}" if item in _PLURAL else f"list, each {item}"
    args = _union_args(tp)
    if args is not None:
        models = [a for a in args if _is_model(a)]
        key = _discriminator(models)
        if key is not None:
            kinds = ", ".join(f"`{get_args(m.model_fields[key].annotation)[0]}`" for m in models)
            rest = [_type(a) for a in args if not _is_model(a)]
            return " or ".join([f"section, `{key}` one of {kinds}", *rest])
        return " or ".join(_type(a) for a in args)
    if _is_model(tp):
        return "section"
    if isinstance(tp, type) and tp in _SCALARS:
        return _SCALARS[tp]
    return f"`{tp}`"


def _bounds(metadata: Iterable[object], text: bool = False) -> str:
    """Field constraints: a number's range (``0 < x <= 1``, ``x >= 1``), a list's length or a string's (``text``)."""
    low: tuple[str, str] | None = None  # (value, "<" or "<=")
    high: tuple[str, str] | None = None
    least: int | None = None
    most: int | None = None
    for item in metadata:
        if isinstance(item, annotated_types.Gt):
            low = (_value(item.gt), "<")
        elif isinstance(item, annotated_types.Ge):
            low = (_value(item.ge), "<=")
        elif isinstance(item, annotated_types.Lt):
            high = (_value(item.lt), "<")
        elif isinstance(item, annotated_types.Le):
            high = (_value(item.le), "<=")
        elif isinstance(item, annotated_types.MinLen):
            least = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            most = item.max_length
    parts = []
    if low and high:
        parts.append(f"{low[0]} {low[1]} x {high[1]} {high[0]}")
    elif low:
        parts.append(f"x {low[1].replace('<', '>')} {low[0]}")
    elif high:
        parts.append(f"x {high[1]} {high[0]}")
    unit = "characters" if text else "items"
    if text and least == 1 and most is None:
        parts.append("non-empty")
    elif least is not None and most is not None:
        parts.append(f"{least} to {most} {unit}")
    elif least is not None:
        parts.append(f"at least {least} {unit if least != 1 else unit[:-1]}")
    elif most is not None:
        parts.append(f"at most {most} {unit}")
    return ", ".join(parts)


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        models = _models_in(info.annotation)
        key = _discriminator(models)
        if key is not None:
            return f"`{{{key}: {_value(getattr(value, key))}}}`"
        return "its section's defaults"
    return f"`{_value(value)}`"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def field_description(model: type[BaseModel], name: str) -> str:
    """A field's own ``description``, else (for models outside qsearch.studyfile) the supplementary one."""
    own = model.model_fields[name].description
    if own:
        return own
    if model.__module__ != StudyFile.__module__:
        return SUPPLEMENTARY_DESCRIPTIONS.get(name, "")
    return ""


def _field(model: type[BaseModel], name: str, info: FieldInfo) -> FieldDoc:
    kind = _type(info.annotation)
    bounds = _bounds(info.metadata, text=info.annotation is str)
    return FieldDoc(name=name, type=_cell(f"{kind}; {bounds}" if bounds else kind), default=_cell(_default(info)),
                    description=_cell(field_description(model, name)))


def _summary(model: type[BaseModel]) -> str:
    doc = model.__dict__.get("__doc__")  # the class's own, not BaseModel's
    return " ".join(inspect.cleandoc(doc).split("\n\n")[0].split()).replace("``", "`") if doc else ""


def _section(model: type[BaseModel], path: str, variant: str | None) -> SectionDoc:
    return SectionDoc(path=path, variant=variant, summary=_summary(model),
                      fields=tuple(_field(model, n, i) for n, i in model.model_fields.items()))


def sections(root: type[BaseModel] = StudyFile) -> list[SectionDoc]:
    """Every section of ``root``, top level first, each field's sections (every kind of a union) in the order of
    the fields, each followed by the sections nested in it."""
    out = [_section(root, "", None)]
    seen: set[tuple[str, type[BaseModel]]] = set()

    def walk(model: type[BaseModel], path: str) -> None:
        for name, info in model.model_fields.items():
            sub = f"{path}.{name}" if path else name
            members = _models_in(info.annotation)
            key = _discriminator(members)
            models = [m for m in members if (sub, m) not in seen]  # a union shared by several kinds: once
            for member in models:
                seen.add((sub, member))
                out.append(_section(member, sub, _variant(member, key)))
            for member in models:
                walk(member, sub)

    walk(root, "")
    return out


def _table(section: SectionDoc) -> list[str]:
    rows = ["| field | type, allowed values | default | description |", "|---|---|---|---|"]
    rows += [f"| `{f.name}` | {f.type} | {f.default} | {f.description} |" for f in section.fields]
    return rows


def render_reference() -> str:
    """docs/study-file.md: the header, then one heading and table per section."""
    lines = [_HEADER.rstrip("\n")]
    for section in sections():
        lines += ["", f"## {section.title}", ""]
        if section.summary:
            lines += [section.summary, ""]
        lines += _table(section)
    return "\n".join(lines) + "\n"


__all__ = ["SUPPLEMENTARY_DESCRIPTIONS", "FieldDoc", "SectionDoc", "field_description", "render_reference",
           "sections"]


if __name__ == "__main__":
    print(render_reference(), end="")
