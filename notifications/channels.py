"""How a delivery leaves Lincah: e-mail over SMTP, and SMS/WhatsApp through the
provider's webhook. A sender either returns (delivered), raises ``TryAgain`` (worth
another attempt: the server is down, busy, or failed) or ``Refused`` (the provider
refused this very message; another attempt would be refused the same).

The provider webhook: ``POST notify_webhook_url`` with the JSON body
``{"delivery_id", "channel", "to", "text"}``, the headers ``Idempotency-Key: <delivery
id>``, ``X-Lincah-Timestamp: <unix seconds>`` and ``X-Lincah-Signature: sha256=<hex>``,
the HMAC-SHA256 with ``notify_webhook_secret`` of ``<timestamp>.<body>``
(``signature``). The provider checks the signature and the timestamp's age, and keeps
the Idempotency-Key to answer a repeat without sending twice.
"""

from __future__ import annotations

import hashlib
import hmac
import smtplib
import time
from email.message import EmailMessage
from typing import Final, Protocol

import httpx
import orjson

from accounts import mail
from config.settings import Settings
from notifications.outbox import Delivery

SIGNATURE_HEADER: Final = "X-Lincah-Signature"
TIMESTAMP_HEADER: Final = "X-Lincah-Timestamp"
SEND_TIMEOUT_S: Final = 10.0
_RETRYABLE_HTTP: Final = frozenset({408, 425, 429})


class TryAgain(Exception):
    """This attempt failed; a later one may succeed."""


class Refused(Exception):
    """The receiving side refused this message for good."""


class Sender(Protocol):
    def send(self, delivery: Delivery) -> None: ...


def message_id(delivery_id: str) -> str:
    """The e-mail's Message-ID: the same on every attempt, so a mail server or client
    that saw an earlier attempt recognises the repeat."""
    return f"<{delivery_id}@lincah>"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """The provider's check of ``X-Lincah-Signature`` (and this module's tests')."""
    return hmac.compare_digest(signature(secret, timestamp, body), header)


class EmailSender:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, delivery: Delivery) -> None:
        s = self.settings
        msg = EmailMessage()
        msg["From"] = s.smtp_sender
        msg["To"] = delivery.recipient
        msg["Subject"] = delivery.subject
        msg["Message-ID"] = message_id(delivery.delivery_id)
        msg.set_content(delivery.email)
        if not s.smtp_host:
            # Development without a mail server, as accounts.mail: a file in var/mail/.
            mail.drop(s, msg)
            return
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=SEND_TIMEOUT_S) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password)
                smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as e:
            raise Refused(f"the mail server refused the address: {_smtp_codes(e)}") from e
        except smtplib.SMTPResponseException as e:
            text = f"the mail server answered {e.smtp_code}"
            raise (Refused(text) if 500 <= e.smtp_code < 600 else TryAgain(text)) from e
        except (OSError, smtplib.SMTPException) as e:
            raise TryAgain(
                f"the mail server {s.smtp_host}:{s.smtp_port} is not reachable ({type(e).__name__})"
            ) from e


class WebhookSender:
    def __init__(self, settings: Settings, client: httpx.Client | None = None) -> None:
        self.url = settings.notify_webhook_url
        self.secret = settings.notify_secret()
        self.client = client or httpx.Client(timeout=SEND_TIMEOUT_S)

    def send(self, delivery: Delivery) -> None:
        body = orjson.dumps(
            {
                "delivery_id": delivery.delivery_id,
                "channel": delivery.channel,
                "to": delivery.recipient,
                "text": delivery.short,
            }
        )
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": delivery.delivery_id,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(self.secret, timestamp, body),
        }
        try:
            r = self.client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as e:
            raise TryAgain(f"the provider is not reachable ({type(e).__name__})") from e
        if r.is_success:
            return
        text = f"the provider answered {r.status_code}"
        if r.status_code >= 500 or r.status_code in _RETRYABLE_HTTP:
            raise TryAgain(text)
        raise Refused(text)

    def close(self) -> None:
        self.client.close()


def _smtp_codes(e: smtplib.SMTPRecipientsRefused) -> str:
    return ", ".join(str(code) for code, _ in e.recipients.values())


def senders(settings: Settings) -> dict[str, Sender]:
    """The sender of each channel these settings offer (in-app needs none)."""
    found: dict[str, Sender] = {"email": EmailSender(settings)}
    if settings.notify_webhook_url:
        webhook = WebhookSender(settings)
        found["sms"] = found["whatsapp"] = webhook
    return found
