"""What the API holds for its lifetime: settings, the event store, the read models and a
lazily connected Temporal client (so the API starts, and answers /health, before
Temporal is up)."""

from __future__ import annotations

import asyncio

from temporalio.client import Client
from temporalio.service import RPCError

from accounts.limits import SignInLimits
from accounts.registry import Registry
from accounts.sessions import Sessions
from api import temporal_errors
from config.settings import Settings, UnsafeSettings, production_problems
from config.temporal import connect
from eventstore.factory import open_store
from eventstore.port import EventStore
from notifications.outbox import Outbox
from projections.readmodels import ReadModels


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        if settings.environment == "production" and (problems := production_problems(settings)):
            raise UnsafeSettings(problems)  # also for settings built with model_copy
        self.signing_key = settings.signing_key()
        self.store: EventStore = open_store(settings)
        self.accounts = Registry(self.store, settings)
        self.sessions = Sessions(self.store, settings.refresh_token_ttl_s)
        self.sign_in_limits = SignInLimits()
        self.models = ReadModels(settings.readmodel_location)
        self.outbox = Outbox(settings.outbox_location)
        self._client: Client | None = None
        self._lock = asyncio.Lock()

    async def temporal(self) -> Client:
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await asyncio.wait_for(connect(self.settings), timeout=5)
                except (OSError, RuntimeError, TimeoutError, RPCError) as e:
                    raise temporal_errors.unreachable(self.settings.temporal.address) from e
            return self._client

    def close(self) -> None:
        self.store.close()
        self.models.close()
        self.outbox.close()
