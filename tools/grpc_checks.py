"""Check bookkeeping shared by the stock-client scripts (grpc_client_check.py against the
wire layer's test services, grpc_cluster_check.py against a real cluster)."""
import grpc

results = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    """Counts a check; prints a FAIL line for one that failed."""
    if condition:
        results["passed"] += 1
    else:
        results["failed"] += 1
        print(f"FAIL {name} {detail}")


def expect_status(name, code, call, message_part=None):
    """Checks that `call` fails with gRPC status `code` (and a message containing `message_part`)."""
    try:
        call()
    except grpc.RpcError as error:
        ok = error.code() == code and (message_part is None or message_part in (error.details() or ""))
        check(name, ok, f"got {error.code()} {error.details()!r}, want {code} containing {message_part!r}")
        return
    check(name, False, f"call succeeded, want {code}")
