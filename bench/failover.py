#!/usr/bin/env python3
"""Failover under load: kill -9 the leader of a loaded 3-node cluster ROUNDS times and measure
the time from the kill to the next acknowledged write (one sent after the kill). The killed
node is restarted and caught up before the next round. Prints each round, the median and
the worst. Real greyd processes on loopback, fsync on; writers spread over every node.

usage: python3 bench/failover.py [--greyd .build/release/greyd] [--rounds 20] [--writers 16]
"""
import argparse
import asyncio
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from storage_numbers import CLUSTERS, Cluster, kv_pb2, kv_pb2_grpc, wait_caught_up  # noqa: E402
import grpc  # noqa: E402


class Writers:
    """Writers that put continuously through every node, recording (sent, acknowledged) times."""

    def __init__(self, cluster, count):
        self.cluster, self.count = cluster, count
        self.acks = []
        self.running = True

    async def run(self):
        channels = [grpc.aio.insecure_channel(self.cluster.address(n)) for n in range(self.cluster.count)]
        stubs = [kv_pb2_grpc.KVStub(c) for c in channels]

        async def writer(w):
            i = 0
            while self.running:
                stub = stubs[(w + i) % len(stubs)]
                i += 1
                sent = time.monotonic()
                try:
                    await stub.Put(kv_pb2.PutRequest(key=b"f%d-%d" % (w, i), value=b"v" * 100), timeout=2)
                    self.acks.append((sent, time.monotonic()))
                except grpc.RpcError:
                    await asyncio.sleep(0.005)

        await asyncio.gather(*(writer(w) for w in range(self.count)))
        for c in channels:
            await c.close()

    def first_ack_after(self, t0):
        after = [acked for sent, acked in self.acks if sent >= t0]
        return min(after) - t0 if after else None

    async def wait_first_ack_after(self, t0, limit=10):
        """Seconds from t0 to the first acknowledged write sent after it; None if none within `limit`."""
        took = None
        while time.monotonic() - t0 < limit and took is None:
            await asyncio.sleep(0.01)
            took = self.first_ack_after(t0)
        return took


@contextlib.asynccontextmanager
async def loaded_cluster(greyd, writers, prefix):
    """A 3-node cluster of `greyd` with a leader and `writers` writing through every node for a
    second already; stopped and removed afterwards."""
    root = tempfile.mkdtemp(prefix=prefix)
    cluster = Cluster(os.path.abspath(greyd), root, 3, {"GREY_LOG_LEVEL": "error"})
    try:
        cluster.leader(15)
        load = Writers(cluster, writers)
        task = asyncio.create_task(load.run())
        await asyncio.sleep(1)
        yield cluster, load
        load.running = False
        await task
    finally:
        for c in CLUSTERS:
            c.stop()
        shutil.rmtree(root, ignore_errors=True)


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--greyd", default=".build/release/greyd")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--writers", type=int, default=16)
    args = parser.parse_args()
    async with loaded_cluster(args.greyd, args.writers, "grey-failover-") as (cluster, writers):
        results = []
        for round in range(1, args.rounds + 1):
            leader = cluster.leader(15)
            before = len(writers.acks)
            await asyncio.sleep(0.3)
            if len(writers.acks) == before:
                raise SystemExit(f"round {round}: no writes acknowledged before the kill")
            t0 = time.monotonic()
            cluster.kill(int(leader))
            took = await writers.wait_first_ack_after(t0)
            if took is None:
                raise SystemExit(f"round {round}: no write acknowledged within 10 s of killing node {leader}")
            results.append(took)
            print(f"round {round:2}: killed leader {leader}, next acknowledged write after {took * 1000:6.1f} ms", flush=True)
            cluster.start(int(leader))
            survivor = next(n for n in cluster.processes if n != int(leader))
            target = cluster.status(survivor).commit_index
            if await asyncio.to_thread(wait_caught_up, cluster, int(leader), target, 30) is None:
                raise SystemExit(f"round {round}: node {leader} did not catch up after restart")
    ms = sorted(r * 1000 for r in results)
    print(f"failover over {len(ms)} kills: median {statistics.median(ms):.1f} ms, worst {ms[-1]:.1f} ms, best {ms[0]:.1f} ms")
    print(f"writes acknowledged during the run: {len(writers.acks)}")


if __name__ == "__main__":
    asyncio.run(main())
