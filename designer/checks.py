"""Live validation of the draft: the API's ``POST /services/validate`` (the same checks
that guard saving and publishing), remembered per draft content; when the API cannot be
asked, the same domain checks run here."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import streamlit as st

from designer.client import ApiError
from designer.draft import field_index, fingerprint, step_index
from designer.i18n import _, language
from designer.session import api
from domain.definition import ServiceDefinition
from domain.validation import parse_definition

_CACHE = "_problems"


def problems(definition: dict[str, Any]) -> tuple[list[dict[str, str]], str]:
    """Every problem of the draft, and who checked it."""
    key = f"{language()}:{fingerprint(definition)}"  # who checked it is said in words
    cached: dict[str, tuple[list[dict[str, str]], str]] = st.session_state.setdefault(_CACHE, {})
    if key in cached:
        return cached[key]
    try:
        found, source = api().validate(definition), _("checked by the API")
    except ApiError as e:
        local = parse_definition(definition)[1]
        found = [asdict(p) for p in local]
        source = _("checked in the designer (the API could not: {reason})").format(reason=e.message)
    cached.clear()  # keep one entry: the draft as it is now
    cached[key] = (found, source)
    return found, source


def parsed(definition: dict[str, Any]) -> ServiceDefinition | None:
    return parse_definition(definition)[0]


def where(problem: dict[str, str], definition: dict[str, Any]) -> str:
    """Where a problem is, in words a designer recognises."""
    path = problem.get("path", "")
    steps = definition.get("steps", [])
    i = step_index(path)
    if i is not None and i < len(steps) and isinstance(steps[i], dict):
        s = steps[i]
        rest = path.split("]", 1)[1].lstrip(".")
        what = _("Step '{name}' ({step})").format(
            name=s.get("name") or s.get("id"), step=s.get("id")
        )
        return f"{what} · {rest}" if rest else what
    j = field_index(path)
    fields = definition.get("fields", [])
    if j is not None and j < len(fields) and isinstance(fields[j], dict):
        rest = path.split("]", 1)[1].lstrip(".")
        what = _("Form field '{label}'").format(label=fields[j].get("label") or fields[j].get("id"))
        return f"{what} · {rest}" if rest else what
    return f"{_('Service')} · {path}" if path else _("Service")


def problem_steps(found: list[dict[str, str]], definition: dict[str, Any]) -> set[str]:
    ids: set[str] = set()
    steps = definition.get("steps", [])
    for p in found:
        i = step_index(p.get("path", ""))
        if i is not None and i < len(steps) and isinstance(steps[i], dict):
            ids.add(str(steps[i].get("id")))
    return ids
