"""Who may call each route of the API, and on whose data: the table the authorization
matrix (tests/api/test_authz_matrix.py) checks every route against. A route the app
serves without an entry here fails that test, so a new route gets its rule with it.

Each rule names the roles that pass the route's role check (None: a public route, no
token needed), the statuses an allowed caller gets on their own data (or on a route
whose path names no party), the roles among them that may actually act there (the
others get 403 on their own party's data), what the path's parameters point at, and
what another party's data answers: 404, exactly as for something that does not exist,
or 200/403 where the thing is public anyway (a published service, an agency, a document
number's public verification).

Commands on one's own application send a body the workflow refuses (422: an outcome the
step has not, a fee of the wrong amount) after it has checked who is asking: the
caller is let through, and the shared fixtures stay where the matrix needs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

STAFF: Final = frozenset({"officer", "supervisor", "cashier", "agency_admin", "complaint_officer"})
DESK: Final = frozenset({"complaint_officer", "supervisor"})
"""The agency's complaint desk (pengaduan) and the supervisor it escalates to."""
CITIZEN: Final = frozenset({"citizen"})
COUNTER: Final = frozenset({"officer", "supervisor"})
"""Who serves citizens' profiles at an agency's counter."""
ADMINS: Final = frozenset({"agency_admin", "region_admin"})
EVERYONE: Final = frozenset({"citizen", "region_admin", "auditor"}) | STAFF
READERS: Final = STAFF | {"region_admin", "auditor"}
"""Staff and those who oversee them: see the applications of their agency or region."""


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str] | None
    """Roles the route lets in; None: public (no token needed, any token ignored)."""
    ok: frozenset[int]
    """What an allowed caller gets on their own party's data (or on a path without a
    party)."""
    target: str | None = None
    """What the path's parameters point at (``Party`` attributes); None: no party."""
    acts: frozenset[str] | None = None
    """The roles that may act on their own data; the other ``roles`` get 403 there.
    None: all of ``roles``."""
    other: int = 404
    """Another party's data: 404 as for an unknown one, or the answer for a public
    thing (200 to read it, 403 to change another agency's)."""
    json: Any = None
    content: bytes | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    """For a path naming two things of a party: the ``Party`` attribute of each parameter
    besides ``target``'s."""

    def expected(self, role: str | None, own: bool) -> frozenset[int]:
        """The statuses a caller with ``role`` (None: no token) may get, on their own
        party's data or (``own`` False) another party's."""
        if self.roles is None:
            return self.ok if own else frozenset({self.other})
        if role is None:
            return frozenset({401})
        if role not in self.roles:
            return frozenset({403})
        if not own:
            return frozenset({self.other})
        if self.acts is not None and role not in self.acts:
            return frozenset({403})
        return self.ok


def _s(*codes: int) -> frozenset[int]:
    return frozenset(codes)


def _r(*roles: str) -> frozenset[str]:
    return frozenset(roles)


PASSWORD: Final = "kata-sandi-uji-2026"
SURVEY: Final = {f"u{i}": 3 for i in range(1, 10)}
PHOTO: Final = {"photo": ("face.jpg", b"not an image at all", "image/jpeg")}
UPLOAD: Final = {"file": ("ktp.pdf", b"not a pdf at all", "application/pdf")}
LOCATION: Final = {
    "name": "MPP Uji",
    "counters": [{"id": "1", "name": "Loket 1", "services": ["izin-uji-a"]}],
    "hours": {"0": [{"start": "08:00", "end": "15:00"}]},
}


BPMN_FILE: Final = (
    b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">'
    b'<process id="p" name="Izin Uji"><startEvent id="s"/><userTask id="t" name="Periksa"/>'
    b'<endEvent id="e" name="Selesai"/><sequenceFlow id="f1" sourceRef="s" targetRef="t"/>'
    b'<sequenceFlow id="f2" sourceRef="t" targetRef="e"/></process></definitions>'
)


def rules(draft: dict[str, Any], submission: dict[str, Any]) -> dict[tuple[str, str], Rule]:
    """The table, keyed by (method, path as the route declares it). ``draft`` is a
    service definition the agency admin may save, ``submission`` an application the
    citizen may submit."""
    return {
        # -- sign-in: public; bogus credentials answer 4xx, never 5xx ------------------
        ("POST", "/auth/register"): Rule(
            None,
            _s(202),
            json={
                "nik": "3510156007950001",
                "full_name": "Wulan Sari",
                "email": "wulan@example.id",
                "password": PASSWORD,
            },
        ),
        ("POST", "/auth/confirm"): Rule(
            None, _s(400, 404, 429), json={"account_id": "c-unknown", "code": "000000"}
        ),
        ("POST", "/auth/login"): Rule(
            None, _s(401, 429), json={"login": "nobody@example.id", "password": PASSWORD}
        ),
        ("POST", "/auth/refresh"): Rule(None, _s(401), json={"refresh_token": "not-a-token"}),
        ("POST", "/auth/logout"): Rule(None, _s(204, 401), json={"refresh_token": "not-a-token"}),
        ("POST", "/auth/password"): Rule(
            EVERYONE,
            _s(409),  # development tokens have no password
            json={"current_password": PASSWORD, "new_password": PASSWORD + "-baru"},
        ),
        ("GET", "/auth/me"): Rule(EVERYONE, _s(200)),
        # A kiosk device's key, not a token, lets it in (none here: 401).
        ("POST", "/auth/kiosk"): Rule(None, _s(401), files=PHOTO),
        ("POST", "/auth/dev-token"): Rule(
            None, _s(200), json={"subject": "tamu@example.id", "role": "citizen"}
        ),
        ("GET", "/auth/oidc/{provider}/login"): Rule(None, _s(404)),
        ("GET", "/auth/oidc/{provider}/callback"): Rule(None, _s(400, 404)),
        # -- staff accounts ------------------------------------------------------------
        # A region administrator invites agency administrators and auditors, not officers.
        ("POST", "/staff/invitations"): Rule(
            ADMINS,
            _s(201),
            acts=_r("agency_admin"),
            json={
                "email": "baru@banyuwangikab.go.id",
                "full_name": "Pegawai Baru",
                "role": "officer",
                "agency": "BWI",
            },
        ),
        ("POST", "/staff/accept"): Rule(
            None,
            _s(400, 429),
            json={"email": "nobody@example.id", "code": "000000", "password": PASSWORD},
        ),
        # Suspended by the first administrator, already suspended for the second.
        ("POST", "/staff/{account_id}/suspend"): Rule(
            ADMINS, _s(200, 409), target="staff_account", json={"reason": "uji"}
        ),
        ("POST", "/staff/{account_id}/reinstate"): Rule(
            ADMINS, _s(200, 409), target="staff_account"
        ),
        ("GET", "/staff"): Rule(ADMINS, _s(200)),
        # -- operations ----------------------------------------------------------------
        ("GET", "/health"): Rule(None, _s(200)),
        ("GET", "/metrics"): Rule(None, _s(200)),  # metrics_token, when set, instead
        ("GET", "/ready"): Rule(None, _s(200, 503)),
        # -- agencies: public facts; only their own administrator changes them ----------
        ("GET", "/agencies/{agency_code}/calendar"): Rule(
            EVERYONE, _s(200), target="agency", other=200
        ),
        ("PUT", "/agencies/{agency_code}/calendar"): Rule(
            _r("agency_admin"), _s(200), target="agency", other=403, json={}
        ),
        ("PUT", "/agencies/{agency_code}/maklumat"): Rule(
            _r("agency_admin"),
            _s(200),
            target="agency",
            other=403,
            json={"text": "Kami sanggup melayani sesuai standar.", "signed_by": "Kepala"},
        ),
        # -- kiosks: their agency's administrator registers and revokes them ------------
        ("POST", "/agencies/{agency_code}/kiosks"): Rule(
            _r("agency_admin"), _s(201), target="agency", other=403, json={"label": "Kiosk 1"}
        ),
        ("POST", "/agencies/{agency_code}/kiosks/{kiosk_id}/revoke"): Rule(
            _r("agency_admin"), _s(404), target="agency", other=403
        ),
        # -- the catalogue: published services are public ------------------------------
        ("POST", "/services"): Rule(_r("agency_admin"), _s(201), json=draft),
        ("POST", "/services/validate"): Rule(EVERYONE, _s(200), json=draft),
        ("POST", "/services/{service_id}/versions/{version}/publish"): Rule(
            _r("agency_admin"), _s(409), target="service", other=403
        ),
        ("GET", "/services"): Rule(EVERYONE, _s(200)),
        ("GET", "/services/{service_id}"): Rule(EVERYONE, _s(200), target="service", other=200),
        ("POST", "/services/{service_id}/archive"): Rule(
            _r("agency_admin"), _s(200), target="spare_service", other=403
        ),
        ("GET", "/services/{service_id}/versions/{a}/diff/{b}"): Rule(
            EVERYONE, _s(200), target="service", other=200
        ),
        ("GET", "/services/work"): Rule(_r("agency_admin"), _s(200)),
        ("GET", "/services/{service_id}/work"): Rule(
            _r("agency_admin"), _s(200, 404), target="service"
        ),
        # The matrix's one draft is not every party's service: its id may not match (422).
        ("PUT", "/services/{service_id}/work"): Rule(
            _r("agency_admin"), _s(200, 422), target="service", other=409, json=draft
        ),
        ("DELETE", "/services/{service_id}/work"): Rule(
            _r("agency_admin"), _s(200), target="service", other=200
        ),
        ("POST", "/services/import/bpmn"): Rule(
            _r("agency_admin"),
            _s(200),
            content=BPMN_FILE,
            headers={"Content-Type": "application/xml"},
        ),
        ("POST", "/services/export/bpmn"): Rule(EVERYONE, _s(200), json=draft),
        ("GET", "/services/{service_id}/versions/{version}/bpmn"): Rule(
            EVERYONE, _s(200), target="service", other=200
        ),
        ("GET", "/public/services"): Rule(None, _s(200)),
        ("GET", "/public/services/{service_id}/standard"): Rule(
            None, _s(200), target="service", other=200
        ),
        ("GET", "/public/agencies/{agency_code}/maklumat"): Rule(
            None, _s(200), target="agency", other=200
        ),
        # -- applications --------------------------------------------------------------
        ("POST", "/applications"): Rule(CITIZEN, _s(201), json=submission),
        # Filed by the agency's officers and supervisors for the citizen of this NIK.
        ("POST", "/counter/applications"): Rule(
            STAFF,
            _s(201),
            acts=_r("officer", "supervisor"),
            json={**submission, "nik": submission["data"]["nik"]},
        ),
        ("GET", "/applications/{application_id}"): Rule(EVERYONE, _s(200), target="application"),
        ("GET", "/applications"): Rule(EVERYONE, _s(200)),
        ("GET", "/me/notifications"): Rule(CITIZEN, _s(200)),
        # -- riwayat: the citizen's history and the export of their data ----------------
        ("GET", "/me/applications"): Rule(CITIZEN, _s(200)),
        ("GET", "/me/applications/{application_id}"): Rule(CITIZEN, _s(200), target="application"),
        ("GET", "/me/export"): Rule(CITIZEN, _s(200)),
        ("GET", "/me/notification-preferences"): Rule(CITIZEN, _s(200)),
        ("PUT", "/me/notification-preferences"): Rule(CITIZEN, _s(200), json={"sms": True}),
        ("GET", "/admin/notifications/dead"): Rule(ADMINS, _s(200)),
        # The matrix's world has no dead delivery: an administrator's own agency answers
        # 404 like another's (tests/api/test_notifications.py replays a real one).
        ("POST", "/admin/notifications/{delivery_id}/replay"): Rule(
            ADMINS, _s(404), target="application"
        ),
        ("POST", "/applications/{application_id}/corrections"): Rule(
            CITIZEN, _s(422), target="application", json={"data": {"full_name": "Bukan"}}
        ),
        # Cancelled by its citizen first; ended for the administrator after.
        ("POST", "/applications/{application_id}/cancel"): Rule(
            _r("citizen", "agency_admin"), _s(200, 409), target="cancellable", json={}
        ),
        # The complaint desk takes no payments.
        ("POST", "/applications/{application_id}/payments"): Rule(
            STAFF,
            _s(422),
            target="application",
            acts=STAFF - {"complaint_officer"},
            json={"amount": 1, "receipt": "KWT-1"},
        ),
        # Events come from the agency's officers and administrators, not its cashiers.
        ("POST", "/applications/{application_id}/events/{event}"): Rule(
            STAFF,
            _s(422),
            target="application",
            acts=_r("officer", "supervisor", "agency_admin"),
            json={"data": {"passed": "maybe"}},
        ),
        # Visits are recorded at the counter by officers and supervisors; the shared
        # application waits for a review, not a visit.
        ("POST", "/applications/{application_id}/visits/{step}"): Rule(
            COUNTER, _s(409), target="application", json={"outcome": "served"}
        ),
        ("POST", "/admin/applications/{application_id}/incidents/retry"): Rule(
            _r("agency_admin"), _s(409), target="application"
        ),
        ("GET", "/tasks"): Rule(STAFF, _s(200)),
        ("POST", "/tasks/{task_id}/claim"): Rule(STAFF, _s(200), target="task", acts=_r("officer")),
        ("POST", "/tasks/{task_id}/complete"): Rule(
            STAFF, _s(422), target="task", acts=_r("officer"), json={"outcome": "bukan"}
        ),
        # The provider's callback: its signature, not a token, lets it in.
        ("POST", "/payments/webhook"): Rule(None, _s(401), content=b"{}"),
        ("GET", "/stats/applications"): Rule(READERS, _s(200)),
        ("GET", "/stats/standard-reviews"): Rule(STAFF | {"auditor"}, _s(200)),
        # -- the satisfaction survey (SKM) and its index (IKM) -------------------------
        ("GET", "/me/surveys"): Rule(CITIZEN, _s(200)),
        # A's application is still open: its survey is not offered yet.
        ("POST", "/applications/{application_id}/survey"): Rule(
            CITIZEN, _s(409), target="application", json=SURVEY
        ),
        ("GET", "/stats/ikm"): Rule(READERS, _s(200)),
        ("GET", "/stats/ikm.csv"): Rule(READERS, _s(200)),
        ("GET", "/public/agencies/{agency_code}/ikm"): Rule(
            None, _s(200), target="agency", other=200
        ),
        # -- documents -----------------------------------------------------------------
        ("GET", "/documents/public-key"): Rule(None, _s(200)),
        ("POST", "/documents/verify"): Rule(
            None,
            _s(200),
            content=b"not a pdf",
            headers={"content-type": "application/pdf"},
        ),
        ("GET", "/documents/{number}/verify"): Rule(None, _s(200), target="document", other=200),
        ("GET", "/documents/{number}"): Rule(EVERYONE, _s(200), target="document"),
        ("GET", "/applications/{application_id}/documents"): Rule(
            EVERYONE, _s(200), target="application"
        ),
        # -- requirement documents: a citizen's own wallet; attachments as applications --
        # -- locations and appointments (issue 15) ---------------------------------------
        ("PUT", "/agencies/{agency_code}/locations/{location_id}"): Rule(
            _r("agency_admin"), _s(200), target="agency", other=403, json=LOCATION
        ),
        # Public; answered once the PUT above defined it, else 404. No agency: 422.
        ("GET", "/public/locations"): Rule(None, _s(422)),
        ("GET", "/public/locations/{location_id}"): Rule(None, _s(200, 404)),
        ("GET", "/public/locations/{location_id}/slots"): Rule(None, _s(422)),  # no service
        ("GET", "/locations/{location_id}/appointments"): Rule(STAFF, _s(422)),  # no day
        ("POST", "/me/appointments"): Rule(
            CITIZEN,
            _s(404),  # an application nobody has
            json={"application_id": "BWI-2026-999999", "step": "ambil", "slot_id": "x.y.z"},
        ),
        ("GET", "/me/appointments"): Rule(CITIZEN, _s(200)),
        # The fixed appointment id is nobody's: every citizen gets what an unknown one gets.
        ("GET", "/me/appointments/{appointment_id}"): Rule(CITIZEN, _s(404)),
        ("GET", "/me/appointments/{appointment_id}/ticket.png"): Rule(CITIZEN, _s(404)),
        ("POST", "/me/appointments/{appointment_id}/confirm"): Rule(CITIZEN, _s(404)),
        ("POST", "/me/appointments/{appointment_id}/reschedule"): Rule(
            CITIZEN, _s(404), json={"slot_id": "x.y.z"}
        ),
        ("DELETE", "/me/appointments/{appointment_id}"): Rule(CITIZEN, _s(404)),
        ("POST", "/me/documents"): Rule(CITIZEN, _s(422), files=UPLOAD),  # no kind sent
        ("GET", "/me/documents"): Rule(CITIZEN, _s(200)),
        ("GET", "/me/documents/{document_id}"): Rule(CITIZEN, _s(200), target="wallet_document"),
        ("DELETE", "/me/documents/{document_id}"): Rule(CITIZEN, _s(200), target="spare_document"),
        ("GET", "/applications/{application_id}/attachments/{document_id}"): Rule(
            EVERYONE, _s(200), target="application", params={"document_id": "wallet_document"}
        ),
        # -- faces: a citizen's own, no other party in the path ------------------------
        ("POST", "/me/face"): Rule(CITIZEN, _s(422), files=PHOTO),
        ("GET", "/me/face"): Rule(CITIZEN, _s(200, 404)),
        ("DELETE", "/me/face"): Rule(CITIZEN, _s(200, 204, 404)),
        ("POST", "/me/selfies"): Rule(CITIZEN, _s(422), files=PHOTO),
        # At the counter: the officer enrols a citizen named by NIK (a form field).
        ("POST", "/counter/face"): Rule(COUNTER, _s(422), files=PHOTO),
        # -- complaints: filed by a citizen or anonymously (no token); staff tokens 403.
        # Each party's complaint rests unverified, so every command is refused by the
        # workflow after it has checked who is asking.
        ("POST", "/complaints"): Rule(
            None,
            _s(201, 403),
            json={
                "agency": "BWI",
                "subject": {"kind": "service", "ref": "izin-uji-a"},
                "text": "Antrean tidak tertib.",
                "anonymity": "anonymous",
            },
        ),
        ("GET", "/me/complaints"): Rule(CITIZEN, _s(200)),
        ("GET", "/complaints"): Rule(DESK, _s(200)),
        ("GET", "/stats/complaints"): Rule(DESK, _s(200)),
        ("GET", "/complaints/{complaint_id}"): Rule(CITIZEN | DESK, _s(200), target="complaint"),
        ("POST", "/complaints/{complaint_id}/verify"): Rule(
            DESK, _s(422), target="complaint", json={"decision": "reject"}
        ),
        ("POST", "/complaints/{complaint_id}/provide-info"): Rule(
            CITIZEN, _s(409), target="complaint", json={"text": "Loket 3"}
        ),
        ("POST", "/complaints/{complaint_id}/follow-up"): Rule(
            DESK | {"officer"}, _s(409), target="complaint", json={"unit": "U", "text": "T"}
        ),
        ("POST", "/complaints/{complaint_id}/respond"): Rule(
            CITIZEN, _s(409), target="complaint", json={"decision": "accept"}
        ),
        ("POST", "/complaints/{complaint_id}/rate"): Rule(
            CITIZEN, _s(409), target="complaint", json={"score": 5}
        ),
        # -- profiles (the matrix's citizens are development tokens: no registered NIK;
        # only A's citizen declares a profile, with the PATCH, which runs first) --------
        ("GET", "/me/profile"): Rule(CITIZEN, _s(200)),
        ("PATCH", "/me/profile"): Rule(CITIZEN, _s(200), json={"occupation": "Guru"}),
        ("POST", "/me/profile/verify-face"): Rule(
            CITIZEN, _s(409, 422), json={"selfie_ref": "tidak-ada"}
        ),
        ("POST", "/citizens/lookup"): Rule(COUNTER, _s(404), json={"nik": "3510154808900003"}),
        ("GET", "/citizens/{account_id}/profile"): Rule(COUNTER, _s(200, 404), target="citizen"),
        ("POST", "/citizens/{account_id}/profile/verify"): Rule(
            COUNTER, _s(200, 404), target="citizen", json={"fields": ["occupation"]}
        ),
        ("GET", "/services/{service_id}/form"): Rule(None, _s(200), target="service", other=200),
        # -- the counter queue (issue 15): at the location the PUT above defined (the
        # matrix calls the routes in the app's order); its counter is not loket-1, so a
        # call there is refused as unknown (tests/api/test_queue.py serves a full day) --
        ("POST", "/counter/check-in"): Rule(
            STAFF, _s(422), acts=COUNTER, json={"ticket": "LQ1.e30.AAAAAAAAAAAAAAAAAAAAAA"}
        ),
        ("POST", "/queue/{location_id}/tickets"): Rule(
            STAFF, _s(201), acts=COUNTER, json={"service_id": "izin-uji-a"}
        ),
        # A kiosk's device key, not a token, lets it in (none here: 401).
        ("POST", "/queue/{location_id}/kiosk-tickets"): Rule(
            None, _s(401), json={"service_id": "izin-uji-a"}
        ),
        ("POST", "/queue/{location_id}/counters/{counter_id}/call"): Rule(
            STAFF, _s(404), acts=COUNTER
        ),
        # A001 is waiting, never called: only a called number is served or missed.
        ("POST", "/queue/{location_id}/tickets/{ticket}/served"): Rule(
            STAFF, _s(409), acts=COUNTER
        ),
        ("POST", "/queue/{location_id}/tickets/{ticket}/missed"): Rule(
            STAFF, _s(409), acts=COUNTER
        ),
        ("PUT", "/agencies/{agency_code}/locations/{location_id}/queue-policy"): Rule(
            _r("agency_admin"), _s(200), target="agency", other=403, json={}
        ),
        ("GET", "/public/locations/{location_id}/display"): Rule(None, _s(200)),
        ("GET", "/public/locations/{location_id}/tickets/{ticket}/slip"): Rule(None, _s(200)),
        ("GET", "/me/queue"): Rule(CITIZEN, _s(200)),
        # The period is required: without it every reader gets 422 naming it.
        ("GET", "/stats/queue"): Rule(READERS, _s(422)),
        # -- erasure of personal data (crypto-shredding): each party's citizen has a
        # running application, so both are refused, after the role check -------------
        ("DELETE", "/me"): Rule(CITIZEN, _s(409)),
        ("POST", "/admin/citizens/{account_id}/erase"): Rule(
            _r("region_admin"), _s(409), target="citizen", other=409, json={"reason": "uji"}
        ),
        # -- auditors ------------------------------------------------------------------
        ("GET", "/audit/applications/{application_id}"): Rule(
            _r("auditor"), _s(200), target="application"
        ),
        ("GET", "/audit/applications/{application_id}/events"): Rule(
            _r("auditor"), _s(200), target="application"
        ),
        # Replays the application's Temporal history (issue 17): reads only.
        ("POST", "/audit/applications/{application_id}/replay"): Rule(
            _r("auditor"), _s(200), target="application"
        ),
        # Personal data (issue 20): the access log, the anchored checkpoints --------------
        ("GET", "/audit/access-log"): Rule(_r("auditor"), _s(200)),
        ("GET", "/audit/checkpoints"): Rule(_r("auditor"), _s(200)),
        ("GET", "/audit/verification"): Rule(_r("auditor"), _s(200)),
        ("GET", "/me/access-log"): Rule(CITIZEN, _s(200)),
        # -- the Temporal Web UI's codec server (a payload names no agency) ---------------
        ("POST", "/codec/decode"): Rule(
            _r("auditor", "region_admin"), _s(200), json={"payloads": []}
        ),
        ("POST", "/codec/encode"): Rule(
            _r("auditor", "region_admin"), _s(200), json={"payloads": []}
        ),
    }
