#!/usr/bin/env python3
"""A small OTLP/HTTP trace receiver for tests: what an OpenTelemetry collector does on
POST /v1/traces, decoding the protobuf payload with OpenTelemetry's own generated classes
(pip opentelemetry-proto), and writing one JSON line per span to --out:

  {"trace": hex, "span": hex, "parent": hex or "", "name": ..., "kind": int, "node": service.instance.id,
   "service": service.name, "start": ns, "end": ns, "attributes": {...}, "status": int, "message": ...}

  otlp_receiver.py --port PORT --out FILE [--seconds N]

It answers 200 with an empty ExportTraceServiceResponse, 400 to a body that does not decode,
415 to another content type. It stops after --seconds (default 600): every test server here is
bounded in time.
"""
import argparse
import gzip
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as service
from opentelemetry.proto.common.v1 import common_pb2 as common


def value(any_value: common.AnyValue):
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def spans(request: service.ExportTraceServiceRequest):
    for resource_spans in request.resource_spans:
        resource = {kv.key: value(kv.value) for kv in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield {
                    "trace": span.trace_id.hex(), "span": span.span_id.hex(), "parent": span.parent_span_id.hex(),
                    "name": span.name, "kind": span.kind, "node": resource.get("service.instance.id"),
                    "service": resource.get("service.name"), "start": span.start_time_unix_nano,
                    "end": span.end_time_unix_nano, "attributes": {kv.key: value(kv.value) for kv in span.attributes},
                    "status": span.status.code, "message": span.status.message,
                }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seconds", type=float, default=600)
    options = parser.parse_args()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != "/v1/traces":
                return self.answer(404, b"only /v1/traces")
            if self.headers.get("Content-Type", "") != "application/x-protobuf":
                return self.answer(415, b"application/x-protobuf only")
            if self.headers.get("Content-Encoding", "") == "gzip":
                body = gzip.decompress(body)
            try:
                request = service.ExportTraceServiceRequest.FromString(body)
            except Exception as error:  # a bad payload is the exporter's bug: say so
                return self.answer(400, str(error).encode())
            with lock, open(options.out, "a") as out:
                for span in spans(request):
                    out.write(json.dumps(span) + "\n")
            self.answer(200, service.ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf")

        def answer(self, status, body, content_type="text/plain"):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", options.port), Handler)
    threading.Timer(options.seconds, server.shutdown).start()
    print(f"receiving OTLP traces on 127.0.0.1:{options.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
