"""The SKM report an agency publishes (PermenPANRB 14/2017): per unsur its NRR, the IKM
and its grade, the respondents beside the population and the minimum sample, and the
lowest unsur as the priority for improvement; as a JSON-able dict, as CSV, and as a
printable page in Bahasa Indonesia with an inline-SVG bar chart.

Anonymous: it is built from the answers' values and the respondents' optional data as
counts, never from who answered; suggestions are listed as texts only, apart from any
respondent data. Pure: the answers come in as arguments.
"""

from __future__ import annotations

import csv
import html
import io
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, Final

from domain import ikm

PROFILE: Final = ("sex", "education", "occupation")


def build(
    answers: Iterable[Mapping[str, Any]],
    population: int,
    *,
    period: str,
    agency: str | None,
    service: str | None,
    with_suggestions: bool,
) -> dict[str, Any]:
    """The report of ``answers`` (rows with ``u1`` … ``u9`` and the respondent's data)
    for a scope whose ``population`` applications ended in ``period``."""
    rows = list(answers)
    index = ikm.compute([[int(r[u]) for u in ikm.UNSUR_IDS] for r in rows])
    minimum = ikm.krejcie_morgan(population)
    report: dict[str, Any] = {
        "period": period,
        "agency": agency,
        "service": service,
        "respondents": index.respondents,
        "population": population,
        "minimum_sample": minimum,
        "sample_reached": index.respondents >= minimum and index.respondents > 0,
        "ikm": float(index.ikm) if index.ikm is not None else None,
        "grade": index.grade,
        "kinerja": index.kinerja,
        "unsur": [
            {"unsur": u.unsur, "label": u.label, "nrr": float(u.nrr), "ikm": float(u.ikm)}
            for u in index.unsur
        ],
        "priority": (
            {
                "unsur": index.priority.unsur,
                "label": index.priority.label,
                "nrr": float(index.priority.nrr),
            }
            if index.priority
            else None
        ),
        "profile": {
            key: dict(sorted(Counter(str(r[key]) for r in rows if r.get(key)).items()))
            for key in PROFILE
        },
    }
    if with_suggestions:
        # Sorted, so that their order tells nothing of who wrote which.
        report["suggestions"] = sorted(str(r["suggestion"]) for r in rows if r.get("suggestion"))
    return report


CSV_COLUMNS: Final = (
    "period",
    "agency",
    "service",
    "unsur",
    "label",
    "nrr",
    "unsur_ikm",
    "respondents",
    "population",
    "minimum_sample",
    "sample_reached",
    "ikm",
    "grade",
    "kinerja",
    "priority",
)


def as_csv(report: Mapping[str, Any]) -> str:
    """One row per unsur, the report's figures repeated on each (one table, one
    header, for a spreadsheet)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    priority = report["priority"]["unsur"] if report["priority"] else ""
    for u in report["unsur"]:
        writer.writerow(
            (
                report["period"],
                report["agency"] or "",
                report["service"] or "",
                u["unsur"],
                u["label"],
                f"{u['nrr']:.2f}",
                f"{u['ikm']:.2f}",
                report["respondents"],
                report["population"],
                report["minimum_sample"],
                "yes" if report["sample_reached"] else "no",
                f"{report['ikm']:.2f}",
                report["grade"],
                report["kinerja"],
                priority,
            )
        )
    return out.getvalue()


_CSS: Final = (
    "body{font-family:sans-serif;max-width:48rem;margin:2rem auto;color:#222}"
    "table{border-collapse:collapse;width:100%}td,th{border:1px solid #999;padding:.3rem}"
    "th{background:#eee}.num{text-align:right}.meta{color:#555}"
    ".box{border:2px solid #333;padding:.5rem 1rem;margin:1rem 0}"
    "@media print{body{margin:0}}"
)
_BAR_W: Final = 300
_ROW_H: Final = 22


def _chart(report: Mapping[str, Any]) -> str:
    """A horizontal bar per unsur (its IKM, 0-100), inline SVG, no scripts."""
    units = report["unsur"]
    height = _ROW_H * len(units) + 10
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{_BAR_W + 120}' height='{height}'"
        " role='img' aria-label='Grafik nilai per unsur'>"
    ]
    for i, u in enumerate(units):
        y = 5 + i * _ROW_H
        width = round(_BAR_W * u["ikm"] / 100)
        parts.append(
            f"<text x='0' y='{y + 14}' font-size='12'>{html.escape(u['unsur'].upper())}</text>"
            f"<rect x='40' y='{y}' width='{width}' height='{_ROW_H - 6}' fill='#3b6ea5'/>"
            f"<text x='{44 + width}' y='{y + 14}' font-size='12'>{u['ikm']:.2f}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def html_page(report: Mapping[str, Any], agency_name: str) -> str:
    """A self-contained, printable page (inline CSS and SVG, no scripts)."""
    e = html.escape
    period = str(report["period"])
    parts = [
        "<!doctype html><html lang='id'><head><meta charset='utf-8'>",
        f"<title>Indeks Kepuasan Masyarakat — {e(agency_name)} — {e(period)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<p class='meta'>{e(agency_name)}</p>",
        f"<h1>Indeks Kepuasan Masyarakat (IKM) periode {e(period)}</h1>",
        "<p class='meta'>Survei Kepuasan Masyarakat menurut PermenPANRB Nomor 14 Tahun 2017.</p>",
    ]
    n, population, minimum = report["respondents"], report["population"], report["minimum_sample"]
    sample = f"{n} responden dari {population} layanan selesai (sampel minimum {minimum})"
    if not report["sample_reached"]:
        sample += " — <b>sampel minimum belum tercapai</b>"
    parts.append(f"<p>{sample}.</p>")
    if report["ikm"] is None:
        parts.append("<div class='box'>Belum ada responden pada periode ini.</div>")
        parts.append("</body></html>")
        return "".join(parts)
    parts.append(
        f"<div class='box'><b>IKM: {report['ikm']:.2f}</b> · mutu pelayanan "
        f"<b>{e(report['grade'])}</b> ({e(report['kinerja'])})</div>"
    )
    parts.append(
        "<table><tr><th>No</th><th>Unsur pelayanan</th><th>NRR</th><th>IKM unsur</th></tr>"
    )
    for i, u in enumerate(report["unsur"], start=1):
        parts.append(
            f"<tr><td>{i}</td><td>{e(u['label'])}</td><td class='num'>{u['nrr']:.2f}</td>"
            f"<td class='num'>{u['ikm']:.2f}</td></tr>"
        )
    parts.append("</table><h2>Grafik per unsur</h2>")
    parts.append(_chart(report))
    priority = report["priority"]
    parts.append(
        f"<h2>Prioritas perbaikan</h2><p>Unsur dengan nilai terendah: <b>{e(priority['label'])}"
        f"</b> (NRR {priority['nrr']:.2f}).</p>"
    )
    parts.append("</body></html>")
    return "".join(parts)
