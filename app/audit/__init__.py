"""The hash-chained, append-only audit log."""

from app.audit.services import record, verify_chain

__all__ = ["record", "verify_chain"]
