"""Which pages each role sees, as plain data (the entry file makes ``st.Page``s of it)."""

from __future__ import annotations

from typing import NamedTuple

from designer.i18n import N_


class PageSpec(NamedTuple):
    path: str
    """Relative to designer/app.py."""
    title: str
    """In English, marked for the catalogues; the entry file shows it translated."""
    icon: str


HOME = PageSpec("views/home.py", N_("Home"), ":material/home:")
CATALOGUE = PageSpec("views/catalogue.py", N_("Service catalogue"), ":material/library_books:")
EDITOR = PageSpec("views/editor.py", N_("Flow editor"), ":material/account_tree:")
SIMULATE = PageSpec("views/simulate.py", N_("Simulation"), ":material/science:")
VERSIONS = PageSpec("views/versions.py", N_("Versions"), ":material/history:")
TRANSFER = PageSpec("views/transfer.py", N_("Import / export"), ":material/sync_alt:")
STANDARD = PageSpec("views/standard.py", N_("Standar Pelayanan"), ":material/gavel:")
DASHBOARD = PageSpec("views/dashboard.py", N_("Dashboard"), ":material/monitoring:")
INBOX = PageSpec("views/inbox.py", N_("Inbox"), ":material/inbox:")
APPLY = PageSpec("views/apply.py", N_("Apply"), ":material/edit_document:")
AUDIT = PageSpec("views/audit.py", N_("Audit trail"), ":material/fact_check:")
MINE = PageSpec("views/my_applications.py", N_("My applications"), ":material/mail:")


def sections(role: str | None) -> dict[str, list[PageSpec]]:
    """Navigation sections for ``role`` (None: not logged in). The first page is the
    default one."""
    if role is None:
        return {"": [HOME]}
    found: dict[str, list[PageSpec]] = {N_("Lincah"): [HOME]}
    if role == "agency_admin":
        found[N_("Design")] = [CATALOGUE, EDITOR, SIMULATE, VERSIONS, TRANSFER]
        found[N_("Monitor")] = [DASHBOARD, STANDARD]
    elif role in ("officer", "supervisor"):
        found[N_("Work")] = [INBOX, DASHBOARD]
        found[N_("Public")] = [STANDARD]
    elif role == "auditor":
        found[N_("Audit")] = [AUDIT, DASHBOARD, CATALOGUE, VERSIONS, STANDARD]
    else:
        found[N_("Services")] = [STANDARD]
    if role in ("agency_admin", "citizen"):
        # The administrator tries a published service as a citizen would; officers,
        # supervisors and auditors act on citizens' applications, never as a citizen.
        found[N_("Citizen demo")] = [APPLY, MINE]
    return found
