"""docs/openapi.yaml against the running shim.

The document is checked twice: as OpenAPI 3.1 (openapi-spec-validator, and
every JSON example against its own schema), and against real answers. For
the second, the requests come from the document itself - every example of
every request media type, and every example of every parameter - plus the
table below of requests that must fail with each documented error code.
Each request goes over real HTTP to a shim of the Web cluster of
test_webapi (every auth scheme on) and each answer must be documented: its
status is listed for the operation, its Content-Type is a media type listed
for that status, its body validates against that media type's schema (JSON
with jsonschema 2020-12 resolving $ref into the document; XML turned into
the same tree first), every required header is there, and every header it
carries that is not plain HTTP is documented for it. Finally every status
code the document lists for an operation must have been produced by at
least one request, so the document cannot list codes nobody has seen.

Three shims serve the requests: the Web cluster's own; a "guard" shim
(restricted mode, one failed login allowed) for SO-AppToken and 429; and an
"outage" shim on a broker of its own with no agent, for 503 (no status yet),
504 (1 s deadline, nobody answers) and - after that broker is killed - the
503 and /readyz answers of a Kafka outage. Requests run once, in that order,
in a module fixture; each one is then a test case of its own.
"""
import base64
import dataclasses
import http.client
import json
import re
import signal
import time
import urllib.parse
import xml.etree.ElementTree as ET

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from conftest import BASE, BUILD, SRC, Proc, free_port, wait_for
from test_webapi import SHIM, Web, issue_ticket

DOC_PATH = SRC / "docs/openapi.yaml"
DOC = yaml.safe_load(DOC_PATH.read_text())
URN = "urn:erpsync:openapi"
REGISTRY = Registry().with_resource(URN, DRAFT202012.create_resource(DOC))

FORM = "application/x-www-form-urlencoded"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
# Headers any HTTP answer may carry; every other one must be documented.
PLAIN_HTTP = {"content-type", "content-length", "date", "connection",
              "keep-alive", "transfer-encoding"}
# Parameters whose examples mean nothing alone; the auth and restricted-mode
# requests below use them.
NOT_ALONE = {"SO-AppToken", "X-XSRF-TOKEN", "ERPSYNC_SESSION"}
# operationId -> codes the document lists that no request here produces.
# 503 and 504 come from the outage shim. Add a code only with the reason.
DOCUMENTED_ONLY = {
    # A read's 504: the shim's own consumer would have to stall below the
    # end of the status topic; no request can arrange that from outside.
    "GetEngineStatus": (504,),
}
# Requests whose real answer breaks the contract (PRODUCT.md); strict, so
# the mark must go when the shim is fixed.
# Empty: 414 and 431 come from the shim's own limits (http.url.max.bytes,
# http.headers.max.bytes), under libmicrohttpd's, in the WebAPI shape.
KNOWN_MISMATCHES = {}


# ---- the document ----

def esc(part):
    return str(part).replace("~", "~0").replace("/", "~1")


def node_at(ptr):
    node = DOC
    for part in ptr[2:].split("/") if len(ptr) > 2 else []:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part) if isinstance(node, list) else part]
    return node


def follow(ptr):
    """The object at ptr with $refs followed, and where it really is."""
    node = node_at(ptr)
    while isinstance(node, dict) and "$ref" in node:
        ptr = node["$ref"]
        node = node_at(ptr)
    return node, ptr


def validator(ptr):
    return Draft202012Validator({"$ref": URN + ptr}, registry=REGISTRY)


def schema_errors(ptr, value):
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in validator(ptr).iter_errors(value)]


OPS = {}  # operationId -> (path, method, pointer of the operation)
for _path, _item in DOC["paths"].items():
    for _method, _op in _item.items():
        OPS[_op["operationId"]] = (_path, _method.upper(),
                                   "#/paths/" + esc(_path) + "/" + _method)


def documented_codes(op_id):
    op = node_at(OPS[op_id][2])
    return {int(c) for c in op["responses"] if c.isdigit()}


def base_type(ctype):
    return (ctype or "").split(";")[0].strip().lower()


# ---- the requests ----

@dataclasses.dataclass
class Req:
    id: str
    op: str | None          # operationId; None: a path the document lacks
    expect: int
    body: bytes | None = None
    ctype: str | None = None
    headers: dict = dataclasses.field(default_factory=dict)
    auth: str | None = "alice"
    shim: str = "main"      # main, guard, outage, outage-down
    method: str | None = None
    path: str | None = None
    query: str = ""
    chunked: bool = False


def encode(media, value):
    if isinstance(value, str):
        return value.encode()
    if "json" in media:
        return json.dumps(value).encode()
    if media == FORM:
        return urllib.parse.urlencode(value).encode()
    raise AssertionError(f"cannot send a {type(value).__name__} as {media}")


def examples_of(obj):
    if "example" in obj:
        return {"example": obj["example"]}
    return {name: (follow(ex["$ref"])[0] if "$ref" in ex else ex)["value"]
            for name, ex in (obj.get("examples") or {}).items()}


def document_requests():
    """Every example of every request media type, every parameter example."""
    out = []
    for op_id, (_, _, ptr) in OPS.items():
        op = node_at(ptr)
        ok = min(c for c in documented_codes(op_id) if 200 <= c < 300)
        rb = op.get("requestBody")
        if rb:
            rb, _ = follow(ptr + "/requestBody")
            for media, mt in rb["content"].items():
                exs = examples_of(mt)
                assert exs, f"{op_id}: {media} has no example"
                for name, value in exs.items():
                    out.append(Req(f"example:{op_id}:{media}:{name}", op_id, ok,
                                   encode(media, value), media))
        if op_id != "GetEngineStatus":
            continue
        out.append(Req(f"example:{op_id}:no body", op_id, ok))
        for i in range(len(op.get("parameters", []))):
            p, _ = follow(f"{ptr}/parameters/{i}")
            if p["name"] in NOT_ALONE:
                continue
            for name, value in examples_of(p).items():
                r = Req(f"param:{op_id}:{p['name']}:{name}", op_id, ok)
                if p["in"] == "query":
                    r.query = "?" + urllib.parse.urlencode({p["name"]: value})
                else:
                    r.headers[p["name"]] = value
                out.append(r)
    return out


JSON = "application/json"
CES, GES, CEI = "ChangeEngineStatus", "GetEngineStatus", "ChangeEngineInterval"
RUN = b'{"Run": true}'
IVAL = b'{"Interval": "00:15:00"}'
XML_ACCEPT = {"Accept": "application/xml"}
BIG = b'{"Run": true, "pad": "' + b"x" * 70000 + b'"}'
# Over the shim's limits (16 KiB of headers, 8 KiB of path and query), under
# libmicrohttpd's buffer (their sum + 16 KiB), so the shim answers.
HUGE_HEADER = {"X-Padding": "p" * 20000}
HUGE_QUERY = "?$select=" + ",".join(["IsRunning"] * 1000)


def R(id, op, expect, body=None, ctype=JSON, **kw):
    return Req(id, op, expect, body, ctype if body is not None else None, **kw)


TABLE = [
    # every scheme, role, tenant and a few answer formats
    R("scheme:basic reader", GES, 200, auth="bob"),
    R("scheme:basic other tenant", GES, 200, auth="gina"),
    R("scheme:SOTicket", GES, 200, auth="ticket"),
    R("scheme:Bearer HS256", GES, 200, auth="hs256"),
    R("scheme:Bearer RS256 reader", GES, 200, auth="rs256-reader",
      headers=XML_ACCEPT),
    R("scheme:session cookie", GES, 200, auth="session"),
    R("scheme:session cookie changes", CES, 200, RUN, auth="session"),
    R("scheme:Bearer changes", CEI, 204, IVAL, auth="hs256"),
    R("route:any case", GES, 200, path=BASE.lower() + "getenginestatus"),
    R("charset:utf-16", CEI, 204, '{"Interval": "00:22:00"}'.encode("utf-16"),
      JSON + "; charset=utf-16"),
    R("charset:iso-8859-1", CES, 200, '{"Run": true, "Note": "Caf\xe9"}'
      .encode("latin-1"), JSON + "; charset=iso-8859-1"),
    R("select:change", CES, 200, RUN, query="?$select=FieldProperties/Interval"),
    R("accept:xml change", CES, 200, RUN, headers={"Accept": "text/xml"}),
    R("ops:healthz", "healthz", 200, auth=None),
    R("ops:readyz", "readyz", 200, auth=None),
    R("ops:metrics", "metrics", 200, auth=None),
    # 400
    R("400:json", CES, 400, b'{"Run": tru'),
    R("400:run type", CES, 400, b'{"Run": "maybe"}', headers={"Accept": "text/json"}),
    R("400:xml", CES, 400, b"<a><Run>true</Run>", "application/xml",
      headers=XML_ACCEPT),
    R("400:doctype", CES, 400, b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x '
      b'"true">]><r><Run>&x;</Run></r>', "text/xml"),
    R("400:patch test", CES, 400, b'[{"op": "test", "path": "/Run", "value": true}]',
      "application/json-patch+json"),
    R("400:merge not object", CES, 400, b"[true]", "application/merge-patch+json"),
    R("400:form", CES, 400, b"Run=%zz", FORM),
    R("400:select syntax", CES, 400, RUN, query="?$select=Is-Running"),
    R("400:select unknown, change", CES, 400, RUN, query="?$select=Bogus"),
    R("400:interval bounds", CEI, 400, b'{"Interval": "00:00:10"}'),
    R("400:interval text", CEI, 400, b'{"Interval": "soon"}', headers=XML_ACCEPT),
    R("400:select unknown", GES, 400, query="?$select=Bogus"),
    R("400:zone", GES, 400, headers={"SO-TimeZone": "Mars/Olympus_Mons"}),
    R("400:culture", GES, 400, headers={"SO-Culture": "xx-!!", "Accept": "text/xml"}),
    # 401: at most 10 per minute, or the main shim would answer 429
    R("401:none", GES, 401, auth=None),
    R("401:none, xml", CES, 401, RUN, auth=None, headers={"Accept": "text/xml"}),
    R("401:wrong password", CEI, 401, IVAL, auth="wrong"),
    R("401:unknown ticket", GES, 401, auth="ticket-unknown"),
    R("401:expired token", GES, 401, auth="bearer-expired"),
    R("401:session without XSRF", CES, 401, RUN, auth="session-no-xsrf"),
    # 403
    R("403:reader changes", CES, 403, RUN, auth="bob"),
    R("403:reader interval", CEI, 403, IVAL, auth="bob", headers=XML_ACCEPT),
    R("403:tenant without engine", GES, 403, auth="bearer-initech"),
    # 404, 405, 406
    R("404:unknown call", None, 404, RUN, path=BASE + "Nope", headers=XML_ACCEPT),
    R("404:unknown path", None, 404, method="GET", path="/healthz/", auth=None),
    R("405:" + GES, GES, 405, method="GET"),
    R("405:" + CES, CES, 405, method="GET", headers=XML_ACCEPT),
    R("405:" + CEI, CEI, 405, method="PUT", body=IVAL),
    R("405:healthz", "healthz", 405, method="POST", auth=None),
    R("405:readyz", "readyz", 405, method="POST", auth=None),
    R("405:metrics", "metrics", 405, method="DELETE", auth=None, headers=XML_ACCEPT),
    R("406:" + GES, GES, 406, headers={"Accept": "image/png, text/html;q=0.5"}),
    R("406:" + CES, CES, 406, RUN, headers={"Accept": "image/png"}),
    R("406:" + CEI, CEI, 406, IVAL, headers={"Accept": "application/json;q=0"}),
    # 413, 415, 431
    R("413:Content-Length", CES, 413, BIG),
    R("413:chunked", CEI, 413, BIG, chunked=True),
    R("415:text/plain", CES, 415, RUN, "text/plain"),
    R("415:missing", CEI, 415, IVAL, None),
    R("415:charset", CES, 415, RUN, JSON + "; charset=klingon", headers=XML_ACCEPT),
    # (without a body: the server answers and closes before reading one, and
    # a client still sending it would see a broken pipe instead)
    R("414:" + GES, GES, 414, query=HUGE_QUERY),
    R("414:" + CES, CES, 414, query=HUGE_QUERY),
    R("414:" + CEI, CEI, 414, query=HUGE_QUERY),
    R("431:" + GES, GES, 431, headers=HUGE_HEADER),
    R("431:" + CES, CES, 431, headers=HUGE_HEADER),
    R("431:" + CEI, CEI, 431, headers=HUGE_HEADER),
    # restricted mode, then the failed-login limit (guard shim)
    R("403:restricted, no app token", GES, 403, shim="guard"),
    R("403:restricted, unregistered", CES, 403, RUN, shim="guard",
      headers={"SO-AppToken": "app-unregistered"}),
    R("restricted:registered app token", GES, 200, shim="guard",
      headers={"SO-AppToken": "$APP_TOKEN"}),
    R("401:guard", GES, 401, auth="wrong", shim="guard"),
    R("429:" + GES, GES, 429, shim="guard"),
    R("429:" + CES, CES, 429, RUN, shim="guard", headers=XML_ACCEPT),
    R("429:" + CEI, CEI, 429, IVAL, shim="guard"),
    # no agent (outage shim), then no Kafka
    R("503:no status yet", GES, 503, shim="outage"),
    R("504:" + CES, CES, 504, RUN, shim="outage"),
    R("504:" + CEI, CEI, 504, IVAL, shim="outage", headers=XML_ACCEPT),
    R("503:Kafka down, " + CES, CES, 503, RUN, shim="outage-down"),
    R("503:Kafka down, " + CEI, CEI, 503, IVAL, shim="outage-down"),
    R("503:Kafka down, readyz", "readyz", 503, auth=None, shim="outage-down"),
    R("503:Kafka down, " + GES, GES, 503, shim="outage-down"),
]

REQUESTS = document_requests() + TABLE
PHASES = ("main", "guard", "outage", "outage-down")
assert len({r.id for r in REQUESTS}) == len(REQUESTS), "duplicate request ids"
assert all(r.shim in PHASES for r in REQUESTS)


# ---- sending ----

class Answer:
    def __init__(self, status, headers, body, error=None):
        self.status, self.headers, self.body, self.error = (status, headers,
                                                            body, error)

    def header(self, name):
        return self.headers.get(name.lower(), [None])[0]


def send(port, method, path, body=None, headers=None, chunked=False):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        if chunked:
            conn.request(method, path, body=(body[i:i + 8192] for i in
                                             range(0, len(body), 8192)),
                         headers=headers or {}, encode_chunked=True)
        else:
            conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        hdrs = {}
        for k, v in r.getheaders():
            hdrs.setdefault(k.lower(), []).append(v)
        return Answer(r.status, hdrs, r.read())
    except (ConnectionError, OSError, http.client.HTTPException) as e:
        return Answer(0, {}, b"", repr(e))
    finally:
        conn.close()


class Bench:
    """The Web cluster plus the guard and outage shims, and the credentials
    the requests name."""

    def __init__(self, tmp):
        self.web = Web(tmp)
        self.tmp = tmp
        self.ports = {}

    def start(self):
        # Before the shim starts: a shim sees a new ticket only within a second.
        self.ticket = issue_ticket(self.web, "alice")
        w = self.web.start()
        self.ports["main"] = w.port
        a = send(w.port, "POST", BASE + GES,
                 headers={"Authorization": w.basic("alice")})
        cookies = dict(c.split(";")[0].split("=", 1)
                       for c in a.headers.get("set-cookie", []))
        self.session = cookies.get("ERPSYNC_SESSION", "")
        self.xsrf = cookies.get("XSRF-TOKEN", "")

    def start_guard(self):
        self.ports["guard"] = self.web.extra_shim(
            "oa-guard", *self.web.auth_args, "--auth.restricted=true",
            "--auth.failures.max=1")

    def start_outage(self):
        """A shim on a broker of its own that no agent uses; 2.5 s deadline
        (its producer then has 1.5 s to deliver, enough under ASan too)."""
        c, tmp = self.web.c, self.tmp
        kport, port, pf = free_port(), free_port(), tmp / "oa-broker.port"
        # A devbroker even when the suite runs on Kafka (this one gets
        # killed), with the cluster's topic names (prefixed on Kafka).
        self.outage_broker = c.procs["oa-devbroker"] = Proc("oa-devbroker", [
            str(BUILD / "devbroker/erpsync-devbroker"), f"--port={kport}",
            f"--port.file={pf}", "--topics=" + ",".join(c.topics.values())],
            tmp)
        wait_for(pf.exists, 10, "the outage devbroker")
        c.procs["oa-outage"] = Proc("oa-outage", [
            SHIM, f"--bootstrap.servers=127.0.0.1:{kport}",
            f"--users.file={tmp / 'users'}", f"--tenants.file={tmp / 'tenants'}",
            f"--listen.port={port}", "--request.timeout.ms=2500",
            *[a for a in c.topic_args() if not a.startswith("--topics.")],
            *self.web.auth_args], tmp)
        wait_for(lambda: send(port, "GET", "/readyz").status == 200, 20,
                 "the outage shim /readyz")
        self.ports["outage"] = self.ports["outage-down"] = port

    def break_kafka(self):
        self.outage_broker.stop(signal.SIGKILL)
        port = self.ports["outage"]
        wait_for(lambda: send(port, "GET", "/readyz").status == 503, 15,
                 "the outage shim to see Kafka gone")

    def credentials(self, auth):
        w = self.web
        if auth is None:
            return {}
        if auth in w.pw:
            return {"Authorization": w.basic(auth)}
        bearer = {"hs256": {}, "rs256-reader": {"role": "reader"},
                  "bearer-initech": {"tenant": "initech"},
                  "bearer-expired": {"exp": int(time.time()) - 600}}
        if auth in bearer:
            alg = "RS256" if auth.startswith("rs256") else "HS256"
            return {"Authorization": "Bearer " + w.token(alg, **bearer[auth])}
        return {
            "wrong": {"Authorization": "Basic " +
                      base64.b64encode(b"alice:wrong").decode()},
            "ticket": {"Authorization": "SOTicket " + self.ticket},
            "ticket-unknown": {"Authorization": "SOTicket 7T:" + "A" * 43},
            "session": {"Cookie": f"ERPSYNC_SESSION={self.session}",
                        "X-XSRF-TOKEN": self.xsrf},
            "session-no-xsrf": {"Cookie": f"ERPSYNC_SESSION={self.session}"},
        }[auth]

    def run(self, r):
        path = r.path or (OPS[r.op][0] if r.op else BASE)
        method = r.method or (OPS[r.op][1] if r.op else "POST")
        hdrs = self.credentials(r.auth)
        if r.ctype:
            hdrs["Content-Type"] = r.ctype
        for k, v in r.headers.items():
            hdrs[k] = self.web.app_token if v == "$APP_TOKEN" else v
        return send(self.ports[r.shim], method, path + r.query, r.body, hdrs,
                    r.chunked)


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    t0 = time.monotonic()
    bench = Bench(tmp_path_factory.mktemp("openapi"))
    got = {}
    try:
        bench.start()
        for phase in PHASES:
            if phase == "guard":
                bench.start_guard()
            elif phase == "outage":
                bench.start_outage()
            elif phase == "outage-down":
                bench.break_kafka()
            for r in REQUESTS:
                if r.shim == phase:
                    got[r.id] = bench.run(r)
        got["__seconds__"] = time.monotonic() - t0
        yield got
    finally:
        bench.web.c.stop()


# ---- checking an answer ----

def xml_tree(el):
    """An XML answer as the JSON it mirrors: nil -> None, children -> object,
    "true"/"false" -> booleans, digits -> integers, else text."""
    if el.get(XSI_NIL) == "true":
        return None
    if len(el):
        return {child.tag: xml_tree(child) for child in el}
    text = el.text or ""
    if text in ("true", "false"):
        return text == "true"
    return int(text) if re.fullmatch(r"\d+", text) else text


def check(r, a):
    """What is wrong with answer a to request r, by the document."""
    if r.op:
        op_ptr = OPS[r.op][2]
        codes = {c for c in node_at(op_ptr)["responses"] if c.isdigit()}
        if str(a.status) not in codes:
            return [f"status {a.status} is not documented for {r.op} "
                    f"({sorted(codes)}); body {a.body[:300]!r} {a.error or ''}"]
        resp, rptr = follow(f"{op_ptr}/responses/{a.status}")
    else:
        resp, rptr = follow("#/components/responses/NotFound")
        if a.status != 404:
            return [f"status {a.status} for a path the document lacks"]
    bad = []
    if a.status != r.expect:
        bad.append(f"status {a.status}, the request was meant to get {r.expect}; "
                   f"body {a.body[:300]!r}")

    # headers: the required ones, each value by its schema, none undocumented
    documented = {}
    for name in resp.get("headers", {}):
        h, hptr = follow(f"{rptr}/headers/{esc(name)}")
        documented[name.lower()] = (h, hptr)
        if h.get("required") and name.lower() not in a.headers:
            bad.append(f"required header {name} is missing")
    for name, values in a.headers.items():
        if name in PLAIN_HTTP:
            continue
        if name not in documented:
            bad.append(f"header {name}: {values} is not documented for "
                       f"{r.op} {a.status}")
            continue
        for v in values:
            bad += [f"header {name}: {e}" for e in
                    schema_errors(documented[name][1] + "/schema", v)]

    # body
    content = resp.get("content")
    if not content:
        if a.body:
            bad.append(f"{a.status} documents no body, got {a.body[:200]!r}")
        return bad
    ctype = a.header("content-type")
    media = {base_type(m): m for m in content}
    got = base_type(ctype)
    if got not in media:
        return bad + [f"Content-Type {ctype} is not one of {sorted(media)}"]
    sptr = f"{rptr}/content/{esc(media[got])}/schema"
    if got in ("application/json", "text/json", "application/xml", "text/xml"):
        if "charset=utf-8" not in ctype.lower().replace(" ", ""):
            bad.append(f"Content-Type {ctype} does not say charset=utf-8")
    if "json" in got:
        try:
            value = json.loads(a.body)
        except ValueError as e:
            return bad + [f"not JSON ({e}): {a.body[:200]!r}"]
    elif "xml" in got:
        try:
            root = ET.fromstring(a.body)
        except ET.ParseError as e:
            return bad + [f"not XML ({e}): {a.body[:200]!r}"]
        schema, _ = follow(sptr)
        want = schema.get("xml", {}).get("name")
        if root.tag != want:
            bad.append(f"XML root <{root.tag}>, the document says <{want}>")
        value = xml_tree(root)
    else:
        value = a.body.decode("utf-8", "replace")
    bad += [f"body {e}" for e in schema_errors(sptr, value)]
    return bad


def case(r):
    marks = ()
    if r.id in KNOWN_MISMATCHES:
        marks = pytest.mark.xfail(strict=True, reason=KNOWN_MISMATCHES[r.id])
    return pytest.param(r, id=r.id, marks=marks)


# ---- the tests ----

def test_document_is_valid_openapi_3_1():
    from openapi_spec_validator import validate
    validate(DOC)
    assert DOC["openapi"] == "3.1.0"


def test_document_examples_match_their_schemas():
    """Every JSON example of a body, and every parameter example, validates
    against the schema beside it."""
    checked, bad = 0, []

    def media_examples(ptr, content):
        nonlocal checked
        for media, mt in content.items():
            if "json" not in media or "schema" not in mt:
                continue
            mptr = f"{ptr}/content/{esc(media)}"
            for name, value in examples_of(mt).items():
                checked += 1
                bad.extend(f"{mptr} {name}: {e}"
                           for e in schema_errors(mptr + "/schema", value))

    for op_id, (_, _, ptr) in OPS.items():
        op = node_at(ptr)
        if "requestBody" in op:
            rb, rbptr = follow(ptr + "/requestBody")
            media_examples(rbptr, rb["content"])
        for code in op["responses"]:
            resp, rptr = follow(f"{ptr}/responses/{code}")
            media_examples(rptr, resp.get("content", {}))
        for i in range(len(op.get("parameters", []))):
            p, pptr = follow(f"{ptr}/parameters/{i}")
            for name, value in examples_of(p).items():
                checked += 1
                bad.extend(f"{pptr} {name}: {e}"
                           for e in schema_errors(pptr + "/schema", value))
    assert checked > 20
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("req", [case(r) for r in REQUESTS])
def test_answer_is_documented(answers, req):
    a = answers[req.id]
    problems = check(req, a)
    assert not problems, f"{req.id}:\n  " + "\n  ".join(problems)


def test_every_documented_code_is_produced(answers):
    seen = {}
    for r in REQUESTS:
        seen.setdefault(r.op, set()).add(answers[r.id].status)
    missing = {op: sorted(documented_codes(op) - seen.get(op, set())
                          - set(DOCUMENTED_ONLY.get(op, ())))
               for op in OPS}
    missing = {op: codes for op, codes in missing.items() if codes}
    validated = sum(1 for r in REQUESTS if not check(r, answers[r.id]))
    print(f"\nopenapi: {len(REQUESTS)} requests sent, {validated} answers "
          f"matched the document, {answers['__seconds__']:.1f} s")
    assert not missing, f"documented but never produced: {missing}"
