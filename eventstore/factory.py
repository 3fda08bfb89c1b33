"""Opens the configured event-store backend."""

from __future__ import annotations

from eventstore.port import EventStore

_SQLITE_URL_PREFIX = "sqlite:///"
BACKENDS = ("sqlite",)


def open_event_store(kind: str, url: str) -> EventStore:
    """Open the backend ``kind`` at ``url``.

    ``sqlite``: ``url`` is a file path, or ``sqlite:///relative/path`` /
    ``sqlite:////absolute/path`` as in SQLAlchemy URLs.
    """
    backend = kind.strip().lower()
    if backend == "sqlite":
        from eventstore.sqlite import SqliteEventStore

        return SqliteEventStore(_sqlite_path(url))
    raise ValueError(f"unknown event store backend {kind!r}; choose sqlite")


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
