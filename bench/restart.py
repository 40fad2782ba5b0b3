#!/usr/bin/env python3
"""Restart time of a follower holding many log entries: load a 3-node cluster with --keys Puts
of 100 bytes (log compaction pushed out of the way, so every entry stays in the log), then kill
-9 a follower and restart it --restarts times, each time measuring from exec until it has
applied the leader's commit index. The first restart replays RocksDB's write-ahead log of the
whole load; later ones start from flushed tables. What tools/storage_numbers.py's restart line
measures, alone, so two builds can be alternated quickly.

usage: python3 bench/restart.py [--greyd .build/release/greyd] [--keys 200000] [--restarts 1]
"""
import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from storage_numbers import CLUSTERS, Cluster, load, wait_caught_up  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--greyd", default=".build/release/greyd")
    parser.add_argument("--keys", type=int, default=200_000)
    parser.add_argument("--restarts", type=int, default=1)
    parser.add_argument("--limit", type=int, default=120)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="grey-restart-")
    try:
        cluster = Cluster(os.path.abspath(args.greyd), os.path.join(root, "a"), 3,
                          {"GREY_SNAPSHOT_ENTRIES": str(args.keys * 2 + 10), "GREY_LOG_LEVEL": "error"})
        leader = cluster.leader(30)
        seconds = asyncio.run(load(cluster.address(leader), args.keys, 100))
        print(f"load: {args.keys} puts of 100 B in {seconds:.1f} s = {args.keys / seconds:,.0f} writes/s (256 concurrent)")
        follower = next(n for n in cluster.processes if n != leader)
        target = cluster.status(leader).commit_index
        for restart in range(1, args.restarts + 1):
            cluster.kill(follower)
            started = time.time()
            cluster.start(follower)
            ready = wait_caught_up(cluster, follower, target, args.limit)
            took = time.time() - started
            print(f"restart {restart}: {target} log entries, applied = commit {took:.2f} s after exec" if ready
                  else f"restart {restart}: did not catch up within {args.limit} s")
    finally:
        for cluster in CLUSTERS:
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
