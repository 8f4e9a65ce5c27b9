"""The change feed's benchmark (BENCH_ONLY=feed): delivery latency and the writers' cost.

- Delivery latency: N subscribers (1, 100, 1,000) hold `GET /__admin/events` open on raw sockets, read by
  one selector thread of this process; POSTs are made one at a time, 20 ms apart, and each event's
  latency is the time from the POST's answer (its last byte read) to the event's `id:` line read on a
  subscriber. The engine sends an event before the answer, so a latency can be below zero; the figures
  include this script's own reading (Python, one thread for every socket).
- The writers' cost: oha POSTs for BENCH_SECONDS with no subscriber, then with 100 subscribers (`curl -N`
  processes reading to /dev/null, so they keep up), and the second rate as a share of the first. The
  curls share the load generator's CPU.
The native release server runs pinned to CPU 0, as in the main benchmark.
"""

import os
import selectors
import socket
import statistics
import subprocess
import threading
import time
import urllib.request

HEADING = "## The change feed"


def _subscribe(port):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"GET /__admin/events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
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


def throughput(start_server, oha, seconds, subscribers):
    server = start_server()
    curls = []
    try:
        for _ in range(subscribers):
            curls.append(subprocess.Popen(["curl", "-sN", server.base + "/__admin/events"],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(1.0)
        report = oha(server.base + "/api/feed", seconds, 32, method="POST", body='{"name":"feed","n":1}')
        alive = sum(1 for c in curls if c.poll() is None)
        return report, alive
    finally:
        for c in curls:
            c.kill()
            c.wait()
        server.stop()


def section(rows, share, alive, seconds, machine):
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
    none, with_subs = share
    ratio = with_subs["rps"] / none["rps"] if none["rps"] else 0
    lines.append(f"POSTs for {seconds} s at 32 connections: {none['rps']:,.0f}/s with no subscriber, "
                 f"{with_subs['rps']:,.0f}/s with 100 (`curl -N`, {alive} still open at the end): "
                 f"**{ratio * 100:.0f}%** (target: at least 80%).")
    return "\n".join(lines) + "\n"


def replace(text, new):
    """`text` with its change feed section replaced by `new`, or `new` put before `## Profiling`."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == HEADING), None)
    if start is None:
        at = next((i for i, line in enumerate(lines) if line.rstrip() == "## Profiling"), len(lines))
        return "".join(lines[:at]) + new + "\n" + "".join(lines[at:])
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return "".join(lines[:start]) + new + ("\n" if end < len(lines) else "") + "".join(lines[end:])
