"""A service's Standar Pelayanan (Permenpan RB 15/2014) as people read it: the
components the agency wrote, completed from the flow where it says more (the procedure
from the steps, the fee from payment steps, the time limit, the product)."""

from __future__ import annotations

import html
from typing import Any

from domain.definition import Duration

COMPONENTS: list[tuple[str, str, bool]] = [
    ("legal_basis", "Dasar hukum", True),
    ("requirements", "Persyaratan", True),
    ("procedure", "Sistem, mekanisme dan prosedur", False),
    ("time_limit", "Jangka waktu penyelesaian", False),
    ("fee", "Biaya/tarif", False),
    ("product", "Produk pelayanan", False),
    ("complaints", "Penanganan pengaduan, saran dan masukan", False),
    ("facilities", "Sarana, prasarana dan/atau fasilitas", False),
    ("staff_competence", "Kompetensi pelaksana", False),
    ("supervision", "Pengawasan internal", False),
    ("staff_count", "Jumlah pelaksana", False),
    ("guarantee", "Jaminan pelayanan", False),
    ("security", "Jaminan keamanan dan keselamatan pelayanan", False),
    ("evaluation", "Evaluasi kinerja pelaksana", False),
]

_UNITS = {"working_days": "hari kerja", "days": "hari", "hours": "jam", "minutes": "menit"}


def rupiah(amount: int | float) -> str:
    return "Rp " + f"{int(amount):,}".replace(",", ".")


def duration_text(d: dict[str, Any] | Duration | None) -> str:
    if d is None:
        return ""
    raw = d.model_dump(mode="json") if isinstance(d, Duration) else d
    return f"{raw.get('amount', 0):g} {_UNITS.get(str(raw.get('unit')), raw.get('unit'))}"


def components(definition: dict[str, Any]) -> list[tuple[str, list[str] | str]]:
    """(title, content) in the regulation's order; empty components are left out."""
    std: dict[str, Any] = definition.get("standard") or {}
    steps = [s for s in definition.get("steps", []) if isinstance(s, dict)]
    derived: dict[str, list[str] | str] = {}
    work = [s for s in steps if s.get("kind") not in ("end", "decision", "join", "parallel")]
    derived["procedure"] = [str(s.get("name") or s.get("id")) for s in work]
    derived["time_limit"] = duration_text(definition.get("time_limit"))
    fees = []
    for s in steps:
        if s.get("kind") == "payment":
            fee = s.get("fee") or {}
            rules = fee.get("rules") or []
            text = rupiah(fee.get("amount", 0))
            if rules:
                text += (
                    " ("
                    + "; ".join(f"{rupiah(r.get('amount', 0))} bila {r.get('when')}" for r in rules)
                    + ")"
                )
            fees.append(text)
    derived["fee"] = ", ".join(fees) if fees else "Tidak dipungut biaya (gratis)"
    products = [
        str((s.get("template") or {}).get("title", ""))
        for s in steps
        if s.get("kind") == "document"
    ]
    derived["product"] = ", ".join(p for p in products if p)
    fields = [f for f in definition.get("fields", []) if isinstance(f, dict)]
    derived["requirements"] = [
        str(f.get("label")) for f in fields if f.get("type") == "file" and f.get("required", True)
    ]
    out: list[tuple[str, list[str] | str]] = []
    for attr, title, _ in COMPONENTS:
        value = std.get(attr) or derived.get(attr) or ""
        if value:
            out.append((title, value))
    return out


def markdown(definition: dict[str, Any]) -> str:
    agency = definition.get("agency") or {}
    lines = [
        f"## {definition.get('name', '')}",
        f"**{agency.get('name', '')}** · kode layanan `{definition.get('id', '')}`",
        "",
        str(definition.get("description", "")),
        "",
    ]
    for n, (title, value) in enumerate(components(definition), start=1):
        lines.append(f"### {n}. {title}")
        if isinstance(value, list):
            numbered = title.startswith("Sistem")
            lines += [f"{k}. {v}" if numbered else f"- {v}" for k, v in enumerate(value, 1)]
        else:
            lines.append(value)
        lines.append("")
    return "\n".join(lines)


def page_html(definition: dict[str, Any]) -> str:
    """A self-contained, printable HTML page of the standard (A4, no scripts)."""
    e = html.escape
    agency = definition.get("agency") or {}
    parts = [
        "<!doctype html><html lang='id'><head><meta charset='utf-8'>",
        f"<title>Standar Pelayanan — {e(str(definition.get('name', '')))}</title>",
        "<style>@page{size:A4;margin:18mm}body{font-family:Helvetica,Arial,sans-serif;"
        "max-width:780px;margin:auto;color:#111}h1{font-size:20px;margin-bottom:0}"
        "table{border-collapse:collapse;width:100%}td{border:1px solid #999;padding:6px;"
        "vertical-align:top}td:first-child{width:34%;font-weight:bold}</style></head><body>",
        f"<h1>Standar Pelayanan: {e(str(definition.get('name', '')))}</h1>",
        f"<p>{e(str(agency.get('name', '')))} — kode layanan {e(str(definition.get('id', '')))}"
        "</p>",
        f"<p>{e(str(definition.get('description', '')))}</p><table>",
    ]
    for n, (title, value) in enumerate(components(definition), start=1):
        if isinstance(value, list):
            tag = "ol" if title.startswith("Sistem") else "ul"
            body = f"<{tag}>" + "".join(f"<li>{e(v)}</li>" for v in value) + f"</{tag}>"
        else:
            body = e(value).replace("\n", "<br>")
        parts.append(f"<tr><td>{n}. {e(title)}</td><td>{body}</td></tr>")
    parts.append("</table></body></html>")
    return "".join(parts)
