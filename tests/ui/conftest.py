"""The console in a real browser: the demo's house on Anvil, served by uvicorn on loopback, and Debian's
chromium driven by Playwright (no browser download). Screenshots of failed tests go to build/test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from clearing.adapters.chain import backends
from clearing.api.app import create_app
from clearing.commands import demo_credit
from clearing.commands.demo import DemoRun, run_demo
from tests.api.conftest import serve

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
LOCAL = {"127.0.0.1", "localhost"}
#: The demo member whose forecast runs short (commands/demo_forecast.py).
SHORT_MEMBER = "flashmart"


@dataclass
class Console:
    url: str
    run: DemoRun
    rpc_url: str

    @property
    def keys(self) -> dict[str, str]:
        return self.run.api_keys


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Iterator[Console]:
    """The demo (60 obligations, seeded) on a fresh Anvil, and the app serving it on a free loopback port."""
    chain = backends.spawn_anvil(accounts=demo_credit.ACCOUNTS)
    try:
        db = tmp_path_factory.mktemp("console") / "ledger.db"
        run = run_demo(60, 2026, f"sqlite:///{db}", chain=chain, console_keys=True, say=lambda _: None)
        with serve(create_app(run.ctx)) as url:
            yield Console(url=url, run=run, rpc_url=chain.rpc_url or "")
    finally:
        chain.close()


def sign_in_http(client: httpx.Client, key: str) -> str:
    """Sign in as a browser would (form, CSRF from the page); the session's CSRF token of later forms."""
    page = client.get("/ui/signin")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token is not None
    r = client.post("/ui/signin", data={"csrf": token.group(1), "api_key": key})
    assert r.status_code == 303, r.text
    client.cookies.set("clearing_console", r.cookies["clearing_console"], path="/ui")
    home = client.get(r.headers["location"])
    found = re.search(r'name="csrf" value="([^"]+)"', home.text)
    assert found is not None
    return found.group(1)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("no /usr/bin/chromium: ./scripts/setup.sh installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@dataclass
class Outside:
    """Requests the page tried to send off the machine (each aborted)."""

    urls: list[str] = field(default_factory=list)


@pytest.fixture
def page(browser, request):
    """A fresh browser context; every request off loopback is aborted and recorded, and fails the test."""
    context = browser.new_context()
    outside = Outside()

    def guard(route):
        host = urlsplit(route.request.url).hostname or ""
        if route.request.url.startswith(("data:", "blob:", "about:")) or host in LOCAL:
            route.continue_()
        else:
            outside.urls.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    pg = context.new_page()
    # Script errors and Content-Security-Policy violations (an inline style or script) fail the test too;
    # a page answering 403 on purpose logs "Failed to load resource", which is no error of the page's.
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load" not in m.text else None)
    pg.set_default_timeout(30_000)
    yield pg
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert outside.urls == [], f"requests left the machine: {outside.urls}"
    assert errors == [], f"the pages logged errors: {errors}"
