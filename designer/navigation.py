"""Which pages each role sees, as plain data (the entry file makes ``st.Page``s of it)."""

from __future__ import annotations

from typing import NamedTuple


class PageSpec(NamedTuple):
    path: str
    """Relative to designer/app.py."""
    title: str
    icon: str


HOME = PageSpec("views/home.py", "Home", ":material/home:")
CATALOGUE = PageSpec("views/catalogue.py", "Service catalogue", ":material/library_books:")
EDITOR = PageSpec("views/editor.py", "Flow editor", ":material/account_tree:")
SIMULATE = PageSpec("views/simulate.py", "Simulation", ":material/science:")
VERSIONS = PageSpec("views/versions.py", "Versions", ":material/history:")
TRANSFER = PageSpec("views/transfer.py", "Import / export", ":material/sync_alt:")
STANDARD = PageSpec("views/standard.py", "Standar Pelayanan", ":material/gavel:")
DASHBOARD = PageSpec("views/dashboard.py", "Dashboard", ":material/monitoring:")
INBOX = PageSpec("views/inbox.py", "Inbox", ":material/inbox:")
APPLY = PageSpec("views/apply.py", "Apply", ":material/edit_document:")
MINE = PageSpec("views/my_applications.py", "My applications", ":material/mail:")


def sections(role: str | None) -> dict[str, list[PageSpec]]:
    """Navigation sections for ``role`` (None: not logged in). The first page is the
    default one."""
    if role is None:
        return {"": [HOME]}
    found: dict[str, list[PageSpec]] = {"Lincah": [HOME]}
    if role == "agency_admin":
        found["Design"] = [CATALOGUE, EDITOR, SIMULATE, VERSIONS, TRANSFER]
        found["Monitor"] = [DASHBOARD, STANDARD]
    elif role in ("officer", "supervisor"):
        found["Work"] = [INBOX, DASHBOARD]
        found["Public"] = [STANDARD]
    elif role == "auditor":
        found["Audit"] = [DASHBOARD, CATALOGUE, VERSIONS, STANDARD]
    else:
        found["Services"] = [STANDARD]
    found["Citizen demo"] = [APPLY, MINE]
    return found
