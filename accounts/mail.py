"""A small mailer for one-time codes: plain text through the SMTP server the settings
name (``smtp_host``, ``smtp_port``, ``smtp_sender``; optional STARTTLS and login)."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

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
            # Development without a mail server: the log is the inbox. Production
            # refuses to start without smtp_host, so codes never land in its logs.
            log.warning("no smtp_host set (development): mail to %s\n%s\n%s", to, subject, body)
            return
        try:
            with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=10) as smtp:
                if s.smtp_starttls:
                    smtp.starttls()
                if s.smtp_user:
                    smtp.login(s.smtp_user, s.smtp_password)
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as e:
            log.error("could not send mail through %s:%s: %s", s.smtp_host, s.smtp_port, e)
            raise Unavailable(
                "the e-mail could not be sent just now; try again in a few minutes"
            ) from e
