"""``lincah admin``: the bootstrap. Creates regions and agencies and invites their first
administrators, straight on the event store (nobody can sign in yet to do it through the
API). Everything else about staff goes through the API (``/staff``). Also erases a
citizen's personal data on an order (``erase-citizen``), as the API's region
administrators can."""

from __future__ import annotations

import argparse
import getpass
from typing import TextIO

from accounts.registry import Registry
from commands.erasure import erase_citizen
from config.settings import Settings
from domain.refusals import Refusal
from eventstore.factory import open_store
from eventstore.port import EventStore
from projections.readmodels import ReadModels


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", required=True)
    region = sub.add_parser("create-region", help="a kabupaten/kota, by its Kemendagri code")
    region.add_argument("code", help="e.g. 35.10")
    region.add_argument("name", help='e.g. "Kabupaten Banyuwangi"')
    agency = sub.add_parser("create-agency", help="an agency (OPD) of a region")
    agency.add_argument("code", help="the code in application numbers, e.g. BWI")
    agency.add_argument("name", help='e.g. "DPMPTSP Kabupaten Banyuwangi"')
    agency.add_argument("--region", required=True, help="its region's code, e.g. 35.10")
    invite = sub.add_parser(
        "invite", help="invite an administrator (or any staff); prints the one-time code"
    )
    invite.add_argument("email")
    invite.add_argument("--name", required=True, help="their full name")
    invite.add_argument("--role", default="agency_admin", help="default: agency_admin")
    invite.add_argument("--agency", help="for agency staff: its code")
    invite.add_argument("--region", help="for a region_admin or region auditor: its code")
    erase = sub.add_parser(
        "erase-citizen",
        help="erase a citizen's personal data for good (crypto-shredding), on an order",
    )
    erase.add_argument("account_id", help="the citizen's account id (c-...), as staff see it")
    erase.add_argument(
        "--reason",
        required=True,
        help="the legal basis, without personal data (kept for good in the log)",
    )


def actor() -> str:
    """Bootstrap events name the operating-system user who ran the command."""
    return f"cli:{getpass.getuser()}"


def main(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    store = open_store(settings)
    registry = Registry(store, settings)
    try:
        if args.action == "erase-citizen":
            return _erase(store, settings, args.account_id, args.reason, out)
        if args.action == "create-region":
            region = registry.create_region(args.code, args.name, actor())
            print(f"region {region.code} {region.name} created", file=out)
        elif args.action == "create-agency":
            agency = registry.create_agency(args.code, args.name, args.region, actor())
            print(f"agency {agency.code} {agency.name} created in region {agency.region}", file=out)
        else:
            inv = registry.invite(
                None, actor(), args.email, args.name, args.role, args.agency, args.region
            )
            print(
                f"invited {inv.email} as {args.role} (account {inv.account_id}).\n"
                f"One-time code: {inv.code}\n(valid until {inv.expires_at:%Y-%m-%d %H:%M} UTC; "
                "also sent by e-mail.) Accept it with POST /staff/accept.",
                file=out,
            )
    except Refusal as e:
        print(f"lincah admin: {e.message}", file=out)
        return 1
    finally:
        store.close()
    return 0


def _erase(store: EventStore, settings: Settings, account_id: str, reason: str, out: TextIO) -> int:
    """Erase as ``POST /admin/citizens/{id}/erase`` does; the read models must be up to
    date (the projector running), since they say which applications are still open."""
    models = ReadModels(settings.readmodel_location)
    try:
        done = erase_citizen(
            store, models, settings, account_id, reason=reason, by=actor(), role="cli",
            self_service=False,
        )  # fmt: skip
    finally:
        models.close()
    print(
        f"erased citizen {done.citizen}: {done.keys} data key(s) deleted, "
        f"{len(done.documents)} document(s) revoked and their files deleted; "
        f"recorded at position {done.position}",
        file=out,
    )
    return 0
