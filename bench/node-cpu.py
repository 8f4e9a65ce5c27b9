"""CPU time per request of Node servers, alternated in rounds: the measure that other work on a shared
machine disturbs least (req/s moves with whatever else gets the CPU; the CPU a server spends per
request moves much less). Prints no file and changes nothing in docs/.

    python3 bench/node-cpu.py [--rounds N] [--seconds S] [--scenarios get,post] NAME=SERVER ...

SERVER is `bare` (bench/node-bare.mjs), `json-server` (json-server 0.17 from bench/node_modules,
`npm ci --prefix bench`), or a folder holding a build of the npm package (npm/ after
`bash scripts/node.sh build`, or a copy of it made before a change): its bin.js is run as
`npx mock-rest-api` runs it, with default logging. Each round starts every server in turn, pinned to
CPU 0 and loaded with the bench's 1,000 people, drives each scenario with oha (pinned to CPU 1, 32
connections: GET by id of random existing ids, POST of a small person, as bench/bench.py does) and
reads the server's utime + stime from /proc/PID/stat before and after: CPU µs per request is their
difference over the requests oha counted. Prints each run, then per server and scenario the median
and range over the rounds, in µs of CPU (all, and user space alone) and req/s.

Needs oha (bash bench/run.sh installs it; OHA names it, else ~/.cache/mock-rest-api/cargo/bin/oha)
and taskset. Example, the package before and after a change, beside bare node:http and json-server:

    cp -r npm /tmp/npm-before   # before the change, after `bash scripts/node.sh build`
    python3 bench/node-cpu.py before=/tmp/npm-before after=npm bare=bare json-server=json-server
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("MOCK_REST_TOOLS",
                       os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "mock-rest-api"))
OHA = os.environ.get("OHA", os.path.join(CACHE, "cargo", "bin", "oha"))
JSON_SERVER = os.path.join(ROOT, "bench", "node_modules", "json-server", "lib", "cli", "bin.js")
NODE_BARE = os.path.join(ROOT, "bench", "node-bare.mjs")
TICKS = os.sysconf("SC_CLK_TCK")
NEW = '{"first_name":"Luke","last_name":"Skywalker","age":19}'


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None):
    request = urllib.request.Request(url, data=body, method=method)
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status


def people(id_key):
    return [{"first_name": "Darth", "last_name": f"Vader{i % 100}", "age": 20 + i % 50, id_key: f"p{i:07d}"}
            for i in range(1000)]


class Server:
    def __init__(self, kind):
        self.kind = kind
        self.dir = None
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        if kind == "json-server":
            self.dir = tempfile.mkdtemp(prefix="node-cpu-")
            with open(os.path.join(self.dir, "db.json"), "w") as db:
                json.dump({"people": people("id"), "posted": []}, db)
            command = ["node", JSON_SERVER, "--port", str(port), "--host", "127.0.0.1", "--quiet", "db.json"]
            self.prefix, ready = "", "/people?_limit=1"
        else:
            program = NODE_BARE if kind == "bare" else os.path.join(kind, "bin.js")
            command = ["node", program, "--host", "127.0.0.1", "--port", str(port), "--max-body-bytes",
                       "2000000000", "--max-items", "5000000", "--max-uri-bytes", "65536"]
            self.prefix, ready = "/api", "/health"
        self.process = subprocess.Popen(["taskset", "-c", "0"] + command, cwd=self.dir,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while True:
            try:
                if http("GET", self.base + ready) == 200:
                    break
            except OSError:
                if time.time() > deadline or self.process.poll() is not None:
                    self.stop()
                    raise SystemExit(f"node-cpu: {kind} did not start")
                time.sleep(0.02)
        if kind not in ("bare", "json-server"):
            http("PUT", self.base + "/__admin/snapshot", json.dumps({"people": people("_id")}).encode())

    def cpu(self):
        """utime and stime of the server's process, in seconds."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return int(fields[11]) / TICKS, int(fields[12]) / TICKS

    def run(self, scenario, seconds):
        # One worker thread on its one CPU (oha starts one per core otherwise, which would take turns there).
        command = ["taskset", "-c", "1", OHA, "--no-tui", "--output-format", "json", "--worker-threads", "1",
                   "-z", f"{seconds}s", "-c", "32"]
        if scenario == "get":
            command += ["--rand-regex-url", f"{self.base}{self.prefix}/people/p0000[0-9][0-9][0-9]"]
        else:
            command += ["-m", "POST", "-d", NEW, "-H", "Content-Type: application/json", f"{self.base}{self.prefix}/posted"]
        user0, system0 = self.cpu()
        started = time.time()
        report = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
        elapsed = time.time() - started
        user1, system1 = self.cpu()
        codes = report.get("statusCodeDistribution", {})
        count = sum(codes.values())
        bad = sum(n for code, n in codes.items() if not code.startswith("2"))
        if count == 0:
            raise SystemExit(f"node-cpu: {self.kind} answered no {scenario} request")
        return {"rps": count / elapsed, "us": (user1 + system1 - user0 - system0) / count * 1e6,
                "user_us": (user1 - user0) / count * 1e6, "bad": bad}

    def stop(self):
        self.process.kill()
        self.process.wait()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--scenarios", default="get,post")
    parser.add_argument("servers", nargs="+", metavar="NAME=SERVER")
    args = parser.parse_args()
    servers = []
    for arg in args.servers:
        name, _, kind = arg.partition("=")
        if not name or not kind:
            raise SystemExit(f"node-cpu: `{arg}`: NAME=SERVER expected")
        if kind not in ("bare", "json-server"):
            kind = os.path.abspath(kind)
            if not os.path.exists(os.path.join(kind, "bin.js")):
                raise SystemExit(f"node-cpu: {arg}: no bin.js in {kind}")
        servers.append((name, kind))
    scenarios = args.scenarios.split(",")
    if any(s not in ("get", "post") for s in scenarios):
        raise SystemExit(f"node-cpu: --scenarios {args.scenarios}: `get`, `post` or both")
    print(f"load average (1 min) at the start: {os.getloadavg()[0]:.2f}", flush=True)
    results = {}
    for round_ in range(args.rounds):
        for name, kind in servers:
            server = Server(kind)
            try:
                for scenario in scenarios:
                    run = server.run(scenario, args.seconds)
                    results.setdefault((name, scenario), []).append(run)
                    print(f"round {round_ + 1} {name:>12} {scenario:<4} {run['rps']:8.0f} req/s {run['us']:7.1f} µs CPU "
                          f"({run['user_us']:.1f} user) non-2xx {run['bad']}", flush=True)
            finally:
                server.stop()
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}")
    print("median (range) over the rounds: CPU µs per request, user-space µs, req/s")
    for (name, scenario), runs in results.items():
        def spread(key, digits):
            values = sorted(r[key] for r in runs)
            return f"{values[len(values) // 2]:.{digits}f} ({values[0]:.{digits}f}–{values[-1]:.{digits}f})"
        print(f"{name:>12} {scenario:<4} {spread('us', 1)} µs, user {spread('user_us', 1)} µs, {spread('rps', 0)} req/s")


if __name__ == "__main__":
    main()
