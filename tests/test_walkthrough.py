"""The README walkthrough, run from README.md's own text so the two cannot drift.

The shell blocks of "Running the service" and "Auditing" are run as written:
a block introduced by a paragraph saying it "keeps running" is a terminal of
its own, started in the background; every other block runs, in order, in one
more bash session (terminal 3 of the README, so its exports and ``$ALPHA_KEY``
carry over). The only changes are the ones a reader makes: other ports than
8545 and 8000 (the machine may be busy), and a fresh directory instead of the
repository root (holding the environment's ``.venv``, as a clone would).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from clearing.adapters.chain import backends
from tests.conftest import ROOT, clearing_env

pytestmark = [pytest.mark.anvil, pytest.mark.slow]

MARK = "@@walkthrough-block"
RPC_PING = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}


def readme_blocks() -> list[tuple[str, str]]:
    """(paragraph before, code) for each ```sh block from "## Running the service" to the next
    section after "## Auditing"."""
    text = (ROOT / "README.md").read_text()
    start = text.index("## Running the service")
    end = text.index("\n## ", text.index("## Auditing"))
    out = []
    for m in re.finditer(r"((?:[^\n]+\n)+)\n```sh\n(.*?)```", text[start:end], re.S):
        out.append((m.group(1), m.group(2)))
    return out


def adapt(code: str, chain_port: int, api_port: int) -> str:
    """What a reader changes: the ports."""
    code = re.sub(r"(?<!\d)8545(?!\d)", str(chain_port), code)
    return re.sub(r"(?<!\d)8000(?!\d)", str(api_port), code)


def json_values(text: str) -> list[object]:
    """Every JSON object printed in ``text`` (curl prints no newline after a body)."""
    decoder, out, i = json.JSONDecoder(), [], 0
    while (i := text.find("{", i)) != -1:
        try:
            value, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            i += 1
            continue
        out.append(value)
        i = end
    return out


def _wait(what: str, ready, procs: list[subprocess.Popen[str]], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(f"a README terminal exited ({p.returncode}) before {what}: {p.communicate()}")
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f}s"
        time.sleep(0.2)


def _answers(url: str, payload: dict | None = None) -> bool:
    try:
        r = httpx.post(url, json=payload, timeout=1) if payload else httpx.get(url, timeout=1)
        return r.status_code == 200
    except httpx.HTTPError:
        return False


def test_the_readme_blocks_are_found():
    blocks = readme_blocks()
    assert sum("keeps running" in before for before, _ in blocks) == 2
    commands = "".join(code for _, code in blocks)
    for expected in ("clearing serve", "jq -r .api_key", "clearing dev fund", "clearing audit verify", "check-proof"):
        assert expected in commands


def test_readme_walkthrough(tmp_path):
    assert shutil.which("jq") and shutil.which("curl"), "the README walkthrough needs curl and jq"
    chain_port, api_port = backends.free_port(), backends.free_port()
    workdir = tmp_path / "repo"
    workdir.mkdir()
    (workdir / ".venv").symlink_to(ROOT / ".venv")
    env = clearing_env()
    chain_url, api_url = f"http://127.0.0.1:{chain_port}", f"http://127.0.0.1:{api_port}"
    terminals: list[subprocess.Popen[str]] = []
    session: list[str] = []
    try:
        for before, code in readme_blocks():
            code = adapt(code, chain_port, api_port)
            if "keeps running" not in before:
                session.append(f"echo {MARK}\n{code}")
                continue
            terminals.append(
                subprocess.Popen(
                    ["bash", "-euo", "pipefail", "-c", code],
                    cwd=workdir,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                    start_new_session=True,  # its own process group: stopped whole at the end
                )
            )
            if len(terminals) == 1:
                _wait("the chain answered", lambda: _answers(chain_url, RPC_PING), terminals)
            else:
                _wait("the service answered", lambda: _answers(f"{api_url}/health"), terminals)
        assert len(terminals) == 2
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", "\n".join(session)],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        _check(run.stdout.split(MARK + "\n")[1:], run.stderr, workdir)
    finally:
        for p in terminals:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
            try:
                p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.communicate()


def _check(outputs: list[str], stderr: str, workdir: Path) -> None:
    """What each block of terminal 3 printed, in README order."""
    exports, members, funding, obligations, cycle, auditing = outputs
    assert exports == ""
    keys = re.fullmatch(r"alpha-games: (\S+)  beta-cards: (\S+)\n", members)
    assert keys and "null" not in keys.groups(), members
    funded = json_values(funding)
    assert [f["deposited"] for f in funded] == ["5000000", "5000000"]
    assert stderr.count("the service's chain sync has the deposit") == 2

    *submitted, me = json_values(obligations)
    assert me["member"]["liquidity"]["collateral"] == "5000000", me
    opened, settled, verified, *rest = json_values(cycle)
    assert opened["id"] == 1
    [credit] = [v for v in rest if isinstance(v, dict) and "score" in v]  # rescored after the cycle settled
    assert (credit["member"], credit["tier"], credit["source"]) == (
        "alpha-games",
        "A",
        "override",
    )  # pinned at admission
    assert "cycle" in [h["trigger"] for h in credit["history"]]
    assert settled["state"] == "SETTLED"
    assert settled["positions"] == {"alpha-games": "-1000000", "beta-cards": "1000000"}
    assert verified["ok"] is True, verified
    assert "proof valid: obligation w-1 is in cycle 1" in cycle

    report, proof = json_values(auditing)[:2]
    assert report["ok"] is True and report["cycles_checked"] == 1, report
    assert proof["obligation_id"] == "w-1" and (workdir / "p.json").exists()
    assert auditing.rstrip().endswith("committed on chain 31337 at " + proof["clearing_house"])
