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
