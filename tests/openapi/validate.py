"""Validates the live /openapi.json of the mock-rest-api binary.

Starts the binary on a free port of 127.0.0.1, fetches /openapi.json, checks it
with openapi-spec-validator (OpenAPI 3.1), then checks that the document and
the server agree: for every path of the document, OPTIONS on a concrete path
answers an Allow header that lists exactly the document's methods. Stops the
server by the PID it started.

Usage: validate.py PATH_TO_BINARY
"""

import json
import re
import subprocess
import sys
import threading
import urllib.request

from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

METHODS = ["get", "head", "post", "put", "patch", "delete", "options"]


def start(binary):
    server = subprocess.Popen(
        [binary, "--host", "127.0.0.1", "--port", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    found = {}
    ready = threading.Event()

    def read_log():
        for line in server.stderr:
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if match and "base" not in found:
                found["base"] = match.group(1)
                ready.set()

    threading.Thread(target=read_log, daemon=True).start()
    if not ready.wait(30):
        server.kill()
        sys.exit("the server did not report listening within 30 s")
    return server, found["base"]


def request(method, url):
    req = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(req, timeout=10) as response:
        return response.status, response.headers, response.read()


def main():
    binary = sys.argv[1]
    server, base = start(binary)
    try:
        status, headers, body = request("GET", base + "/openapi.json")
        assert status == 200, status
        document = json.loads(body)
        try:
            validate(document)
        except OpenAPIValidationError as error:
            sys.exit(f"/openapi.json is not valid OpenAPI: {error}")
        print(f"/openapi.json is valid OpenAPI {document['openapi']}")

        operation_ids = []
        for template, item in document["paths"].items():
            concrete = (
                template.replace("{resource}", "people").replace("{id}", "some-id").replace("{children}", "comments")
            )
            _, headers, _ = request("OPTIONS", base + concrete)
            allowed = [m.strip().lower() for m in headers["Allow"].split(",")]
            documented = [m for m in METHODS if m in item]
            if allowed != documented:
                sys.exit(f"{template}: the server allows {allowed}, the document lists {documented}")
            operation_ids += [item[m]["operationId"] for m in documented]
        if len(set(operation_ids)) != len(operation_ids):
            sys.exit(f"operationIds repeat: {operation_ids}")
        print(f"{len(document['paths'])} paths and {len(operation_ids)} operations agree with the server's Allow headers")
    finally:
        server.kill()
        server.wait()


if __name__ == "__main__":
    main()
