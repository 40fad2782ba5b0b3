#!/usr/bin/env python3
"""Checks deploy/prometheus/alerts.yml the way Prometheus would, and that its tests bite.

  alerts_check.py [--metrics URL]

1. `promtool check rules` accepts the rules; `promtool test rules` passes their unit tests.
2. Each alert, replaced by one that never fires, makes the unit tests fail: every alert has a
   test that needs it to fire, so a rule broken later cannot pass unnoticed.
3. With --metrics (a live greyd's /metrics), every grey_* metric the rules and the Grafana
   dashboard (deploy/grafana/grey.json) name is one greyd really exports: a renamed metric
   would leave an alert that can never fire and a panel that stays empty.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request

import json

import yaml

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "deploy", "prometheus")
RULES = os.path.join(HERE, "alerts.yml")
DASHBOARD = os.path.join(HERE, "..", "grafana", "grey.json")
TESTS = os.path.join(HERE, "alerts_test.yml")


def promtool(*args, cwd=None):
    return subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True)


def main():
    failed = 0
    passed = 0
    for args in (["check", "rules", RULES], ["test", "rules", TESTS]):
        result = promtool(*args)
        if result.returncode == 0:
            passed += 1
        else:
            failed += 1
            print(f"FAIL promtool {' '.join(args[:2])}:\n{result.stdout}{result.stderr}")

    rules = yaml.safe_load(open(RULES))
    alerts = [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]
    for index, alert in enumerate(alerts):
        with tempfile.TemporaryDirectory() as work:
            broken = yaml.safe_load(open(RULES))
            flat = [rule for group in broken["groups"] for rule in group["rules"] if "alert" in rule]
            flat[index]["expr"] = "vector(1) > 2"  # never fires
            yaml.safe_dump(broken, open(os.path.join(work, "alerts.yml"), "w"))
            shutil.copy(TESTS, os.path.join(work, "alerts_test.yml"))
            result = promtool("test", "rules", "alerts_test.yml", cwd=work)
            if result.returncode != 0:
                passed += 1
            else:
                failed += 1
                print(f"FAIL {alert['alert']}: the unit tests still pass when it can never fire")

    if "--metrics" in sys.argv:
        url = sys.argv[sys.argv.index("--metrics") + 1]
        exposition = urllib.request.urlopen(url, timeout=5).read().decode()
        exported = {re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
                    for line in exposition.splitlines() if line and not line.startswith("#")}
        panels = json.load(open(DASHBOARD))["panels"]
        exprs = [alert["expr"] for alert in alerts] + [target["expr"] for panel in panels for target in panel["targets"]]
        named = {name for expr in exprs for name in re.findall(r"\bgrey_[a-z0-9_]+", expr)}
        for name in sorted(named):
            if name in exported:
                passed += 1
            else:
                failed += 1
                print(f"FAIL {name}, named by an alert, is not in {url}")

    print(f"alerts: {passed} passed, {failed} failed ({len(alerts)} alerts)")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
