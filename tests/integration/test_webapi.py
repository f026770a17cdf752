"""The whole WebAPI contract over real HTTP: content types, Accept, $select,
languages, every authentication scheme, tenants, rights, restricted mode and
the failed-login limit (issue 6). One cluster with two engines (tenants acme
and globex), and a shim per setting that needs one of its own."""
import base64
import http.client
import json
import os
import re
import subprocess
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conftest import BASE, BUILD, Cluster, Proc, free_port, wait_for

SHIM = str(BUILD / "shim/erpsync-shim")
ISSUER, AUDIENCE = "https://idp.example", "erpsync"
GLOBEX = "globex-erp"


class Web:
    """The cluster plus everything the auth schemes need, and a raw client
    that can send any header (urllib would add its own)."""

    def __init__(self, tmp):
        self.c = Cluster(tmp)
        self.tmp = tmp
        c = self.c
        self.pw = {"alice": c.password, "bob": c.reader_password,
                   "gina": "g1na-" + uuid.uuid4().hex[:8]}
        (tmp / "users").write_text(
            f"alice:{c._hash(self.pw['alice'])}:acme:admin\n"
            f"bob:{c._hash(self.pw['bob'])}:acme:reader\n"
            f"gina:{c._hash(self.pw['gina'])}:globex:admin\n")
        (tmp / "tenants").write_text(f"acme:{c.engine}\nglobex:{GLOBEX}\n")
        self.tickets = tmp / "tickets"
        self.tickets.write_text("# sha256:user:expiry\n")
        self.hs_key = os.urandom(48)
        (tmp / "hs256.key").write_bytes(self.hs_key)
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (tmp / "rs256.pem").write_bytes(self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo))
        (tmp / "session.key").write_bytes(os.urandom(32))
        self.app_token = "app-" + uuid.uuid4().hex
        hashed = subprocess.run([SHIM, "--hash-token", "ErpSync test app"],
                                input=self.app_token + "\n", capture_output=True,
                                text=True, check=True).stdout
        (tmp / "apptokens").write_text(hashed)
        self.auth_args = [
            f"--auth.tickets.file={self.tickets}",
            f"--auth.jwt.hs256.key.file={tmp / 'hs256.key'}",
            f"--auth.jwt.rs256.key.file={tmp / 'rs256.pem'}",
            f"--auth.jwt.issuer={ISSUER}", f"--auth.jwt.audience={AUDIENCE}",
            f"--auth.session.key.file={tmp / 'session.key'}",
            "--auth.session.cookie.secure=false",
            f"--auth.apptokens.file={tmp / 'apptokens'}"]

    def start(self):
        c = self.c
        c.start_broker()
        c.start_agent()
        (self.tmp / "state2").mkdir(exist_ok=True)
        c.procs["agent2"] = Proc("agent2", [
            str(BUILD / "agent/erpsync-agent"), f"--engine.id={GLOBEX}",
            f"--bootstrap.servers={c.bootstrap}",
            f"--state.dir={self.tmp / 'state2'}", "--status.heartbeat.ms=0",
            "--shutdown.timeout.ms=15000", *c.topic_args()], self.tmp)
        # The tests below fail logins on purpose; the limit has a test and a
        # shim of its own.
        c.start_shim(*self.auth_args, "--auth.failures.max=0")
        self.port = c.http_port
        wait_for(lambda: self.call("GetEngineStatus", user="gina").status == 200,
                 20, "both engines report")
        wait_for(lambda: self.call("GetEngineStatus").status == 200, 20,
                 "acme's engine reports")
        return self

    def extra_shim(self, name, *args, users=None):
        """Another shim on the same cluster with settings of its own."""
        port = free_port()
        c = self.c
        c.procs[name] = Proc(name, [
            SHIM, f"--bootstrap.servers={c.bootstrap}",
            f"--users.file={users or self.tmp / 'users'}",
            f"--tenants.file={self.tmp / 'tenants'}", f"--listen.port={port}",
            "--request.timeout.ms=4000", *c.topic_args(), *args], self.tmp)
        wait_for(lambda: raw(port, "GET", "/readyz").status == 200, 20,
                 f"{name} /readyz")
        return port

    def basic(self, user="alice"):
        cred = f"{user}:{self.pw[user]}".encode()
        return "Basic " + base64.b64encode(cred).decode()

    def call(self, op, body=None, ctype="application/json", user="alice",
             headers=None, query="", port=None, auth=True):
        hdrs = {}
        if auth:
            hdrs["Authorization"] = self.basic(user)
        if body is not None:
            hdrs["Content-Type"] = ctype
        hdrs.update(headers or {})
        return raw(port or self.port, "POST", BASE + op + query, body, hdrs)

    def token(self, alg="HS256", **claims):
        now = int(time.time())
        c = {"iss": ISSUER, "aud": AUDIENCE, "sub": "tess", "tenant": "acme",
             "role": "admin", "iat": now, "exp": now + 300}
        c.update(claims)
        c = {k: v for k, v in c.items() if v is not None}
        key = self.hs_key if alg == "HS256" else self.rsa
        return jwt.encode(c, key, algorithm=alg)


class Answer:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        return self.headers.get(name.lower(), [None])[0]

    def json(self):
        return json.loads(self.body)

    def xml(self):
        return ET.fromstring(self.body)


def raw(port, method, path, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    data = body.encode() if isinstance(body, str) else body
    try:
        conn.request(method, path, body=data, headers=headers or {})
        r = conn.getresponse()
        hdrs = {}
        for k, v in r.getheaders():
            hdrs.setdefault(k.lower(), []).append(v)
        return Answer(r.status, hdrs, r.read())
    except (ConnectionError, OSError):
        return Answer(0, {}, b"")
    finally:
        conn.close()


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    w = Web(tmp_path_factory.mktemp("web"))
    try:
        yield w.start()
    finally:
        w.c.stop()


def xml_text(root, name):
    el = root.find(name)
    return None if el is None else el.text


# ---- 5. request bodies ----

@pytest.mark.parametrize("ctype,body", [
    ("application/json", '{"Run": true}'),
    ("text/json", '{"run": true}'),
    ("application/xml", "<ChangeEngineStatus><Run>true</Run></ChangeEngineStatus>"),
    ("text/xml; charset=utf-8",
     '<?xml version="1.0"?><request xmlns="http://schemas.example/erp">'
     "<Run>true</Run></request>"),
    ("application/x-www-form-urlencoded", "Run=true"),
    ("application/json-patch+json", '[{"op": "replace", "path": "/Run", "value": true}]'),
    ("application/merge-patch+json", '{"Run": true}'),
])
def test_every_content_type_starts_the_engine(web, ctype, body):
    assert web.call("ChangeEngineStatus", '{"Run": false}').json()["IsRunning"] is False
    r = web.call("ChangeEngineStatus", body, ctype)
    assert r.status == 200, r.body
    assert r.json()["IsRunning"] is True


@pytest.mark.parametrize("ctype,body,want", [
    ("application/json; charset=utf-16", '{"Interval": "00:20:00"}'.encode("utf-16"),
     "00:20:00"),
    ("application/json; charset=iso-8859-1",
     '{"Interval": "00:21:00", "Note": "Caf\xe9"}'.encode("latin-1"), "00:21:00"),
    ("application/xml; charset=utf-16",
     '<ChangeEngineInterval><Interval>PT22M</Interval></ChangeEngineInterval>'
     .encode("utf-16"), "00:22:00"),
    ("application/x-www-form-urlencoded", b"Interval=00%3A23%3A00", "00:23:00"),
    ("application/merge-patch+json", b'{"interval": "PT24M"}', "00:24:00"),
    ("application/json-patch+json",
     b'[{"op": "add", "path": "/Interval", "value": "00:25:00"}]', "00:25:00"),
])
def test_interval_in_every_content_type_and_charset(web, ctype, body, want):
    r = web.call("ChangeEngineInterval", body, ctype)
    assert r.status == 204, r.body
    assert web.call("GetEngineStatus").json()["Interval"] == want


@pytest.mark.parametrize("ctype,body,status,fragment", [
    ("application/json", "", 400, "empty"),
    ("application/json", '{"Run": tru', 400, "not valid JSON"),
    ("application/json", b'{"Run": true, "x": "\xff"}', 400, "UTF-8"),
    ("application/json; charset=klingon", '{"Run": true}', 415, "klingon"),
    ("application/yaml", "Run: true", 415, "application/json"),
    ("application/xml", "<a><Run>true</Run>", 400, "well-formed"),
    ("application/xml", "<a><Run>true</Run><run>false</run></a>", 400, "twice"),
    ("application/x-www-form-urlencoded", "Run=%zz", 400, "byte 4"),
    ("application/json-patch+json", '[{"op": "replace", "path": "/Nope", "value": 1}]',
     400, "operation 0"),
    ("application/json-patch+json", '[{"op": "test", "path": "/Run", "value": true}]',
     400, "operation 0 (test)"),
    ("application/json-patch+json", '{"op": "add"}', 400, "array"),
    ("application/merge-patch+json", "[true]", 400, "object"),
])
def test_bad_bodies_name_the_problem(web, ctype, body, status, fragment):
    r = web.call("ChangeEngineStatus", body, ctype)
    assert r.status == status, r.body
    e = r.json()
    assert e["Error"] is True and e["ErrorSource"] == "erpsync-shim"
    assert fragment in e["ErrorMessage"], e["ErrorMessage"]


@pytest.mark.parametrize("doc", [
    # XXE: an external entity that would read a local file
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<r><Run>&x;</Run></r>",
    # billion laughs
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
    '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
    '<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><r><Run>&d;</Run></r>',
    # an external DTD over the network
    '<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd"><r><Run>true</Run></r>',
])
def test_xml_entities_and_dtds_are_refused(web, doc):
    r = web.call("ChangeEngineStatus", doc, "application/xml")
    assert r.status == 400
    assert "DOCTYPE" in r.json()["ErrorMessage"]
    assert b"root:" not in r.body


# ---- 6. answers: JSON or XML by Accept ----

def test_xml_answer_mirrors_the_json_names(web):
    r = web.call("ChangeEngineStatus", "<ChangeEngineStatus><Run>true</Run></ChangeEngineStatus>",
                 "application/xml", headers={"Accept": "application/xml"})
    assert r.status == 200
    assert r.header("Content-Type").startswith("application/xml")
    x = r.xml()
    assert x.tag == "ErpSyncEngineStatus"
    assert xml_text(x, "IsRunning") == "true"
    assert re.fullmatch(r"P(\d+D)?T?(\d+H)?(\d+M)?(\d+S)?", xml_text(x, "Interval"))
    assert xml_text(x, "TableRight/Mask") == "FULL"
    assert xml_text(x, "FieldProperties/IsRunning/FieldRight/Mask") == "Update"
    assert xml_text(x, "FieldProperties/IsRunning/FieldType") == "System.Boolean"
    assert r.header("X-ErpSync-Command-Id")


@pytest.mark.parametrize("accept,ctype", [
    (None, "application/json"),
    ("*/*", "application/json"),
    ("text/xml", "text/xml"),
    ("application/xml;q=0.5, application/json", "application/json"),
    ("application/json;q=0.2, application/xml;q=0.9", "application/xml"),
    ("text/*", "text/json"),
    ("application/json;q=0, */*;q=0.1", "text/json"),
])
def test_accept_q_values(web, accept, ctype):
    r = web.call("GetEngineStatus", headers={"Accept": accept} if accept else {})
    assert r.status == 200
    assert r.header("Content-Type").split(";")[0] == ctype
    if "xml" in ctype:
        assert r.xml().tag == "ErpSyncEngineStatus"
    else:
        assert "IsRunning" in r.json()


def test_nothing_acceptable_is_406(web):
    r = web.call("GetEngineStatus", headers={"Accept": "image/png, text/html;q=0.5"})
    assert r.status == 406
    assert r.json()["ErrorType"] == "NotAcceptable"
    assert "application/json" in r.json()["ErrorMessage"]


def test_errors_come_in_the_answer_format(web):
    r = web.call("ChangeEngineStatus", "{", headers={"Accept": "application/xml"})
    assert r.status == 400
    x = r.xml()
    assert xml_text(x, "ErrorType") == "BadRequest"
    assert xml_text(x, "Error") == "true"
    r = web.call("ChangeEngineStatus", '{"Run": true}', headers={"Accept": "text/xml"},
                 auth=False)
    assert r.status == 401 and xml_text(r.xml(), "ErrorType") == "Unauthorized"
    r = raw(web.port, "POST", BASE + "Nope", None, {"Accept": "application/xml"})
    assert r.status == 404 and xml_text(r.xml(), "ErrorType") == "NotFound"


# ---- 7. $select ----

def test_repeated_select_selects_what_all_name(web):
    st = web.call("GetEngineStatus", query="?$select=IsRunning&$select=interval").json()
    assert isinstance(st["IsRunning"], bool) and st["Interval"]
    assert st["StatusMessage"] is None and st["TableRight"] is None
    r = web.call("GetEngineStatus", query="?$select=IsRunning&$select=Nope")
    assert r.status == 400 and "Nope" in r.json()["ErrorMessage"]


def test_select_nulls_what_is_not_selected(web):
    q = "?" + urllib.parse.urlencode({"$select": "isrunning, TableRight/mask"})
    st = web.call("GetEngineStatus", query=q).json()
    assert isinstance(st["IsRunning"], bool)
    assert st["StatusMessage"] is None and st["Interval"] is None
    assert st["FieldProperties"] is None
    assert st["TableRight"] == {"Mask": "FULL", "Reason": None}
    q = "?$select=FieldProperties/Interval/FieldRight"
    st = web.call("ChangeEngineStatus", '{"Run": true}', query=q).json()
    assert st["IsRunning"] is None
    fp = st["FieldProperties"]
    assert fp["IsRunning"] is None
    assert fp["Interval"]["FieldRight"]["Mask"] == "Update"  # EFieldRight 3
    assert fp["Interval"]["FieldType"] is None
    x = web.call("GetEngineStatus", query="?$select=Interval",
                 headers={"Accept": "application/xml"}).xml()
    assert x.find("IsRunning").get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"


@pytest.mark.parametrize("select,fragment", [
    ("IsRunning,,Interval", "empty field name"),
    ("IsRunning,Bogus", "unknown field 'Bogus'"),
    ("TableRight/", "'/' must be followed"),
    ("Is-Running", "unexpected character"),
    ("IsRunning/Deeper", "has no fields"),
])
def test_malformed_select_is_400(web, select, fragment):
    q = "?" + urllib.parse.urlencode({"$select": select})
    r = web.call("GetEngineStatus", query=q)
    assert r.status == 400
    assert fragment in r.json()["ErrorMessage"], r.json()


# ---- 8. languages, cultures, time zones ----

def running_with_next_iteration(web):
    web.call("ChangeEngineInterval", '{"Interval": "01:00:00"}')
    r = web.call("ChangeEngineStatus", '{"Run": true}')
    assert r.status == 200
    wait_for(lambda: "[SR_ERPSYNC_RUNNING]" == web.call(
        "GetEngineStatus", headers={"SO-Language": "x"}).json()["StatusMessage"],
        15, "a scheduled next iteration")


def message(web, **headers):
    return web.call("GetEngineStatus", headers=headers).json()["StatusMessage"]


def test_status_message_languages(web):
    running_with_next_iteration(web)
    en = message(web)
    assert en.startswith("The ERP sync engine is running every 01:00:00")
    nb = message(web, **{"Accept-Language": "nb-NO,en;q=0.5"})
    de = message(web, **{"Accept-Language": "fr;q=0.1, de-DE;q=0.9"})
    assert len({en, nb, de}) == 3
    assert "01:00:00" in nb and "01:00:00" in de
    # SO-Language overrides Accept-Language; * and x give the raw id
    assert message(web, **{"Accept-Language": "nb", "SO-Language": "de"}) == de
    assert message(web, **{"Accept-Language": "nb", "SO-Language": "*"}) == \
        "[SR_ERPSYNC_RUNNING]"
    # unknown languages fall back to the default (en)
    assert message(web, **{"Accept-Language": "tlh, x-klingon;q=0.5"}) == en
    seen = {message(web, **{"SO-Language": lang})
            for lang in ("en", "nb", "sv", "da", "de", "nl", "fr")}
    assert len(seen) == 7


def test_culture_and_time_zone_shape_the_times(web):
    running_with_next_iteration(web)
    utc = message(web)
    oslo = message(web, **{"SO-TimeZone": "Europe/Oslo, includeTZOffset"})
    assert oslo != utc
    assert re.search(r"(\+0[12]:00|GMT\+0?[12])", oslo), oslo
    ny = message(web, **{"SO-TimeZone": "America/New_York,includeTZOffset"})
    assert re.search(r"(-0[45]:00|GMT-0?[45])", ny), ny
    de = message(web, **{"SO-Culture": "de-DE", "SO-TimeZone": "UTC"})
    assert re.search(r"\d{2}\.\d{2}\.\d{4}", de), de   # 28.11.2026
    us = message(web, **{"SO-Culture": "en-US", "SO-TimeZone": "UTC"})
    assert re.search(r"(AM|PM)", us), us
    # SuperOffice's own zone names: the same times as the IANA ids.
    assert message(web, **{"SO-TimeZone": "NO, includeTZOffset"}) == oslo
    assert message(web, **{"SO-TimeZone": "261, includeTZOffset"}) == oslo
    assert message(web, **{"SO-TimeZone": "US-NY,includeTZOffset"}) == ny
    r = web.call("GetEngineStatus", headers={"SO-TimeZone": "US"})
    assert r.status == 400
    assert "a country of several time zones" in r.json()["ErrorMessage"]


def test_culture_alone_sets_the_language_too(web):
    # No SO-Language, no Accept-Language: the culture's language (as .NET's
    # request localization does when only one of the two is given).
    running_with_next_iteration(web)
    de_only = message(web, **{"SO-Culture": "de-DE", "SO-TimeZone": "UTC"})
    assert de_only.startswith("Die ERP-Synchronisierungs-Engine"), de_only
    assert re.search(r"\d{2}\.\d{2}\.\d{4}", de_only), de_only
    # A language given wins; the culture then shapes only dates and numbers.
    en_de = message(web, **{"SO-Culture": "de-DE", "SO-TimeZone": "UTC",
                            "Accept-Language": "en"})
    assert en_de.startswith("The ERP sync engine"), en_de
    assert re.search(r"\d{2}\.\d{2}\.\d{4}", en_de), en_de
    # A culture whose language the catalog lacks: the default language.
    ja = message(web, **{"SO-Culture": "ja-JP"})
    assert ja.startswith("The ERP sync engine"), ja


@pytest.mark.parametrize("hdr,value,fragment", [
    ("SO-TimeZone", "Mars/Olympus_Mons", "Mars/Olympus_Mons"),
    ("SO-TimeZone", "Europe/Oslo, includeNothing", "includeNothing"),
    ("SO-Culture", "xx-!!", "xx-!!"),
])
def test_bad_culture_or_zone_is_400(web, hdr, value, fragment):
    r = web.call("GetEngineStatus", headers={hdr: value})
    assert r.status == 400
    assert fragment in r.json()["ErrorMessage"]


# ---- 1. authentication ----

def test_401_names_every_scheme(web):
    r = web.call("GetEngineStatus", auth=False)
    assert r.status == 401
    schemes = [v.split()[0] for v in r.headers["www-authenticate"]]
    assert schemes == ["Basic", "SOTicket", "Bearer"]
    r = web.call("GetEngineStatus", headers={"Authorization": "Negotiate abc"}, auth=False)
    assert r.status == 401 and "Negotiate" in r.json()["ErrorMessage"]


def issue_ticket(web, user, ttl="60"):
    out = subprocess.run([SHIM, "--issue-ticket", str(web.tickets), user, ttl],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_a_fresh_ticket_works_at_once(web):
    # Each ticket is used the moment --issue-ticket printed it, right after
    # the previous lookup: a miss must look at the file again (it was
    # throttled to one look per 100 ms, so these got 401).
    for _ in range(20):
        t = issue_ticket(web, "alice")
        r = web.call("GetEngineStatus", headers={"Authorization": "SOTicket " + t},
                     auth=False)
        assert r.status == 200, r.body


def test_soticket(web):
    t = issue_ticket(web, "alice")
    assert t.startswith("7T:")
    assert t not in web.tickets.read_text()  # only its hash is stored
    r = web.call("GetEngineStatus", headers={"Authorization": "SOTicket " + t}, auth=False)
    assert r.status == 200, r.body
    assert r.json()["TableRight"]["Mask"] == "FULL"
    r = web.call("GetEngineStatus", headers={"Authorization": "SOTicket 7T:nope"}, auth=False)
    assert r.status == 401 and "not known" in r.json()["ErrorMessage"]
    short = issue_ticket(web, "bob", "1")
    time.sleep(2.2)
    r = web.call("GetEngineStatus", headers={"Authorization": "SOTicket " + short},
                 auth=False)
    assert r.status == 401 and "expired" in r.json()["ErrorMessage"]


def bearer(web, tok, op="GetEngineStatus", **kw):
    return web.call(op, headers={"Authorization": "Bearer " + tok}, auth=False, **kw)


def test_bearer_jwt(web):
    assert bearer(web, web.token("HS256")).status == 200
    r = bearer(web, web.token("RS256", role="reader"))
    assert r.status == 200 and r.json()["TableRight"]["Mask"] == "RF"
    assert bearer(web, web.token("RS256", role="reader"), "ChangeEngineStatus",
                  body='{"Run": true}').status == 403
    assert bearer(web, web.token(aud=["other", AUDIENCE])).status == 200
    # expired beyond the 60 s skew; within it still fine
    assert bearer(web, web.token(exp=int(time.time()) - 30)).status == 200
    cases = [
        (web.token(exp=int(time.time()) - 120), "expired"),
        (web.token(aud="someone-else"), "audience"),
        (web.token(iss="https://evil.example"), "issuer"),
        (web.token(nbf=int(time.time()) + 600), None),
        (web.token(sub=None), None),
        (web.token(role="root"), None),
        (jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "tenant": "acme",
                     "exp": int(time.time()) + 60}, web.hs_key + b"x",
                    algorithm="HS256"), "signature"),
        # "alg": "none"
        (base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode() + "." +
         base64.urlsafe_b64encode(json.dumps({"iss": ISSUER, "aud": AUDIENCE, "sub": "x",
                                              "tenant": "acme",
                                              "exp": int(time.time()) + 60}).encode())
         .rstrip(b"=").decode() + ".", None),
        ("not.a.token", None),
    ]
    for tok, fragment in cases:
        r = bearer(web, tok)
        assert r.status == 401, (tok, r.body)
        assert any(v.startswith("Bearer") for v in r.headers["www-authenticate"])
        if fragment:
            assert fragment in r.json()["ErrorMessage"], r.json()


def test_session_cookie_needs_the_xsrf_token(web):
    r = web.call("GetEngineStatus")
    cookies = dict(c.split(";")[0].split("=", 1) for c in r.headers["set-cookie"])
    session, xsrf = cookies["ERPSYNC_SESSION"], cookies["XSRF-TOKEN"]
    httponly = [c for c in r.headers["set-cookie"] if c.startswith("ERPSYNC_SESSION")][0]
    assert "HttpOnly" in httponly and "SameSite=Strict" in httponly
    ok = web.call("GetEngineStatus", auth=False,
                  headers={"Cookie": f"ERPSYNC_SESSION={session}", "X-XSRF-TOKEN": xsrf})
    assert ok.status == 200
    assert "set-cookie" not in ok.headers  # a session call does not renew itself
    r = web.call("ChangeEngineStatus", '{"Run": true}', auth=False,
                 headers={"Cookie": f"ERPSYNC_SESSION={session}"})
    assert r.status == 401 and "X-XSRF-TOKEN" in r.json()["ErrorMessage"]
    other = web.call("GetEngineStatus", user="gina")
    other_xsrf = dict(c.split(";")[0].split("=", 1)
                      for c in other.headers["set-cookie"])["XSRF-TOKEN"]
    r = web.call("GetEngineStatus", auth=False,
                 headers={"Cookie": f"ERPSYNC_SESSION={session}", "X-XSRF-TOKEN": other_xsrf})
    assert r.status == 401
    forged = session[:-4] + ("AAAA" if not session.endswith("AAAA") else "BBBB")
    r = web.call("GetEngineStatus", auth=False,
                 headers={"Cookie": f"ERPSYNC_SESSION={forged}", "X-XSRF-TOKEN": xsrf})
    assert r.status == 401


def test_a_new_password_ends_the_old_sessions(web):
    """Another shim with the same session key stands for the restart that
    applies a users file where alice has a new password."""
    r = web.call("GetEngineStatus")
    cookies = dict(c.split(";")[0].split("=", 1) for c in r.headers["set-cookie"])
    session = {"Cookie": f"ERPSYNC_SESSION={cookies['ERPSYNC_SESSION']}",
               "X-XSRF-TOKEN": cookies["XSRF-TOKEN"]}
    same = web.extra_shim("shim-same-users", *web.auth_args)
    assert web.call("GetEngineStatus", port=same, auth=False, headers=session).status == 200
    lines = (web.tmp / "users").read_text().splitlines()
    new_hash = web.c._hash("n3w-" + uuid.uuid4().hex[:8])
    (web.tmp / "users-new").write_text("\n".join(
        f"alice:{new_hash}:acme:admin" if ln.startswith("alice:") else ln
        for ln in lines) + "\n")
    port = web.extra_shim("shim-new-password", *web.auth_args,
                          users=web.tmp / "users-new")
    r = web.call("GetEngineStatus", port=port, auth=False, headers=session)
    assert r.status == 401 and "log in again" in r.json()["ErrorMessage"]
    # bob's session is untouched by alice's new password
    b = web.call("GetEngineStatus", user="bob")
    bc = dict(c.split(";")[0].split("=", 1) for c in b.headers["set-cookie"])
    r = web.call("GetEngineStatus", port=port, auth=False,
                 headers={"Cookie": f"ERPSYNC_SESSION={bc['ERPSYNC_SESSION']}",
                          "X-XSRF-TOKEN": bc["XSRF-TOKEN"]})
    assert r.status == 200


def test_credentials_never_echo_into_answers_or_logs(web):
    secret = base64.b64encode(b"alice:" + web.pw["alice"].encode()).decode()
    for value in (secret, "Basic\t" + secret, "basic:" + secret):
        r = web.call("GetEngineStatus", auth=False, headers={"Authorization": value})
        assert r.status == 401
        assert secret not in r.body.decode() and "malformed" in r.json()["ErrorMessage"]
    r = web.call("GetEngineStatus", auth=False, headers={"Authorization": "Negotiate abc"})
    assert "Negotiate" in r.json()["ErrorMessage"]
    for log in web.tmp.glob("*.log"):
        assert secret not in log.read_text(errors="replace"), log.name


def test_failed_logins_are_limited_per_address(web):
    port = web.extra_shim("shim-limited", *web.auth_args, "--auth.failures.max=3",
                          "--auth.failures.window.ms=60000")
    wrong = {"Authorization": "Basic " + base64.b64encode(b"alice:wrong").decode()}
    for _ in range(3):
        assert web.call("GetEngineStatus", port=port, auth=False, headers=wrong).status == 401
    r = web.call("GetEngineStatus", port=port)  # even the right password now
    assert r.status == 429
    assert r.json()["ErrorType"] == "TooManyRequests"
    assert 1 <= int(r.header("Retry-After")) <= 20
    metrics = raw(port, "GET", "/metrics").body.decode()
    assert "erpsync_shim_login_failures_total 3" in metrics
    assert "erpsync_shim_logins_limited_total 1" in metrics
    # the main shim, same address, is a different process: unaffected
    assert web.call("GetEngineStatus").status == 200


def call_from(port, source, auth):
    """One GetEngineStatus from a loopback source address of our choice."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                      source_address=(source, 0))
    try:
        conn.request("POST", BASE + "GetEngineStatus", headers={"Authorization": auth})
        r = conn.getresponse()
        return Answer(r.status, {k.lower(): [v] for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def test_failed_logins_are_limited_per_account_across_addresses(web):
    port = web.extra_shim("shim-account", *web.auth_args, "--auth.failures.max=3",
                          "--auth.account.failures.max=5",
                          "--auth.account.failures.window.ms=60000")
    # The real user logs in once: her verified credential is cached.
    assert web.call("GetEngineStatus", port=port).status == 200
    wrong = "Basic " + base64.b64encode(b"ALICE:guess").decode()
    # An attacker rotating source addresses: each address stays under its
    # own limit (3), the account's (5) stops the guessing.
    codes = [call_from(port, f"127.0.7.{i}", wrong).status for i in range(1, 9)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429] * 3, codes
    r = call_from(port, "127.0.7.50", wrong)
    assert r.status == 429 and "for this account" in r.json()["ErrorMessage"]
    assert 1 <= int(r.header("Retry-After")) <= 12
    # Not locked out: her cached credential still works, from anywhere.
    assert call_from(port, "127.0.7.60", web.basic()).status == 200
    # Another account is not touched.
    assert call_from(port, "127.0.7.61", web.basic("bob")).status == 200


# ---- 2. restricted mode ----

def test_restricted_mode_needs_a_registered_app_token(web):
    port = web.extra_shim("shim-restricted", *web.auth_args, "--auth.restricted=true")
    r = web.call("GetEngineStatus", port=port)
    assert r.status == 403
    assert "access must be requested when the app is registered" in r.json()["ErrorMessage"]
    r = web.call("GetEngineStatus", port=port, headers={"SO-AppToken": "unregistered"})
    assert r.status == 403 and "not registered" in r.json()["ErrorMessage"]
    r = web.call("GetEngineStatus", port=port, headers={"SO-AppToken": web.app_token})
    assert r.status == 200


# ---- 3. tenants and rights ----

def test_each_tenant_reaches_only_its_engine(web):
    c = web.c
    assert web.call("ChangeEngineInterval", '{"Interval": "00:31:00"}').status == 204
    assert web.call("ChangeEngineInterval", '{"Interval": "00:47:00"}',
                    user="gina").status == 204
    assert web.call("GetEngineStatus").json()["Interval"] == "00:31:00"
    assert web.call("GetEngineStatus", user="gina").json()["Interval"] == "00:47:00"
    # nothing in the request names an engine: body fields, query and headers
    # that try to are ignored
    r = web.call("ChangeEngineStatus", json.dumps({"Run": True, "EngineId": GLOBEX}),
                 query="?engine=" + GLOBEX, headers={"X-Engine-Id": GLOBEX})
    assert r.status == 200
    cid = r.header("X-ErpSync-Command-Id")
    cmds = c.consume("commands")
    rec = [x for x in cmds if x["hdrs"].get("ce_id") == cid][0]
    assert rec["key"] == c.engine and rec["hdrs"]["ce_subject"] == c.engine
    # every command gina ever sent went to globex's engine, alice's to acme's
    by = {}
    for x in cmds:
        by.setdefault(x["hdrs"].get("ce_principal"), set()).add(x["key"])
    assert by["gina"] == {GLOBEX} and by["alice"] == {c.engine}
    # a token names a tenant; only the tenants file names its engine
    assert bearer(web, web.token(tenant="globex")).json()["Interval"] == "00:47:00"
    r = bearer(web, web.token(tenant="initech"))
    assert r.status == 403 and "initech" in r.json()["ErrorMessage"]


def test_reader_may_read_but_not_change(web):
    st = web.call("GetEngineStatus", user="bob")
    assert st.status == 200
    assert st.json()["TableRight"]["Mask"] == "RF"
    assert st.json()["FieldProperties"]["IsRunning"]["FieldRight"]["Mask"] == "Read"
    for op, body in (("ChangeEngineStatus", '{"Run": false}'),
                     ("ChangeEngineInterval", '{"Interval": "00:10:00"}')):
        r = web.call(op, body, user="bob")
        assert r.status == 403 and r.json()["ErrorType"] == "Forbidden"


def test_reader_reason_is_in_the_callers_language(web):
    want = {"en": "the caller may only read the engine status",
            "nb": "brukeren kan bare lese motorens status",
            "de": "der Aufrufer darf den Status der Engine nur lesen",
            "x": "[SR_ERPSYNC_READER_REASON]"}
    for lang, text in want.items():
        st = web.call("GetEngineStatus", user="bob",
                      headers={"SO-Language": lang}).json()
        assert st["TableRight"]["Reason"] == text, lang
        assert st["FieldProperties"]["Interval"]["FieldRight"]["Reason"] == text
    admin = web.call("GetEngineStatus", headers={"Accept-Language": "nb"}).json()
    assert admin["TableRight"]["Reason"] == ""


# ---- keep-alive ----

def test_answers_keep_the_connection_open(web):
    """Polling clients reuse one connection: answers decided from the
    headers (GetEngineStatus, 401, 403, 415) must not close it."""
    conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10)
    calls = [("GetEngineStatus", None, {"Authorization": web.basic()}, 200),
             ("GetEngineStatus", None, {}, 401),
             ("ChangeEngineStatus", '{"Run": true}',
              {"Authorization": web.basic("bob"), "Content-Type": "application/json"}, 403),
             ("ChangeEngineStatus", '{"Run": true}',
              {"Authorization": web.basic(), "Content-Type": "text/plain"}, 415),
             ("ChangeEngineStatus", '{"Run": true}',
              {"Authorization": web.basic(), "Content-Type": "application/json"}, 200),
             ("GetEngineStatus", "", {"Authorization": web.basic()}, 200),
             ("/healthz", None, {}, 200), ("/metrics", None, {}, 200),
             ("/readyz", None, {}, 200)]
    sock = None
    for op, body, hdrs, want in calls:
        if op.startswith("/"):
            conn.request("GET", op, headers=hdrs)
        else:
            conn.request("POST", BASE + op, body=body, headers=hdrs)
        r = conn.getresponse()
        r.read()
        assert r.status == want, (op, r.status)
        assert (r.getheader("Connection") or "").lower() != "close", op
        assert sock is None or conn.sock is sock, f"{op}: reconnected"
        sock = conn.sock
    conn.close()


# ---- every content type x every authentication scheme ----
# One rule for all: a body that sets no Run changes nothing (400), Run is
# read as the WebAPI's serializer for that media type reads a bool.

def scheme_headers(web, scheme):
    if scheme == "Basic":
        return {"Authorization": web.basic()}
    if scheme == "Bearer":
        return {"Authorization": "Bearer " + web.token()}
    if scheme == "SOTicket":
        return {"Authorization": "SOTicket " + issue_ticket(web, "alice")}
    r = web.call("GetEngineStatus")  # a password login issues the session
    cookies = dict(c.split(";")[0].split("=", 1) for c in r.headers["set-cookie"])
    return {"Cookie": f"ERPSYNC_SESSION={cookies['ERPSYNC_SESSION']}",
            "X-XSRF-TOKEN": cookies["XSRF-TOKEN"]}


SCHEMES = ["Basic", "Bearer", "SOTicket", "session"]
XML = "<ChangeEngineStatus>{}</ChangeEngineStatus>"
NO_RUN = [
    ("application/json", "{}"),
    ("application/json", '{"Run": null}'),
    ("text/json", '{"Other": true}'),
    ("application/xml", XML.format("")),
    ("text/xml", XML.format("<Other>true</Other>")),
    ("application/x-www-form-urlencoded", "Other=true"),
    ("application/x-www-form-urlencoded", ""),
    ("application/json-patch+json", "[]"),
    ("application/json-patch+json", '[{"op": "add", "path": "/Other", "value": 1}]'),
    ("application/merge-patch+json", "{}"),
    ("application/merge-patch+json", '{"Run": null}'),
]


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("ctype,body", NO_RUN)
def test_no_run_no_change_in_every_type_and_scheme(web, scheme, ctype, body):
    hdrs = scheme_headers(web, scheme)
    assert web.call("ChangeEngineStatus", '{"Run": true}').json()["IsRunning"] is True
    r = web.call("ChangeEngineStatus", body, ctype, headers=hdrs, auth=False)
    assert r.status == 400, (r.status, r.body)
    assert "Run" in r.json()["ErrorMessage"]
    assert web.call("GetEngineStatus").json()["IsRunning"] is True  # unchanged


# (content type, Run's text in that type's syntax, what it means; None: 400)
RUN_FORMS = [
    ("application/json", "1", True), ("application/json", "0", False),
    ("application/json", "-2", True), ("application/json", '"TRUE"', True),
    ("application/json", '"False"', False), ("application/json", '"1"', None),
    ("application/json", '"yes"', None),
    ("application/merge-patch+json", "0", False),
    ("application/json-patch+json", '"true"', True),
    ("application/xml", "1", True), ("application/xml", "0", False),
    ("application/xml", " true ", True), ("application/xml", "True", None),
    ("application/x-www-form-urlencoded", "TRUE", True),
    ("application/x-www-form-urlencoded", "false", False),
    ("application/x-www-form-urlencoded", "1", None),
]


def run_body(ctype, text):
    if ctype == "application/xml":
        return XML.format(f"<Run>{text}</Run>")
    if ctype == "application/x-www-form-urlencoded":
        return "Run=" + urllib.parse.quote(text)
    if ctype == "application/json-patch+json":
        return f'[{{"op": "replace", "path": "/Run", "value": {text}}}]'
    return f'{{"Run": {text}}}'


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("ctype,text,want", RUN_FORMS)
def test_run_is_read_as_the_webapi_reads_a_bool(web, scheme, ctype, text, want):
    hdrs = scheme_headers(web, scheme)
    before = not want if want is not None else True
    web.call("ChangeEngineStatus", json.dumps({"Run": before}))
    r = web.call("ChangeEngineStatus", run_body(ctype, text), ctype, headers=hdrs,
                 auth=False)
    if want is None:
        assert r.status == 400, (r.status, r.body)
        assert "must be a boolean" in r.json()["ErrorMessage"]
        assert web.call("GetEngineStatus").json()["IsRunning"] is before
    else:
        assert r.status == 200, (r.status, r.body)
        assert r.json()["IsRunning"] is want
