"""Reading the service catalogue from inside a flow: a sub-service step runs the latest
published version of another service, looked up when the step is reached."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.heartbeat import heartbeating
from domain import events as ev
from domain import services
from domain.definition import ServiceDefinition
from eventstore.port import EventStore


class CatalogueActivities:
    def __init__(self, store: EventStore) -> None:
        self._store = store

    @activity.defn(name="published_definition")
    def published_definition(self, service_id: str) -> ServiceDefinition:
        with heartbeating():  # a long-lived service's history can take a while to fold
            state = services.fold(self._store.read_stream(ev.service_stream(service_id)))
        latest = state.latest_published if state else None
        if latest is None:
            raise ApplicationError(
                f"service {service_id!r} has no published version",
                type="NoPublishedVersion",
                non_retryable=True,
            )
        return latest.definition
