"""Opens the configured event-store backend (settings ``eventstore`` and
``eventstore_url``, i.e. ``LINCAH_EVENTSTORE`` and ``LINCAH_EVENTSTORE_URL``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from eventstore.port import EventStore

if TYPE_CHECKING:
    from config.settings import Settings

_SQLITE_URL_PREFIX = "sqlite:///"
BACKENDS = ("sqlite", "postgres", "kurrentdb")
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_KURRENTDB_SCHEMES = ("kurrentdb://", "kurrentdb+discover://", "esdb://", "esdb+discover://")


def open_event_store(kind: str, url: str) -> EventStore:
    """Open the backend ``kind`` at ``url``.

    - ``sqlite``: ``url`` is a file path, or ``sqlite:///relative/path`` /
      ``sqlite:////absolute/path`` as in SQLAlchemy URLs.
    - ``postgres``: a libpq URI (``postgresql://user@host:5432/db``) or key/value
      string (``host=... dbname=...``).
    - ``kurrentdb``: a KurrentDB connection string (``kurrentdb://host:2113?Tls=false``).
    """
    backend = kind.strip().lower()
    if backend == "sqlite":
        from eventstore.sqlite import SqliteEventStore

        return SqliteEventStore(_sqlite_path(url))
    if backend in ("postgres", "postgresql"):
        from eventstore.postgres import PostgresEventStore

        return PostgresEventStore(_postgres_url(url))
    if backend == "kurrentdb":
        from eventstore.kurrentdb import KurrentEventStore

        return KurrentEventStore(_kurrentdb_url(url))
    raise ValueError(
        f"unknown event store backend {kind!r}; choose {', '.join(BACKENDS[:-1])} or {BACKENDS[-1]}"
    )


def open_store(settings: Settings) -> EventStore:
    """The configured backend with citizens' personal fields encrypted under their data
    keys (``eventstore.personal``): what every process of Lincah opens. Only tests and
    tools that want the stored bytes open a backend bare with ``open_event_store``."""
    from crypto.data_keys import DataKeys
    from eventstore.personal import PersonalDataStore

    inner = open_event_store(settings.eventstore, settings.eventstore_location)
    keys = DataKeys(settings.data_keys_location, settings.data_master_secret())
    return PersonalDataStore(inner, keys)


def _sqlite_path(url: str) -> str:
    path = url.strip()
    if path.startswith(_SQLITE_URL_PREFIX):
        path = path[len(_SQLITE_URL_PREFIX) :]
    elif "://" in path:
        raise ValueError(
            f"the sqlite event store takes a file path or a sqlite:///path URL, got {url!r}"
        )
    if not path:
        raise ValueError(f"the sqlite event store needs a file path, got {url!r}")
    return path


def _postgres_url(url: str) -> str:
    text = url.strip()
    if "://" in text and not text.startswith(_POSTGRES_SCHEMES):
        raise ValueError(
            "the postgres event store takes a postgresql://... URI or a libpq key/value "
            f"string, got {_redacted(text)!r}"
        )
    if not text or ("://" not in text and "=" not in text):
        raise ValueError(
            "the postgres event store needs a connection URL such as "
            f"postgresql://lincah@localhost:5432/lincah, got {_redacted(text)!r}"
        )
    return text


def _kurrentdb_url(url: str) -> str:
    text = url.strip()
    if not text.startswith(_KURRENTDB_SCHEMES):
        raise ValueError(
            "the kurrentdb event store needs a connection string such as "
            f"kurrentdb://localhost:2113?Tls=false, got {_redacted(text)!r}"
        )
    return text


def _redacted(url: str) -> str:
    """The URL without a password, for error messages."""
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        credentials, host = rest.rsplit("@", 1)
        user = credentials.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in credentials else url
    return url
