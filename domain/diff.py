"""What changed between two versions of a service definition.

Semantic, not textual: form fields and steps are matched by id, not by position, so
inserting a field reports one added field rather than every later one as changed.
Pure and deterministic.

Paths:

* top-level attributes by name (``name``, ``description``, ``time_limit.amount``,
  ``standard.delivery.requirements``, ``agency.name`` ...); ``version`` and ``schema_version``
  are ignored;
* ``fields.<id>`` for a form field, ``fields.<id>.<attribute>`` within one;
  ``fields (order)`` when the fields present in both versions are in another order;
* ``steps.<id>`` likewise, ``steps.<id>.<attribute>`` within one, dict entries as
  ``steps.<id>.outcomes.<key>``, list items as ``steps.<id>.branches[0].when``;
  ``steps (order)`` when the steps present in both versions are in another order;
  a step whose kind changed is one change ``steps.<id>.kind`` whose before/after are
  the whole steps.

Nested models are compared attribute by attribute; a model appearing or disappearing
(``None`` on one side, e.g. a step deadline) is one ``changed`` at its path. Lists of
models with an ``id`` (an external step's fields) are matched by id like the form
fields; other lists of models (decision branches, fee rules) item by item, a longer or
shorter list reporting its extra items as added or removed; lists of plain values
(choices, parallel branches, standard requirements) as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from domain.definition import ServiceDefinition

__all__ = ["Change", "diff"]

_IGNORED = frozenset({"version", "schema_version"})
_MATCHED_BY_ID = ("fields", "steps")


@dataclass(frozen=True)
class Change:
    """One difference. ``before``/``after`` are JSON-serialisable (models dumped with
    ``model_dump(mode="json")``); ``before`` is None for added, ``after`` for removed."""

    path: str
    kind: Literal["added", "removed", "changed"]
    before: Any
    after: Any


def diff(a: ServiceDefinition, b: ServiceDefinition) -> list[Change]:
    """Every change from ``a`` to ``b``, in a deterministic order: top-level attributes
    (in the model's field order), then fields, then steps. Within fields and steps: the
    order change if any, then those in ``b``'s order (added or changed), then those
    removed in ``a``'s order."""
    out: list[Change] = []
    for name in ServiceDefinition.model_fields:
        if name in _IGNORED or name in _MATCHED_BY_ID:
            continue
        _compare(name, getattr(a, name), getattr(b, name), out)
    for name in _MATCHED_BY_ID:
        _compare_by_id(name, getattr(a, name), getattr(b, name), out)
    return out


def _json(value: Any) -> Any:
    return to_jsonable_python(value)


def _has_ids(items: Sequence[Any]) -> bool:
    return bool(items) and all(isinstance(i, BaseModel) and hasattr(i, "id") for i in items)


def _compare_by_id(
    path: str, before: Sequence[Any], after: Sequence[Any], out: list[Change]
) -> None:
    old = {item.id: item for item in before}
    new = {item.id: item for item in after}
    old_common = [i for i in old if i in new]
    new_common = [i for i in new if i in old]
    if old_common != new_common:
        out.append(Change(f"{path} (order)", "changed", list(old), list(new)))
    for item_id, item in new.items():
        if item_id not in old:
            out.append(Change(f"{path}.{item_id}", "added", None, _json(item)))
        else:
            _compare(f"{path}.{item_id}", old[item_id], item, out)
    for item_id, item in old.items():
        if item_id not in new:
            out.append(Change(f"{path}.{item_id}", "removed", _json(item), None))


def _compare(path: str, before: Any, after: Any, out: list[Change]) -> None:
    if type(before) is not type(after):
        # None <-> value, or a step of another kind: one change for the whole value.
        kind_changed = hasattr(before, "kind") and hasattr(after, "kind")
        at = f"{path}.kind" if kind_changed else path
        out.append(Change(at, "changed", _json(before), _json(after)))
        return
    if before == after:
        return
    if isinstance(before, BaseModel):
        for name in type(before).model_fields:
            _compare(f"{path}.{name}", getattr(before, name), getattr(after, name), out)
    elif isinstance(before, dict):
        for key, value in after.items():
            if key not in before:
                out.append(Change(f"{path}.{key}", "added", None, _json(value)))
            else:
                _compare(f"{path}.{key}", before[key], value, out)
        for key, value in before.items():
            if key not in after:
                out.append(Change(f"{path}.{key}", "removed", _json(value), None))
    elif isinstance(before, list) and (_has_ids(before) or _has_ids(after)):
        _compare_by_id(path, before, after, out)
    elif isinstance(before, list) and any(isinstance(i, BaseModel) for i in before + after):
        for i, (x, y) in enumerate(zip(before, after, strict=False)):
            _compare(f"{path}[{i}]", x, y, out)
        for i in range(len(after), len(before)):
            out.append(Change(f"{path}[{i}]", "removed", _json(before[i]), None))
        for i in range(len(before), len(after)):
            out.append(Change(f"{path}[{i}]", "added", None, _json(after[i])))
    else:
        out.append(Change(path, "changed", _json(before), _json(after)))
