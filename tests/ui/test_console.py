"""The console as people use it, in headless Chromium: operator, member and auditor flows; and its
session cookie, CSRF tokens and member scoping checked over plain HTTP."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from clearing.api.console.render import format_units
from clearing.domain.vocabulary import Role
from clearing.services import api_keys, members
from clearing.services.keys import Principal
from clearing.services.submission import get_any
from tests.ui.conftest import SHORT_MEMBER, Console, sign_in_http

pytestmark = [pytest.mark.anvil, pytest.mark.slow]


def sign_in(page: Page, console: Console, who: str) -> None:
    page.goto(console.url + "/ui/")
    expect(page).to_have_url(re.compile(r"/ui/signin$"))
    page.get_by_label("API key").fill(console.keys[who])
    page.get_by_role("button", name="Sign in").click()


def test_operator_finds_a_short_member_reviews_a_hold_and_settles_a_cycle(page: Page, console: Console):
    sign_in(page, console, "operator")
    expect(page).to_have_url(re.compile(r"/ui/members$"))
    # htmx wires the filters when the page has loaded (its script is deferred): on a loaded machine a check
    # before that changes the box and nothing else.
    page.wait_for_load_state("load")
    table = page.locator("#members-table")
    every = table.locator("tbody tr").count()
    page.get_by_label("Short of liquidity (forecast shortfall or top-up)").check()  # htmx swaps the table
    expect(page).to_have_url(re.compile(r"short=1"))
    expect(table.get_by_role("status")).not_to_have_text(f"{every} member(s)")
    expect(table.get_by_role("link", name=SHORT_MEMBER, exact=True)).to_be_visible()
    rows = table.locator("tbody tr")
    assert 0 < rows.count() < every
    expect(table.locator("tbody tr:not(.short)")).to_have_count(0)
    # Sorting by headroom, descending after a second activation, by keyboard (links, not click-only divs).
    page.get_by_role("link", name="Headroom").focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"sort=headroom&dir=asc"))
    table.get_by_role("link", name=SHORT_MEMBER, exact=True).click()
    expect(page.locator("#shortfall-date")).to_have_text(re.compile(r"\d{4}-\d{2}-\d{2}"))
    expect(page.locator("#topup-advice")).to_contain_text("Top up")
    expect(page.get_by_role("img", name=re.compile("Balance forecast"))).to_be_visible()

    page.get_by_role("link", name="Holds").click()
    held = page.locator("#holds tbody tr", has_text="demo-held").first
    expect(held).to_be_visible()
    held.get_by_label(re.compile("Reason for hold")).fill("single order far above the member's limit")
    held.get_by_role("button", name="Reject").click()
    expect(page.locator(".note")).to_contain_text("rejected")
    expect(page.locator("tr", has_text="demo-held")).to_have_count(0)

    for i, (debtor, creditor, amount) in enumerate(
        [("cardhub", "topupnow", 5_000_000), ("topupnow", "giftgrid", 2_000_000)]
    ):
        r = httpx.post(
            f"{console.url}/obligations",
            json={"id": f"ui-{i}", "debtor": debtor, "creditor": creditor, "amount": str(amount)},
            headers={"Authorization": f"Bearer {console.keys[debtor]}"},
            timeout=30,
        )
        assert r.status_code in (200, 201), r.text
    page.get_by_role("link", name="Cycles").click()
    page.get_by_role("button", name="Open a cycle").click()
    expect(page.locator(".note")).to_contain_text("is open")
    opened = re.search(r"cycle (\d+) is open", page.locator(".note").inner_text())
    assert opened is not None
    cycle = opened.group(1)
    page.locator("#cycles").get_by_role("link", name=cycle, exact=True).click()
    page.get_by_role("button", name=f"Close cycle {cycle} (cut-off)").click()
    expect(page.locator("#cycle-state")).to_have_text("CLOSED")
    page.get_by_role("button", name=f"Settle cycle {cycle} on chain").click()
    expect(page.locator("#cycle-state")).to_have_text(re.compile(r"^(SETTLED|PARTIAL)$"))  # PARTIAL: some carried
    expect(page.locator("#commit-tx")).to_have_text(re.compile(r"^0x[0-9a-f]{64}$"))
    settled = console.run.ctx.cycles.get(int(cycle))
    assert page.locator("#commit-tx").inner_text() == settled.commit_tx_hash
    assert settled.positions["cardhub"] <= -5_000_000 < 0
    for name, value in settled.positions.items():  # every net position, exact, the raw integer on hover
        shown = page.locator("#positions tr", has_text=name).locator(".amt")
        expect(shown).to_have_attribute("title", str(value))
        expect(shown).to_have_text(format_units(value, 6))
    expect(page.get_by_role("img", name=re.compile(f"Net positions of cycle {cycle}"))).to_be_visible()
    carried = settled.detail.get("deferred", [])  # each obligation the cycle carried, with its shortfall
    assert carried, "the demo's short member leaves an obligation carried in this cycle"
    expect(page.locator("#carried tbody tr")).to_have_count(len(carried))
    for d in carried:
        expect(page.locator("#carried tr", has_text=str(d["id"])).locator(".amt")).to_have_attribute(
            "title", str(d["shortfall"])
        )


def test_member_sees_forecast_and_top_up_and_registers_a_webhook(page: Page, console: Console):
    sign_in(page, console, SHORT_MEMBER)
    expect(page).to_have_url(re.compile(r"/ui/me$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(SHORT_MEMBER)
    expect(page.locator("#topup-advice")).to_contain_text("Top up")
    expect(page.get_by_role("img", name=re.compile("Balance forecast"))).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("Daily net flow"))).to_be_visible()
    page.get_by_label("Endpoint URL").fill("https://93.184.215.14/clearing-hooks")
    page.get_by_label(re.compile("Event types")).fill("*")
    page.get_by_role("button", name="Register endpoint").click()
    expect(page.locator("#webhook-secret")).to_contain_text("whsec_")
    expect(page.locator("#webhooks")).to_contain_text("https://93.184.215.14/clearing-hooks")
    # Another member's page is the operator's: a member key gets 403.
    r = page.goto(console.url + "/ui/members/cardhub")
    assert r is not None and r.status == 403


def test_auditor_verifies_a_proof_on_chain_and_a_tampered_one_fails(page: Page, console: Console):
    settled = next(
        i for i in ("demo-0000", "demo-0001", "demo-0002") if get_any(console.run.ctx, i).status == "settled"
    )
    sign_in(page, console, "auditor")
    expect(page).to_have_url(re.compile(r"/ui/audit$"))
    expect(page.locator("#reconciliation")).to_contain_text("Reconciled")
    expect(page.get_by_label("Chain RPC URL")).to_have_value(console.rpc_url)
    page.get_by_label("Fetch the service's proof of obligation").fill(settled)
    page.get_by_role("button", name="Fetch proof").click()
    expect(page).to_have_url(re.compile(r"obligation_id="))  # the page that carries the proof, not the one before
    box = page.get_by_label("Proof (JSON)")
    expect(box).not_to_have_value("")
    proof = json.loads(box.input_value())
    assert proof["obligation_id"] == settled and proof["proof"]
    page.get_by_role("button", name="Verify on chain").click()
    result = page.locator("#verify-result")
    expect(result).to_have_attribute("data-verdict", "valid")
    expect(result).to_contain_text("valid: obligation")

    sibling = proof["proof"][0]
    proof["proof"][0] = sibling[:-2] + ("00" if sibling[-2:] != "00" else "01")  # one byte of the path
    box.fill(json.dumps(proof))
    page.get_by_role("button", name="Verify on chain").click()
    expect(result).to_have_attribute("data-verdict", "invalid")
    expect(result).to_contain_text("invalid")

    proof["proof"][0] = sibling
    proof["amount"] = str(int(proof["amount"]) + 1)  # the amount claimed
    box.fill(json.dumps(proof))
    page.get_by_role("button", name="Verify on chain").click()
    expect(result).to_have_attribute("data-verdict", "invalid")


# --------------------------------------------------------------------------- over plain HTTP


def test_session_cookie_is_httponly_samesite_strict_and_holds_no_key(console: Console):
    with httpx.Client(base_url=console.url, timeout=30) as c:
        page = c.get("/ui/signin")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        r = c.post("/ui/signin", data={"csrf": token, "api_key": console.keys["operator"]})
    assert r.status_code == 303 and r.headers["location"] == "/ui/members"
    cookie = next(v for v in r.headers.get_list("set-cookie") if v.startswith("clearing_console="))
    flags = [f.strip().lower() for f in cookie.split(";")]
    assert "httponly" in flags and "samesite=strict" in flags and "path=/ui" in flags
    assert "secure" not in flags  # plain http on loopback; CLEARING_UI__SECURE_COOKIE=true behind HTTPS
    assert console.keys["operator"] not in cookie


def test_every_form_needs_its_csrf_token(console: Console):
    with httpx.Client(base_url=console.url, timeout=30) as c:
        assert c.post("/ui/signin", data={"api_key": console.keys["operator"]}).status_code == 403
        csrf = sign_in_http(c, console.keys["operator"])
        review = {"decision": "release", "reason": "checked"}
        assert c.post("/ui/holds/1/review", data=review).status_code == 403
        assert c.post("/ui/holds/1/review", data=review | {"csrf": csrf[:-1] + "x"}).status_code == 403
        assert c.post("/ui/cycles/open", data={}).status_code == 403
        r = c.post("/ui/cycles/open", data={"csrf": "nope"})
        assert r.status_code == 403 and "CSRF" in r.text
        assert c.post("/ui/signout", data={"csrf": csrf}).status_code == 303
    with httpx.Client(base_url=console.url, timeout=30) as m:
        csrf = sign_in_http(m, console.keys["cardhub"])
        assert m.post("/ui/me/webhooks", data={"url": "https://93.184.215.14/x", "events": "*"}).status_code == 403


def test_a_member_sees_only_itself(console: Console):
    with httpx.Client(base_url=console.url, timeout=30) as c:
        sign_in_http(c, console.keys["cardhub"])
        me = c.get("/ui/me")
        assert me.status_code == 200 and "cardhub" in me.text
        assert c.get("/ui/members/topupnow").status_code == 403
        assert c.get("/ui/members").status_code == 403
        assert c.get("/ui/holds").status_code == 403


def test_no_session_or_a_forged_one_goes_to_sign_in(console: Console):
    with httpx.Client(base_url=console.url, timeout=30) as c:
        r = c.get("/ui/members")
        assert r.status_code == 303 and r.headers["location"] == "/ui/signin"
        c.cookies.set("clearing_console", "eyJyIjoib3BlcmF0b3IifQ.00", path="/ui")
        assert c.get("/ui/members").status_code == 303
        page = c.get("/ui/signin")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        bad = c.post("/ui/signin", data={"csrf": token, "api_key": "cho_not-a-key"})
        assert bad.status_code == 401 and "unknown, revoked or expired API key" in bad.text


def test_revoking_the_key_ends_its_sessions(console: Console):
    ctx, op = console.run.ctx, Principal(role=Role.OPERATOR, key_id=None)
    key = members.issue_key(ctx, op, "giftgrid", "console session")
    with httpx.Client(base_url=console.url, timeout=30) as c:
        sign_in_http(c, key)
        assert c.get("/ui/me").status_code == 200
        kid = next(k.id for k in api_keys.list_keys(ctx, member="giftgrid") if k.label == "console session")
        api_keys.revoke(ctx, op, kid, member="giftgrid")
        r = c.get("/ui/me")
        assert r.status_code == 303 and r.headers["location"] == "/ui/signin"


def test_pool_page_shows_lenders_yield_outlook_and_cover2(console: Console):
    lender = console.run.ctx.contracts.chain.accounts[9].address  # the demo's lender
    with httpx.Client(base_url=console.url, timeout=30) as c:
        sign_in_http(c, console.keys["operator"])
        r = c.get("/ui/pool")
    assert r.status_code == 200
    lenders = r.text[r.text.index('id="lenders"') :]
    assert lender in lenders[: lenders.index("</table>")]
    assert "lenders&#39; yield" in r.text or "lenders' yield" in r.text
    assert 'aria-label="Credit drawn from the pool' in r.text and "Cover 2" in r.text
