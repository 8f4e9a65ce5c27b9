"""Checks of scripts/deploy-test.sh that are easier in Python (standard library only).

    checks.py bundle ZIP                  the Elastic Beanstalk bundle, read from the zip
    checks.py free-port                   a free TCP port on 127.0.0.1
    checks.py wait-port PORT SECONDS      until 127.0.0.1:PORT accepts connections
    checks.py health URL NAME VERSION     GET URL (waiting up to 30 s): 200, with that name and version

Each prints what it found and exits 1 with the reason when a check fails. The bundle check is
written apart from deploy.sh's own (which uses unzip and od), so that one catches the other.
"""

import json
import socket
import stat
import struct
import sys
import time
import urllib.error
import urllib.request
import zipfile

BINARY = "mock-rest-api"
PT_INTERP = 3
EM_X86_64 = 62


def fail(message):
    print(f"checks.py: {message}", file=sys.stderr)
    sys.exit(1)


def check_elf(data):
    """A static x86-64 ELF executable: the reason it is not, else None."""
    if data[:4] != b"\x7fELF":
        return "not an ELF file"
    if data[4] != 2 or data[5] != 1:
        return "not a 64-bit little-endian ELF file"
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    if e_type not in (2, 3):
        return f"not an executable (e_type {e_type})"
    if e_machine != EM_X86_64:
        return f"built for machine {e_machine}, not x86-64 ({EM_X86_64})"
    (e_phoff,) = struct.unpack_from("<Q", data, 32)
    e_phentsize, e_phnum = struct.unpack_from("<HH", data, 54)
    if e_phnum == 0:
        return "no program headers"
    for i in range(e_phnum):
        (p_type,) = struct.unpack_from("<I", data, e_phoff + i * e_phentsize)
        if p_type == PT_INTERP:
            return "it names a program interpreter: dynamically linked"
    return None


def bundle(path):
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        names = [info.filename for info in infos]
        for name in names:
            if name.startswith("/") or ".." in name.split("/") or "\\" in name:
                fail(f"unsafe entry name {name!r}")
        if "Procfile" not in names or BINARY not in names:
            fail(f"Procfile and {BINARY} must be at the root of the zip; its entries: {names}")
        for info in infos:
            mode = info.external_attr >> 16
            if info.create_system != 3 or mode == 0:
                fail(f"{info.filename}: no Unix mode in the zip (external_attr {info.external_attr:#x})")
            if stat.S_ISLNK(mode):
                fail(f"{info.filename} is a symbolic link")
            want = 0o755 if info.filename == BINARY else 0o644
            if stat.S_IMODE(mode) != want or not stat.S_ISREG(mode):
                fail(f"{info.filename}: mode {stat.filemode(mode)}, not {stat.filemode(stat.S_IFREG | want)}")
        procfile = archive.read("Procfile").decode("utf-8")
        processes = {}
        for line in procfile.splitlines():
            if not line.strip():
                continue
            name, sep, command = line.partition(":")
            if not sep or not name.replace("_", "").replace("-", "").isalnum() or not command.strip():
                fail(f"Procfile line {line!r} is not 'name: command'")
            if name in processes:
                fail(f"Procfile names {name} twice")
            processes[name] = command.strip()
        if processes.get("web") != f"./{BINARY}":
            fail(f"the Procfile's web process is {processes.get('web')!r}, not './{BINARY}'")
        reason = check_elf(archive.read(BINARY))
        if reason:
            fail(f"{BINARY}: {reason}")
    for info in infos:
        print(f"  {stat.filemode(info.external_attr >> 16)}  {info.filename}")
    print(f"  Procfile: web: ./{BINARY}; {BINARY}: static x86-64 ELF executable")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def wait_port(port, seconds):
    deadline = time.monotonic() + float(seconds)
    while True:
        try:
            socket.create_connection(("127.0.0.1", int(port)), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                fail(f"nothing listens on 127.0.0.1:{port} after {seconds} s")
            time.sleep(0.1)


def health(url, name, version):
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                status, body = response.status, response.read()
            break
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
            break
        except OSError:
            if time.monotonic() > deadline:
                fail(f"{url} did not answer within 30 s")
            time.sleep(0.1)
    if status != 200:
        fail(f"{url}: status {status}, not 200: {body[:200]!r}")
    answer = json.loads(body)
    if answer.get("name") != name or answer.get("version") != version:
        fail(f"{url}: name {answer.get('name')!r}, version {answer.get('version')!r}; "
             f"expected {name!r}, {version!r}")
    if answer.get("status") != "pass":
        fail(f"{url}: status {answer.get('status')!r}, not 'pass'")
    print(f"  {url}: 200, name {name!r}, version {version!r}")


if __name__ == "__main__":
    commands = {"bundle": bundle, "free-port": free_port, "wait-port": wait_port, "health": health}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        fail(f"usage: checks.py {' | '.join(commands)} ARGS...")
    commands[sys.argv[1]](*sys.argv[2:])
