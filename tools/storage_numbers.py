"""Measures Grey's storage numbers with real greyd processes on loopback and prints them:
apply throughput, restart-to-ready with N log entries, snapshot size and time for N keys,
resident memory of a node holding them, and the rate a joining node catches up by snapshot.

    python3 tools/storage_numbers.py --keys 1000000 --catch-up-mb 1024 [--greyd .build/release/greyd]

Every phase is bounded: it gives up (and says so) after --limit seconds."""
import argparse
import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grey_proto  # noqa: E402

kv_pb2, cluster_pb2, kv_pb2_grpc, cluster_pb2_grpc = grey_proto.load()
import grpc  # noqa: E402

BASE_PORT = 27400


CLUSTERS = []


class Cluster:
    def __init__(self, greyd, root, count, settings):
        self.greyd, self.root, self.count, self.settings = greyd, root, count, settings
        self.processes = {}
        CLUSTERS.append(self)
        for node in range(count):
            self.start(node)

    def address(self, node):
        return f"127.0.0.1:{BASE_PORT + node}"

    def start(self, node, join=None):
        env = dict(os.environ, **self.settings)
        env.update(GREY_NODE_ID=str(node), GREY_LISTEN_ADDR=self.address(node),
                   GREY_DATA_DIR=os.path.join(self.root, f"node-{node}"))
        if join is not None:
            env["GREY_JOIN"] = self.address(join)
        else:
            env["GREY_CLUSTER_PEERS"] = ",".join(self.address(n) for n in range(self.count) if n != node)
        os.makedirs(self.root, exist_ok=True)
        log = open(os.path.join(self.root, f"node-{node}.log"), "a")
        self.processes[node] = subprocess.Popen([self.greyd], env=env, stdout=log, stderr=log)

    def kill(self, node, sig=signal.SIGKILL):
        process = self.processes.pop(node)
        process.send_signal(sig)
        process.wait()

    def stop(self):
        for node in list(self.processes):
            self.kill(node, signal.SIGTERM)

    def status(self, node):
        with grpc.insecure_channel(self.address(node)) as channel:
            return cluster_pb2_grpc.ClusterServiceStub(channel).GetClusterStatus(cluster_pb2.GetClusterStatusRequest(), timeout=2)

    def leader(self, limit):
        deadline = time.time() + limit
        while time.time() < deadline:
            try:
                status = self.status(next(iter(self.processes)))
                if status.has_leader:
                    return status.leader_id
            except grpc.RpcError:
                pass
            time.sleep(0.1)
        raise SystemExit("no leader")

    def rss_mib(self, node):
        with open(f"/proc/{self.processes[node].pid}/status") as status:
            return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1)) / 1024

    def metric(self, node, name):
        text = urllib.request.urlopen(f"http://{self.address(node)}/metrics", timeout=5).read().decode()
        match = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
        return float(match.group(1)) if match else 0.0


async def load(address, keys, value_bytes, concurrency=256):
    """Writes keys k0..k{keys-1}; returns seconds taken."""
    value = b"v" * value_bytes
    async with grpc.aio.insecure_channel(address) as channel:
        stub = kv_pb2_grpc.KVStub(channel)
        queue = iter(range(keys))

        async def writer():
            for index in queue:
                await stub.Put(kv_pb2.PutRequest(key=b"k%d" % index, value=value), timeout=30)

        started = time.time()
        await asyncio.gather(*(writer() for _ in range(concurrency)))
        return time.time() - started


def wait_caught_up(cluster, node, target, limit):
    started = time.time()
    while time.time() - started < limit:
        try:
            if cluster.status(node).applied_index >= target:
                return time.time() - started
        except grpc.RpcError:
            pass
        time.sleep(0.05)
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--greyd", default=".build/release/greyd")
    parser.add_argument("--greyctl", default=".build/release/greyctl")
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--catch-up-mb", type=int, default=1024)
    parser.add_argument("--limit", type=int, default=900)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="grey-storage-numbers-")
    try:
        # A: N keys of 100 bytes, log never compacted: apply rate, restart with N entries, backup.
        cluster = Cluster(args.greyd, os.path.join(root, "a"), 3, {"GREY_SNAPSHOT_ENTRIES": str(args.keys * 2 + 10)})
        leader = cluster.leader(30)
        seconds = asyncio.run(load(cluster.address(leader), args.keys, 100))
        print(f"apply: {args.keys} puts of 100 B in {seconds:.1f} s = {args.keys / seconds:,.0f} writes/s (256 concurrent, 3 nodes)")
        print(f"rss: leader holding {args.keys} keys and log entries: {cluster.rss_mib(leader):.0f} MiB")
        follower = next(n for n in cluster.processes if n != leader)
        target = cluster.status(leader).commit_index
        cluster.kill(follower)
        started = time.time()
        cluster.start(follower)
        ready = wait_caught_up(cluster, follower, target, args.limit)
        print(f"restart: node with {target} log entries ready (applied = commit) {time.time() - started:.2f} s after exec" if ready else "restart: did not catch up")
        backup = os.path.join(root, "backup.snap")
        started = time.time()
        subprocess.run([args.greyctl, "snapshot", "create", "--endpoints", cluster.address(leader), "--output", backup], check=True, stdout=subprocess.DEVNULL)
        print(f"snapshot: {args.keys} keys -> {os.path.getsize(backup) / 2**20:.1f} MiB in {time.time() - started:.2f} s (greyctl snapshot create, verified)")
        cluster.stop()
        shutil.rmtree(os.path.join(root, "a"), ignore_errors=True)

        # B: --catch-up-mb of 1 KiB values, default compaction; a new node joins.
        keys = args.catch_up_mb * 1024
        cluster = Cluster(args.greyd, os.path.join(root, "b"), 3, {})
        leader = cluster.leader(30)
        seconds = asyncio.run(load(cluster.address(leader), keys, 1024))
        print(f"load: {keys} puts of 1 KiB in {seconds:.1f} s = {keys * 1024 / 2**20 / seconds:.1f} MiB/s")
        target = cluster.status(leader).applied_index
        started = time.time()
        cluster.start(3, join=leader)
        caught = wait_caught_up(cluster, 3, target, args.limit)
        sent = cluster.metric(leader, "grey_snapshot_sent_bytes_total")
        transfer = cluster.metric(leader, "grey_snapshot_last_send_seconds")
        if caught and transfer > 0:
            print(f"catch-up: joined node applied {target} in {caught:.1f} s; snapshot {sent / 2**20:.0f} MiB streamed in {transfer:.1f} s = {sent / 2**20 / transfer:.0f} MiB/s")
        else:
            print(f"catch-up: caught up={caught}, snapshot bytes sent={sent}")
        cluster.stop()
    except BaseException:
        for cluster in CLUSTERS:
            for process in cluster.processes.values():
                process.kill()
        print(f"failed; node logs kept in {root}", file=sys.stderr)
        raise
    else:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
