"""Schemathesis against the real stack: every operation of the OpenAPI document, with
generated valid and invalid requests, as a citizen, an officer, an agency administrator,
an auditor and nobody. No answer may be a 5xx, every status must be declared, and every
body must match its declared schema and content type.

Bounded so that the run takes a couple of minutes on two cores: ``MAX_EXAMPLES`` per
operation and round, and ``BUDGET_S`` for the whole run: once it is spent, the
operations left get ``FEW_EXAMPLES`` each (every operation is still called; the summary
marks them), so a loaded machine makes the run shallower, not longer or flaky.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Err

from tests.api.test_e2e import SITI, apply, publish
from tests.support import run_stack

pytestmark = [pytest.mark.e2e, pytest.mark.schemathesis]

MAX_EXAMPLES = 20
FEW_EXAMPLES = 3
"""Generated requests per operation and generation mode (valid, invalid)."""
BUDGET_S = 120.0
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]


@dataclass
class Outcome:
    label: str
    examples: int = MAX_EXAMPLES
    calls: int = 0
    statuses: set[int] = field(default_factory=set)
    failure: str | None = None


def exercise(base: str, callers: list[dict[str, str]], known: dict[str, Any]) -> list[Outcome]:
    """Runs in a thread: the event loop keeps serving the Temporal worker. Each
    operation gets valid and invalid requests, and, where its path names only things in
    ``known``, valid requests to those existing things (random ids only reach 404s)."""
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    session = requests.Session()
    outcomes: list[Outcome] = []
    deadline = time.monotonic() + BUDGET_S
    for result in schema.get_all_operations():
        if isinstance(result, Err):  # an operation schemathesis cannot read is a failure
            raise result.err()
        operation = result.ok()
        outcome = Outcome(operation.label)
        outcomes.append(outcome)
        outcome.examples = MAX_EXAMPLES if time.monotonic() < deadline else FEW_EXAMPLES
        names = {p.name for p in operation.path_parameters}
        existing = {n: known[n] for n in names} if names and names <= known.keys() else None
        rounds: list[tuple[GenerationMode, dict[str, Any] | None]] = [
            (GenerationMode.POSITIVE, None),
            (GenerationMode.NEGATIVE, None),
        ]
        if existing:
            rounds.append((GenerationMode.POSITIVE, existing))
        for mode, path_parameters in rounds:
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
            try:
                run_examples(strategy, base, session, callers, outcome)
            except Unsatisfiable:
                if mode is GenerationMode.POSITIVE:
                    raise
                # Nothing of this operation can be made invalid (no parameters, no body).
            except (Exception, BaseExceptionGroup) as e:  # schemathesis's FailureGroup
                outcome.failure = f"{type(e).__name__}: {e}"[:3000]
                break
    return outcomes


def run_examples(
    strategy: Any,
    base: str,
    session: requests.Session,
    callers: list[dict[str, str]],
    outcome: Outcome,
) -> None:
    @given(case=strategy, caller=st.sampled_from(callers))
    @hypothesis_settings(
        max_examples=outcome.examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any, caller: dict[str, str]) -> None:
        response = case.call(base_url=base, session=session, headers=caller, timeout=30)
        outcome.calls += 1
        outcome.statuses.add(response.status_code)
        case.validate_response(response, checks=CHECKS)

    call()


async def test_the_api_keeps_to_its_openapi_document(dev_env, settings, domisili, izin_praktik):
    generous = settings.model_copy(
        update={
            "rate_limit_documents": "100000/minute",
            "rate_limit_dev_login": "100000/minute",
            "read_wait_timeout_s": 0.5,
        }
    )
    async with run_stack(dev_env, generous) as s:
        await publish(s, domisili)
        await publish(s, izin_praktik)
        citizen = await s.token("siti@example.id", "citizen")
        submitted = await apply(s, citizen, domisili["id"], SITI)
        application_id = submitted["application_id"]
        known = {
            "application_id": application_id,
            "task_id": f"{application_id}.verify_residence.1",
            "service_id": domisili["id"],
            "agency_code": "BWI",
            "version": 1,
            "a": 1,
            "b": 1,
        }
        callers = [
            citizen,
            await s.token("budi@banyuwangikab.go.id", "officer", "BWI"),
            await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI"),
            await s.token("audit@bpk.go.id", "auditor"),
            {},
        ]
        started = time.monotonic()
        outcomes = await asyncio.to_thread(exercise, s.base, callers, known)
        took = time.monotonic() - started

    print(f"\nschemathesis: {len(outcomes)} operations in {took:.0f} s")
    for o in outcomes:
        mark = "FAIL" if o.failure else "ok  "
        few = " (budget spent: few examples)" if o.examples < MAX_EXAMPLES else ""
        print(f"  {mark} {o.label}: {o.calls} calls, statuses {sorted(o.statuses)}{few}")
    failed = [o for o in outcomes if o.failure]
    assert not failed, "\n\n".join(f"{o.label}\n{o.failure}" for o in failed)
