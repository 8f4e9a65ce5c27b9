"""The change feed's benchmark (BENCH_ONLY=feed): delivery latency and the writers' cost.

- Delivery latency: N subscribers (1, 100, 1,000) hold `GET /__admin/events` open on raw sockets, read by
  one selector thread of this process; POSTs are made one at a time, 20 ms apart, and each event's
  latency is the time from the POST's answer (its last byte read) to the event's `id:` line read on a
  subscriber. The engine sends an event before the answer, so a latency can be below zero; the figures
  include this script's own reading (Python, one thread for every socket).
- The writers' cost: oha POSTs for BENCH_SECONDS with no subscriber, then with 1, 100 and 1,000
  subscribers that have nothing new to read (each asks for `?type=elsewhere`, a type no POST writes, so
  the server owes them only the keep-alive), each rate as a share of the first; the target is at least
  80% at 1,000. For reference, the same with 100 and 1,000 subscribers of every type, which read every
  event (one selector thread of this process drains them all, so at 1,000 the writers pay for a
  thousand socket writes per POST).
The native release server runs pinned to CPU 0, as in the main benchmark.
"""

import os
import selectors
import socket
import statistics
import threading
import time
import urllib.request

HEADING = "## The change feed"


def _subscribe(port, query=""):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(f"GET /__admin/events{query} HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n".encode())
    sock.setblocking(False)
    return sock


class Readers:
    """One thread reading every subscriber socket; records when each `id: N` line arrives."""

    def __init__(self, socks):
        self.selector = selectors.DefaultSelector()
        self.arrivals = {}
        self.lock = threading.Lock()
        self.stop = False
        self.pending = {}
        for sock in socks:
            self.selector.register(sock, selectors.EVENT_READ)
            self.pending[sock] = b""
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop:
            for key, _ in self.selector.select(timeout=0.05):
                now = time.perf_counter()
                sock = key.fileobj
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    continue
                if not data:
                    self.selector.unregister(sock)
                    continue
                text = self.pending[sock] + data
                lines = text.split(b"\n")
                self.pending[sock] = lines[-1]
                with self.lock:
                    for line in lines[:-1]:
                        if line.startswith(b"id: "):
                            self.arrivals.setdefault(int(line[4:]), []).append(now)

    def close(self):
        self.stop = True
        self.thread.join()


def _post(base, body):
    request = urllib.request.Request(base + "/api/feed", data=body, method="POST",
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def latency(start_server, subscribers, posts=100):
    server = start_server()
    try:
        socks = [_subscribe(server.port) for _ in range(subscribers)]
        readers = Readers(socks)
        time.sleep(0.5)
        answered = {}
        for n in range(1, posts + 1):
            _post(server.base, b'{"name":"feed","n":1}')
            answered[n] = time.perf_counter()
            time.sleep(0.02)
        time.sleep(1.0)
        readers.close()
        samples, missing = [], 0
        for n, at in answered.items():
            got = readers.arrivals.get(n, [])
            missing += subscribers - len(got)
            samples.extend((t - at) * 1000 for t in got)
        for sock in socks:
            sock.close()
        samples.sort()
        q = statistics.quantiles(samples, n=100) if len(samples) >= 2 else [0.0] * 99
        return {"subscribers": subscribers, "p50": q[49], "p99": q[98], "events": len(samples), "missing": missing}
    finally:
        server.stop()


def throughput(start_server, oha, seconds, subscribers, query=""):
    """oha's report for POSTs with `subscribers` open streams of `query` (read as they come), and how
    many streams were still open at the end."""
    server = start_server()
    socks = []
    readers = None
    try:
        socks = [_subscribe(server.port, query) for _ in range(subscribers)]
        readers = Readers(socks)
        time.sleep(1.0)
        report = oha(server.base + "/api/feed", seconds, 32, method="POST", body='{"name":"feed","n":1}')
        readers.close()
        alive = len(readers.selector.get_map())
        return report, alive
    finally:
        if readers is not None and not readers.stop:
            readers.close()
        for sock in socks:
            sock.close()
        server.stop()


def section(rows, shares, seconds, machine):
    load = os.getloadavg()[0]
    lines = [HEADING, "",
             f"Measured by `BENCH_ONLY=feed bash bench/run.sh` on {time.strftime('%Y-%m-%d')} ({machine}); the native "
             f"release server. How it is measured: `bench/feed.py`. Load average at the end: {load:.1f} (other "
             "work shared the machine: compare the figures within this run only).", "",
             "| subscribers | events received | missed | latency p50 | latency p99 |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['subscribers']:,} | {r['events']:,} | {r['missing']:,} | {r['p50']:.2f} ms | {r['p99']:.2f} ms |")
    lines += ["", "Latency runs from a POST's answer (read by the writer) to the event read by a subscriber; the engine "
              "sends the event before the answer, so it can be below zero.", ""]
    none = shares[0][2]
    lines += [f"POSTs for {seconds} s at 32 connections, as a share of the rate with no subscriber "
              f"({none['rps']:,.0f}/s). Subscribers with nothing new to read ask for `?type=elsewhere`; "
              "reading subscribers take every event (the target, at least 80%, is for the first kind at 1,000):", "",
              "| subscribers | POST/s | share of none | p99 | streams open at the end |", "|---|---:|---:|---:|---:|"]
    for label, count, report, alive in shares[1:]:
        ratio = report["rps"] / none["rps"] if none["rps"] else 0
        share = f"**{ratio * 100:.0f}%**" if label.startswith("nothing") and count == 1000 else f"{ratio * 100:.0f}%"
        lines.append(f"| {count:,} {label} | {report['rps']:,.0f} | {share} | {report['p99']:.2f} ms | {alive:,} |")
    return "\n".join(lines) + "\n"
