"""docs/benchmarks.md, its charts and the figures the READMEs quote, drawn from bench/history/.

Every run of a part of the benchmark (`bash bench/run.sh`, or one `BENCH_ONLY` part) adds one record,
bench/history/DATE-TIME-SECTION.json: the figures it measured, the machine and load, and for the parts
whose section is written at run time that section's text. Nothing is overwritten, so the history stays.
This module draws the page from those records: for each section its latest run, then the notes kept for
it (bench/history/notes/SECTION-NN-*.md, written by hand: analyses that no run regenerates), then its
earlier runs, folded. The peers' section and its charts (docs/bench/*.svg) are drawn from the figures
alone. Last, the figures the READMEs quote from the bench (between `<!-- bench:KEY -->` markers) are
written from the latest records, so none goes stale.

    python3 bench/page.py          # draws the page again from the records, changing nothing else
"""

import glob
import json
import os
import re
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HISTORY = os.path.join(ROOT, "bench", "history")
NOTES = os.path.join(HISTORY, "notes")
PAGE = os.path.join(ROOT, "docs", "benchmarks.md")
CHARTS = os.path.join(ROOT, "docs", "bench")
# The sections in the page's order: the record's `section`, and the heading its text starts with.
SECTIONS = [
    ("peers", "Against every peer"),
    ("main", "Against json-server 0.17, by size"),
    ("queries", "Relations and 1.0 operators"),
    ("npm", "The npm package"),
    ("feed", "The change feed"),
    ("limit", "The limit"),
    ("openapi", "The OpenAPI mode"),
    ("msw", "createMock against MSW"),
    ("profiling", "Profiling"),
]


def save(section, figures, text=None, command=None, machine=None):
    """Adds a record of one run of `section`; returns its path."""
    os.makedirs(HISTORY, exist_ok=True)
    stamp = time.strftime("%Y-%m-%d-%H%M%S")
    path = os.path.join(HISTORY, f"{stamp}-{section}.json")
    record = {"section": section, "date": time.strftime("%Y-%m-%d %H:%M"), "command": command, "machine": machine,
              "figures": figures}
    if text is not None:
        record["text"] = text
    with open(path, "w") as out:
        json.dump(record, out, indent=1, ensure_ascii=False)
        out.write("\n")
    return path


def records():
    """Every run's record, oldest first (by file name, which starts with the date and time)."""
    out = []
    for path in sorted(glob.glob(os.path.join(HISTORY, "*.json"))):
        with open(path) as source:
            record = json.load(source)
        record["file"] = os.path.relpath(path, ROOT)
        out.append(record)
    return out


def notes(section):
    return [open(path).read().rstrip() + "\n" for path in sorted(glob.glob(os.path.join(NOTES, f"{section}-*.md")))]


def demoted(text, prefix):
    """`text` with each heading one level down and the first one prefixed, for an earlier run inside <details>."""
    out, first = [], True
    for line in text.splitlines():
        if line.startswith("#"):
            hashes, _, title = line.partition(" ")
            if first:
                title, first = f"{prefix}: {title}", False
            line = f"#{hashes} {title}"
        out.append(line)
    return "\n".join(out).rstrip() + "\n"


def section_text(section, record, runs):
    if section == "peers":
        import peers_page
        return peers_page.section(record, runs)
    return record["text"].rstrip() + "\n"


def render():
    """Writes docs/benchmarks.md, docs/bench/*.svg and the READMEs' quoted figures from the records."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    every = records()
    index, body = [], []
    for section, title in SECTIONS:
        runs = [r for r in every if r["section"] == section]
        kept = notes(section)
        if not runs and not kept:
            continue
        anchor = re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")
        when = f" (latest run {runs[-1]['date'][:10]}, {len(runs)} run{'s' if len(runs) != 1 else ''} kept)" if runs else ""
        index.append(f"- [{title}](#{anchor}){when}")
        if runs:
            body.append(section_text(section, runs[-1], runs))
        body += kept
        earlier = runs[:-1]
        if earlier:
            folded = [f"<details><summary>Earlier runs of “{title}” ({len(earlier)})</summary>", ""]
            for record in reversed(earlier):
                text = section_text(section, record, [r for r in runs if r["date"] <= record["date"]]) \
                    if section == "peers" else record["text"]
                folded.append(demoted(text, f"Run of {record['date']}"))
            folded.append("</details>\n")
            body.append("\n".join(folded))
    head = ["# Benchmarks", "",
            "<!-- Drawn by bench/page.py from bench/history/: do not edit here. A run of `bash bench/run.sh` (or of "
            "one BENCH_ONLY part) adds a record and draws the page again; analyses go in bench/history/notes/. -->", "",
            "Every figure here comes from a run of `bash bench/run.sh` or one of its parts (`BENCH_ONLY=peers`, `npm`, "
            "`feed`, `queries`, `limit`, `openapi`, `msw`), kept as a record in `bench/history/`: each section shows "
            "its latest run, the notes kept with it, and its earlier runs folded below. The charts in `docs/bench/` "
            "are drawn from the same records by `bench/page.py` (`python3 bench/page.py` draws everything again).", ""]
    text = "\n".join(head + index) + "\n\n" + "\n".join(part.rstrip() + "\n" for part in body)
    with open(PAGE, "w") as out:
        out.write(text)
    peer_runs = [r for r in every if r["section"] == "peers"]
    if peer_runs:
        import peers_page
        os.makedirs(CHARTS, exist_ok=True)
        for name, svg in peers_page.charts(peer_runs[-1], peer_runs).items():
            with open(os.path.join(CHARTS, name), "w") as out:
                out.write(svg)
    claims(every)


# The READMEs' figures from the bench: `<!-- bench:KEY -->text<!-- /bench:KEY -->`, the text written from the
# latest record that has the figure. A marker the file no longer has is reported, not added back.
CLAIM_FILES = ["README.md", os.path.join("npm", "README.md")]


def claim_texts(every):
    latest = {}
    for record in every:
        latest[record["section"]] = record
    out = {}
    npm = latest.get("npm")
    if npm and npm["figures"].get("size"):
        packed, installed = npm["figures"]["size"]
        out["npm-size"] = f"About {packed / 1024:,.0f} KiB packed, {installed / 2**20:.1f} MiB installed"
    if npm and npm["figures"].get("fetched"):
        median = npm["figures"]["fetched"]["fetchAndText"]["median"]
        out["npm-fetch"] = f"about {median:.0f} µs with the body read"
    if "peers" in latest:
        import peers_page
        out["summary"] = peers_page.readme(latest["peers"])
    out["run"] = RUN_BULLET
    return out


# README's line on the bench among its scripts.
RUN_BULLET = """- `bash bench/run.sh`: every benchmark, side by side with the peers (pinned in `bench/package-lock.json`:
  json-server 0.17 and 1.0 beta, Mockoon's CLI, WireMock's jar, Prism) with `oha`, each part kept as a
  record in `bench/history/` and drawn into [docs/benchmarks.md](docs/benchmarks.md) and its charts; about
  35 minutes, on an otherwise idle machine. One part alone: `BENCH_ONLY=peers` (every peer on canned
  answers, CRUD and recording, about 20 minutes), `npm`, `feed`, `queries`, `limit`, `openapi` or `msw`
  (the list and the settings: the top of `bench/run.sh`). `python3 bench/page.py` draws the page, its
  charts and the figures this README and npm/README.md quote from the bench again from the records."""


def claims(every):
    texts = claim_texts(every)
    for name in CLAIM_FILES:
        path = os.path.join(ROOT, name)
        with open(path) as source:
            original = source.read()
        updated = original
        for key, text in texts.items():
            pattern = re.compile(rf"(<!-- bench:{re.escape(key)} -->)(.*?)(<!-- /bench:{re.escape(key)} -->)", re.S)
            block = "\n" + text.strip() + "\n" if "\n" in text.strip() else text
            updated = pattern.sub(lambda m: m.group(1) + block + m.group(3), updated)
        found = re.findall(r"<!-- bench:([a-z0-9-]+) -->", original)
        for key in found:
            if key not in texts:
                print(f"page: {name} has the marker bench:{key}, which no record fills yet", file=sys.stderr)
        if updated != original:
            with open(path, "w") as out:
                out.write(updated)
            print(f"page: wrote the bench's figures into {name}", file=sys.stderr)


if __name__ == "__main__":
    render()
