"""What the backup tests share: a Temporal dev server on a database file of the test's
own (so that it can be stopped, backed up and restored), the `lincah` command run as a
separate process against the test's settings, and the services they apply for."""

from __future__ import annotations

import asyncio
import copy
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from config.settings import Settings
from config.temporal import data_converter
from lincah import devserver
from lincah.demo import DOMISILI
from tests.api.test_e2e import SITI
from tests.api.test_e2e import apply as apply_with
from tests.support import Stack

ROOT = Path(__file__).resolve().parents[2]


def letter_service() -> dict[str, Any]:
    """Domisili with a signed letter issued on approval."""
    d = copy.deepcopy(DOMISILI)
    d["id"], d["name"] = "surat-domisili-terbit", "Surat Domisili (terbit)"
    for step in d["steps"]:
        if step["id"] == "verify_residence":
            step["outcomes"]["approve"] = "issue_letter"
    d["steps"].insert(
        2,
        {
            "kind": "document",
            "id": "issue_letter",
            "name": "Penerbitan surat",
            "template": {
                "code": "SKD",
                "title": "Surat Keterangan Domisili",
                "body": "Diberikan kepada {full_name}, {address}.",
            },
            "next": "notify_issued",
        },
    )
    return d


def deadline_service(seconds: float) -> dict[str, Any]:
    """Domisili whose review escalates to the supervisor when it waits ``seconds``."""
    d = copy.deepcopy(DOMISILI)
    d["id"], d["name"] = "surat-domisili-kilat", "Surat Domisili (kilat)"
    del d["standard"]["delivery"]["time_limit"]  # it would state 3 working days
    for step in d["steps"]:
        if step["id"] == "verify_residence":
            step["deadline"] = {
                "within": {"amount": seconds / 60, "unit": "minutes"},
                "escalate_to": "supervisor",
            }
    return d


def two_reviews_service() -> dict[str, Any]:
    """Domisili with a second review by the supervisor after the officer's."""
    d = copy.deepcopy(DOMISILI)
    d["id"], d["name"] = "surat-domisili-dua", "Surat Domisili (dua tahap)"
    for step in d["steps"]:
        if step["id"] == "verify_residence":
            step["outcomes"]["approve"] = "sign"
    d["steps"].insert(
        2,
        {
            "kind": "review",
            "id": "sign",
            "name": "Tanda tangan lurah",
            "role": "supervisor",
            "outcomes": {"approve": "notify_issued", "reject": "notify_refused"},
        },
    )
    return d


async def start_temporal(db: Path) -> WorkflowEnvironment:
    """The dev server as `lincah up` runs it, on ``db``."""
    db.parent.mkdir(parents=True, exist_ok=True)
    return await WorkflowEnvironment.start_local(
        data_converter=data_converter(Settings()),
        dev_server_existing_path=str(devserver.temporal_cli()),
        dev_server_database_filename=str(db),
        dev_server_extra_args=devserver.pragma_args(Settings()),
    )


@dataclass
class Ran:
    code: int
    out: str


async def lincah(settings: Settings, *args: str, temporal: str | None = None) -> Ran:
    """Run ``lincah ARGS`` as its own process with these settings (as an operator would,
    beside the running installation); the event loop keeps serving meanwhile."""
    env = {
        **os.environ,
        "LINCAH_VAR_DIR": str(settings.var_dir),
        "LINCAH_TEMPORAL__DEV_SERVER__DB_FILENAME": str(settings.temporal.dev_server.db_filename),
        "LINCAH_JWT_SECRET": settings.jwt_secret,
    }
    if temporal:
        env["LINCAH_TEMPORAL__ADDRESS"] = temporal
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "lincah.cli",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return Ran(proc.returncode, out.decode())


async def apply(s: Stack, citizen: dict[str, str], service_id: str) -> str:
    """Siti applies; the new application's number."""
    return str((await apply_with(s, citizen, service_id, SITI))["application_id"])
