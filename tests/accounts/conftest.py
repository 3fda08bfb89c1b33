"""A real SMTP server (aiosmtpd) on a free port, capturing what Lincah mails, and
production-strict settings that send their mail there."""

from __future__ import annotations

import asyncio
import email
import re
from email.message import EmailMessage
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from config.settings import Settings
from tests.conftest import free_port
from tests.support import production_settings


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


@pytest.fixture
def prod_settings(tmp_path, smtp) -> Settings:
    return production_settings(
        tmp_path, smtp_port=smtp[1], api_port=free_port(), read_wait_timeout_s=5.0
    )
