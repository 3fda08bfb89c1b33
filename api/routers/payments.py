"""The payment provider's callback: HMAC-signed, idempotent on the provider's
reference (providers retry callbacks until they get a 2xx)."""

from __future__ import annotations

import hashlib
import hmac

import orjson
from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field, ValidationError

from api import errors, limits, updates
from api.deps import ModelsDep, RuntimeDep
from api.idempotency import IdempotencyKey, Key
from workflows.application import ApplicationWorkflow
from workflows.messages import Actor, CommandResult, RecordPayment

router = APIRouter(prefix="/payments", tags=["payments"])

SIGNATURE_HEADER = "X-Lincah-Signature"
MAX_BODY = 64 * 1024


class ProviderCallback(BaseModel):
    provider_reference: str = Field(min_length=1, max_length=100)
    application_id: str
    amount: int = Field(ge=1)
    status: str = Field(pattern="^(paid|failed|expired)$")


def sign(body: bytes, secret: str) -> str:
    """The header value a provider sends: ``sha256=<hex HMAC of the raw body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@router.post(
    "/webhook",
    dependencies=[limits.PaymentWebhook],
    responses=errors.answers(401, 404, 409, 413, 422, 503),
)
async def webhook(
    request: Request, rt: RuntimeDep, models: ModelsDep, idempotency_key: IdempotencyKey = None
) -> dict[str, object]:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "callback body too large")
    given = request.headers.get(SIGNATURE_HEADER, "")
    if not hmac.compare_digest(given, sign(body, rt.settings.webhook_secret())):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            f"missing or wrong {SIGNATURE_HEADER} (sha256=<HMAC of the body>)",
        )
    try:
        cb = ProviderCallback.model_validate(orjson.loads(body))
    except (orjson.JSONDecodeError, ValidationError) as e:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"callback body is not valid: {e}"
        ) from e
    if cb.status != "paid":
        return {"recorded": False, "reason": f"status {cb.status!r} needs no action"}
    updates.check_application_id(cb.application_id)
    app = models.application(cb.application_id)
    if app is not None and any(p.reference == cb.provider_reference for p in app.payments):
        return {"recorded": True, "application_id": cb.application_id, "duplicate": True}
    cmd = RecordPayment(
        actor=Actor(subject="payment-provider", role="payment_provider"),
        amount=cb.amount,
        method="online",
        reference=cb.provider_reference,
    )
    # The provider's reference is the natural key: a callback the provider repeats
    # (its answer lost) records the payment once even before the read model shows it.
    key = Key.of(
        idempotency_key or f"reference:{cb.provider_reference}",
        "payment-provider",
        "payment-callback",
        cb.model_dump(),
    )
    result: CommandResult = await updates.send(
        rt,
        key,
        cb.application_id,
        ApplicationWorkflow.record_payment,
        cmd,
        what=f"the payment {cb.provider_reference} for application {cb.application_id}",
        # An application the read models do not know answers 404, not "has ended".
        closed_reason=f"application {cb.application_id} has ended" if app else None,
    )
    return {"recorded": True, **result.model_dump()}
