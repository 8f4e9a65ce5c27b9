#!/usr/bin/env python3
"""Clients that hold connection slots without using them, for scripts/soak.sh.

    python3 scripts/slow_clients.py HOST:PORT SECONDS IDLE_H2 PIPELINERS SLOWLORIS TARGET

Keeps, for SECONDS, IDLE_H2 connections that send the HTTP/2 preface and an empty SETTINGS frame and
then nothing; PIPELINERS connections that pipeline GETs of TARGET (a large item) and never read; and
SLOWLORIS connections that send a request head one byte a second. Each one the server closes is opened
again. At the end it prints, per kind, how many connections were opened and how long the server kept
them (median and max seconds): the server's timeouts at work.
"""
import selectors
import socket
import statistics
import sys
import time

host, port = sys.argv[1].rsplit(":", 1)
seconds = float(sys.argv[2])
counts = {"idle-h2": int(sys.argv[3]), "pipeliner": int(sys.argv[4]), "slowloris": int(sys.argv[5])}
target = sys.argv[6]

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
PIPELINE = f"GET {target} HTTP/1.1\r\nHost: soak\r\n\r\n".encode() * 200
SLOW_HEAD = b"GET /health HTTP/1.1\r\nHost: soak\r\nX-Slow: " + b"a" * 10_000

selector = selectors.DefaultSelector()
lifetimes = {kind: [] for kind in counts}
opened = {kind: 0 for kind in counts}
conns = {}  # socket -> [kind, opened_at, bytes of SLOW_HEAD sent]


def open_one(kind):
    sock = socket.socket()
    try:
        sock.connect((host, int(port)))
    except OSError:
        sock.close()
        return
    sock.setblocking(False)
    opened[kind] += 1
    try:
        if kind == "idle-h2":
            sock.send(H2_PREFACE)
        elif kind == "pipeliner":
            sock.send(PIPELINE)
    except OSError:
        pass
    conns[sock] = [kind, time.monotonic(), 0]
    # Pipeliners are never read, so only the others are watched for the server closing them.
    if kind != "pipeliner":
        selector.register(sock, selectors.EVENT_READ)


def closed(sock):
    kind, started, _ = conns.pop(sock)
    lifetimes[kind].append(time.monotonic() - started)
    if kind != "pipeliner":
        selector.unregister(sock)
    sock.close()
    return kind


for kind, count in counts.items():
    for _ in range(count):
        open_one(kind)

end = time.monotonic() + seconds
next_tick = time.monotonic()
while time.monotonic() < end:
    for key, _ in selector.select(timeout=0.2):
        sock = key.fileobj
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if not data:
            open_one(closed(sock))
    if time.monotonic() >= next_tick:
        next_tick += 1.0
        for sock, state in list(conns.items()):
            kind = state[0]
            try:
                if kind == "slowloris":
                    sock.send(SLOW_HEAD[state[2] : state[2] + 1])
                    state[2] += 1
                elif kind == "pipeliner":
                    # An empty line (which a server skips between requests): once the server
                    # has closed the connection, this or the next one fails.
                    sock.send(b"\r\n")
            except BlockingIOError:
                pass
            except OSError:
                open_one(closed(sock))

for sock in list(conns):
    sock.close()
print(f"\n{'slow kind':<10} {'count':>6} {'opened':>7} {'closed by server':>17} {'held median(s)':>15} {'held max(s)':>12}")
for kind, count in counts.items():
    held = lifetimes[kind]
    median = statistics.median(held) if held else 0.0
    longest = max(held) if held else 0.0
    print(f"{kind:<10} {count:>6} {opened[kind]:>7} {len(held):>17} {median:>15.1f} {longest:>12.1f}")
