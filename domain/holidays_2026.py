"""Indonesia's national calendar for 2026: the public holidays (libur nasional) and the
cuti bersama of the SKB 3 Menteri (Menteri Agama, Menteri Ketenagakerjaan, Menteri PANRB)
No. 1497/2025, 2/2025 and 5/2025: 17 days of libur nasional and 8 of cuti bersama.

Data only (no Lincah imports), so ``domain.calendar`` builds its holidays from it. Every
date below was checked against published copies of the SKB's list (November 2025). The
Islamic holidays follow the SKB's dates; should the government move one after its sidang
isbat, an agency marks the day as a regional holiday until this list is revised.
"""

from __future__ import annotations

from datetime import date
from typing import Final, Literal

__all__ = ["NATIONAL_2026"]

Kind = Literal["libur_nasional", "cuti_bersama"]

NATIONAL_2026: Final[tuple[tuple[date, str, Kind], ...]] = (
    (date(2026, 1, 1), "Tahun Baru 2026 Masehi", "libur_nasional"),
    (date(2026, 1, 16), "Isra Mikraj Nabi Muhammad SAW", "libur_nasional"),
    (date(2026, 2, 16), "Cuti bersama Tahun Baru Imlek", "cuti_bersama"),
    (date(2026, 2, 17), "Tahun Baru Imlek 2577 Kongzili", "libur_nasional"),
    (date(2026, 3, 18), "Cuti bersama Hari Suci Nyepi", "cuti_bersama"),
    (date(2026, 3, 19), "Hari Suci Nyepi (Tahun Baru Saka 1948)", "libur_nasional"),
    (date(2026, 3, 20), "Cuti bersama Idul Fitri 1447 H", "cuti_bersama"),
    # The SKB sets Idul Fitri on Saturday and Sunday 21-22 March (not 20-21): the
    # weekdays around it are the cuti bersama of 20, 23 and 24 March.
    (date(2026, 3, 21), "Hari Raya Idul Fitri 1447 H", "libur_nasional"),
    (date(2026, 3, 22), "Hari Raya Idul Fitri 1447 H", "libur_nasional"),
    (date(2026, 3, 23), "Cuti bersama Idul Fitri 1447 H", "cuti_bersama"),
    (date(2026, 3, 24), "Cuti bersama Idul Fitri 1447 H", "cuti_bersama"),
    (date(2026, 4, 3), "Wafat Yesus Kristus", "libur_nasional"),
    (date(2026, 4, 5), "Kebangkitan Yesus Kristus (Paskah)", "libur_nasional"),
    (date(2026, 5, 1), "Hari Buruh Internasional", "libur_nasional"),
    (date(2026, 5, 14), "Kenaikan Yesus Kristus", "libur_nasional"),
    (date(2026, 5, 15), "Cuti bersama Kenaikan Yesus Kristus", "cuti_bersama"),
    (date(2026, 5, 27), "Hari Raya Idul Adha 1447 H", "libur_nasional"),
    (date(2026, 5, 28), "Cuti bersama Idul Adha 1447 H", "cuti_bersama"),
    (date(2026, 5, 31), "Hari Raya Waisak 2570 BE", "libur_nasional"),
    (date(2026, 6, 1), "Hari Lahir Pancasila", "libur_nasional"),
    (date(2026, 6, 16), "1 Muharam Tahun Baru Islam 1448 H", "libur_nasional"),
    (date(2026, 8, 17), "Proklamasi Kemerdekaan Republik Indonesia", "libur_nasional"),
    (date(2026, 8, 25), "Maulid Nabi Muhammad SAW", "libur_nasional"),
    (date(2026, 12, 24), "Cuti bersama Hari Raya Natal", "cuti_bersama"),
    (date(2026, 12, 25), "Kelahiran Yesus Kristus (Natal)", "libur_nasional"),
)
