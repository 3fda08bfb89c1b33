"""The Standar Pelayanan as published: the 14 components of PermenPANRB 15/2014 in the
regulation's two groups and order, each with the part generated from what the flow
enforces and the agency's added explanation.

The flow is the single source: persyaratan come from the form's required fields and
uploads, the procedure from the steps in order with who is responsible, jangka waktu
from the time limit and step deadlines, biaya from the payment rules, the product from
the document step, pengaduan from the complaint channel. The agency's text is printed
beside it as an explanation, never instead of it, and publication refuses a text that
names another time limit or another fee than the flow enforces.

Pure: no clock, no I/O; the publication date comes in as an argument.
"""

from __future__ import annotations

import html
import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, Literal

from domain.definition import (
    CorrectionStep,
    DocumentStep,
    DurationUnit,
    FieldType,
    PaymentStep,
    ReviewStep,
    ServiceDefinition,
    successors,
)
from domain.services import ServiceState
from domain.steps import KINDS
from domain.validation import Problem
from domain.wording import UNITS, duration_text, rupiah

Group = Literal["delivery", "management"]

DELIVERY: Final[tuple[tuple[str, str], ...]] = (
    ("requirements", "Persyaratan"),
    ("procedure", "Sistem, mekanisme dan prosedur"),
    ("time_limit", "Jangka waktu penyelesaian"),
    ("fee", "Biaya/tarif"),
    ("product", "Produk pelayanan"),
    ("complaints", "Penanganan pengaduan, saran dan masukan"),
)
"""Komponen penyampaian pelayanan (service delivery): required to publish."""

MANAGEMENT: Final[tuple[tuple[str, str], ...]] = (
    ("legal_basis", "Dasar hukum"),
    ("facilities", "Sarana dan prasarana, dan/atau fasilitas"),
    ("staff_competence", "Kompetensi pelaksana"),
    ("supervision", "Pengawasan internal"),
    ("staff_count", "Jumlah pelaksana"),
    ("guarantee", "Jaminan pelayanan"),
    ("security", "Jaminan keamanan dan keselamatan pelayanan"),
    ("evaluation", "Evaluasi kinerja pelaksana"),
)
"""Komponen pengelolaan pelayanan (management): required on the printed page,
reported as missing otherwise."""

GROUP_TITLES: Final[dict[Group, str]] = {
    "delivery": "Komponen standar pelayanan yang terkait dengan proses penyampaian pelayanan",
    "management": "Komponen standar pelayanan yang terkait dengan proses pengelolaan "
    "pelayanan di internal organisasi",
}

FREE: Final = "Tidak dipungut biaya (gratis)"

_MISSING_DELIVERY: Final = {
    "requirements": "Persyaratan is empty: the form has no required field or upload. Add "
    "one, or list the requirements in standard.delivery.requirements.",
    "procedure": "Sistem, mekanisme dan prosedur is empty: no step can be reached from the "
    "start. Add the steps, or describe the procedure in standard.delivery.procedure.",
    "time_limit": "Jangka waktu penyelesaian is missing: set the service's time limit "
    "(time_limit) or a deadline on a step, or explain it in standard.delivery.time_limit.",
    "fee": "Biaya/tarif is missing: add a payment step, or explain the fee in "
    "standard.delivery.fee.",
    "product": "Produk pelayanan is missing: add a document step, or name what the citizen "
    "receives in standard.delivery.product.",
    "complaints": "Penanganan pengaduan, saran dan masukan is missing: set "
    "standard.complaint_channel (a phone number, e-mail address, web address or desk "
    "where citizens complain).",
}


@dataclass(frozen=True)
class Component:
    """One component: ``generated`` lines from the flow, ``explanation`` lines from the
    agency; ``missing`` when both are empty."""

    key: str
    group: Group
    number: int
    """Its number in the regulation's order within the group (1-6, 1-8)."""
    title: str
    generated: tuple[str, ...]
    explanation: tuple[str, ...]

    @property
    def missing(self) -> bool:
        return not self.generated and not self.explanation

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "group": self.group,
            "number": self.number,
            "title": self.title,
            "generated": list(self.generated),
            "explanation": list(self.explanation),
            "missing": self.missing,
        }


@dataclass(frozen=True)
class Standard:
    """A service version's Standar Pelayanan as published."""

    service_id: str
    service_name: str
    description: str
    version: int
    agency_code: str
    agency_name: str
    published_at: datetime | None
    components: tuple[Component, ...]
    review_interval_months: int | None
    review_due: date | None
    """When the standard is due for its periodic review (evaluasi), if an interval is set
    and the version is published."""

    def group(self, group: Group) -> list[Component]:
        return [c for c in self.components if c.group == group]

    @property
    def missing(self) -> list[Component]:
        return [c for c in self.components if c.missing]

    def as_json(self) -> dict[str, Any]:
        return {
            "service_id": self.service_id,
            "service_name": self.service_name,
            "description": self.description,
            "version": self.version,
            "agency": {"code": self.agency_code, "name": self.agency_name},
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "delivery": [c.as_json() for c in self.group("delivery")],
            "management": [c.as_json() for c in self.group("management")],
            "missing": [c.key for c in self.missing],
            "review": {
                "interval_months": self.review_interval_months,
                "due": self.review_due.isoformat() if self.review_due else None,
            },
        }


def generate(definition: ServiceDefinition, published_at: datetime | None = None) -> Standard:
    """The standard of ``definition``: every component in the regulation's order."""
    std = definition.standard
    generated: dict[str, list[str]] = {
        "requirements": requirements(definition),
        "procedure": procedure(definition),
        "time_limit": time_limit(definition),
        "fee": fee(definition),
        "product": product(definition),
        "complaints": (
            [f"Saluran pengaduan: {std.complaint_channel.strip()}"]
            if std.complaint_channel.strip()
            else []
        ),
    }
    components: list[Component] = []
    groups: tuple[tuple[Group, tuple[tuple[str, str], ...], dict[str, Any]], ...] = (
        ("delivery", DELIVERY, std.delivery.model_dump()),
        ("management", MANAGEMENT, std.management.model_dump()),
    )
    for group, spec, texts in groups:
        for number, (key, title) in enumerate(spec, start=1):
            components.append(
                Component(
                    key=key,
                    group=group,
                    number=number,
                    title=title,
                    generated=tuple(generated.get(key, [])),
                    explanation=_lines(texts[key]),
                )
            )
    months = std.review_interval_months
    due = add_months(published_at.date(), months) if published_at and months else None
    return Standard(
        service_id=definition.id,
        service_name=definition.name,
        description=definition.description,
        version=definition.version,
        agency_code=definition.agency.code,
        agency_name=definition.agency.name,
        published_at=published_at,
        components=tuple(components),
        review_interval_months=months,
        review_due=due,
    )


def publish_problems(definition: ServiceDefinition) -> list[Problem]:
    """Why the standard stops publication: a delivery component with neither a generated
    part nor an explanation, or an explanation that contradicts the flow. Management
    components never stop it (the printed page lists them as missing)."""
    problems = [
        Problem(f"standard.delivery.{c.key}", _MISSING_DELIVERY[c.key])
        for c in generate(definition).group("delivery")
        if c.missing
    ]
    return problems + contradictions(definition)


def reviews(services: Iterable[ServiceState], today: date) -> list[dict[str, Any]]:
    """The periodic review (evaluasi) of each service taking applications whose standard
    has a review interval: due that long after its latest version's publication (so
    publishing a reviewed version starts it again), overdue ones first."""
    rows = []
    for s in services:
        latest = s.latest_published
        if latest is None or s.archived:
            continue
        due = generate(latest.definition, latest.published_at).review_due
        if due is not None:
            rows.append(
                {
                    "service_id": s.service_id,
                    "service_name": s.name,
                    "version": latest.version,
                    "review_interval_months": latest.definition.standard.review_interval_months,
                    "published_at": latest.published_at,
                    "due": due,
                    "overdue": due < today,
                }
            )
    return sorted(rows, key=lambda r: (not r["overdue"], r["due"], r["service_id"]))


# --- generated parts -----------------------------------------------------------------


def requirements(d: ServiceDefinition) -> list[str]:
    """Required form data, then the documents to upload (file fields)."""
    data = [f.label for f in d.fields if f.required and f.type != FieldType.FILE]
    uploads = [
        f"Dokumen: {f.label}" + ("" if f.required else " (bila ada)")
        for f in d.fields
        if f.type == FieldType.FILE
    ]
    return ([f"Data pemohon: {', '.join(data)}"] if data else []) + uploads


def reachable_steps(d: ServiceDefinition) -> list[str]:
    """Step ids from the start, breadth first, each once: the order people meet them."""
    seen = [d.start_step]
    queue = deque(seen)
    known = {s.id for s in d.steps}
    while queue:
        for nxt in successors(d.step(queue.popleft())):
            if nxt in known and nxt not in seen:
                seen.append(nxt)
                queue.append(nxt)
    return seen if d.start_step in known else []


def procedure(d: ServiceDefinition) -> list[str]:
    """One line per step a person or another system acts in, with who is responsible;
    routing steps (decision, parallel, join) and ends are not procedure of their own."""
    lines = (KINDS[d.step(sid).kind].procedure(d.step(sid)) for sid in reachable_steps(d))
    return [line for line in lines if line is not None]


def time_limit(d: ServiceDefinition) -> list[str]:
    lines = []
    if d.time_limit:
        line = f"{duration_text(d.time_limit)} sejak permohonan diterima"
        if any(isinstance(s, CorrectionStep) and s.pause_clock for s in d.steps):
            line += " (waktu perbaikan berkas oleh pemohon tidak dihitung)"
        lines.append(line)
    for s in d.steps:
        if isinstance(s, ReviewStep | PaymentStep) and s.deadline:
            lines.append(f"{s.name}: paling lama {duration_text(s.deadline.within)}")
    return lines


def fee(d: ServiceDefinition) -> list[str]:
    lines = []
    for s in d.steps:
        if not isinstance(s, PaymentStep):
            continue
        if not s.fee.rules:
            if s.fee.amount:
                lines.append(f"{s.name}: {rupiah(s.fee.amount)}")
            continue
        rules = "; ".join(f"{rupiah(r.amount)} bila {r.when}" for r in s.fee.rules)
        lines.append(f"{s.name}: {rules}; selain itu {rupiah(s.fee.amount)}")
    return lines or [FREE]


def product(d: ServiceDefinition) -> list[str]:
    return [
        f"{s.template.title} (dokumen elektronik bertanda tangan, dengan kode QR)"
        for s in d.steps
        if isinstance(s, DocumentStep)
    ]


# --- contradictions ------------------------------------------------------------------

_DURATION_TEXT = re.compile(r"(\d+(?:[.,]\d+)?)\s*(hari\s+kerja|hari|jam|menit)", re.IGNORECASE)
_RUPIAH_TEXT = re.compile(r"rp\.?\s*([\d.]+)", re.IGNORECASE)


def contradictions(d: ServiceDefinition) -> list[Problem]:
    """An explanation that names a duration or an amount the flow does not enforce: the
    printed standard would promise something else than what happens."""
    problems = []
    limits = {_duration_key(d.time_limit.amount, d.time_limit.unit)} if d.time_limit else set()
    for s in d.steps:
        if isinstance(s, ReviewStep | PaymentStep) and s.deadline:
            limits.add(_duration_key(s.deadline.within.amount, s.deadline.within.unit))
    text = d.standard.delivery.time_limit
    for m in _DURATION_TEXT.finditer(text):
        amount = float(m[1].replace(",", "."))
        unit = " ".join(m[2].lower().split())
        if limits and (amount, unit) not in limits:
            problems.append(
                Problem(
                    "standard.delivery.time_limit",
                    f"the explanation says {m[0]!r}, but the flow enforces "
                    f"{', '.join(sorted(f'{a:g} {u}' for a, u in limits))}; change the time "
                    "limit or the explanation",
                )
            )
            break
    amounts = {0} | {
        a
        for s in d.steps
        if isinstance(s, PaymentStep)
        for a in (s.fee.amount, *(r.amount for r in s.fee.rules))
    }
    charged = amounts - {0}
    for m in _RUPIAH_TEXT.finditer(d.standard.delivery.fee):
        digits = m[1].replace(".", "").strip()
        if digits and int(digits) not in amounts:
            problems.append(
                Problem(
                    "standard.delivery.fee",
                    f"the explanation names {m[0].strip()!r}, which no payment rule charges "
                    f"({', '.join(rupiah(a) for a in sorted(charged)) or 'the service is free'}); "
                    "change the payment step or the explanation",
                )
            )
            break
    if charged and re.search(r"\bgratis\b", d.standard.delivery.fee, re.IGNORECASE):
        problems.append(
            Problem(
                "standard.delivery.fee",
                "the explanation says the service is free (gratis), but a payment step "
                "charges a fee; change the payment step or the explanation",
            )
        )
    return problems


def _duration_key(amount: float, unit: DurationUnit) -> tuple[float, str]:
    return float(amount), UNITS[unit]


# --- text helpers --------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable: every month has 28 days")


def _lines(value: object) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v).strip() for v in value if str(v).strip())
    text = str(value).strip()
    return (text,) if text else ()


# --- the printable page --------------------------------------------------------------

MONTHS: Final = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
_NUMBERED: Final = frozenset({"procedure"})
_PAGE_CSS: Final = (
    "@page{size:A4;margin:18mm}body{font-family:Helvetica,Arial,sans-serif;max-width:780px;"
    "margin:auto;color:#111;font-size:13px}h1{font-size:20px;margin:0 0 4px}"
    "h2{font-size:14px;margin:18px 0 6px}table{border-collapse:collapse;width:100%}"
    "td,th{border:1px solid #999;padding:6px;vertical-align:top;text-align:left}"
    "td.no{width:24px}td.name{width:30%;font-weight:bold}ul,ol{margin:0;padding-left:18px}"
    ".note{color:#333;margin-top:4px}.missing{color:#b00020;font-weight:bold}"
    ".box{border:1px solid #b00020;padding:8px;margin-top:14px}.meta{color:#333}"
)


def tanggal(day: date) -> str:
    """A date as Indonesian documents write it: 5 Januari 2026."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def html_page(s: Standard, maklumat: str = "", signed_by: str = "") -> str:
    """A self-contained, printable HTML page (A4, inline CSS, no scripts) in Bahasa
    Indonesia: the agency, the service, the version and its publication date, both
    groups of components, and what is still missing."""
    e = html.escape
    published = (
        f"diterbitkan {tanggal(s.published_at.date())}" if s.published_at else "belum diterbitkan"
    )
    parts = [
        "<!doctype html><html lang='id'><head><meta charset='utf-8'>",
        f"<title>Standar Pelayanan — {e(s.service_name)}</title>",
        f"<style>{_PAGE_CSS}</style></head><body>",
        f"<p class='meta'>{e(s.agency_name)}</p>",
        f"<h1>Standar Pelayanan: {e(s.service_name)}</h1>",
        f"<p class='meta'>Kode layanan {e(s.service_id)} · versi {s.version} · {published}</p>",
    ]
    if s.description:
        parts.append(f"<p>{e(s.description)}</p>")
    for group in ("delivery", "management"):
        parts.append(f"<h2>{e(GROUP_TITLES[group])}</h2><table>")
        for c in s.group(group):
            parts.append(
                f"<tr><td class='no'>{c.number}</td><td class='name'>{e(c.title)}</td>"
                f"<td>{_cell(c)}</td></tr>"
            )
        parts.append("</table>")
    if s.review_due:
        parts.append(
            f"<p class='meta'>Standar pelayanan ini dievaluasi setiap "
            f"{s.review_interval_months} bulan; evaluasi berikutnya paling lambat "
            f"{tanggal(s.review_due)}.</p>"
        )
    if s.missing:
        names = ", ".join(e(c.title) for c in s.missing)
        parts.append(f"<div class='box'><b>Komponen yang belum dilengkapi:</b> {names}</div>")
    if maklumat:
        parts.append(f"<h2>Maklumat Pelayanan</h2><p>{e(maklumat)}</p>")
        if signed_by:
            parts.append(f"<p>{e(signed_by)}</p>")
    parts.append("</body></html>")
    return "".join(parts)


def _cell(c: Component) -> str:
    e = html.escape
    if c.missing:
        return "<span class='missing'>Belum diisi</span>"
    out = ""
    if c.generated:
        tag = "ol" if c.key in _NUMBERED else "ul"
        out += f"<{tag}>" + "".join(f"<li>{e(line)}</li>" for line in c.generated) + f"</{tag}>"
    if c.explanation:
        lines = "<br>".join(e(line).replace("\n", "<br>") for line in c.explanation)
        label = "Keterangan: " if c.generated else ""
        out += f"<div class='note'>{label}{lines}</div>"
    return out


def markdown(s: Standard) -> str:
    """The same content for a Markdown view (the designer's page)."""
    published = f", diterbitkan {tanggal(s.published_at.date())}" if s.published_at else ""
    lines = [
        f"## {s.service_name}",
        f"**{s.agency_name}** · kode layanan `{s.service_id}` · versi {s.version}{published}",
        "",
        s.description,
        "",
    ]
    for group in ("delivery", "management"):
        lines += [f"### {GROUP_TITLES[group]}", ""]
        for c in s.group(group):
            lines.append(f"**{c.number}. {c.title}**")
            lines.append("")
            if c.missing:
                lines += ["*Belum diisi*", ""]
                continue
            numbered = c.key in _NUMBERED
            lines += [f"{k}. {v}" if numbered else f"- {v}" for k, v in enumerate(c.generated, 1)]
            if c.explanation:
                prefix = "Keterangan: " if c.generated else ""
                lines += ["", prefix + "  \n".join(c.explanation)]
            lines.append("")
    if s.missing:
        lines.append("**Komponen yang belum dilengkapi:** " + ", ".join(c.title for c in s.missing))
    return "\n".join(lines)
