"""A service's Standar Pelayanan (PermenPANRB 15/2014) as people read it, for the
designer: the same generated standard the public API serves (``domain.standard``), from
a definition as the API returns it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from designer.i18n import ngettext
from domain import standard
from domain.definition import Duration, ServiceDefinition, ServiceStandard
from domain.wording import UNITS
from domain.wording import rupiah as rupiah  # the designer's pages format amounts so

COMPONENTS: list[tuple[str, str, str, bool]] = [
    *(("delivery", key, title, key == "requirements") for key, title in standard.DELIVERY),
    *(("management", key, title, key == "legal_basis") for key, title in standard.MANAGEMENT),
]
"""(group, key, title, whether it is a list) of each component the agency explains, in
the regulation's order."""


def duration_text(d: dict[str, Any] | Duration | None) -> str:
    if d is None:
        return ""
    raw = d.model_dump(mode="json") if isinstance(d, Duration) else d
    unit = str(raw.get("unit"))
    words = next((w for u, w in UNITS.items() if u.value == unit), unit)
    return f"{raw.get('amount', 0):g} {words}"


def standard_groups(raw: object) -> dict[str, Any]:
    """A definition's ``standard`` in the two groups, also when it was written flat (an
    older export); ``{}`` when it does not parse, so the editor starts it afresh."""
    try:
        return ServiceStandard.model_validate(raw or {}).model_dump(mode="json")
    except ValidationError:
        return {}


def build(definition: dict[str, Any], published_at: str | None = None) -> standard.Standard:
    """The generated standard of a definition dict; raises ``ValueError`` (pydantic's
    ``ValidationError``) when the definition does not parse."""
    parsed = ServiceDefinition.model_validate(definition)
    when = datetime.fromisoformat(published_at) if published_at else None
    return standard.generate(parsed, when)


def components(definition: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """(title, generated lines followed by the agency's explanation), in the
    regulation's order; missing components have no lines."""
    return [(c.title, [*c.generated, *c.explanation]) for c in build(definition).components]


def markdown(definition: dict[str, Any], published_at: str | None = None) -> str:
    try:
        return standard.markdown(build(definition, published_at))
    except ValidationError as e:
        problems = e.error_count()
        return ngettext(
            "This definition does not parse ({count} problem), so it has no standard.",
            "This definition does not parse ({count} problems), so it has no standard.",
            problems,
        ).format(count=problems)


def page_html(definition: dict[str, Any], published_at: str | None = None) -> str:
    """A self-contained, printable HTML page of the standard (A4, no scripts)."""
    return standard.html_page(build(definition, published_at))
