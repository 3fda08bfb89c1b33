"""documents/uploads.py: requirement documents rest encrypted, named by their id only,
and a file altered, moved or read with another key or for another owner does not open."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import Settings
from documents.uploads import MAGIC, Unreadable, UploadStore
from tests.documents import samples

OWNER = "siti@example.id"


@pytest.fixture
def uploads(tmp_path: Path) -> UploadStore:
    return UploadStore(tmp_path / "uploads", "kunci-uji-yang-cukup-panjang-untuk-aes-256")


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_a_document_round_trips_and_rests_encrypted(uploads: UploadStore):
    plain = samples.pdf()
    assert samples.SECRET_TEXT.encode() in plain  # the sample holds its text in the clear
    doc = UploadStore.new_id()
    uploads.put(doc, OWNER, plain)
    assert uploads.get(doc, OWNER) == plain
    [on_disk] = stored_files(uploads.root)
    assert on_disk.name == doc  # named by the random id, never by the citizen's file name
    raw = on_disk.read_bytes()
    assert raw.startswith(MAGIC)
    assert samples.SECRET_TEXT.encode() not in raw
    assert b"%PDF" not in raw
    assert len(raw) == len(MAGIC) + 12 + len(plain) + 16  # nonce, ciphertext, GCM tag
    assert on_disk.stat().st_mode & 0o077 == 0


def test_each_upload_has_its_own_nonce(uploads: UploadStore):
    a, b = UploadStore.new_id(), UploadStore.new_id()
    uploads.put(a, OWNER, b"same bytes")
    uploads.put(b, OWNER, b"same bytes")
    assert uploads.path(a).read_bytes()[len(MAGIC) :] != uploads.path(b).read_bytes()[len(MAGIC) :]


def test_tampering_is_detected(uploads: UploadStore):
    doc = UploadStore.new_id()
    uploads.put(doc, OWNER, samples.png())
    path = uploads.path(doc)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    with pytest.raises(Unreadable, match="altered"):
        uploads.get(doc, OWNER)
    path.write_bytes(b"not sealed at all")
    with pytest.raises(Unreadable, match="format"):
        uploads.get(doc, OWNER)


def test_a_file_opens_only_as_itself_for_its_owner_with_its_key(uploads: UploadStore, tmp_path):
    doc, other = UploadStore.new_id(), UploadStore.new_id()
    uploads.put(doc, OWNER, b"isi dokumen")
    with pytest.raises(Unreadable):
        uploads.get(doc, "agus@example.id")
    uploads.path(other).parent.mkdir(parents=True, exist_ok=True)
    uploads.path(other).write_bytes(uploads.path(doc).read_bytes())  # moved under another id
    with pytest.raises(Unreadable):
        uploads.get(other, OWNER)
    with pytest.raises(Unreadable):
        UploadStore(uploads.root, "kunci-lain-yang-juga-cukup-panjang-sekali").get(doc, OWNER)


def test_ids_are_checked_before_any_path_is_built(uploads: UploadStore):
    for bad in ("../../etc/passwd", "doc-../../x", "doc-" + "g" * 32, "DOC-" + "0" * 32, ""):
        with pytest.raises(ValueError):
            uploads.path(bad)
        assert uploads.get(bad, OWNER) is None
        assert not uploads.delete(bad)


def test_delete(uploads: UploadStore):
    doc = UploadStore.new_id()
    uploads.put(doc, OWNER, b"x")
    assert uploads.delete(doc)
    assert uploads.get(doc, OWNER) is None
    assert not uploads.delete(doc)
    assert stored_files(uploads.root) == []


def test_the_key_comes_from_the_settings_and_is_generated_in_development(tmp_path: Path):
    settings = Settings(var_dir=tmp_path / "var")
    first = UploadStore.from_settings(settings)
    assert first.root == tmp_path / "var" / "uploads"
    assert (tmp_path / "var" / "upload-key").exists()
    doc = UploadStore.new_id()
    first.put(doc, OWNER, b"x")
    assert UploadStore.from_settings(settings).get(doc, OWNER) == b"x"
    with pytest.raises(Unreadable):
        UploadStore.from_settings(settings.model_copy(update={"upload_key": "k" * 48})).get(
            doc, OWNER
        )
