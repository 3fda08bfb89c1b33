"""The access log's one way in: the ``AccessLogged`` dependency of every route that
shows staff a citizen's personal data. It takes the reason the reader gives (header
``X-Access-Reason`` or query ``reason``); the route, once it has decided the caller may
see the data and just before answering with it, calls ``read(...)``, which records who,
what, whose, which application, the task the reader holds there and the reason
(``domain.access_log``). A citizen reading their own data records nothing.

Nothing is refused for want of a reason: a reader without a task and without a reason
is logged as such, and the auditor sees it (``GET /audit/access-log``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Query

from api.deps import CurrentUser, RuntimeDep
from api.runtime import Runtime
from api.security import Principal
from commands import access_log
from domain.access_log import MAX_REASON, PersonalDataRead, What, held_task
from domain.state import ApplicationState

REASON_HEADER = "X-Access-Reason"


@dataclass(frozen=True)
class AccessLog:
    """The reads of one request's caller, recorded as they happen."""

    user: Principal
    rt: Runtime
    reason: str | None

    def read(
        self,
        what: What,
        *,
        citizen: str,
        app: ApplicationState | None = None,
        agency: str | None = None,
        item: str | None = None,
    ) -> None:
        """Record that the caller is shown ``citizen``'s data (of ``app``, where it is
        an application's). Blocking: call it from a thread (sync routes run in one)."""
        user = self.user
        if user.role == "citizen":
            return  # their own data: what the law asks to account for is others' reads
        access_log.record(
            self.rt.store,
            PersonalDataRead(
                citizen=citizen,
                what=what,
                application=app.application_id if app else None,
                item=item,
                agency=app.agency_code if app else agency or user.agency,
                staff=user.subject,
                role=user.role,
                staff_agency=user.agency,
                task=held_task(app, user.subject, user.role) if app else None,
                reason=self.reason,
            ),
        )


async def access_logged(
    user: CurrentUser,
    rt: RuntimeDep,
    header: Annotated[
        str | None,
        Header(
            alias=REASON_HEADER,
            max_length=MAX_REASON,
            description="Staff: why you read this citizen's data (recorded in the access "
            "log the citizen and the auditor see); the task you hold on the application "
            "is recorded without it",
        ),
    ] = None,
    reason: Annotated[
        str | None,
        Query(max_length=MAX_REASON, description=f"The same as the {REASON_HEADER} header"),
    ] = None,
) -> AccessLog:
    given = (header or reason or "").strip() or None
    return AccessLog(user, rt, given)


AccessLogged = Annotated[AccessLog, Depends(access_logged)]
"""Add to a route that shows staff a citizen's personal data; call ``read`` once it has
decided the caller may see it."""
