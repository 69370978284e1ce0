"""The operator action log: one append-only ``audit_log`` row per audited change, in the change's own transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from clearing.adapters.db.models import AuditLog
from clearing.domain.amounts import as_json_values


def record_action(s: Session, actor: str, action: str, payload: dict[str, Any]) -> None:
    """Append to the audit log (ints as strings: JSON readers may be 53-bit)."""
    s.add(AuditLog(actor=actor, action=action, payload=as_json_values(payload)))
