"""Generates Python protobuf and gRPC modules from Protos/ with grpcio-tools, once per
process, into a temporary directory, and imports them. Used by the cross-language tests:
an independent encoder and a stock gRPC client, built from the same .proto files."""
import atexit
import importlib
import os
import shutil
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_OUT = None


def load():
    """Returns (kv_pb2, cluster_pb2, kv_pb2_grpc, cluster_pb2_grpc)."""
    global _OUT
    if _OUT is None:
        from grpc_tools import protoc
        _OUT = tempfile.mkdtemp(prefix="grey-proto-py-")
        atexit.register(shutil.rmtree, _OUT, True)
        protos = os.path.join(ROOT, "Protos")
        args = ["protoc", f"-I{protos}", f"--python_out={_OUT}", f"--grpc_python_out={_OUT}",
                "grey/v1/kv.proto", "grey/v1/cluster.proto"]
        if protoc.main(args) != 0:
            raise SystemExit("grpc_tools.protoc failed on Protos/")
        sys.path.insert(0, _OUT)
    return tuple(importlib.import_module(f"grey.v1.{name}")
                 for name in ("kv_pb2", "cluster_pb2", "kv_pb2_grpc", "cluster_pb2_grpc"))


_ETCD_OUT = None


def load_etcd():
    """Returns (rpc_pb2, kv_pb2, rpc_pb2_grpc) for etcd's v3 API, from Protos/etcd/
    (modules etcdserverpb.rpc_pb2, mvccpb.kv_pb2 and etcdserverpb.rpc_pb2_grpc)."""
    global _ETCD_OUT
    if _ETCD_OUT is None:
        from grpc_tools import protoc
        _ETCD_OUT = tempfile.mkdtemp(prefix="grey-etcd-proto-py-")
        atexit.register(shutil.rmtree, _ETCD_OUT, True)
        protos = os.path.join(ROOT, "Protos", "etcd")
        args = ["protoc", f"-I{protos}", f"--python_out={_ETCD_OUT}", f"--grpc_python_out={_ETCD_OUT}",
                "mvccpb/kv.proto", "authpb/auth.proto", "etcdserverpb/rpc.proto"]
        if protoc.main(args) != 0:
            raise SystemExit("grpc_tools.protoc failed on Protos/etcd/")
        sys.path.insert(0, _ETCD_OUT)
    return tuple(importlib.import_module(name)
                 for name in ("etcdserverpb.rpc_pb2", "mvccpb.kv_pb2", "etcdserverpb.rpc_pb2_grpc"))
