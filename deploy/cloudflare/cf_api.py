"""A recording stand-in for the part of Cloudflare's API v4 that `wrangler deploy` and
`wrangler secret put` (wrangler 4.86) call, for scripts/cloudflare-deploy-test.sh.

    python3 cf_api.py --port-file FILE --record FILE --account ID --token TOKEN

Listens on 127.0.0.1 on a free port (written to --port-file once it listens) under
/client/v4, the path of CLOUDFLARE_API_BASE_URL. Standard library only.

Every request is appended to --record as one JSON line: seq, method, path, query, headers,
the body (base64), the status answered, the errors and whether the route is known. Answers are
Cloudflare's envelope, {"success", "errors", "messages", "result"}, with results shaped as wrangler
reads them, and keep state across requests as the API does: a Worker that does not exist is error
10007 (which wrangler takes for "first deploy") until a script is uploaded; the migration tag of the
last upload is the Worker's; versions, deployments, secrets and the workers.dev switch are kept.
Refused, with codes in Cloudflare's style:

  - a token other than --token, an account other than --account (403, code 10000);
  - an upload whose multipart body lacks a `metadata` part or whose main_module is not one of its
    parts; a script upload whose migrations' old_tag is not the Worker's migration tag; a version
    upload that carries migrations (the versions API does not apply them); a version upload or a
    deployment for a Worker or version that does not exist;
  - a secret without a name or a text, or of another type than secret_text.

A path it does not know is answered 404 with code 7003 (Cloudflare's "No route for that URI") and
recorded with "known": false, so that the test lists what wrangler called that it does not answer.
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import re
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

PREFIX = "/client/v4"
SUBDOMAIN = "mock-tests"


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_multipart(content_type, body):
    """The parts of a multipart/form-data body: a list of dicts with name, filename,
    content_type and data (bytes). Raises ApiError when it is not one."""
    match = re.search(r'boundary="?([^";]+)"?', content_type or "")
    if not content_type or not content_type.startswith("multipart/form-data") or not match:
        raise ApiError(400, 10001, f"expected multipart/form-data with a boundary, got {content_type!r}")
    delimiter = b"--" + match.group(1).encode()
    chunks = body.split(delimiter)
    if len(chunks) < 3 or not chunks[-1].startswith(b"--"):
        raise ApiError(400, 10001, "malformed multipart body: no closing boundary")
    parts = []
    for chunk in chunks[1:-1]:
        if not chunk.startswith(b"\r\n") or not chunk.endswith(b"\r\n"):
            raise ApiError(400, 10001, "malformed multipart body: a part not framed by CRLF")
        head, sep, data = chunk[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise ApiError(400, 10001, "malformed multipart body: a part without headers")
        headers = {}
        for line in head.decode("utf-8").split("\r\n"):
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        disposition = headers.get("content-disposition", "")
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        if not disposition.startswith("form-data") or not name:
            raise ApiError(400, 10001, f"malformed multipart body: Content-Disposition {disposition!r}")
        parts.append(
            {
                "name": name.group(1),
                "filename": filename.group(1) if filename else None,
                "content_type": headers.get("content-type"),
                "data": data,
            }
        )
    return parts


class State:
    """What the account holds: Workers by name, the workers.dev subdomain."""

    def __init__(self, account):
        self.account = account
        self.lock = threading.Lock()
        self.workers = {}
        self.subdomain = SUBDOMAIN

    def worker(self, name):
        worker = self.workers.get(name)
        if worker is None:
            raise ApiError(404, 10007, "This Worker does not exist on your account.")
        return worker

    def script_summary(self, worker):
        return {
            "id": worker["name"],
            "tag": worker["tag"],
            "tags": worker["tags"],
            "etag": worker["etag"],
            "handlers": ["fetch"],
            "last_deployed_from": "wrangler",
            "migration_tag": worker["migration_tag"],
            "compatibility_date": worker["metadata"].get("compatibility_date"),
            "usage_model": "standard",
            "created_on": worker["created_on"],
            "modified_on": worker["modified_on"],
        }

    def upload(self, name, parts, versions_api):
        """A script (PUT) or version (POST .../versions) upload: checks the form and records the
        version; returns the version."""
        by_name = {part["name"]: part for part in parts}
        if "metadata" not in by_name:
            raise ApiError(400, 10001, "the upload has no metadata part")
        try:
            metadata = json.loads(by_name["metadata"]["data"])
        except ValueError as error:
            raise ApiError(400, 10001, f"the metadata part is not JSON: {error}") from None
        main = metadata.get("main_module")
        if not main or main not in by_name:
            raise ApiError(400, 10021, f"main_module {main!r} is not one of the uploaded parts")
        worker = self.workers.get(name)
        migrations = metadata.get("migrations")
        if versions_api:
            if worker is None:
                raise ApiError(404, 10007, "This Worker does not exist on your account.")
            if migrations:
                raise ApiError(400, 10021, "migrations cannot be applied by a version upload")
        elif migrations:
            current = worker["migration_tag"] if worker else None
            if migrations.get("old_tag") != current:
                raise ApiError(
                    400, 10079, f"migrations: old_tag {migrations.get('old_tag')!r} is not the script's tag {current!r}"
                )
        stamp = now()
        if worker is None:
            worker = {
                "name": name,
                "tag": uuid.uuid4().hex,
                "tags": [],
                "migration_tag": None,
                "created_on": stamp,
                "versions": [],
                "deployments": [],
                "secrets": {},
                "subdomain": {"enabled": False, "previews_enabled": False},
            }
            self.workers[name] = worker
        if migrations:
            worker["migration_tag"] = migrations.get("new_tag")
        content = b"".join(part["data"] for part in parts if part["name"] != "metadata")
        worker["etag"] = hashlib.sha256(content).hexdigest()
        worker["metadata"] = metadata
        worker["modified_on"] = stamp
        version = {
            "id": str(uuid.uuid4()),
            "number": len(worker["versions"]) + 1,
            "metadata": {"author_email": "tests@example.com", "source": "wrangler", "created_on": stamp},
            "annotations": metadata.get("annotations") or {},
            "resources": {
                "script": {"etag": worker["etag"], "handlers": ["fetch"]},
                "bindings": metadata.get("bindings", []),
            },
            "startup_time_ms": 3,
        }
        worker["versions"].append(version)
        return version

    def deploy(self, worker, versions, message=None):
        deployment = {
            "id": str(uuid.uuid4()),
            "source": "wrangler",
            "strategy": "percentage",
            "author_email": "tests@example.com",
            "created_on": now(),
            "versions": versions,
            "annotations": {"workers/message": message} if message else {},
        }
        worker["deployments"].insert(0, deployment)
        return deployment


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cf-api-standin"

    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass

    def do_GET(self):
        self.serve()

    def do_POST(self):
        self.serve()

    def do_PUT(self):
        self.serve()

    def do_PATCH(self):
        self.serve()

    def do_DELETE(self):
        self.serve()

    def serve(self):
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self.read_chunked()
        else:
            body = self.rfile.read(length) if length else b""
        known = True
        try:
            status, result = self.route(url.path, parse_qs(url.query), body)
            envelope = {"success": True, "errors": [], "messages": [], "result": result}
        except ApiError as error:
            known = error.code != 7003
            status = error.status
            envelope = {
                "success": False,
                "errors": [{"code": error.code, "message": error.message}],
                "messages": [],
                "result": None,
            }
        self.server.record(
            {
                "method": self.command,
                "path": url.path,
                "query": url.query,
                "headers": {key.lower(): value for key, value in self.headers.items()},
                "body_b64": base64.b64encode(body).decode(),
                "status": status,
                "known": known,
                "errors": envelope["errors"],
            }
        )
        data = json.dumps(envelope).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def read_chunked(self):
        body = b""
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return body
            body += self.rfile.read(size)
            self.rfile.readline()

    def route(self, path, query, body):
        server = self.server
        if not path.startswith(PREFIX + "/"):
            raise ApiError(404, 7003, f"No route for that URI: {path}")
        if self.headers.get("Authorization") != f"Bearer {server.token}":
            raise ApiError(403, 10000, "Authentication error")
        parts = path[len(PREFIX) :].strip("/").split("/")
        method = self.command
        state = server.state
        with state.lock:
            if parts[:1] == ["accounts"] and len(parts) >= 3 and parts[2] == "workers":
                if parts[1] != state.account:
                    raise ApiError(403, 10000, "Authentication error: not a member of that account")
                return self.workers_route(method, parts[3:], query, body)
            if parts == ["user", "tokens", "verify"] and method == "GET":
                return 200, {"id": "0" * 32, "status": "active"}
            if parts == ["memberships"] and method == "GET":
                return 200, [{"id": "m1", "account": {"id": state.account, "name": "Tests"}, "status": "accepted"}]
            if parts == ["accounts"] and method == "GET":
                return 200, [{"id": state.account, "name": "Tests"}]
        raise ApiError(404, 7003, f"No route for that URI: {method} {path}")

    def workers_route(self, method, parts, query, body):
        state = self.server.state
        unknown = ApiError(404, 7003, f"No route for that URI: {method} /workers/{'/'.join(parts)}")
        if parts == ["subdomain"] and method == "GET":
            return 200, {"subdomain": state.subdomain}
        if parts[:1] == ["scripts"] and len(parts) == 1 and method == "GET":
            return 200, [state.script_summary(worker) for worker in state.workers.values()]
        if parts[:1] == ["services"] and len(parts) == 2 and method == "GET":
            worker = state.worker(parts[1])
            return 200, {
                "id": worker["name"],
                "default_environment": {
                    "environment": "production",
                    "created_on": worker["created_on"],
                    "modified_on": worker["modified_on"],
                    "script": state.script_summary(worker),
                },
                "created_on": worker["created_on"],
                "modified_on": worker["modified_on"],
            }
        if parts[:1] != ["scripts"] or len(parts) < 2:
            raise unknown
        name, rest = parts[1], parts[2:]
        content_type = self.headers.get("Content-Type")
        if rest == [] and method == "PUT":
            version = state.upload(name, parse_multipart(content_type, body), versions_api=False)
            worker = state.workers[name]
            state.deploy(worker, [{"version_id": version["id"], "percentage": 100}])
            result = state.script_summary(worker)
            result.update({"deployment_id": version["id"], "startup_time_ms": 3})
            if query.get("excludeScript") != ["true"]:
                result["script"] = "(omitted by the stand-in)"
            return 200, result
        worker = state.worker(name)
        if rest == ["versions"] and method == "POST":
            return 200, state.upload(name, parse_multipart(content_type, body), versions_api=True)
        if rest == ["deployments"] and method == "GET":
            return 200, {"deployments": worker["deployments"]}
        if rest == ["deployments"] and method == "POST":
            request = json.loads(body)
            versions = request.get("versions") or []
            known_ids = {version["id"] for version in worker["versions"]}
            if sum(v.get("percentage", 0) for v in versions) != 100 or any(
                v.get("version_id") not in known_ids for v in versions
            ):
                raise ApiError(400, 10021, "a deployment's versions must exist and add up to 100%")
            return 200, state.deploy(worker, versions, (request.get("annotations") or {}).get("workers/message"))
        if rest == ["settings"] and method == "GET":
            metadata = worker["metadata"]
            secrets = [{"type": "secret_text", "name": key} for key in sorted(worker["secrets"])]
            return 200, {
                "bindings": metadata.get("bindings", []) + secrets,
                "compatibility_date": metadata.get("compatibility_date"),
                "compatibility_flags": metadata.get("compatibility_flags", []),
                "placement": {},
                "tags": worker["tags"],
                "tail_consumers": [],
                "logpush": False,
                "usage_model": "standard",
            }
        if rest == ["script-settings"] and method == "PATCH":
            settings = json.loads(body)
            if "tags" in settings:
                worker["tags"] = settings["tags"]
            worker.setdefault("settings", {}).update(settings)
            return 200, worker["settings"]
        if rest == ["subdomain"] and method == "GET":
            return 200, worker["subdomain"]
        if rest == ["subdomain"] and method == "POST":
            request = json.loads(body)
            worker["subdomain"] = {
                "enabled": bool(request.get("enabled")),
                "previews_enabled": bool(request.get("previews_enabled")),
            }
            return 200, worker["subdomain"]
        if rest == ["secrets"] and method == "GET":
            return 200, [{"name": key, "type": "secret_text"} for key in sorted(worker["secrets"])]
        if rest == ["secrets"] and method == "PUT":
            request = json.loads(body)
            if not request.get("name") or not isinstance(request.get("text"), str):
                raise ApiError(400, 10021, "a secret needs a name and a text")
            if request.get("type") != "secret_text":
                raise ApiError(400, 10021, f"unsupported secret type {request.get('type')!r}")
            worker["secrets"][request["name"]] = request["text"]
            return 200, {"name": request["name"], "type": "secret_text"}
        raise unknown


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, record_path, account, token):
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = State(account)
        self.token = token
        self.record_path = record_path
        self.record_lock = threading.Lock()
        self.seq = 0

    def record(self, entry):
        with self.record_lock:
            self.seq += 1
            with open(self.record_path, "a", encoding="utf-8") as out:
                out.write(json.dumps({"seq": self.seq, **entry}) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--record", required=True)
    parser.add_argument("--account", required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    server = Server(args.record, args.account, args.token)
    with open(args.port_file + ".tmp", "w", encoding="utf-8") as out:
        out.write(f"{server.server_address[1]}\n")
    # Renamed into place, so that a reader never sees half a port.
    os.replace(args.port_file + ".tmp", args.port_file)
    print(f"cf_api.py: listening on http://127.0.0.1:{server.server_address[1]}{PREFIX}", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
