#!/usr/bin/env python3
"""Every node held at once: SIGSTOP all three nodes of a loaded cluster for --stall-ms, then
SIGCONT them, ROUNDS times — what a disk that stalls every node's fsync at once does to their
loops (seen on CI: 0.3-0.5 s). Counts the stalls after which the cluster changed leader (a
new term), and the time from the resume to the first acknowledged write sent after it.
A stall is no news of the others: their messages wait in the sockets, so no leader change is
the right outcome. Real greyd processes on loopback, fsync on; writers spread over every node.

usage: python3 bench/stall.py [--greyd .build/release/greyd] [--rounds 20] [--stall-ms 400]
"""

import argparse
import asyncio
import signal
import statistics
import time

from failover import loaded_cluster


def terms(cluster):
    """Each node's (term, leader) as it answers now."""
    return {node: (status.term, status.leader_id if status.has_leader else None)
            for node in cluster.processes for status in [cluster.status(node)]}


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--greyd", default=".build/release/greyd")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--stall-ms", type=int, default=400)
    parser.add_argument("--writers", type=int, default=16)
    args = parser.parse_args()
    changed, resumed = 0, []
    async with loaded_cluster(args.greyd, args.writers, "grey-stall-") as (cluster, writers):
        for round in range(1, args.rounds + 1):
            await asyncio.sleep(0.5)
            before = await asyncio.to_thread(terms, cluster)
            for process in cluster.processes.values():
                process.send_signal(signal.SIGSTOP)
            await asyncio.sleep(args.stall_ms / 1000)
            for process in cluster.processes.values():
                process.send_signal(signal.SIGCONT)
            t0 = time.monotonic()
            took = await writers.wait_first_ack_after(t0)
            await asyncio.sleep(0.5)
            after = await asyncio.to_thread(terms, cluster)
            new_term = max(t for t, _ in after.values()) > max(t for t, _ in before.values())
            changed += new_term
            if took is not None:
                resumed.append(took * 1000)
            leaders = {leader for _, leader in after.values()}
            print(f"round {round:2}: {'leader changed' if new_term else 'same leader   '} "
                  f"(terms {sorted(t for t, _ in before.values())} -> {sorted(t for t, _ in after.values())}, leader {leaders}); "
                  f"first write after the resume {'none' if took is None else f'{took * 1000:6.1f} ms'}", flush=True)
    print(f"{args.stall_ms} ms stalls of every node: the leader changed after {changed} of {args.rounds}; "
          f"first acknowledged write after the resume: median {statistics.median(resumed):.1f} ms, worst {max(resumed):.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
