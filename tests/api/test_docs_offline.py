"""Issue 8 item 18: /docs and /redoc render from files this server serves, never from a CDN.

Fetched from a real uvicorn: each page, and every URL it references (scripts,
styles, icons, the OpenAPI document, and what the stylesheets reference in
turn), must stay on the loopback host and answer 200.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx

from clearing.api.app import create_app
from tests.api.conftest import serve


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self._in_script = tag == "script"
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def references(page: str) -> tuple[list[str], str]:
    parser = _Links()
    parser.feed(page)
    inline = "\n".join(parser.scripts)
    # the OpenAPI document and any other URL the inline start-up script names
    return parser.urls + re.findall(r"""(?:url|spec-url)["']?\s*[:=]\s*["']([^"']+)["']""", inline + page), inline


def test_docs_and_redoc_load_nothing_from_outside(sqlite_house):
    with serve(create_app(sqlite_house.ctx)) as base, httpx.Client(base_url=base) as client:
        loopback = urlsplit(base).netloc
        fetched: set[str] = set()
        for page in ("/docs", "/redoc"):
            r = client.get(page)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            urls, inline = references(r.text)
            assert urls, f"{page} references nothing"
            queue = [urljoin(base + page, u) for u in urls]
            while queue:
                url = queue.pop()
                if url in fetched:
                    continue
                assert urlsplit(url).scheme == "http" and urlsplit(url).netloc == loopback, f"{page} loads {url}"
                got = client.get(url)
                assert got.status_code == 200 and got.content, (url, got.status_code)
                fetched.add(url)
                if got.headers["content-type"].startswith("text/css"):
                    for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)", got.text):
                        if not ref.startswith("data:"):
                            queue.append(urljoin(url, ref))
            if page == "/docs":
                assert '"validatorUrl": null' in inline, "Swagger UI would send the document to its online validator"
        kinds = {urlsplit(u).path.rsplit(".", 1)[-1] for u in fetched}
        assert {"js", "css", "json"} <= kinds, fetched
