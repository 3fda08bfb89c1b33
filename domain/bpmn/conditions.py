"""Conditions written for other engines, translated into Lincah's expression language.

Camunda 7 writes JUEL (``${amount > 1000 && approved}``), Camunda 8 writes FEEL
(``= amount > 1000 and approved``), other tools plain text. The comparison forms an
agency's model actually uses translate one to one; anything else (method calls,
``execution.getVariable(...)``, functions) is not guessed at: the import reports it and
the administrator writes it again in the condition builder.
"""

from __future__ import annotations

import re

from domain.expressions import ExpressionError, parse

_WRAPPER = re.compile(r"^\s*[$#]\{(.*)\}\s*$", re.S)
_STRING = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")
# JUEL's word operators, and the symbols Lincah writes as words.
_WORDS = {
    r"&&": " and ",
    r"\|\|": " or ",
    r"!(?!=)": " not ",
    r"\beq\b": "==",
    r"\bne\b": "!=",
    r"\bneq\b": "!=",
    r"\blt\b": "<",
    r"\bgt\b": ">",
    r"\ble\b": "<=",
    r"\bge\b": ">=",
}


def translate(text: str) -> str | None:
    """Lincah's form of a foreign condition, or None when it cannot be translated
    faithfully. The result always parses in ``domain.expressions``."""
    cond = text.strip()
    wrapped = _WRAPPER.match(cond)
    if wrapped:
        cond = wrapped.group(1).strip()
    if cond.startswith("="):  # FEEL, as Camunda 8 writes it
        cond = cond[1:].strip()
    if not cond:
        return None
    parts = _STRING.split(cond)
    for i in range(0, len(parts), 2):  # only outside string literals
        part = parts[i]
        for pattern, replacement in _WORDS.items():
            part = re.sub(pattern, replacement, part)
        # FEEL's single "=" is a comparison; keep <=, >=, != and == as they are.
        part = re.sub(r"(?<![<>!=])=(?!=)", "==", part)
        parts[i] = part
    result = re.sub(r"\s+", " ", "".join(parts)).strip()
    try:
        parse(result)
    except ExpressionError:
        return None
    return result
