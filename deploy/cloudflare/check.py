"""Checks of scripts/cloudflare-deploy-test.sh, on what the stand-in (cf_api.py) recorded and
what wrangler printed. Standard library only (Python 3.11: tomllib).

    check.py config                          wrangler.toml carries the build, the binding,
                                             the migration and the vars; API_TOKEN is no var
    check.py first-deploy RECORD FROM OUT    requests FROM.. (1-based seq) of a first deploy
    check.py secret RECORD FROM OUT...       a `secret put API_TOKEN` (value in CF_TEST_SECRET),
                                             and that no OUT file or folder holds the value
    check.py redeploy RECORD FROM OUT        requests FROM.. of a deploy of an existing Worker
    check.py bad-token RECORD FROM OUT       a deploy with a wrong token: refused, nothing sent
    check.py requests RECORD TOKEN           every request known to the stand-in, authorized
                                             with TOKEN (but 403s), sent by wrangler 4.86.0
    check.py network NETLOG PORT             every connection went to 127.0.0.1:PORT
    check.py same-bundle RECORD DIR          the uploads carry the modules of the dry run in DIR

Each prints what it found and exits 1 with every reason when a check fails.
"""

import base64
import hashlib
import json
import os
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.dont_write_bytecode = True  # no __pycache__ in the work tree
from cf_api import parse_multipart  # noqa: E402 (after the path is set)

WRANGLER_VERSION = "4.86.0"
SUBDOMAIN = "mock-tests"

problems = []


def expect(condition, message):
    if not condition:
        problems.append(message)
    return condition


def done(summary):
    if problems:
        for problem in problems:
            print(f"check.py: {problem}", file=sys.stderr)
        sys.exit(1)
    print(f"  {summary}")


def config():
    return tomllib.loads((ROOT / "wrangler.toml").read_text())


def records(path, first=1):
    with open(path, encoding="utf-8") as lines:
        entries = [json.loads(line) for line in lines]
    return [entry for entry in entries if entry["seq"] >= first]


def body(entry):
    return base64.b64decode(entry["body_b64"])


def script_path(account, name, rest=""):
    return f"/client/v4/accounts/{account}/workers/scripts/{name}{rest}"


def find(entries, method, path):
    return [entry for entry in entries if entry["method"] == method and entry["path"] == path]


def read(path):
    return Path(path).read_text(errors="replace")


# --- what wrangler.toml says, and what an upload must carry ------------------------------------


def check_config():
    toml = config()
    expect(toml.get("name") == "mock-rest-api", f"name is {toml.get('name')!r}")
    expect(toml.get("main") == "edge/build/index.js", f"main is {toml.get('main')!r}")
    expect(
        toml.get("build", {}).get("command") == "bash scripts/edge.sh build",
        f"[build] command is {toml.get('build', {}).get('command')!r}",
    )
    expect(bool(toml.get("compatibility_date")), "no compatibility_date")
    bindings = toml.get("durable_objects", {}).get("bindings", [])
    expect(
        {"name": "MOCK_STORE", "class_name": "MockStore"} in bindings,
        f"no Durable Object binding MOCK_STORE of class MockStore: {bindings}",
    )
    migrations = toml.get("migrations", [])
    expect(
        bool(migrations) and migrations[0] == {"tag": "v1", "new_sqlite_classes": ["MockStore"]},
        f"the first migration is not v1 with new_sqlite_classes [MockStore]: {migrations}",
    )
    variables = toml.get("vars", {})
    for name in ("APP_NAME", "APP_VERSION"):
        expect(isinstance(variables.get(name), str) and variables[name], f"[vars] has no {name}")
    expect("API_TOKEN" not in variables, "API_TOKEN is a var; it must be a secret (wrangler secret put)")
    done(f"wrangler.toml: [build], MOCK_STORE → MockStore, migration v1, vars {sorted(variables)}")


def expected_bindings(toml):
    bindings = [{"name": k, "type": "plain_text", "text": v} for k, v in toml.get("vars", {}).items()]
    for binding in toml.get("durable_objects", {}).get("bindings", []):
        bindings.append({"name": binding["name"], "type": "durable_object_namespace", "class_name": binding["class_name"]})
    return sorted(bindings, key=lambda b: b["name"])


def check_upload(entry, label, migrations_expected):
    """The multipart form of a script or version upload: metadata from wrangler.toml, the main
    module importing the wasm module, the wasm the build made. Returns the parts by name."""
    toml = config()
    try:
        parts = parse_multipart(entry["headers"].get("content-type"), body(entry))
    except Exception as error:  # the stand-in's parser raises ApiError
        expect(False, f"{label}: the body is not multipart/form-data: {error}")
        return {}
    by_name = {part["name"]: part for part in parts}
    expect(len(by_name) == len(parts), f"{label}: parts with the same name: {[p['name'] for p in parts]}")
    if not expect("metadata" in by_name, f"{label}: no metadata part"):
        return by_name
    metadata = json.loads(by_name["metadata"]["data"])
    main = metadata.get("main_module")
    expect(main == Path(toml["main"]).name, f"{label}: main_module is {main!r}")
    expect(
        metadata.get("compatibility_date") == toml["compatibility_date"],
        f"{label}: compatibility_date {metadata.get('compatibility_date')!r}",
    )
    got = sorted(metadata.get("bindings", []), key=lambda b: b.get("name", ""))
    expect(got == expected_bindings(toml), f"{label}: bindings {got}, expected {expected_bindings(toml)}")
    expect(
        not any(b.get("name") == "API_TOKEN" for b in got), f"{label}: API_TOKEN uploaded as a binding of the deploy"
    )
    migrations = metadata.get("migrations")
    if migrations_expected:
        steps = [{k: v for k, v in m.items() if k != "tag"} for m in toml["migrations"]]
        expect(
            migrations == {"new_tag": toml["migrations"][-1]["tag"], "steps": steps},
            f"{label}: migrations {migrations}, expected new_tag v1 with steps {steps} and no old_tag",
        )
    else:
        expect(migrations is None, f"{label}: migrations sent again: {migrations}")
    # The modules: the main one (an ES module) and the wasm one it imports, byte for byte the build's.
    module = by_name.get(main)
    if expect(module is not None, f"{label}: no part named {main!r} (main_module)"):
        expect(
            module["content_type"] == "application/javascript+module",
            f"{label}: {main} has Content-Type {module['content_type']!r}",
        )
    wasm_parts = [p for p in parts if p["content_type"] == "application/wasm"]
    if expect(len(wasm_parts) == 1, f"{label}: {len(wasm_parts)} application/wasm parts, expected 1"):
        wasm = wasm_parts[0]
        built = (ROOT / "edge/build/index_bg.wasm").read_bytes()
        expect(wasm["data"][:4] == b"\0asm", f"{label}: the wasm part is not WebAssembly")
        expect(
            hashlib.sha256(wasm["data"]).digest() == hashlib.sha256(built).digest(),
            f"{label}: the wasm part ({len(wasm['data'])} bytes) is not edge/build/index_bg.wasm ({len(built)} bytes)",
        )
        if module is not None:
            imported = wasm["name"].removeprefix("./")
            expect(
                re.search(rb'from\s*"\./' + re.escape(imported.encode()) + rb'"', module["data"]) is not None,
                f"{label}: {main} does not import the wasm part {wasm['name']!r}",
            )
    others = [p["name"] for p in parts if p["name"] != "metadata" and p is not module and p not in wasm_parts]
    expect(not others, f"{label}: unexpected parts {others}")
    return by_name


def check_deployed(out, entries, account, name):
    """What every successful deploy does after the upload: the workers.dev route, and the URL."""
    text = read(out)
    url = f"https://{name}.{SUBDOMAIN}.workers.dev"
    expect(re.search(rf"^\s*{re.escape(url)}\s*$", text, re.M) is not None, f"wrangler did not print {url}")
    expect(re.search(r"^Uploaded " + re.escape(name) + r" \(", text, re.M) is not None, "no 'Uploaded' line")
    expect(re.search(r"^Current Version ID: [0-9a-f-]{36}$", text, re.M) is not None, "no 'Current Version ID'")
    posts = find(entries, "POST", script_path(account, name, "/subdomain"))
    if expect(len(posts) == 1, f"{len(posts)} POSTs of the workers.dev subdomain, expected 1"):
        expect(json.loads(body(posts[0])).get("enabled") is True, "workers.dev not enabled")
    expect(
        bool(find(entries, "GET", f"/client/v4/accounts/{account}/workers/subdomain")),
        "the account's workers.dev subdomain was not read",
    )
    return url


def first_deploy(record, first, out):
    account, name = os.environ["CLOUDFLARE_ACCOUNT_ID"], config()["name"]
    entries = records(record, int(first))
    service = find(entries, "GET", f"/client/v4/accounts/{account}/workers/services/{name}")
    expect(
        bool(service) and service[0]["status"] == 404 and service[0]["errors"][0]["code"] == 10007,
        "wrangler did not first ask for the Worker (10007: it does not exist yet)",
    )
    puts = find(entries, "PUT", script_path(account, name))
    if expect(len(puts) == 1, f"{len(puts)} PUTs of the script, expected 1 (a first deploy uploads the script)"):
        expect(puts[0]["status"] == 200, f"the stand-in refused the upload: {puts[0]['errors']}")
        expect("bindings_inherit=strict" in puts[0]["query"], f"query {puts[0]['query']!r}")
        check_upload(puts[0], "PUT script", migrations_expected=True)
    expect(not find(entries, "POST", script_path(account, name, "/versions")), "a version upload on the first deploy")
    url = check_deployed(out, entries, account, name)
    done(f"first deploy: PUT script (metadata, migration v1, {name} + wasm modules), workers.dev on, {url}")


def redeploy(record, first, out):
    account, name = os.environ["CLOUDFLARE_ACCOUNT_ID"], config()["name"]
    entries = records(record, int(first))
    expect(not find(entries, "PUT", script_path(account, name)), "the script was PUT again; expected a version")
    versions = find(entries, "POST", script_path(account, name, "/versions"))
    if expect(len(versions) == 1, f"{len(versions)} version uploads, expected 1"):
        expect(versions[0]["status"] == 200, f"the stand-in refused the version: {versions[0]['errors']}")
        check_upload(versions[0], "POST version", migrations_expected=False)
        deployments = find(entries, "POST", script_path(account, name, "/deployments"))
        if expect(len(deployments) == 1, f"{len(deployments)} deployments created, expected 1"):
            request = json.loads(body(deployments[0]))
            version_ids = re.findall(r"^Current Version ID: (\S+)$", read(out), re.M)
            expect(
                [(v["version_id"], v["percentage"]) for v in request.get("versions", [])]
                == [(version_ids[-1] if version_ids else None, 100)],
                f"the deployment is not the new version at 100%: {request}",
            )
    url = check_deployed(out, entries, account, name)
    done(f"redeploy: version uploaded without migrations, deployed at 100%, {url}")


def secret(record, first, out, *others):
    account, name = os.environ["CLOUDFLARE_ACCOUNT_ID"], config()["name"]
    value = os.environ["CF_TEST_SECRET"]
    entries = records(record, int(first))
    puts = find(entries, "PUT", script_path(account, name, "/secrets"))
    if expect(len(puts) == 1, f"{len(puts)} PUTs of secrets, expected 1"):
        request = json.loads(body(puts[0]))
        expect(
            request == {"name": "API_TOKEN", "text": value, "type": "secret_text"},
            f"the secret request is {dict(request, text='(hidden)')}, text as piped: {request.get('text') == value}",
        )
        expect(puts[0]["status"] == 200, f"the stand-in refused the secret: {puts[0]['errors']}")
    expect(len(entries) == len(puts), f"other requests too: {[(e['method'], e['path']) for e in entries]}")
    expect("Success! Uploaded secret API_TOKEN" in read(out), "wrangler did not say it uploaded API_TOKEN")
    holders = []
    for place in (out, *others):
        files = [Path(place)] if Path(place).is_file() else sorted(p for p in Path(place).rglob("*") if p.is_file())
        holders += [str(f) for f in files if value.encode() in f.read_bytes()]
    expect(not holders, f"the secret's value is in {holders}")
    done("secret put API_TOKEN: one PUT .../secrets, type secret_text, the value as piped and in no output or log")


def bad_token(record, first, out):
    entries = records(record, int(first))
    text = read(out)
    expect("Authentication error" in text and "10000" in text, "wrangler did not report the authentication error")
    expect(entries and all(e["status"] == 403 for e in entries), "a request with the wrong token was not refused")
    uploads = [e for e in entries if e["method"] in ("PUT", "POST", "PATCH")]
    expect(not uploads, f"wrangler went on after the refusal: {[(e['method'], e['path']) for e in uploads]}")
    done(f"wrong token: refused (10000) at its first request ({len(entries)} in all), nothing uploaded")


def requests(record, token):
    entries = records(record)
    unknown = sorted({f"{e['method']} {e['path']}" for e in entries if not e["known"]})
    expect(not unknown, f"wrangler called what the stand-in does not answer: {unknown}")
    for entry in entries:
        where = f"#{entry['seq']} {entry['method']} {entry['path']}"
        if entry["status"] != 403:
            expect(entry["headers"].get("authorization") == f"Bearer {token}", f"{where}: not the token")
        expect(
            entry["headers"].get("user-agent") == f"wrangler/{WRANGLER_VERSION}",
            f"{where}: user-agent {entry['headers'].get('user-agent')!r}",
        )
    calls = sorted({f"{e['method']} {re.sub(r'/accounts/[^/]+', '/accounts/:account', e['path'])}" for e in entries})
    done(f"{len(entries)} requests, all answered by known routes, each with the token:\n    " + "\n    ".join(calls))


def network(netlog, port):
    lines = Path(netlog).read_text().split("\n") if Path(netlog).exists() else []
    connections = [line for line in lines if line]
    elsewhere = sorted({line for line in connections if line != f"127.0.0.1 {port}"})
    expect(connections, "no connection was logged (is the preload working?)")
    expect(not elsewhere, f"wrangler connected elsewhere than the stand-in: {elsewhere}")
    done(f"network: all {len(connections)} connections of wrangler went to 127.0.0.1:{port}")


def same_bundle(record, directory):
    directory = Path(directory)
    dry = {p.name: p.read_bytes() for p in directory.iterdir() if p.is_file() and p.suffix in (".js", ".wasm")}
    uploads = [e for e in records(record) if e["status"] == 200 and e["method"] in ("PUT", "POST")]
    uploads = [e for e in uploads if e["path"].endswith("/versions") or re.search(r"/scripts/[^/]+$", e["path"])]
    expect(bool(dry), f"no .js or .wasm in {directory}")
    expect(bool(uploads), "no upload recorded")
    for entry in uploads:
        parts = parse_multipart(entry["headers"]["content-type"], body(entry))
        modules = {p["name"].removeprefix("./"): p["data"] for p in parts if p["name"] != "metadata"}
        expect(modules == dry, f"#{entry['seq']}: modules {sorted(modules)} differ from the dry run's {sorted(dry)}")
    done(f"the {len(uploads)} uploads carry exactly the dry run's modules ({', '.join(sorted(dry))})")


COMMANDS = {
    "config": check_config,
    "first-deploy": first_deploy,
    "redeploy": redeploy,
    "secret": secret,
    "bad-token": bad_token,
    "requests": requests,
    "network": network,
    "same-bundle": same_bundle,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
