"""The satisfaction survey (SKM, PermenPANRB 14/2017): a citizen answers it once for an
application of theirs that has ended. The answer is one event on the stream
``survey-<application number>``, appended with expected version NO_STREAM, so a second
answer (or two racing ones) cannot both be stored.

The checks decide on the application folded from its own stream, never on a projection:
an application that has just ended can be answered at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from commands.retries import stored_event
from domain import events as ev
from domain import ikm
from domain import state as application_fold
from domain.refusals import Conflict, NotFound
from eventstore.port import NO_STREAM, EventStore, NewEvent, WrongExpectedVersion

Value = Annotated[int, Field(ge=1, le=4)]


class Respondent(BaseModel):
    """What the regulation asks of the respondent, each optional."""

    model_config = ConfigDict(extra="forbid")

    age: int | None = Field(default=None, ge=10, le=120)
    sex: Literal["L", "P"] | None = None
    education: Literal["SD", "SMP", "SMA", "D1-D3-D4", "S1", "S2", "S3"] | None = None
    occupation: Literal["PNS", "TNI", "POLRI", "SWASTA", "WIRAUSAHA", "LAINNYA"] | None = None


class Answers(BaseModel):
    """The nine unsur (``u1`` persyaratan … ``u9`` sarana dan prasarana), each 1 (tidak
    baik) to 4 (sangat baik), the respondent's data and free suggestions."""

    model_config = ConfigDict(extra="forbid")

    u1: Value
    u2: Value
    u3: Value
    u4: Value
    u5: Value
    u6: Value
    u7: Value
    u8: Value
    u9: Value
    respondent: Respondent = Field(default_factory=Respondent)
    suggestion: Annotated[
        str, StringConstraints(max_length=ikm.MAX_SUGGESTION, strip_whitespace=True)
    ] = ""

    def values(self) -> list[int]:
        return [getattr(self, u) for u in ikm.UNSUR_IDS]


def load_application(
    store: EventStore, application_id: str
) -> application_fold.ApplicationState | None:
    state: application_fold.ApplicationState | None = None
    for e in store.read_stream(ev.application_stream(application_id)):
        state = application_fold.apply(state, e, in_place=True)
    return state


def ended(state: application_fold.ApplicationState) -> bool:
    """An application has ended when it has a result (approved, rejected, cancelled):
    a terminal status."""
    return state.result is not None and state.completed_at is not None


def answer(
    store: EventStore,
    application_id: str,
    citizen: str,
    answers: Answers,
    region_of: Callable[[str], str | None],
    event_id: uuid.UUID | None = None,
) -> int:
    """Record ``citizen``'s answer for their ended application; the position it was
    written at. Another citizen's application is refused as an unknown one;
    ``region_of`` names an agency's region (None when unknown)."""
    stream = ev.survey_stream(application_id)
    done = stored_event(store, stream, event_id)
    if done is not None:
        return done.position
    state = load_application(store, application_id)
    if state is None or state.citizen != citizen:
        raise NotFound(f"there is no application {application_id} you may see")
    if not ended(state):
        raise Conflict(
            f"application {application_id} is {state.status}; the survey opens once it has ended"
        )
    assert state.completed_at is not None
    data: dict[str, Any] = {
        "application_id": application_id,
        # Where and when the service was given, so that the reports are queries.
        "service_id": state.service_id,
        "service_name": state.service_name,
        "agency_code": state.agency_code,
        "agency_name": state.agency_name,
        "region": region_of(state.agency_code),
        "ended_at": state.completed_at.isoformat(),
        "values": dict(zip(ikm.UNSUR_IDS, answers.values(), strict=True)),
        "respondent": answers.respondent.model_dump(exclude_none=True),
        "suggestion": answers.suggestion,
    }
    try:
        result = store.append(
            stream,
            [NewEvent(event_id or uuid.uuid4(), ev.SURVEY_ANSWERED, data)],
            expected_version=NO_STREAM,
        )
    except WrongExpectedVersion as e:
        raise Conflict(
            f"the survey of application {application_id} has already been answered; "
            "each application is answered once"
        ) from e
    return result.last_position
