"""Item 13: release modes of a cycle over HTTP on a real chain: commit into escrow, then release in part,
pro rata, in full, later (hold) or refund; audited, idempotent by the operator's id, never released by a restart."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from clearing.adapters.db.models import AuditLog
from clearing.adapters.db.reservations import reservation_mismatches
from clearing.services import releases
from clearing.services.outbox import Outbox
from tests.conftest import OPERATOR

ALPHA, BETA, GAMMA = "alpha-games", "beta-cards", "gamma-video"


def _members(h) -> None:
    h.add(ALPHA, 1, collateral=5_000_000)
    h.add(BETA, 2, collateral=3_000_000)
    h.add(GAMMA, 3, tier="B", collateral=2_000_000)


def _obligations(h, prefix: str = "r") -> int:
    for oid, debtor, creditor, amount in (
        (f"{prefix}-1", ALPHA, BETA, 1_000_000),
        (f"{prefix}-2", ALPHA, GAMMA, 600_000),
        (f"{prefix}-3", BETA, GAMMA, 200_000),
    ):
        r = h.post(debtor, "/obligations", {"id": oid, "debtor": debtor, "creditor": creditor, "amount": str(amount)})
        assert r.status_code == 201, r.text
    return h.post("operator", "/cycles").json()["id"]


def _committed(h) -> int:
    cid = _obligations(h)
    r = h.post("operator", f"/cycles/{cid}/commit")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "COMMITTED"
    return cid


def _audit_actions(h) -> list[str]:
    with h.ctx.uow(read_only=True) as uow:
        return [a.action for a in uow.session.scalars(select(AuditLog).order_by(AuditLog.id))]


def _status(h, oid: str, who: str = ALPHA) -> str:
    return h.get(who, f"/obligations/{oid}").json()["status"]


def test_commit_then_partial_pro_rata_and_full_release(settling_house):
    h = settling_house
    _members(h)
    before = {n: h.balance(n) for n in (ALPHA, BETA, GAMMA)}
    cid = _committed(h)
    house = h.contracts.house
    # Debtors paid in; creditors wait: nothing reaches them before the operator releases.
    assert house.cycle(cid).escrowed == 1_600_000
    assert h.balance(ALPHA) == before[ALPHA] - 1_600_000
    assert (h.balance(BETA), h.balance(GAMMA)) == (before[BETA], before[GAMMA])
    assert _status(h, "r-1") == "committed"
    # The debit left the chain balance: it no longer also reserves alpha's headroom.
    me = h.get(ALPHA, "/members/me").json()
    assert me["member"]["liquidity"]["reserved_debit"] == "0" and me["headroom"] == str(before[ALPHA] - 1_600_000)
    escrow = h.get("auditor", f"/cycles/{cid}/escrow").json()
    assert escrow["pending"] == {BETA: "800000", GAMMA: "800000"} and escrow["release"] == "operator"
    assert escrow["refundable"] == {ALPHA: "1600000"}

    partial = {"id": "p-1", "amounts": {BETA: "300000"}}
    r = h.post("operator", f"/cycles/{cid}/release/partial", partial)
    assert r.status_code == 200, r.text
    assert r.json()["action"]["state"] == "mined" and r.json()["action"]["tx_hash"]
    assert r.json()["escrow"]["pending"] == {BETA: "500000", GAMMA: "800000"}
    assert h.balance(BETA) == before[BETA] + 300_000
    # A retry releases nothing more; the same id with another body is a conflict.
    again = h.post("operator", f"/cycles/{cid}/release/partial", partial)
    assert again.status_code == 200 and again.json()["action"] == r.json()["action"]
    assert house.pending_credit(cid, h.accounts[BETA].address) == 500_000
    clash = h.post("operator", f"/cycles/{cid}/release/partial", {"id": "p-1", "amounts": {BETA: "1"}})
    assert clash.status_code == 409 and clash.json()["field"] == "id"
    too_much = h.post("operator", f"/cycles/{cid}/release/partial", {"id": "p-2", "amounts": {GAMMA: "800001"}})
    assert too_much.status_code == 422 and too_much.json()["field"] == f"amounts.{h.accounts[GAMMA].address}"
    unknown = h.post("operator", f"/cycles/{cid}/release/partial", {"id": "p-3", "amounts": {"nobody": "1"}})
    assert unknown.status_code == 422 and unknown.json()["field"] == "amounts.nobody"

    r = h.post("operator", f"/cycles/{cid}/release/pro-rata", {"id": "pr-1", "bps": 5000})
    assert r.status_code == 200, r.text
    assert r.json()["escrow"]["pending"] == {BETA: "250000", GAMMA: "400000"}

    r = h.post("operator", f"/cycles/{cid}/release")
    assert r.status_code == 200, r.text
    assert r.json()["escrow"]["escrowed"] == "0" and r.json()["escrow"]["state"] == "SETTLED"
    assert (h.balance(BETA), h.balance(GAMMA)) == (before[BETA] + 800_000, before[GAMMA] + 800_000)
    assert h.get("auditor", f"/cycles/{cid}").json()["state"] == "SETTLED"
    assert {_status(h, o) for o in ("r-1", "r-2")} == {"settled"}
    assert h.get("auditor", "/audit/verify").json()["ok"] is True
    assert [a for a in _audit_actions(h) if a.startswith("cycle.")] == [
        "cycle.commit",
        "cycle.release_partial",
        "cycle.release_pro_rata",
        "cycle.release",
    ]
    # Releasing again: the first answer, nothing sent.
    assert h.post("operator", f"/cycles/{cid}/release").json()["action"] == r.json()["action"]
    with h.ctx.uow(read_only=True) as uow:
        assert reservation_mismatches(uow.session) == {}


def test_hold_blocks_release_until_its_time_and_refund_returns_the_rest(settling_house):
    h = settling_house
    _members(h)
    before = {n: h.balance(n) for n in (ALPHA, BETA, GAMMA)}
    cid = _committed(h)
    now = datetime.fromtimestamp(h.contracts.chain.timestamp(), UTC)
    until = (now + timedelta(hours=1)).replace(microsecond=0)
    r = h.post("operator", f"/cycles/{cid}/hold", {"until": until.isoformat()})
    assert r.status_code == 200, r.text
    assert h.contracts.house.cycle(cid).held_until == int(until.timestamp())
    blocked = h.post("operator", f"/cycles/{cid}/release/pro-rata", {"id": "pr-1", "bps": 10_000})
    assert blocked.status_code == 409 and "held until" in blocked.json()["detail"]
    past = h.post("operator", f"/cycles/{cid}/hold", {"until": (now - timedelta(hours=1)).isoformat()})
    assert past.status_code == 422 and past.json()["field"] == "until"
    # A refund is allowed while held: return part of gamma's credit to alpha, the debtor.
    r = h.post(
        "operator", f"/cycles/{cid}/refund", {"id": "f-1", "cancel": {GAMMA: "100000"}, "refund": {ALPHA: "100000"}}
    )
    assert r.status_code == 200, r.text
    assert h.balance(ALPHA) == before[ALPHA] - 1_500_000
    unequal = h.post("operator", f"/cycles/{cid}/refund", {"id": "f-2", "cancel": {GAMMA: "2"}, "refund": {ALPHA: "1"}})
    assert unequal.status_code == 422 and unequal.json()["field"] == "refund"

    h.contracts.chain.advance_time(3601)
    r = h.post("operator", f"/cycles/{cid}/release", {"id": "all"})
    assert r.status_code == 200, r.text
    cycle = h.get("auditor", f"/cycles/{cid}").json()
    assert cycle["state"] == "SETTLED"
    assert (h.balance(BETA), h.balance(GAMMA)) == (before[BETA] + 800_000, before[GAMMA] + 700_000)
    assert h.get("auditor", "/audit/verify").json()["ok"] is True
    assert "cycle.hold" in _audit_actions(h) and "cycle.refund" in _audit_actions(h)


def test_refund_of_everything_ends_the_cycle_refunded(settling_house):
    h = settling_house
    _members(h)
    before = {n: h.balance(n) for n in (ALPHA, BETA, GAMMA)}
    cid = _committed(h)
    r = h.post("operator", f"/cycles/{cid}/refund")
    assert r.status_code == 200, r.text
    assert r.json()["escrow"]["state"] == "REFUNDED" and r.json()["escrow"]["escrowed"] == "0"
    assert {n: h.balance(n) for n in (ALPHA, BETA, GAMMA)} == before
    assert {_status(h, o) for o in ("r-1", "r-2")} == {"refunded"}
    assert h.get("auditor", "/audit/verify").json()["ok"] is True
    # Nothing is left to act on.
    late = h.post("operator", f"/cycles/{cid}/release/pro-rata", {"id": "x", "bps": 1})
    assert late.status_code == 409 and late.json()["values"]["state"] == "REFUNDED"


def test_a_restart_or_settle_never_releases_a_committed_cycle_but_a_claim_finishes_it(settling_house):
    h = settling_house
    _members(h)
    cid = _committed(h)
    assert h.ctx.cycles.recover()[0].state == "COMMITTED"  # what a restart or a scheduled cut-off runs
    assert h.post("operator", f"/cycles/{cid}/settle").json()["state"] == "COMMITTED"
    assert h.contracts.house.cycle(cid).escrowed == 1_600_000
    # Only a cycle not yet committed can be committed for the operator; settle cycles cannot be released.
    other = _obligations(h, "s")
    assert h.post("operator", f"/cycles/{other}/settle").json()["state"] == "SETTLED"
    assert h.post("operator", f"/cycles/{other}/commit").status_code == 409
    assert h.post("operator", f"/cycles/{other}/release").status_code == 409
    # After the claim delay creditors claim themselves; the ledger sees the escrow close.
    h.contracts.chain.advance_time(h.contracts.house.claim_delay() + 1)
    for name in (BETA, GAMMA):
        h.contracts.house.claim(cid, h.accounts[name].address, sender=h.accounts[name])
    h.sync()
    assert h.get("auditor", f"/cycles/{cid}").json()["state"] == "SETTLED"
    assert _status(h, "r-2") == "settled"


def test_release_modes_need_an_operator_key(settling_house):
    h = settling_house
    _members(h)
    cid = _committed(h)
    assert h.post(ALPHA, f"/cycles/{cid}/release").status_code == 403
    assert h.post("auditor", f"/cycles/{cid}/refund").status_code == 403
    assert h.get(ALPHA, f"/cycles/{cid}/escrow").status_code == 403
    assert h.post("operator", "/cycles/99/release").status_code == 404
    assert h.post("operator", f"/cycles/{2**63}/release").status_code == 422


class Crash(Exception):
    pass


def test_a_partial_release_interrupted_after_broadcast_is_finished_by_its_retry_exactly_once(settling_house):
    h = settling_house
    _members(h)
    before = h.balance(BETA)
    cid = _committed(h)

    def crash(stage: str) -> None:
        if stage == "sent":
            raise Crash(stage)

    crashing = dataclasses.replace(h.ctx, outbox=Outbox(h.ctx.sessions, h.contracts, crash_hook=crash))
    with pytest.raises(Crash):
        releases.release(crashing, OPERATOR, cid, request_id="p-1", amounts={BETA: 300_000})
    # Another action waits for the one in flight.
    busy = h.post("operator", f"/cycles/{cid}/release/pro-rata", {"id": "pr-1", "bps": 100})
    assert busy.status_code == 409 and busy.json()["values"]["in_flight"] == "p-1"
    r = h.post("operator", f"/cycles/{cid}/release/partial", {"id": "p-1", "amounts": {BETA: "300000"}})
    assert r.status_code == 200, r.text
    assert r.json()["action"]["state"] == "mined"
    assert h.balance(BETA) == before + 300_000
    assert h.contracts.house.pending_credit(cid, h.accounts[BETA].address) == 500_000


def test_a_cycle_that_nets_to_nothing_ends_settled_at_commit(settling_house):
    h = settling_house
    _members(h)
    for oid, debtor, creditor in (("z-1", ALPHA, BETA), ("z-2", BETA, ALPHA)):
        r = h.post(debtor, "/obligations", {"id": oid, "debtor": debtor, "creditor": creditor, "amount": "5000"})
        assert r.status_code == 201, r.text
    cid = h.post("operator", "/cycles").json()["id"]
    r = h.post("operator", f"/cycles/{cid}/commit")
    assert r.status_code == 200 and r.json()["state"] == "SETTLED", r.text
    assert _status(h, "z-1") == "settled"
    assert h.get("auditor", "/audit/verify").json()["ok"] is True
