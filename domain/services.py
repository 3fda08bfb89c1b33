"""A service's versions folded from its stream: drafts are editable, published versions
are immutable. The API decides commands on this state; the catalogue projection shows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from domain import events as ev
from domain.definition import ServiceDefinition
from domain.recorded import Recorded


class VersionInfo(BaseModel):
    version: int
    status: str  # draft | published
    definition: ServiceDefinition
    saved_at: datetime
    saved_by: str
    published_at: datetime | None = None
    published_by: str | None = None


class ServiceState(BaseModel):
    service_id: str
    agency_code: str
    name: str
    versions: dict[int, VersionInfo] = Field(default_factory=dict)
    stream_version: int = -1
    archived: bool = False
    """Archived services take no new applications; running ones finish."""

    @property
    def latest_published(self) -> VersionInfo | None:
        published = [v for v in self.versions.values() if v.status == "published"]
        return max(published, key=lambda v: v.version) if published else None

    @property
    def draft(self) -> VersionInfo | None:
        drafts = [v for v in self.versions.values() if v.status == "draft"]
        return max(drafts, key=lambda v: v.version) if drafts else None

    def next_draft_version(self) -> int:
        """The open draft is edited in place; otherwise a new version follows the last."""
        if self.draft is not None:
            return self.draft.version
        return max(self.versions, default=0) + 1

    def summary(self) -> dict[str, Any]:
        latest = self.latest_published
        return {
            "service_id": self.service_id,
            "name": self.name,
            "agency_code": self.agency_code,
            "latest_published_version": latest.version if latest else None,
            "draft_version": self.draft.version if self.draft else None,
            "archived": self.archived,
        }


def fold(events: list[Any]) -> ServiceState | None:
    """Fold a service stream (recorded events carrying ``version``)."""
    state: ServiceState | None = None
    for e in events:
        state = apply(state, e, e.version)
    return state


def apply(state: ServiceState | None, event: Recorded, stream_version: int) -> ServiceState:
    e = ev.parse(event.type, event.data)
    match e:
        case ev.ServiceDraftSaved():
            definition = ServiceDefinition.model_validate(e.definition)
            s = (
                state.model_copy(deep=True)
                if state
                else ServiceState(
                    service_id=definition.id,
                    agency_code=definition.agency.code,
                    name=definition.name,
                )
            )
            s.name = definition.name
            s.versions[definition.version] = VersionInfo(
                version=definition.version,
                status="draft",
                definition=definition,
                saved_at=event.recorded_at,
                saved_by=e.by,
            )
        case ev.ServiceArchived():
            if state is None:
                raise ValueError("archive before any draft")
            s = state.model_copy(deep=True)
            s.archived = True
        case ev.ServiceVersionPublished():
            if state is None:
                raise ValueError("publish before any draft")
            s = state.model_copy(deep=True)
            v = s.versions[e.version]
            v.status = "published"
            v.published_at = event.recorded_at
            v.published_by = e.by
        case _:
            if state is None:
                raise ValueError(f"{event.type} before a draft")
            s = state
    s.stream_version = stream_version
    return s
