"""The OpenAPI mode's benchmark (BENCH_ONLY=openapi): a real document's load, and the validated routes'
rates beside the plain ones and Prism's.

- Load: GitHub's REST description (`@octokit/openapi`, from the root package-lock.json; about 13 MB of
  JSON, about 1,000 operations) given to the native server and to the npm package's Node server with
  `--openapi`, with their default settings (so each collection is seeded with 10 generated items). The
  time runs from starting the process to its first answered `GET /health`, the median of 3 starts; the
  RSS is read once that answers, beside the same server started without a document.
- Rates: the native release server with the 3.0 Petstore of the conformance cases
  (`tests/openapi-docs/petstore-3.0.yaml`, 100 seeded pets): a validated `GET /pets/1` (the path
  parameter checked, the stored item read and shaped by the response schema) beside a plain
  `GET /api/pets/1` of the same item on a server without a document (the same snapshot, `--id-field id`),
  and a validated `POST /pets` (the credential and the body's schema checked, an integer id given)
  beside a plain `POST /api/pets` of the same body. Prism (`@stoplight/prism-cli`, pinned in
  bench/package.json) mocks the same document and answers the same two requests.
Every server runs pinned to CPU 0 and oha to the other CPU, as in the main benchmark.
"""

import json
import os
import statistics
import subprocess
import time

HEADING = "## The OpenAPI mode"

GITHUB = os.path.join("node_modules", "@octokit", "openapi", "generated", "api.github.com.json")
PETSTORE = os.path.join("tests", "openapi-docs", "petstore-3.0.yaml")
PRISM = os.path.join("bench", "node_modules", "@stoplight", "prism-cli", "dist", "index.js")
PET = '{"name":"Rex","weight":12.50,"status":"available"}'
KEY = "X-API-Key: bench"


def _start(ctx, command, ready_path="/health", bound=120):
    """Starts a server on a free port of 127.0.0.1; returns (process, base, seconds until it answered)."""
    port = ctx["free_port"]()
    started = time.perf_counter()
    process = subprocess.Popen(ctx["pinned"](ctx["SERVER_CPUS"], command(port)), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=dict(os.environ, RUST_LOG="warn"))
    base = f"http://127.0.0.1:{port}"
    try:
        ctx["wait_ready"](base + ready_path, bound)
    except TimeoutError:
        process.kill()
        process.wait()
        raise
    return process, base, time.perf_counter() - started


def _stop(process):
    process.kill()
    process.wait()


def load(ctx, program, runs=3):
    """Median seconds from start to the first answer with GitHub's description, and the RSS (KiB) then,
    beside the RSS of the same server without it."""
    document = os.path.join(ctx["ROOT"], GITHUB)
    times, rss = [], []
    for _ in range(runs):
        process, _, seconds = _start(
            ctx, lambda port: program + ["--openapi", document, "--host", "127.0.0.1", "--port", str(port)])
        times.append(seconds)
        rss.append(ctx["rss_kib"](process.pid))
        _stop(process)
    process, _, _ = _start(ctx, lambda port: program + ["--host", "127.0.0.1", "--port", str(port)])
    bare = ctx["rss_kib"](process.pid)
    _stop(process)
    return {"seconds": statistics.median(times), "all": times, "rss": statistics.median(rss), "bare": bare,
            "bytes": os.path.getsize(document)}


def _oha(ctx, url, method="GET", body=None, headers=()):
    command = [ctx["OHA"], "--no-tui", "--output-format", "json", "--worker-threads", ctx["LOAD_THREADS"], "-z",
               f"{ctx['SECONDS']}s", "-c", "32", "-m", method]
    for header in headers:
        command += ["-H", header]
    if body is not None:
        command += ["-d", body, "-H", "Content-Type: application/json"]
    command.append(url)
    out = subprocess.run(ctx["pinned"](ctx["LOAD_CPUS"], command), capture_output=True, text=True, check=True).stdout
    return ctx["summarize"](json.loads(out))


def rates(ctx):
    """The validated GET and POST of the Petstore, the plain ones of the same item and body, and Prism's."""
    ours = ctx["OURS"]
    petstore = os.path.join(ctx["ROOT"], PETSTORE)
    out = {}
    spec_server = lambda port: [ours, "--openapi", petstore, "--openapi-seed-items", "100", "--host", "127.0.0.1",
                                "--port", str(port), "--max-items", "5000000"]
    process, base, _ = _start(ctx, spec_server)
    try:
        snapshot = ctx["http"]("GET", base + "/__admin/snapshot")[1]
        out["spec GET"] = _oha(ctx, base + "/pets/1")
    finally:
        _stop(process)
    process, base, _ = _start(ctx, spec_server)
    try:
        out["spec POST"] = _oha(ctx, base + "/pets", "POST", PET, [KEY])
    finally:
        _stop(process)
    plain_server = lambda port: [ours, "--id-field", "id", "--host", "127.0.0.1", "--port", str(port),
                                 "--max-items", "5000000", "--max-body-bytes", "200000000"]
    process, base, _ = _start(ctx, plain_server)
    try:
        ctx["http"]("PUT", base + "/__admin/snapshot", snapshot)
        status, body = ctx["http"]("GET", base + "/api/pets/1")
        out["same item"] = status == 200
        out["plain GET"] = _oha(ctx, base + "/api/pets/1")
    finally:
        _stop(process)
    process, base, _ = _start(ctx, plain_server)
    try:
        out["plain POST"] = _oha(ctx, base + "/api/pets", "POST", PET)
    finally:
        _stop(process)
    prism = lambda port: ["node", os.path.join(ctx["ROOT"], PRISM), "mock", petstore, "--host", "127.0.0.1",
                          "--port", str(port)]
    process, base, _ = _start(ctx, prism, ready_path="/pets/1")
    try:
        out["Prism GET"] = _oha(ctx, base + "/pets/1")
    finally:
        _stop(process)
    process, base, _ = _start(ctx, prism, ready_path="/pets/1")
    try:
        out["Prism POST"] = _oha(ctx, base + "/pets", "POST", PET, [KEY])
    finally:
        _stop(process)
    return out


def prism_version(ctx):
    path = os.path.join(ctx["ROOT"], "bench", "node_modules", "@stoplight", "prism-cli", "package.json")
    with open(path) as package:
        return json.load(package)["version"]


def section(native, node, rated, ctx):
    load_avg = os.getloadavg()[0]
    mib = lambda kib: kib / 1024
    size = native["bytes"] / 1024 / 1024
    met = lambda ok: "met" if ok else "**not met**"
    lines = [HEADING, "",
             f"Measured by `BENCH_ONLY=openapi bash bench/run.sh` on {time.strftime('%Y-%m-%d')} ({ctx['machine']()}; "
             f"Prism {prism_version(ctx)}). How it is measured: `bench/openapi.py`. Load average at the end: "
             f"{load_avg:.1f} (compare the figures within this run only).", "",
             f"GitHub's REST description ({size:.1f} MiB of JSON) given with `--openapi`, default settings (each "
             "collection seeded with 10 generated items); from the process's start to its first answered "
             "`GET /health`, median of 3 starts, and the RSS then:", "",
             "| server | load | RSS | RSS without a document | RSS over the document's size | targets |",
             "|---|---:|---:|---:|---:|---|"]
    for name, row, bound in (("native", native, 2.0), ("Node (`npx mock-rest-api`)", node, 5.0)):
        ratio = row["rss"] * 1024 / row["bytes"]
        lines.append(f"| {name} | {row['seconds']:.2f} s | {mib(row['rss']):.0f} MiB | {mib(row['bare']):.0f} MiB | "
                     f"{ratio:.1f}× | load under {bound:.0f} s: {met(row['seconds'] < bound)}; RSS under 10×: "
                     f"{met(ratio < 10)} |")
    lines += ["", f"Requests for {ctx['SECONDS']} s at 32 connections, the native release server, the 3.0 Petstore "
              "(`tests/openapi-docs/petstore-3.0.yaml`, 100 seeded pets):", "",
              "| request | req/s | p50 ms | p99 ms | errors |", "|---|---:|---:|---:|---:|"]
    labels = [("spec GET", "validated `GET /pets/1`"), ("plain GET", "plain `GET /api/pets/1`, the same item"),
              ("Prism GET", "Prism, `GET /pets/1`"),
              ("spec POST", "validated `POST /pets`"), ("plain POST", "plain `POST /api/pets`, the same body"),
              ("Prism POST", "Prism, `POST /pets`")]
    for key, label in labels:
        r = rated[key]
        lines.append(f"| {label} | {r['rps']:,.0f} | {r['p50']:.2f} | {r['p99']:.2f} | {r['errors']:,} |")
    share = lambda a, b: rated[a]["rps"] / rated[b]["rps"] if rated[b]["rps"] else 0
    get_share, post_share = share("spec GET", "plain GET"), share("spec POST", "plain POST")
    prism_get, prism_post = share("spec GET", "Prism GET"), share("spec POST", "Prism POST")
    lines += ["",
              f"- A validated GET at **{get_share * 100:.0f}%** of a plain GET by id (target: at least 50%: "
              f"{met(get_share >= 0.5)}); a validated POST at **{post_share * 100:.0f}%** of a plain POST (target: "
              f"at least 40%: {met(post_share >= 0.4)}).",
              f"- Against Prism on the same document and requests: **{prism_get:.0f}×** its GET rate and "
              f"**{prism_post:.0f}×** its POST rate (target: at least 10×: {met(min(prism_get, prism_post) >= 10)}). "
              "Prism keeps no state: its POST answers the document's example and stores nothing."]
    if not rated.get("same item"):
        lines.append("- The plain server did not hold the spec server's item: the GET figures compare different items.")
    return "\n".join(lines) + "\n"
