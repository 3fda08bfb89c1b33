"""Notifications over HTTP: the citizen's messages with each channel's delivery state,
their channel and language preferences, and the administrators' dead-letter list and
replay (``notifications/``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, field_validator
from starlette.concurrency import run_in_threadpool

from api import errors
from api.deps import (
    MAX_POSITION,
    Administrator,
    AgencyScope,
    Citizen,
    RuntimeDep,
    StoreDep,
)
from api.reads import wait_for_position
from domain.refusals import Conflict, NotFound
from notifications import preferences
from notifications.preferences import Language

router = APIRouter(tags=["notifications"])


@errors.may_answer(409, 504)
async def outbox_after(
    rt: RuntimeDep,
    min_position: Annotated[
        int | None,
        Query(
            ge=0,
            le=MAX_POSITION,
            description="Wait until the notifications include this event-store position "
            "(from a command's response); 409 when no event has it yet, 504 when they do "
            "not reach it in time",
        ),
    ] = None,
) -> None:
    await wait_for_position(
        rt.outbox, rt.store, min_position, rt.settings.read_wait_timeout_s, "the notifications"
    )


OutboxConsistent = Annotated[None, Depends(outbox_after)]


class Delivery(BaseModel):
    channel: str
    """in_app, email, sms or whatsapp."""
    state: str
    """queued, sent, failed (another attempt follows), dead, skipped (no address)."""
    attempts: int
    sent_at: str | None
    next_attempt_at: str | None


class Notification(BaseModel):
    position: int
    kind: str
    reference: str
    """The application or complaint number."""
    application_id: str | None
    title: str
    message: str
    at: str
    deliveries: list[Delivery]


@router.get("/me/notifications")
def my_notifications(
    user: Citizen,
    rt: RuntimeDep,
    _: OutboxConsistent,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Notification]:
    """The caller's messages, newest first, each with its state on every channel."""
    return [Notification.model_validate(m) for m in rt.outbox.messages(user.subject, limit)]


class PreferencesBody(BaseModel):
    """Channels besides in-app (always on) and the language of the messages."""

    model_config = ConfigDict(extra="forbid")
    email: bool = True
    sms: bool = False
    whatsapp: bool = True
    language: Language = "id"
    in_app: bool = True

    @field_validator("in_app")
    @classmethod
    def _always_in_app(cls, value: bool) -> bool:
        if not value:
            raise ValueError(
                "in-app notifications are always on; turn e-mail, sms or whatsapp off instead"
            )
        return value


class PreferencesView(PreferencesBody):
    position: int | None = None
    """The event-store position of the change (PUT): ``min_position`` for later reads."""


@router.get("/me/notification-preferences")
def my_preferences(user: Citizen, store: StoreDep) -> PreferencesView:
    return PreferencesView(**preferences.load(store, user.subject).model_dump())


@router.put("/me/notification-preferences")
async def set_preferences(body: PreferencesBody, user: Citizen, store: StoreDep) -> PreferencesView:
    """Replace the caller's preferences; they hold for every message of an event written
    after this one. SMS and WhatsApp go out only where the provider is configured."""
    prefs = preferences.Preferences(**body.model_dump(exclude={"in_app"}))
    position = await run_in_threadpool(preferences.save, store, user.subject, prefs)
    return PreferencesView(**prefs.model_dump(), position=position)


class DeadDelivery(BaseModel):
    delivery_id: str
    channel: str
    state: str
    attempts: int
    last_error: str | None
    updated_at: str
    kind: str
    reference: str
    agency: str
    at: str


@router.get("/admin/notifications/dead")
def dead_letters(
    user: Administrator,
    scope: AgencyScope,
    rt: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_POSITION)] = 0,
) -> list[DeadDelivery]:
    """Deliveries given up on, of the caller's agency (or their region's agencies),
    newest first; ``POST /admin/notifications/{delivery_id}/replay`` sends one again."""
    return [DeadDelivery.model_validate(d) for d in rt.outbox.dead(scope, limit, offset)]


@router.post(
    "/admin/notifications/{delivery_id}/replay",
    responses=errors.answers(
        404,
        409,
        _404="No delivery with this id at an agency you administer",
        _409="The delivery is not dead (it was sent, or is queued already)",
    ),
)
def replay(
    delivery_id: str, user: Administrator, scope: AgencyScope, rt: RuntimeDep
) -> DeadDelivery:
    """Queue a dead delivery again, with a fresh count of attempts and the same id (the
    provider's Idempotency-Key, the e-mail's Message-ID)."""
    found = rt.outbox.delivery(delivery_id)
    if found is None or (scope is not None and found["agency"] not in scope):
        raise NotFound(f"there is no notification delivery {delivery_id} you may see")
    if not rt.outbox.replay(delivery_id):
        raise Conflict(
            f"the delivery {delivery_id} is {found['state']}, not dead: only dead "
            "deliveries are replayed"
        )
    replayed = rt.outbox.delivery(delivery_id)
    assert replayed is not None
    return DeadDelivery.model_validate(replayed)
