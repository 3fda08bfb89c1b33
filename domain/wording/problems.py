"""The validators' problems as sentences for the people who fix them: an agency
administrator in the designer, a citizen in the portal.

The validators (``domain``) word each problem for programmers and the API, with a path
into the document: ``steps[2].branches[0].when: the condition is empty: ...``. Those
stay exactly as they are (API clients read them). :func:`explain` turns one into what is
wrong and what to do, naming the place by what the person sees (Step 'Periksa syarat',
branch 1, condition) in Bahasa Indonesia or English. It reads the English message
against an ordered table of patterns, each with the plain text as a msgid of the shared
catalogue whose ``{placeholders}`` are the pattern's named groups; the first pattern
that matches the whole message wins. A message no pattern knows (a check added later)
still gets a sentence, :data:`FALLBACK`, with the technical message inside it;
``tests/domain/wording/test_problems.py`` fails until every message the domain can make has
its own pattern."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from domain.wording import N_, catalogue


@dataclass(frozen=True)
class Plain:
    pattern: re.Pattern[str]
    """Matches the whole English technical message; its named groups fill ``text``."""
    text: str
    """The msgid of the plain sentence (English); ``{name}`` for each named group."""


def _p(pattern: str, text: str) -> Plain:
    return Plain(re.compile(pattern, re.DOTALL), text)


_EXPRESSION_SHAPE = N_(
    "The condition uses something a condition cannot do: compare a field with a value "
    "(=, <, >, in), and join comparisons with and/or. The condition builder writes such "
    "conditions."
)
_EXPRESSION_SIZE = N_(
    "The condition could take too long to work out with the largest values its fields "
    "allow: compare with shorter lists and texts, or give the number fields a smaller "
    "largest value."
)
_EXPRESSION_TYPES = N_(
    "The condition mixes values that do not go together (such as text and a number): "
    "compare each field with a value of its own kind."
)
_EMPTY_CONDITION = N_("The condition is still empty: write one with the condition builder.")
_UNKNOWN_NAME = N_(
    "The condition uses '{name}', which is neither a form field nor a review step: "
    "choose a field from the list."
)
_REQUIRED = N_("This must be filled in.")
_TOO_LONG = N_("This is too long: at most {count} characters.")
_CHOOSE_ONE = N_("Choose one of: {choices}.")
_A_NUMBER = N_("Write a number here (digits only).")
_TEXT = N_("Write text here.")
_RELOAD_FORM = N_("The form could not be read: open it again and send it once more.")
_ANY = r"(?:.*)"

TABLE: Final[Sequence[Plain]] = (
    # -- where the flow goes --------------------------------------------------------------
    _p(r"leads to no step yet: choose the step it leads to",
       N_("It does not lead to any step yet: choose the step it goes to.")),
    _p(r"leads to unknown step '(?P<step>.*)'",
       N_("It leads to a step that does not exist ('{step}'): choose one of the steps.")),
    _p(r"start step '(?P<step>.*)' does not exist",
       N_("The flow starts at a step that does not exist ('{step}'): choose the first "
          "step.")),
    _p(r"step '(?P<step>.*)' does not exist",
       N_("There is no step '{step}': choose one of the steps.")),
    _p(r"decision has no default step \(used when no branch matches\)",
       N_("Choose where the flow goes when no condition holds ('otherwise').")),
    _p(r"definition has no end step; add a step of kind 'end'",
       N_("The flow never ends: add an End step (with its result) where the application "
          "is finished.")),
    _p(r"step '(?P<step>.*)' is not reachable from the start step '(?P<start>.*)'",
       N_("No way leads to this step from the first step: let another step lead to it, "
          "or remove it.")),
    _p(r"no path to an end step from step '(?P<step>.*)'",
       N_("From this step the application can never finish: let it lead on towards an "
          "End step.")),
    _p(r"loop without an exit: (?P<steps>.*) never \S+ an end step",
       N_("These steps go round in a loop with no way out: let one of them lead on "
          "towards an End step.")),
    _p(r"loop without a human step: (?P<steps>.*) would repeat for ever on the same data;"
       r" put a review step in the loop",
       N_("The steps {steps} go round in a loop in which nobody acts, so it would never "
          "stop: put a review step in the loop.")),
    _p(r"a correction cannot resume at itself; .*",
       N_("After the correction the flow cannot come back to the correction itself: "
          "resume at the step that checks the corrected data.")),
    _p(r"timeout needs on_timeout: .*",
       N_("A time-out needs the step to go to when it passes: choose it.")),
    _p(r"on_timeout needs a timeout",
       N_("A step to go to on time-out needs a time-out: set how long to wait, or remove "
          "that step.")),
    _p(r"on_unpaid needs a deadline: .*",
       N_("Where to go when the fee is not paid needs a deadline: set how long the "
          "citizen has to pay, or leave it out.")),
    _p(r"a counter-verified enrolment is required, but .*",
       N_("A face that fails the check goes on to the same step as one that passes: send "
          "it to an identity check at the counter instead.")),
    _p(r"a visit is served at the counter by an officer or a supervisor, not by '(?P<role>.*)'"
       r"; .*",
       N_("A visit is served at the counter by an officer or a supervisor: choose one of "
          "them.")),
    _p(r"location '(?P<location>.*)' is listed twice",
       N_("The location '{location}' is listed twice: remove one.")),
    _p(r"service '(?P<service>.*)' cannot run itself as a sub-service",
       N_("A service cannot run itself as a sub-service: choose another service.")),
    _p(r"event '(?P<event>.*)' is already awaited by step '(?P<step>.*)' \(.*\); .*",
       N_("Step '{step}' already waits for the event '{event}': give each waiting step "
          "its own event.")),
    # -- parallel branches ---------------------------------------------------------------
    _p(r"join step '(?P<join>.*)' does not exist",
       N_("The branches meet at a join step that does not exist ('{join}'): choose a join "
          "step.")),
    _p(r"step '(?P<step>.*)' is a (?P<kind>.*) step, not a join step",
       N_("Branches meet at a join step, and '{step}' is not one: choose a join step.")),
    _p(r"branch '(?P<step>.*)' is listed twice \(see .*\)",
       N_("The branch that starts at '{step}' is listed twice: remove one.")),
    _p(r"join '(?P<join>.*)' already belongs to parallel '(?P<parallel>.*)' \(.*\); .*",
       N_("The join step '{join}' already closes the parallel step '{parallel}': give "
          "each parallel step its own join step.")),
    _p(r"step '(?P<step>.*)' leads to join '(?P<join>.*)' from outside the branches of"
       r" parallel '(?P<parallel>.*)'",
       N_("Step '{step}' leads to the join step '{join}' from outside the branches of "
          "'{parallel}': only those branches may lead to it.")),
    _p(r"step '(?P<step>.*)' leads into branch '(?P<branch>.*)' of parallel"
       r" '(?P<parallel>.*)' from outside it; .*",
       N_("Step '{step}' leads into a branch of '{parallel}' from outside it: only the "
          "parallel step starts its branches.")),
    _p(r"join step '(?P<join>.*)' is not the join of any parallel step",
       N_("The join step '{join}' closes no parallel step: make it the meeting point of "
          "a parallel step, or remove it.")),
    _p(r".* is its join step; a branch needs a step of its own",
       N_("A branch starts at the join step itself: start each branch at a step of its "
          "own.")),
    _p(r".* leads back to the parallel step before join '(?P<join>.*)'",
       N_("A branch leads back to the parallel step before it reaches the join step "
          "'{join}': let it end at the join step.")),
    _p(r".* can reach end step '(?P<end>.*)' without passing join '(?P<join>.*)'",
       N_("A branch can reach the end '{end}' without passing the join step '{join}': let "
          "every branch end at the join step.")),
    _p(r".* before join '(?P<join>.*)'; branches of a parallel must stay separate",
       N_("Two branches of this parallel step meet before the join step '{join}': keep "
          "them apart until the join step.")),
    # -- ids and names ---------------------------------------------------------------------
    _p(r"duplicate step id '(?P<id>.*)' \(see .*\)",
       N_("Another step has the same id '{id}': give this one an id of its own.")),
    _p(r"duplicate field id '(?P<id>.*)' \(see .*\)",
       N_("Another field has the same id '{id}': give this one an id of its own.")),
    _p(r"step id '(?P<id>.*)' is also a field id \(.*\); .*",
       N_("'{id}' is the id of a step and of a form field: rename one, so that a "
          "condition knows which one it means.")),
    _p(r"field id '(?P<id>.*)' is also a step id \(.*\); .*",
       N_("'{id}' is the id of a field and of a step: rename one, so that a condition "
          "knows which one it means.")),
    _p(r"'(?P<name>.*)' is reserved in conditions \(true, false, null\)",
       N_("'{name}' cannot be an id (conditions read it as a value): choose another.")),
    _p(r"must be a lower-case id: .*",
       N_("Write the id in lower case without spaces: a letter first, then letters, "
          "digits or _ (such as verifikasi_berkas).")),
    _p(r"must be lower-case letters, digits or '-', starting with a letter",
       N_("Write it in lower case without spaces: a letter first, then letters, digits "
          "or - (such as izin-keramaian).")),
    _p(r"must be (?P<low>\S+) to (?P<high>\S+) upper-case letters",
       N_("Write {low} to {high} capital letters (such as SKD).")),
    _p(r"step needs a 'kind': one of .*", N_("Choose what kind of step this is.")),
    _p(r"unknown step kind (?P<kind>.*); expected one of .*",
       N_("{kind} is not a kind of step: choose one from the list.")),
    _p(r"unknown property", N_("This setting does not belong here: remove it.")),
    _p(r"definition must be a JSON object",
       N_("The service definition cannot be read: it must be a JSON object.")),
    # -- form fields -------------------------------------------------------------------------
    _p(r"a choice field needs at least one choice",
       N_("A choice field needs its choices: list at least one.")),
    _p(r"only choice fields have choices \(type is '(?P<type>.*)'\)",
       N_("Only a choice field has choices: remove them, or make it a choice field.")),
    _p(r"only number fields have a (?P<limit>.*) \(type is '(?P<type>.*)'\)",
       N_("Only a number field has a smallest or largest value: remove it, or make it a "
          "number field.")),
    _p(r"only file fields take document kinds \(type is '(?P<type>.*)'\)",
       N_("Only a file field takes document kinds: remove them, or make it a file "
          "field.")),
    _p(r"unknown document kind '(?P<kind>.*)'; one of .*",
       N_("'{kind}' is not a kind of document: choose one from the list.")),
    _p(r"max \((?P<max>.*)\) must not be less than min \((?P<min>.*)\)",
       N_("The largest value ({max}) is less than the smallest ({min}): correct one of "
          "them.")),
    _p(r"must be between -(?P<low>.*) and (?P<high>.*)",
       N_("The number is too large: use one between -{high} and {high}.")),
    _p(r"unknown profile field (?P<path>.*); write profile\.<field>, one of: .*",
       N_("{path} is not part of the citizen's profile: choose one from the list.")),
    _p(r"'(?P<field>.*)' is not a declared field id \(form or external-step field\)",
       N_("'{field}' is not a field of this service: choose one of its fields.")),
    _p(r"placeholder '\{(?P<name>.*)\}' .*",
       N_("The text uses {{{name}}}, which is not a field of this service: use one of "
          "the placeholders listed, or remove it.")),
    # -- roles and deadlines -------------------------------------------------------------
    _p(r"unknown role '(?P<role>.*)'; allowed: .*",
       N_("'{role}' is not a role of the agency's staff: choose one from the list.")),
    _p(r"must be shorter than within \((?P<within>[^,)]*)(?:, [^)]*)?\), but is (?P<remind>.*)",
       N_("The reminder ({remind}) must come before the deadline ({within}): make it "
          "shorter.")),
    _p(r"Value error, working days must be a whole number",
       N_("Working days are counted whole: write a whole number.")),
    # -- conditions ----------------------------------------------------------------------------
    _p(r"the condition is empty: write one with the condition builder", _EMPTY_CONDITION),
    _p(r"expression is empty", _EMPTY_CONDITION),
    _p(r"unknown name '(?P<name>.*)': not a declared field id, .*", _UNKNOWN_NAME),
    _p(r"unknown name '(?P<name>.*)'", _UNKNOWN_NAME),
    _p(r"invalid syntax.*|invalid expression: .*|expression must be text",
       N_("The condition cannot be read: write it again with the condition builder.")),
    _p(r".* (?:are|is) not allowed" + _ANY, _EXPRESSION_SHAPE),
    _p(r"expression too long .*|expression nested too deeply|list too long .*",
       N_("The condition is too long: make it shorter, or split it over several "
          "branches.")),
    _p(r"condition can take up to .*|condition takes too many steps .*"
       r"|.* can build a text or list of up to .*|result too large .*", _EXPRESSION_SIZE),
    _p(r"number too large .*|exponent too large .*|result of '\*\*' is not a real number",
       N_("The condition works out a number too large to use: compare with smaller "
          "numbers.")),
    _p(r"division by zero",
       N_("The condition divides by zero: divide by a number that cannot be 0, or compare "
          "without dividing.")),
    _p(r"unsupported operand types .*|cannot compare .*|unary '.*' needs a number, .*"
       r"|'.*' on text needs text on the left, .*|'.*' needs a list or text on the right",
       _EXPRESSION_TYPES),
    # -- the Standar Pelayanan ---------------------------------------------------------------
    _p(r"Persyaratan is empty: .*",
       N_("The Standar Pelayanan lists no requirements (Persyaratan): add a required form "
          "field or upload, or write the requirements.")),
    _p(r"Sistem, mekanisme dan prosedur is empty: .*",
       N_("The Standar Pelayanan has no procedure (Sistem, mekanisme dan prosedur): add "
          "the steps, or describe the procedure.")),
    _p(r"Jangka waktu penyelesaian is missing: .*",
       N_("The Standar Pelayanan has no time limit (Jangka waktu penyelesaian): set the "
          "service's time limit or a step's deadline, or explain it.")),
    _p(r"Biaya/tarif is missing: .*",
       N_("The Standar Pelayanan says nothing about the fee (Biaya/tarif): add a payment "
          "step, or explain the fee (such as: free).")),
    _p(r"Produk pelayanan is missing: .*",
       N_("The Standar Pelayanan does not say what the citizen receives (Produk "
          "pelayanan): add a document step, or name it.")),
    _p(r"Penanganan pengaduan, saran dan masukan is missing: .*",
       N_("The Standar Pelayanan says nowhere to complain (Penanganan pengaduan): give a "
          "phone number, e-mail address, web address or desk.")),
    _p(r"the explanation says the service is free \(gratis\), .*",
       N_("The explanation says the service is free, but a payment step charges a fee: "
          "change one of them.")),
    _p(r"the explanation says (?P<said>.*), but the flow enforces (?P<enforced>.*); .*",
       N_("The explanation says {said}, but the flow allows {enforced}: change the time "
          "limit or the explanation.")),
    _p(r"the explanation names (?P<named>.*), which no payment rule charges"
       r" \((?P<charged>.*)\); .*",
       N_("The explanation names {named}, which no payment charges ({charged}): change "
          "the payment step or the explanation.")),
    # -- values the citizen sends ----------------------------------------------------------
    _p(r"required field is (?P<state>.*)", _REQUIRED),
    _p(r"is required|Field required", _REQUIRED),
    _p(r"is empty: fill it in", N_("This is still empty: fill it in.")),
    _p(r"unknown field '(?P<field>.*)'",
       N_("The form sent a field this service does not have ('{field}'): open the form "
          "again and send it from there.")),
    _p(r"must be text", _TEXT),
    _p(r"must be at most (?P<count>.*) characters", _TOO_LONG),
    _p(r"at most (?P<count>\S*) characters", _TOO_LONG),
    _p(r"must be a number", _A_NUMBER),
    _p(r"must be at least (?P<number>.*)", N_("Use a number of at least {number}.")),
    _p(r"must be at most (?P<number>.*)", N_("Use a number of at most {number}.")),
    _p(r"must be a date in YYYY-MM-DD format",
       N_("Write a date as year-month-day, such as 2026-08-17.")),
    _p(r"is not a real calendar date",
       N_("That date does not exist: check the day and the month.")),
    _p(r"must be one of: (?P<choices>.*)", _CHOOSE_ONE),
    _p(r"(?:religion|marital status) must be one of: (?P<choices>.*)", _CHOOSE_ONE),
    _p(r"NIK must have exactly 16 digits",
       N_("A NIK has exactly 16 digits: check it against the KTP.")),
    _p(r"NIK serial number \(last 4 digits\) must not be all zeros",
       N_("This is not a valid NIK (its last 4 digits cannot all be 0): check it against "
          "the KTP.")),
    _p(r"NIK birth date \(digits 7-12, DDMMYY\) is not a real calendar date",
       N_("This is not a valid NIK (the date of birth in it does not exist): check it "
          "against the KTP.")),
    _p(r"must be a file reference \(text, at most .*\)",
       N_("The file did not arrive: attach it again.")),
    _p(r"must be valid Unicode text .*",
       N_("The text holds a character that cannot be stored: type it again.")),
    _p(r"unsupported field type '(?P<type>.*)'",
       N_("This field has a type Lincah does not know ('{type}'): the agency must correct "
          "the form.")),
    _p(r"application data must be an object|must be an object", _RELOAD_FORM),
    _p(r"there is no upload requirement '(?P<requirement>.*)'; .*",
       N_("This service asks for no document '{requirement}': open the form again.")),
    _p(r"there is no document (?P<document>.*) in your wallet; .*",
       N_("That document is no longer among your documents: upload it again.")),
    _p(r"document (?P<document>.*) is a (?P<kind>.*); '(?P<label>.*)' takes a (?P<takes>.*)",
       N_("That document is a {kind}, but '{label}' needs a {takes}: choose or upload the "
          "right one.")),
    _p(r"'(?P<label>.*)' is attached \(.*\); leave it out of data",
       N_("'{label}' is already attached: it needs nothing else.")),
    _p(r"'(?P<label>.*)' takes an uploaded document, not a value in data: .*",
       N_("'{label}' needs a document: upload one, or choose one of your documents.")),
    _p(r"'(?P<label>.*)' is required: .*",
       N_("'{label}' is required: upload the document, or choose one of your documents.")),
    # -- the citizen's profile ---------------------------------------------------------------
    _p(r"a profile has no such field|a profile has no field .*",
       N_("The profile has no such part: open the profile page again.")),
    _p(r"must be a non-empty text", N_("Fill this in.")),
    _p(r"has no value to verify; declare it first",
       N_("There is nothing to verify yet: fill it in first.")),
    _p(r"name at least one field", N_("Choose at least one part of the profile.")),
    _p(r"the KK number must have exactly 16 digits",
       N_("A family card (KK) number has exactly 16 digits: check it against the card.")),
    _p(r"sex must be L \(laki-laki\) or P \(perempuan\)",
       N_("Choose L (laki-laki) or P (perempuan).")),
    _p(r"(?P<part>.*) must be 1 to 3 digits", N_("{part} has 1 to 3 digits.")),
    _p(r"the date of birth must be a date like (?P<example>.*)",
       N_("Write the date of birth as year-month-day, such as {example}.")),
    _p(r"a phone number is 8 to 15 digits, .*",
       N_("A phone number has 8 to 15 digits, such as 081234567890.")),
    _p(r"that is not an e-mail address .*",
       N_("That is not an e-mail address: write it as name@domain.")),
    _p(r"only printable characters, on one line",
       N_("Use ordinary characters, on one line.")),
    _p(r"the date of birth does not agree with the one in the NIK .*",
       N_("The date of birth does not agree with the NIK: check both against the KTP.")),
    _p(r"the sex does not agree with the NIK .*",
       N_("The sex does not agree with the NIK: check both against the KTP.")),
    # -- warnings for the officer ----------------------------------------------------------
    _p(r"NIK province code .*",
       N_("The province in the NIK is not in today's list (it may be a former province's "
          "code): check it against the KTP. The NIK was accepted.")),
    _p(r"the citizen changed this value, .*",
       N_("The citizen changed this value, which their profile holds as verified: check "
          "the new value against the documents.")),
    # -- pydantic's own messages (types and sizes of what the form sends) --------------------
    _p(r"Input should be a valid (?:integer|number).*|Input should be a finite number",
       _A_NUMBER),
    _p(r"Input should be a valid string", _TEXT),
    _p(r"Input should be a valid boolean.*", N_("Choose yes or no.")),
    _p(r"Input should be a valid date.*",
       N_("Write a date as year-month-day, such as 2026-08-17.")),
    _p(r"Input should be a valid (?:list|dictionary|array|object).*"
       r"|Input should be an object.*", _RELOAD_FORM),
    _p(r"String should have at most (?P<count>\d+) characters?", _TOO_LONG),
    _p(r"String should have at least (?P<count>\d+) characters?",
       N_("This is too short: at least {count} characters.")),
    _p(r"Input should be greater than or equal to (?P<number>.*)",
       N_("Use a number of at least {number}.")),
    _p(r"Input should be greater than (?P<number>.*)",
       N_("Use a number greater than {number}.")),
    _p(r"Input should be less than or equal to (?P<number>.*)",
       N_("Use a number of at most {number}.")),
    _p(r"Input should be less than (?P<number>.*)", N_("Use a number less than {number}.")),
    _p(r"List should have at least (?P<count>\d+) items?.*",
       N_("List at least {count} here.")),
    _p(r"List should have at most (?P<count>\d+) items?.*",
       N_("List at most {count} here.")),
    _p(r"Input should be (?P<choices>'.*')", _CHOOSE_ONE),
)  # fmt: skip
"""Ordered: the first pattern matching the whole message words it (so a specific
``must be at most 5 characters`` comes before ``must be at most 5``)."""

FALLBACK: Final = N_("Something here needs fixing: {message}")
"""For a message no pattern knows: the technical message, in a sentence."""

_KEY = "key "
"""``domain.validation`` prefixes a problem with a mapping's key by this."""


def plain(message: str) -> tuple[str, dict[str, str]]:
    """The msgid that words ``message`` and the values of its placeholders; the
    :data:`FALLBACK` (with ``message``) when no pattern matches."""
    inner = message.removeprefix(_KEY)
    for entry in TABLE:
        found = entry.pattern.fullmatch(inner)
        if found:
            return entry.text, {k: v for k, v in found.groupdict().items() if v is not None}
    return FALLBACK, {"message": message}


def explain(
    problem_path: str,
    message: str,
    language: str = "id",
    *,
    definition: Mapping[str, Any] | None = None,
) -> str:
    """The problem as a sentence the person fixing it acts on, in ``language`` (``id``,
    the default, or ``en``): where (named by what they see; the step's name and the
    field's label when ``definition`` is given: a service definition, or any mapping
    with ``fields`` as the portal's form has them), then what is wrong and what to do."""
    msgid, values = plain(message)
    words = catalogue(language)
    text = words.gettext(msgid).format_map(_Missing(values))
    where = place(problem_path, language, definition)
    return f"{where}: {text}" if where else text


class _Missing(dict[str, str]):
    """Formatting values that show a placeholder a translation misspells as itself,
    rather than failing the page (the catalogue test catches the misspelling)."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


# -- where: the path in the words of the designer's pages -----------------------------------

_TOKEN = re.compile(r"\[(\d+)\]|([^.\[\]]+)")

PARTS: Final = {
    "when": N_("condition"),
    "goto": N_("then go to"),
    "next": N_("next step"),
    "default": N_("otherwise"),
    "on_error": N_("if the condition cannot be worked out"),
    "join": N_("join step"),
    "branches": N_("branches"),
    "resume": N_("resume at"),
    "on_abandon": N_("if abandoned"),
    "abandon_after": N_("abandoned after"),
    "timeout": N_("time-out"),
    "on_timeout": N_("on time-out"),
    "no_show": N_("did not come"),
    "on_match": N_("face matches"),
    "on_mismatch": N_("no match"),
    "on_unpaid": N_("unpaid"),
    "id": N_("id"),
    "name": N_("name"),
    "label": N_("label"),
    "required": N_("required"),
    "type": N_("type"),
    "choices": N_("choices"),
    "min": N_("smallest value"),
    "max": N_("largest value"),
    "kinds": N_("document kinds"),
    "prefill": N_("prefill from the profile"),
    "role": N_("role"),
    "deadline": N_("deadline"),
    "within": N_("within"),
    "remind_before": N_("remind before"),
    "escalate_to": N_("on breach, move to"),
    "message": N_("message"),
    "template": N_("document"),
    "body": N_("text"),
    "title": N_("title"),
    "code": N_("number code"),
    "signatory": N_("signed by"),
    "event": N_("event"),
    "fields": N_("fields"),
    "service": N_("service"),
    "inputs": N_("inputs"),
    "locations": N_("locations"),
    "purpose": N_("purpose"),
    "fee": N_("fee"),
    "amount": N_("amount"),
    "instructions": N_("instructions"),
    "outcomes": N_("outcomes"),
    "result": N_("result"),
    "start": N_("first step"),
    "cancellable_until": N_("cancellable until"),
    "time_limit": N_("time limit"),
    "agency": N_("agency"),
    "description": N_("description"),
    "kind": N_("kind"),
    "mode": N_("wait for"),
    "help": N_("help text"),
    "unit": N_("unit"),
    "steps": N_("steps"),
    "require_counter_enrolment": N_("counter-verified enrolment"),
    "standard": N_("Standar Pelayanan"),
}
"""Each property of a definition by what the designer's pages call it (msgids)."""
COUNTED: Final = {
    "branches": N_("branch {number}"),
    "rules": N_("fee rule {number}"),
    "fields": N_("field {number}"),
    "locations": N_("location {number}"),
    "kinds": N_("document kind {number}"),
    "choices": N_("choice {number}"),
    "steps": N_("step {number}"),
}
"""An item of a list, counted from 1 (msgids)."""
COMPONENTS: Final = {
    "requirements": "Persyaratan",
    "procedure": "Sistem, mekanisme dan prosedur",
    "time_limit": "Jangka waktu penyelesaian",
    "fee": "Biaya/tarif",
    "product": "Produk pelayanan",
    "complaints": "Penanganan pengaduan, saran dan masukan",
}
"""The Standar Pelayanan's components by their names in the law, in either language."""
_SEPARATOR = " \u203a "  # a chevron: Step 'Periksa syarat' > branch 1


def place(path: str, language: str, definition: Mapping[str, Any] | None = None) -> str:
    """Where ``path`` points, in words: Step 'Periksa syarat', branch 1, condition (joined
    by :data:`_SEPARATOR`)
    ('' for the definition as a whole); no path syntax (``steps[0]``) is left in it."""
    tokens: list[str | int] = [
        int(index) if index else name for index, name in _TOKEN.findall(path)
    ]
    if not tokens:
        return ""
    words = catalogue(language)
    _ = words.gettext
    found = definition or {}
    out: list[str] = []
    first = tokens[0]
    rest = tokens[1:]
    if first in ("steps", "fields") and rest and isinstance(rest[0], int):
        i, rest = rest[0], rest[1:]
        items = found.get(first)
        item = items[i] if isinstance(items, list) and i < len(items) else None
        item = item if isinstance(item, Mapping) else {}
        if first == "steps":
            name = item.get("name") or item.get("id")
            out.append(_("Step '{name}'").format(name=name) if name
                       else _("Step {number}").format(number=i + 1))  # fmt: skip
        else:
            label = item.get("label") or item.get("id")
            out.append(_("Form field '{label}'").format(label=label) if label
                       else _("Form field {number}").format(number=i + 1))  # fmt: skip
    elif first in ("data", "attachments"):
        if rest:
            field_id = str(rest[0])
            labels = {str(f.get("id")): str(f.get("label") or f.get("id"))
                      for f in found.get("fields") or [] if isinstance(f, Mapping)}  # fmt: skip
            out.append(labels.get(field_id, field_id))
            rest = rest[1:]
        else:
            out.append(_("The form"))
    elif first == "standard":
        out.append("Standar Pelayanan")
        if len(rest) >= 2 and rest[0] == "delivery" and rest[1] in COMPONENTS:
            out.append(COMPONENTS[str(rest[1])])
            rest = rest[2:]
        elif rest and rest[0] in ("delivery", "management"):
            rest = rest[1:]
    elif tokens == ["steps"]:
        return ""  # the flow as a whole: the sentence says what it lacks
    else:
        out.append(_("Service"))
        rest = tokens
    out.extend(_parts(rest, _))
    text = _SEPARATOR.join(p for p in out if p)
    return text[:1].upper() + text[1:]


def _parts(tokens: Sequence[str | int], _: Any) -> list[str]:
    out: list[str] = []
    k = 0
    while k < len(tokens):
        part = tokens[k]
        following = tokens[k + 1] if k + 1 < len(tokens) else None
        if isinstance(part, int):
            out.append(str(part + 1))
        elif isinstance(following, int):
            counted = COUNTED.get(part)
            word = _(counted) if counted else f"{_part(part, _)} {{number}}"
            out.append(word.format(number=following + 1))
            k += 1
        elif part == "outcomes" and following is not None:
            out.append(_("outcome '{outcome}'").format(outcome=following))
            k += 1
        elif part == "inputs" and following is not None:
            out.append(_("input '{name}'").format(name=following))
            k += 1
        elif part == "fee" and following == "rules":
            pass  # "fee rule 2" says it
        else:
            out.append(_part(part, _))
        k += 1
    return out


def _part(name: str, _: Any) -> str:
    known = PARTS.get(name)
    return str(_(known)) if known else name.replace("_", " ")
