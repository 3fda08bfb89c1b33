"""The SP4N-LAPOR adapter: a complaint in the documented JSON shape (README
"Complaints (pengaduan)", schema ``lincah.sp4n-lapor/1``) and its POST to the national
system at ``sp4n_lapor_url`` (empty: nothing is sent).

The shape carries the complainant's account only for a named complaint: a confidential
one is marked ``confidential`` and names nobody outside the handling agency, an
anonymous one names nobody at all.
"""

from __future__ import annotations

from typing import Any, Final

import httpx

from config.settings import Settings
from domain import complaints as c
from eventstore.port import EventStore

SCHEMA: Final = "lincah.sp4n-lapor/1"
TIMEOUT_S: Final = 10.0


def export(store: EventStore, complaint_id: str) -> dict[str, Any] | None:
    """The complaint as SP4N-LAPOR receives it, folded from its stream; None if unknown."""
    view: c.ComplaintView | None = None
    for e in store.read_stream(c.complaint_stream(complaint_id)):
        view = c.apply(view, e.type, e.data, e.recorded_at.isoformat())
    return None if view is None else shape(view)


def shape(v: c.ComplaintView) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "tracking_id": v.complaint_id,
        "agency": v.agency,
        "forwarded_from": list(v.forwarded_from),
        "channel": v.channel,
        "privacy": v.anonymity,
        "complainant": {"account_id": v.complainant} if v.anonymity == "named" else None,
        "subject": {"kind": v.subject.kind, "ref": v.subject.ref},
        "content": v.text,
        "attachments": list(v.attachments),
        "filed_at": v.filed_at,
        "status": v.status,
        "follow_up": None
        if v.follow_up is None
        else {"unit": v.unit, "text": v.follow_up, "at": v.followed_up_at},
        "breaches": list(v.breaches),
        "closed_reason": v.closed_reason,
        "rating": v.rating,
    }


class NotDelivered(Exception):
    """SP4N-LAPOR did not take the complaint (unreachable, or answered an error)."""


def send(settings: Settings, payload: dict[str, Any]) -> bool:
    """POST the payload to ``sp4n_lapor_url``. False when no URL is configured (nothing
    sent); raises NotDelivered when the system did not answer 2xx."""
    if not settings.sp4n_lapor_url:
        return False
    try:
        r = httpx.post(settings.sp4n_lapor_url, json=payload, timeout=TIMEOUT_S)
    except httpx.HTTPError as e:
        raise NotDelivered(
            f"SP4N-LAPOR at {settings.sp4n_lapor_url} is not reachable ({e}); send it again later"
        ) from e
    if not r.is_success:
        raise NotDelivered(
            f"SP4N-LAPOR answered {r.status_code} for complaint {payload['tracking_id']}: "
            f"{r.text[:200]}"
        )
    return True
