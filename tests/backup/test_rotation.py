"""Key rotation without loss (issue 21, part 5): the face key re-encrypts what it
protects; the JWT secret logs everyone out and changes nothing else. (Documents signed
before a signing-key rotation: tests/documents/test_api.py.)"""

from __future__ import annotations

import re

import numpy as np
import pytest

from accounts.mail import Mailer
from accounts.registry import Registry
from accounts.sessions import Sessions
from backup import rotation
from config.settings import Settings
from domain import accounts as acc
from domain.refusals import Unauthenticated
from eventstore.factory import open_event_store
from face.store import ENROLMENT, SELFIE, FaceStore


@pytest.fixture
def generated(tmp_path) -> Settings:
    """Settings whose secrets are all generated under var/ (none configured)."""
    return Settings(var_dir=tmp_path / "var")


def test_rotating_the_face_key_re_encrypts_enrolments_and_photos(generated):
    store = FaceStore.from_settings(generated)
    old_key = (generated.var_dir / "face-key").read_text()
    embedding = np.arange(8, dtype="<f4")
    store.enrol("siti", "dlib", embedding)
    ref, _ = store.put_photo("siti", SELFIE, b"selfie bytes", 600)

    message = rotation.rotate_face(generated)

    assert "re-encrypted 2 face records" in message
    new_key = (generated.var_dir / "face-key").read_text()
    assert new_key != old_key
    assert not (generated.var_dir / "face-key.next").exists()
    after = FaceStore.from_settings(generated)
    assert np.array_equal(np.asarray(after.embedding("siti", "dlib")), embedding)
    assert after.photo(ref, "siti", SELFIE) == b"selfie bytes"
    # The old key opens nothing any more: the rows really were sealed again.
    stale = FaceStore(generated.var_dir / "faces.db", old_key)
    assert stale.embedding("siti", "dlib") is None
    assert stale.photo(ref, "siti", SELFIE) is None


def test_a_face_key_rotation_cut_short_is_finished_by_running_it_again(generated):
    store = FaceStore.from_settings(generated)
    store.enrol("siti", "dlib", np.ones(4, dtype="<f4"))
    store.enrol("agus", "dlib", np.zeros(4, dtype="<f4"))
    store.put_photo("agus", ENROLMENT, b"photo", 600)
    # The rotation wrote its next key and re-encrypted, then died before the key moved.
    nxt = generated.var_dir / "face-key.next"
    nxt.write_text("the next face key, at least thirty-two characters long")
    FaceStore.from_settings(generated).rekey(nxt.read_text())

    message = rotation.rotate_face(generated)

    assert "re-encrypted 0 face records" in message  # all were under the new key already
    after = FaceStore.from_settings(generated)
    assert np.array_equal(np.asarray(after.embedding("siti", "dlib")), np.ones(4, dtype="<f4"))
    assert np.array_equal(np.asarray(after.embedding("agus", "dlib")), np.zeros(4, dtype="<f4"))


def test_a_configured_face_key_is_not_rotated_by_the_command(tmp_path):
    settings = Settings(var_dir=tmp_path / "var", face_key="k" * 40)
    with pytest.raises(rotation.CannotRotate, match="LINCAH_FACE_KEY"):
        rotation.rotate_face(settings)


class Quiet(Mailer):
    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.codes: list[str] = []

    def send(self, to: str, subject: str, body: str) -> None:
        self.codes += re.findall(r"\b\d{6}\b", body)


def test_rotating_the_jwt_secret_logs_everyone_out_and_nothing_else(generated):
    store = open_event_store("sqlite", generated.eventstore_location)
    try:
        mail = Quiet(generated)
        registry = Registry(store, generated, mail)
        signed_up = registry.register(
            "3510154808900003", "Siti Aminah", "siti@example.id", None, "siti-pass-2026"
        )
        account = registry.confirm(signed_up.account_id, mail.codes[-1])
        sessions = Sessions(store, 3600)
        before = sessions.start(account)
        kept = sessions.rotate(before.refresh_token)  # a live session refreshes
        old_secret = generated.signing_key()
        head = store.head_position()

        rotation.rotate_jwt(generated)

        assert generated.signing_key() != old_secret
        with pytest.raises(Unauthenticated):
            sessions.rotate(kept.refresh_token)  # logged out
        # Only the one event that ends the sessions was written; the account is as it was.
        [ended] = store.read_all(after=head)
        assert (ended.stream, ended.type) == (acc.ALL_SESSIONS_STREAM, acc.ALL_SESSIONS_ENDED)
        assert registry.account(account.account_id) == account
        # Logging in again works as before.
        again = sessions.start(account)
        assert sessions.rotate(again.refresh_token).account.account_id == account.account_id
    finally:
        store.close()


def test_a_configured_jwt_secret_is_not_rotated_by_the_command(tmp_path):
    settings = Settings(var_dir=tmp_path / "var", jwt_secret="j" * 40)
    with pytest.raises(rotation.CannotRotate, match="LINCAH_JWT_SECRET"):
        rotation.rotate_jwt(settings)
