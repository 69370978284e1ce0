"""``clearing net`` and ``clearing bench netting`` through a real process."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

EXE = Path(sys.executable).parent / "clearing"


def run(*args, timeout=120):
    return subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def net_debits(obs, settled):
    out = {}
    for oid, d, c, a in obs:
        if oid in settled:
            out[d] = out.get(d, 0) - a
            out[c] = out.get(c, 0) + a
    return out


@pytest.fixture
def obligations(tmp_path):
    return write(tmp_path / "obligations.csv", "id,debtor,creditor,amount\n1,a,b,100\n2,b,c,100\n3,c,a,100\n4,a,c,50\n")


def test_without_available_everything_settles(obligations):
    r = run("net", "--obligations", obligations)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {
        "positions": {"a": -50, "b": 0, "c": 50},
        "settled": ["1", "2", "3", "4"],
        "deferred": [],
        "gross_value": 350,
        "settled_value": 350,
    }


def test_with_available_and_a_missing_member(obligations, tmp_path):
    # b and c are not in the file: they have 0 available
    avail = write(tmp_path / "available.csv", "member,available\na,10\n")
    r = run("net", "--obligations", obligations, "--available", avail)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out == {
        "positions": {"a": 0, "b": 0, "c": 0},
        "settled": ["1", "2", "3"],
        "deferred": ["4"],
        "gross_value": 350,
        "settled_value": 300,
    }
    assert list(out) == ["positions", "settled", "deferred", "gross_value", "settled_value"]


def test_huge_amounts_round_trip_exactly(tmp_path):
    big = 2**200 + 12345
    obs = write(tmp_path / "o.csv", f"id,debtor,creditor,amount\nx,a,b,{big}\ny,b,a,{big - 7}\nz,a,c,{2**255}\n")
    avail = write(tmp_path / "a.csv", "member,available\na,7\nc,0\n")
    r = run("net", "--obligations", obs, "--available", avail)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["settled"] == ["x", "y"] and out["deferred"] == ["z"]
    assert out["positions"] == {"a": -7, "b": 7, "c": 0}
    assert out["gross_value"] == 2 * big - 7 + 2**255
    r = run("net", "--obligations", obs)
    assert json.loads(r.stdout)["positions"]["c"] == 2**255


def test_scarce_liquidity_output_is_feasible_json(tmp_path):
    rnd = random.Random(9)
    names = [f"p{i}" for i in range(8)]
    obs = []
    for i in range(400):
        d, c = rnd.sample(names, 2)
        obs.append((f"o{i}", d, c, rnd.randint(1, 10**22)))
    o = write(tmp_path / "o.csv", "id,debtor,creditor,amount\n" + "".join(f"{i},{d},{c},{a}\n" for i, d, c, a in obs))
    available = {n: rnd.randint(0, 10**23) for n in names[:6]}  # p6, p7 missing: 0
    a = write(tmp_path / "a.csv", "member,available\n" + "".join(f"{n},{v}\n" for n, v in available.items()))
    r = run("net", "--obligations", o, "--available", a, "--time-budget", "0.5")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)  # nothing but JSON on stdout, whatever the solver prints
    settled = set(out["settled"])
    assert settled | set(out["deferred"]) == {x[0] for x in obs} and not settled & set(out["deferred"])
    pos = net_debits(obs, settled)
    assert {k: v for k, v in out["positions"].items() if v} == {k: v for k, v in pos.items() if v}
    for member, position in out["positions"].items():
        assert -position <= available.get(member, 0)
    assert out["settled_value"] == sum(x[3] for x in obs if x[0] in settled)


def test_priority_column(tmp_path):
    o = write(tmp_path / "o.csv", "id,debtor,creditor,amount,priority\nn1,a,b,60,\np1,a,c,50,true\nn2,a,c,10,0\n")
    a = write(tmp_path / "a.csv", "member,available\na,60\n")
    out = json.loads(run("net", "--obligations", o, "--available", a).stdout)
    assert out["settled"] == ["p1", "n2"]


BAD_OBLIGATIONS = [
    ("id,debtor,creditor,amount\n1,a,b,100\n2,b,c,1.5\n", "line 3", "amount"),
    ("id,debtor,creditor,amount\n1,a,b,-5\n", "line 2", "amount"),
    ("id,debtor,creditor,amount\n1,a,b,0\n", "line 2", "amount"),
    ("id,debtor,creditor,amount\n1,a,b,\n", "line 2", "amount"),
    ("id,debtor,creditor,amount\n1,a,b,1e3\n", "line 2", "amount"),
    (f"id,debtor,creditor,amount\n1,a,b,{2**256}\n", "line 2", "amount"),
    ("id,debtor,creditor,amount\n1,a,b,5\n1,b,a,5\n", "line 3", "id"),
    ("id,debtor,creditor,amount\n,a,b,5\n", "line 2", "id"),
    ("id,debtor,creditor,amount\n1,a,a,5\n", "line 2", "creditor"),
    ("id,debtor,creditor,amount\n1,,b,5\n", "line 2", "debtor"),
    ("id,debtor,creditor,amount\n1,a,b\n", "line 2", None),
    ("id,debtor,creditor,amount\n1,a,b,5,6\n", "line 2", None),
    ("id,debtor,creditor,amout\n1,a,b,5\n", "line 1", "amount"),
    ("", None, None),
    ("id,debtor,creditor,amount,priority\n1,a,b,5,maybe\n", "line 2", "priority"),
]


@pytest.mark.parametrize("text, where, field", BAD_OBLIGATIONS)
def test_bad_obligations_file(tmp_path, text, where, field):
    path = write(tmp_path / "bad.csv", text)
    r = run("net", "--obligations", path)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: ") and "bad.csv" in lines[0]
    if where:
        assert where in lines[0]
    if field:
        assert f"'{field}'" in lines[0]


@pytest.mark.parametrize(
    "text, where, field",
    [
        ("member,available\na,-1\n", "line 2", "available"),
        ("member,available\na,x\n", "line 2", "available"),
        ("member,available\na,1\na,2\n", "line 3", "member"),
        ("member,avail\na,1\n", "line 1", "available"),
        ("member,available\n,1\n", "line 2", "member"),
    ],
)
def test_bad_available_file(obligations, tmp_path, text, where, field):
    path = write(tmp_path / "avail.csv", text)
    r = run("net", "--obligations", obligations, "--available", path)
    assert r.returncode == 2 and r.stdout == ""
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: ") and where in line and f"'{field}'" in line


def test_missing_file(tmp_path):
    r = run("net", "--obligations", tmp_path / "nope.csv")
    assert r.returncode == 2
    (line,) = r.stderr.strip().splitlines()
    assert line.startswith("error: ") and "nope.csv" in line


def test_bench_netting_small():
    r = run(
        "bench",
        "netting",
        "--obligations",
        20000,
        "--members",
        100,
        "--liq-obligations",
        300,
        "--liq-members",
        10,
        "--reference-seconds",
        5,
        "--time-budget",
        0.5,
        "--no-fifo",
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)  # stdout is the JSON and nothing else
    progress = r.stderr.splitlines()
    assert progress and all(line.startswith("bench netting: ") for line in progress)
    for step in ("netting 20,000 obligations among 100 members", "our solver", "Ubin", "reference MILP"):
        assert any(step in line and line.endswith(" ...") for line in progress), step
        assert any(step in line and "done in" in line for line in progress), step
    assert out["netting"]["exact_and_equal_to_baseline"] and out["netting"]["uint256_scale_exact"]
    assert out["netting"]["sum_of_positions"] == 0
    liq = out["liquidity_saving"]
    assert liq["ours"]["settled_value"] >= liq["baseline_ubin_deactivation"]["settled_value"]
    assert liq["ours"]["fraction_of_optimum"] <= 1.0


# -- issue 15: the at-scale path (columns from the CSV, LP over member pairs) ---------------------


def test_scale_path_output_is_exactly_feasible(tmp_path):
    rnd = random.Random(15)
    names = [f"p{i:02d}" for i in range(60)]
    weights = [rnd.lognormvariate(0, 1) for _ in names]
    obs = []
    for i in range(25_000):  # above SCALE_MIN: the columnar solver
        d, c = rnd.choices(names, weights, k=2)
        while c == d:
            c = rnd.choices(names, weights)[0]
        obs.append((f"o{i}", d, c, int(rnd.lognormvariate(17, 1.5)) + 1))
    o = write(tmp_path / "o.csv", "id,debtor,creditor,amount\n" + "".join(f"{i},{d},{c},{a}\n" for i, d, c, a in obs))
    gross = {}
    for _, d, _, a in obs:
        gross[d] = gross.get(d, 0) + a
    available = {n: v * 3 // 100 for n, v in gross.items()}
    a = write(tmp_path / "a.csv", "member,available\n" + "".join(f"{n},{v}\n" for n, v in available.items()))
    r = run("net", "--obligations", o, "--available", a)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    settled = set(out["settled"])
    assert [x[0] for x in obs if x[0] in settled] == out["settled"]
    assert settled | set(out["deferred"]) == {x[0] for x in obs} and not settled & set(out["deferred"])
    pos = net_debits(obs, settled)
    assert out["positions"] == {n: pos.get(n, 0) for n in sorted(pos)}
    assert all(-p <= available.get(m, 0) for m, p in out["positions"].items())
    assert out["settled_value"] == sum(x[3] for x in obs if x[0] in settled)
    assert out["gross_value"] == sum(x[3] for x in obs)
    assert out["settled_value"] > 0


def test_column_reader_reads_what_the_row_reader_reads(tmp_path):
    from clearing.commands.net import ObligationColumns, read_obligation_columns, read_obligations

    plain = write(tmp_path / "plain.csv", "id,debtor,creditor,amount\n1,a,b,100\n2,b,c,007\n\n")
    quoted = write(
        tmp_path / "quoted.csv", 'ID, Debtor ,creditor,amount,note\r\n"1", a ,b,100,"x, y"\r\n\r\n2,b,c, 7 ,\r\n'
    )
    for path in (plain, quoted):
        cols = read_obligation_columns(path)
        assert isinstance(cols, ObligationColumns)
        assert cols.obligations() == read_obligations(path)
    # a priority flag or an amount beyond 18 digits: the row reader's objects, exactly
    prio = write(tmp_path / "prio.csv", "id,debtor,creditor,amount,priority\n1,a,b,5,true\n")
    huge = write(tmp_path / "huge.csv", f"id,debtor,creditor,amount\n1,a,b,{10**30}\n")
    for path in (prio, huge):
        assert read_obligation_columns(path) == read_obligations(path)
    # a short row in a plain file falls back to the row reader, which names the line
    short = write(tmp_path / "short.csv", "id,debtor,creditor,amount\n1,a,b,5\n2,a,b\n")
    r = run("net", "--obligations", short)
    assert r.returncode == 2 and "line 3" in r.stderr
