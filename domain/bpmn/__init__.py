"""BPMN 2.0 export and import of service flows. Pure: text in, text or data out.

``export`` writes a definition's flow with its diagram (``layout``); ``importer`` reads
Lincah's own exports and other tools' files, through ``xml``'s safe parser. Which BPMN
element each step kind becomes, and its ways out, belong to the kind (``domain.steps``).
"""

from __future__ import annotations

from domain.bpmn.export import to_bpmn
from domain.bpmn.importer import BpmnImport, Ignored, element_counts, from_bpmn, slug
from domain.bpmn.xml import BPMN, BPMNDI, DC, DI, LINCAH, MAX_BYTES, XSI, BpmnError, parse_xml
from domain.steps import Transition, transitions

__all__ = [
    "BPMN",
    "BPMNDI",
    "DC",
    "DI",
    "LINCAH",
    "MAX_BYTES",
    "XSI",
    "BpmnError",
    "BpmnImport",
    "Ignored",
    "Transition",
    "element_counts",
    "from_bpmn",
    "parse_xml",
    "slug",
    "to_bpmn",
    "transitions",
]
