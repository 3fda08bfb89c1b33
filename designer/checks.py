"""Live validation of the draft: the API's ``POST /services/validate`` (the same checks
that guard saving and publishing), remembered per draft content; when the API cannot be
asked, the same domain checks run here. Each problem is shown as the administrator reads
it (``domain.wording.problems``: what is wrong and what to do, the place named by step name and
field label), with the API's technical ``path: message`` small beneath it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import streamlit as st

from designer.client import ApiError
from designer.draft import fingerprint, step_index
from designer.i18n import _, language
from designer.session import api
from domain.definition import ServiceDefinition
from domain.validation import parse_definition
from domain.wording.problems import explain

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


def plain(problem: Mapping[str, str], definition: Mapping[str, Any] | None = None) -> str:
    """The problem in the session's language, as the administrator acts on it."""
    return explain(str(problem.get("path", "")), str(problem.get("message", "")), language(),
                   definition=definition)  # fmt: skip


def technical(problem: Mapping[str, str]) -> str:
    """The problem as the API words it: ``path: message`` (for a programmer, or support)."""
    return f"`{problem.get('path') or _('(definition)')}`: {problem.get('message', '')}"


def show(problem: Mapping[str, str], definition: Mapping[str, Any], box: Any = st) -> None:
    """One problem as an error, the technical wording small beneath it (``box``: where,
    such as a column; the page by default)."""
    box.error(plain(problem, definition))
    box.caption(technical(problem))


def problem_steps(found: list[dict[str, str]], definition: dict[str, Any]) -> set[str]:
    ids: set[str] = set()
    steps = definition.get("steps", [])
    for p in found:
        i = step_index(p.get("path", ""))
        if i is not None and i < len(steps) and isinstance(steps[i], dict):
            ids.add(str(steps[i].get("id")))
    return ids
