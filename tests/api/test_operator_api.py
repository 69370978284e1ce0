"""Operator endpoints: admission, suspension, limits (audited), liquidity, withdrawals, cycles port."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select

from clearing.adapters.db.models import AuditLog, SettlementTx
from clearing.services import members


def audit_actions(house) -> list[str]:
    with house.ctx.uow(read_only=True) as uow:
        return [a.action for a in uow.session.scalars(select(AuditLog).order_by(AuditLog.id))]


def test_admit_returns_a_working_key_once(house):
    r = house.post(
        "operator", "/members", {"name": "delta-video", "address": "0x" + "ab" * 20, "tier": "B", "credit_line": "5000"}
    )
    assert r.status_code == 201, r.text
    key = r.json()["api_key"]
    assert key.startswith("chm_") and r.json()["member"]["tier"] == "B"
    me = house.client.get("/members/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 200 and me.json()["member"]["name"] == "delta-video"
    dup = house.post("operator", "/members", {"name": "delta-video", "address": "0x" + "cd" * 20})
    assert dup.status_code == 409 and dup.json()["field"] == "name"
    bad = house.post("operator", "/members", {"name": "Bad Name", "address": "0x12"})
    assert bad.status_code == 422
    assert "member.admit" in audit_actions(house)
    kinds = {(t.kind, t.amount) for t in house.planned()}
    # The line asked at admission is provisional, bounded by policy and by collateral: none is posted yet.
    assert ("register_member", None) in kinds and not any(kind == "set_credit_limit" for kind, _ in kinds)
    credit = house.get("operator", "/members/delta-video/credit").json()
    assert (credit["tier"], credit["source"], credit["provisional"], credit["line"]["amount"]) == (
        "B",
        "override",
        True,
        "0",
    )
    assert credit["override"]["tier"] == "B" and credit["history"][0]["trigger"] == "admission"


def test_members_cannot_use_operator_endpoints(house):
    assert house.post("alpha", "/members", {"name": "x", "address": "0x" + "ab" * 20}).status_code == 403
    assert house.get("alpha", "/holds").status_code == 403
    assert house.get("alpha", "/liquidity").status_code == 403
    assert house.get("auditor", "/liquidity").status_code == 403
    assert house.post("auditor", "/members/alpha/suspend", {"reason": "x"}).status_code == 403


def test_suspend_resume_and_limits_are_audited(house):
    assert house.post("operator", "/members/beta/suspend", {"reason": "kyc"}).json()["status"] == "suspended"
    assert house.post("operator", "/members/beta/resume", {"reason": "kyc ok"}).json()["status"] == "active"
    # A line above the member's cap (30% of its average monthly volume: beta has none) is refused, naming it.
    over = {"reason": "review", "tier": "B", "credit_line": "777", "single_order_limit": "50"}
    r = house.client.patch("/members/beta/limits", json=over, headers=house.headers("operator"))
    assert r.status_code == 422 and r.json()["code"] == "credit-line-above-cap", r.text
    assert (r.json()["field"], r.json()["values"]["cap"], r.json()["values"]["requested"]) == (
        "credit_line",
        "0",
        "777",
    )
    r = house.client.patch(
        "/members/beta/limits",
        json={"reason": "review", "tier": "B", "credit_line": "0", "single_order_limit": "50"},
        headers=house.headers("operator"),
    )
    assert r.status_code == 200, r.text
    m = r.json()
    assert (m["tier"], m["credit_line"], m["single_order_limit"]) == ("B", "0", "50")
    assert "review" in m["tier_reasons"][0]  # the tier is pinned: the pin's reason comes first
    assert audit_actions(house)[-4:] == ["member.suspend", "member.resume", "credit.override", "member.limits"]
    beta = members.get(house.ctx, "beta").id
    assert [(t.kind, t.amount) for t in house.planned() if t.member_id == beta][-2:] == [
        ("suspend_member", None),
        ("resume_member", None),
    ]
    assert house.post("operator", "/members/nobody/suspend", {"reason": "x"}).status_code == 404


def test_liquidity_lists_every_member(house):
    r = house.get("operator", "/liquidity")
    assert r.status_code == 200
    assert {m["name"] for m in r.json()} == {"alpha", "beta", "gamma"}
    assert all(m["liquidity"]["headroom"] == str(10**24) for m in r.json())


def test_withdrawal_reserves_and_queues_the_chain_call(house):
    house.add("w", collateral=1000)
    house.post("w", "/obligations", {"id": "w-1", "debtor": "w", "creditor": "alpha", "amount": "300"})
    me = house.get("w", "/members/me").json()
    assert me["member"]["liquidity"]["withdrawable"] == "700"
    r = house.post("w", "/members/me/withdrawals", {"amount": "701"})
    assert r.status_code == 409 and r.json()["code"] == "insufficient-headroom"
    assert r.json()["values"] == {"available": "700", "needed": "701"}
    r = house.post("w", "/members/me/withdrawals", {"amount": "600"})
    assert r.status_code == 202 and r.json()["state"] == "planned"
    assert house.planned()[-1].kind == "withdraw" and house.planned()[-1].amount == 600
    me = house.get("w", "/members/me").json()
    assert me["headroom"] == "100" and me["member"]["liquidity"]["pending_withdrawal"] == "600"
    with house.ctx.uow(read_only=True) as uow:
        assert uow.session.get(SettlementTx, r.json()["outbox_id"]).state == "planned"
    assert house.get("w", "/members/me/withdrawals").json()[0]["amount"] == "600"


def test_cycles_without_a_cycle_service_are_503(house):
    r = house.post("operator", "/cycles", {})
    assert r.status_code == 503 and r.headers["content-type"].startswith("application/problem+json")
    assert house.get("alpha", "/cycles").status_code == 403


def test_cycles_router_calls_the_port(house):
    from dataclasses import dataclass, field

    @dataclass
    class View:
        id: int
        state: str
        root: str | None = None
        gross: int = 2**100
        settled_value: int = 0
        obligations: int = 0
        settled: int = 0
        carried: int = 0
        commit_tx_hash: str | None = None
        release_tx_hash: str | None = None
        positions: dict = field(default_factory=dict)
        pending: dict = field(default_factory=dict)

    class Cycles:
        def open(self):
            return View(1, "OPEN")

        def close(self, cycle_id=None):
            return View(cycle_id, "CLOSED")

        def settle(self, cycle_id=None):
            return View(cycle_id, "SETTLED", positions={"alpha": -5, "beta": 5})

        def get(self, cycle_id):
            return View(cycle_id, "SETTLED")

        def list(self, limit=100):
            return [View(1, "SETTLED")]

    house.client.app.state.ctx = dataclasses.replace(house.ctx, cycles=Cycles())
    assert house.post("operator", "/cycles", {}).json()["state"] == "OPEN"
    assert house.post("operator", "/cycles/1/close", {}).json()["state"] == "CLOSED"
    settled = house.post("operator", "/cycles/1/settle", {}).json()
    assert settled["positions"] == {"alpha": "-5", "beta": "5"} and settled["gross"] == str(2**100)
    assert house.get("auditor", "/cycles").json()[0]["id"] == 1
    assert house.get("auditor", "/cycles/1").status_code == 200


def test_unknown_route_is_a_problem(house):
    r = house.client.get("/nope")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")


def test_openapi_is_complete(house):
    spec = house.client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["type"] == "http"
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), (method, path)
            if path not in ("/health", "/eip712"):  # public: no key, so no 401/403 to declare
                assert any(code[0] in "45" for code in op["responses"]), (method, path)
    ob = spec["components"]["schemas"]["ObligationIn"]
    assert {"type": "string"}.items() <= ob["properties"]["amount"]["anyOf"][0].items() and ob.get("examples")
    assert spec["components"]["schemas"]["BatchIn"].get("examples")
