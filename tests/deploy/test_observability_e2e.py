"""One submission through the real stack is one trace, from the API request through
Temporal to the activities, and it shows in the API's metrics (README "Health and
metrics"). Real Temporal dev server, real stores; spans go to an in-memory exporter."""

from __future__ import annotations

import re

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from config import telemetry
from config.temporal import connect
from tests.api.test_e2e import SITI, apply, publish
from tests.conftest import settings_for
from tests.support import run_stack

pytestmark = pytest.mark.e2e


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    yield exporter
    telemetry.stop_tracing()


async def test_a_submission_is_one_trace_from_the_api_to_the_activities(
    dev_env, settings, domisili, spans
):
    assert telemetry.install_tracing(settings, "test", exporter=spans)
    traced = await connect(settings_for(dev_env, settings))  # the tracing interceptor
    async with run_stack(dev_env, settings, client=traced) as s:
        await publish(s, domisili)
        citizen = await s.token("siti@example.id", "citizen")
        spans.clear()
        sub = await apply(s, citizen, domisili["id"], SITI)
        officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
        tasks = (
            await s.http.get(f"/tasks?min_position={sub['position']}", headers=officer)
        ).json()
        task = next(t for t in tasks if t["application_id"] == sub["application_id"])
        completes = _completes((await s.http.get("/metrics")).text)
        r = await s.http.post(
            f"/tasks/{task['task_id']}/complete", headers=officer, json={"outcome": "approve"}
        )
        assert r.status_code == 200, r.text

        # The submission's request span is the root of StartWorkflow, RunWorkflow and the
        # activities, all in one trace.
        finished = spans.get_finished_spans()
        request = next(
            sp for sp in finished if sp.name == "POST /applications" and sp.parent is None
        )
        in_trace = {sp.name for sp in finished if sp.context.trace_id == request.context.trace_id}
        expected = {
            "StartUpdateWithStartWorkflow:ApplicationWorkflow",  # the API's client
            "RunWorkflow:ApplicationWorkflow",  # the worker
            "HandleUpdate:submission",
            "RunActivity:append_events",
        }
        assert expected <= in_trace, "\n".join(sorted(in_trace))

        # /metrics: the request histogram by route template, the applications by status.
        metrics = (await s.http.get("/metrics")).text
        # One more completion counted (the registry is the process's: other tests of the
        # session may have counted some before).
        assert _completes(metrics) == completes + 1, metrics
        assert 'route="/applications",status="201"' in metrics
        assert task["task_id"] not in metrics  # templates, never raw paths
        assert re.search(r'lincah_applications\{status="\w+"\} 1\.0', metrics), metrics
        # The projector timed the officer's step.
        assert re.search(r'lincah_step_duration_seconds_count\{role="officer"\} [1-9]', metrics)

        ready = await s.http.get("/ready")
        assert ready.status_code == 200 and ready.json() == {"ready": True, "problems": []}


def _completes(metrics: str) -> float:
    """The request histogram's count of successful task completions, by route template."""
    found = re.search(
        r'lincah_http_request_duration_seconds_count\{method="POST",'
        r'route="/tasks/\{task_id\}/complete",status="200"\} ([0-9.e+]+)',
        metrics,
    )
    return float(found.group(1)) if found else 0.0
