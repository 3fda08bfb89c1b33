"""``document``: issues a signed PDF with a unique number and a QR code to its public
verification page (the ``issue_document`` activity); the event records its proof."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from documents.contract import IssuedDocument, IssueRequest
    from domain import events as ev
    from domain.definition import DocumentStep
    from workflows.flow import Flow
    from workflows.steps.contract import Next, StepKind
    from workflows.waiting import Scope


async def run(flow: Flow, step: DocumentStep, visit: int, scope: Scope) -> Next:
    d = flow.definition
    req = IssueRequest(
        application_id=flow.inp.application_id,
        step_id=step.id,
        visit=visit,
        citizen=flow.inp.citizen,
        agency_code=d.agency.code,
        agency_name=d.agency.name,
        service_id=d.id,
        service_name=d.name,
        template=step.template.model_dump(),
        values={k: "" if v is None else str(v) for k, v in flow.data.items()},
        issued_at=workflow.now().isoformat(),
        utc_offset_hours=flow.inp.calendar.utc_offset_hours,
    )
    doc: IssuedDocument = await flow.activity(
        "issue_document", req, step.id, result_type=IssuedDocument
    )
    await flow.append(
        ev.DocumentIssued(
            step=step.id,
            number=doc.number,
            sha256=doc.sha256,
            signature=doc.signature,
            public_key_id=doc.public_key_id,
            issued_at=doc.issued_at,
            title=doc.title,
            verify_url=doc.verify_url,
        )
    )
    return step.next


KIND = StepKind(DocumentStep, run)
