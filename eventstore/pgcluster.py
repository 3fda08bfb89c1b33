"""A throw-away PostgreSQL cluster for tests and benchmarks, from the Debian
postgresql-15 binaries: ``initdb -A trust`` into a temporary directory (run as the
``postgres`` user when we are root, as initdb refuses root), reachable only through a
unix socket in that directory, stopped and deleted afterwards. Never used in
production: point ``LINCAH_EVENTSTORE_URL`` at a real server there."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_BIN = Path(os.environ.get("LINCAH_PG_BIN", "/usr/lib/postgresql/15/bin"))


class ClusterUnavailable(RuntimeError):
    """The binaries (or a user to run them as) are missing: callers skip with this."""


@dataclass(frozen=True)
class Cluster:
    root: Path
    port: int

    def url(self, dbname: str = "postgres", schema: str | None = None) -> str:
        url = f"postgresql://postgres@/{dbname}?host={self.root}&port={self.port}"
        if schema is not None:
            url += f"&options=-csearch_path%3D{schema}"
        return url

    def execute(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(statement.encode())

    @contextmanager
    def fresh_schema(self) -> Iterator[str]:
        """The URL of a new, empty schema, dropped afterwards."""
        name = f"t_{uuid.uuid4().hex[:16]}"
        self.execute(f"CREATE SCHEMA {name}")
        try:
            yield self.url(schema=name)
        finally:
            self.execute(f"DROP SCHEMA {name} CASCADE")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_as() -> dict[str, Any]:
    return {"user": "postgres"} if os.geteuid() == 0 else {}


@contextmanager
def throwaway_cluster(
    bin_dir: Path = DEFAULT_BIN, settings: dict[str, str] | None = None
) -> Iterator[Cluster]:
    """Start a cluster; ``settings`` are extra ``-c name=value`` server settings."""
    if not (bin_dir / "initdb").exists():
        raise ClusterUnavailable(
            f"PostgreSQL 15 binaries not found in {bin_dir}: `make install` as root "
            "installs postgresql-15, or set LINCAH_PG_BIN"
        )
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            raise ClusterUnavailable(
                "running as root, but there is no postgres user to run PostgreSQL as"
            ) from None
    root = Path(tempfile.mkdtemp(prefix="lincah-pg-"))
    if os.geteuid() == 0:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    root.chmod(0o700)
    data = root / "data"
    cluster = Cluster(root, _free_port())
    server = {"listen_addresses": "''", "max_connections": "200", **(settings or {})}
    options = f"-k {root} -p {cluster.port} " + " ".join(
        f"-c {name}={value}" for name, value in server.items()
    )
    try:
        subprocess.run(
            [
                str(bin_dir / "initdb"),
                *("-D", str(data), "-A", "trust", "-U", "postgres"),
                *("-E", "UTF8", "--locale=C", "--no-sync"),
            ],
            check=True,
            capture_output=True,
            **_run_as(),
        )
        subprocess.run(
            [
                str(bin_dir / "pg_ctl"),
                *("-D", str(data), "-l", str(root / "server.log")),
                *("-o", options, "-w", "-t", "60", "start"),
            ],
            check=True,
            capture_output=True,
            **_run_as(),
        )
    except subprocess.CalledProcessError as exc:
        log = root / "server.log"
        detail = log.read_text(errors="replace") if log.exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"could not start PostgreSQL: {exc.stderr!r} {detail[-2000:]}") from exc
    try:
        yield cluster
    finally:
        subprocess.run(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
            **_run_as(),
        )
        shutil.rmtree(root, ignore_errors=True)
