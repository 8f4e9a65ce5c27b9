"""Every peer side by side (BENCH_ONLY=peers): the same requests to mock-rest-api, WireMock, Mockoon's
CLI and json-server 0.17 and 1.0 beta, each started as its own docs say, on the same CPU, in rounds.

- Peers, all from bench/package-lock.json: WireMock standalone 3.13 (the `wiremock` npm package ships its
  jar; `java -jar`), `@mockoon/cli` with an environment file, json-server 0.17.4 and 1.0.0-beta.15 (an
  npm alias, `json-server-1`), and the native release server. Each binds 127.0.0.1 and port 0; the port
  it was given is read from /proc (the listening socket the process holds), so nothing is guessed.
  json-server 1.0.0-beta.15 calls `app.listen(port)` without its own `--host`, so it is started with
  bench/loopback.cjs preloaded, which gives that listen 127.0.0.1 and changes nothing else.
- Workloads, each peer where it has the feature:
  - canned answer: a GET answered with a fixed JSON body chosen by method and path, with 1, 1,000 and
    10,000 of them loaded (a rule in a --rules file; a stub in a WireMock mappings file; a route in a
    Mockoon environment); oha draws the path of one of them at random for each request;
  - CRUD: GET by id (random existing ids) and POST of a small person, over 1,000 and 100,000 people
    (PUT /__admin/snapshot; json-server's db.json; a Mockoon CRUD route over a data bucket);
  - record through a proxy: GET by id of 1,000 people held by an upstream (the native server again, on
    the load generator's CPU), through the peer: RECORD=1 with PROXY_TARGET; WireMock's recording
    (`/__admin/recordings/start`, a proxy stub that keeps what passes); Mockoon's proxy mode (its CLI
    forwards but keeps nothing).
- Start-up: from the process's start to its first answered request, with one canned answer (json-server:
  one person), the median of BENCH_STARTS (5) starts taking turns; and each workload's own start, with
  its stubs or items loaded, once.
- Every server is pinned to CPU 0 and oha (one worker thread, 32 connections) to CPU 1, and this script to
  CPU 1 too. The servers of one workload are started together and take turns: after a warm-up each,
  BENCH_ROUNDS (3) rounds of BENCH_SECONDS each, the order rotating; the median of the rounds is shown
  with its range. The server's CPU time per request (user and system, all threads, from /proc) is kept
  beside req/s, as other work on the machine disturbs it less.
- Memory: the peak RSS (VmHWM) of each server over the workload; for CRUD, measured after the GET rounds
  and before any POST, so it is the memory holding that many items.

The figures go to a record (bench/history/); bench/page.py draws the page and the charts from it.
"""

import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
import uuid

SECTION = "peers"
HEADING = "## Against every peer"
JAR = os.path.join("bench", "node_modules", "wiremock", "build", "wiremock-standalone-3.13.2.jar")
MOCKOON = os.path.join("bench", "node_modules", "@mockoon", "cli", "bin", "run.js")
JSON_SERVER_017 = os.path.join("bench", "node_modules", "json-server", "lib", "cli", "bin.js")
JSON_SERVER_1 = os.path.join("bench", "node_modules", "json-server-1", "lib", "bin.js")
LOOPBACK = os.path.join("bench", "loopback.cjs")
CONNECTIONS = 32
CANNED_SIZES = [int(s) for s in os.environ.get("BENCH_STUBS", "1,1000,10000").split(",")]
CRUD_SIZES = [int(s) for s in os.environ.get("BENCH_ITEMS", "1000,100000").split(",")]
RECORD_SIZE = 1000
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
STARTS = int(os.environ.get("BENCH_STARTS", "5"))
NEW_PERSON = json.dumps({"first_name": "Luke", "last_name": "Skywalker", "age": 19})
# MockServer's own page (mock-server.com/mock_server/performance.html): Apache Bench, `ab -k -c 150`, four
# expectations with the request matching the third, on its authors' machine. Maven Central, where MockServer
# is published, cannot be reached from here, so it is not run: its figure is quoted, not measured.
MOCKSERVER = {"rps": 95228, "p99": 4.0, "mean": 1.58, "connections": 150,
              "source": "https://www.mock-server.com/mock_server/performance.html"}


def _versions(root):
    def version(*path):
        try:
            with open(os.path.join(root, "bench", "node_modules", *path, "package.json")) as package:
                return json.load(package)["version"]
        except (OSError, KeyError, ValueError):
            return "?"
    return {"WireMock": version("wiremock"), "Mockoon": version("@mockoon", "cli"),
            "json-server 0.17": version("json-server"), "json-server 1.0": version("json-server-1")}


def listening_port(pid):
    """The TCP port process `pid` listens on (its one listening socket), or None before it listens."""
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        return None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as rows:
                next(rows)
                for row in rows:
                    fields = row.split()
                    if fields[3] == "0A" and fields[9] in inodes:
                        return int(fields[1].rsplit(":", 1)[1], 16)
        except OSError:
            continue
    return None


def id_pattern(n):
    """A regex drawing every id p0000000 .. p{n-1} when n is a power of ten (as bench.py's)."""
    k = len(str(n)) - 1
    assert n == 10**k and k <= 7, f"{n} items: the sizes are powers of ten"
    return "p" + "0" * (7 - k) + "[0-9]" * k


def stub_path(i, n):
    return f"/api/canned/s{i:0{len(str(n - 1))}d}"


def stub_pattern(n):
    """Every stub's path, for oha to draw from: n must be a power of ten."""
    k = len(str(n - 1)) if n > 1 else 1
    assert n in (1, 10**k), f"{n} stubs: the sizes are 1 or powers of ten"
    return "/api/canned/s" + ("0" if n == 1 else "[0-9]" * k)


def stub_body(i):
    return {"id": i, "sku": f"SKU-{i:05d}", "name": f"Canned item {i}", "price": 12.5, "tags": ["bench", "canned"]}


def person(i, id_key):
    return {"first_name": "Darth", "last_name": f"Vader{i % 100}", "age": 20 + i % 50, id_key: f"p{i:07d}"}


class Server:
    """One peer's process, pinned to the servers' CPU, in a directory of its own."""
    name = ""
    kinds = ()

    def __init__(self, ctx):
        self.ctx = ctx
        self.dir = tempfile.mkdtemp(prefix="bench-peer-")
        self.process = None
        self.base = None

    def spawn(self, command, env=None):
        self.started = time.perf_counter()
        self.process = subprocess.Popen(self.ctx["pinned"](self.ctx["SERVER_CPUS"], command), cwd=self.dir,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        env=dict(os.environ, **(env or {})))

    def ready(self, path, bound=600):
        """Waits for the port, then for `path` to answer 200; the seconds since the spawn."""
        deadline = time.time() + bound
        port = None
        while port is None:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode} before listening")
            if time.time() > deadline:
                raise TimeoutError(f"{self.name} did not listen within {bound} s")
            port = listening_port(self.process.pid)
            if port is None:
                time.sleep(0.002)
        self.base = f"http://127.0.0.1:{port}"
        while True:
            try:
                with urllib.request.urlopen(self.base + path, timeout=bound) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.time() > deadline:
                    raise TimeoutError(f"{self.name} did not answer {path} within {bound} s")
                time.sleep(0.002)
        return time.perf_counter() - self.started

    def cpu(self):
        return self.ctx["cpu_seconds"](self.process.pid)

    def peak_rss_mib(self):
        return self.ctx["rss_kib"](self.process.pid, "VmHWM") / 1024

    def stop(self):
        if self.process:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Ours(Server):
    name = "mock-rest-api"
    kinds = ("canned", "crud", "record")
    prefix = "/api"
    how = "`mock-rest-api --host 127.0.0.1 --port 0` (the release build; `--rules FILE --max-rules N` for canned answers, " \
          "`--proxy-target URL --record 1` to record), default logging"

    def command(self, *extra):
        return [self.ctx["OURS"], "--host", "127.0.0.1", "--port", "0", "--max-body-bytes", "2000000000",
                "--max-items", "5000000"] + list(extra)

    def start_canned(self, n):
        rules = [{"match": {"method": "GET", "path": stub_path(i, n)}, "respond": {"status": 200, "json": stub_body(i)}}
                 for i in range(n)]
        path = os.path.join(self.dir, "rules.json")
        with open(path, "w") as out:
            json.dump(rules, out, separators=(",", ":"))
        self.spawn(self.command("--rules", path, "--max-rules", str(max(n, 1000))))
        return self.ready(stub_path(0, n))

    def start_crud(self, n):
        # Encoded before the start, as the other peers' files are written before theirs.
        body = json.dumps({"people": [person(i, "_id") for i in range(n)]}, separators=(",", ":")).encode()
        self.spawn(self.command())
        self.ready("/health")
        self.ctx["http"]("PUT", self.base + "/__admin/snapshot", body)
        return self.ready(f"/api/people/p{0:07d}")

    def start_record(self, upstream):
        self.spawn(self.command("--proxy-target", upstream, "--record", "1"))
        return self.ready(f"/api/people/p{0:07d}")

    def start_min(self):
        return self.start_canned(1)


class WireMock(Server):
    name = "WireMock"
    kinds = ("canned", "record")
    prefix = "/api"
    how = "`java -jar wiremock-standalone-3.13.2.jar --port 0 --bind-address 127.0.0.1 --root-dir DIR " \
          "--max-request-journal-entries 1000 --disable-banner` (the JVM's defaults; stubs in `DIR/mappings`, " \
          "recording by `POST /__admin/recordings/start`)"

    def start_java(self, mappings):
        os.makedirs(os.path.join(self.dir, "mappings"))
        os.makedirs(os.path.join(self.dir, "__files"))
        if mappings:
            with open(os.path.join(self.dir, "mappings", "canned.json"), "w") as out:
                json.dump({"mappings": mappings}, out, separators=(",", ":"))
        # The journal kept to 1,000 requests, as mock-rest-api's is: WireMock's default keeps every request.
        self.spawn(["java", "-jar", os.path.join(self.ctx["ROOT"], JAR), "--port", "0", "--bind-address", "127.0.0.1",
                    "--root-dir", self.dir, "--max-request-journal-entries", "1000", "--disable-banner"])

    def start_canned(self, n):
        self.start_java([{"request": {"method": "GET", "url": stub_path(i, n)},
                          "response": {"status": 200, "jsonBody": stub_body(i),
                                       "headers": {"Content-Type": "application/json"}}} for i in range(n)])
        return self.ready(stub_path(0, n))

    def start_record(self, upstream):
        self.start_java(None)
        self.ready("/__admin/health")
        body = json.dumps({"targetBaseUrl": upstream}).encode()
        self.ctx["http"]("POST", self.base + "/__admin/recordings/start", body)
        return self.ready(f"/api/people/p{0:07d}")

    def start_min(self):
        return self.start_canned(1)


class Mockoon(Server):
    name = "Mockoon"
    kinds = ("canned", "crud", "record")
    prefix = ""
    how = "`mockoon-cli start --data env.json --port 0 --disable-log-to-file`, an environment file written by " \
          "the bench (routes with templating off; CRUD routes over data buckets; proxy mode)"

    @staticmethod
    def response(body, **fields):
        out = {"uuid": str(uuid.uuid4()), "body": body, "latency": 0, "statusCode": 200, "label": "",
               "headers": [{"key": "Content-Type", "value": "application/json"}], "bodyType": "INLINE", "filePath": "",
               "databucketID": "", "sendFileAsBody": False, "rules": [], "rulesOperator": "OR",
               "disableTemplating": True, "fallbackTo404": False, "default": True, "crudKey": "id", "callbacks": []}
        out.update(fields)
        return out

    @staticmethod
    def route(kind, method, endpoint, response):
        return {"uuid": str(uuid.uuid4()), "type": kind, "documentation": "", "method": method, "endpoint": endpoint,
                "responses": [response], "responseMode": None, "streamingMode": None, "streamingInterval": 0}

    def start_env(self, routes=(), buckets=(), proxy=None):
        """Writes an environment (the form Mockoon's own BuildEnvironment makes) and starts the CLI on it."""
        routes = list(routes)
        env = {"uuid": str(uuid.uuid4()), "lastMigration": 33, "name": "bench", "endpointPrefix": "", "latency": 0,
               "port": 3000, "hostname": "127.0.0.1", "folders": [], "routes": routes,
               "rootChildren": [{"type": "route", "uuid": r["uuid"]} for r in routes],
               "proxyMode": proxy is not None, "proxyHost": proxy or "", "proxyRemovePrefix": False,
               "tlsOptions": {"enabled": False, "type": "CERT", "pfxPath": "", "certPath": "", "keyPath": "",
                              "caPath": "", "passphrase": ""},
               "cors": True, "headers": [], "proxyReqHeaders": [], "proxyResHeaders": [],
               "data": [{"uuid": str(uuid.uuid4()), "id": key, "name": key, "documentation": "",
                         "value": json.dumps(value, separators=(",", ":"))} for key, value in buckets],
               "callbacks": []}
        path = os.path.join(self.dir, "env.json")
        with open(path, "w") as out:
            json.dump(env, out, separators=(",", ":"))
        self.spawn(["node", os.path.join(self.ctx["ROOT"], MOCKOON), "start", "--data", path, "--port", "0",
                    "--disable-log-to-file"])

    def start_canned(self, n):
        self.start_env([self.route("http", "get", stub_path(i, n)[1:],
                                   self.response(json.dumps(stub_body(i), separators=(",", ":"))))
                        for i in range(n)])
        return self.ready(stub_path(0, n))

    def start_crud(self, n):
        crud = [self.route("crud", "", name, self.response("{}", bodyType="DATABUCKET", databucketID=name))
                for name in ("people", "posted")]
        self.start_env(crud, [("people", [person(i, "id") for i in range(n)]), ("posted", [])])
        return self.ready(f"/people/p{0:07d}")

    def start_record(self, upstream):
        self.start_env(proxy=upstream)
        return self.ready(f"/api/people/p{0:07d}")

    def start_min(self):
        return self.start_canned(1)


class JsonServer017(Server):
    name = "json-server 0.17"
    kinds = ("crud",)
    prefix = ""
    how = "`json-server --port 0 --host 127.0.0.1 --quiet db.json` (0.17.4)"

    def program(self):
        return ["node", os.path.join(self.ctx["ROOT"], JSON_SERVER_017), "--port", "0", "--host", "127.0.0.1", "--quiet"]

    def start_crud(self, n):
        # `posted` exists, as json-server 0.17 answers 404 to a POST to a collection it does not have.
        with open(os.path.join(self.dir, "db.json"), "w") as db:
            json.dump({"people": [person(i, "id") for i in range(n)], "posted": []}, db, separators=(",", ":"))
        self.spawn(self.program() + ["db.json"])
        return self.ready(f"/people/p{0:07d}")

    def start_min(self):
        return self.start_crud(1)


class JsonServer1(JsonServer017):
    name = "json-server 1.0 beta"
    how = "`json-server --port 0 --host 127.0.0.1 db.json` (1.0.0-beta.15, with bench/loopback.cjs preloaded: " \
          "it listens without its `--host`)"

    def program(self):
        return ["node", "--require", os.path.join(self.ctx["ROOT"], LOOPBACK),
                os.path.join(self.ctx["ROOT"], JSON_SERVER_1), "--port", "0", "--host", "127.0.0.1"]


PEERS = [Ours, WireMock, Mockoon, JsonServer017, JsonServer1]


def load(ctx, url, seconds, method="GET", body=None, regex=False, connections=CONNECTIONS):
    command = [ctx["OHA"], "--no-tui", "--output-format", "json", "--worker-threads", ctx["LOAD_THREADS"], "-z",
               f"{seconds}s", "-c", str(connections), "-m", method]
    if body is not None:
        command += ["-d", body, "-H", "Content-Type: application/json"]
    if regex:
        command.append("--rand-regex-url")
    command.append(url)
    out = subprocess.run(ctx["pinned"](ctx["LOAD_CPUS"], command), capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def rate(ctx, server, url, method="GET", body=None, regex=False, seconds=None, connections=CONNECTIONS):
    """One oha run against `server`: req/s, p50, p99, errors, and the server's CPU µs per answered request."""
    before = server.cpu()
    report = load(ctx, url, seconds or ctx["SECONDS"], method, body, regex, connections)
    out = ctx["summarize"](report)
    out["cpu_us"] = (server.cpu() - before) * 1e6 / max(ctx["answered"](report), 1)
    return out


def rounds(ctx, servers, requests, label):
    """Warms each server up, then runs `requests[server]` (url, method, body) on each in ROUNDS rounds, the order
    rotating; returns {server name: the medians, ranges and every round's figures}."""
    warm = max(1, min(3, ctx["SECONDS"] // 2))
    for server in servers:
        url, method, body = requests[server.name]
        if method == "GET":
            load(ctx, url, warm, method, body, regex=True)
    runs = {server.name: [] for server in servers}
    for round_no in range(ROUNDS):
        order = servers[round_no % len(servers):] + servers[:round_no % len(servers)]
        for server in order:
            url, method, body = requests[server.name]
            result = rate(ctx, server, url, method, body, regex=True)
            runs[server.name].append(result)
            print(f"  {label:<28} round {round_no + 1} {server.name:<22} {result['rps']:>9.0f} req/s  "
                  f"p99 {result['p99']:8.2f} ms  CPU {result['cpu_us']:7.1f} µs/request  errors {result['errors']}",
                  flush=True)
    out = {}
    for name, results in runs.items():
        out[name] = {
            "rps": statistics.median(r["rps"] for r in results), "rps_all": [r["rps"] for r in results],
            "p50": statistics.median(r["p50"] for r in results), "p99": statistics.median(r["p99"] for r in results),
            "p99_all": [r["p99"] for r in results], "errors": sum(r["errors"] for r in results),
            "cpu_us": statistics.median(r["cpu_us"] for r in results), "cpu_all": [r["cpu_us"] for r in results]}
    return out


def started(ctx, kind, start):
    """Starts every peer that has `kind`; returns them with their seconds to the first answer, skipping (and
    noting) any that fails to start."""
    servers, notes = [], []
    for peer in PEERS:
        if kind not in peer.kinds:
            continue
        server = peer(ctx)
        try:
            seconds = start(server)
        except (RuntimeError, TimeoutError, OSError) as failure:
            server.stop()
            notes.append(f"{peer.name}: {failure}")
            print(f"  {peer.name} did not start: {failure}", flush=True)
            continue
        server.ready_s = seconds
        servers.append(server)
        print(f"  {server.name} ready in {seconds:.2f} s on {server.base}", flush=True)
    return servers, notes


def canned(ctx, n):
    print(f"peers: canned answer, {n:,} stub{'s' if n != 1 else ''}", flush=True)
    servers, notes = started(ctx, "canned", lambda s: s.start_canned(n))
    try:
        requests = {s.name: (s.base + stub_pattern(n), "GET", None) for s in servers}
        results = rounds(ctx, servers, requests, f"canned, {n:,} stubs")
        for s in servers:
            results[s.name].update(ready_s=s.ready_s, rss_mib=s.peak_rss_mib())
    finally:
        for s in servers:
            s.stop()
    return [{"key": f"canned-{n}", "kind": "canned", "size": n, "results": results, "notes": notes,
             "load": os.getloadavg()[0]}]


def crud(ctx, n):
    print(f"peers: CRUD over {n:,} people", flush=True)
    servers, notes = started(ctx, "crud", lambda s: s.start_crud(n))
    try:
        gets = {s.name: (f"{s.base}{s.prefix}/people/{id_pattern(n)}", "GET", None) for s in servers}
        got = rounds(ctx, servers, gets, f"GET by id, {n:,}")
        for s in servers:
            got[s.name].update(ready_s=s.ready_s, rss_mib=s.peak_rss_mib())
        posts = {s.name: (f"{s.base}{s.prefix}/posted", "POST", NEW_PERSON) for s in servers}
        posted = rounds(ctx, servers, posts, f"POST, {n:,}")
        for s in servers:
            posted[s.name].update(ready_s=s.ready_s, rss_mib=s.peak_rss_mib())
    finally:
        for s in servers:
            s.stop()
    load = os.getloadavg()[0]
    return [{"key": f"get-{n}", "kind": "get", "size": n, "results": got, "notes": notes, "load": load},
            {"key": f"post-{n}", "kind": "post", "size": n, "results": posted, "notes": [], "load": load}]


def record(ctx):
    print(f"peers: record through a proxy ({RECORD_SIZE:,} people upstream)", flush=True)
    upstream = subprocess.Popen(ctx["pinned"](ctx["LOAD_CPUS"], [ctx["OURS"], "--host", "127.0.0.1", "--port", "0"]),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ, RUST_LOG="warn"))
    servers = []
    try:
        port = None
        while port is None:
            port = listening_port(upstream.pid)
            time.sleep(0.005)
        target = f"http://127.0.0.1:{port}"
        ctx["wait_ready"](target + "/health", 30)
        body = json.dumps({"people": [person(i, "_id") for i in range(RECORD_SIZE)]}, separators=(",", ":")).encode()
        ctx["http"]("PUT", target + "/__admin/snapshot", body)
        servers, notes = started(ctx, "record", lambda s: s.start_record(target))
        requests = {s.name: (f"{s.base}/api/people/{id_pattern(RECORD_SIZE)}", "GET", None) for s in servers}
        results = rounds(ctx, servers, requests, "record through a proxy")
        for s in servers:
            results[s.name].update(ready_s=s.ready_s, rss_mib=s.peak_rss_mib())
    finally:
        for s in servers:
            s.stop()
        upstream.kill()
        upstream.wait()
    return [{"key": "record", "kind": "record", "size": RECORD_SIZE, "results": results, "notes": notes,
             "load": os.getloadavg()[0]}]


def startup(ctx):
    """Milliseconds from each peer's start to its first answer, the smallest set-up, STARTS times taking turns."""
    print(f"peers: start-up to the first answer, {STARTS} starts each", flush=True)
    times = {peer.name: [] for peer in PEERS}
    for _ in range(STARTS):
        for peer in PEERS:
            server = peer(ctx)
            try:
                times[peer.name].append(server.start_min() * 1000)
            finally:
                server.stop()
    out = {name: {"ms": statistics.median(all_ms), "all": all_ms} for name, all_ms in times.items() if all_ms}
    for name, row in out.items():
        print(f"  {name:<22} {row['ms']:8.1f} ms", flush=True)
    return out


def mockserver_scenario(ctx):
    """Ours on MockServer's published scenario: four rules, the request matching the third, 150 connections."""
    print("peers: MockServer's published scenario (4 rules, the third answers, 150 connections)", flush=True)
    server = Ours(ctx)
    try:
        rules = [{"match": {"method": "GET", "path": path}, "respond": {"status": 200, "json": {"name": "simple"}}}
                 for path in ("/simple1", "/simple2", "/simple", "/simple4")]
        path = os.path.join(server.dir, "rules.json")
        with open(path, "w") as out:
            json.dump(rules, out)
        server.spawn(server.command("--rules", path))
        server.ready("/simple")
        result = rate(ctx, server, server.base + "/simple", connections=150)
    finally:
        server.stop()
    print(f"  {result['rps']:.0f} req/s, p99 {result['p99']:.2f} ms", flush=True)
    return result


def run(ctx):
    """Runs every workload; returns the figures of the record bench/page.py renders."""
    try:
        os.sched_setaffinity(0, {int(c) for c in ctx["LOAD_CPUS"].split("-")[0].split(",")})
    except (AttributeError, OSError, ValueError):
        pass
    load_start = os.getloadavg()[0]
    # Read before measuring: other work may commit to this tree while the bench runs.
    built = build(ctx["ROOT"])
    workloads = []
    for n in CANNED_SIZES:
        workloads += canned(ctx, n)
    for n in CRUD_SIZES:
        workloads += crud(ctx, n)
    workloads += record(ctx)
    starts = startup(ctx)
    ours_150 = mockserver_scenario(ctx)
    return {"seconds": ctx["SECONDS"], "rounds": ROUNDS, "connections": CONNECTIONS, "starts": STARTS,
            "versions": _versions(ctx["ROOT"]), "java": java_version(), "build": built,
            "how": {peer.name: peer.how for peer in PEERS},
            "workloads": workloads, "startup": starts,
            "mockserver": {"published": MOCKSERVER, "ours": ours_150},
            "load": [load_start, os.getloadavg()[0]]}


def build(root):
    """The commit the release binary was built from, and whether core/ or native/ differed from it."""
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--", "core", "native", "Cargo.lock"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"{head} with uncommitted changes in core/ or native/" if dirty else head


def java_version():
    try:
        out = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
        return out.splitlines()[0].strip()
    except (OSError, IndexError):
        return "?"
