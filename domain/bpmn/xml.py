"""BPMN's namespaces and the safe reading of untrusted XML.

Untrusted XML is parsed with expat directly: a DOCTYPE (and with it every entity
declaration, the door to "billion laughs" and external entities) is refused, and so is
a file over ``MAX_BYTES``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # building trees only; parsing goes through expat
from xml.parsers import expat

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
LINCAH = "urn:lincah:bpmn:1"
MAX_BYTES = 5_000_000

PREFIXES = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI, "xsi": XSI, "lincah": LINCAH}


class BpmnError(ValueError):
    """A file that cannot be imported at all (not XML, no process, refused content)."""


def q(prefix: str, local: str) -> str:
    return f"{{{PREFIXES[prefix]}}}{local}"


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def ns(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def parse_xml(data: str | bytes) -> ET.Element:
    """Parse untrusted XML into an ElementTree element with expat, refusing any DOCTYPE
    (so no entity can be declared or fetched) and files over ``MAX_BYTES``."""
    if len(data) > MAX_BYTES:
        raise BpmnError(f"the file is larger than {MAX_BYTES // 1_000_000} MB")
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(
        encoding="utf-8" if isinstance(data, str) else None, namespace_separator="}"
    )

    def name(raw: str) -> str:
        return "{" + raw if "}" in raw else raw

    def refuse_doctype(*_: object) -> int:
        raise BpmnError("the file has a DOCTYPE; BPMN files need none, so it is refused")

    def start(tag: str, attrs: dict[str, str]) -> None:
        builder.start(name(tag), {name(k): v for k, v in attrs.items()})

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    parser.ExternalEntityRefHandler = refuse_doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: builder.end(name(tag))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except expat.ExpatError as e:
        raise BpmnError(f"not well-formed XML: {e}") from None
    return builder.close()
