"""A small mailer for one-time codes: plain text through the SMTP server the settings
name (``smtp_host``, ``smtp_port``, ``smtp_sender``; optional STARTTLS and login). In
development without ``smtp_host`` each message is a file under ``var/mail/``."""

from __future__ import annotations

import logging
import smtplib
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

from config.settings import Settings
from domain.refusals import Unavailable

log = logging.getLogger("lincah.mail")


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, to: str, subject: str, body: str) -> None:
        s = self.settings
        msg = EmailMessage()
        msg["From"] = s.smtp_sender
        msg["To"] = to
        msg["Subject"] = subject
        msg.set_content(body)
        if not s.smtp_host:
            # Production refuses to start without smtp_host.
            drop(s, msg)
            return
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=10) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password)
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as e:
            # The exception's text may quote the recipient's address: its kind only.
            log.error(
                "could not send mail through %s:%s (%s)", s.smtp_host, s.smtp_port, type(e).__name__
            )
            raise Unavailable(
                "the e-mail could not be sent just now; try again in a few minutes"
            ) from e


def drop(settings: Settings, msg: EmailMessage) -> Path:
    """Development without a mail server: the message as a file in ``var/mail/`` (any
    mail reader opens it; ``cat`` shows the codes) and one line in the log naming the
    file. Never the address or the text in the log: logs carry no personal data."""
    folder = settings.var_dir / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}.eml"
    path.write_bytes(msg.as_bytes())
    log.warning("no smtp_host set (development): mail written to %s", path)
    return path
