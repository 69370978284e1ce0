"""Make docs/img/console.png: the demo on a fresh Anvil, the console served on loopback, headless chromium.

    PYTHONPATH=src .venv/bin/python scripts/console_screenshot.py [OUT.png]

Signs in as the operator, filters the members table to those short of liquidity and captures the page of
the member whose forecast runs short (its forecast chart, shortfall date and top-up advice).
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright
from tests.api.conftest import serve
from tests.ui.conftest import ARGS, CHROMIUM, SHORT_MEMBER

from clearing.adapters.chain import backends
from clearing.api.app import create_app
from clearing.commands import demo_credit
from clearing.commands.demo import run_demo


def main(out: Path) -> None:
    with backends.spawn_anvil(accounts=demo_credit.ACCOUNTS) as chain:
        run = run_demo(60, 2026, chain=chain, console_keys=True, say=lambda _: None)
        with serve(create_app(run.ctx)) as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{url}/ui/signin")
            page.get_by_label("API key").fill(run.api_keys["operator"])
            page.get_by_role("button", name="Sign in").click()
            page.goto(f"{url}/ui/members?short=1&sort=shortfall")
            page.get_by_role("link", name=SHORT_MEMBER, exact=True).click()
            page.locator("#fc-h").scroll_into_view_if_needed()
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=False)
            browser.close()
    print(out)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/img/console.png"))
