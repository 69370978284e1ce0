"""Lenders fund the pool from their own wallets with the transactions the API prepares, earn the interest
members pay on the credit they draw, wait in the queue while liquidity is drawn, and bear a default's loss
pro rata. Everything on a real (in-process) chain, through the HTTP API; the keeper through the outbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from clearing.domain import pool_shares as ps
from clearing.services import audit, pool_keeper

LENT = 2_000_000
YEAR = 365 * 24 * 3600
#: The service's default rate model (CLEARING_POOL__BASE_RATE_BPS, SLOPE_RATE_BPS); test chains deploy without one.
RATES = (300, 1_700)


def _with_interest(h) -> None:
    """Set the default rate model, as ``clearing serve`` deploys it (the admin's call)."""
    h.contracts.house.set_interest_rate_model(*RATES)


def _lend(h, account, amount: int) -> dict:
    """The lender's own tokens (a dev token here), lent through the prepared transactions; its position after."""
    h.contracts.token.mint(account.address, amount)
    r = h.client.post("/pool/prepare-deposit", json={"lender": account.address, "amount": str(amount)})
    assert r.status_code == 200, r.text
    for tx in r.json()["transactions"]:
        h.send(tx, account)
    return _position(h, account)


def _position(h, account) -> dict:
    r = h.client.get("/pool", params={"lender": account.address})
    assert r.status_code == 200, r.text
    return r.json()["lender"]


def _draw(h, debtor: str, creditor: str, amount: int, ref: str) -> None:
    """``debtor`` draws ``amount`` of credit: the operator pins its line (a member without history earns none;
    explicitly above the 30% cap, issue 9), and a settled cycle takes its balance below zero."""
    until = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    pin = {"credit_line": str(amount), "above_cap": True, "reason": "pool test", "expires_at": until}
    r = h.post("operator", f"/members/{debtor}/credit/override", pin)
    assert r.status_code == 201, r.text
    h.sync()
    body = {"id": ref, "debtor": debtor, "creditor": creditor, "amount": str(amount)}
    r = h.post(debtor, "/obligations", body)
    assert r.json()["obligation"]["status"] == "accepted", r.text
    cid = h.post("operator", "/cycles").json()["id"]
    assert h.post("operator", f"/cycles/{cid}/settle").json()["state"] == "SETTLED"
    h.sync()


def _keep(h) -> pool_keeper.KeeperRun:
    run = pool_keeper.run(h.ctx)
    h.sync()
    return run


def test_a_lender_earns_the_interest_a_member_pays_on_drawn_credit(settling_house):
    h = settling_house
    c = h.contracts
    lender = c.chain.accounts[8]
    _with_interest(h)
    empty = h.client.get("/pool").json()
    assert (empty["total"], empty["total_shares"], empty["borrow_rate_bps"], empty["supply_rate_bps"]) == (
        "0",
        "0",
        300,  # the base rate: nothing is drawn
        0,
    )
    me = _lend(h, lender, LENT)
    shares = LENT * ps.VIRTUAL_SHARES  # the first deposit: 10^6 shares per unit (the virtual offsets)
    assert (me["shares"], me["assets"], me["deposited"], me["pnl"], me["share_bps"]) == (
        str(shares),
        str(LENT),
        str(LENT),
        "0",
        10_000,
    )
    assert c.house.shares_of(lender.address) == shares

    h.add("alpha", 1)
    h.add("beta", 2)
    _draw(h, "alpha", "beta", 500_000, "l-1")
    pool = h.client.get("/pool").json()
    assert (pool["drawn"], pool["available"], pool["utilisation_bps"]) == ("500000", "1500000", 2500)
    assert (pool["base_rate_bps"], pool["slope_rate_bps"]) == (300, 1700)
    assert pool["borrow_rate_bps"] == 300 + 1700 * 2500 // 10_000 == 725
    assert pool["supply_rate_bps"] == 725 * 2500 // 10_000 == 181
    assert pool["assets_per_share_1e18"] == str(ps.to_assets_down(10**18, total_assets=LENT, total_shares=shares))

    # A year passes: alpha sees what its credit costs it, accrued and not yet charged.
    c.chain.advance_time(YEAR)
    cost = h.get("alpha", "/members/me").json()["interest"]
    assert (cost["drawn"], cost["borrow_rate_bps"], cost["annual_cost_now"]) == ("500000", 725, "36250")
    owed = int(cost["interest_owed_now"])
    assert 36_250 <= owed <= 37_700  # 7.25% of 500,000 for a year, simple (36,250) to continuously compounded
    assert cost["interest_charged_total"] == "0"

    # The keeper charges it through the outbox; the pool (so the lender's shares) grows by exactly that.
    run = _keep(h)
    assert run.charged == (h.accounts["alpha"].address,) and run.process_row is None
    [charged] = [e for e in c.house.events(c.deployment.block) if e.name == "InterestCharged"]
    interest = charged.args["amount"]
    assert owed <= interest <= owed + 10  # seconds passed between the read and the charge
    assert c.house.pool_total() == LENT + interest
    assert c.house.balance_of(h.accounts["alpha"].address) == -500_000 - interest
    r = h.get("alpha", "/members/me")
    assert r.status_code == 200, r.text
    cost = r.json()["interest"]
    assert cost["interest_charged_total"] == str(interest) and int(cost["interest_owed_now"]) < 10
    assert h.get("operator", "/members/alpha").json()["interest"]["interest_charged_total"] == str(interest)

    me = _position(h, lender)
    assert int(me["assets"]) == ps.to_assets_down(shares, total_assets=LENT + interest, total_shares=shares)
    assert interest - 2 <= int(me["pnl"]) <= interest  # all of it, less the virtual shares' sliver
    pool = h.client.get("/pool").json()
    assert pool["supply_rate_bps"] > 0 and int(pool["assets_per_share_1e18"]) > 10**12
    assert audit.verify(h.ctx.sessions, c).ok


def test_a_withdrawal_waits_in_the_queue_until_the_member_repays(settling_house):
    h = settling_house
    c = h.contracts
    lender = c.chain.accounts[8]
    _with_interest(h)
    _lend(h, lender, 1_000_000)
    h.add("alpha", 1)
    h.add("beta", 2)
    _draw(h, "alpha", "beta", 1_000_000, "q-1")  # the whole pool is drawn
    pool = h.client.get("/pool").json()
    assert (pool["available"], pool["utilisation_bps"], pool["borrow_rate_bps"]) == ("0", 10_000, 2_000)

    # Nothing can leave: the refusal names the amount and the shares to queue instead.
    r = h.client.post("/pool/prepare-withdrawal", json={"lender": lender.address, "amount": "600000"})
    assert r.status_code == 409 and r.json()["field"] == "amount", r.text
    values = r.json()["values"]
    assert values["available"] == "0" and values["needed"] == "600000"
    to_queue = int(values["shares_to_queue"])
    pool = h.client.get("/pool").json()
    assert to_queue == ps.to_shares_up(600_000, total_assets=int(pool["total"]), total_shares=int(pool["total_shares"]))

    r = h.client.post("/pool/prepare-queue", json={"lender": lender.address, "shares": str(to_queue)})
    assert r.status_code == 200, r.text
    [tx] = r.json()["transactions"]
    assert tx["to"] == c.house.address
    h.send(tx, lender)
    queue = h.client.get("/pool/withdrawals").json()
    [request] = queue["requests"]
    assert (request["lender"], request["shares"], queue["queued_shares"], queue["next"]) == (
        lender.address,
        str(to_queue),
        str(to_queue),
        None,
    )
    me = _position(h, lender)
    assert [q["id"] for q in me["queued"]] == [request["id"]] and me["queued_shares"] == str(to_queue)
    assert me["withdrawable"] == "0"

    # While shares wait, a direct withdrawal is refused even of what would be available: queue behind them.
    r = h.client.post("/pool/prepare-withdrawal", json={"lender": lender.address, "amount": "1"})
    assert r.status_code == 409 and r.json()["values"]["queued_shares"] == str(to_queue)

    # The keeper has nothing to pay yet; alpha repays from its own wallet; the keeper pays the queue.
    assert _keep(h).process_row is None
    c.fund_member(h.accounts["alpha"], 700_000)
    h.sync()
    before = c.token.balance_of(lender.address)
    run = _keep(h)
    assert run.process_row is not None
    [paid] = [e for e in c.house.events(c.deployment.block) if e.name == "WithdrawalProcessed"]
    assert (paid.args["lender"], paid.args["shares"], paid.args["sharesLeft"]) == (lender.address, to_queue, 0)
    assert c.token.balance_of(lender.address) - before == paid.args["assets"] >= 600_000
    queue = h.client.get("/pool/withdrawals").json()
    assert queue["requests"] == [] and queue["queued_shares"] == "0"
    me = _position(h, lender)
    assert me["queued"] == [] and me["withdrawn"] == str(paid.args["assets"])

    # A second request is cancelled: its shares come back. Then the lender redeems what liquidity allows.
    r = h.client.post("/pool/prepare-queue", json={"lender": lender.address, "shares": "1000"})
    h.send(r.json()["transactions"][0], lender)
    [request] = h.client.get("/pool/withdrawals").json()["requests"]
    other = c.chain.accounts[7]
    r = h.client.post("/pool/prepare-cancel", json={"lender": other.address, "id": request["id"]})
    assert r.status_code == 409 and r.json()["field"] == "id"
    r = h.client.post("/pool/prepare-cancel", json={"lender": lender.address, "id": request["id"] + 1})
    assert r.status_code == 404 and r.json()["field"] == "id"
    r = h.client.post("/pool/prepare-cancel", json={"lender": lender.address, "id": request["id"]})
    assert r.status_code == 200, r.text
    held = int(_position(h, lender)["shares"])
    h.send(r.json()["transactions"][0], lender)
    assert int(_position(h, lender)["shares"]) == held + 1000
    available = int(h.client.get("/pool").json()["available"])
    assert available > 0
    r = h.client.post("/pool/prepare-redeem", json={"lender": lender.address, "shares": "10000000"})
    assert r.status_code == 200, r.text
    h.send(r.json()["transactions"][0], lender)

    # The pool replayed from events alone equals the chain (deposits, interest, a queue payout, a redemption).
    events = c.house.events(c.deployment.block)
    replay = audit.replay_pool(events)
    assert replay.total == c.house.pool_total()
    assert replay.total_shares == c.house.total_shares() and replay.queued_shares == c.house.queued_shares() == 0
    assert replay.shares == {lender.address: c.house.shares_of(lender.address)}
    assert any(e.name == "InterestCharged" for e in events)
    report = audit.verify(h.ctx.sessions, c)
    assert report.ok, report.mismatches


def test_lenders_bear_a_default_written_down_on_the_pool_pro_rata(settling_house):
    h = settling_house
    c = h.contracts
    big, small = c.chain.accounts[8], c.chain.accounts[7]
    _with_interest(h)
    _lend(h, big, 3_000_000)
    _lend(h, small, 1_000_000)
    h.add("alpha", 1)
    h.add("beta", 2)
    _draw(h, "alpha", "beta", 400_000, "d-1")

    # The operator declares alpha in default: with no collateral, pledges or receivables, the waterfall
    # leaves it all to the lenders (step 4), pro rata to their shares.
    r = h.post("operator", "/members/alpha/default", {"reason": "pool test"})
    assert r.status_code == 202, r.text
    h.sync()
    record = h.get("operator", "/members/alpha/default").json()
    assert record["state"] == "allocated", record
    [written] = [e for e in c.house.events(c.deployment.block) if e.name == "PoolWrittenDown"]
    loss = written.args["amount"]
    assert record["written_down"] == str(loss) and loss >= 400_000  # its debt, with the interest charged at declaration
    pool = h.client.get("/pool").json()
    assert int(pool["total"]) == written.args["poolTotal"] == 4_000_000 + (loss - 400_000) - loss
    big_pnl, small_pnl = int(_position(h, big)["pnl"]), int(_position(h, small)["pnl"])
    assert big_pnl < 0 and small_pnl < 0
    assert abs(big_pnl - 3 * small_pnl) <= 4  # 3:1 as their shares, up to rounding down
    interest = loss - 400_000
    assert -400_000 - 4 <= big_pnl + small_pnl <= -400_000 + interest
    assert int(pool["assets_per_share_1e18"]) < 10**12  # the share price fell
    report = audit.verify(h.ctx.sessions, c)
    assert report.ok, report.mismatches


def test_pool_requests_are_checked_before_anything_is_signed(settling_house):
    h = settling_house
    c = h.contracts
    lender = c.chain.accounts[8]
    c.token.mint(lender.address, 100)
    short = h.client.post("/pool/prepare-deposit", json={"lender": lender.address, "amount": "101"})
    assert short.status_code == 409 and short.json()["values"] == {"available": "100", "needed": "101"}
    c.token.approve(c.house.address, 100, sender=lender)
    approved = h.client.post("/pool/prepare-deposit", json={"lender": lender.address, "amount": "100"})
    assert [t["to"] for t in approved.json()["transactions"]] == [c.house.address]  # allowance already there
    bad = h.client.post("/pool/prepare-deposit", json={"lender": "0x12", "amount": "1"})
    assert bad.status_code == 422 and bad.json()["field"] == "lender"
    none = h.client.post("/pool/prepare-withdrawal", json={"lender": lender.address, "amount": "1"})
    assert none.status_code == 409 and none.json()["values"]["available"] == "0"
    for path, body in (("/pool/prepare-redeem", {"shares": "1"}), ("/pool/prepare-queue", {"shares": "1"})):
        r = h.client.post(path, json={"lender": lender.address, **body})
        assert r.status_code == 409 and r.json()["field"] == "shares" and r.json()["values"]["available"] == "0"
    r = h.client.post("/pool/prepare-cancel", json={"lender": lender.address, "id": 0})
    assert r.status_code == 404 and r.json()["field"] == "id"
    bad = h.client.get("/pool", params={"lender": "0xnothex"})
    assert bad.status_code == 422 and bad.json()["field"] == "lender"
    bad = h.client.get("/pool/withdrawals", params={"limit": 0})
    assert bad.status_code == 422 and bad.json()["field"] == "limit"
    c.house.pause()
    paused = h.client.post("/pool/prepare-deposit", json={"lender": lender.address, "amount": "100"})
    assert paused.status_code == 409 and "paused" in paused.json()["detail"]
    assert h.client.get("/pool").json()["paused"] is True


def test_a_house_without_a_chain_has_no_pool(sqlite_house):
    r = sqlite_house.client.get("/pool")
    assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
    me = sqlite_house.get("alpha", "/members/me")
    assert me.status_code == 200 and me.json()["interest"] is None
