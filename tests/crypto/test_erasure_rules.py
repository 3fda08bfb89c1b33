"""The pieces of an erasure on their own: the key file (wrapped keys, a wrong master key,
what an erasure deletes and records), the outbox's redaction, and the retention periods
per service."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from config.settings import Settings
from crypto.data_keys import DataKeys
from domain.personal_data import ERASED
from notifications.outbox import Outbox

MASTER = "a-master-key-for-the-tests-of-32-chars+"


def test_keys_rest_wrapped_and_an_erasure_deletes_them(tmp_path: Path):
    keys = DataKeys(tmp_path / "k.db", MASTER)
    key_id, key = keys.key_for("c-siti")
    assert keys.key_for("c-siti") == (key_id, key) and keys.has_key("c-siti")
    assert key not in (tmp_path / "k.db").read_bytes()  # wrapped, never in clear
    erasure = keys.erase("c-siti", "ordered", "admin")
    assert erasure.keys == 1 and not keys.has_key("c-siti") and keys.keys([key_id]) == {}
    [recorded] = keys.erasures("c-siti")
    assert (recorded.reason, recorded.by, recorded.keys) == ("ordered", "admin", 1)
    keys.close()
    with sqlite3.connect(tmp_path / "k.db") as db:
        assert db.execute("SELECT wrapped FROM data_keys").fetchall() == [(None,)]


def test_another_master_key_opens_nothing_and_says_so(tmp_path: Path):
    DataKeys(tmp_path / "k.db", MASTER).key_for("c-siti")
    with pytest.raises(RuntimeError, match="data_master_key"):
        DataKeys(tmp_path / "k.db", "another-master-key-of-32-characters!!").key_for("c-siti")


def test_the_outbox_forgets_the_texts_and_addresses_and_skips_what_waits(tmp_path: Path):
    outbox = Outbox(tmp_path / "outbox.db")
    with outbox.transaction() as db:
        for position, citizen in ((1, "c-siti"), (2, "c-dewi")):
            db.execute(
                "INSERT INTO messages VALUES (?, ?, 'ApplicationCompleted', 'decided', ?,"
                " 'BWI', 'BWI-1', 'BWI-1', 'id', 'Halo Siti', 'Siti Aminah, disetujui',"
                " 'Siti: ok', 'siti@example.id', '2026-11-29T00:00:00+00:00')",
                (position, f"e{position}", citizen),
            )
            for channel, status in (("in_app", "sent"), ("email", "queued")):
                db.execute(
                    "INSERT INTO deliveries (delivery_id, position, channel, recipient, status,"
                    " next_attempt_at, updated_at) VALUES (?, ?, ?, 'siti@example.id', ?, 0, '')",
                    (f"d{position}{channel}", position, channel, status),
                )
    assert outbox.forget("c-siti") == 1
    [mine] = outbox.messages("c-siti")
    assert (mine["title"], mine["message"]) == (ERASED, ERASED)
    assert {d["channel"]: d["state"] for d in mine["deliveries"]}["email"] != "queued"
    [theirs] = outbox.messages("c-dewi")
    assert theirs["message"] == "Siti Aminah, disetujui"  # another citizen's is untouched
    recipients = outbox._conn().execute(
        "SELECT position, recipient, status FROM deliveries ORDER BY 1, 2"
    )
    assert {(p, r, s) for p, r, s in recipients} == {
        (1, None, "sent"),
        (1, None, "skipped"),
        (2, "siti@example.id", "sent"),
        (2, "siti@example.id", "queued"),
    }
    outbox.close()


def test_retention_is_per_service_with_a_default(tmp_path: Path):
    s = Settings(
        var_dir=tmp_path,
        erasure_retention_days=365,
        erasure_retention_by_service={"izin-usaha": 3650},
    )
    assert (s.retention_days("izin-usaha"), s.retention_days("domisili")) == (3650, 365)
