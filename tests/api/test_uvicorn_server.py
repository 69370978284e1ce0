"""The app under a real uvicorn on a free loopback port, driven over real HTTP."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import uvicorn

from clearing.api.app import create_app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_real_server_round_trip(sqlite_house):
    house = sqlite_house
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(house.ctx), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.time() + 10
        while not server.started and time.time() < deadline:
            time.sleep(0.05)
        assert server.started
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=house.headers("alpha")) as c:
            r = c.post("/obligations", json={"id": "net-1", "debtor": "alpha", "creditor": "beta", "amount": "42"})
            assert r.status_code == 201, r.text
            assert (
                c.post(
                    "/obligations", json={"id": "net-1", "debtor": "alpha", "creditor": "beta", "amount": "42"}
                ).status_code
                == 200
            )
            r = c.post(
                "/obligations/batch",
                json={
                    "items": [
                        {"id": f"net-b{i}", "debtor": "alpha", "creditor": "gamma", "amount": 1} for i in range(50)
                    ]
                },
            )
            assert r.status_code == 200 and r.json()["count"] == 50
            assert c.get("/obligations/net-b7").json()["amount"] == "1"
            bad = c.post("/obligations", json={"id": "net-2", "debtor": "alpha", "creditor": "beta", "amount": 1.5})
            assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
