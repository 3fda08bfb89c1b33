"""Notifications that reach citizens: an outbox derived from the event log (exactly
once, in its own database), templates in Bahasa Indonesia and English, the citizen's
channel preferences, and a dispatcher that delivers in-app, by e-mail and through the
SMS/WhatsApp provider's webhook with retries and a dead-letter list."""
