"""Erasure on the real stack (API under uvicorn, projector, worker, Temporal dev
server): a registered citizen applies, is approved and gets a document; their own
erasure is refused while the application runs and within its retention period; a region
administrator erases them on an order. Afterwards the hash chain verifies, the views
and the auditors' replay say "[dihapus]", the document's verification says it is revoked
and its PDF is gone, the account cannot sign in, the profile is empty, and neither the
raw event-store file nor any answer of the API holds the name or the NIK."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from accounts.mail import Mailer
from accounts.registry import Registry
from audit.verify import verify_store
from config.settings import Settings
from documents.numbering import document_path
from documents.uploads import UploadStore
from domain.personal_data import ERASED
from lincah.audit import cmd_verify
from projections.projector import Projector
from projections.readmodels import ReadModels
from tests.api.test_e2e import publish
from tests.api.test_wallet import upload
from tests.documents import samples
from tests.support import Stack, run_stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

NIK = "3510154808900003"
NAME = "Siti Aminah"
EMAIL = "siti.aminah@example.id"
PASSWORD = "kata-sandi-yang-panjang-sekali"  # noqa: S105 - a test account's password
FORM = {"nik": NIK, "full_name": NAME, "address": "Jl. Ahmad Yani No. 12"}
ORDER = {"reason": "Putusan PN Banyuwangi No. 12/Pdt.P/2026"}
SURAT: dict[str, Any] = {
    "id": "surat-keterangan",
    "name": "Surat Keterangan",
    "agency": {"code": "BWI", "name": "DPMPTSP Banyuwangi"},
    "standard": {
        "delivery": {"time_limit": "Sesuai alur", "product": "Surat Keterangan"},
        "complaint_channel": "Loket pengaduan MPP",
    },
    "fields": [
        {"id": "nik", "label": "NIK", "type": "nik"},
        {"id": "full_name", "label": "Nama", "type": "text"},
        {"id": "address", "label": "Alamat", "type": "text"},
    ],
    "steps": [
        {"kind": "form", "id": "submission", "name": "Pengajuan", "next": "check"},
        {
            "kind": "review",
            "id": "check",
            "name": "Pemeriksaan",
            "role": "officer",
            "outcomes": {"approve": "issue", "reject": "refused"},
        },
        {
            "kind": "document",
            "id": "issue",
            "name": "Penerbitan",
            "template": {"code": "SKT", "title": "Surat Keterangan", "body": "Untuk {full_name}."},
            "next": "issued",
        },
        {"kind": "end", "id": "issued", "name": "Selesai", "result": "approved"},
        {"kind": "end", "id": "refused", "name": "Ditolak", "result": "rejected"},
    ],
}


class Inbox(Mailer):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.sent: list[tuple[str, str]] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, body))


def ok(r: Any, code: int = 200) -> Any:
    assert r.status_code == code, r.text
    return r.json()


async def sign_up(s: Stack) -> tuple[str, dict[str, str]]:
    inbox = Inbox(s.settings)
    registry = Registry(s.store, s.settings, inbox)
    account_id = registry.register(NIK, NAME, EMAIL, None, PASSWORD).account_id
    [code] = re.findall(r"confirmation code: (\d{6})", inbox.sent[-1][1])
    registry.confirm(account_id, code)
    tokens = ok(await s.http.post("/auth/login", json={"login": EMAIL, "password": PASSWORD}))
    return account_id, {"Authorization": f"Bearer {tokens['access_token']}"}


async def region_admin(s: Stack) -> dict[str, str]:
    body = {"subject": "admin@banyuwangikab.go.id", "role": "region_admin", "region": "35.10"}
    tokens = ok(await s.http.post("/auth/dev-token", json=body))
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def raw_files(path: Path | str) -> bytes:
    """A SQLite file as it rests on disk, with its write-ahead log."""
    path = Path(path)
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


async def test_an_erased_citizen_is_unreadable_everywhere_and_the_chain_verifies(
    dev_env, settings, tmp_path
):
    async with run_stack(dev_env, settings) as s:
        Registry(s.store, s.settings).create_region("35.10", "Kabupaten Banyuwangi", "test")
        Registry(s.store, s.settings).create_agency("BWI", "DPMPTSP Banyuwangi", "35.10", "t")
        await publish(s, SURAT)
        account_id, siti = await sign_up(s)
        officer = await s.token("budi@banyuwangikab.go.id", "officer", "BWI")
        auditor = await s.token("audit@banyuwangikab.go.id", "auditor", "BWI")
        ok(await s.http.patch("/me/profile", json={"occupation": "Guru"}, headers=siti))
        r = await upload(s, siti, samples.pdf(), "application/pdf", name="ktp Siti Aminah.pdf")
        kept = UploadStore.from_settings(s.settings).path(ok(r, 201)["document_id"])
        assert kept.exists()

        applied = ok(
            await s.http.post(
                "/applications", json={"service_id": SURAT["id"], "data": FORM}, headers=siti
            ),
            201,
        )
        app_id = applied["application_id"]
        r = await s.http.delete("/me", headers=siti)
        assert r.status_code == 409 and app_id in r.json()["detail"], r.text  # still running

        task = f"{app_id}.check.1"
        await s.until(
            f"/tasks?min_position={applied['position']}", officer,
            lambda body: any(t["task_id"] == task for t in body),
        )  # fmt: skip
        approve = {"outcome": "approve"}
        ok(await s.http.post(f"/tasks/{task}/complete", json=approve, headers=officer))
        done = await s.until(
            f"/me/applications/{app_id}", siti, lambda body: body.get("status") == "approved"
        )
        assert done["data"] == FORM
        [document] = ok(await s.http.get(f"/applications/{app_id}/documents", headers=siti))
        number = document["number"]
        verdict = ok(await s.http.get(f"/documents/{number}/verify"))
        assert verdict["valid"] is True and verdict["holder"] == "S*** A***"
        assert NAME not in str(verdict) and NIK not in str(verdict)
        assert document_path(s.settings, number).exists()
        # The read models keep no form values: staff and the citizen read them from the
        # event store when they open the application.
        for secret in (NAME, NIK):
            assert secret.encode() not in raw_files(s.settings.readmodel_location), secret

        # Her own erasure waits for the agency's retention period, and says until when.
        r = await s.http.delete("/me", headers=siti)
        assert r.status_code == 409 and "retention" in r.json()["detail"], r.text

        # -- a region administrator erases her on an order ------------------------------
        admin = await region_admin(s)
        r = await s.http.post(
            f"/admin/citizens/{account_id}/erase",
            json=ORDER,
            headers=admin,
        )
        erased = ok(r)
        assert erased["documents_deleted"] == [number] and erased["keys_erased"] == 1
        at = erased["position"]
        r = await s.http.post(f"/admin/citizens/{account_id}/erase", json=ORDER, headers=admin)
        assert r.status_code == 409 and "erased already" in r.json()["detail"], r.text
        r = await s.http.post("/admin/citizens/c-nobody/erase", json=ORDER, headers=admin)
        assert r.status_code == 404, r.text

        # The log is whole: every chain verifies, as `lincah audit verify` reports.
        report = verify_store(s.store)
        assert report.problems == [] and report.missing_positions == [], str(report)
        out = io.StringIO()
        assert cmd_verify(s.store, None, out) == 0, out.getvalue()

        # The views, the riwayat's staff side and the auditors' replay show "[dihapus]".
        view = ok(await s.http.get(f"/applications/{app_id}?min_position={at}", headers=officer))
        assert view["data"] == {k: ERASED for k in FORM} and view["erased_at"], view
        assert view["status"] == "approved"  # what was decided stays
        replay = ok(await s.http.get(f"/audit/applications/{app_id}", headers=auditor))
        assert replay["state"]["data"] == {k: ERASED for k in FORM}
        trail = ok(await s.http.get(f"/audit/applications/{app_id}/events", headers=auditor))
        assert trail["chain_intact"] is True, trail["first_break"]

        # The document is revoked and its file gone.
        verdict = ok(await s.http.get(f"/documents/{number}/verify"))
        assert (verdict["valid"], verdict["revoked"], verdict["holder"]) == (
            False,
            "data erased",
            None,
        )
        assert verdict["reason"].startswith("revoked: data erased")
        assert not document_path(s.settings, number).exists()
        assert not kept.exists()  # the wallet's files go too
        assert (await s.http.get(f"/documents/{number}", headers=officer)).status_code == 410

        # She can no longer sign in, and the token she held stops working.
        r = await s.http.post("/auth/login", json={"login": EMAIL, "password": PASSWORD})
        assert r.status_code in (401, 403), r.text
        assert (await s.http.get("/me/applications", headers=siti)).status_code == 401

        # The profile is gone with its key.
        profile = ok(await s.http.get(f"/citizens/{account_id}/profile", headers=officer))
        assert "Guru" not in str(profile), profile

        # Nothing the API answers, nor the store's file on disk, holds her name or NIK.
        answers = str([view, replay, trail, verdict, profile])
        assert NAME not in answers and NIK not in answers
        raw = raw_files(s.settings.eventstore_location)
        for secret in (NAME, NIK, EMAIL, "ktp Siti Aminah"):
            assert secret.encode() not in raw, secret

        # A rebuild from position 0 arrives at the very same rows.
        again = ReadModels(tmp_path / "rebuilt.db")
        Projector(s.store, again).catch_up()
        live, rebuilt = s.models.dump(), again.dump()
        assert live["applications"] == rebuilt["applications"]
        assert live["documents"] == rebuilt["documents"]
        again.close()
