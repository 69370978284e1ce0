"""A real webhook receiver on loopback that verifies every delivery with the ``standardwebhooks`` library.

Used by ``clearing bench webhooks`` and the tests: a ``ThreadingHTTPServer`` (HTTP/1.1, keep-alive)
that answers ``status`` (200 unless told otherwise), records each request, and checks each
signature with ``standardwebhooks.Webhook(secret).verify(body, headers)`` for the secrets it knows.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass(frozen=True, slots=True)
class Received:
    headers: dict[str, str]
    body: bytes
    at: float
    #: Verified with one of the receiver's secrets (None: no secret known to check with).
    verified: bool | None
    #: What the receiver answered.
    status: int

    @property
    def message_id(self) -> str:
        return self.headers.get("webhook-id", "")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Start with :meth:`start` (or as a context manager); ``url`` is where to register it."""

    secrets: list[str] = field(default_factory=list)
    status: int = 200
    received: list[Received] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self._server is not None, "start the receiver first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    def verify(self, body: bytes, headers: dict[str, str]) -> bool | None:
        if not self.secrets:
            return None
        for secret in list(self.secrets):
            try:
                Webhook(secret).verify(body, headers)
                return True
            except Exception:  # noqa: BLE001 - the library raises its own errors (and ValueError on bad base64)
                continue
        return False

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver.status
                got = Received(headers, body, time.time(), receiver.verify(body, headers), status)
                with receiver._lock:
                    receiver.received.append(got)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for(self, n: int, timeout: float = 10.0) -> list[Received]:
        """Block until ``n`` requests arrived (or fail after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(self.received)} of {n} webhook requests arrived in {timeout} s")
            time.sleep(0.01)
        return list(self.received)
