"""The authorization matrix: every route of the app × every role (and no token) × own
or another party's data (citizen, agency, region), on the real stack.

Two parties, each a region with one agency, a citizen, a published service and
applications of that citizen resting where every command applies (an officer's task,
a correction, a fee, an external event, an issued document). Every caller belongs to
party A; each route is called on A's data and on B's. The rules (tests/api/
authz_rules.py) say what each call must answer; besides:

- no call answers 5xx;
- another party's data answers exactly as something that does not exist: the same
  status and, its identifiers aside, the same body as for an unknown twin (an
  application number never issued), so no answer confirms that it exists or where it
  stands;
- no body, of any call, carries party B's identifiers (application numbers, the
  citizen's subject, NIK and name, a staff account), except the values the caller
  itself put in the path.

The route list comes from the app, so a route without a rule fails here.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from accounts.registry import Registry
from api.main import create_app
from api.routers.payments import SIGNATURE_HEADER, sign
from commands.numbering import WIB
from config.settings import Settings
from tests.api.authz_rules import Rule, rules
from tests.conftest import free_port
from tests.documents import samples
from tests.support import Stack, run_stack
from workflows.application import ApplicationWorkflow
from workflows.errors import NOT_FOUND
from workflows.messages import (
    Actor,
    CancelApplication,
    ClaimTask,
    CompleteTask,
    DeliverEvent,
    RecordPayment,
    RetryIncident,
    SubmitCorrection,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

YEAR = datetime.now(WIB).year
ROLES = (
    "citizen",
    "officer",
    "supervisor",
    "cashier",
    "agency_admin",
    "complaint_officer",
    "region_admin",
    "auditor",
)


def service(code: str, name: str, service_id: str) -> dict[str, Any]:
    """A service whose application waits, at once, for an officer's review, a
    correction (after the supervisor returns it), a fee, an external event, and has
    its document issued: every command has something to act on."""
    return {
        "id": service_id,
        "name": f"Izin Uji {name}",
        "agency": {"code": code, "name": name},
        "standard": {
            "delivery": {"time_limit": "Sesuai alur", "product": "Surat izin uji"},
            "complaint_channel": "Loket pengaduan MPP",
        },
        "fields": [
            {"id": "nik", "label": "NIK", "type": "nik"},
            {"id": "full_name", "label": "Nama", "type": "text"},
            {"id": "address", "label": "Alamat", "type": "text"},
            {"id": "ktp", "label": "KTP-el", "type": "file", "kinds": ["ktp"], "required": False},
        ],
        "steps": [
            {"kind": "form", "id": "submission", "name": "Pengajuan", "next": "work"},
            {
                "kind": "parallel",
                "id": "work",
                "name": "Proses",
                "branches": ["review", "docs_check", "pay", "inspect", "issue"],
                "join": "done",
            },
            {
                "kind": "review",
                "id": "review",
                "name": "Pemeriksaan",
                "role": "officer",
                "outcomes": {"approve": "done", "reject": "done"},
            },
            {
                "kind": "review",
                "id": "docs_check",
                "name": "Cek berkas",
                "role": "supervisor",
                "outcomes": {"ok": "done", "return": "fix"},
            },
            {
                "kind": "correction",
                "id": "fix",
                "name": "Perbaikan",
                "resume": "docs_check",
                "on_abandon": "done",
                "abandon_after": {"amount": 14, "unit": "days"},
            },
            {
                "kind": "payment",
                "id": "pay",
                "name": "Retribusi",
                "fee": {"amount": 10000},
                "next": "done",
            },
            {
                "kind": "external",
                "id": "inspect",
                "name": "Inspeksi",
                "event": "field_inspection",
                "fields": [
                    {"id": "passed", "label": "Lulus", "type": "choice", "choices": ["yes", "no"]}
                ],
                "next": "done",
            },
            {
                "kind": "document",
                "id": "issue",
                "name": "Terbit",
                "template": {
                    "code": "UJI",
                    "title": "Surat Izin Uji",
                    "body": "Diberikan kepada {full_name}.",
                },
                "next": "done",
            },
            {"kind": "join", "id": "done", "name": "Selesai proses", "mode": "all", "next": "end"},
            {"kind": "end", "id": "end", "name": "Selesai", "result": "approved"},
        ],
    }


@dataclass(frozen=True)
class Party:
    """A citizen of an agency of a region, an officer's account, and their data."""

    tag: str
    region: str
    region_name: str
    agency: str
    agency_name: str
    citizen: str
    nik: str
    name: str
    service: str = ""
    spare_service: str = ""
    application: str = ""
    cancellable: str = ""
    task: str = ""
    document: str = ""
    staff_account: str = ""
    complaint: str = ""
    wallet_document: str = ""
    """Attached to ``application``."""
    spare_document: str = ""

    def data(self) -> dict[str, Any]:
        return {"nik": self.nik, "full_name": self.name, "address": "Jl. Merdeka No. 1"}

    def secrets(self) -> list[str]:
        """What no answer to another party may carry."""
        return [
            self.application,
            self.cancellable,
            self.citizen,
            self.nik,
            self.name,
            self.staff_account,
            self.complaint,
            self.wallet_document,
            self.spare_document,
        ]


A = Party("a", "35.10", "Kabupaten Banyuwangi", "BWI", "DPMPTSP Banyuwangi",
          "siti@example.id", "3510154808900003", "Siti Aminah")  # fmt: skip
"""The callers' party: every caller of the matrix is A's citizen or A's staff."""
C = Party("c", "35.10", "Kabupaten Banyuwangi", "BWI", "DPMPTSP Banyuwangi",
          "dewi@example.id", "3510156512880004", "Dewi Sartika")  # fmt: skip
"""Another citizen of A's agency."""
D = Party("d", "35.10", "Kabupaten Banyuwangi", "DKS", "Dinas Kesehatan Banyuwangi",
          "bayu@example.id", "3510012304910002", "Bayu Pratama")  # fmt: skip
"""Another agency of A's region."""
B = Party("b", "35.09", "Kabupaten Jember", "JMB", "DPMPTSP Jember",
          "agus@example.id", "3509011203850002", "Agus Salim")  # fmt: skip
"""Another region."""


def own(role: str | None, target: Party) -> bool:
    """Whether ``target``'s data is A's caller's own: a citizen's applications, staff's
    agency, a region administrator's or auditor's region. Without a token, A's."""
    if role is None:
        return target.tag == A.tag
    if role == "citizen":
        return target.citizen == A.citizen
    if role in ("region_admin", "auditor"):
        return target.region == A.region
    return target.agency == A.agency


def unknown_twin(value: str) -> str:
    """The same kind of identifier, never issued: BWI-2026-000001 -> BWI-2026-999999,
    BWI/UJI/2026/000001 -> BWI/UJI/2026/999999, s-<hex> -> s-000...."""
    if value.startswith(("s-", "lpr-", "doc-")):
        prefix = value[: value.index("-") + 1]
        return prefix + "0" * (len(value) - len(prefix))
    return re.sub(r"(\d{4}[-/])\d{6}", r"\g<1>999999", value)


def route_table(settings: Settings) -> Iterator[tuple[str, str]]:
    """(method, path) of every route the app serves, as FastAPI resolves them
    (included routers flattened)."""
    app = create_app(settings)
    try:
        for context in iter_route_contexts(app.routes):
            route = context.original_route
            if isinstance(route, APIRoute):
                for method in sorted(context.methods or ()):
                    yield method, str(context.path_format)
    finally:
        app.state.runtime.close()


RULES = rules(
    draft=service(A.agency, A.agency_name, "izin-draf-a"),
    submission={"service_id": "izin-uji-a", "data": A.data()},
)


def test_every_route_has_a_rule(tmp_path: Path) -> None:
    """A route added without its rule fails here, named, before any stack starts."""
    settings = Settings(var_dir=tmp_path / "var", jwt_secret="test-secret-of-at-least-32-bytes")
    served = set(route_table(settings))
    missing = sorted(served - RULES.keys())
    assert not missing, "routes without an authorization rule in tests/api/authz_rules.py: " + (
        ", ".join(f"{m} {p}" for m, p in missing)
    )
    stale = sorted(RULES.keys() - served)
    assert not stale, "rules for routes the app no longer serves: " + ", ".join(
        f"{m} {p}" for m, p in stale
    )


# -- the shared world -------------------------------------------------------------------


@dataclass
class World:
    stack: Stack
    tokens: dict[str | None, dict[str, str]]
    """Party A's callers by role (None: no token)."""
    parties: list[Party]
    """A, C, D and B, with their data."""

    def party(self, tag: str) -> Party:
        return next(p for p in self.parties if p.tag == tag)


@pytest.fixture(scope="module")
async def world(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[World]:
    settings = Settings(
        var_dir=tmp_path_factory.mktemp("authz") / "var",
        jwt_secret="test-secret-of-at-least-32-bytes-long",
        api_port=free_port(),
        read_wait_timeout_s=5.0,
    )
    async with run_stack(dev_env, settings) as s:
        parties = [await _party(s, p) for p in (A, C, D, B)]
        tokens: dict[str | None, dict[str, str]] = {None: {}}
        for role in ROLES:
            tokens[role] = await _token(s, A, role)
        yield World(s, tokens, parties)


async def _token(s: Stack, p: Party, role: str) -> dict[str, str]:
    body: dict[str, Any] = {"subject": f"{role}@{p.agency.lower()}.go.id", "role": role}
    if role == "citizen":
        body["subject"] = p.citizen
    elif role in ("region_admin", "auditor"):
        body["region"] = p.region  # the auditor oversees the whole region
    else:
        body["agency"] = p.agency
    r = await s.http.post("/auth/dev-token", json=body)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _party(s: Stack, p: Party) -> Party:
    """Registers the party's region, agency and an officer account, publishes its
    service, and leaves two applications of its citizen: one resting at every kind of
    wait, one to cancel."""
    registry = Registry(s.store, s.settings)
    if registry.region(p.region) is None:
        registry.create_region(p.region, p.region_name, "test")
    if registry.agency(p.agency) is None:
        registry.create_agency(p.agency, p.agency_name, p.region, "test")
    officer = registry.invite(
        None, "test", f"petugas-{p.tag}@{p.agency.lower()}.go.id", "Petugas", "officer", p.agency
    )
    admin = await _token(s, p, "agency_admin")
    service_id = f"izin-uji-{p.tag}"
    spare = f"izin-cadangan-{p.tag}"
    for definition, publish in ((service(p.agency, p.agency_name, service_id), True),
                                (service(p.agency, p.agency_name, spare), False)):  # fmt: skip
        r = await s.http.post("/services", json=definition, headers=admin)
        assert r.status_code == 201, r.text
        if publish:
            r = await s.http.post(f"/services/{service_id}/versions/1/publish", headers=admin)
            assert r.status_code == 200, r.text
    r = await s.http.put(
        f"/agencies/{p.agency}/maklumat",
        json={"text": "Kami sanggup melayani.", "signed_by": "Kepala"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    citizen = await _token(s, p, "citizen")
    documents = []
    for _ in range(2):
        r = await s.http.post(
            "/me/documents",
            files={"file": ("ktp.pdf", samples.pdf(f"KTP {p.tag}"), "application/pdf")},
            data={"kind": "ktp"},
            headers=citizen,
        )
        assert r.status_code == 201, r.text
        documents.append(r.json()["document_id"])
    apps = []
    for attachments in ({"ktp": documents[0]}, {}):
        r = await s.http.post(
            "/applications",
            json={"service_id": service_id, "data": p.data(), "attachments": attachments},
            headers=citizen,
        )
        assert r.status_code == 201, r.text
        apps.append(r.json()["application_id"])
    app = apps[0]
    supervisor = await _token(s, p, "supervisor")
    r = await s.http.post(
        f"/tasks/{app}.docs_check.1/complete",
        json={"outcome": "return", "comment": "Alamat kurang lengkap", "fields": ["address"]},
        headers=supervisor,
    )
    assert r.status_code == 200, r.text
    view = await s.until(
        f"/applications/{app}?min_position={r.json()['position']}",
        citizen,
        lambda v: bool(v["documents"]) and "fix" in v["waiting"],
    )
    r = await s.http.post(
        "/complaints",
        json={"agency": p.agency, "subject": {"kind": "application", "ref": app},
              "text": "Berkas dikembalikan tanpa penjelasan."},
        headers=citizen,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    return Party(
        **{
            **p.__dict__,
            "complaint": r.json()["complaint_id"],
            "service": service_id,
            "spare_service": spare,
            "application": app,
            "cancellable": apps[1],
            "task": f"{app}.review.1",
            "document": view["documents"][0]["number"],
            "staff_account": officer.account_id,
            "wallet_document": documents[0],
            "spare_document": documents[1],
        }
    )


# -- the matrix -------------------------------------------------------------------------

FIXED = {"version": "1", "a": "1", "b": "1", "event": "field_inspection", "provider": "tidak-ada",
         "kiosk_id": "k-000000000000000000000000", "location_id": "mpp-uji",
         "appointment_id": "BWI-2026-999999.ambil", "step": "verify_residence",
         "counter_id": "loket-1", "ticket": "A001"}  # fmt: skip


def _path(path: str, rule: Rule, party: Party) -> tuple[str, list[str]]:
    """The path with its parameters pointing at ``party``'s data, and the values put in."""
    values: list[str] = []

    def fill(m: re.Match[str]) -> str:
        name = m[1]
        if name in FIXED:
            return FIXED[name]
        attribute = rule.params.get(name, rule.target)
        assert attribute is not None, f"{path}: give the rule a target for {{{name}}}"
        value = str(getattr(party, attribute))
        values.append(value)
        if rule.target == "task":  # a task's answers name its application
            values.append(party.application)
        return value

    return re.sub(r"\{(\w+)\}", fill, path), values


async def _call(
    http: httpx.AsyncClient, method: str, url: str, rule: Rule, headers: dict[str, str]
) -> httpx.Response:
    return await http.request(
        method,
        url,
        json=rule.json,
        content=rule.content,
        files=rule.files,
        headers={**rule.headers, **headers, "Idempotency-Key": str(uuid.uuid4())},
    )


def _without(text: str, values: list[str]) -> str:
    for v in sorted(values, key=len, reverse=True):
        text = text.replace(v, "<id>")
    return text


@dataclass
class Finding:
    call: str
    problem: str


async def _check_route(w: World, method: str, path: str) -> list[Finding]:
    rule = RULES[(method, path)]
    findings: list[Finding] = []
    for role, headers in w.tokens.items():
        others = [p for p in w.parties if not own(role, p)]
        for party in w.parties if rule.target else w.parties[:1]:
            mine = own(role, party)
            url, values = _path(path, rule, party)
            call = f"{method} {url} as {role or 'no token'}"
            r = await _call(w.stack.http, method, url, rule, headers)
            expected = rule.expected(role, mine)
            if r.status_code >= 500 or r.status_code not in expected:
                findings.append(Finding(call, f"{r.status_code} {r.text[:300]}, expected "
                                              f"{sorted(expected)}"))  # fmt: skip
                continue
            echoed = _without(r.text, values)
            leaked = [x for p in others for x in p.secrets() if x and x in echoed]
            if leaked:
                findings.append(Finding(call, f"the answer carries {leaked}: {r.text[:300]}"))
            if mine or r.status_code != 404:
                continue
            # Another party's data: exactly the answer for something that never existed.
            twin_values = [unknown_twin(v) for v in values]
            twin_url = url
            for v, t in zip(values, twin_values, strict=True):
                twin_url = twin_url.replace(v, t)
            twin = await _call(w.stack.http, method, twin_url, rule, headers)
            if (twin.status_code, _without(twin.text, twin_values)) != (r.status_code, echoed):
                findings.append(Finding(call, f"{r.status_code} {r.text} differs from the "
                                              f"unknown {twin_url}: {twin.status_code} "
                                              f"{twin.text}"))  # fmt: skip
    return findings


async def test_every_route_role_and_party(world: World, tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path / "var", jwt_secret="test-secret-of-at-least-32-bytes")
    findings: list[Finding] = []
    for method, path in route_table(settings):
        rule = RULES.get((method, path))
        if rule is None:
            findings.append(Finding(f"{method} {path}", "no rule in tests/api/authz_rules.py"))
            continue
        findings += await _check_route(world, method, path)
    assert not findings, f"{len(findings)} calls answered wrongly:\n" + "\n".join(
        f"- {f.call}: {f.problem}" for f in findings
    )


async def test_a_foreign_command_changes_nothing(world: World) -> None:
    """After the matrix, the applications of the agencies A's staff do not work for are
    where they were: none of A's commands reached them, their timelines name nobody of
    A."""
    s = world.stack
    for p in (world.party(D.tag), world.party(B.tag)):
        citizen = await _token(s, p, "citizen")
        view = (await s.http.get(f"/applications/{p.application}", headers=citizen)).json()
        assert view["open_tasks"] and set(view["waiting"]) == {"fix", "pay", "inspect"}
        actors = {e["actor"] for e in view["timeline"]} - {None}
        assert actors == {p.citizen, f"supervisor@{p.agency.lower()}.go.id"}, actors


async def test_the_workflow_refuses_another_party_as_unknown(
    world: World, dev_env: WorkflowEnvironment
) -> None:
    """The API checks the read models first; while they have not caught up, the
    workflow's validators refuse another party themselves, with the same NotFound
    answer and before looking at any state. Sent here straight to Temporal, as the API
    sends them: A's citizen to the applications of C, D and B; A's staff to those of D
    and B."""
    citizen = Actor(subject=A.citizen, role="citizen")
    staff = {role: Actor(subject=f"{role}@bwi.go.id", role=role, agency=A.agency)
             for role in ("officer", "supervisor", "cashier", "agency_admin")}  # fmt: skip
    for p in (world.party(C.tag), world.party(D.tag), world.party(B.tag)):
        commands: list[tuple[str, Any, Any]] = [
            ("correction", ApplicationWorkflow.submit_correction,
             SubmitCorrection(actor=citizen, data={"address": "Jl. Lain"})),
            ("cancel by the citizen", ApplicationWorkflow.cancel,
             CancelApplication(actor=citizen)),
        ]  # fmt: skip
        if p.agency != A.agency:
            commands += [
                ("cancel by the administrator", ApplicationWorkflow.cancel,
                 CancelApplication(actor=staff["agency_admin"])),
                ("payment", ApplicationWorkflow.record_payment,
                 RecordPayment(actor=staff["cashier"], amount=10000, method="counter",
                               reference="K-9")),
                ("event", ApplicationWorkflow.deliver_event,
                 DeliverEvent(actor=staff["officer"], event="field_inspection",
                              data={"passed": "yes"})),
                ("incident retry", ApplicationWorkflow.retry_incident,
                 RetryIncident(actor=staff["agency_admin"])),
                ("claim", ApplicationWorkflow.claim_task,
                 ClaimTask(task_id=p.task, actor=staff["officer"])),
                ("completion", ApplicationWorkflow.complete_task,
                 CompleteTask(task_id=p.task, outcome="approve", actor=staff["officer"])),
                ("completion of a completed task", ApplicationWorkflow.complete_task,
                 CompleteTask(task_id=f"{p.application}.docs_check.1", outcome="ok",
                              actor=staff["supervisor"])),
            ]  # fmt: skip
        handle = dev_env.client.get_workflow_handle(p.application)
        for what, update, arg in commands:
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update(update, arg)
            cause = refused.value.cause
            assert isinstance(cause, ApplicationError), what
            assert (cause.type, cause.message) == (
                NOT_FOUND,
                f"there is no application {p.application} you may see",
            ), f"{what} on {p.application}"
    await test_a_foreign_command_changes_nothing(world)


async def test_a_signed_callback_for_an_unknown_application_answers_404(world: World) -> None:
    """The provider's callback names its application in the body, out of the matrix's
    reach: one never issued answers 404 as everywhere, not that it "has ended"."""
    s = world.stack
    unknown = unknown_twin(world.party(B.tag).application)
    body = orjson.dumps(
        {"provider_reference": "VA-404", "application_id": unknown, "amount": 10000,
         "status": "paid"}
    )  # fmt: skip
    signed = {SIGNATURE_HEADER: sign(body, s.settings.webhook_secret()),
              "content-type": "application/json"}  # fmt: skip
    r = await s.http.post("/payments/webhook", content=body, headers=signed)
    assert (r.status_code, r.json()["detail"]) == (
        404,
        f"there is no application {unknown} you may see",
    )
