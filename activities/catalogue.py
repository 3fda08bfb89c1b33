"""Reading the service catalogue from inside a flow: a sub-service step runs the latest
published version of another service, looked up when the step is reached, by the same
rule as a citizen's submission (``commands.catalogue.published_definition``)."""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.heartbeat import heartbeating
from commands.catalogue import published_definition
from domain.definition import ServiceDefinition
from domain.refusals import Refusal
from eventstore.port import EventStore


class CatalogueActivities:
    def __init__(self, store: EventStore) -> None:
        self._store = store

    @activity.defn(name="published_definition")
    def published_definition(self, service_id: str) -> ServiceDefinition:
        try:
            with heartbeating():  # a long-lived service's history can take a while to fold
                return published_definition(self._store, service_id)
        except Refusal as e:  # no published version, or archived: retrying will not help
            raise ApplicationError(e.message, type=type(e).__name__, non_retryable=True) from e
