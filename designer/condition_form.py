"""The condition builder: the default way to write a condition. Groups of clauses, each
clause a row (the data by its label, the comparison in words, a value widget that fits
the data: a number, one of a choice field's options or a review's outcomes, a date,
a text), the clauses of a group and the groups each joined by "all"/"any". Every change
writes the expression at once; a clause without its value yet writes nothing. "Write as
text (advanced)" switches to the expression itself; a text the builder cannot show opens
that way, with the reason.

Widget keys are a contract (the browser test finds them by Streamlit's ``st-key-<key>``
classes); with K the condition's key: ``K.cb.join``, ``K.cb.add``, ``K.cb.{g}.join``,
``K.cb.{g}.add``, ``K.cb.{g}.{c}.name|op|value|del``, ``K.astext``, and ``K`` (the text
input, in text mode only). ``K.cb.shape`` (not a widget) holds how many clauses each
group has."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

import streamlit as st

from designer.conditions import (
    EMPTY_TESTS,
    JOINS,
    LISTS,
    ORDERED,
    Clause,
    Condition,
    Group,
    Join,
    Scalar,
    Unreadable,
    Value,
    canonical,
    describe,
    items,
    literal,
    number,
    read,
    to_text,
)
from designer.i18n import N_, _

if TYPE_CHECKING:
    from designer.forms import Context

OP_WORDS: Mapping[str, str] = {
    "==": N_("is equal to"),
    "!=": N_("is not equal to"),
    "<": N_("is less than"),
    "<=": N_("is at most"),
    ">": N_("is more than"),
    ">=": N_("is at least"),
    "in": N_("is one of"),
    "not in": N_("is not one of"),
    "is empty": N_("is empty"),
    "is not empty": N_("is not empty"),
}
JOIN_CHOICES: Mapping[Join, str] = {
    "all": N_("all hold (and)"),
    "any": N_("any holds (or)"),
}
JOIN_WORDS: Mapping[Join, str] = {"all": N_("and"), "any": N_("or")}
REASON_TEXTS: Mapping[str, str] = {
    "invalid": N_("it is not a valid condition yet ({detail})"),
    "arithmetic": N_("it calculates (+ - * / …)"),
    "negation": N_("it uses not"),
    "nesting": N_("its and/or are nested deeper than groups of clauses"),
    "chain": N_("it chains comparisons (a < b < c)"),
    "comparison": N_("a part of it is not «data, comparison, value»"),
    "unknown": N_("{name} is not a form field or a step with a result"),
    "value": N_("the builder has no input for the value {value} of {name}"),
}

Shown = Literal["visible", "collapsed"]
"""A row's labels: shown on the first row of a group, the rows below line up under it."""
_PLAIN = ("==", "!=", "in", "not in", *EMPTY_TESTS)
_ALL = ("==", "!=", *ORDERED, "in", "not in", *EMPTY_TESTS)
_PICKED = ("choice", "outcome")
"""Kinds whose values are picked from a list (ctx.name_options)."""


def operators(kind: str) -> tuple[str, ...]:
    """The comparisons offered for data of ``kind``: order only for numbers and dates."""
    return _ALL if kind in ("number", "date") else _PLAIN


def condition(label: str, key: str, value: str, ctx: Context) -> str:
    """Draw the condition ``value`` under ``key``; returns the expression as the widgets
    now say (``value`` itself while they say the same)."""
    ss = st.session_state
    if f"{key}.cb.shape" not in ss or not (ss.get(f"{key}.astext") or _state_fits(key, ctx)):
        # First drawn, or the editor forgot its widgets; or a field's type changed under
        # a value: shown afresh from the text, which nothing changed.
        _load(key, value, ctx)
    st.markdown(f"**{label}**")
    if not ctx.condition_names:
        st.caption(_("Add form fields (or review steps) first: conditions read their values."))
    as_text = st.checkbox(_("Write as text (advanced)"), key=f"{key}.astext",
                          on_change=_switch, args=(key, ctx))  # fmt: skip
    if as_text:
        written = str(st.text_input(label, key=key, label_visibility="collapsed",
                                    placeholder=_("e.g. years_experience < 2")))  # fmt: skip
        why = _unshowable(written, ctx)
        if why:
            st.caption(_("The builder cannot show this condition: {reason}. It stays as "
                         "text.").format(reason=why))  # fmt: skip
        return written
    tree = _draw(key, ctx)
    said = read(value)
    if isinstance(said, Condition) and said == canonical(tree):
        written = value  # the same condition: keep the text as it was written
    else:
        written = to_text(tree, ctx.number_names)
    if written:
        words = describe(tree, lambda n: _label(n, ctx), _op_words(), _join_words())
        st.caption(f"{words} · `{written}`")
    else:
        st.caption(_("Choose the data, the comparison and the value: the condition is "
                     "written once a clause is complete."))  # fmt: skip
    return written


# --- drawing ----------------------------------------------------------------------


def _draw(key: str, ctx: Context) -> Condition:
    ss = st.session_state
    shape: list[int] = ss[f"{key}.cb.shape"]
    choices = {j: _(w) for j, w in JOIN_CHOICES.items()}
    if len(shape) > 1:
        _init(f"{key}.cb.join", "all")
        st.selectbox(_("The groups"), JOINS, key=f"{key}.cb.join",
                     format_func=choices.__getitem__)  # fmt: skip
    words = _join_words()
    for g, count in enumerate(shape):
        if g:  # between the groups, how they are joined, as between the clauses below
            st.caption(f"**{words[_join(ss.get(f'{key}.cb.join'))]}**")
        with st.container(border=True):
            if count > 1:
                _init(f"{key}.cb.{g}.join", "all")
                st.selectbox(_("The clauses of this group"), JOINS, key=f"{key}.cb.{g}.join",
                             format_func=choices.__getitem__)  # fmt: skip
            for c in range(count):
                if c:
                    st.caption(f"**{words[_join(ss.get(f'{key}.cb.{g}.join'))]}**")
                _row(key, g, c, ctx)
            st.button(_("+ Clause"), key=f"{key}.cb.{g}.add", on_click=_add_clause,
                      args=(key, g, ctx), help=_("Add a clause to this group"))  # fmt: skip
    st.button(_("+ Group"), key=f"{key}.cb.add", on_click=_add_group, args=(key, ctx),
              help=_("Add a group of clauses"))  # fmt: skip
    return _tree(key, ctx)


def _row(key: str, g: int, c: int, ctx: Context) -> None:
    ss = st.session_state
    at = f"{key}.cb.{g}.{c}"
    shown: Shown = "visible" if c == 0 else "collapsed"
    # Two lines, for the labels to fit in the editor's narrow column: the data and the
    # comparison, then the value.
    a, b = st.columns([3, 2])
    _init(f"{at}.name", "")
    name = str(ss[f"{at}.name"])
    names = ["", *ctx.condition_names]
    if name not in names:
        names.append(name)
    with a:
        st.selectbox(_("Data"), names, key=f"{at}.name", label_visibility=shown,
                     format_func=_name_shower(ctx), on_change=_name_changed,
                     args=(at, ctx))  # fmt: skip
    kind = _kind(name, ctx)
    ops = list(operators(kind))
    _init(f"{at}.op", "==")
    if ss[f"{at}.op"] not in ops:
        ops.append(str(ss[f"{at}.op"]))
    words = _op_words()
    with b:
        st.selectbox(_("Comparison"), ops, key=f"{at}.op", label_visibility=shown,
                     format_func=lambda o: str(words.get(o, o)), on_change=_op_changed,
                     args=(at, ctx))  # fmt: skip
    op = str(ss[f"{at}.op"])
    v, d = st.columns([5, 1], vertical_alignment="bottom")
    with v:
        if op not in EMPTY_TESTS:
            _value_input(f"{at}.value", name, op, ctx, shown)
    with d:
        st.button("✕", key=f"{at}.del", on_click=_delete, args=(key, g, c, ctx),
                  help=_("Remove this clause"))  # fmt: skip
    if name and op in LISTS and kind not in _PICKED:
        raw = str(ss.get(f"{at}.value") or "")
        if raw.strip() and items(raw, kind == "number") is None:
            st.caption(_("Every value of the list must be a number."))


def _value_input(vkey: str, name: str, op: str, ctx: Context, shown: Shown) -> None:
    """The value widget for data ``name``; its state is the widget's own form of the
    value (see ``_value`` for the clause's)."""
    kind = _kind(name, ctx)
    label = _("Value")
    many = op in LISTS
    if kind in _PICKED:
        options = list(ctx.name_options.get(name, []))
        if many:
            _fit(vkey, kind, op)
            options += [o for o in st.session_state[vkey] if o not in options]
            st.multiselect(label, options, key=vkey, label_visibility=shown,
                           placeholder=_("choose one or more"))  # fmt: skip
        else:
            _fit(vkey, kind, op)
            current = st.session_state[vkey]
            if current is not None and current not in options:
                options.append(current)
            st.selectbox(label, options, key=vkey, label_visibility=shown, index=None,
                         placeholder=_("choose a value"))  # fmt: skip
    elif many:
        _fit(vkey, kind, op)
        st.text_input(label, key=vkey, label_visibility=shown,
                      placeholder=_("a, b, c"))  # fmt: skip
    elif kind == "number":
        _fit(vkey, kind, op)
        st.number_input(label, key=vkey, value=None, step=1.0, format="%g",
                        label_visibility=shown)  # fmt: skip
    elif kind == "date":
        _fit(vkey, kind, op)
        st.date_input(label, key=vkey, value=None, label_visibility=shown,
                      format="DD/MM/YYYY")  # fmt: skip
    else:
        _fit(vkey, kind, op)
        st.text_input(label, key=vkey, label_visibility=shown)


def _widget_state(kind: str, op: str) -> tuple[type | tuple[type, ...], Any]:
    """The type of the value widget's state for data of ``kind`` compared by ``op``, and
    its state when empty (None: empty is allowed besides that type)."""
    if kind in _PICKED:
        return (list, []) if op in LISTS else (str, None)
    if op in LISTS:
        return str, ""  # typed as "a, b, c"
    if kind == "number":
        return (int, float), None
    if kind == "date":
        return date, None
    return str, ""


def _fits_state(state: object, kind: str, op: str) -> bool:
    """Whether the value widget for ``kind`` and ``op`` can take ``state`` (None: no
    value yet, which every widget can show)."""
    return state is None or isinstance(state, _widget_state(kind, op)[0])


def _fit(key: str, kind: str, op: str) -> None:
    """A value widget's state missing (a new clause, other data) starts empty."""
    ss = st.session_state
    expected, empty = _widget_state(kind, op)
    found = ss.get(key)
    if key not in ss or not (isinstance(found, expected) or (found is None and empty is None)):
        ss[key] = empty


def _converted(state: object, kind: str, op: str) -> object:
    """``state`` (of a value widget) as the widget for ``op`` holds it: a value becomes a
    list of one and back, as far as it goes."""
    if _fits_state(state, kind, op):
        return state
    first = (state[0] if state else None) if isinstance(state, list) else state
    listed = op in LISTS
    if isinstance(first, float) and first == int(first):
        first = int(first)
    if kind in _PICKED:
        return ([first] if isinstance(first, str) and first else []) if listed else first
    if listed:  # a number, a date or a text as "a, b, c"
        return first.isoformat() if isinstance(first, date) else str(first or "")
    single = str(first or "").split(",")[0].strip()
    if kind == "number":
        found = number(single)
        return None if found is None else float(found)
    if kind == "date":
        try:
            return date.fromisoformat(single)
        except ValueError:
            return None
    return single


def _init(key: str, value: Any) -> None:
    if key not in st.session_state:
        st.session_state[key] = value


# --- the tree from the widgets, and back --------------------------------------------


def _tree(key: str, ctx: Context) -> Condition:
    """The condition the widgets' state says."""
    ss = st.session_state
    shape: list[int] = ss.get(f"{key}.cb.shape", [])
    groups = []
    for g, count in enumerate(shape):
        clauses = tuple(_clause(f"{key}.cb.{g}.{c}", ctx) for c in range(count))
        groups.append(Group(_join(ss.get(f"{key}.cb.{g}.join")), clauses))
    return Condition(_join(ss.get(f"{key}.cb.join")), tuple(groups))


def _state_fits(key: str, ctx: Context) -> bool:
    """Whether every value widget's state is of the type its data's kind takes."""
    ss = st.session_state
    for g, count in enumerate(ss.get(f"{key}.cb.shape", [])):
        for c in range(count):
            at = f"{key}.cb.{g}.{c}"
            if f"{at}.value" not in ss:
                continue
            kind = _kind(str(ss.get(f"{at}.name") or ""), ctx)
            if not _fits_state(ss[f"{at}.value"], kind, str(ss.get(f"{at}.op") or "==")):
                return False
    return True


def _join(found: object) -> Join:
    return "any" if found == "any" else "all"


def _clause(at: str, ctx: Context) -> Clause:
    ss = st.session_state
    name, op = str(ss.get(f"{at}.name") or ""), str(ss.get(f"{at}.op") or "==")
    if op in EMPTY_TESTS:
        return Clause(name, op)
    return Clause(name, op, _value(ss.get(f"{at}.value"), name, op, ctx))


def _value(state: object, name: str, op: str, ctx: Context) -> Value:
    """The clause's value from its widget's state: None while there is none yet."""
    kind = _kind(name, ctx)
    if op in LISTS:
        if isinstance(state, list):
            return tuple(str(s) for s in state) or None
        if isinstance(state, str):
            return items(state, kind == "number") or None
        return None
    if isinstance(state, int | float) and not isinstance(state, bool):
        return int(state) if state == int(state) else state
    if isinstance(state, date):
        return state.isoformat()
    if isinstance(state, str):
        return state.strip() or None
    return None


def _state(clause: Clause, kind: str) -> Any:
    """The value widget's state showing ``clause``'s value (the inverse of ``_value``)."""
    value = clause.value
    if clause.op in LISTS and isinstance(value, tuple):
        if kind in _PICKED:
            return list(value)
        return ", ".join(str(v) for v in value)
    if kind == "number" and isinstance(value, int | float):
        return float(value)
    if kind == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    return value


def _write(key: str, tree: Condition, ctx: Context) -> None:
    """Set the builder's widgets to show ``tree`` (always at least one clause to fill)."""
    ss = st.session_state
    for old in [k for k in ss if str(k).startswith(f"{key}.cb.")]:
        if str(old).rsplit(".", 1)[-1] in ("shape", "join", "name", "op", "value"):
            del ss[old]
    groups = [g for g in tree.groups if g.clauses] or [Group("all", (Clause(""),))]
    ss[f"{key}.cb.shape"] = [len(g.clauses) for g in groups]
    ss[f"{key}.cb.join"] = tree.join
    for g, group in enumerate(groups):
        ss[f"{key}.cb.{g}.join"] = group.join
        for c, clause in enumerate(group.clauses):
            at = f"{key}.cb.{g}.{c}"
            ss[f"{at}.name"], ss[f"{at}.op"] = clause.name, clause.op
            if clause.op not in EMPTY_TESTS:
                ss[f"{at}.value"] = _state(clause, _kind(clause.name, ctx))


def _unshowable(text: str, ctx: Context) -> str | None:
    """Why the builder cannot show ``text`` with this service's data, in words; None
    when it can."""
    found = read(text)
    if isinstance(found, Unreadable):
        return _(REASON_TEXTS[found.reason]).format(detail=found.detail)
    for g in found.groups:
        for c in g.clauses:
            if c.name not in ctx.condition_names:
                return _(REASON_TEXTS["unknown"]).format(name=c.name)
            if not _fits(c, _kind(c.name, ctx)):
                shown = _literal(c.value)
                return _(REASON_TEXTS["value"]).format(value=shown, name=_label(c.name, ctx))
    return None


def _literal(value: Value) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return "null" if value is None else literal(value)


def _fits(clause: Clause, kind: str) -> bool:
    """Whether the value widget for ``kind`` can show ``clause``'s value as it is."""
    if clause.op in EMPTY_TESTS:
        return True
    values = clause.value if isinstance(clause.value, tuple) else (clause.value,)
    return all(_fits_one(v, kind, clause.op in LISTS) for v in values)


def _fits_one(value: Scalar | None, kind: str, listed: bool) -> bool:
    if isinstance(value, bool) or value is None:
        return False  # no data of the language's yes/no kind: a form has no such field
    if kind == "number":
        return isinstance(value, int | float)
    if not isinstance(value, str) or value != value.strip() or not value:
        return False  # typed text is stripped: the builder would change it
    if listed and kind not in _PICKED:
        return "," not in value  # typed as a comma-separated list
    if kind == "date" and not listed:
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return len(value) == 10
    return True


def _load(key: str, text: str, ctx: Context) -> None:
    """First drawn: the builder shows ``text``, or text mode when it cannot."""
    ss = st.session_state
    found = read(text)
    if isinstance(found, Condition) and _unshowable(text, ctx) is None:
        ss[f"{key}.astext"] = False
        _write(key, found, ctx)
    else:
        ss[f"{key}.astext"] = True
        ss[f"{key}.cb.shape"] = [1]
        ss[key] = text


# --- callbacks (run before the next rerun, so they may set the widgets) -------------


def _switch(key: str, ctx: Context) -> None:
    ss = st.session_state
    if ss[f"{key}.astext"]:
        ss[key] = to_text(_tree(key, ctx), ctx.number_names)
        return
    text = str(ss.get(key, ""))
    found = read(text)
    if isinstance(found, Unreadable) or _unshowable(text, ctx) is not None:
        ss[f"{key}.astext"] = True  # stays text; the note under it says why
        return
    _write(key, found, ctx)


def _rows(key: str, ctx: Context) -> list[list[Clause]]:
    """The clauses as the widgets hold them, incomplete ones included."""
    return [list(g.clauses) for g in _tree(key, ctx).groups]


def _rewrite(key: str, rows: list[list[Clause]], ctx: Context) -> None:
    ss = st.session_state
    joins = [_join(ss.get(f"{key}.cb.{g}.join")) for g in range(len(rows))]
    tree = Condition(
        _join(ss.get(f"{key}.cb.join")),
        tuple(Group(j, tuple(r)) for j, r in zip(joins, rows, strict=True) if r),
    )
    _write(key, tree, ctx)


def _add_clause(key: str, g: int, ctx: Context) -> None:
    rows = _rows(key, ctx)
    rows[g].append(Clause(""))
    _rewrite(key, rows, ctx)


def _add_group(key: str, ctx: Context) -> None:
    _rewrite(key, [*_rows(key, ctx), [Clause("")]], ctx)


def _delete(key: str, g: int, c: int, ctx: Context) -> None:
    rows = _rows(key, ctx)
    del rows[g][c]
    _rewrite(key, rows, ctx)


def _op_changed(at: str, ctx: Context) -> None:
    # A single value and a list take different widgets: carry the value over.
    ss = st.session_state
    if f"{at}.value" in ss:
        kind = _kind(str(ss.get(f"{at}.name") or ""), ctx)
        ss[f"{at}.value"] = _converted(ss[f"{at}.value"], kind, str(ss.get(f"{at}.op")))


def _name_changed(at: str, ctx: Context) -> None:
    # Another data, maybe of another kind: its value widget starts empty.
    ss = st.session_state
    ss.pop(f"{at}.value", None)
    if ss.get(f"{at}.op") not in operators(_kind(str(ss.get(f"{at}.name") or ""), ctx)):
        ss[f"{at}.op"] = "=="


# --- words --------------------------------------------------------------------------


def _kind(name: str, ctx: Context) -> str:
    return ctx.name_kinds.get(name, "text")


def _label(name: str, ctx: Context) -> str:
    return ctx.name_labels.get(name) or name


def _name_shower(ctx: Context) -> Any:
    # Translated now: format functions also run outside the script (AppTest).
    choose, missing = _("— choose the data —"), _("⚠ {name} (not in this service)")
    labels = [_label(n, ctx) for n in ctx.condition_names]

    def show(name: str) -> str:
        if not name:
            return choose
        if name not in ctx.condition_names:
            return missing.format(name=name)
        label = _label(name, ctx)
        return f"{label} ({name})" if labels.count(label) > 1 else label

    return show


def _op_words() -> dict[str, str]:
    return {op: _(w) for op, w in OP_WORDS.items()}


def _join_words() -> dict[Join, str]:
    return {j: _(w) for j, w in JOIN_WORDS.items()}
