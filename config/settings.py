"""One settings object for every part of Lincah.

Values come from (highest first): constructor arguments, ``LINCAH_*`` environment
variables (nested with ``__``, e.g. ``LINCAH_TEMPORAL__ADDRESS``), ``temporal.yaml``
(path from ``LINCAH_CONFIG``), then the defaults below.
"""

from __future__ import annotations

import os
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

import limits
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)


class TaskQueues(BaseModel):
    applications: str = "lincah-applications"
    face: str = "lincah-face"


class DevServer(BaseModel):
    enabled: bool = True
    db_filename: Path = Path("var/temporal.db")
    port: int = 7233
    ui_port: int = 8233
    sqlite_pragmas: dict[str, str] = Field(
        default_factory=lambda: {"journal_mode": "wal", "synchronous": "NORMAL"}
    )


class TemporalTLS(BaseModel):
    """TLS to a Temporal cluster (README "Production deployment"); mTLS when a client
    certificate and key are given. Paths are PEM files, read when a part connects."""

    enabled: bool = False
    server_ca: Path | None = None
    """CA certificate the server's certificate must chain to; unset: the system's roots."""
    server_name: str = ""
    """Name the server's certificate must carry, when it differs from the address's host
    (an address by IP, a load balancer)."""
    client_cert: Path | None = None
    """This part's certificate, for a cluster that asks for mutual TLS."""
    client_key: Path | None = None

    @model_validator(mode="after")
    def _pair(self) -> TemporalTLS:
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError(
                "temporal.tls: give client_cert and client_key together (mutual TLS needs "
                "both), or neither"
            )
        return self


class TemporalSettings(BaseModel):
    address: str = "127.0.0.1:7233"
    namespace: str = "default"
    task_queues: TaskQueues = Field(default_factory=TaskQueues)
    dev_server: DevServer = Field(default_factory=DevServer)
    tls: TemporalTLS = Field(default_factory=TemporalTLS)
    api_key: SecretStr = SecretStr("")
    """API key of a cluster that authenticates clients by key (Temporal Cloud); sent on
    every call, over TLS only: setting it turns TLS on."""


class OidcProvider(BaseModel):
    """An OpenID Connect provider citizens or staff log in with (``accounts/oidc.py``,
    ``accounts/federation.py``; README "Logging in with a region's identity provider")."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")
    """Path segment of ``/auth/oidc/{name}/login``; part of the link's stream name."""
    issuer: str
    """Issuer URL; discovery reads ``<issuer>/.well-known/openid-configuration``."""
    client_id: str
    client_secret: SecretStr = SecretStr("")
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email"])
    accounts: Literal["citizen", "staff"] = "citizen"
    """Whom it logs in: ``citizen`` (a first login creates a citizen account) or
    ``staff`` (only staff accounts an administrator invited, by their e-mail address)."""
    nik_claim: str | None = None
    """The claim that carries a citizen's NIK, for a provider that is authoritative for
    NIKs (it checked them against Dukcapil): its logins then reach the account of that
    NIK. Leave it unset for any other provider."""
    token_endpoint_auth_method: str = "client_secret_basic"  # noqa: S105 - a method name

    @model_validator(mode="after")
    def _coherent(self) -> OidcProvider:
        host = urlsplit(self.issuer).hostname
        if not self.issuer.startswith("https://") and host not in ("127.0.0.1", "localhost"):
            raise ValueError(
                f"OIDC provider {self.name!r}: the issuer must be an https:// URL "
                "(plain http only on this machine, for tests)"
            )
        if "openid" not in self.scopes or "email" not in self.scopes:
            raise ValueError(
                f"OIDC provider {self.name!r}: scopes must include 'openid' and 'email' "
                "(logins are matched to accounts by their verified e-mail address)"
            )
        if self.nik_claim and self.accounts != "citizen":
            raise ValueError(f"OIDC provider {self.name!r}: only citizens have a NIK claim")
        return self


def _config_file() -> Path:
    return Path(os.environ.get("LINCAH_CONFIG", "temporal.yaml"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LINCAH_", env_nested_delimiter="__", extra="ignore"
    )

    var_dir: Path = Path("var")
    temporal: TemporalSettings = Field(default_factory=TemporalSettings)

    eventstore: str = "sqlite"
    """Backend of the event store: sqlite (embedded default)."""
    eventstore_url: str = ""
    """Backend location; for sqlite a file path, default ``var/events.db``."""
    readmodel_path: Path | None = None
    """SQLite file of the projections' read models, default ``var/readmodels.db``."""

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    designer_port: int = 8501
    portal_port: int = 8503
    """The citizen portal (``lincah portal``)."""
    portal_time_zone: Literal["WIB", "WITA", "WIT"] = "WIB"
    """The agency's zone, in which the portal shows dates and times."""
    api_url: str = ""
    """Where the designer reaches the API; default from api_host/api_port."""

    jwt_secret: str = ""
    """HS256 key of development tokens; generated once into ``var/jwt-secret`` if empty."""
    token_ttl_s: int = 8 * 3600
    payment_webhook_secret: str = ""
    """HMAC-SHA256 key the payment provider signs callbacks with; generated once into
    ``var/payment-webhook-secret`` if empty."""
    oidc_providers: list[OidcProvider] = Field(default_factory=list)
    """OpenID Connect providers to log in with (``LINCAH_OIDC_PROVIDERS`` as JSON)."""
    read_wait_timeout_s: float = 5.0
    """How long a read with ``min_position`` waits for the projections before a 504."""
    command_wait_s: float = 15.0
    """How long a command waits for its workflow's answer before it answers 503 (or
    202 for a submission Temporal has started)."""
    max_json_body_bytes: int = Field(default=1024 * 1024, ge=1)
    """Largest JSON request body; larger ones are refused with 413 (uploads of photos
    and PDFs have their own limits)."""
    rate_limit_documents: str = "60/minute"
    """Requests per client address to the public document endpoints (verification by
    number or file, the public key), in the ``limits`` notation (``60/minute``)."""
    rate_limit_dev_login: str = "60/minute"
    """Requests per client address to POST /auth/dev-token."""
    rate_limit_payment_webhook: str = "600/minute"
    """Requests per client address to POST /payments/webhook (the provider's servers)."""
    rate_limit_complaints: str = "30/minute"
    """Requests per client address to POST /complaints (open to anonymous complainants)."""
    rate_limit_export: str = "10/hour"
    """Exports of one's data (GET /me/export) per account: each reads all of it."""
    export_max_items: int = Field(default=500, ge=1, le=10_000)
    """Items per section of a data export (applications, complaints, ...); a longer
    section is cut there and marked ``truncated``."""
    rate_limit_kiosk: str = "30/minute"
    """Requests per client address to POST /auth/kiosk (sign-in at a kiosk by face);
    failures for one NIK are also slowed down as for POST /auth/login."""
    sp4n_lapor_url: str = ""
    """Where complaints are forwarded to the national SP4N-LAPOR system (README
    "Complaints"); empty: nothing is sent."""

    public_base_url: str = ""
    """Base URL citizens and third parties reach the API at (the QR code on issued
    documents points there); default api_base_url."""
    document_key_path: Path | None = None
    """Ed25519 key that signs issued documents; default ``var/document-signing-key.pem``,
    generated on first use."""

    # Face verification (face/; README "Face verification") ----------
    face_backend: str = "auto"
    """Embedding backend: ``facenet``, ``dlib``, or ``auto`` (facenet where its weights
    are found, else dlib)."""
    face_weights: Path | None = None
    """InceptionResnetV1 vggface2 weights (``LINCAH_FACE_WEIGHTS``); default: facenet-pytorch's
    download cache, ``$TORCH_HOME/checkpoints/20180402-114759-vggface2.pt``."""
    face_key: str = ""
    """Key that encrypts face embeddings and uploaded photos at rest; generated once into
    ``var/face-key`` if empty."""
    face_threshold_dlib: float = 0.082
    """Cosine distance at or under which two dlib descriptors are the same person; chosen
    by ``lincah face calibrate`` for a false-accept rate of at most 0.01 % (README)."""
    face_threshold_facenet: float = 0.30
    """Cosine distance at or under which two facenet embeddings are the same person."""
    face_max_upload_bytes: int = 10 * 1024 * 1024
    """Largest photo upload; larger ones are refused with 413 before decoding."""
    face_selfie_ttl_s: int = 24 * 3600
    """How long an uploaded selfie waits for its check before it is deleted."""

    # Citizens' profiles (commands/profile.py) ----------------------------------------
    profile_key: str = ""
    """Key that encrypts the values of citizens' profiles in the event store (AES-GCM);
    generated once into ``var/profile-key`` if empty. Never change it once profiles
    exist: their values could no longer be read."""

    # Appointments and the counter queue (domain/qr_ticket.py) --------------------------
    ticket_key: str = ""
    """HMAC key that signs appointment QR tickets (``domain.qr_ticket``, at least 32
    bytes); generated once into ``var/ticket-key`` if empty. Changing it voids the
    tickets already issued: citizens show the ticket again from their phone."""
    appointment_handling_minutes: int = Field(default=15, ge=1, le=480)
    """A service's average handling time at the counter, in minutes: the length of its
    appointment slots (``domain.slots``) until services state their own."""
    appointment_sweep_s: float = Field(default=30.0, gt=0, le=3600)
    """How often the notifier records run-out holds and sends due reminders."""

    # Requirement documents and the citizen's wallet (documents/uploads.py; README
    # "Requirement documents and the wallet") ------------------------------------------
    upload_key: str = ""
    """Key that encrypts uploaded requirement documents at rest; generated once into
    ``var/upload-key`` if empty. Changing it makes every stored upload unreadable."""
    upload_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1)
    """Largest requirement document (PDF, JPEG, PNG); larger ones are refused with 413."""
    upload_max_pixels: int = Field(default=40_000_000, ge=1)
    """Most pixels an uploaded image may have (an A4 page scanned at 600 dpi has 35
    million); more is refused before the image is decoded (decompression bombs)."""
    uploads_path: Path | None = None
    """Directory of the encrypted uploads, default ``var/uploads``."""
    wallet_max_documents: int = Field(default=100, ge=1)
    """Most documents one citizen's wallet holds at once."""

    @field_validator(
        "rate_limit_documents",
        "rate_limit_dev_login",
        "rate_limit_payment_webhook",
        "rate_limit_complaints",
        "rate_limit_export",
        "rate_limit_kiosk",
    )
    @classmethod
    def _a_rate(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError as e:
            raise ValueError(f"{value!r} is not a rate; write it like 60/minute or 5/second") from e
        return value

    # Identity, accounts and sessions (accounts/; README "Accounts and sign-in") -------
    environment: Literal["development", "production"] = "development"
    """``development`` (``make run``, the tests): POST /auth/dev-token exists and missing
    secrets are generated under var/. ``production``: no dev-token route, and Lincah
    refuses to start while a secret is empty, short or a known default."""
    lookup_key: str = ""
    """HMAC key that turns NIKs and e-mail addresses into stream names (so the event
    store never holds them in the clear); generated once into ``var/lookup-key`` if empty.
    Never change it once accounts exist: they could no longer be found."""
    access_token_ttl_s: int = 10 * 60
    """Life of an access token from POST /auth/login or /auth/refresh."""
    refresh_token_ttl_s: int = 14 * 24 * 3600
    kiosk_token_ttl_s: int = Field(default=10 * 60, ge=60, le=30 * 60)
    """Life of a kiosk session (POST /auth/kiosk): one access token, no refresh token."""
    """Life of a refresh-token family from its login; each refresh rotates the token."""
    confirmation_ttl_s: int = 30 * 60
    """How long an e-mail confirmation code is valid."""
    invitation_ttl_s: int = 7 * 24 * 3600
    """How long a staff invitation code is valid."""
    smtp_host: str = ""
    """SMTP server that sends confirmation and invitation codes. Empty in development:
    the messages go to the log instead. Required in production."""
    smtp_port: int = 25
    smtp_sender: str = "Lincah <no-reply@lincah.localhost>"
    smtp_starttls: bool = False
    smtp_user: str = ""
    smtp_password: str = ""

    # Notifications to citizens (notifications/; README "Notifications") --------------
    outbox_path: Path | None = None
    """SQLite file of the notification outbox, default ``var/outbox.db``. Kept apart
    from the read models on purpose: a read-model rebuild must never send again."""
    notify_webhook_url: str = ""
    """The SMS/WhatsApp provider's endpoint (signed JSON POSTs); empty: neither channel
    is offered."""
    notify_webhook_secret: str = ""
    """HMAC-SHA256 key the provider checks our POSTs with; generated once into
    ``var/notify-webhook-secret`` if empty (development)."""
    notify_max_attempts: int = Field(default=8, ge=1)
    """Attempts per delivery before it goes to the dead-letter list."""
    notify_backoff_s: float = Field(default=2.0, gt=0)
    """Wait after the first failed attempt; doubled per attempt, with jitter."""
    notify_backoff_max_s: float = Field(default=600.0, gt=0)
    """The longest wait between two attempts."""
    notify_max_age_s: float = Field(default=7 * 24 * 3600, gt=0)
    """Events older than this when the outbox first sees them (a first start on an
    existing event log, a long outage) are listed in-app but not e-mailed or texted:
    news that late would mislead more than help."""
    notify_lease_s: float = Field(default=60.0, gt=0)
    """How long a dispatcher holds the deliveries it claimed; a crashed dispatcher's
    claims are taken up again after it (longer than any send may take)."""

    # Backup and restore (backup/; README "Backup and restore") -------------------------
    backup_dir: Path | None = None
    """Where `lincah up` keeps scheduled backups (``LINCAH_BACKUP_DIR``); unset: `lincah
    up` takes none (run `lincah backup` from cron instead)."""
    backup_every: str = "6h"
    """Interval of `lincah up`'s scheduled backups (30m, 6h, 1d); an alert is raised when
    the last good one is 1.5 intervals old."""
    backup_keep: int = Field(default=14, ge=1)
    """How many of the newest backups `lincah up`'s schedule keeps."""

    # Production deployment: health, shutdown, metrics, tracing (deploy/; README
    # "Production deployment" and "Health and metrics") ---------------------------------
    health_port: int = Field(default=0, ge=0, le=65535)
    """Port on which the parts without an HTTP API of their own (worker, projector,
    notifier, face worker) answer GET /health, /ready and /metrics; 0: not served (`lincah
    up` watches its parts itself). One process per container in deploy/compose.yaml, so
    every part there uses the same port."""
    health_host: str = "127.0.0.1"
    """Address of that port; 0.0.0.0 in a container, so that Prometheus can scrape it."""
    temporal_metrics_port: int = Field(default=0, ge=0, le=65535)
    """Port of the Temporal SDK's own Prometheus endpoint in the workers (task-queue
    schedule-to-start latency, poll and slot usage); 0: not served."""
    metrics_token: str = ""
    """Bearer token GET /metrics on the API asks for. Empty: /metrics is open in
    development and refused in production (the reverse proxy never routes it)."""
    ready_max_lag_s: float = Field(default=60.0, gt=0)
    """GET /ready answers 503 while the read models are further behind than this."""
    worker_shutdown_grace_s: float = Field(default=5.0, ge=0)
    """On SIGTERM a worker stops polling and lets its running activities finish for this
    long before they are cancelled (and retried elsewhere). `lincah up` waits 10 s for a
    part to stop; a container runtime waits its stop_grace_period (deploy/compose.yaml)."""
    api_shutdown_grace_s: float = Field(default=20.0, ge=0)
    """On SIGTERM the API stops accepting connections and lets running requests finish
    for this long."""
    otel_endpoint: str = ""
    """OTLP/HTTP endpoint of an OpenTelemetry collector (``http://collector:4318``); set:
    traces from the API through Temporal to the activities are exported there; empty:
    no tracing."""
    otel_service_name: str = "lincah"
    """``service.name`` of the exported spans; each part adds its own name
    (``lincah-api``, ``lincah-worker``)."""
    portal_host: str = "127.0.0.1"
    """Address the citizen portal listens on; 0.0.0.0 in a container (behind the proxy)."""
    designer_host: str = "127.0.0.1"
    """Address the designer listens on; 0.0.0.0 in a container (behind the proxy)."""
    test_activity_delay_s: float = Field(default=0.0, ge=0)
    """Tests only: each append_events activity waits this long first (the graceful
    shutdown test needs an activity running when SIGTERM comes). Refused in production."""

    # Personal data: crypto-shredding and erasure (issue 20 parts 2-3; README "Personal
    # data", "Erasure (crypto-shredding)") ------------------------------------------
    data_master_key: str = ""
    """Wraps every citizen's data key (``crypto.data_keys``); generated once into
    ``var/data-master-key`` in development, required in production. Losing it makes
    every citizen's personal data unreadable, as if all were erased."""
    data_keys_path: Path | None = None
    """SQLite file of the per-citizen data keys, default ``var/data-keys.db``. Kept apart
    from the event store on purpose: erasing a citizen deletes their key there. Back it
    up with the event store, and share it between all processes of one installation."""
    erasure_retention_days: int = Field(default=365, ge=0)
    """Days after an application ended during which the citizen cannot erase their data
    themselves (``DELETE /me``): the agency's retention of its records (UU 43/2009
    tentang Kearsipan, through its Jadwal Retensi Arsip). Set it from that schedule."""
    erasure_retention_by_service: dict[str, int] = Field(default_factory=dict)
    """Per service id, a retention that replaces ``erasure_retention_days``."""
    # Temporal sees no personal data (crypto/payload_codec.py; README "Personal data") --
    payload_keys: dict[str, str] = Field(default_factory=dict)
    """Keys that encrypt every payload Lincah sends Temporal, by key id (JSON in
    ``LINCAH_PAYLOAD_KEYS``, e.g. ``{"k1": "...", "k2": "..."}``): the LAST one encrypts,
    all of them decrypt. Rotate by adding a new id at the end; keep an old key as long as
    Temporal keeps histories written with it. Empty: one key ``k1`` generated once into
    ``var/payload-key``."""
    codec_cors_origins: list[str] = Field(default_factory=list)
    """Origins (the Temporal Web UI's) allowed to call ``/codec/decode`` and
    ``/codec/encode`` from a browser; default the dev server's UI on this machine."""

    @field_validator("payload_keys")
    @classmethod
    def _key_ids(cls, keys: dict[str, str]) -> dict[str, str]:
        for key_id in keys:
            if not re.fullmatch(r"[A-Za-z0-9._-]{1,32}", key_id):
                raise ValueError(
                    f"payload key id {key_id!r}: use 1 to 32 letters, digits, '.', '_' or '-'"
                )
        return keys

    def payload_key_ring(self) -> dict[str, str]:
        """The payload keys by id, the encrypting one last."""
        return self.payload_keys or {"k1": self.generated_secret("payload-key")}

    @property
    def codec_origins(self) -> list[str]:
        port = self.temporal.dev_server.ui_port
        return self.codec_cors_origins or [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]

    # Face verification on real selfies (issue 18: face/replay.py, README "Face
    # verification") ---------------------------------------------------------------
    face_replay_distance: float = Field(default=0.002, ge=0)
    """A selfie this close to the enrolment (cosine distance) is the enrolment photo
    again, refused as a replay: two real photos of one person are further apart."""

    # Benchmarks (issue 19, parts 4-6) -----------------------------------------------
    bench_ping: bool = False
    """Serve ``GET /bench/ping``, the trivial endpoint ``lincah bench api`` measures
    beside ``GET /applications/{id}``; only in development (production never has it)."""

    @model_validator(mode="after")
    def _production_is_strict(self) -> Self:
        if self.environment == "production":
            problems = production_problems(self)
            if problems:
                raise UnsafeSettings(problems)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_source = YamlConfigSettingsSource(settings_cls, yaml_file=_config_file())
        return (init_settings, env_settings, yaml_source)

    # Derived locations -------------------------------------------------------
    @property
    def eventstore_location(self) -> str:
        return self.eventstore_url or str(self.var_dir / "events.db")

    @property
    def readmodel_location(self) -> str | Path:
        """``readmodel_url`` (PostgreSQL) if set, else the SQLite file."""
        return self.readmodel_url or self.readmodel_path or self.var_dir / "readmodels.db"

    @property
    def outbox_location(self) -> Path:
        return self.outbox_path or self.var_dir / "outbox.db"

    @property
    def api_base_url(self) -> str:
        return self.api_url or f"http://{self.api_host}:{self.api_port}"

    @property
    def public_url(self) -> str:
        return (self.public_base_url or self.api_base_url).rstrip("/")

    @property
    def document_key_location(self) -> Path:
        return self.document_key_path or self.var_dir / "document-signing-key.pem"

    @property
    def retired_document_keys_dir(self) -> Path:
        """Public keys of retired document-signing keys (``lincah keys rotate
        document-signing``), one ``<key id>.pem`` each: documents they signed still verify."""
        return self.document_key_location.parent / "document-signing-retired"

    @property
    def documents_dir(self) -> Path:
        return self.var_dir / "documents"

    @property
    def data_keys_location(self) -> Path:
        return self.data_keys_path or self.var_dir / "data-keys.db"

    def data_master_secret(self) -> str:
        return self.data_master_key or self.generated_secret("data-master-key")

    def retention_days(self, service_id: str) -> int:
        """How long after it ended an application of ``service_id`` is kept."""
        return self.erasure_retention_by_service.get(service_id, self.erasure_retention_days)

    @property
    def uploads_dir(self) -> Path:
        return self.uploads_path or self.var_dir / "uploads"

    def signing_key(self) -> str:
        return self.jwt_secret or self.generated_secret("jwt-secret")

    def webhook_secret(self) -> str:
        return self.payment_webhook_secret or self.generated_secret("payment-webhook-secret")

    def face_secret(self) -> str:
        return self.face_key or self.generated_secret("face-key")

    def profile_secret(self) -> str:
        return self.profile_key or self.generated_secret("profile-key")

    def lookup_secret(self) -> str:
        return self.lookup_key or self.generated_secret("lookup-key")

    def notify_secret(self) -> str:
        return self.notify_webhook_secret or self.generated_secret("notify-webhook-secret")

    def upload_secret(self) -> str:
        return self.upload_key or self.generated_secret("upload-key")

    def ticket_secret(self) -> bytes:
        return (self.ticket_key or self.generated_secret("ticket-key")).encode()

    def generated_secret(self, name: str) -> str:
        """A random secret kept in ``var/<name>`` (mode 0600), made on first use. Only
        names in SECRET_FILES: that list is what ``lincah backup`` puts in the keys file."""
        if name not in SECRET_FILES:
            raise ValueError(
                f"secret file {name!r} is not listed in config.settings.SECRET_FILES; add it "
                "there, or backups would leave it behind and restores could not read its data"
            )
        path = self.var_dir / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it meanwhile
                return path.read_text().strip()
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(48))
        return path.read_text().strip()

    # Scaling out (issue 19 parts 1-2; README "Scaling out") ---------------------------
    readmodel_url: str = ""
    """The read models on PostgreSQL (``postgresql://user@host/db``, a schema through
    ``options=-csearch_path%3Dname``), shared by every API process and projector; empty:
    the SQLite file ``readmodel_path``, which one machine's processes share."""
    lease_poll_s: float = Field(default=2.0, gt=0)
    """How often a standby projector or notifier tries to take over the lease of the
    active one (so a dead holder is replaced within about this long)."""

    @field_validator("readmodel_url")
    @classmethod
    def _readmodel_url_is_postgres(cls, value: str) -> str:
        if value and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                "readmodel_url (LINCAH_READMODEL_URL) takes a postgresql:// URL; leave it "
                "empty to keep the read models in the SQLite file readmodel_path"
            )
        return value

    # Personal data: access log and anchored audit trail (issue 20 parts 4-5; README
    # "Personal data") ------------------------------------------------------------
    audit_anchor_path: Path | None = None
    """The append-only JSON-lines file signed checkpoints of the event log are published
    to, default ``var/anchors/checkpoints.jsonl``. Keep it outside the database's reach
    (another disk or host, ``chattr +a``): it is what a rewritten and re-hashed stream
    is caught against."""
    audit_checkpoint_interval_s: float = Field(default=600.0, ge=0)
    """How often the projector (``lincah projections run``, started by ``lincah up``)
    publishes a checkpoint when events were appended since the last; 0: never (only
    ``lincah audit checkpoint``)."""

    @property
    def audit_anchor_location(self) -> Path:
        return self.audit_anchor_path or self.var_dir / "anchors" / "checkpoints.jsonl"

    # The Temporal replay check on the auditor's page (issue 17 part 4:
    # POST /audit/applications/{id}/replay; README "Designing a service") -------------
    audit_replay_timeout_s: float = Field(default=15.0, gt=0)
    """How long the API gives one replay check (fetching the history and replaying it)
    before answering 503; the designer waits 20 s for any answer."""
    audit_replay_max_events: int = Field(default=20_000, ge=1)
    """Longer histories are refused (422) rather than replayed inside the API; ``lincah
    audit replay`` on the server replays them."""


SECRET_FILES: tuple[str, ...] = (
    "jwt-secret",
    "payment-webhook-secret",
    "face-key",
    "profile-key",
    "lookup-key",
    "notify-webhook-secret",
    "upload-key",
    "ticket-key",
    "data-master-key",
    "payload-key",
)
"""Every secret ``Settings.generated_secret`` may write under var/ (it refuses others):
``lincah backup`` copies exactly these, with the document-signing key, into the keys
file the operator stores apart (``backup/keys.py``)."""

MIN_SECRET_CHARS = 32
_KNOWN_DEFAULTS = frozenset({"changeme", "change-me", "secret", "password", "lincah", "test"})


class UnsafeSettings(Exception):
    """Production settings Lincah refuses to run with; each line names the setting."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(
            "Lincah will not start in production with these settings:\n  - "
            + "\n  - ".join(problems)
        )
        self.problems = problems


def _weak(secret: str) -> str | None:
    if not secret:
        return "is empty"
    if len(secret) < MIN_SECRET_CHARS:
        return f"is shorter than {MIN_SECRET_CHARS} characters"
    if secret.lower() in _KNOWN_DEFAULTS or len(set(secret)) < 10:
        return "looks like a placeholder (too few distinct characters)"
    return None


def production_problems(s: Settings) -> list[str]:
    """What keeps these settings from production: secrets must be set explicitly (never
    generated), long and not placeholders; the signing key must be an existing file."""
    problems = []
    for name in (
        "jwt_secret",
        "payment_webhook_secret",
        "face_key",
        "lookup_key",
        "profile_key",
        "upload_key",
        "ticket_key",
        "data_master_key",
    ):
        why = _weak(getattr(s, name))
        if why:
            problems.append(
                f"{name} (LINCAH_{name.upper()}) {why}; set a random value of at least "
                f"{MIN_SECRET_CHARS} characters, e.g. `python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`"
            )
    if not s.payload_keys:
        problems.append(
            "payload_keys (LINCAH_PAYLOAD_KEYS) is empty; set at least one key id and a random "
            f"secret of at least {MIN_SECRET_CHARS} characters, e.g. "
            'LINCAH_PAYLOAD_KEYS=\'{"k1": "<secret>"}\''
        )
    for key_id, secret in s.payload_keys.items():
        why = _weak(secret)
        if why:
            problems.append(
                f"payload_keys[{key_id!r}] (LINCAH_PAYLOAD_KEYS) {why}; set a random value of "
                f"at least {MIN_SECRET_CHARS} characters"
            )
    if not s.document_key_location.is_file():
        problems.append(
            f"document_key_path (LINCAH_DOCUMENT_KEY_PATH): no signing key at "
            f"{s.document_key_location}; production does not generate one. Create it once "
            "(an Ed25519 private key in PEM) and keep it safe"
        )
    if s.notify_webhook_url:
        why = _weak(s.notify_webhook_secret)
        if why:
            problems.append(
                f"notify_webhook_secret (LINCAH_NOTIFY_WEBHOOK_SECRET) {why}, and "
                "notify_webhook_url is set; set a random value of at least "
                f"{MIN_SECRET_CHARS} characters and give it to the SMS/WhatsApp provider"
            )
        if not s.notify_webhook_url.startswith("https://"):
            problems.append(
                "notify_webhook_url (LINCAH_NOTIFY_WEBHOOK_URL) must be an https:// URL: "
                "the messages carry citizens' phone numbers"
            )
    if s.test_activity_delay_s:
        problems.append(
            "test_activity_delay_s (LINCAH_TEST_ACTIVITY_DELAY_S) is for tests only; remove it"
        )
    if not s.smtp_host:
        problems.append(
            "smtp_host (LINCAH_SMTP_HOST) is empty; citizens could not confirm their e-mail "
            "and staff could not receive invitations"
        )
    return problems


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
