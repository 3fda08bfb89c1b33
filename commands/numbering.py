"""Application numbers (``BWI-2026-000001``): one stream per agency and year, each number
one event appended with the stream's expected version, so two submissions never share one."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from domain import events as ev
from domain.refusals import Unavailable
from eventstore.port import EventStore, NewEvent, WrongExpectedVersion

WIB = timezone(timedelta(hours=7), "WIB")
"""Application numbers take the year in Western Indonesian Time."""


def reserve_number(
    store: EventStore,
    agency_code: str,
    service_id: str,
    now: datetime | None = None,
    key_digest: str | None = None,
) -> str:
    """Hand out the next number of the agency's year, e.g. ``BWI-2026-000001``.
    ``key_digest`` names the submission's Idempotency-Key (``api.idempotency``), so a
    number left unused by two racing retries can be told from a lost one."""
    extra = {"idempotency_key": key_digest} if key_digest else {}
    year = (now or datetime.now(WIB)).astimezone(WIB).year
    stream = ev.number_stream(agency_code, year)
    for _ in range(50):
        current = store.stream_version(stream)
        number = ev.application_number(agency_code, year, current + 2)
        try:
            store.append(
                stream,
                [
                    NewEvent(
                        uuid.uuid4(),
                        ev.APPLICATION_NUMBER_RESERVED,
                        {"application_id": number, "service_id": service_id, **extra},
                    )
                ],
                expected_version=current,
            )
        except WrongExpectedVersion:
            continue  # another submission took it; take the next
        return number
    raise Unavailable("too many simultaneous submissions; try again")
