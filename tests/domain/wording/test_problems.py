"""Every problem the domain can report has a plain sentence of its own
(``domain.wording.problems``), and typical mistakes read as sentences without path syntax."""

from __future__ import annotations

import ast
import copy
import re
import string
from pathlib import Path
from typing import Any

import pytest

from domain.validation import parse_definition, validate_application_data
from domain.wording.problems import FALLBACK, TABLE, explain, place, plain
from tests.domain.wording.domain_messages import Module, Resolver, appended_pairs, modules

# Messages the domain makes that the source scan cannot follow, each covered otherwise:
# pydantic's own wording (err["msg"]), driven through parse_definition below; and the
# branch problems a loop hands on, read from what _check_branches appends.
NOT_FOLLOWED = {"err['msg']", "message (a loop variable)"}
PREFIXED = "key x"
"""``_error_message`` prefixes any of its messages so for a mapping's key: the sample is
no message of its own (test_a_key_problem_... covers the prefix)."""
PATH_SYNTAX = re.compile(
    r"\[\d+\]|\b(?:steps|fields|branches|outcomes|data|standard|delivery)\.\w"
    r"|\b(?:goto|when|on_\w+|next)\b(?!\s)"
)
"""What gives a technical path away: an index, a dotted path, a property's own name."""

BASE: dict[str, Any] = {
    "id": "izin-keramaian",
    "name": "Izin Keramaian",
    "agency": {"code": "POL", "name": "Polres"},
    "fields": [
        {"id": "nama", "label": "Nama penyelenggara"},
        {"id": "peserta", "label": "Jumlah peserta", "type": "number"},
        {"id": "nik", "label": "NIK", "type": "nik"},
    ],
    "steps": [
        {"kind": "form", "id": "ajukan", "name": "Pengajuan", "next": "periksa"},
        {"kind": "review", "id": "periksa", "name": "Periksa syarat", "role": "officer",
         "outcomes": {"setuju": "cek_peserta", "tolak": "ditolak"}},
        {"kind": "decision", "id": "cek_peserta", "name": "Cek jumlah peserta",
         "branches": [{"when": "peserta > 1000", "goto": "ditolak"}], "default": "terbit"},
        {"kind": "end", "id": "terbit", "name": "Izin terbit", "result": "approved"},
        {"kind": "end", "id": "ditolak", "name": "Ditolak", "result": "rejected"},
    ],
}  # fmt: skip


def domain_messages() -> tuple[dict[str, str], list[str]]:
    resolver = Resolver(modules())
    found = resolver.problems()
    for m, expr, fn in appended_pairs("_check_branches"):
        for text in resolver.texts(m, expr, fn, found):
            found.messages.setdefault(text, m.where(expr))
    return found.messages, found.unresolved


def test_every_problem_the_domain_makes_has_its_own_sentence() -> None:
    messages, unresolved = domain_messages()
    assert len(messages) > 120, len(messages)  # the scan really reads the validators
    assert "leads to no step yet: choose the step it leads to" in messages
    assert "x can reach end step 'x' without passing join 'x'" in messages
    not_followed = {u.split(": ", 1)[1] for u in unresolved}
    assert not_followed <= NOT_FOLLOWED, f"follow these in domain_messages.py: {unresolved}"
    generic = {m: where for m, where in messages.items()
               if plain(m)[0] == FALLBACK and m != PREFIXED}  # fmt: skip
    assert not generic, f"add a pattern to domain/wording/problems.py TABLE for: {generic}"


def test_a_new_problem_falls_back_and_fails_the_coverage(tmp_path: Path) -> None:
    source = tmp_path / "new_check.py"
    source.write_text(
        "def check(at, name):\n"
        "    message = f'the widget {name} is frobnicated'\n"
        "    yield Problem(at, message)\n"
    )
    found = Resolver([Module(source, ast.parse(source.read_text()))]).problems()
    assert list(found.messages) == ["the widget x is frobnicated"]
    assert plain("the widget x is frobnicated") == (
        FALLBACK, {"message": "the widget x is frobnicated"})  # fmt: skip
    text = explain("steps[0].frob", "the widget x is frobnicated", "id")
    assert text.endswith("Ada yang perlu diperbaiki di sini: the widget x is frobnicated")


def test_every_sentence_fills_its_placeholders_from_its_pattern() -> None:
    for entry in TABLE:
        named = {n for _, n, _, _ in string.Formatter().parse(entry.text) if n}
        assert named <= set(entry.pattern.groupindex), (entry.pattern.pattern, entry.text)


def _broken(change: Any) -> tuple[dict[str, Any], list[Any]]:
    definition = copy.deepcopy(BASE)
    change(definition)
    parsed, problems = parse_definition(definition)
    return definition, problems


def _set(path: str, value: Any) -> Any:
    def change(d: dict[str, Any]) -> None:
        *parents, last = re.findall(r"\w+", path)
        target: Any = d
        for p in parents:
            target = target[int(p)] if p.isdigit() else target[p]
        target[int(last) if last.isdigit() else last] = value

    return change


MISTAKES = {
    "empty condition": _set("steps.2.branches.0.when", ""),
    "branch to nowhere": _set("steps.2.branches.0.goto", ""),
    "unknown step": _set("steps.1.outcomes.setuju", "cek_pesrta"),
    "duplicate step ids": _set("steps.4.id", "terbit"),
    "duplicate field ids": _set("fields.1.id", "nama"),
    "missing end": lambda d: d.update(steps=[
        {"kind": "form", "id": "ajukan", "name": "Pengajuan", "next": "periksa"},
        {"kind": "review", "id": "periksa", "name": "Periksa", "role": "officer",
         "outcomes": {"ulang": "periksa"}}]),  # fmt: skip
    "unreachable step": lambda d: d["steps"].append(
        {"kind": "end", "id": "lupa", "name": "Terlupa", "result": "cancelled"}),
    "bad field id": _set("fields.0.id", "Nama Penyelenggara"),
    "unknown name in a condition": _set("steps.2.branches.0.when", "jumlah > 1000"),
    "condition that does not parse": _set("steps.2.branches.0.when", "peserta >"),
    "decision without default": lambda d: d["steps"][2].pop("default"),
    "unknown role": _set("steps.1.role", "lurah"),
    "missing name": _set("steps.1.name", ""),
    "missing step kind": lambda d: d["steps"][1].pop("kind"),
    "unknown property": _set("steps.0.colour", "red"),
    "a loop nobody acts in": lambda d: d["steps"].insert(3, {
        "kind": "decision", "id": "putar", "name": "Putar", "branches": [], "default": "putar"}),
    "wrong type of value": _set("fields.0.required", "maybe"),
    "unknown field type": _set("fields.0.type", "colour"),
    "negative fee": lambda d: d["steps"].insert(3, {
        "kind": "payment", "id": "bayar", "name": "Bayar", "fee": {"amount": -5},
        "next": "terbit"}),
}  # fmt: skip


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_a_typical_mistake_reads_as_a_sentence_without_path_syntax(mistake: str) -> None:
    definition, problems = _broken(MISTAKES[mistake])
    assert problems, f"{mistake}: the validator found nothing"
    for p in problems:
        assert plain(p.message)[0] != FALLBACK, (mistake, p.message)
        for language in ("id", "en"):
            text = explain(p.path, p.message, language, definition=definition)
            assert not PATH_SYNTAX.search(text), text
            assert p.message not in text, text
        assert explain(p.path, p.message, "id", definition=definition) != explain(
            p.path, p.message, "en", definition=definition
        )


def test_an_empty_condition_is_named_by_its_step_and_branch() -> None:
    definition, [problem] = _broken(MISTAKES["empty condition"])
    assert problem.path == "steps[2].branches[0].when"  # the API's path is unchanged
    assert explain(problem.path, problem.message, "id", definition=definition) == (
        "Langkah 'Cek jumlah peserta' › cabang 1 › kondisi: Kondisinya masih kosong: susun "
        "kondisi dengan penyusun kondisi.")  # fmt: skip
    assert explain(problem.path, problem.message, "en", definition=definition) == (
        "Step 'Cek jumlah peserta' › branch 1 › condition: The condition is still empty: "
        "write one with the condition builder.")  # fmt: skip
    # Without the definition the place is still words: the step's number.
    assert place(problem.path, "id").startswith("Langkah 3 › cabang 1")


def test_the_citizens_problems_are_plain_indonesian_named_by_the_fields_label() -> None:
    parsed, _ = parse_definition(BASE)
    assert parsed is not None
    problems = validate_application_data(
        parsed, {"peserta": "banyak", "nik": "12345", "hobi": "catur"}
    )
    shown = {p.path: explain(p.path, p.message, "id", definition=BASE) for p in problems}
    assert shown == {
        "data.nama": "Nama penyelenggara: Bagian ini wajib diisi.",
        "data.peserta": "Jumlah peserta: Tulis angka di sini (hanya angka).",
        "data.nik": "NIK: NIK terdiri atas tepat 16 angka: periksa dengan KTP.",
        "data.hobi": "Hobi: Formulir mengirim isian yang tidak dimiliki layanan ini ('hobi'): "
        "buka formulirnya lagi dan kirim dari sana.",
    }


def test_a_key_problem_and_the_standard_are_named_in_words() -> None:
    assert explain("steps[1].outcomes.Setuju", "key must be a lower-case id: a letter, then "
                   "letters, digits or '_'", "en").startswith(
        "Step 2 › outcome 'Setuju': Write the id in lower case")  # fmt: skip
    text = explain("standard.delivery.fee", "Biaya/tarif is missing: add a payment step, or "
                   "explain the fee in standard.delivery.fee.", "id")  # fmt: skip
    assert text.startswith("Standar Pelayanan › Biaya/tarif: Standar Pelayanan belum menyebut")
    assert explain("", "definition must be a JSON object", "en") == (
        "The service definition cannot be read: it must be a JSON object.")  # fmt: skip
