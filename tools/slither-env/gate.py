"""The Slither gate: read Slither's JSON report, match each finding against the
triage rules (slither.triage.json), print one line per finding, and fail on
any High or Medium finding no rule accepts.

Runs in .venv-slither with the standard library only; scripts/slither.sh calls
it. A rule accepts a finding when all the fields it gives match:

- ``check``: the detector (required), e.g. ``"timestamp"``;
- ``path``: a glob on the file of the finding's subject (its first element);
- ``source``: a regex searched in the subject's source text (a declaration);
- ``description``: a regex searched in Slither's description;

and it must give a ``reason``. Rules name detectors and code shapes, never
line numbers, so they survive edits to the contracts.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

FAILING_IMPACTS = ("High", "Medium")
RULE_KEYS = {"check", "path", "source", "description", "reason"}
# Slither writes "(contracts/X.sol#12-14)" after each element; the line shows the location once.
SOURCE_REF = re.compile(r"\s*\([^()]*\.sol#[\d-]+\)")
WIDTH = 140


def load_rules(path: Path) -> list[dict[str, str]]:
    rules: list[dict[str, str]] = json.loads(path.read_text(encoding="utf8"))["rules"]
    for i, rule in enumerate(rules):
        unknown = set(rule) - RULE_KEYS
        if unknown or "check" not in rule or not rule.get("reason", "").strip():
            raise SystemExit(f"{path}: rule {i} needs check and reason, knows only {sorted(RULE_KEYS)}: {rule}")
    return rules


def subject_source(root: Path, finding: dict[str, Any]) -> tuple[str, str]:
    """The file and source text of the finding's first element."""
    if not finding["elements"]:
        return "", ""
    mapping = finding["elements"][0]["source_mapping"]
    start, length = mapping["start"], mapping["length"]
    text = (root / mapping["filename_relative"]).read_bytes()[start : start + length]
    return mapping["filename_relative"], text.decode("utf8", "replace")


def matches(rule: dict[str, str], finding: dict[str, Any], file: str, source: str) -> bool:
    return (
        rule["check"] == finding["check"]
        and ("path" not in rule or fnmatch(file, rule["path"]))
        and ("source" not in rule or re.search(rule["source"], source) is not None)
        and ("description" not in rule or re.search(rule["description"], finding["description"]) is not None)
    )


def analysed_files(report: dict[str, Any]) -> set[str]:
    return {
        name
        for compilation in report["results"].get("compilations", [])
        for unit in compilation["compilation_units"].values()
        for name in unit["source_units"]
    }


def unanalysed(report: dict[str, Any], root: Path) -> list[str]:
    """The contracts/**/*.sol files missing from the report: a file that drops out of the build
    would otherwise pass with no findings."""
    analysed = analysed_files(report)
    on_disk = (str(p.relative_to(root)) for p in (root / "contracts").rglob("*.sol"))
    return sorted(name for name in on_disk if name not in analysed)


def summary(finding: dict[str, Any]) -> str:
    """Where and what, on one line: Slither's first description line without its source refs."""
    where = finding.get("first_markdown_element", "").replace("#L", "#").replace("-L", "-")
    what = SOURCE_REF.sub("", finding["description"].splitlines()[0]).removesuffix(" It is used in:")
    return f"{where} {what}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path, help="slither --json output (with json-types compilations,detectors)")
    parser.add_argument("triage", type=Path, help="the triage rules")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the Foundry project root")
    args = parser.parse_args()

    report = json.loads(args.report.read_text(encoding="utf8"))
    if not report["success"]:
        print(f"slither: analysis failed: {report.get('error')}", file=sys.stderr)
        return 1
    if missing := unanalysed(report, args.root):
        print(f"slither: not analysed: {', '.join(missing)}", file=sys.stderr)
        return 1

    rules = load_rules(args.triage)
    used: Counter[int] = Counter()
    lines: Counter[tuple[str, str, str, str]] = Counter()
    failing = untriaged = 0
    findings = report["results"].get("detectors", [])
    for finding in findings:
        file, source = subject_source(args.root, finding)
        rule = next((i for i, r in enumerate(rules) if matches(r, finding, file, source)), None)
        if rule is None:
            untriaged += 1
            failing += finding["impact"] in FAILING_IMPACTS
            status = "FAIL" if finding["impact"] in FAILING_IMPACTS else "untriaged"
        else:
            used[rule] += 1
            status = f"ok #{rule}"
        lines[(status, finding["impact"], finding["check"], summary(finding))] += 1

    # Failures first, then what is still to triage, then what the rules accept.
    order = {"FAIL": 0, "untriaged": 1}
    for (status, impact, check, text), count in sorted(lines.items(), key=lambda kv: order.get(kv[0][0], 2)):
        times = f"{count}x " if count > 1 else ""
        print(f"{status:<9} {impact:<13} {check:<20} {times}{text}"[:WIDTH])
    for i, stale in enumerate(rules):
        if not used[i]:
            print(f"stale     rule #{i} ({stale['check']}) matched nothing: drop it if the code it covered is gone")
    print(
        f"slither: {len(findings)} findings, {len(findings) - untriaged} accepted by {args.triage}, "
        f"{untriaged} untriaged ({failing} High/Medium)"
    )
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
