"""The console's session: an HMAC-signed cookie naming who signed in, and the CSRF token of its forms.

The cookie holds the principal (role, key id, member), the hash of the API key it
was opened with (so revoking or rotating the key ends the session), a CSRF token
and an expiry, signed with HMAC-SHA256 under ``ui.session_secret`` (or a random
per-process secret). It is HttpOnly and SameSite=Strict; Secure only when
``ui.secure_cookie`` is set (plain http on loopback would never send it back).
The raw API key is never stored. Every POST form carries the session's CSRF token
in a hidden field; before sign-in a short-lived signed cookie carries it instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Response

from clearing.services.keys import Principal

COOKIE = "clearing_console"
#: Before sign-in: the CSRF token of the sign-in form (double submit), signed.
PRE_COOKIE = "clearing_console_signin"
PRE_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Session:
    principal: Principal
    #: hash_key() of the API key it was opened with.
    digest: str
    csrf: str
    expires: int


class Signer:
    """Signs and checks cookie values: ``base64url(json).hex(hmac-sha256)``."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def dumps(self, payload: dict[str, Any]) -> str:
        body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")
        return f"{body}.{self._mac(body)}"

    def loads(self, token: str | None) -> dict[str, Any] | None:
        """The payload, or None if the value is missing, malformed, forged or expired."""
        if not token or "." not in token:
            return None
        body, mac = token.rsplit(".", 1)
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        if not isinstance(payload, dict) or int(payload.get("e", 0)) < time.time():
            return None
        return payload

    def _mac(self, body: str) -> str:
        return hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()


def new_session(p: Principal, digest: str, hours: float) -> Session:
    return Session(principal=p, digest=digest, csrf=secrets.token_urlsafe(24), expires=int(time.time() + hours * 3600))


def encode(signer: Signer, s: Session) -> str:
    p = s.principal
    return signer.dumps(
        {
            "r": p.role,
            "k": p.key_id,
            "m": p.member_id,
            "n": p.member_name,
            "a": p.member_address,
            "d": s.digest,
            "c": s.csrf,
            "e": s.expires,
        }
    )


def decode(signer: Signer, token: str | None) -> Session | None:
    v = signer.loads(token)
    if v is None:
        return None
    p = Principal(role=v["r"], key_id=v["k"], member_id=v["m"], member_name=v["n"], member_address=v["a"])
    return Session(principal=p, digest=v["d"], csrf=v["c"], expires=int(v["e"]))


def set_cookie(response: Response, name: str, value: str, max_age: int, *, secure: bool) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/ui", httponly=True, samesite="strict", secure=secure)


def pre_token(signer: Signer) -> tuple[str, str]:
    """A CSRF token for the sign-in form and the signed cookie value that vouches for it."""
    token = secrets.token_urlsafe(24)
    return token, signer.dumps({"c": token, "e": int(time.time()) + PRE_SECONDS})


def pre_token_ok(signer: Signer, cookie: str | None, sent: str | None) -> bool:
    v = signer.loads(cookie)
    return v is not None and bool(sent) and hmac.compare_digest(str(v.get("c", "")), sent or "")
