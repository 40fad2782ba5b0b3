#!/usr/bin/env python3
"""Chaos test, from outside the process as Jepsen would: real greyd processes on distinct
loopback addresses (127.0.0.11, .12, ...), concurrent clients doing put, get, compare-and-swap
and delete over a few keys with unique values, and a nemesis that mixes kill -9 + restart,
SIGSTOP/SIGCONT pauses (a paused leader is also sent lease reads, which wait in its socket
until it resumes), iptables partitions between the node addresses (isolate: the leader cut
off from the rest; shift: a follower cut off, then the cut moved to the leader), leadership
transfers and SIGTERM hand-offs (transfer), and (with --faults ...,membership) removing a
member and joining a fresh one at its address. Run as root, each node runs as its own
unprivileged user (uid 60000 + slot), as a real deployment would.

Every operation is recorded with when it was invoked and when (if ever) its answer came;
`grey-sim --check-history` (the simulation's linearizability checker) judges the history.
Clients also write write-once keys now and then; at the end every acknowledged one must be
readable with its value (a lost acknowledged write), and every replica must hold the same
values once caught up. A failing run keeps its directory: history.jsonl, nemesis.log and
each node's log, and the command that re-checks it.

usage: python3 tools/chaos.py [--greyd .build/debug/greyd] [--checker .build/release/grey-sim]
           [--nodes 3] [--seconds 60] [--seed 1] [--faults kill,pause,partition[,isolate][,shift][,transfer][,membership]]
           [--expect-anomaly]   (for a deliberately broken build: pass only if it is caught)
Needs root for iptables (partitions); always removes its rules, even when interrupted.
"""
import argparse
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grey_proto  # noqa: E402

kv_pb2, cluster_pb2, kv_pb2_grpc, cluster_pb2_grpc = grey_proto.load()
rpc_pb2, mvcc_pb2, rpc_pb2_grpc = grey_proto.load_etcd()
import grpc  # noqa: E402

CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.min_reconnect_backoff_ms", 100),
                   ("grpc.max_reconnect_backoff_ms", 500)]
OPERATION_TIMEOUT = 1.0
FINAL_CLIENT = 999


def now():
    return time.monotonic_ns()


class Firewall:
    """Partitions as iptables rules in a chain of our own, jumped to from INPUT; `close`
    removes the chain whatever happened."""

    def __init__(self, name):
        self.chain = name
        self.installed = False

    def iptables(self, *args, check=True):
        return subprocess.run(["iptables", "-w", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=check)

    def open(self):
        self.close()
        self.iptables("-N", self.chain)
        self.iptables("-I", "INPUT", "-j", self.chain)
        self.installed = True

    def cut(self, side_a, side_b):
        for a in side_a:
            for b in side_b:
                self.iptables("-A", self.chain, "-s", a, "-d", b, "-j", "DROP")
                self.iptables("-A", self.chain, "-s", b, "-d", a, "-j", "DROP")

    def uncut(self, side_a, side_b):
        """Removes one copy of each rule `cut` added, leaving any other cut as it is."""
        for a in side_a:
            for b in side_b:
                self.iptables("-D", self.chain, "-s", a, "-d", b, "-j", "DROP")
                self.iptables("-D", self.chain, "-s", b, "-d", a, "-j", "DROP")

    def heal(self):
        self.iptables("-F", self.chain, check=False)

    def close(self):
        self.iptables("-D", "INPUT", "-j", self.chain, check=False)
        self.iptables("-F", self.chain, check=False)
        self.iptables("-X", self.chain, check=False)
        self.installed = False


class Node:
    def __init__(self, slot, node_id, host, port, root):
        self.slot, self.id, self.host, self.port, self.root = slot, node_id, host, port, root
        self.process = None
        self.paused = False

    @property
    def address(self):
        return f"{self.host}:{self.port}"

    @property
    def data_dir(self):
        return os.path.join(self.root, f"data-{self.slot}")

    def start(self, greyd, peers=None, join=None, extra_env=None):
        env = dict(os.environ, GREY_NODE_ID=str(self.id), GREY_LISTEN_ADDR=self.address, GREY_DATA_DIR=self.data_dir,
                   **(extra_env or {}))
        env.pop("GREY_CLUSTER_PEERS", None)
        env.pop("GREY_JOIN", None)
        if join:
            env["GREY_JOIN"] = join
        elif peers:
            env["GREY_CLUSTER_PEERS"] = ",".join(peers)
        log = open(os.path.join(self.root, f"node-{self.slot}.log"), "a")
        log.write(f"--- {time.strftime('%H:%M:%S')} starting node id {self.id} at {self.address}\n")
        log.flush()
        command = [greyd]
        if os.geteuid() == 0:
            # Each node its own unprivileged user, as in a real deployment (greyd must not need root).
            user = 60000 + self.slot
            command = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", os.path.abspath(greyd)]
        self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        self.paused = False

    def signal(self, number):
        if self.process and self.process.poll() is None:
            self.process.send_signal(number)

    def kill(self):
        if self.process:
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGKILL)
            self.process.wait()
            self.process = None
        self.paused = False

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None


class Cluster:
    def __init__(self, args, root):
        self.args, self.root = args, root
        self.nodes = [Node(slot, slot, f"127.0.0.{11 + slot}", args.port, root) for slot in range(args.nodes)]
        self.next_id = args.nodes
        self.channels = {}
        self.lock = threading.Lock()

    def start(self):
        if self.args.tls:
            self.make_certificates()
        for node in self.nodes:
            node.start(self.args.greyd, peers=[other.address for other in self.nodes if other is not node], extra_env=self.env(node))

    def make_certificates(self):
        """A cluster CA and one certificate naming every node address (tools/make-certs.sh)."""
        sans = ",".join(f"IP:127.0.0.{11 + slot}" for slot in range(self.args.nodes))
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "make-certs.sh")
        directory = os.path.join(self.root, "certs")
        subprocess.run([script, directory, f"node={sans}"], check=True, stdout=subprocess.DEVNULL)
        # The nodes run as other users: they must be able to read the node key (a test cluster).
        os.chmod(directory, 0o755)
        for name in os.listdir(directory):
            os.chmod(os.path.join(directory, name), 0o644)

    def certificate(self, name):
        return os.path.join(self.root, "certs", name)

    def election_timeout(self, node):
        """The node's election timeout in seconds (--election-timeout: one for all, or one per slot)."""
        timeouts = self.args.election_timeouts
        return timeouts[min(node.slot, len(timeouts) - 1)]

    def env(self, node):
        settings = {"GREY_ELECTION_TIMEOUT": f"{round(self.election_timeout(node) * 1000)}ms", "GREY_LOG_LEVEL": "info"}
        if self.args.snapshot_entries:
            settings["GREY_SNAPSHOT_ENTRIES"] = str(self.args.snapshot_entries)
        if self.args.tls:
            settings.update(GREY_TLS_CERT=self.certificate("node.pem"), GREY_TLS_KEY=self.certificate("node.key"),
                            GREY_TLS_CA=self.certificate("ca.pem"))
        return settings

    def channel(self, address):
        with self.lock:
            if address not in self.channels:
                if self.args.tls:
                    # The nemesis removes members: it needs a cluster certificate, as an operator would.
                    read = lambda name: open(self.certificate(name), "rb").read()
                    credentials = grpc.ssl_channel_credentials(read("ca.pem"), read("node.key"), read("node.pem"))
                    self.channels[address] = grpc.secure_channel(address, credentials, options=CHANNEL_OPTIONS)
                else:
                    self.channels[address] = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
            return self.channels[address]

    def status(self, node, timeout=0.5):
        stub = cluster_pb2_grpc.ClusterServiceStub(self.channel(node.address))
        return stub.GetClusterStatus(cluster_pb2.GetClusterStatusRequest(), timeout=timeout)

    def leader(self):
        """The node that some reachable node names as leader, or None."""
        for node in self.nodes:
            if not node.running or node.paused:
                continue
            try:
                status = self.status(node)
            except grpc.RpcError:
                continue
            if status.has_leader:
                for candidate in self.nodes:
                    if candidate.id == status.leader_id:
                        return candidate
        return None

    def await_leader(self, limit):
        deadline = time.time() + limit
        while time.time() < deadline:
            leader = self.leader()
            if leader is not None:
                try:
                    if self.status(leader).leader_id == leader.id:
                        return leader
                except grpc.RpcError:
                    pass
            time.sleep(0.1)
        return None

    def close(self):
        for node in self.nodes:
            node.kill()
        for channel in self.channels.values():
            channel.close()


class Recorder:
    def __init__(self):
        self.operations = []
        self.ids = itertools.count(1)
        self.write_once = []  # (key, value) acknowledged

    def record(self, client, op, key, invoked, completed=None, result=None, **fields):
        entry = {"id": next(self.ids), "client": client, "op": op, "key": key, "invoked": invoked,
                 "completed": completed, "result": result}
        entry.update(fields)
        self.operations.append(entry)


def never_sent(error):
    """Failures where the request certainly did not take effect: the client never reached a
    node, the node refused it before proposing anything, or it was refused for overload."""
    code, details = error.code(), (error.details() or "")
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED or code == grpc.StatusCode.INVALID_ARGUMENT:
        return True
    return code == grpc.StatusCode.UNAVAILABLE and any(
        marker in details for marker in ("failed to connect to all addresses", "Connection refused", "is starting: waiting for its peers"))


OPERATION_MIX = [("once", 0.06), ("put", 0.26), ("get", 0.40), ("cas", 0.16), ("delete", 0.12)]


def client_loop(number, cluster, recorder, keys, stop, seed):
    """One client: operations one after another, each to a random node (any node forwards to
    the leader), recorded with their invocation and completion times."""
    rng = random.Random(seed * 1000 + number)
    seen = {}
    counter = itertools.count(1)
    kinds, weights = zip(*OPERATION_MIX)
    while not stop.is_set():
        node = rng.choice(cluster.nodes)
        stub = kv_pb2_grpc.KVStub(cluster.channel(node.address))
        kind = rng.choices(kinds, weights)[0]
        key = rng.choice(keys)
        value = f"{number}.{next(counter)}"
        expected = seen.get(key)
        invoked = now()
        try:
            if kind == "once":
                # A write-once key: its acknowledged value must survive to the end.
                once = f"once.{value}"
                stub.Put(kv_pb2.PutRequest(key=once.encode(), value=value.encode()), timeout=OPERATION_TIMEOUT)
                recorder.write_once.append((once, value))
            elif kind == "put":
                stub.Put(kv_pb2.PutRequest(key=key.encode(), value=value.encode()), timeout=OPERATION_TIMEOUT)
                recorder.record(number, "put", key, invoked, now(), "written", value=value)
                seen[key] = value
            elif kind == "get":
                consistency = "lease" if rng.random() < 0.25 else "linearizable"
                level = kv_pb2.READ_CONSISTENCY_LEASE if consistency == "lease" else kv_pb2.READ_CONSISTENCY_LINEARIZABLE
                response = stub.Get(kv_pb2.GetRequest(key=key.encode(), consistency=level), timeout=OPERATION_TIMEOUT)
                found = response.value.decode() if response.found else None
                seen[key] = found
                recorder.record(number, "get", key, invoked, now(), {"value": found}, consistency=consistency)
            elif kind == "cas":
                request = kv_pb2.CompareAndSwapRequest(key=key.encode(), expected_value=(expected or "").encode(),
                                                       expect_absent=expected is None, new_value=value.encode())
                response = stub.CompareAndSwap(request, timeout=OPERATION_TIMEOUT)
                # A swap that succeeded found the expected value (the model's "current").
                current = expected if response.succeeded else (response.current_value.decode() if response.current_found else None)
                seen[key] = value if response.succeeded else current
                recorder.record(number, "cas", key, invoked, now(), {"succeeded": response.succeeded, "current": current},
                                expected=expected, new=value)
            else:
                response = stub.Delete(kv_pb2.DeleteRequest(key=key.encode()), timeout=OPERATION_TIMEOUT)
                seen[key] = None
                recorder.record(number, "delete", key, invoked, now(), {"existed": response.deleted})
        except grpc.RpcError as error:
            time.sleep(0.01)
            if never_sent(error) or kind in ("get", "once"):
                # Not applied; or a read (no effect); or a write-once key (judged only if acknowledged).
                continue
            # The write may or may not have happened: it stays open to the end of the history.
            fields = {"put": {"value": value}, "cas": {"expected": expected, "new": value}, "delete": {}}[kind]
            recorder.record(number, kind, key, invoked, **fields)
            seen.pop(key, None)


PAUSED_READER = 900  # client numbers of the nemesis's reads at paused leaders

BANK_ACCOUNTS = [f"bank/{i}".encode() for i in range(5)]
BANK_TOTAL = 100 * len(BANK_ACCOUNTS)


class Bank:
    """A bank on etcd's API, Jepsen's classic: transfers between accounts as Txns that compare
    both accounts' mod_revisions, and audits that Range every account at one revision —
    linearizable on any node, serializable on any node, and at an older revision — whose
    sum must always be the total. Old revisions are compacted now and then, so a read below
    the compaction must be refused, never answered from half-removed history."""

    def __init__(self, cluster, seed, log):
        self.cluster, self.log = cluster, log
        self.rng = random.Random(seed * 7919)
        self.violations = []
        self.transfers = self.audits = self.compactions = 0
        self.lock = threading.Lock()

    def stub(self, node=None):
        node = node or self.rng.choice(self.cluster.nodes)
        return rpc_pb2_grpc.KVStub(self.cluster.channel(node.address)), node

    def open_accounts(self):
        """Creates every account with 100 once (a Txn that only succeeds while none exists)."""
        for _ in range(100):
            stub, _ = self.stub()
            try:
                stub.Txn(rpc_pb2.TxnRequest(
                    compare=[rpc_pb2.Compare(key=BANK_ACCOUNTS[0], target=rpc_pb2.Compare.CREATE, result=rpc_pb2.Compare.EQUAL,
                                             create_revision=0)],
                    success=[rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=k, value=b"100")) for k in BANK_ACCOUNTS]),
                    timeout=OPERATION_TIMEOUT)
                if self.balances(stub, serializable=False) is not None:
                    return
            except grpc.RpcError:
                time.sleep(0.1)
        raise SystemExit("could not open the bank's accounts")

    def balances(self, stub, serializable, revision=0):
        response = stub.Range(rpc_pb2.RangeRequest(key=b"bank/", range_end=b"bank0", serializable=serializable, revision=revision),
                              timeout=OPERATION_TIMEOUT)
        if len(response.kvs) != len(BANK_ACCOUNTS):
            return None if not response.kvs else ({kv.key: kv for kv in response.kvs}, response.header.revision)
        return {kv.key: kv for kv in response.kvs}, response.header.revision

    def transfer_loop(self, stop):
        while not stop.is_set():
            stub, _ = self.stub()
            try:
                read = self.balances(stub, serializable=False)
                if read is None:
                    continue
                accounts, _ = read
                a, b = self.rng.sample(BANK_ACCOUNTS, 2)
                balance_a, balance_b = int(accounts[a].value), int(accounts[b].value)
                if balance_a == 0:
                    continue
                amount = self.rng.randint(1, balance_a)
                response = stub.Txn(rpc_pb2.TxnRequest(
                    compare=[rpc_pb2.Compare(key=a, target=rpc_pb2.Compare.MOD, result=rpc_pb2.Compare.EQUAL, mod_revision=accounts[a].mod_revision),
                             rpc_pb2.Compare(key=b, target=rpc_pb2.Compare.MOD, result=rpc_pb2.Compare.EQUAL, mod_revision=accounts[b].mod_revision)],
                    success=[rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=a, value=str(balance_a - amount).encode())),
                             rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=b, value=str(balance_b + amount).encode()))]),
                    timeout=OPERATION_TIMEOUT)
                if response.succeeded:
                    with self.lock:
                        self.transfers += 1
            except grpc.RpcError:
                time.sleep(0.01)

    def audit_loop(self, stop):
        last_compaction = time.time()
        while not stop.is_set():
            stub, node = self.stub()
            serializable = self.rng.random() < 0.5
            try:
                read = self.balances(stub, serializable)
                if read is None:
                    continue
                accounts, revision = read
                self.judge(accounts, revision, f"{'serializable' if serializable else 'linearizable'} on node {node.id}")
                older = revision - self.rng.randint(1, 20)
                if older > 1:
                    try:
                        past = self.balances(stub, serializable=True, revision=older)
                        if past is not None:
                            self.judge(past[0], older, f"at revision {older} on node {node.id}")
                    except grpc.RpcError as error:
                        if error.code() != grpc.StatusCode.OUT_OF_RANGE:
                            raise
                if time.time() - last_compaction > 2 and revision > 60:
                    stub.Compact(rpc_pb2.CompactionRequest(revision=revision - 50), timeout=OPERATION_TIMEOUT)
                    last_compaction = time.time()
                    with self.lock:
                        self.compactions += 1
            except grpc.RpcError:
                time.sleep(0.01)

    def judge(self, accounts, revision, how):
        with self.lock:
            self.audits += 1
            total = sum(int(kv.value) for kv in accounts.values())
            if len(accounts) != len(BANK_ACCOUNTS) or total != BANK_TOTAL:
                self.violations.append(f"{how}: {len(accounts)} accounts summing to {total} (of {BANK_TOTAL}) at revision {revision}")


class Nemesis:
    def __init__(self, cluster, firewall, faults, rng, log, recorder, keys):
        self.cluster, self.firewall, self.faults, self.rng, self.log = cluster, firewall, faults, rng, log
        self.recorder, self.keys = recorder, keys
        self.counts = {fault: 0 for fault in faults}
        self.lease_reads_answered = 0
        self.first_round = False

    def target(self):
        """Half the time the leader (faults there matter most), else any node; always the
        leader during the first round of faults."""
        if self.first_round or self.rng.random() < 0.5:
            leader = self.cluster.leader()
            if leader is not None:
                return leader
        return self.rng.choice(self.cluster.nodes)

    def run(self, until):
        # Every fault once first (on the leader where it takes a target), so even a short run
        # exercises each kind; then at random.
        first = list(self.faults)
        self.rng.shuffle(first)
        while time.time() < until:
            time.sleep(self.rng.uniform(0.5, 1.5))
            if time.time() >= until:
                break
            self.first_round = bool(first)
            fault = first.pop() if first else self.rng.choice(self.faults)
            getattr(self, fault)(min(until - time.time(), self.rng.uniform(0.3, 2.5)))
            self.counts[fault] += 1

    def kill(self, hold):
        node = self.target()
        self.log(f"kill -9 node {node.id} ({node.address}); restart in {hold:.1f} s")
        node.kill()
        time.sleep(max(hold, 0))
        node.start(self.cluster.args.greyd, extra_env=self.cluster.env(node))
        self.log(f"restarted node {node.id}")

    def pause(self, hold):
        node = self.target()
        was_leader = self.cluster.leader() is node
        self.log(f"SIGSTOP node {node.id} ({node.address}){' (the leader)' if was_leader else ''} for {hold:.1f} s")
        node.signal(signal.SIGSTOP)
        node.paused = True
        readers = []
        if was_leader and hold >= 0.4:
            # Lease reads sent to the paused ex-leader once the others have had time to elect
            # and write: they wait in its socket, and on SIGCONT it must not answer them from
            # a lease that ran out while it was stopped (the tick rule).
            time.sleep(0.3)
            for number in range(3):
                reader = threading.Thread(target=self.lease_read, args=(node, hold + 2.0, number), daemon=True)
                reader.start()
                readers.append(reader)
            time.sleep(max(hold - 0.3, 0))
        else:
            time.sleep(max(hold, 0))
        node.signal(signal.SIGCONT)
        node.paused = False
        self.log(f"SIGCONT node {node.id}")
        for reader in readers:
            reader.join()

    def lease_read(self, node, timeout, number):
        key = self.rng.choice(self.keys)
        stub = kv_pb2_grpc.KVStub(self.cluster.channel(node.address))
        invoked = now()
        try:
            response = stub.Get(kv_pb2.GetRequest(key=key.encode(), consistency=kv_pb2.READ_CONSISTENCY_LEASE), timeout=timeout)
        except grpc.RpcError:
            return  # a read that failed had no effect
        found = response.value.decode() if response.found else None
        self.recorder.record(PAUSED_READER + number, "get", key, invoked, now(), {"value": found}, consistency="lease")
        self.lease_reads_answered += 1

    def transfer(self, hold):
        """Leadership moves while clients run: half the time by TransferLeadership to a random
        follower, half the time by SIGTERM (greyd hands off before it exits), restarted after."""
        leader = self.cluster.await_leader(3)
        if leader is None:
            self.log("transfer skipped: no leader")
            return
        if self.rng.random() < 0.5:
            target = self.rng.choice([n for n in self.cluster.nodes if n is not leader])
            stub = cluster_pb2_grpc.ClusterServiceStub(self.cluster.channel(leader.address))
            try:
                stub.TransferLeadership(cluster_pb2.TransferLeadershipRequest(target_id=target.id), timeout=2)
                self.log(f"leadership transferred from node {leader.id} to node {target.id}")
            except grpc.RpcError as error:
                self.log(f"transfer from node {leader.id} to node {target.id} not done ({error.code().name})")
            time.sleep(max(hold, 0))
        else:
            self.log(f"SIGTERM the leader, node {leader.id}: it hands off and exits; restart in {hold:.1f} s")
            leader.signal(signal.SIGTERM)
            try:
                leader.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                leader.kill()
            time.sleep(max(hold, 0))
            leader.start(self.cluster.args.greyd, extra_env=self.cluster.env(leader))
            self.log(f"restarted node {leader.id}")

    def partition(self, hold):
        nodes = list(self.cluster.nodes)
        self.rng.shuffle(nodes)
        leader = self.cluster.leader()
        if self.rng.random() < 0.4 and leader is not None:
            nodes.remove(leader)
            nodes.insert(0, leader)
        minority = nodes[:self.rng.randint(1, (len(nodes) - 1) // 2)]
        self.cut(minority, leader, hold)

    def isolate(self, hold):
        """Cuts the leader off from every other node: the fault that deposes it while clients
        still reach it, so whatever it acknowledges alone is lost — Jepsen's partition-leader.
        The nemesis itself sends write-once puts straight to the cut-off leader at once, within
        its last election timeout as leader: a build that acknowledges before a majority has
        the write answers them, and every one it answers is lost — caught on every isolation."""
        leader = self.cluster.leader()
        if leader is None:
            self.log("isolation skipped: no leader")
            return
        # Long enough for the rest to elect a new leader (at least two election timeouts).
        hold = max(hold, 0.8, 3 * max(self.cluster.args.election_timeouts))
        writers = [threading.Thread(target=self.put_at_cut_off_leader, args=(leader, hold, number), daemon=True)
                   for number in range(3)]
        self.cut([leader], leader, hold, during=lambda: [writer.start() for writer in writers])
        for writer in writers:
            writer.join()

    def put_at_cut_off_leader(self, node, timeout, number):
        self.put_at(node, f"isolated.{self.counts['isolate']}.{number}", timeout)

    def put_at(self, node, value, timeout):
        """A write-once put sent straight to `node`; judged at the end if acknowledged."""
        key = f"once.{value}"
        stub = kv_pb2_grpc.KVStub(self.cluster.channel(node.address))
        try:
            stub.Put(kv_pb2.PutRequest(key=key.encode(), value=value.encode()), timeout=timeout)
        except grpc.RpcError:
            return  # not acknowledged: judged by nothing
        self.log(f"node {node.id} acknowledged {key}")
        self.recorder.write_once.append((key, value))

    def shift(self, hold):
        """As many followers as can be spared (1 of 3, 2 of 5) cut off long enough to fall
        behind; then, with no moment of healing in between, the cut moves to isolate the leader
        instead. The behind followers and the rest must elect a leader, and only one whose log
        is up to date may win (§5.4.1).

        With one election timeout per node (--election-timeout 3s,3s,100ms) the script is fixed:
        the node quickest to campaign is the one cut off (leadership moved away from it first),
        and the cut stays until the others' timeouts have run out: the behind node asks for votes
        again and again while the up-to-date ones are still waiting out their own timeouts, so a
        build that grants votes without the log check elects it nearly every time (the race it
        loses: an up-to-date node's random timeout ending within ~one of its retries, ~3%)."""
        leader = self.cluster.leader()
        if leader is None:
            self.log("shift skipped: no leader")
            return
        timeouts = {node.id: self.cluster.election_timeout(node) for node in self.cluster.nodes}
        scripted = len(set(timeouts.values())) > 1
        if scripted:
            quickest = sorted(self.cluster.nodes, key=lambda n: timeouts[n.id])[:(len(self.cluster.nodes) - 1) // 2]
            if leader in quickest:
                target = next(n for n in self.cluster.nodes if n not in quickest)
                stub = cluster_pb2_grpc.ClusterServiceStub(self.cluster.channel(leader.address))
                try:
                    stub.TransferLeadership(cluster_pb2.TransferLeadershipRequest(target_id=target.id), timeout=5)
                except grpc.RpcError as error:
                    self.log(f"shift skipped: leadership not moved from node {leader.id} ({error.code().name})")
                    return
                leader = self.cluster.await_leader(5)
                if leader is None or leader in quickest:
                    self.log("shift skipped: leadership did not move")
                    return
            behind = quickest
        else:
            followers = [n for n in self.cluster.nodes if n is not leader]
            behind = self.rng.sample(followers, (len(self.cluster.nodes) - 1) // 2)
        followers = [n for n in self.cluster.nodes if n is not leader]
        others = [n for n in self.cluster.nodes if n not in behind]
        names = ", ".join(str(n.id) for n in behind)
        self.log(f"cut {{{names}}} off for {hold:.1f} s (leader {leader.id})")
        self.firewall.cut([n.host for n in behind], [n.host for n in others])
        if scripted:
            # Writes the cut-off nodes certainly lack: acknowledged by the majority, so they must
            # survive whoever leads next — and are lost if a behind node wins and overwrites them.
            for number in range(3):
                self.put_at(leader, f"shifted.{self.counts['shift']}.{number}", timeout=2)
            hold = max(hold, 1.0)
        time.sleep(max(hold, 0))
        self.firewall.cut([leader.host], [n.host for n in followers])
        self.firewall.uncut([n.host for n in behind], [n.host for n in others])
        moved = max(1.0, 2.5 * max(timeouts.values())) if scripted else 1.0
        self.log(f"the cut moves: leader {leader.id} isolated, {{{names}}} back, for {moved:.1f} s")
        time.sleep(moved)
        self.firewall.heal()
        self.log("healed")

    def cut(self, minority, leader, hold, during=None):
        majority = [n for n in self.cluster.nodes if n not in minority]
        names = lambda side: ", ".join(f"{n.id}{'*' if n is leader else ''}" for n in side)
        self.log(f"partition {{{names(minority)}}} | {{{names(majority)}}} for {hold:.1f} s (* the leader)")
        self.firewall.cut([n.host for n in minority], [n.host for n in majority])
        if during:
            during()
        time.sleep(max(hold, 0))
        self.firewall.heal()
        self.log("healed")

    def membership(self, hold):
        """Removes a follower and, once it is out, joins a fresh node (new id, empty data) at
        its address: the membership changes while the other faults go on."""
        leader = self.cluster.await_leader(3)
        if leader is None:
            self.log("membership change skipped: no leader")
            return
        victims = [n for n in self.cluster.nodes if n is not leader]
        node = self.rng.choice(victims)
        stub = cluster_pb2_grpc.ClusterServiceStub(self.cluster.channel(leader.address))
        try:
            stub.LeaveCluster(cluster_pb2.LeaveClusterRequest(node_id=node.id), timeout=5)
        except grpc.RpcError as error:
            try:
                members = self.cluster.status(leader, timeout=2).members
            except grpc.RpcError:
                members = None
            if members is None or any(m.id == node.id for m in members):
                self.log(f"remove node {node.id} not done ({error.code().name}); carrying on")
                return
        self.log(f"removed node {node.id}; wiping {node.address} and joining a fresh node there")
        node.kill()
        shutil.rmtree(node.data_dir, ignore_errors=True)
        node.id = self.cluster.next_id
        self.cluster.next_id += 1
        node.start(self.cluster.args.greyd, join=leader.address, extra_env=self.cluster.env(node))
        self.log(f"node {node.id} joining at {node.address}")
        time.sleep(max(hold, 0))


def parse_duration(text):
    """Seconds in '150ms', '3s' or '0.5s'."""
    for suffix, scale in (("ms", 0.001), ("s", 1.0)):
        if text.endswith(suffix):
            return float(text[:-len(suffix)]) * scale
    raise ValueError(f"{text!r} is not a duration like 150ms or 3s")


def settle(cluster, log):
    """Every node running, unpaused, connected, and a leader that every node follows."""
    for node in cluster.nodes:
        if node.paused:
            node.signal(signal.SIGCONT)
            node.paused = False
        if not node.running:
            log(f"node {node.id} is down at the end; starting it")
            node.start(cluster.args.greyd, extra_env=cluster.env(node))
    return cluster.await_leader(30)


def final_reads(cluster, leader, recorder, keys):
    """A linearizable read of every key through the leader, retried until answered."""
    stub = kv_pb2_grpc.KVStub(cluster.channel(leader.address))
    for key in keys:
        for _ in range(100):
            invoked = now()
            try:
                response = stub.Get(kv_pb2.GetRequest(key=key.encode()), timeout=2)
                recorder.record(FINAL_CLIENT, "get", key, invoked, now(),
                                {"value": response.value.decode() if response.found else None}, consistency="linearizable")
                break
            except grpc.RpcError:
                time.sleep(0.2)
        else:
            return f"no answer to a final read of {key}"
    return None


def lost_writes(cluster, leader, recorder):
    stub = kv_pb2_grpc.KVStub(cluster.channel(leader.address))
    lost = []
    for key, value in recorder.write_once:
        for _ in range(50):
            try:
                response = stub.Get(kv_pb2.GetRequest(key=key.encode()), timeout=2)
                break
            except grpc.RpcError:
                time.sleep(0.2)
        else:
            return [f"{key}: no answer"]
        if not response.found or response.value.decode() != value:
            lost.append(f"{key} = {value} acknowledged, read back {'absent' if not response.found else response.value.decode()}")
    return lost


def replicas_agree(cluster, keys, recorder):
    """Once every node has applied the leader's commit index, stale reads on each must agree.
    Returns whether they caught up within 30 s, and the keys on which they differ."""
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            statuses = [cluster.status(node, timeout=2) for node in cluster.nodes]
            commit = max(s.commit_index for s in statuses)
            if all(s.applied_index >= commit for s in statuses):
                break
        except grpc.RpcError:
            pass
        time.sleep(0.2)
    else:
        return False, []
    disagreements = []
    for key in keys + [key for key, _ in recorder.write_once]:
        answers = {}
        for node in cluster.nodes:
            stub = kv_pb2_grpc.KVStub(cluster.channel(node.address))
            response = stub.Get(kv_pb2.GetRequest(key=key.encode(), consistency=kv_pb2.READ_CONSISTENCY_STALE), timeout=2)
            answers[node.id] = response.value.decode() if response.found else None
        if len(set(answers.values())) > 1:
            disagreements.append(f"{key}: {answers}")
    return True, disagreements


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--greyd", default=".build/debug/greyd")
    parser.add_argument("--checker", default=".build/release/grey-sim")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--keys", type=int, default=3)
    parser.add_argument("--port", type=int, default=7411)
    parser.add_argument("--faults", default="kill,pause,partition")
    parser.add_argument("--election-timeout", default="150ms", help="one for every node, or one per slot (150ms,150ms,3s): "
                        "shift then always cuts off the quickest to campaign")
    parser.add_argument("--tls", action="store_true", help="run the cluster with TLS (certificates made by tools/make-certs.sh)")
    parser.add_argument("--out", help="directory for the run (default: a new one under /tmp)")
    parser.add_argument("--keep", action="store_true", help="keep the run's directory even when it passes")
    parser.add_argument("--expect-anomaly", action="store_true", help="a broken build: exit 0 only if the run finds an anomaly")
    parser.add_argument("--snapshot-entries", type=int, help="compact every N applied entries (GREY_SNAPSHOT_ENTRIES), so nodes that "
                        "fall behind catch up by snapshot while the faults go on")
    parser.add_argument("--expect-snapshots", action="store_true", help="fail unless some node installed a snapshot during the run")
    args = parser.parse_args()

    try:
        args.election_timeouts = [parse_duration(text) for text in args.election_timeout.split(",")]
    except ValueError as error:
        raise SystemExit(f"--election-timeout: {error}")
    faults = [f for f in args.faults.split(",") if f]
    known = {"kill", "pause", "partition", "isolate", "shift", "transfer", "membership"}
    unknown = set(faults) - known
    if unknown:
        raise SystemExit(f"unknown faults: {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    cuts = {"partition", "isolate", "shift"} & set(faults)
    if cuts and os.geteuid() != 0:
        raise SystemExit(f"{' and '.join(sorted(cuts))} need root (iptables rules on lo); run as root or leave them out of --faults")
    for path in (args.greyd, args.checker):
        if not os.access(path, os.X_OK):
            raise SystemExit(f"{path} is not built")
    root = args.out or tempfile.mkdtemp(prefix=f"grey-chaos-{args.seed}-")
    os.makedirs(root, exist_ok=True)
    if os.geteuid() == 0:
        os.chmod(root, 0o777)  # the nodes, each its own user, create their data directories here
    nemesis_log = open(os.path.join(root, "nemesis.log"), "w")
    started = time.time()

    def log(line):
        stamped = f"{time.time() - started:7.2f}s  {line}"
        nemesis_log.write(stamped + "\n")
        nemesis_log.flush()
        if os.environ.get("GREY_CHAOS_VERBOSE"):
            print(stamped, flush=True)

    print(f"chaos: {args.nodes} greyd ({args.greyd}) on 127.0.0.11-{10 + args.nodes}:{args.port}, {args.clients} clients, "
          f"{args.keys} keys, faults {','.join(faults)}, {args.seconds:.0f} s, seed {args.seed}{', TLS' if args.tls else ''}; run directory {root}", flush=True)
    rng = random.Random(args.seed)
    cluster = Cluster(args, root)
    firewall = Firewall(f"GREY-CHAOS-{args.port}")
    recorder = Recorder()
    keys = [f"k{i}" for i in range(args.keys)]
    problems = []

    def interrupted(number, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    nemesis = Nemesis(cluster, firewall, faults, rng, log, recorder, keys)
    bank = None
    try:
        if cuts:
            firewall.open()
        cluster.start()
        if cluster.await_leader(30) is None:
            raise SystemExit("the cluster elected no leader within 30 s; see the node logs in " + root)
        bank = Bank(cluster, args.seed, log)
        bank.open_accounts()
        log("leader elected, bank open; clients start")
        stop = threading.Event()
        clients = [threading.Thread(target=client_loop, args=(n, cluster, recorder, keys, stop, args.seed), daemon=True)
                   for n in range(args.clients)]
        clients += [threading.Thread(target=bank.transfer_loop, args=(stop,), daemon=True) for _ in range(2)]
        clients += [threading.Thread(target=bank.audit_loop, args=(stop,), daemon=True)]
        for client in clients:
            client.start()
        nemesis.run(time.time() + args.seconds)
        stop.set()
        for client in clients:
            client.join()
        firewall.heal()
        log("faults over; settling")
        leader = settle(cluster, log)
        if leader is None:
            problems.append("no leader within 30 s after the faults ended")
        else:
            problem = final_reads(cluster, leader, recorder, keys)
            if problem:
                problems.append(problem)
            lost = lost_writes(cluster, leader, recorder)
            problems += [f"lost acknowledged write: {line}" for line in lost]
            # A last audit on every node, once all have applied everything.
            caught_up, disagreements = replicas_agree(cluster, keys + [k.decode() for k in BANK_ACCOUNTS], recorder)
            for node in cluster.nodes:
                read = bank.balances(rpc_pb2_grpc.KVStub(cluster.channel(node.address)), serializable=True)
                if read is not None:
                    bank.judge(read[0], read[1], f"final serializable read on node {node.id}")
            problems += [f"bank total broken: {line}" for line in bank.violations]
            if not caught_up:
                problems.append("replicas did not catch up within 30 s")  # a failure, but not an anomaly
            problems += [f"replicas disagree: {line}" for line in disagreements]
    except KeyboardInterrupt:
        problems.append("interrupted")
    finally:
        firewall.close()
        cluster.close()

    installs = 0
    for name in os.listdir(root):
        if name.startswith("node-") and name.endswith(".log"):
            with open(os.path.join(root, name), errors="replace") as node_log:
                installs += sum(1 for line in node_log if "installed a snapshot at index" in line)
    print(f"snapshots installed by followers during the run: {installs}", flush=True)
    if args.expect_snapshots and installs == 0:
        problems.append("no node installed a snapshot: the run did not exercise catching up by snapshot")

    history_path = os.path.join(root, "history.jsonl")
    with open(history_path, "w") as history:
        for entry in sorted(recorder.operations, key=lambda e: e["invoked"]):
            history.write(json.dumps(entry) + "\n")
    faults_done = ", ".join(f"{count} {name}" for name, count in nemesis.counts.items())
    print(f"faults: {faults_done}; write-once keys acknowledged: {len(recorder.write_once)}; "
          f"lease reads answered by paused leaders: {nemesis.lease_reads_answered}", flush=True)
    if bank is not None:
        print(f"bank: {bank.transfers} transfers committed, {bank.audits} audits (each summing to {BANK_TOTAL}), "
              f"{bank.compactions} compactions, {len(bank.violations)} broken", flush=True)
    checked = subprocess.run([args.checker, "--check-history", history_path], stdout=subprocess.PIPE, text=True)
    print(checked.stdout, end="")
    if checked.returncode == 2:
        problems.append("the history could not be read")
    if checked.returncode == 3:
        # Neither a pass nor a proven anomaly: fails a run of a correct build, catches no broken one.
        problems.append("the checker could not decide within its budget")
    anomaly = checked.returncode == 1 or any(p.startswith(("lost acknowledged", "replicas disagree", "bank total")) for p in problems)
    for problem in problems:
        print(f"problem: {problem}")
    if args.expect_anomaly:
        verdict = anomaly
        print(f"broken build: {'caught' if anomaly else 'NOT caught'}")
    else:
        verdict = not anomaly and not problems
        print(f"chaos: {'passed' if verdict else 'FAILED'}")
    if verdict and not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"kept {root} (history.jsonl, nemesis.log, node-*.log); re-check with: {args.checker} --check-history {history_path}")
    sys.exit(0 if verdict else 1)


if __name__ == "__main__":
    main()
