"""The payload codec (crypto/payload_codec.py) and its settings: what leaves for Temporal
is ciphertext naming its key; rotation keeps old payloads readable; plaintext payloads
(histories recorded before the codec) pass through."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from config.settings import Settings, UnsafeSettings, production_problems
from config.temporal import data_converter
from crypto.payload_codec import ENCODING, KEY_ID, EncryptionCodec, PayloadKeyMissing

OLD = "old-secret-" + "abcdefghijklmnop" * 2
NEW = "new-secret-" + "qrstuvwxyz012345" * 2
NIK = "3510154808900003"


async def test_a_payload_goes_out_encrypted_under_the_newest_key_and_comes_back() -> None:
    converter = data_converter(Settings(payload_keys={"k1": OLD, "k2": NEW}))
    [sealed] = await converter.encode([{"nik": NIK, "full_name": "Siti Aminah"}])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID] == b"k2"
    assert NIK.encode() not in sealed.SerializeToString()
    assert b"json/plain" not in sealed.SerializeToString()  # the inner encoding is hidden
    assert await converter.decode([sealed]) == [{"nik": NIK, "full_name": "Siti Aminah"}]


async def test_after_rotation_old_payloads_still_open() -> None:
    before = EncryptionCodec({"k1": OLD})
    after = EncryptionCodec({"k1": OLD, "k2": NEW})
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"x"')
    [old] = await before.encode([plain])
    assert await after.decode([old]) == [plain]
    [new] = await after.encode([plain])
    assert new.metadata[KEY_ID] == b"k2"
    with pytest.raises(PayloadKeyMissing, match="'k2'.*payload_keys"):
        await before.decode([new])


async def test_a_changed_secret_under_the_same_id_is_reported() -> None:
    [sealed] = await EncryptionCodec({"k1": OLD}).encode([Payload(data=b"1")])
    with pytest.raises(PayloadKeyMissing, match="the secret of that id was changed"):
        await EncryptionCodec({"k1": NEW}).decode([sealed])


async def test_a_damaged_payload_is_reported() -> None:
    codec = EncryptionCodec({"k1": OLD})
    [sealed] = await codec.encode([Payload(data=b"1")])
    for data in (b"", b"short", sealed.data[:-1]):
        damaged = Payload(metadata=sealed.metadata, data=data)
        with pytest.raises(PayloadKeyMissing, match="damaged"):
            await codec.decode([damaged])


async def test_a_payload_cannot_be_passed_off_under_another_key_id() -> None:
    codec = EncryptionCodec({"k1": OLD, "k2": OLD})
    [sealed] = await codec.encode([Payload(data=b"1")])
    sealed.metadata[KEY_ID] = b"k1"  # same secret, other id: the id is authenticated
    with pytest.raises(PayloadKeyMissing):
        await codec.decode([sealed])


async def test_plaintext_payloads_pass_through() -> None:
    codec = EncryptionCodec({"k1": OLD})
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"nik": "1"}')
    assert await codec.decode([plain]) == [plain]


def test_development_generates_one_key_and_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LINCAH_PAYLOAD_KEYS")  # tests/conftest.py sets one for the session
    s = Settings(var_dir=tmp_path / "var")
    ring = s.payload_key_ring()
    assert list(ring) == ["k1"] and len(ring["k1"]) >= 32
    assert Settings(var_dir=tmp_path / "var").payload_key_ring() == ring
    assert (tmp_path / "var" / "payload-key").stat().st_mode & 0o077 == 0


def test_production_wants_strong_payload_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LINCAH_PAYLOAD_KEYS")
    none = production_problems(Settings(var_dir=tmp_path))
    assert any(p.startswith("payload_keys (LINCAH_PAYLOAD_KEYS) is empty") for p in none)
    weak = production_problems(Settings(var_dir=tmp_path, payload_keys={"k1": OLD, "k2": "x"}))
    assert [p for p in weak if p.startswith("payload_keys")] == [
        "payload_keys['k2'] (LINCAH_PAYLOAD_KEYS) is shorter than 32 characters; set a random "
        "value of at least 32 characters"
    ]
    with pytest.raises(UnsafeSettings, match="payload_keys"):
        Settings(environment="production")


def test_a_key_id_must_fit_in_metadata() -> None:
    with pytest.raises(ValueError, match="payload key id 'k 1'"):
        Settings(payload_keys={"k 1": OLD})
