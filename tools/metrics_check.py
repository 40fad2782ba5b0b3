#!/usr/bin/env python3
"""Fetches a node's /metrics, parses it with the official Prometheus Python client's parser
(a malformed exposition raises), and checks that every metric Grey promises is there.

  metrics_check.py URL [--leader]     --leader: also expect per-follower replication lag
"""
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

REQUIRED = [
    "grey_consensus_term", "grey_consensus_log_index", "grey_consensus_commit_index", "grey_cluster_leader",
    "grey_rpc_latency_seconds", "grey_leader_changes", "grey_storage_used_bytes", "grey_has_leader",
    "grey_state_bytes", "grey_quota_backend_bytes", "grey_alarm_nospace",
    "grey_disk_sync_seconds", "grey_apply_seconds", "grey_proposals_failed",
]


def main():
    url = sys.argv[1]
    text = urllib.request.urlopen(url, timeout=5).read().decode()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    expected = REQUIRED + (["grey_replication_lag"] if "--leader" in sys.argv else [])
    missing = [name for name in expected if name not in families]
    for name in missing:
        print(f"FAIL metric {name} missing from {url}")
    leader = [s.value for s in families.get("grey_cluster_leader").samples] if "grey_cluster_leader" in families else []
    wrong_leader = "--leader" in sys.argv and leader != [1.0]
    if wrong_leader:
        print(f"FAIL grey_cluster_leader is {leader} on the leader")
    histogram = families.get("grey_rpc_latency_seconds")
    methods = {s.labels.get("method") for s in histogram.samples} if histogram else set()
    no_methods = not methods
    if no_methods:
        print("FAIL grey_rpc_latency_seconds has no method label")
    failed = len(missing) + wrong_leader + no_methods
    print(f"metrics: {len(expected) + 2 - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
