"""The hall's pages, server-rendered for a TV or a slip printer: no JavaScript, large
type, Bahasa Indonesia. Pure: the figures come in, escaped HTML goes out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from html import escape
from typing import Final

REFRESH_S: Final = 10
"""How often the hall's display reloads itself."""

_STYLE: Final = """
body{font-family:sans-serif;margin:2vw;background:#0b3d2e;color:#fff}
h1{font-size:4vw;margin:0 0 2vw}h2{font-size:3vw;margin:2vw 0 1vw}
table{border-collapse:collapse;width:100%}td,th{font-size:3vw;padding:.5vw 1vw;text-align:left;
border-bottom:1px solid #2f6b57}.nomor{font-size:5vw;font-weight:bold;color:#ffd54f}
.kecil{font-size:2vw;color:#cfe8df}
"""


@dataclass(frozen=True)
class CounterNow:
    name: str
    called: Sequence[str]
    """Numbers called to it and not yet done."""


@dataclass(frozen=True)
class Upcoming:
    number: str
    service: str
    wait: timedelta


def display_page(
    location: str,
    counters: Sequence[CounterNow],
    upcoming: Sequence[Upcoming],
    service_waits: Mapping[str, timedelta],
    clock: str,
) -> str:
    """The hall's display: numbers called per counter, the next numbers, and the
    expected wait per service."""
    rows = "".join(
        f"<tr><td>{escape(c.name)}</td><td class=nomor>"
        f"{escape(', '.join(c.called)) if c.called else '—'}</td></tr>"
        for c in counters
    )
    nexts = (
        "".join(
            f"<tr><td class=nomor>{escape(u.number)}</td><td>{escape(u.service)}</td>"
            f"<td>{_minutes(u.wait)}</td></tr>"
            for u in upcoming
        )
        or "<tr><td colspan=3>Tidak ada yang menunggu.</td></tr>"
    )
    waits = "".join(
        f"<tr><td>{escape(s)}</td><td>{_minutes(w)}</td></tr>" for s, w in service_waits.items()
    )
    return (
        "<!doctype html><html lang=id><head><meta charset=utf-8>"
        f'<meta http-equiv="refresh" content="{REFRESH_S}">'
        f"<title>Antrean {escape(location)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(location)} <span class=kecil>pukul {escape(clock)}</span></h1>"
        "<h2>Dipanggil sekarang</h2><table><tr><th>Loket</th><th>Nomor</th></tr>"
        f"{rows}</table>"
        "<h2>Nomor berikutnya</h2><table><tr><th>Nomor</th><th>Layanan</th>"
        f"<th>Perkiraan tunggu</th></tr>{nexts}</table>"
        "<h2>Perkiraan waktu tunggu per layanan</h2><table><tr><th>Layanan</th>"
        f"<th>Nomor baru menunggu sekitar</th></tr>{waits}</table>"
        "</body></html>"
    )


def slip_page(location: str, number: str, service: str, taken: str, place: str) -> str:
    """The slip a kiosk or the counter prints for a number."""
    return (
        "<!doctype html><html lang=id><head><meta charset=utf-8>"
        f"<title>Nomor antrean {escape(number)}</title>"
        "<style>body{font-family:sans-serif;text-align:center;width:58mm;margin:auto}"
        ".nomor{font-size:48px;font-weight:bold}</style></head><body>"
        f"<p>{escape(location)}</p><p>Nomor antrean Anda</p>"
        f"<p class=nomor>{escape(number)}</p><p>{escape(service)}</p>"
        f"<p>Diambil pukul {escape(taken)}</p><p>{escape(place)}</p>"
        "<p>Harap menunggu hingga nomor Anda dipanggil.</p></body></html>"
    )


def _minutes(d: timedelta) -> str:
    m = round(d.total_seconds() / 60)
    return "segera" if m <= 0 else f"± {m} menit"
