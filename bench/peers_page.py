"""The peers' section of docs/benchmarks.md, its charts and the README's summary, from a peers record
(bench/peers.py measures; bench/page.py calls these). Every sentence with a figure is computed here from
the record, so the section can be drawn again from bench/history/ at any time.
"""

import svg

OURS = "mock-rest-api"
# The peers in the order of the tables and the charts' bars, with their colours.
PEERS = [(OURS, "#e8590c"), ("WireMock", "#1971c2"), ("Mockoon", "#2f9e44"), ("json-server 0.17", "#7048e8"),
         ("json-server 1.0 beta", "#c2255c")]
COLOURS = dict(PEERS)
TARGET_RATIO = 10
TARGET_P99 = 2.0
MEMORY_SIZE = 100_000


def title(workload):
    kind, size = workload["kind"], workload["size"]
    if kind == "canned":
        return f"canned answer, {size:,} stub{'s' if size != 1 else ''}"
    if kind == "get":
        return f"GET by id, {size:,} items"
    if kind == "post":
        return f"POST, {size:,} items"
    return "record through a proxy"


def label(name, figures):
    versions = figures.get("versions", {})
    version = {"WireMock": versions.get("WireMock"), "Mockoon": versions.get("Mockoon"),
               "json-server 0.17": versions.get("json-server 0.17"),
               "json-server 1.0 beta": versions.get("json-server 1.0")}.get(name)
    return f"{name} {version}" if version and not name.startswith("json-server") else \
        (f"json-server {version}" if version else name)


def verdicts(figures):
    """Per workload: ours, the best peer (by req/s) and the ratios; then the three goals."""
    rows = []
    for workload in figures["workloads"]:
        results = workload["results"]
        ours = results.get(OURS)
        others = {name: r for name, r in results.items() if name != OURS and r.get("rps")}
        if not ours or not others:
            continue
        best = max(others, key=lambda name: others[name]["rps"])
        cpu_best = min(others, key=lambda name: others[name]["cpu_us"] or float("inf"))
        rows.append({"workload": workload, "ours": ours, "best": best, "peer": others[best],
                     "ratio": ours["rps"] / others[best]["rps"],
                     "cpu_ratio": others[cpu_best]["cpu_us"] / ours["cpu_us"] if ours["cpu_us"] else None,
                     "cpu_best": cpu_best})
    lowest = min(rows, key=lambda row: row["ratio"]) if rows else None
    worst_p99 = max(rows, key=lambda row: row["ours"]["p99"]) if rows else None
    memory = None
    for workload in figures["workloads"]:
        if workload["kind"] == "get" and workload["size"] == MEMORY_SIZE:
            results = workload["results"]
            others = {name: r["rss_mib"] for name, r in results.items() if name != OURS and r.get("rss_mib")}
            if OURS in results and others:
                least = min(others, key=others.get)
                memory = {"ours": results[OURS]["rss_mib"], "peer": least, "peer_mib": others[least]}
    return rows, lowest, worst_p99, memory


def met(ok):
    return "met" if ok else "**not met**"


def spread(values, digits=0):
    if len(values) < 2:
        return ""
    return f" ({min(values):,.{digits}f}–{max(values):,.{digits}f})"


def section(record, runs):
    figures = record["figures"]
    rows, lowest, worst_p99, memory = verdicts(figures)
    load = figures.get("load", [0, 0])
    lines = ["## Against every peer", "",
             f"Measured by `{record.get('command') or 'BENCH_ONLY=peers bash bench/run.sh'}` on {record['date']} "
             f"({figures['seconds']} s per round, {figures['rounds']} rounds with the peers taking turns, "
             f"{figures['connections']} connections), the release build of "
             f"{figures.get('build') or 'this tree'}. Machine: {record.get('machine') or 'not recorded'}; "
             f"{figures.get('java', 'java ?')}. Load average (1 min) {load[0]:.2f} at the start, {load[1]:.2f} at "
             "the end (the peers' own processes count in it, and so does any other work on this 2-core machine): "
             "compare figures within this run, and the CPU time per request beside req/s, which load disturbs "
             "less.", "",
             "How each peer runs (`bench/peers.py`: every server on CPU 0, bound to 127.0.0.1 on port 0, the port "
             "read from the socket it holds; oha on CPU 1 with one worker thread; a warm-up before the rounds):", ""]
    for name, _ in PEERS:
        how = figures.get("how", {}).get(name)
        if how:
            lines.append(f"- {label(name, figures)}: {how}.")
    def sizes(kind):
        listed = [f"{w['size']:,}" for w in figures["workloads"] if w["kind"] == kind]
        return ", ".join(listed[:-1]) + " and " + listed[-1] if len(listed) > 1 else "".join(listed)
    lines += ["", f"Workloads: a canned JSON answer chosen by method and path, with {sizes('canned')} of them "
              "loaded, each request drawing one at random; GET by id (random existing ids) and POST of a small "
              f"person over {sizes('get')} items; GET by id through the peer to an upstream holding 1,000 "
              "people (the native server, on oha's CPU), the peer recording what passes (Mockoon's CLI only "
              "forwards: it has no recording). json-server has no canned answers or proxy, WireMock no CRUD.", "",
              "![req/s per workload and peer](bench/peers-throughput.svg)", "",
              "![p99 per workload and peer](bench/peers-p99.svg)", "",
              "CPU use is req/s × CPU time per request: the share of CPU 0 the server had and used. Under 100% "
              "means the server waited: for requests (a server that answers faster than oha asks) or for its CPU, "
              "which other work took meanwhile. A slow server can pass 100%: the requests still in flight when a "
              "round ends (up to 32) cost CPU but are not counted.", "",
              "| workload | peer | req/s (range) | p99 ms | server CPU µs/request | CPU use | peak RSS MiB | start to "
              "first answer s | errors | ours / this peer |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for workload in figures["workloads"]:
        results = workload["results"]
        ours = results.get(OURS)
        for name, _ in PEERS:
            r = results.get(name)
            if not r:
                continue
            ratio = "—" if name == OURS or not ours or not r["rps"] else f"{ours['rps'] / r['rps']:,.1f}×"
            lines.append(f"| {title(workload)} | {label(name, figures)} | {r['rps']:,.0f}{spread(r['rps_all'])} | "
                         f"{r['p99']:.2f} | {r['cpu_us']:,.1f} | {r['rps'] * r['cpu_us'] / 1e4:.0f}% | "
                         f"{r['rss_mib']:,.0f} | {r['ready_s']:.2f} | {r['errors']:,} | {ratio} |")
        for note in workload.get("notes", []):
            lines.append(f"| {title(workload)} | {note} | | | | | | | | |")
    lines += ["", "Against the best peer of each workload (by req/s; the CPU column divides the lowest CPU time per "
              "request among the peers by ours):", "",
              "| workload | best peer | its req/s | ours req/s | ours / best | by CPU time | ours p99 ms | "
              f"{TARGET_RATIO}× and p99 under {TARGET_P99:g} ms |", "|---|---|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        ok = row["ratio"] >= TARGET_RATIO and row["ours"]["p99"] < TARGET_P99
        cpu = f"{row['cpu_ratio']:,.1f}×" if row["cpu_ratio"] else "—"
        lines.append(f"| {title(row['workload'])} | {label(row['best'], figures)} | {row['peer']['rps']:,.0f} | "
                     f"{row['ours']['rps']:,.0f} | **{row['ratio']:,.1f}×** | {cpu} | {row['ours']['p99']:.2f} | "
                     f"{met(ok)} |")
    lines += ["", "![peak RSS per workload and peer](bench/peers-rss.svg)", "",
              "![start-up to the first answer](bench/peers-startup.svg)", ""]
    lines += ["| target | this run |", "|---|---|"]
    if rows:
        misses = [row for row in rows if row["ratio"] < TARGET_RATIO]
        listed = "; below it: " + ", ".join(f"{title(r['workload'])} {r['ratio']:,.1f}× {r['best']}" for r in misses) \
            if misses else ""
        lines.append(f"| at least {TARGET_RATIO}× every peer's throughput on every workload it supports | lowest "
                     f"{lowest['ratio']:,.1f}× ({title(lowest['workload'])}, {lowest['best']}){listed}: "
                     f"{met(not misses)} |")
        over = [row for row in rows if row["ours"]["p99"] >= TARGET_P99]
        listed = "; over it: " + ", ".join(f"{title(r['workload'])} {r['ours']['p99']:.2f} ms" for r in over) \
            if over else ""
        lines.append(f"| p99 under {TARGET_P99:g} ms on every workload | highest {worst_p99['ours']['p99']:.2f} ms "
                     f"({title(worst_p99['workload'])}){listed}: {met(not over)} |")
    if memory:
        lines.append(f"| less memory than any peer at {MEMORY_SIZE:,} items (peak RSS through the GET rounds) | "
                     f"{memory['ours']:,.0f} MiB against {memory['peer_mib']:,.0f} MiB ({memory['peer']}, the "
                     f"least of the peers): {met(memory['ours'] < memory['peer_mib'])} |")
    mock = figures.get("mockserver")
    if mock:
        ours, published = mock["ours"], mock["published"]
        lines += ["", f"MockServer is published on Maven Central, which this machine cannot reach, so it is not run "
                  f"here. Its own page ({published['source']}) gives {published['rps']:,} req/s with a p99 of "
                  f"{published['p99']:g} ms (mean {published['mean']} ms) at {published['connections']} clients "
                  "(Apache Bench with keep-alive, four expectations, the request matching the third, on its authors' "
                  f"machine). The native server on the same shape here (four rules, the third answering, "
                  f"{published['connections']} connections, one CPU): {ours['rps']:,.0f} req/s, p99 "
                  f"{ours['p99']:.2f} ms, {ours['rps'] / published['rps']:.2f}× that figure. Different machines "
                  "and load generators: a quoted figure, not a side-by-side one, so no goal is judged on it."]
    startup = figures.get("startup", {})
    if startup:
        lines += ["", f"Start-up, from the process's start to its first answered request with one canned answer "
                  f"(json-server: one person), the median of {figures.get('starts', '?')} starts taking turns, and "
                  "each workload's own start with its stubs or items loaded (once; WireMock reads its mappings "
                  "file, mock-rest-api its rules file or a snapshot PUT, Mockoon its environment file, json-server "
                  "its db.json):", "",
                  "| peer | one answer, ms (range) | 10,000 stubs, s | 100,000 items, s | recording proxy, s |",
                  "|---|---:|---:|---:|---:|"]

        def ready(name, kind, size=None):
            for workload in figures["workloads"]:
                if workload["kind"] == kind and (size is None or workload["size"] == size):
                    r = workload["results"].get(name)
                    return f"{r['ready_s']:.2f}" if r else "—"
            return "—"
        for name, _ in PEERS:
            row = startup.get(name)
            if not row:
                continue
            lines.append(f"| {label(name, figures)} | {row['ms']:,.1f}{spread(row['all'], 1)} | "
                         f"{ready(name, 'canned', 10_000)} | {ready(name, 'get', MEMORY_SIZE)} | {ready(name, 'record')} |")
    wins = where_peers_win(rows)
    if wins:
        lines += ["", "Where the goal is missed, and what it would take (a server pinned to one CPU answers at most "
                  "1 / its CPU time per request, so a rate needs that CPU budget or less; a p99 at well under 100% "
                  "CPU use is mostly requests waiting while other work had the CPU):", ""] + wins
    if len(runs) > 1:
        lines += ["", "Ours over the best peer, run by run:", "", "![ours over the best peer, per run](bench/peers-history.svg)",
                  ""] + history_table(runs)
    return "\n".join(lines) + "\n"


def where_peers_win(rows):
    out = []
    for row in rows:
        ours, peer = row["ours"], row["peer"]
        if row["ratio"] >= TARGET_RATIO and ours["p99"] < TARGET_P99:
            continue
        name = row["best"]
        parts = []
        if row["ratio"] < 1:
            parts.append(f"**{name} wins**, {peer['rps']:,.0f} req/s against ours {ours['rps']:,.0f}.")
        if row["ratio"] < TARGET_RATIO:
            need = TARGET_RATIO * peer["rps"]
            text = (f"{TARGET_RATIO}× {name} is {need:,.0f} req/s, a budget of {1e6 / need:.1f} µs of CPU per request "
                    f"on one CPU; ours took {ours['cpu_us']:.1f} µs ({ours['rps']:,.0f} req/s, {row['ratio']:.1f}×)")
            if ours["cpu_us"] and 1e6 / need < ours["cpu_us"]:
                text += f", so it needs {ours['cpu_us'] / (1e6 / need):.1f}× less CPU per request."
            else:
                text += ": within the budget, so the rate was set by something else than its own work (other work on its CPU, or the load generator)."
            parts.append(text)
        if ours["p99"] >= TARGET_P99:
            use = ours["rps"] * ours["cpu_us"] / 1e4
            parts.append(f"p99 {ours['p99']:.2f} ms, over {TARGET_P99:g} ms, at {use:.0f}% CPU use" +
                         (": the server waited for its CPU." if use < 90 else "."))
        out.append(f"- {title(row['workload'])}: " + " ".join(parts))
    return out


def history_table(runs):
    keys = []
    for run in runs:
        for workload in run["figures"]["workloads"]:
            if workload["key"] not in [k for k, _ in keys]:
                keys.append((workload["key"], title(workload)))
    lines = ["| run | load (start) | " + " | ".join(t for _, t in keys) + " |",
             "|---|---:|" + "---:|" * len(keys)]
    for run in runs:
        rows = {row["workload"]["key"]: row for row in verdicts(run["figures"])[0]}
        cells = [f"{rows[k]['ratio']:,.1f}×" if k in rows else "—" for k, _ in keys]
        lines.append(f"| {run['date']} | {run['figures'].get('load', [0])[0]:.2f} | " + " | ".join(cells) + " |")
    return lines


def charts(record, runs):
    figures = record["figures"]
    note = f"{record['date']}, {figures['seconds']} s × {figures['rounds']} rounds, 32 connections, server on one CPU; log scale"
    series = [(name, colour) for name, colour in PEERS
              if any(name in w["results"] for w in figures["workloads"])]
    legend = [(label(name, figures), colour) for name, colour in series]

    def groups(field):
        return [(title(w), {label(name, figures): (w["results"].get(name) or {}).get(field) for name, _ in series})
                for w in figures["workloads"]]
    out = {
        "peers-throughput.svg": svg.bars("Requests per second (higher is better)", note, groups("rps"), legend),
        "peers-p99.svg": svg.bars("p99 latency (lower is better)", note, groups("p99"), legend, unit=" ms"),
        "peers-cpu.svg": svg.bars("Server CPU time per request (lower is better)", note, groups("cpu_us"), legend,
                                  unit=" µs"),
        "peers-rss.svg": svg.bars("Peak RSS (lower is better)", note.replace(", server on one CPU", ""),
                                  groups("rss_mib"), legend, unit=" MiB"),
    }
    startup = figures.get("startup", {})
    start_groups = [("one canned answer", {label(n, figures): (startup.get(n) or {}).get("ms") for n, _ in series})]
    for workload in figures["workloads"]:
        if workload["kind"] in ("canned", "get", "record") and (workload["kind"] != "canned" or workload["size"] > 1):
            name = {"canned": f"with {workload['size']:,} stubs", "get": f"with {workload['size']:,} items",
                    "record": "as a recording proxy"}[workload["kind"]]
            start_groups.append((name, {label(n, figures): (workload["results"].get(n) or {}).get("ready_s", 0) * 1000
                                        or None for n, _ in series}))
    out["peers-startup.svg"] = svg.bars("Start to first answer (lower is better)",
                                        f"{record['date']}; with what each workload loads; log scale",
                                        start_groups, legend, unit=" ms")
    keys = []
    for run in runs:
        for workload in run["figures"]["workloads"]:
            if workload["key"] not in [k for k, _ in keys]:
                keys.append((workload["key"], title(workload)))
    ratios = [{row["workload"]["key"]: row["ratio"] for row in verdicts(run["figures"])[0]} for run in runs]
    palette = ["#e8590c", "#1971c2", "#2f9e44", "#7048e8", "#c2255c", "#0c8599", "#f08c00", "#495057"]
    out["peers-history.svg"] = svg.lines(
        "mock-rest-api over the best peer, per run", "req/s ratio per workload; log scale",
        [run["date"][5:] for run in runs],
        [(t, palette[i % len(palette)], [r.get(k) for r in ratios]) for i, (k, t) in enumerate(keys)],
        unit="×", reference=(TARGET_RATIO, f"{TARGET_RATIO}× goal"))
    return out


def readme(record):
    """The README's benchmark summary: the workloads against their best peer, and the goals."""
    figures = record["figures"]
    rows, lowest, worst_p99, memory = verdicts(figures)
    lines = [f"Side by side with WireMock, Mockoon and json-server 0.17 and 1.0 on one CPU each "
             f"(`BENCH_ONLY=peers bash bench/run.sh`, {record['date'][:10]}, a shared 2-core machine; "
             "every figure and how it is measured: [docs/benchmarks.md](docs/benchmarks.md#against-every-peer)):", "",
             "![requests per second per workload and peer](docs/bench/peers-throughput.svg)", "",
             "| workload | mock-rest-api req/s | p99 ms | best peer | its req/s | ours / best |",
             "|---|---:|---:|---|---:|---:|"]
    for row in rows:
        lines.append(f"| {title(row['workload'])} | {row['ours']['rps']:,.0f} | {row['ours']['p99']:.2f} | "
                     f"{label(row['best'], figures)} | {row['peer']['rps']:,.0f} | {row['ratio']:,.1f}× |")
    if rows:
        goals = [f"at least {TARGET_RATIO}× every peer: {met(lowest['ratio'] >= TARGET_RATIO)} (lowest "
                 f"{lowest['ratio']:,.1f}×, {title(lowest['workload'])})",
                 f"p99 under {TARGET_P99:g} ms: {met(worst_p99['ours']['p99'] < TARGET_P99)} (highest "
                 f"{worst_p99['ours']['p99']:.2f} ms)"]
        if memory:
            goals.append(f"less memory than any peer at {MEMORY_SIZE:,} items: {met(memory['ours'] < memory['peer_mib'])} "
                         f"({memory['ours']:,.0f} MiB; {memory['peer']} {memory['peer_mib']:,.0f} MiB)")
        lines += ["", "The targets in this run: " + "; ".join(goals) + "."]
    uses = [r["ours"]["rps"] * r["ours"]["cpu_us"] / 1e4 for r in rows]
    load = figures.get("load", [0, 0])
    if uses:
        full = min(uses) >= 90
        lines += ["", f"Load average {load[0]:.1f} at the start and {load[1]:.1f} at the end (the peers' own processes "
                  f"included); mock-rest-api had its CPU for {min(uses):.0f} to {max(uses):.0f}% of its rounds"
                  + (", so these figures are what it does with a CPU of its own." if full else
                     ", so its req/s and p99 here are below what it does on a CPU of its own (the page reads them with "
                     "the CPU time per request).")]
    return "\n".join(lines)
