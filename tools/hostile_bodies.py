#!/usr/bin/env python3
"""Clients that start gRPC requests and never finish them, against one server.

Each hostile connection opens --streams streams; each declares a --declared-byte message in
its 5-byte prefix and sends --send bytes of it, as fast as HTTP/2 flow control lets it, then
keeps the stream open. Meanwhile one well-behaved connection sends complete Puts. For
--seconds the server's resident memory (from /proc/PID/status) is sampled.

Exit 0 when the server's RSS stayed under --max-rss-mib and every well-behaved Put answered
grpc-status 0; 1 otherwise. Prints one summary line either way. The server may refuse
hostile streams (RESOURCE_EXHAUSTED) or leave them waiting for window: both are fine; what
it may not do is buffer them all.
"""
import argparse
import select
import socket
import struct
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def put_request(key, value):
    """grey.v1.PutRequest{key, value}, encoded by hand (two length-delimited fields)."""
    def field(number, data):
        return bytes([number << 3 | 2]) + varint(len(data)) + data

    def varint(n):
        out = b""
        while True:
            byte = n & 0x7F
            n >>= 7
            if n:
                out += bytes([byte | 0x80])
            else:
                return out + bytes([byte])

    return field(1, key) + field(2, value)


def headers(authority):
    return [(":method", "POST"), (":scheme", "http"), (":path", "/grey.v1.KV/Put"), (":authority", authority),
            ("content-type", "application/grpc"), ("te", "trailers")]


class Connection:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port))
        self.sock.setblocking(False)
        self.h2 = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.h2.initiate_connection()
        self.outgoing = b""
        self.closed = False
        self.flush()

    def flush(self):
        self.outgoing += self.h2.data_to_send()
        while self.outgoing:
            try:
                sent = self.sock.send(self.outgoing)
            except BlockingIOError:
                return
            except OSError:
                self.closed = True
                return
            self.outgoing = self.outgoing[sent:]

    def receive(self):
        try:
            data = self.sock.recv(1 << 20)
        except BlockingIOError:
            return []
        except OSError:
            self.closed = True
            return []
        if not data:
            self.closed = True
            return []
        try:
            events = self.h2.receive_data(data)
        except h2.exceptions.ProtocolError:
            self.closed = True
            return []
        self.flush()
        return events


class Hostile(Connection):
    def __init__(self, host, port, authority, streams, declared, send):
        super().__init__(host, port)
        self.chunk = b"x" * (64 << 10)
        self.remaining = {}  # stream id -> body bytes still to send
        self.refused = 0
        for _ in range(streams):
            stream = self.h2.get_next_available_stream_id()
            self.h2.send_headers(stream, headers(authority))
            self.h2.send_data(stream, struct.pack(">BI", 0, declared))  # the prefix: 5 bytes, always within the window
            self.remaining[stream] = send
        self.flush()

    def pump(self):
        """Sends what flow control allows on every stream still sending."""
        for stream, left in list(self.remaining.items()):
            while left > 0 and not self.closed:
                try:
                    window = min(self.h2.local_flow_control_window(stream), self.h2.max_outbound_frame_size)
                except (h2.exceptions.StreamClosedError, h2.exceptions.NoSuchStreamError, KeyError):
                    left = 0
                    break
                if window <= 0 or len(self.outgoing) > (4 << 20):
                    break
                piece = self.chunk[: min(window, left)]
                try:
                    self.h2.send_data(stream, piece)
                except (h2.exceptions.StreamClosedError, h2.exceptions.FlowControlError, h2.exceptions.ProtocolError):
                    left = 0
                    break
                left -= len(piece)
                self.flush()
            if left <= 0:
                del self.remaining[stream]
            else:
                self.remaining[stream] = left

    def handle(self, events):
        for event in events:
            if isinstance(event, (h2.events.StreamReset, h2.events.StreamEnded, h2.events.TrailersReceived)):
                if event.stream_id in self.remaining:
                    del self.remaining[event.stream_id]
                    self.refused += 1
            if isinstance(event, h2.events.ResponseReceived):
                status = dict(event.headers).get("grpc-status")
                if status is not None:
                    self.refused += 1
                    self.remaining.pop(event.stream_id, None)


class WellBehaved(Connection):
    def __init__(self, host, port, authority):
        super().__init__(host, port)
        self.authority = authority
        self.sent = 0
        self.ok = 0
        self.failed = []
        self.in_flight = None
        self.started = 0.0

    def maybe_send(self):
        if self.in_flight is not None or self.closed:
            return
        stream = self.h2.get_next_available_stream_id()
        message = put_request(b"good-%d" % self.sent, b"value")
        self.h2.send_headers(stream, headers(self.authority))
        self.h2.send_data(stream, struct.pack(">BI", 0, len(message)) + message, end_stream=True)
        self.in_flight = stream
        self.started = time.monotonic()
        self.sent += 1
        self.flush()

    def handle(self, events):
        for event in events:
            status = None
            if isinstance(event, (h2.events.ResponseReceived, h2.events.TrailersReceived)):
                status = dict(event.headers).get("grpc-status")
            if isinstance(event, h2.events.StreamReset) and event.stream_id == self.in_flight:
                self.failed.append("reset")
                self.in_flight = None
            if status is not None and event.stream_id == self.in_flight:
                if status == "0":
                    self.ok += 1
                else:
                    self.failed.append(f"grpc-status {status}")
                self.in_flight = None
        if self.in_flight is not None and time.monotonic() - self.started > 30:
            self.failed.append("no answer in 30 s")
            self.in_flight = None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", required=True, help="host:port of the server")
    parser.add_argument("--pid", type=int, required=True, help="the server's process id, for its RSS")
    parser.add_argument("--connections", type=int, default=3)
    parser.add_argument("--streams", type=int, default=256)
    parser.add_argument("--declared", type=int, default=4 << 20)
    parser.add_argument("--send", type=int, default=3_500_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--max-rss-mib", type=float, required=True)
    parser.add_argument("--answer-within", type=float, default=30, help="seconds past --seconds to wait for a first good answer")
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    port = int(port)

    baseline = rss_mib(args.pid)
    hostile = [Hostile(host, port, args.target, args.streams, args.declared, args.send) for _ in range(args.connections)]
    good = WellBehaved(host, port, args.target)
    peak = baseline
    deadline = time.monotonic() + args.seconds
    # Past the sampling window, the hostile connections stay open until a well-behaved put has
    # been answered (within --answer-within): a slow machine may take longer to get one through,
    # but one must get through while the attack goes on.
    last_chance = deadline + args.answer_within
    while time.monotonic() < deadline or (good.ok == 0 and not good.failed and time.monotonic() < last_chance):
        connections = [c for c in hostile + [good] if not c.closed]
        readable, _, _ = select.select([c.sock for c in connections], [], [], 0.05)
        for connection in connections:
            if connection.sock in readable:
                connection.handle(connection.receive())
        for connection in hostile:
            if not connection.closed:
                connection.pump()
        good.maybe_send()
        good.handle([])
        peak = max(peak, rss_mib(args.pid))

    refused = sum(c.refused for c in hostile)
    closed = sum(1 for c in hostile if c.closed)
    verdict = peak <= args.max_rss_mib and good.ok > 0 and not good.failed
    print(f"hostile bodies: {args.connections} connections x {args.streams} streams declaring {args.declared} bytes; "
          f"server RSS {baseline:.0f} -> peak {peak:.0f} MiB (bound {args.max_rss_mib:.0f}); "
          f"{refused} hostile streams refused, {closed} hostile connections closed; "
          f"well-behaved puts {good.ok} ok of {good.sent}, failures {good.failed[:3]}")
    for connection in hostile + [good]:
        connection.sock.close()
    sys.exit(0 if verdict else 1)


if __name__ == "__main__":
    main()
