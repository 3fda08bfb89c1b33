"""The ``lincah`` command: one subcommand per part."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from config.settings import UnsafeSettings, get_settings
from lincah import backup_cli, face_cli


def _exit(code: int) -> NoReturn:
    """Leave without running interpreter teardown: the Temporal SDK's native runtime can
    abort a Python process at exit after all work is done (sdk-python#300)."""
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


def _stop_event_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def cmd_up(args: argparse.Namespace) -> int:
    from lincah import up

    return up.run(
        get_settings(),
        with_designer=not args.no_designer,
        seed_demo=not args.no_demo,
        with_face=not args.no_face_worker,
    )


def cmd_worker(_: argparse.Namespace) -> int:
    from lincah.worker import run_worker

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_worker(get_settings(), stop)

    asyncio.run(main())
    return 0


def cmd_api(_: argparse.Namespace) -> int:
    import uvicorn

    s = get_settings()
    # SIGTERM: uvicorn stops accepting, lets running requests finish (at most
    # api_shutdown_grace_s), then runs the app's shutdown.
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=s.api_host,
        port=s.api_port,
        log_level="info",
        timeout_graceful_shutdown=int(s.api_shutdown_grace_s),
    )
    return 0


def cmd_portal(_: argparse.Namespace) -> int:
    import uvicorn

    from portal.app import create_app

    s = get_settings()
    uvicorn.run(create_app(s), host=s.portal_host, port=s.portal_port, log_level="info")
    return 0


def designer_argv(port: int, host: str = "127.0.0.1") -> list[str]:
    """How the designer is served: Streamlit on ``designer/app.py``, headless, without
    its developer menu and "Deploy" button (administrators and officers see the app)."""
    app = Path(__file__).resolve().parent.parent / "designer" / "app.py"
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]


def cmd_designer(_: argparse.Namespace) -> int:
    s = get_settings()
    env = dict(os.environ, LINCAH_API_URL=s.api_base_url)
    argv = designer_argv(s.designer_port, s.designer_host)
    os.execve(sys.executable, argv, env)  # noqa: S606 - fixed argv, no shell


def cmd_projections(args: argparse.Namespace) -> int:
    from eventstore.factory import open_store
    from projections.lease import lease_for, run_leased
    from projections.projector import Projector
    from projections.readmodels import ReadModels

    s = get_settings()
    projector = Projector(open_store(s), ReadModels(s.readmodel_location))
    if args.action == "rebuild":
        n = projector.rebuild()
        print(
            f"rebuilt the read models from {n} events; checkpoint {projector.models.checkpoint()}"
        )
        return 0
    from lincah.health import serve_projector

    def project(stop: threading.Event) -> None:
        if s.audit_checkpoint_interval_s > 0:
            # The anchored audit trail (README "Anchored audit trail"): only the active
            # projector publishes, in its own thread, so a slow checkpoint never holds
            # the read models back.
            from audit.checkpoints import publish_periodically

            threading.Thread(
                target=publish_periodically,
                args=(projector.store, s, stop, s.audit_checkpoint_interval_s),
                name="audit-checkpoints",
                daemon=True,
            ).start()
        projector.run_forever(stop)

    port = serve_projector(s, projector)
    # Any number may run (on several machines): one projects, the others stand by. On
    # SIGTERM the batch in hand commits with its checkpoint, then the loop ends.
    lease = lease_for(s.readmodel_location, "projector")
    run_leased(lease, project, _stop_event_on_signals(), "projector", s.lease_poll_s)
    if port is not None:
        port.close()
    return 0


def cmd_notifier(_: argparse.Namespace) -> int:
    from lincah.notifier import run_notifier

    run_notifier(get_settings(), _stop_event_on_signals())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from lincah import demo

    return demo.main(get_settings(), api_url=args.api)


def cmd_bench(args: argparse.Namespace) -> int:
    from importlib import import_module

    # The parser imports each target's module for its arguments only; what a bench
    # needs to run (the Temporal client, the eventsourcing library) it imports in main.
    module = {"eventstore": "lincah.bench", "e2e": "lincah.bench_e2e", "api": "lincah.bench_api"}
    main: Callable[[argparse.Namespace], int] = import_module(module[args.target]).main
    return main(args)


def cmd_audit(args: argparse.Namespace) -> int:
    from lincah import audit

    return audit.main(args, get_settings(), sys.stdout)


def cmd_admin(args: argparse.Namespace) -> int:
    from lincah import admin

    return admin.main(args, get_settings(), sys.stdout)


def cmd_queue_sim(args: argparse.Namespace) -> int:
    from lincah import queue_sim

    return queue_sim.main(args, sys.stdout)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lincah", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start everything on embedded defaults")
    up.add_argument("--no-designer", action="store_true", help="do not start the designer")
    up.add_argument("--no-demo", action="store_true", help="do not seed the demo services")
    up.add_argument("--no-face-worker", action="store_true", help="do not start the face worker")
    up.set_defaults(func=cmd_up)
    sub.add_parser("worker", help="run the application worker").set_defaults(func=cmd_worker)
    sub.add_parser("api", help="serve the HTTP API").set_defaults(func=cmd_api)
    sub.add_parser("designer", help="serve the designer").set_defaults(func=cmd_designer)
    sub.add_parser("portal", help="serve the citizen portal").set_defaults(func=cmd_portal)
    sub.add_parser("notifier", help="derive the notification outbox and deliver it").set_defaults(
        func=cmd_notifier
    )
    pr = sub.add_parser("projections", help="run or rebuild the read models")
    pr.add_argument("action", choices=["run", "rebuild"])
    pr.set_defaults(func=cmd_projections)
    demo = sub.add_parser("demo", help="seed the demo agency's services, print a walk-through")
    demo.add_argument("--api", default=None, help="API base URL (default from settings)")
    demo.set_defaults(func=cmd_demo)
    bench = sub.add_parser("bench", help="benchmarks, each beside its anchor")
    targets = bench.add_subparsers(dest="target", required=True)
    from lincah import bench_api, bench_e2e
    from lincah.bench import add_arguments as bench_arguments

    bench_arguments(
        targets.add_parser("eventstore", help="the event stores beside the eventsourcing library")
    )
    bench_e2e.add_arguments(
        targets.add_parser("e2e", help="applications through the API beside raw Temporal")
    )
    bench_api.add_arguments(
        targets.add_parser("api", help="GET /applications/{id} beside a trivial endpoint")
    )
    bench.set_defaults(func=cmd_bench)
    audit = sub.add_parser("audit", help="verify the hash chains; replay an application")
    from lincah.audit import add_arguments as audit_arguments

    audit_arguments(audit)
    audit.set_defaults(func=cmd_audit)
    face_cli.register(sub)
    backup_cli.register(sub)
    admin = sub.add_parser("admin", help="bootstrap regions, agencies and their administrators")
    from lincah.admin import add_arguments as admin_arguments

    admin_arguments(admin)
    admin.set_defaults(func=cmd_admin)
    sim = sub.add_parser("queue-sim", help="how many counters keep the queue's wait under a target")
    from lincah.queue_sim import add_arguments as queue_sim_arguments

    queue_sim_arguments(sim)
    sim.set_defaults(func=cmd_queue_sim)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # no line per health probe
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except UnsafeSettings as e:
        print(f"lincah: {e}", file=sys.stderr)
        return 2
    return code


def entry() -> None:
    """Console-script entry: run, then leave without interpreter teardown."""
    _exit(main())


if __name__ == "__main__":
    entry()
