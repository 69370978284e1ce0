"""The auditor's page: the reconciliation report, and a Merkle proof checked in the browser against the chain.

The service may hand the auditor a proof (to save copying one), but the check
itself runs in the page (``static/verify.js``, ethers served locally): it
recomputes key, leaf and root from the proof's fields and reads the committed
root from the house contract over the chain's RPC, so the service is not trusted.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from clearing.api.console.base import ConsoleDep, require
from clearing.errors import ClearingError, ServiceUnavailable
from clearing.services import audit

router = APIRouter()
READERS = ("auditor", "operator")


@router.get("/audit", include_in_schema=False)
def audit_page(
    request: Request,
    con: ConsoleDep,
    obligation_id: Annotated[str, Query(max_length=200)] = "",
    submitter: Annotated[str, Query(max_length=64)] = "",
    cycle: int | None = None,
) -> Response:
    s = require(request, con, *READERS)
    c = con.ctx.contracts
    report, proof, problem = None, "", None
    if c is None:
        problem = ServiceUnavailable("auditing needs the chain, which this server has not configured").message
    else:
        try:
            report = audit.verify(con.ctx.sessions, c, cycle)
            if obligation_id:
                p = audit.prove(con.ctx.sessions, c.chain.chain_id, c.house.address, obligation_id, submitter or None)
                proof = json.dumps(p.to_dict(), indent=2)
        except ClearingError as exc:
            problem = exc.message
    return con.page(
        "audit.html",
        s,
        report=report,
        proof=proof,
        problem=problem,
        obligation_id=obligation_id,
        submitter=submitter,
        rpc_url=con.rpc_url or "",
        house=con.house or "",
        nav="audit",
    )
