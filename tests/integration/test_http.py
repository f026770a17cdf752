"""The HTTP front door at the byte level (issues 12 and 15): every request
gets one complete answer in the WebAPI error shape, smuggling and malformed
framing are refused, ASP.NET's URL forms route, CORS and cross-site checks,
the per-address connection limit and the request-head deadline, and the
listener that refuses a busy port. Requests are sent as exact bytes over
Python sockets, so nothing between the test and the shim fixes them up."""
import base64
import json
import re
import socket
import subprocess
import time

import pytest

from conftest import BASE, BUILD, Cluster, Proc, free_port, wait_for

SHIM = str(BUILD / "shim/erpsync-shim")
ORIGIN = "https://app.example"
EVIL = "https://evil.example"
# Lowered for the attack test; a legitimate client stays far below them.
PER_ADDRESS = 40
HEAD_MS = 1500


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("http"))
    c.start_broker()
    c.start_agent()
    c.start_shim(f"--cors.origins={ORIGIN}",
                 f"--http.connection.per.address.limit={PER_ADDRESS}",
                 f"--http.head.timeout.ms={HEAD_MS}", "--auth.failures.max=0")
    wait_for(lambda: c.statuses(), 15, "first status from the agent")
    try:
        yield c
    finally:
        c.stop()


def basic(c, user=None, password=None):
    cred = f"{user or c.user}:{password or c.password}".encode()
    return "Basic " + base64.b64encode(cred).decode()


def connect(port, src="127.0.0.1", timeout=10):
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def read_all(s, limit=10):
    """Everything the server sends until it closes (or `limit` seconds)."""
    out, end = b"", time.monotonic() + limit
    while time.monotonic() < end:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            out += b"<RST>"
            break
        if not chunk:
            break
        out += chunk
    return out


def exchange(port, data, src="127.0.0.1", limit=5, shut=False):
    """Sends exact bytes, returns every byte the server answers."""
    s = connect(port, src)
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        s.settimeout(limit)
        return read_all(s, limit)
    finally:
        s.close()


class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        return json.loads(self.body)


def parse(data):
    """The answers in a byte stream, in order (Content-Length framed)."""
    out = []
    while data.startswith(b"HTTP/"):
        head, _, rest = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        hdrs = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            hdrs.setdefault(k.strip().lower(), v.strip())
        n = int(hdrs.get("content-length", "0"))
        if status == 100:
            n = 0
        out.append(Reply(status, hdrs, rest[:n]))
        data = rest[n:]
    return out


def request(method, path, headers=(), body=b"", version="HTTP/1.1",
            host=True):
    lines = [f"{method} {path} {version}"]
    if host:
        lines.append("Host: 127.0.0.1")
    lines += list(headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def assert_webapi_error(r, status):
    assert r.status == status, (r.status, r.body[:300])
    assert r.header("content-type").startswith("application/json"), r.headers
    e = r.json()
    assert e["Error"] is True and e["ErrorSource"] == "erpsync-shim", e
    assert e["ErrorType"] and e["ErrorMessage"], e


# ---- 12.4: a busy port ----

def test_busy_port_fails_at_start(front, tmp_path):
    """A second shim on a port another shim holds exits 3 with a message
    naming the port, instead of sharing it and answering half the calls."""
    c = front
    p = Proc("second", [SHIM, f"--bootstrap.servers={c.bootstrap}",
                        f"--users.file={c.tmp / 'users'}",
                        f"--tenants.file={c.tmp / 'tenants'}",
                        f"--listen.port={c.http_port}", *c.topic_args()],
             tmp_path)
    try:
        rc = p.p.wait(15)
    finally:
        p.stop()
    log = (tmp_path / "second.log").read_text()
    assert rc == 3, log
    assert f":{c.http_port}" in log and "listen.reuseport" in log, log


def test_sharing_a_port_is_explicit(front, tmp_path):
    """With listen.reuseport=true on both, two shims share a port."""
    c = front
    port = free_port()
    args = [f"--bootstrap.servers={c.bootstrap}",
            f"--users.file={c.tmp / 'users'}",
            f"--tenants.file={c.tmp / 'tenants'}", f"--listen.port={port}",
            "--listen.reuseport=true", *c.topic_args()]
    a = Proc("share-a", [SHIM, *args], tmp_path)
    b = Proc("share-b", [SHIM, *args], tmp_path)
    try:
        time.sleep(3)
        assert a.alive() and b.alive()
        wait_for(lambda: parse(exchange(port, request("GET", "/healthz"),
                                        shut=True))[0].status == 200, 15,
                 "a shared port answers")
    finally:
        assert a.stop() == 0 and b.stop() == 0
