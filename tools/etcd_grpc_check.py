#!/usr/bin/env python3
"""A stock grpcio client generated from Protos/etcd/ (etcd's v3 API) against a real Grey
cluster: KV (Range with every option, Put, DeleteRange, Txn, Compact), Cluster and
Maintenance calls, etcd's error codes and messages, and grey.v1 and etcd's API seeing one
store.

  etcd_grpc_check.py HOST:PORT,HOST:PORT,...   (every node of a running cluster)

Prints one line per failed check and a closing 'N passed, N failed' line; exits 1 on a failure.
"""
import sys
import time

import grpc

from grey_proto import load, load_etcd
from grpc_checks import check, expect_status, results

rpc, mvcc, rpc_grpc = load_etcd()
kv, cl, kv_grpc, cl_grpc = load()


def keys(response):
    return [kv_.key for kv_ in response.kvs]


def main():
    targets = sys.argv[1].split(",")
    channels = [grpc.insecure_channel(t) for t in targets]
    for channel in channels:
        grpc.channel_ready_future(channel).result(timeout=30)
    etcd = [rpc_grpc.KVStub(c) for c in channels]
    maintenance = [rpc_grpc.MaintenanceStub(c) for c in channels]
    cluster = rpc_grpc.ClusterStub(channels[0])
    first, other = etcd[0], etcd[-1]

    # Put: revisions as etcd numbers them, prev_kv.
    base = first.Range(rpc.RangeRequest(key=b"py/", range_end=b"py0"), timeout=5).header.revision
    put = first.Put(rpc.PutRequest(key=b"py/a", value=b"1"), timeout=5)
    check("put takes the next revision", put.header.revision == base + 1, str(put))
    check("header names the cluster and member", put.header.cluster_id != 0 and put.header.raft_term >= 1, str(put.header))
    again = other.Put(rpc.PutRequest(key=b"py/a", value=b"2", prev_kv=True), timeout=5)
    check("put prev_kv", again.prev_kv.value == b"1" and again.prev_kv.version == 1, str(again))
    for key in (b"py/b", b"py/c", b"py/d"):
        first.Put(rpc.PutRequest(key=key, value=key[-1:] * 3), timeout=5)
    latest = first.Range(rpc.RangeRequest(key=b"py/a"), timeout=5)
    kv_a = latest.kvs[0]
    check("range one key", kv_a.value == b"2" and kv_a.version == 2 and kv_a.create_revision == base + 1
          and kv_a.mod_revision == base + 2 and latest.count == 1, str(latest))
    older = first.Range(rpc.RangeRequest(key=b"py/a", revision=base + 1), timeout=5)
    check("range at an older revision", older.kvs[0].value == b"1", str(older))
    prefix = rpc.RangeRequest(key=b"py/", range_end=b"py0")
    check("range prefix", keys(first.Range(prefix, timeout=5)) == [b"py/a", b"py/b", b"py/c", b"py/d"])
    limited = first.Range(rpc.RangeRequest(key=b"py/", range_end=b"py0", limit=2), timeout=5)
    check("limit, more, count", keys(limited) == [b"py/a", b"py/b"] and limited.more and limited.count == 4, str(limited))
    descending = first.Range(rpc.RangeRequest(key=b"py/", range_end=b"py0", sort_order=rpc.RangeRequest.DESCEND,
                                              sort_target=rpc.RangeRequest.KEY), timeout=5)
    check("sort descending", keys(descending) == [b"py/d", b"py/c", b"py/b", b"py/a"])
    counted = first.Range(rpc.RangeRequest(key=b"py/", range_end=b"py0", count_only=True), timeout=5)
    check("count only", counted.count == 4 and not counted.kvs, str(counted))
    only_keys = first.Range(rpc.RangeRequest(key=b"py/", range_end=b"py0", keys_only=True), timeout=5)
    check("keys only", all(not k.value for k in only_keys.kvs) and len(only_keys.kvs) == 4)
    filtered = first.Range(rpc.RangeRequest(key=b"py/", range_end=b"py0", min_create_revision=base + 3), timeout=5)
    check("min create revision", keys(filtered) == [b"py/b", b"py/c", b"py/d"], str(filtered))
    # A serializable read on the last node, once it has applied everything.
    deadline = time.time() + 10
    while time.time() < deadline:
        local = other.Range(rpc.RangeRequest(key=b"py/d", serializable=True), timeout=5)
        if local.kvs:
            break
        time.sleep(0.05)
    check("serializable range", local.kvs and local.kvs[0].value == b"ddd", str(local))

    # Txn: compares, both branches, nested, read-your-writes.
    compare = rpc.Compare(key=b"py/a", result=rpc.Compare.EQUAL, target=rpc.Compare.VALUE, value=b"2")
    txn = first.Txn(rpc.TxnRequest(
        compare=[compare, rpc.Compare(key=b"py/a", result=rpc.Compare.GREATER, target=rpc.Compare.MOD, mod_revision=base)],
        success=[rpc.RequestOp(request_put=rpc.PutRequest(key=b"py/t", value=b"then")),
                 rpc.RequestOp(request_range=rpc.RangeRequest(key=b"py/t"))],
        failure=[rpc.RequestOp(request_put=rpc.PutRequest(key=b"py/e", value=b"else"))]), timeout=5)
    check("txn success branch", txn.succeeded and txn.responses[1].response_range.kvs[0].value == b"then", str(txn))
    failed = first.Txn(rpc.TxnRequest(
        compare=[rpc.Compare(key=b"py/a", result=rpc.Compare.LESS, target=rpc.Compare.VERSION, version=1)],
        success=[rpc.RequestOp(request_put=rpc.PutRequest(key=b"py/t", value=b"no"))],
        failure=[rpc.RequestOp(request_txn=rpc.TxnRequest(success=[rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=b"py/t", prev_kv=True))]))]),
        timeout=5)
    nested = failed.responses[0].response_txn.responses[0].response_delete_range
    check("txn failure branch, nested txn", not failed.succeeded and nested.deleted == 1 and nested.prev_kvs[0].value == b"then", str(failed))
    expect_status("duplicate key in txn", grpc.StatusCode.INVALID_ARGUMENT, lambda: first.Txn(rpc.TxnRequest(
        success=[rpc.RequestOp(request_put=rpc.PutRequest(key=b"x", value=b"1")),
                 rpc.RequestOp(request_put=rpc.PutRequest(key=b"x", value=b"2"))]), timeout=5),
        "etcdserver: duplicate key given in txn request")

    # DeleteRange, errors, compaction.
    deleted = first.DeleteRange(rpc.DeleteRangeRequest(key=b"py/c", range_end=b"py/e", prev_kv=True), timeout=5)
    check("delete range prev_kv", deleted.deleted == 2 and [k.key for k in deleted.prev_kvs] == [b"py/c", b"py/d"], str(deleted))
    expect_status("empty key", grpc.StatusCode.INVALID_ARGUMENT, lambda: first.Put(rpc.PutRequest(value=b"v"), timeout=5),
                  "etcdserver: key is not provided")
    expect_status("lease not found", grpc.StatusCode.NOT_FOUND,
                  lambda: first.Put(rpc.PutRequest(key=b"k", value=b"v", lease=7), timeout=5), "etcdserver: requested lease not found")
    expect_status("future revision", grpc.StatusCode.OUT_OF_RANGE,
                  lambda: first.Range(rpc.RangeRequest(key=b"py/a", revision=1 << 40), timeout=5), "required revision is a future revision")
    current = first.Range(rpc.RangeRequest(key=b"py/a"), timeout=5).header.revision
    first.Compact(rpc.CompactionRequest(revision=current - 1, physical=True), timeout=5)
    expect_status("read below the compaction", grpc.StatusCode.OUT_OF_RANGE,
                  lambda: first.Range(rpc.RangeRequest(key=b"py/a", revision=base + 1), timeout=5), "required revision has been compacted")

    # grey.v1 and etcd's API are one store.
    grey = kv_grpc.KVStub(channels[0])
    grey.Put(kv.PutRequest(key=b"py/grey", value=b"from grey.v1"), timeout=5)
    seen = first.Range(rpc.RangeRequest(key=b"py/grey"), timeout=5)
    check("grey.v1 put seen by etcd range", seen.kvs and seen.kvs[0].value == b"from grey.v1", str(seen))
    got = grey.Get(kv.GetRequest(key=b"py/t"), timeout=5)
    check("etcd delete seen by grey.v1 get", not got.found, str(got))

    # Cluster and Maintenance.
    members = cluster.MemberList(rpc.MemberListRequest(), timeout=5).members
    check("member list", len(members) == len(targets) and all(m.peerURLs and m.name for m in members), str(members))
    check("member ids are never 0 (etcd's 'no member')", all(m.ID != 0 for m in members) and len({m.ID for m in members}) == len(members), str(members))
    statuses = [m.Status(rpc.StatusRequest(), timeout=5) for m in maintenance]
    check("status: one leader", len({s.leader for s in statuses}) == 1
          and sum(1 for s in statuses if s.header.member_id == s.leader) == 1, str(statuses))
    revision = first.Range(rpc.RangeRequest(key=b"py/a"), timeout=5).header.revision
    deadline = time.time() + 10
    while time.time() < deadline:
        hashes = [m.HashKV(rpc.HashKVRequest(revision=revision), timeout=5) for m in maintenance]
        if len({h.hash for h in hashes}) == 1:
            break
        time.sleep(0.1)
    check("hashkv equal on every node", len({h.hash for h in hashes}) == 1 and hashes[0].compact_revision == current - 1, str(hashes))

    print(f"etcd API checks: {results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    main()
