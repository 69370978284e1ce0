"""Secrets and signatures, by the Standard Webhooks specification (the ``standardwebhooks`` library).

A secret is ``whsec_`` + base64 of 32 random bytes. Each attempt is signed over
``{webhook-id}.{webhook-timestamp}.{body}`` with HMAC-SHA256; during a rotation's overlap the
``webhook-signature`` header carries one ``v1,<base64>`` entry per secret, space-separated, and a
receiver holding either secret verifies.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


@lru_cache(maxsize=4096)
def _signer(secret: str) -> Webhook:
    return Webhook(secret)


def headers(message_id: str, body: str, secrets_: Sequence[str], at: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt at time ``at`` (UTC), signed with every secret."""
    signature = " ".join(_signer(s).sign(message_id, at, body) for s in secrets_)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
        "user-agent": "clearing-webhooks/1",
    }
