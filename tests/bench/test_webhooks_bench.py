"""`clearing bench webhooks`, tiny: every message delivered and verified, none lost across a 2 s outage."""

from __future__ import annotations

import json
import subprocess

from tests.conftest import CLEARING_EXE, clearing_env


def test_bench_webhooks_small(tmp_path):
    argv = [CLEARING_EXE, "bench", "webhooks", "--events", "200", "--outage-seconds", "2"]
    argv += ["--cost-obligations", "400", "--cost-batch", "100", "--cost-repeats", "1", "--paced-events", "50"]
    proc = subprocess.run(argv, cwd=tmp_path, env=clearing_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["ok"] is True
    base, outbox, outage = out["baseline_bare_signed_posts"], out["outbox"], out["outage"]
    assert base["all_2xx"] and base["verified"] == 200
    assert outbox["events"] == 200 and outbox["all_verified"] and outbox["deliveries_per_s"] > 0
    assert outbox["latency_ms"]["p50"] <= outbox["latency_ms"]["p99"]
    assert out["ratio_outbox_to_baseline"] > 0
    assert outage["published"] > 0 and outage["lost"] == 0 and outage["delivered_verified"] == outage["published"]
    assert outage["attempts_refused_503"] > 0 and outage["one_webhook_id_per_body"] and outage["all_verified"]
    assert out["paced"]["events"] == 50 and out["paced"]["latency_ms"]["p50"] > 0
    cost = out["submission_cost"]
    assert cost["obligations_per_condition"] == 400
    assert set(cost["per_s_median_batch"]) == {
        "baseline_no_publish",
        "nobody_subscribed",
        "others_subscribed",
        "debtor_subscribed",
    }
    lines = proc.stderr.splitlines()
    assert lines and all(line.startswith("bench webhooks: ") for line in lines)
