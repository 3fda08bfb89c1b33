"""`lincah up` as a user runs it: a subprocess from the repository root, on free ports
and a temporary var/, started, used through the API, stopped with SIGTERM, started
again on the same data; refused cleanly when a port it needs is taken; restarting a
part killed with SIGKILL while the others keep serving; and giving up, exit 1, on a
part that can never start. The launching helpers are in tests/lincah/launch.py."""

from __future__ import annotations

import os
import re
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from lincah.demo import SAMPLE_APPLICATION
from tests.lincah.launch import (
    STOP_TIMEOUT_S,
    UP_TIMEOUT_S,
    Ports,
    Up,
    environment,
    kill_marked,
    marked,
    part_pids,
    port_free,
    wait_for_new_pid,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc"),
]

ADMIN = {"subject": "admin@banyuwangikab.go.id", "role": "agency_admin", "agency": "BWI"}
CITIZEN = {"subject": "siti@example.id", "role": "citizen"}
OFFICER = {"subject": "budi@banyuwangikab.go.id", "role": "officer", "agency": "BWI"}
DEMO_SERVICES = {
    "surat-keterangan-domisili",
    "izin-praktik-nakes",
    "legalisir-dokumen-kependudukan",
}


@pytest.fixture
def launcher(tmp_path: Path) -> Iterator[tuple[Ports, Path, str, list[Up]]]:
    """Ports, var dir, this test's run id, and a list the test appends its Up's to;
    whatever is left of them (and of their children) is killed afterwards."""
    run_id = uuid.uuid4().hex
    started: list[Up] = []
    try:
        yield Ports.pick(), tmp_path, run_id, started
    finally:
        for up in started:
            up.kill()
        kill_marked(run_id)


def headers(api: httpx.Client, who: dict[str, str]) -> dict[str, str]:
    r = api.post("/auth/dev-token", json=who)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def catalogue(api: httpx.Client) -> list[dict]:
    """The services as the agency admin sees them, once the read models hold every event."""
    head = api.get("/health").json()["eventstore"]["head_position"]
    r = api.get(f"/services?min_position={head}", headers=headers(api, ADMIN))
    assert r.status_code == 200, r.text
    return r.json()


def stop(up: Up) -> int | None:
    up.proc.send_signal(signal.SIGTERM)
    return up.wait_exit(STOP_TIMEOUT_S)


def test_up_serves_stops_cleanly_and_keeps_data_across_restarts(launcher):
    ports, tmp, run_id, started = launcher
    env = environment(ports, tmp, run_id)
    base = f"http://127.0.0.1:{ports.api}"

    # (a) First start, with the designer: up within 60 s, URLs printed, demo seeded.
    up = Up(env)
    started.append(up)
    assert up.wait_for_stdout("Lincah is up", UP_TIMEOUT_S), up.describe()
    assert up.wait_for_stdout("Logs", 5), up.describe()
    out = up.stdout
    assert f"API docs         http://127.0.0.1:{ports.api}/docs" in out
    assert f"Temporal Web UI  http://127.0.0.1:{ports.ui}" in out
    assert f"Designer         http://127.0.0.1:{ports.designer}" in out
    assert httpx.get(f"http://127.0.0.1:{ports.designer}/_stcore/health").status_code == 200
    assert f"Citizen portal   http://127.0.0.1:{ports.portal}" in out
    assert "Layanan per instansi" in httpx.get(f"http://127.0.0.1:{ports.portal}/").text
    assert httpx.get(f"http://127.0.0.1:{ports.ui}", follow_redirects=True).status_code == 200
    assert (tmp / "var" / "temporal.db").exists()

    with httpx.Client(base_url=base, timeout=30) as api:
        services = catalogue(api)
        assert {s["service_id"] for s in services} == DEMO_SERVICES

        # (b) A citizen applies; the officer approves.
        citizen = headers(api, CITIZEN)
        r = api.post("/applications", json=SAMPLE_APPLICATION, headers=citizen)
        assert r.status_code == 201, r.text
        app_id = r.json()["application_id"]
        assert r.json()["status"] == "in_review"
        r = api.post(
            f"/tasks/{app_id}.verify_residence.1/complete",
            json={"outcome": "approve", "comment": "Alamat sesuai KK"},
            headers=headers(api, OFFICER),
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "approved"
        r = api.get(f"/applications/{app_id}?min_position={r.json()['position']}", headers=citizen)
        assert r.status_code == 200, r.text
        before = r.json()
        assert before["status"] == "approved"
        assert [e["type"] for e in before["timeline"]][-1] == "ApplicationCompleted"

    # (c) SIGTERM: exit 0 within 20 s, "Stopped.", no child left, every port free again.
    children = marked(run_id)
    kinds = ["temporal server start-dev", "lincah.cli worker", "lincah.cli projections run"]
    kinds += ["lincah.cli api", "streamlit run"]
    for kind in kinds:
        assert any(kind in cmd for cmd in children.values()), (kind, children)
    assert stop(up) == 0, up.describe()
    assert "Stopped." in up.stdout
    assert marked(run_id) == {}
    assert all(port_free(p) for p in ports.all()), ports

    # (d) Second start on the same var dir and ports (no designer this time).
    up2 = Up(env, "--no-designer")
    started.append(up2)
    assert up2.wait_for_stdout("Lincah is up", UP_TIMEOUT_S), up2.describe()
    assert "Designer" not in up2.stdout and "Seeded demo" not in up2.stdout
    with httpx.Client(base_url=base, timeout=30) as api:
        r = api.get(f"/applications/{app_id}", headers=headers(api, CITIZEN))
        assert r.status_code == 200, r.text
        after = r.json()
        assert after["status"] == "approved"
        assert after["timeline"] == before["timeline"]
        assert after == before
        services = catalogue(api)
        assert sorted(s["service_id"] for s in services) == sorted(DEMO_SERVICES)
        for s in services:
            assert (s["latest_published_version"], s["draft_version"]) == (1, None), s
            detail = api.get(f"/services/{s['service_id']}", headers=headers(api, ADMIN)).json()
            assert [v["version"] for v in detail["versions"]] == [1], detail
    assert stop(up2) == 0, up2.describe()
    assert "Stopped." in up2.stdout
    assert marked(run_id) == {}


def test_up_refuses_a_port_in_use_without_a_traceback(launcher):
    ports, tmp, run_id, started = launcher
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", ports.api))
        holder.listen()
        up = Up(environment(ports, tmp, run_id))
        started.append(up)
        assert up.wait_exit(15) == 2, up.describe()
    err = up.stderr
    assert str(ports.api) in err and "already in use" in err, err
    assert "LINCAH_API_PORT" in err
    assert "Traceback" not in err
    assert "Lincah is up" not in up.stdout
    assert marked(run_id) == {}


# -- supervision -------------------------------------------------------------------------

RESTART_TIMEOUT_S = 60.0


def wait_until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except httpx.HTTPError as e:
            last = e
        time.sleep(0.3)
    raise AssertionError(f"{what} within {timeout} s; last: {last!r}")


def submit(api: httpx.Client) -> str:
    """Apply as the citizen; retried while a part is coming back (a 503 or a 202 says
    nothing was lost, and the same request may be sent again)."""

    def attempt():
        r = api.post("/applications", json=SAMPLE_APPLICATION, headers=headers(api, CITIZEN))
        if r.status_code == 201:
            return r.json()["application_id"]
        assert r.status_code in (202, 503), r.text
        return None

    return wait_until(attempt, RESTART_TIMEOUT_S, "the application was not accepted")


def approve(api: httpx.Client, app_id: str) -> dict:
    def attempt():
        r = api.post(
            f"/tasks/{app_id}.verify_residence.1/complete",
            json={"outcome": "approve", "comment": "Alamat sesuai KK"},
            headers=headers(api, OFFICER),
        )
        if r.status_code == 200:
            return r.json()
        assert r.status_code in (503, 504), r.text
        return None

    done = wait_until(attempt, RESTART_TIMEOUT_S, f"{app_id}'s task was not completed")
    assert done["status"] == "approved", done
    return done


def test_up_restarts_a_killed_part_while_the_others_keep_serving(launcher):
    ports, tmp, run_id, started = launcher
    env = environment(ports, tmp, run_id)
    var = tmp / "var"
    up = Up(env, "--no-designer")
    started.append(up)
    assert up.wait_for_stdout("Lincah is up", UP_TIMEOUT_S), up.describe()
    pids = part_pids(var)
    assert {"temporal", "worker", "projector", "api"} <= set(pids), pids
    assert all(isinstance(pid, int) for pid in pids.values()), pids
    assert set(pids.values()) <= set(marked(run_id)), (pids, marked(run_id))

    with httpx.Client(base_url=f"http://127.0.0.1:{ports.api}", timeout=30) as api:
        catalogue(api)
        before = submit(api)  # in review when Temporal dies below

        # (a) The worker, killed with SIGKILL, comes back with a new pid; an application
        # submitted afterwards goes to its end.
        os.kill(pids["worker"], signal.SIGKILL)
        worker = wait_for_new_pid(var, "worker", pids["worker"], RESTART_TIMEOUT_S)
        assert up.wait_for_stdout(f"worker (pid {pids['worker']}) killed by SIGKILL", 5)
        assert up.wait_for_stdout(f"worker restarted (pid {worker})", 5), up.describe()
        app_id = submit(api)
        approve(api, app_id)

        # (b) The API, killed, answers /health again; the other parts kept their pids.
        os.kill(pids["api"], signal.SIGKILL)
        wait_for_new_pid(var, "api", pids["api"], RESTART_TIMEOUT_S)
        wait_until(lambda: api.get("/health").status_code == 200, RESTART_TIMEOUT_S, "no /health")
        now = part_pids(var)
        assert (now["temporal"], now["projector"], now["worker"]) == (
            pids["temporal"],
            pids["projector"],
            worker,
        )

        # (c) Temporal itself comes back on its SQLite file: the application in review
        # since before the kill is still there and can be completed.
        os.kill(pids["temporal"], signal.SIGKILL)
        wait_for_new_pid(var, "temporal", pids["temporal"], RESTART_TIMEOUT_S)
        wait_until(
            lambda: api.get("/health").json()["temporal"]["status"] == "ok",
            RESTART_TIMEOUT_S,
            "the API did not reach Temporal again",
        )
        done = approve(api, before)
        r = api.get(
            f"/applications/{before}?min_position={done['position']}",
            headers=headers(api, CITIZEN),
        )
        assert r.status_code == 200 and r.json()["status"] == "approved", r.text

    log = (var / "logs" / "up.log").read_text()
    assert f"worker (pid {pids['worker']}) killed by SIGKILL" in log, log
    assert "api restarted" in log and "temporal restarted" in log, log
    assert up.proc.poll() is None, up.describe()
    assert stop(up) == 0, up.describe()
    assert "Stopped." in up.stdout
    assert marked(run_id) == {}
    assert not (var / "run" / "parts.json").exists()


def test_up_gives_up_on_a_part_that_can_never_start(launcher):
    ports, tmp, run_id, started = launcher
    env = environment(ports, tmp, run_id)
    env["LINCAH_EVENTSTORE"] = "no-such-backend"  # every part that opens the store exits
    up = Up(env, "--no-designer", "--no-demo")
    started.append(up)
    assert up.wait_exit(UP_TIMEOUT_S + 60) == 1, up.describe()
    err = up.stderr
    found = re.search(
        r"lincah up: ([\w-]+) failed to start 5 times in a row .* See (\S+\.log)", err
    )
    assert found, up.describe()
    part, log = found.groups()
    assert part in ("worker", "projector", "notifier", "api"), err
    assert Path(log) == tmp / "var" / "logs" / f"{part}.log"
    assert "no-such-backend" in Path(log).read_text()
    assert "Traceback" not in err
    assert "Lincah is up" not in up.stdout
    assert up.stdout.count(f"lincah up: {part} (pid ") >= 4, up.describe()
    assert marked(run_id) == {}


def test_restart_backoff_doubles_from_half_a_second_to_thirty():
    from lincah.up import backoff

    assert [backoff(n) for n in range(1, 9)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
