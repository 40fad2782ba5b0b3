#!/usr/bin/env python3
"""Catch-up: stop a follower of a 3-node cluster, write ENTRIES entries, restart it while
writers keep going, and measure how fast it catches up (entries it was behind / seconds until
it has applied the leader's commit index as of its restart). Run once with the default log
compaction (a follower that far behind gets a snapshot) and once with compaction pushed out
of the way (it replays the log), unless --mode says which.

usage: python3 bench/catchup.py [--greyd .build/release/greyd] [--entries 100000] [--mode both|snapshot|log]
"""
import argparse
import asyncio
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from storage_numbers import CLUSTERS, Cluster, kv_pb2, kv_pb2_grpc, load, wait_caught_up  # noqa: E402
import grpc  # noqa: E402


async def keep_writing(address, stop):
    """Light background load (one writer) so the cluster is serving while the follower catches up."""
    written = 0
    async with grpc.aio.insecure_channel(address) as channel:
        stub = kv_pb2_grpc.KVStub(channel)
        while not stop.is_set():
            try:
                await stub.Put(kv_pb2.PutRequest(key=b"during-%d" % written, value=b"v" * 100), timeout=2)
                written += 1
            except grpc.RpcError:
                await asyncio.sleep(0.01)
    return written


def cpu_seconds(pid):
    """User and system CPU time of a process so far (steadier on a shared machine than the wall time)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run(greyd, entries, mode):
    settings = {"GREY_LOG_LEVEL": "error"}
    if mode == "log":
        settings["GREY_SNAPSHOT_ENTRIES"] = str(entries * 10)
    root = tempfile.mkdtemp(prefix=f"grey-catchup-{mode}-")
    cluster = Cluster(greyd, root, 3, settings)
    try:
        leader = int(cluster.leader(15))
        follower = next(n for n in range(3) if n != leader)
        behind_from = cluster.status(follower).applied_index
        snapshots_before = cluster.metric(leader, "grey_snapshots_sent_total")
        cluster.kill(follower)
        seconds = await load(cluster.address(leader), entries, 100, concurrency=256)
        target = cluster.status(leader).commit_index
        stop = asyncio.Event()
        writer = asyncio.create_task(keep_writing(cluster.address(leader), stop))
        cluster.start(follower)
        took = await asyncio.to_thread(wait_caught_up, cluster, follower, target, 120)
        follower_cpu = cpu_seconds(cluster.processes[follower].pid)
        stop.set()
        served = await writer
        if took is None:
            raise SystemExit(f"{mode}: follower did not catch up within 120 s")
        behind = target - behind_from
        how = "a snapshot" if cluster.metric(leader, "grey_snapshots_sent_total") > snapshots_before else "the log"
        print(f"{mode:8}: {entries} writes in {seconds:.1f} s; follower {behind} entries behind caught up by {how} "
              f"in {took:.2f} s = {behind / took:,.0f} entries/s (restart included), {follower_cpu:.2f} s of the follower's CPU; "
              f"{served} writes served meanwhile", flush=True)
    finally:
        cluster.stop()
        CLUSTERS.remove(cluster)
        shutil.rmtree(root, ignore_errors=True)  # each run's three nodes hold ~200 MiB


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--greyd", default=".build/release/greyd")
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--mode", choices=["both", "snapshot", "log"], default="both")
    args = parser.parse_args()
    for mode in (["snapshot", "log"] if args.mode == "both" else [args.mode]):
        await run(os.path.abspath(args.greyd), args.entries, mode)


if __name__ == "__main__":
    asyncio.run(main())
