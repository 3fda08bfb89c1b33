"""Acceptance of the service engine, end to end through the HTTP API on the real dev
server: one published service that uses every step kind (parallel review, deadline with
escalation, return for correction, fee paid by webhook, external event, sub-service,
document issued and verified through its QR endpoint), and a second application that
the citizen cancels. Read models and the event stream are checked at each stage."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from api.routers.payments import SIGNATURE_HEADER, sign
from domain import events as ev
from tests.support import Stack, record_histories, run_stack

pytestmark = pytest.mark.e2e

AGENCY = {"code": "BWI", "name": "Kabupaten Banyuwangi"}

DAMKAR: dict[str, Any] = {
    "id": "rekomendasi-damkar",
    "name": "Rekomendasi Proteksi Kebakaran",
    "agency": AGENCY,
    "standard": {
        "delivery": {"time_limit": "Mengikuti PBG", "product": "Surat rekomendasi"},
        "complaint_channel": "Loket pengaduan MPP",
    },
    "fields": [
        {"id": "nik", "label": "NIK", "type": "nik"},
        {"id": "site_address", "label": "Alamat bangunan", "type": "text"},
    ],
    "steps": [
        {
            "kind": "review",
            "id": "fire_review",
            "name": "Pemeriksaan proteksi kebakaran",
            "role": "officer",
            "outcomes": {"approve": "ok", "reject": "no"},
        },
        {"kind": "end", "id": "ok", "name": "Direkomendasikan", "result": "approved"},
        {"kind": "end", "id": "no", "name": "Tidak direkomendasikan", "result": "rejected"},
    ],
}

PBG: dict[str, Any] = {
    "id": "persetujuan-bangunan-gedung",
    "name": "Persetujuan Bangunan Gedung",
    "agency": AGENCY,
    "time_limit": {"amount": 14, "unit": "working_days"},
    "cancellable_until": "retribution",
    "standard": {
        "requirements": ["KTP", "Gambar rencana"],
        "fee": "Retribusi PBG per m²",
        "complaint_channel": "Loket pengaduan MPP",
    },
    "fields": [
        {"id": "nik", "label": "NIK", "type": "nik"},
        {"id": "full_name", "label": "Nama pemohon", "type": "text"},
        {"id": "site_address", "label": "Alamat bangunan", "type": "text"},
        {"id": "building_area", "label": "Luas bangunan (m²)", "type": "number"},
        {"id": "plan_document", "label": "Gambar rencana", "type": "file"},
    ],
    "steps": [
        {"kind": "form", "id": "submission", "name": "Pengajuan", "next": "assessment"},
        {
            "kind": "parallel",
            "id": "assessment",
            "name": "Penilaian teknis dan administrasi",
            "branches": ["technical_review", "legal_review"],
            "join": "assessed",
        },
        {
            "kind": "review",
            "id": "technical_review",
            "name": "Penilaian teknis",
            "role": "officer",
            "outcomes": {"approve": "assessed", "reject": "assessed"},
            # A deadline of seconds so the test sees the escalation; agencies use days.
            "deadline": {
                "within": {"amount": 0.05, "unit": "minutes"},
                "remind_before": {"amount": 0.02, "unit": "minutes"},
                "escalate_to": "supervisor",
            },
        },
        {
            "kind": "review",
            "id": "legal_review",
            "name": "Pemeriksaan administrasi",
            "role": "officer",
            "outcomes": {"approve": "assessed", "reject": "assessed"},
        },
        {
            "kind": "join",
            "id": "assessed",
            "name": "Penilaian selesai",
            "mode": "all",
            "next": "assessment_result",
        },
        {
            "kind": "decision",
            "id": "assessment_result",
            "name": "Hasil penilaian",
            "branches": [
                {
                    "when": 'technical_review == "approve" and legal_review == "approve"',
                    "goto": "final_check",
                }
            ],
            "default": "notify_refused",
        },
        {
            "kind": "review",
            "id": "final_check",
            "name": "Verifikasi akhir",
            "role": "supervisor",
            "outcomes": {
                "approve": "retribution",
                "return": "fix_documents",
                "reject": "notify_refused",
            },
        },
        {
            "kind": "correction",
            "id": "fix_documents",
            "name": "Perbaikan berkas",
            "resume": "final_check",
            "on_abandon": "abandoned",
            "abandon_after": {"amount": 14, "unit": "days"},
        },
        {
            "kind": "payment",
            "id": "retribution",
            "name": "Retribusi PBG",
            "fee": {"amount": 250000, "rules": [{"when": "building_area > 100", "amount": 500000}]},
            "next": "inspection",
        },
        {
            "kind": "external",
            "id": "inspection",
            "name": "Inspeksi lapangan",
            "event": "field_inspection",
            "fields": [
                {
                    "id": "inspection_passed",
                    "label": "Lulus",
                    "type": "choice",
                    "choices": ["yes", "no"],
                },
                {"id": "inspector_notes", "label": "Catatan", "type": "text", "required": False},
            ],
            "next": "inspection_result",
        },
        {
            "kind": "decision",
            "id": "inspection_result",
            "name": "Hasil inspeksi",
            "branches": [{"when": 'inspection_passed == "yes"', "goto": "fire_safety"}],
            "default": "notify_refused",
        },
        {
            "kind": "subservice",
            "id": "fire_safety",
            "name": "Rekomendasi Damkar",
            "service": "rekomendasi-damkar",
            "inputs": {"nik": "nik", "site_address": "site_address"},
            "next": "fire_result",
        },
        {
            "kind": "decision",
            "id": "fire_result",
            "name": "Hasil rekomendasi",
            "branches": [{"when": 'fire_safety == "approved"', "goto": "issue_pbg"}],
            "default": "notify_refused",
        },
        {
            "kind": "document",
            "id": "issue_pbg",
            "name": "Penerbitan PBG",
            "template": {
                "code": "PBG",
                "title": "Persetujuan Bangunan Gedung",
                "body": "Diberikan kepada {full_name} untuk bangunan seluas "
                "{building_area} m2 di {site_address}.",
            },
            "next": "notify_issued",
        },
        {
            "kind": "notify",
            "id": "notify_issued",
            "name": "PBG terbit",
            "message": "PBG untuk {site_address} telah terbit.",
            "next": "issued",
        },
        {
            "kind": "notify",
            "id": "notify_refused",
            "name": "Ditolak",
            "message": "Permohonan PBG ditolak.",
            "next": "refused",
        },
        {"kind": "end", "id": "issued", "name": "Terbit", "result": "approved"},
        {"kind": "end", "id": "refused", "name": "Ditolak", "result": "rejected"},
        {"kind": "end", "id": "abandoned", "name": "Tidak dilanjutkan", "result": "cancelled"},
    ],
}

DATA = {
    "nik": "3510154808900003",
    "full_name": "Siti Aminah",
    "site_address": "Jl. Ahmad Yani No. 12, Banyuwangi",
    "building_area": 150,
    "plan_document": "upload:plan-v1.pdf",
}


@pytest.fixture
async def stack(dev_env, settings, eventstore_backend):
    kind, url = eventstore_backend
    on_backend = settings.model_copy(update={"eventstore": kind, "eventstore_url": url})
    async with run_stack(dev_env, on_backend) as s:
        yield s


async def publish(s: Stack, admin: dict, definition: dict) -> None:
    r = await s.http.post("/services", json=definition, headers=admin)
    assert r.status_code == 201, r.text
    r = await s.http.post(f"/services/{definition['id']}/versions/1/publish", headers=admin)
    assert r.status_code == 200, r.text


def types(s: Stack, app_id: str) -> list[str]:
    return [e.type for e in s.store.read_stream(ev.application_stream(app_id))]


async def test_a_service_with_every_step_kind(stack: Stack, dev_env):
    s = stack
    admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    siti = await s.token("siti@example.id", "citizen")
    officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
    head = await s.token("kadis@banyuwangikab.go.id", "supervisor", "BWI")

    # The sub-service must be published first: publishing checks the reference.
    r = await s.http.post("/services", json=PBG, headers=admin)
    assert r.status_code == 201
    r = await s.http.post(f"/services/{PBG['id']}/versions/1/publish", headers=admin)
    assert r.status_code == 422
    assert "rekomendasi-damkar" in r.json()["problems"][0]["message"]
    await publish(s, admin, DAMKAR)
    r = await s.http.post(f"/services/{PBG['id']}/versions/1/publish", headers=admin)
    assert r.status_code == 200, r.text

    sub = (
        await s.http.post(
            "/applications", headers=siti, json={"service_id": PBG["id"], "data": DATA}
        )
    ).json()
    app = sub["application_id"]
    assert sub["status"] == "in_review"
    view = (
        await s.http.get(f"/applications/{app}?min_position={sub['position']}", headers=siti)
    ).json()
    assert view["expected_completion"] is not None  # 14 working days from submission
    assert sorted(t["step"] for t in view["open_tasks"]) == ["legal_review", "technical_review"]

    # An officer claims the legal review: a colleague can neither claim nor complete it.
    rina = await s.token("rina@banyuwangikab.go.id", "officer", "BWI")
    r = await s.http.post(f"/tasks/{app}.legal_review.1/claim", headers=officer)
    assert r.status_code == 200
    claimed_at = r.json()["position"]
    r = await s.http.post(f"/tasks/{app}.legal_review.1/claim", headers=rina)
    assert r.status_code == 409 and "budi@" in r.json()["detail"]
    r = await s.http.post(
        f"/tasks/{app}.legal_review.1/complete", headers=rina, json={"outcome": "approve"}
    )
    assert r.status_code == 403
    inbox = (await s.http.get(f"/tasks?min_position={claimed_at}", headers=rina)).json()

    assert [t["claimed_by"] for t in inbox if t["step"] == "legal_review"] == [
        "budi@banyuwangikab.go.id"
    ]

    # Parallel review: the officer finishes one branch; the other still waits.
    r = await s.http.post(
        f"/tasks/{app}.legal_review.1/complete", headers=officer, json={"outcome": "approve"}
    )
    assert r.status_code == 200 and r.json()["status"] == "in_review"

    # The technical review's deadline passes: reminder, breach, escalation.
    view = await s.until(
        f"/applications/{app}",
        siti,
        lambda v: any(e["type"] == "TaskReassigned" for e in v["timeline"]),
    )
    kinds = [e["type"] for e in view["timeline"]]
    assert kinds.index("ReminderSent") < kinds.index("SlaBreached") < kinds.index("TaskReassigned")
    assert view["breaches"][0]["step"] == "technical_review"
    r = await s.http.post(
        f"/tasks/{app}.technical_review.1/complete", headers=officer, json={"outcome": "approve"}
    )
    assert r.status_code == 403
    inbox = (await s.http.get("/tasks", headers=head)).json()
    escalated = [t for t in inbox if t["task_id"] == f"{app}.technical_review.1"]
    assert escalated and escalated[0]["escalated"] == 1
    r = await s.http.post(
        f"/tasks/{app}.technical_review.1/complete",
        headers=head,
        json={"outcome": "approve", "comment": "Struktur memenuhi SNI"},
    )
    assert r.status_code == 200 and r.json()["status"] == "in_review"

    # Return for correction: reason and fields are required.
    r = await s.http.post(
        f"/tasks/{app}.final_check.1/complete", headers=head, json={"outcome": "return"}
    )
    assert r.status_code == 422 and "reason" in r.json()["detail"]
    r = await s.http.post(
        f"/tasks/{app}.final_check.1/complete",
        headers=head,
        json={
            "outcome": "return",
            "comment": "Gambar rencana tidak terbaca",
            "fields": ["plan_document"],
        },
    )
    assert r.status_code == 200 and r.json()["status"] == "awaiting_correction"
    notes = (
        await s.http.get(f"/me/notifications?min_position={r.json()['position']}", headers=siti)
    ).json()
    assert "Gambar rencana tidak terbaca" in notes[0]["message"]
    r = await s.http.post(
        f"/applications/{app}/corrections", headers=siti, json={"data": {"full_name": "Siti"}}
    )
    assert r.status_code == 422 and "plan_document" in r.json()["detail"]
    r = await s.http.post(
        f"/applications/{app}/corrections",
        headers=siti,
        json={"data": {"plan_document": "upload:plan-v2.pdf"}},
    )
    assert r.status_code == 200 and r.json()["status"] == "in_review"
    r = await s.http.post(
        f"/tasks/{app}.final_check.2/complete", headers=head, json={"outcome": "approve"}
    )
    assert r.status_code == 200 and r.json()["status"] == "awaiting_payment"

    # The fee (building_area > 100 → Rp 500,000), paid through the provider's webhook.
    view = (
        await s.http.get(f"/applications/{app}?min_position={r.json()['position']}", headers=siti)
    ).json()
    assert view["data"]["plan_document"] == "upload:plan-v2.pdf"
    assert view["payments"][0]["amount"] == 500000
    callback = orjson.dumps(
        {
            "provider_reference": "PAY-778899",
            "application_id": app,
            "amount": 500000,
            "status": "paid",
        }
    )
    r = await s.http.post(
        "/payments/webhook", content=callback, headers={SIGNATURE_HEADER: "sha256=forged"}
    )
    assert r.status_code == 401
    signed = {
        SIGNATURE_HEADER: sign(callback, s.settings.webhook_secret()),
        "content-type": "application/json",
    }
    r = await s.http.post("/payments/webhook", content=callback, headers=signed)
    assert r.status_code == 200 and r.json()["status"] == "awaiting_event", r.text
    r = await s.http.post("/payments/webhook", content=callback, headers=signed)
    assert r.status_code == 200  # the provider retries: recorded once
    assert types(s, app).count(ev.PAYMENT_RECEIVED) == 1

    # The field inspection result arrives from another system.
    r = await s.http.post(
        f"/applications/{app}/events/field_inspection",
        headers=officer,
        json={"data": {"inspection_passed": "maybe"}},
    )
    assert r.status_code == 422 and "inspection_passed" in r.json()["detail"]
    r = await s.http.post(
        f"/applications/{app}/events/field_inspection",
        headers=officer,
        json={"data": {"inspection_passed": "yes", "inspector_notes": "Sesuai gambar"}},
    )
    assert r.status_code == 200 and r.json()["status"] == "awaiting_subservice"

    # The sub-service runs as its own application with its own task.
    child = f"{app}-fire_safety"
    await s.until(
        "/tasks",
        officer,
        lambda tasks: any(t["task_id"] == f"{child}.fire_review.1" for t in tasks),
    )
    r = await s.http.post(
        f"/tasks/{child}.fire_review.1/complete", headers=officer, json={"outcome": "approve"}
    )
    assert r.status_code == 200, r.text
    view = await s.until(
        f"/applications/{app}", siti, lambda v: v["status"] in ("approved", "rejected")
    )
    assert view["status"] == "approved"
    assert view["children"]["fire_safety"]["result"] == "approved"
    child_view = (await s.http.get(f"/applications/{child}", headers=siti)).json()
    assert child_view["status"] == "approved"

    # The document: issued, verified through its QR endpoint, downloaded, tamper-checked.
    doc = view["documents"][0]
    assert doc["number"].startswith("BWI/PBG/")
    assert doc["verify_url"].endswith(f"/documents/{doc['number']}/verify")
    r = await s.http.get(f"/documents/{doc['number']}/verify")
    assert r.status_code == 200 and r.json()["valid"] is True
    pdf = (await s.http.get(f"/documents/{doc['number']}", headers=siti)).content
    assert pdf.startswith(b"%PDF")
    r = await s.http.post(
        "/documents/verify", content=pdf, headers={"content-type": "application/pdf"}
    )
    assert r.json()["valid"] is True
    middle = len(pdf) // 2
    altered = pdf[:middle] + bytes([pdf[middle] ^ 1]) + pdf[middle + 1 :]
    r = await s.http.post(
        "/documents/verify", content=altered, headers={"content-type": "application/pdf"}
    )

    assert r.json()["valid"] is False

    # The event stream tells the whole story, in order (the parallel part aside).
    stream = types(s, app)
    assert stream[:3] == [ev.APPLICATION_SUBMITTED, ev.DEADLINE_SET, ev.BRANCHES_STARTED]
    assert stream[-8:] == [
        ev.EXTERNAL_EVENT_RECEIVED,
        ev.DECISION_TAKEN,
        ev.SUBSERVICE_STARTED,
        ev.SUBSERVICE_COMPLETED,
        ev.DECISION_TAKEN,
        ev.DOCUMENT_ISSUED,
        ev.CITIZEN_NOTIFIED,
        ev.APPLICATION_COMPLETED,
    ]
    for kind in (
        ev.CORRECTION_REQUESTED,
        ev.CORRECTION_SUBMITTED,
        ev.PAYMENT_REQUESTED,
        ev.PAYMENT_RECEIVED,
        ev.WAITING_FOR_EVENT,
        ev.BRANCHES_JOINED,
        ev.TASK_REASSIGNED,
    ):
        assert stream.count(kind) >= 1, kind
    assert s.store.read_stream(ev.application_stream(app))[-1].data == {
        "step": "issued",
        "result": "approved",
    }
    await record_histories(
        dev_env.client, {"pbg-every-step-kind": app, "pbg-subservice-child": child}
    )


async def test_the_citizen_cancels_a_second_application(stack: Stack, dev_env):
    s = stack
    admin = await s.token("admin@banyuwangikab.go.id", "agency_admin", "BWI")
    siti = await s.token("siti@example.id", "citizen")
    agus = await s.token("agus@example.id", "citizen")
    await publish(s, admin, DAMKAR)
    await publish(
        s,
        admin,
        {
            **PBG,
            "steps": [
                {**st, "deadline": None} if st["id"] == "technical_review" else st
                for st in PBG["steps"]
            ],
        },
    )

    sub = (
        await s.http.post(
            "/applications", headers=siti, json={"service_id": PBG["id"], "data": DATA}
        )
    ).json()
    app = sub["application_id"]
    r = await s.http.post(f"/applications/{app}/cancel", headers=agus, json={})
    assert r.status_code == 404  # another citizen's: as for an unknown application
    r = await s.http.post(
        f"/applications/{app}/cancel", headers=siti, json={"reason": "Rencana pembangunan ditunda"}
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    view = (
        await s.http.get(f"/applications/{app}?min_position={r.json()['position']}", headers=siti)
    ).json()
    assert view["status"] == "cancelled" and view["open_tasks"] == []
    assert view["cancellation"]["reason"] == "Rencana pembangunan ditunda"
    stream = types(s, app)
    # Both parallel reviews are withdrawn, the citizen told, the application closed.
    assert stream[-5:] == [
        ev.CANCELLATION_REQUESTED,
        ev.TASK_CANCELLED,
        ev.TASK_CANCELLED,
        ev.CITIZEN_NOTIFIED,
        ev.APPLICATION_COMPLETED,
    ]
    officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
    inbox = (await s.http.get("/tasks", headers=officer)).json()
    assert all(t["application_id"] != app for t in inbox)
    r = await s.http.post(f"/applications/{app}/cancel", headers=siti, json={})
    assert r.status_code == 409
    await record_histories(dev_env.client, {"pbg-cancelled": app})
