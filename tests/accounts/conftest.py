"""A real SMTP server (aiosmtpd) on a free port, capturing what Lincah mails, and
production-strict settings that send their mail there."""

from __future__ import annotations

import asyncio
import email
import re
import secrets
from email.message import EmailMessage
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from config.settings import Settings
from documents.signing import load_signing_key
from tests.conftest import free_port


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        msg = email.message_from_bytes(envelope.content, policy=default)
        self.messages.append(msg)
        return "250 Message accepted"

    async def code(self, to: str, pattern: str, timeout_s: float = 10.0) -> str:
        """The first group of ``pattern`` in the newest message to ``to``."""
        for _ in range(int(timeout_s / 0.05)):
            for msg in reversed(self.messages):
                if msg["To"] == to:
                    m = re.search(pattern, msg.get_content())
                    assert m, msg.get_content()
                    return m.group(1)
            await asyncio.sleep(0.05)
        raise AssertionError(f"no mail to {to}; got {[m['To'] for m in self.messages]}")


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


def strong() -> str:
    return secrets.token_urlsafe(48)


@pytest.fixture
def prod_settings(tmp_path, smtp) -> Settings:
    key = tmp_path / "keys" / "document-signing-key.pem"
    load_signing_key(key)  # production never generates it: it must exist beforehand
    return Settings(
        environment="production",
        var_dir=tmp_path / "var",
        jwt_secret=strong(),
        payment_webhook_secret=strong(),
        face_key=strong(),
        lookup_key=strong(),
        profile_key=strong(),
        upload_key=strong(),
        ticket_key=strong(),
        data_master_key=strong(),
        document_key_path=key,
        smtp_host="127.0.0.1",
        smtp_port=smtp[1],
        api_port=free_port(),
        read_wait_timeout_s=5.0,
    )
