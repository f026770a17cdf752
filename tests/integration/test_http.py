"""The HTTP front door at the byte level (issues 12 and 15): every request
gets one complete answer in the WebAPI error shape, smuggling and malformed
framing are refused, ASP.NET's URL forms route, CORS and cross-site checks,
the per-address connection limit and the request-head deadline, and the
listener that refuses a busy port. Requests are sent as exact bytes over
Python sockets, so nothing between the test and the shim fixes them up."""
import base64
import resource
import json
import re
import socket
import subprocess
import threading
import time

import pytest

from conftest import BASE, BUILD, Cluster, Proc, free_port, wait_for

SHIM = str(BUILD / "shim/erpsync-shim")
ORIGIN = "https://app.example"
EVIL = "https://evil.example"
# Lowered for the attack test; a legitimate client stays far below them.
PER_ADDRESS = 40
HEAD_MS = 1500
# Lowered too (an existing setting), so a bounded attack fills the server the
# way 4,200 connections fill the default 4,096.
CONN_LIMIT = 150
ATTACKERS = 200


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("http"))
    try:  # a shim that fails to start still has its broker and agent stopped
        c.start_broker()
        c.start_agent()
        c.start_shim(f"--cors.origins={ORIGIN}",
                     f"--http.connection.per.address.limit={PER_ADDRESS}",
                     f"--http.head.timeout.ms={HEAD_MS}", "--auth.failures.max=0",
                     f"--http.connection.limit={CONN_LIMIT}")
        wait_for(lambda: c.statuses(), 15, "first status from the agent")
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


def complete(data, n):
    """Whether data holds n whole answers (Content-Length framed)."""
    for _ in range(n):
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            return False
        m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        size = int(m.group(1)) if m else 0
        if len(rest) < size:
            return False
        data = rest[size:]
    return True


def read_all(s, limit=10, replies=None):
    """Everything the server sends until it closes (or `limit` seconds, or
    `replies` whole answers)."""
    out, end = b"", time.monotonic() + limit
    while time.monotonic() < end and not (replies and complete(out, replies)):
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


def exchange(port, data, src="127.0.0.1", limit=5, shut=False, replies=None):
    """Sends exact bytes, returns every byte the server answers."""
    s = connect(port, src)
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        s.settimeout(limit)
        return read_all(s, limit, replies)
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


# ---- 15.4, 15.3, 15.9: targets and framing refused with one clean 400 ----

def commands_sent(c):
    return len(c.consume("commands"))


def test_nul_in_the_path_is_refused(front):
    """%00 no longer cuts the path: ChangeEngineStatus%00.gif is refused and
    nothing goes to Kafka."""
    c = front
    before = commands_sent(c)
    body = b'{"Run": false}'
    for target in (BASE + "ChangeEngineStatus%00.gif", BASE + "ChangeEngineStatus%00"):
        got = parse(exchange(c.http_port, request("POST", target, [
            "Authorization: " + basic(c), "Content-Type: application/json",
            f"Content-Length: {len(body)}"], body), replies=1))
        assert len(got) == 1, got
        assert_webapi_error(got[0], 400)
    assert commands_sent(c) == before


SMUGGLED = request("GET", "/healthz")


@pytest.mark.parametrize("name,headers,body", [
    ("two Content-Length", ["Content-Length: 0",
                            f"Content-Length: {len(SMUGGLED)}"], SMUGGLED),
    ("space before colon", ["Transfer-Encoding : chunked"],
     f"{len(SMUGGLED):x}\r\n".encode() + SMUGGLED + b"\r\n0\r\n\r\n"),
    ("Content-Length and chunked", ["Content-Length: 5",
                                    "Transfer-Encoding: chunked"],
     b"0\r\n\r\n" + SMUGGLED),
    ("Transfer-Encoding not chunked", ["Transfer-Encoding: gzip, chunked"],
     b"0\r\n\r\n" + SMUGGLED),
], ids=lambda v: v if isinstance(v, str) else "")
def test_smuggling_is_refused_and_closed(front, name, headers, body):
    """One 400 in the WebAPI shape, Connection: close, and no answer to the
    hidden second request (RFC 9112 6.3)."""
    c = front
    data = exchange(c.http_port, request("POST", BASE + "GetEngineStatus", [
        "Authorization: " + basic(c), *headers], body), limit=3)
    got = parse(data)
    assert len(got) == 1, data
    assert_webapi_error(got[0], 400)
    assert got[0].header("connection") == "close"


def test_http11_without_host_is_refused(front):
    c = front
    got = parse(exchange(c.http_port, request("GET", "/healthz", host=False),
                         limit=3))
    assert len(got) == 1
    assert_webapi_error(got[0], 400)
    assert "Host" in got[0].json()["ErrorMessage"]
    # HTTP/1.0 has no Host to require
    got = parse(exchange(c.http_port, request("GET", "/healthz", host=False,
                                              version="HTTP/1.0"), shut=True))
    assert got[0].status == 200


# ---- 12.1, 12.2: answers decided by the headers ----

BIG = b'{"Run": false, "pad": "' + b"x" * 100000 + b'"}'


@pytest.mark.parametrize("want,method,headers", [
    (401, "POST", ["Content-Type: application/json"]),
    (405, "PUT", ["AUTH", "Content-Type: application/json"]),
    (415, "POST", ["AUTH", "Content-Type: text/plain"]),
    (413, "POST", ["AUTH", "Content-Type: application/json"]),
])
def test_big_body_still_gets_its_answer(front, want, method, headers):
    """A body over 64 KiB behind an answer decided by the headers: the whole
    answer arrives (no reset, no empty reply) and the connection serves the
    next request."""
    c = front
    hdrs = ["Authorization: " + basic(c) if h == "AUTH" else h for h in headers]
    s = connect(c.http_port)
    try:
        s.sendall(request(method, BASE + "ChangeEngineStatus",
                          hdrs + [f"Content-Length: {len(BIG)}"], BIG))
        s.sendall(request("GET", "/healthz"))
        data = read_all(s, 3, replies=2)
    finally:
        s.close()
    got = parse(data)
    assert [r.status for r in got] == [want, 200], data[:400]
    assert_webapi_error(got[0], want)


@pytest.mark.parametrize("want,headers", [
    (401, ["Content-Type: application/json"]),
    (415, ["AUTH", "Content-Type: text/plain"]),
    (413, ["AUTH", "Content-Type: application/json"]),
])
def test_expect_100_gets_the_final_answer(front, want, headers):
    """Expect: 100-continue with an answer known from the headers: that
    answer, not 100 Continue (RFC 9110 10.1.1); no body was sent."""
    c = front
    hdrs = ["Authorization: " + basic(c) if h == "AUTH" else h for h in headers]
    data = exchange(c.http_port, request("POST", BASE + "ChangeEngineStatus", hdrs + [
        f"Content-Length: {len(BIG)}", "Expect: 100-continue"]), limit=3)
    assert not data.startswith(b"HTTP/1.1 100"), data[:200]
    got = parse(data)
    assert len(got) == 1, data
    assert_webapi_error(got[0], want)


def test_expect_100_continues_when_the_call_may_go_on(front):
    c = front
    body = b'{"Run": true}'
    s = connect(c.http_port)
    try:
        s.sendall(request("POST", BASE + "ChangeEngineStatus", [
            "Authorization: " + basic(c), "Content-Type: application/json",
            f"Content-Length: {len(body)}", "Expect: 100-continue"]))
        assert s.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        s.sendall(body)
        s.settimeout(10)
        data = b""
        while b"}}}" not in data:
            chunk = s.recv(65536)
            assert chunk, data
            data += chunk
    finally:
        s.close()
    assert parse(data)[0].status == 200


# ---- 12.9: ASP.NET's URL forms ----

@pytest.mark.parametrize("target", [
    BASE + "GetEngineStatus/",
    "/api//v1/Agents//ErpSync/GetEngineStatus",
    "//api/v1/Agents/ErpSync//GetEngineStatus//",
    "http://127.0.0.1/api/v1/Agents/ErpSync/GetEngineStatus",
])
def test_aspnet_url_forms_route(front, target):
    c = front
    got = parse(exchange(c.http_port, request("POST", target, [
        "Authorization: " + basic(c), "Content-Length: 0"]), replies=1))
    assert got and got[0].status == 200, got and got[0].body
    assert "IsRunning" in got[0].json()


# ---- 12.10, 15.2: CORS and cross-site changes ----

def preflight(c, origin, method="POST", headers="authorization, content-type"):
    hdrs = [f"Origin: {origin}", f"Access-Control-Request-Method: {method}"]
    if headers:
        hdrs.append(f"Access-Control-Request-Headers: {headers}")
    return parse(exchange(c.http_port, request(
        "OPTIONS", BASE + "ChangeEngineStatus", hdrs), replies=1))[0]


def test_preflight_from_an_allowed_origin(front):
    r = preflight(front, ORIGIN)
    assert r.status == 204, r.body
    assert r.header("access-control-allow-origin") == ORIGIN
    assert r.header("access-control-allow-credentials") == "true"
    assert r.header("access-control-allow-methods") == "POST"
    allowed = r.header("access-control-allow-headers").lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert r.header("content-type") is None and r.body == b""


@pytest.mark.parametrize("origin,method,headers", [
    (EVIL, "POST", "authorization"),
    ("null", "POST", None),
    (ORIGIN, "DELETE", None),
    (ORIGIN, "POST", "x-evil"),
])
def test_preflight_refused(front, origin, method, headers):
    r = preflight(front, origin, method, headers)
    assert_webapi_error(r, 403)
    if origin != ORIGIN:  # an allowed page may read why it was refused
        assert r.header("access-control-allow-origin") is None


def test_options_that_is_no_preflight_is_405(front):
    """OPTIONS without Origin and Access-Control-Request-Method, or on a
    path that is not a WebAPI call, is not a preflight."""
    c = front
    for target, hdrs in ((BASE + "GetEngineStatus", []),
                         ("/healthz", [f"Origin: {ORIGIN}",
                                       "Access-Control-Request-Method: GET"])):
        r = parse(exchange(c.http_port, request("OPTIONS", target, hdrs),
                           replies=1))[0]
        assert_webapi_error(r, 405)
        assert r.header("allow") in ("POST", "GET")


def test_allowed_origin_reads_answers(front):
    c = front
    got = parse(exchange(c.http_port, request("POST", BASE + "GetEngineStatus", [
        f"Origin: {ORIGIN}", "Content-Length: 0"]), shut=True))[0]
    assert got.status == 401  # errors too: the page must see the challenge
    assert got.header("access-control-allow-origin") == ORIGIN
    assert "WWW-Authenticate" in got.header("access-control-expose-headers")


def form_post(c, extra):
    body = b"Run=false"
    return parse(exchange(c.http_port, request("POST", BASE + "ChangeEngineStatus", [
        "Authorization: " + basic(c),
        "Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {len(body)}", *extra], body), limit=8, replies=1))[0]


@pytest.mark.parametrize("extra", [
    [f"Origin: {EVIL}"],
    ["Origin: null"],
    ["Sec-Fetch-Site: cross-site"],
    [f"Origin: {EVIL}", "Sec-Fetch-Site: same-origin"],
], ids=["evil origin", "null origin", "sec-fetch cross-site", "lying fetch site"])
def test_cross_site_form_post_is_refused(front, extra):
    """The remembered-Basic form POST from another site: 403, nothing sent
    to Kafka, the engine untouched."""
    c = front
    before = commands_sent(c)
    r = form_post(c, extra)
    assert_webapi_error(r, 403)
    assert commands_sent(c) == before


def test_allowed_and_same_origin_changes_go_through(front):
    c = front
    for extra in ([f"Origin: {ORIGIN}"], ["Origin: http://127.0.0.1"],
                  ["Sec-Fetch-Site: same-origin"], []):
        r = form_post(c, extra)
        assert r.status == 200, (extra, r.body)
        assert r.json()["IsRunning"] is False


def test_interval_204_has_no_content_type(front):
    c = front
    body = b'{"Interval": "00:20:00"}'
    r = parse(exchange(c.http_port, request("POST", BASE + "ChangeEngineInterval", [
        "Authorization: " + basic(c), "Content-Type: application/json",
        f"Content-Length: {len(body)}"], body), limit=8, replies=1))[0]
    assert r.status == 204 and r.body == b""
    assert r.header("content-type") is None, r.headers


# ---- 15.1: slowloris ----

def trickle(socks, stop, period=0.4):
    """Each socket sends a request line, then a header line every period,
    never the end of the head."""
    for s in socks:
        try:
            s.sendall(b"POST " + BASE.encode() + b"GetEngineStatus HTTP/1.1\r\n"
                      b"Host: 127.0.0.1\r\n")
        except OSError:
            pass
    while not stop.wait(period):
        for s in socks:
            try:
                s.sendall(b"X-Slow: a\r\n")
            except OSError:
                pass


def still_open(s):
    """False once the server closed (or reset) the connection."""
    s.setblocking(False)
    try:
        return s.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        s.setblocking(True)


def timed_call(c, src):
    t0 = time.monotonic()
    got = parse(exchange(c.http_port, request("POST", BASE + "GetEngineStatus", [
        "Authorization: " + basic(c), "Content-Length: 0"]), src=src, limit=10,
        replies=1))
    return (got[0].status if got else 0), time.monotonic() - t0


def test_slowloris_from_one_address_leaves_others_served(front):
    """ATTACKERS slow connections from 127.0.0.1 (more than the server's
    connection limit): the per-address limit keeps most of them out, the
    head deadline closes the rest, and a client on 127.0.0.2 is served
    throughout."""
    c = front
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < ATTACKERS + 100:
        pytest.skip(f"ulimit -n {soft} is too small for {ATTACKERS} sockets")
    socks, stop = [], threading.Event()
    try:
        for _ in range(ATTACKERS):
            try:
                socks.append(connect(c.http_port, "127.0.0.1", timeout=2))
            except OSError:
                pass
        t = threading.Thread(target=trickle, args=(socks, stop), daemon=True)
        t.start()
        time.sleep(0.5)
        for _ in range(4):
            status, took = timed_call(c, "127.0.0.2")
            assert status == 200 and took < 3, (status, took)
            time.sleep(0.5)
        # the head deadline: nothing of the attack is left after it
        time.sleep(HEAD_MS / 1000 + 1)
        assert sum(still_open(s) for s in socks) == 0
    finally:
        stop.set()
        for s in socks:
            s.close()


def test_head_deadline_closes_a_trickling_head(front):
    """Every byte resets the idle timeout; the head deadline does not."""
    c = front
    s = connect(c.http_port, "127.0.0.3")
    stop = threading.Event()
    t0 = time.monotonic()
    try:
        t = threading.Thread(target=trickle, args=([s], stop, 0.2), daemon=True)
        t.start()
        s.settimeout(HEAD_MS / 1000 + 3)
        data = read_all(s, HEAD_MS / 1000 + 3)
        took = time.monotonic() - t0
    finally:
        stop.set()
        s.close()
    assert data in (b"", b"<RST>"), data[:200]
    assert HEAD_MS / 1000 - 0.3 < took < HEAD_MS / 1000 + 1.5, took
    metrics = parse(exchange(c.http_port, request("GET", "/metrics"),
                             replies=1))[0].body.decode()
    late = re.search(r"^erpsync_shim_http_heads_late_total (\d+)$", metrics, re.M)
    assert late and int(late.group(1)) >= 1, metrics[-500:]


def test_per_address_limit(front):
    """PER_ADDRESS connections from one address are served; the next is
    closed at once; another address is not affected."""
    c = front
    socks = []
    try:
        for _ in range(PER_ADDRESS):
            socks.append(connect(c.http_port, "127.0.0.4"))
        time.sleep(0.3)
        extra = connect(c.http_port, "127.0.0.4")
        extra.sendall(request("GET", "/healthz"))
        assert read_all(extra, 3) in (b"", b"<RST>")
        extra.close()
        got = parse(exchange(c.http_port, request("GET", "/healthz"),
                             src="127.0.0.5", replies=1))
        assert got[0].status == 200
        socks[0].sendall(request("GET", "/healthz"))
        assert parse(read_all(socks[0], 3, replies=1))[0].status == 200
    finally:
        for s in socks:
            s.close()
