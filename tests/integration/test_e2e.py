"""End to end: REST call -> Kafka command -> agent -> engine -> status -> REST.

Everything runs as real processes on loopback (a broker, agent, shim); the
assertions go through real HTTP and through kcat, a Kafka client of its own.
"""
import base64
import http.client
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest

from conftest import BASE, BROKER, BUILD, Cluster, Proc, structured, wait_for

WEBAPI_FIELDS = {"IsRunning", "StatusMessage", "Interval", "TableRight",
                 "FieldProperties"}


def by_correlation(records, command_id):
    return [r for r in records if r["hdrs"].get("ce_correlationid") == command_id]


# ---- the happy path ----

def test_run_true_answers_running(cluster):
    r = cluster.change(True)
    assert r.status == 200, r.body
    body = r.json()
    assert set(body) == WEBAPI_FIELDS
    assert body["IsRunning"] is True
    assert "running" in body["StatusMessage"]
    assert body["Interval"] == "00:15:00"
    # The WebAPI's ETableRight FULL (15) and EFieldRight Update (3).
    assert body["TableRight"] == {"Mask": "FULL", "Reason": ""}
    assert {f["FieldRight"]["Mask"] for f in body["FieldProperties"].values()} == {"Update"}
    assert body["FieldProperties"]["IsRunning"]["FieldType"] == "System.Boolean"
    assert r.headers["Content-Type"].startswith("application/json")


def test_run_false_answers_stopped(cluster):
    cluster.change(True)
    r = cluster.change(False)
    assert r.status == 200, r.body
    assert r.json()["IsRunning"] is False
    assert r.json()["StatusMessage"] == "The ERP sync engine is stopped."


def test_same_request_twice_answers_both(cluster):
    assert cluster.change(True).json()["IsRunning"] is True
    again = cluster.change(True)  # no change: still answered, not a 504
    assert again.status == 200 and again.json()["IsRunning"] is True


def test_property_names_are_case_insensitive(cluster):
    r = cluster.post("ChangeEngineStatus", '{"rUN": false}',
                     content_type="text/json; charset=utf-8")
    assert r.status == 200, r.body
    assert r.json()["IsRunning"] is False


def test_status_event_is_correlated_keyed_and_valid(cluster, schemas):
    r = cluster.change(True)
    assert r.status == 200
    cid = r.headers["X-ErpSync-Command-Id"]
    statuses = cluster.statuses()
    mine = by_correlation(statuses, cid)
    # Starting, then Running: each transition is its own event.
    assert [json.loads(m["payload"])["State"] for m in mine][-1] == "Running"
    for rec in statuses:
        assert rec["key"] == cluster.engine
        assert rec["hdrs"]["ce_subject"] == cluster.engine
        assert rec["hdrs"]["content-type"] == "application/json"
        schemas["status"].validate(structured(rec))
        # Names the schema it was just validated against.
        assert rec["hdrs"]["ce_dataschema"] == schemas["status"].schema["$id"]
    # ce_sequence has no gaps and no repeats, and sorts as text as it sorts
    # as a number (zero-padded: CloudEvents sequence extension).
    texts = [r["hdrs"]["ce_sequence"] for r in statuses]
    assert all(len(t) == 19 and t.isdigit() for t in texts), texts
    seqs = sorted(int(t) for t in texts)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    assert [int(t) for t in sorted(texts)] == seqs
    # All of one engine's events are in one partition, in order.
    assert len({r["partition"] for r in statuses}) == 1


def test_audit_records_who_changed_what(cluster, schemas):
    cluster.change(False)
    r = cluster.change(True)
    cid = r.headers["X-ErpSync-Command-Id"]
    audits = by_correlation(cluster.audits(), cid)
    assert len(audits) == 1
    schemas["audit"].validate(structured(audits[0]))
    assert audits[0]["hdrs"]["ce_dataschema"] == schemas["audit"].schema["$id"]
    data = json.loads(audits[0]["payload"])
    # The time is in the value too, for sinks that drop headers.
    assert data["Time"] == audits[0]["hdrs"]["ce_time"]
    assert data["Outcome"] == "Applied"
    assert data["Principal"] == cluster.user
    assert data["ClientAddress"] == "127.0.0.1"
    assert data["Before"]["IsRunning"] is False
    assert data["After"]["IsRunning"] is True
    assert data["CommandId"] == cid


def test_user_names_do_not_differ_by_case(cluster):
    # As SuperOffice's: ALICE is alice, and is audited as the users file
    # spells her.
    r = cluster.change(True, user=cluster.user.upper())
    assert r.status == 200, r.body
    cid = r.headers["X-ErpSync-Command-Id"]
    audits = by_correlation(cluster.audits(), cid)
    assert json.loads(audits[0]["payload"])["Principal"] == cluster.user
    assert cluster.change(True, user=cluster.user.upper(),
                          password=cluster.password.upper()).status == 401


def test_get_engine_status_reads_the_latest(cluster):
    cluster.change(True)
    r = cluster.post("GetEngineStatus", None, content_type=None)
    assert r.status == 200, r.body
    assert r.json()["IsRunning"] is True
    cluster.change(False)
    assert cluster.post("GetEngineStatus", None, content_type=None).json()[
        "IsRunning"] is False


def test_reader_may_read_but_not_change(cluster):
    r = cluster.post("GetEngineStatus", None, content_type=None,
                     user=cluster.reader, password=cluster.reader_password)
    assert r.status == 200
    assert r.json()["TableRight"]["Mask"] == "RF"
    r = cluster.change(True, user=cluster.reader, password=cluster.reader_password)
    assert r.status == 403
    assert r.json()["ErrorType"] == "Forbidden"


def test_change_interval(cluster):
    r = cluster.post("ChangeEngineInterval", '{"Interval": "PT30M"}')
    assert r.status == 204, r.body
    assert cluster.post("GetEngineStatus", None, content_type=None).json()[
        "Interval"] == "00:30:00"
    r = cluster.post("ChangeEngineInterval", '{"Interval": "00:00:10"}')
    assert r.status == 400
    assert "between 00:01:00 and 7.00:00:00" in r.json()["ErrorMessage"]
    cluster.post("ChangeEngineInterval", '{"Interval": "00:15:00"}')


# ---- bad input gets a clear error ----

def test_wrong_password_is_401(cluster):
    r = cluster.change(True, password="wrong")
    assert r.status == 401
    assert r.headers["WWW-Authenticate"].startswith("Basic realm=")
    assert r.json() == {"Error": True, "ErrorType": "Unauthorized",
                        "ErrorMessage": "wrong user name or password",
                        "ErrorSource": "erpsync-shim"}
    assert cluster.change(True, user="mallory").status == 401
    r = cluster.post("ChangeEngineStatus", '{"Run": true}', auth=False)
    assert r.status == 401 and "WWW-Authenticate" in r.headers
    # This shim has no tickets file and no JWT key: Basic is all it offers,
    # in the challenge and in the text.
    assert r.headers.get_all("WWW-Authenticate") == ['Basic realm="erpsync", charset="UTF-8"']
    assert "(Basic)" in r.json()["ErrorMessage"]
    assert "Bearer" not in r.json()["ErrorMessage"]
    r = cluster.post("ChangeEngineStatus", '{"Run": true}', auth=False,
                     headers={"Authorization": "Negotiate abc"})
    assert r.status == 401 and r.json()["ErrorMessage"].endswith("use Basic")


@pytest.mark.parametrize("body,fragment", [
    ('{"Run": tru', "not valid JSON"),
    ('{"Run": "yes"}', '"Run" must be a boolean'),
    ('{"Walk": true}', '"Run" is missing'),
    ("[]", "JSON object"),
    ("", "empty"),
])
def test_malformed_body_is_400_naming_the_problem(cluster, body, fragment):
    r = cluster.post("ChangeEngineStatus", body)
    assert r.status == 400
    assert r.json()["ErrorType"] == "BadRequest"
    assert fragment in r.json()["ErrorMessage"]


def test_protocol_errors(cluster):
    r = cluster.post("ChangeEngineStatus", '{"Run": true}', content_type="text/plain")
    assert r.status == 415 and "text/plain" in r.json()["ErrorMessage"]
    # No Content-Type at all (urllib would add a form type of its own).
    conn = http.client.HTTPConnection("127.0.0.1", cluster.http_port, timeout=10)
    cred = base64.b64encode(f"{cluster.user}:{cluster.password}".encode()).decode()
    conn.request("POST", BASE + "ChangeEngineStatus", body=b'{"Run": true}',
                 headers={"Authorization": "Basic " + cred})
    answer = conn.getresponse()
    assert answer.status == 415 and b"missing" in answer.read()
    conn.close()
    r = cluster.post("ChangeEngineStatus", '{"Run": true, "x": "' + "a" * 70000 + '"}')
    assert r.status == 413
    r = cluster.post("NoSuchCall", "{}")
    assert r.status == 404 and r.json()["ErrorType"] == "NotFound"
    r = cluster.request("GET", BASE + "ChangeEngineStatus")
    assert r.status == 405 and r.headers["Allow"] == "POST"
    # Still serving after all of that.
    assert cluster.change(True).status == 200


def metrics(cluster):
    """/metrics read by Prometheus' own parser: {name: {labels: value}}."""
    parser = pytest.importorskip("prometheus_client.parser")
    m = cluster.get("/metrics")
    assert m.status == 200
    assert m.headers["Content-Type"] == "text/plain; version=0.0.4"
    out = {}
    for fam in parser.text_string_to_metric_families(m.body.decode()):
        for s in fam.samples:
            key = tuple(sorted(s.labels.items()))
            out.setdefault(s.name, {})[key] = s.value
    return out


def test_health_ready_metrics(cluster):
    assert cluster.get("/healthz").status == 200
    assert cluster.get("/readyz").status == 200
    before = metrics(cluster)
    assert cluster.change(True).status == 200
    assert cluster.post("GetEngineStatus").status == 200
    assert cluster.post("NoSuchCall", "{}").status == 404
    for _ in range(3):
        cluster.get("/healthz")
    after = metrics(cluster)

    def grew(name, labels):
        key = tuple(sorted(labels.items()))
        return after[name].get(key, 0) - before.get(name, {}).get(key, 0)

    req = "erpsync_shim_http_requests_total"
    assert grew(req, {"route": "ChangeEngineStatus", "code": "200"}) == 1
    assert grew(req, {"route": "GetEngineStatus", "code": "200"}) == 1
    assert grew(req, {"route": "other", "code": "404"}) == 1
    # Probes apart: three /healthz and the first /metrics, none an API call.
    assert grew("erpsync_shim_probe_requests_total", {"path": "/healthz"}) == 3
    assert grew("erpsync_shim_probe_requests_total", {"path": "/metrics"}) >= 1
    assert not any("/healthz" in dict(k).get("route", "") for k in after[req])
    # The latency histogram: _count is its +Inf bucket, one per call.
    lat = "erpsync_shim_http_request_duration_seconds"
    route = {"route": "ChangeEngineStatus"}
    assert grew(lat + "_count", route) == 1
    assert after[lat + "_bucket"][tuple(sorted(dict(route, le="+Inf").items()))] \
        == after[lat + "_count"][tuple(route.items())]
    assert grew(lat + "_sum", route) > 0
    assert after["erpsync_shim_kafka_up"][()] == 1
    info = after["erpsync_build_info"]
    assert list(info.values()) == [1.0]
    assert dict(next(iter(info)))["program"] == "erpsync-shim"
    assert after["process_resident_memory_bytes"][()] > 1e6
    assert after["process_open_fds"][()] >= 3


def test_secrets_never_reach_kafka_or_logs(cluster):
    cluster.change(True)
    cluster.change(True, password="wrong-" + cluster.password)
    for kind in ("commands", "status", "audit"):
        for rec in cluster.consume(kind):
            blob = json.dumps(rec)
            assert cluster.password not in blob
    for log in cluster.tmp.glob("*.log"):
        assert cluster.password not in log.read_text(errors="replace")


# ---- commands that are not from the shim ----

def test_poison_command_goes_to_dead_letters(cluster):
    bad_id = str(uuid.uuid4())
    cluster.produce_command('{"Run": tru', cluster.command_headers(bad_id))
    cluster.produce_command("not even json", {"foo": "bar"})
    wait_for(lambda: len(cluster.consume("dlq")) >= 2, 15,
             "two dead letters")
    dlq = cluster.consume("dlq")
    errors = [r["hdrs"]["erpsync_error"] for r in dlq]
    assert "value is not valid JSON" in errors
    assert any("missing header ce_specversion" in e for e in errors)
    assert all(r["key"] == cluster.engine for r in dlq)
    assert dlq[0]["hdrs"]["erpsync_original_topic"] == cluster.topics["commands"]
    dead = [a for a in cluster.audits()
            if json.loads(a["payload"])["Outcome"] == "DeadLettered"]
    assert any(json.loads(a["payload"])["CommandId"] == bad_id for a in dead)
    # The agent is unhurt and keeps applying commands.
    assert cluster.procs["agent"].alive()
    assert cluster.change(False).status == 200


def test_repeated_or_control_headers_are_dead_letters(cluster):
    """A second ce_principal (kcat -H twice) or a principal with a line
    break is refused whole: never applied, never audited under a name."""
    assert cluster.change(False).status == 200
    twice = str(uuid.uuid4())
    args = ["kcat", "-P", "-b", cluster.bootstrap, "-t", cluster.topics["commands"],
            "-X", "partitioner=murmur2_random", "-k", cluster.engine]
    for k, v in cluster.command_headers(twice).items():
        args += ["-H", f"{k}={v}"]
    args += ["-H", "ce_principal=ceo"]
    subprocess.run(args, input='{"Run": true}', text=True, check=True, timeout=30)
    ctrl = str(uuid.uuid4())
    cluster.produce_command('{"Run": true}', cluster.command_headers(
        ctrl, ce_principal="ceo\nApplied by alice"))
    wait_for(lambda: len(cluster.consume("dlq")) >= 2, 15, "two dead letters")
    errors = [r["hdrs"]["erpsync_error"] for r in cluster.consume("dlq")]
    assert "header ce_principal is repeated" in errors, errors
    assert "ce_principal holds a control character" in errors, errors
    outcomes = {json.loads(a["payload"])["CommandId"]: json.loads(a["payload"])
                for a in cluster.audits()}
    for cid in (twice, ctrl):
        if cid in outcomes:  # audited as dead, under no principal
            assert outcomes[cid]["Outcome"] == "DeadLettered"
            assert "ceo" not in outcomes[cid]["Principal"]
    assert cluster.post("GetEngineStatus", None, content_type=None).json()["IsRunning"] is False


def test_command_id_applied_once(cluster):
    cluster.change(False)
    cid = str(uuid.uuid4())
    hdrs = cluster.command_headers(cid)
    cluster.produce_command('{"Run": true}', hdrs)
    cluster.produce_command('{"Run": true}', hdrs)
    wait_for(lambda: len(by_correlation(cluster.audits(), cid)) == 2, 15,
             "two audit events for one id")
    outcomes = [json.loads(a["payload"]) for a in by_correlation(cluster.audits(), cid)]
    assert outcomes[0]["Outcome"] == "Applied"
    assert outcomes[1]["Outcome"] == "NoChange"
    assert "duplicate" in outcomes[1]["Reason"]


def test_trace_context_goes_into_the_command_and_its_audit(cluster, schemas):
    """(Before test_second_agent_fences_the_first: on a shared Kafka that
    test's agent fences this module's, both being erpsync-agent-demo.)
    W3C traceparent and X-Request-Id: carried from the HTTP request into
    the command (ce_traceparent, ce_requestid) and its audit record; a
    malformed pair is dropped and the call still succeeds."""
    tp = "00-%s-%s-01" % (uuid.uuid4().hex, uuid.uuid4().hex[:16])
    rid = "req-" + uuid.uuid4().hex[:8]
    cluster.change(False)
    assert cluster.change(True, headers={"traceparent": tp,
                                         "X-Request-Id": rid}).status == 200
    cmd = [r for r in cluster.consume("commands")
           if r["hdrs"].get("ce_traceparent") == tp]
    assert len(cmd) == 1 and cmd[0]["hdrs"]["ce_requestid"] == rid
    schemas["command"].validate(structured(cmd[0]))
    cid = cmd[0]["hdrs"]["ce_id"]
    wait_for(lambda: by_correlation(cluster.audits(), cid), 10, "the audit record")
    au = by_correlation(cluster.audits(), cid)[0]
    assert au["hdrs"]["ce_traceparent"] == tp and au["hdrs"]["ce_requestid"] == rid
    schemas["audit"].validate(structured(au))

    bad = "00-%s-%s-01" % (uuid.uuid4().hex.upper(), uuid.uuid4().hex[:16])
    assert cluster.change(False, headers={"traceparent": bad,
                                          "X-Request-Id": "two words"}).status == 200
    last = cluster.consume("commands")[-1]
    assert "ce_traceparent" not in last["hdrs"] and "ce_requestid" not in last["hdrs"]

def test_expired_command_is_not_applied(cluster):
    cluster.change(False)
    cid = str(uuid.uuid4())
    cluster.produce_command('{"Run": true}', cluster.command_headers(cid, deadline_in=-60))
    wait_for(lambda: by_correlation(cluster.audits(), cid), 15, "Expired audit")
    audit = json.loads(by_correlation(cluster.audits(), cid)[0]["payload"])
    assert audit["Outcome"] == "Expired"
    assert audit["After"]["IsRunning"] is False
    r = cluster.post("GetEngineStatus", None, content_type=None)
    assert r.json()["IsRunning"] is False


def test_other_engines_commands_are_left_alone(cluster):
    cluster.change(False)
    hdrs = cluster.command_headers(ce_subject="other-engine")
    cluster.produce_command('{"Run": true}', hdrs, key="other-engine")
    time.sleep(1)
    assert not by_correlation(cluster.audits(), hdrs["ce_id"])
    assert cluster.post("GetEngineStatus", None, content_type=None).json()[
        "IsRunning"] is False


# ---- faults ----

def test_stopped_agent_gives_504_and_the_late_command_expires(fresh_cluster):
    c = fresh_cluster
    assert c.procs["agent"].stop() == 0  # SIGTERM: clean exit
    t0 = time.monotonic()
    r = c.change(True)
    took = time.monotonic() - t0
    assert r.status == 504, r.body
    cid = r.headers["X-ErpSync-Command-Id"]
    assert cid in r.json()["ErrorMessage"]
    assert 2.5 <= took <= c.request_timeout_ms / 1000 + 2
    # The agent comes back later: the command is past its deadline.
    c.start_agent()
    wait_for(lambda: by_correlation(c.audits(), cid), 20, "audit of the late command")
    audit = json.loads(by_correlation(c.audits(), cid)[0]["payload"])
    assert audit["Outcome"] == "Expired"
    assert c.post("GetEngineStatus", None, content_type=None).json()["IsRunning"] is False


def test_stopped_broker_gives_503_or_504_never_a_hang(own_broker_cluster):
    c = own_broker_cluster
    c.kill_broker()
    for _ in range(3):
        t0 = time.monotonic()
        r = c.change(True, timeout=20)
        took = time.monotonic() - t0
        assert r.status in (503, 504), r.body
        assert r.json()["ErrorType"] in ("ServiceUnavailable", "GatewayTimeout")
        assert took <= c.request_timeout_ms / 1000 + 2
    assert c.procs["shim"].alive() and c.procs["agent"].alive()
    assert c.get("/healthz").status == 200
    wait_for(lambda: c.get("/readyz").status == 503, 10, "/readyz to report Kafka down")
    # SIGTERM still stops the agent in bounded time without Kafka: 0 when
    # nothing was left to publish, 4 (fatal) when something was.
    t0 = time.monotonic()
    assert c.procs["agent"].stop(timeout=20) in (0, 4)
    assert time.monotonic() - t0 < 20


def test_desired_state_survives_an_agent_restart(fresh_cluster):
    c = fresh_cluster
    assert c.change(True).json()["IsRunning"] is True
    assert c.procs["agent"].stop() == 0
    c.start_agent()
    # The restarted agent announces Running without any command.
    def resumed():
        s = [json.loads(r["payload"]) for r in c.statuses()
             if not r["hdrs"].get("ce_correlationid")]
        return s and s[-1]["State"] == "Running" and s[-1]["Generation"] >= 1
    wait_for(resumed, 15, "Running status after restart")
    assert c.change(False).json()["IsRunning"] is False


def test_clean_shutdown(fresh_cluster):
    c = fresh_cluster
    assert c.change(True).status == 200
    codes = c.stop()
    assert set(codes) >= {"shim", "agent"} and set(codes.values()) == {0}, codes


def test_sigterm_turns_readyz_503_while_calls_are_still_served(fresh_cluster):
    """shutdown.drain.ms: from SIGTERM on /readyz says 503 shutting down
    (the load balancer takes the shim out), calls are served for the drain
    time, then the shim stops with 0; a second signal cuts the drain short."""
    c = fresh_cluster
    c.procs["shim"].stop()
    c.start_shim("--shutdown.drain.ms=4000")
    shim = c.procs["shim"]
    assert c.get("/readyz").status == 200
    t0 = time.monotonic()
    shim.p.send_signal(signal.SIGTERM)
    wait_for(lambda: c.get("/readyz").body == b"shutting down\n", 3,
             "/readyz 503 after SIGTERM")
    assert c.get("/readyz").status == 503
    assert c.change(True).status == 200  # still served while draining
    assert shim.alive()
    assert shim.p.wait(15) == 0
    took = time.monotonic() - t0
    assert took >= 3.5, f"stopped after {took:.1f} s, before the drain ended"

    c.start_shim("--shutdown.drain.ms=60000")
    shim = c.procs["shim"]
    t0 = time.monotonic()
    shim.p.send_signal(signal.SIGTERM)
    wait_for(lambda: c.get("/readyz").status == 503, 3, "/readyz 503")
    shim.p.send_signal(signal.SIGTERM)  # the operator insists
    assert shim.p.wait(15) == 0
    assert time.monotonic() - t0 < 15


def test_agent_metrics_listener(fresh_cluster):
    """metrics.listen: the agent's /healthz, /readyz and /metrics, read by
    Prometheus' parser; commands counted by type and outcome, engines by
    state, a commit latency histogram, the command lag."""
    parser = pytest.importorskip("prometheus_client.parser")
    from conftest import free_port
    c = fresh_cluster
    port = free_port()
    c.procs["agent"].stop()
    c.start_agent(f"--metrics.listen=127.0.0.1:{port}")

    def get(path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}",
                                        timeout=5) as r:
                return r.status, r.read().decode(), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(), e.headers

    wait_for(lambda: get("/readyz")[0] == 200, 20, "the agent's /readyz")
    assert get("/healthz")[:2] == (200, "ok\n")
    assert c.change(True).status == 200
    assert c.change(True).status == 200  # no change
    assert c.post("ChangeEngineInterval", '{"Interval": "00:05:00"}').status == 204
    code, text, headers = get("/metrics")
    assert code == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4"
    m = {}
    for fam in parser.text_string_to_metric_families(text):
        for smp in fam.samples:
            m[(smp.name, tuple(sorted(smp.labels.items())))] = smp.value
    cmd = "erpsync_agent_commands_total"
    assert m[(cmd, (("outcome", "Applied"), ("type", "ChangeEngineStatus")))] == 1
    assert m[(cmd, (("outcome", "NoChange"), ("type", "ChangeEngineStatus")))] == 1
    assert m[(cmd, (("outcome", "Applied"), ("type", "ChangeEngineInterval")))] == 1
    running = m[("erpsync_agent_engines", (("state", "Running"),))]
    starting = m[("erpsync_agent_engines", (("state", "Starting"),))]
    assert running + starting == 1
    assert m[("erpsync_agent_transactions_total", ())] >= 3
    assert m[("erpsync_agent_commit_duration_seconds_count", ())] \
        == m[("erpsync_agent_transactions_total", ())]
    assert m[("erpsync_agent_command_lag", ())] == 0
    assert m[("erpsync_agent_ready", ())] == 1
    info = [(dict(k[1]), v) for k, v in m.items() if k[0] == "erpsync_build_info"]
    assert len(info) == 1 and info[0][1] == 1, info
    assert info[0][0]["program"] == "erpsync-agent" and info[0][0]["version"]
    assert m[("process_open_fds", ())] > 3
    assert get("/nope")[0] == 404
    # A port already taken is a configuration error, said at start.
    busy = Proc("agent-busy", [str(BUILD / "agent/erpsync-agent"),
                               "--engine.id=other", "--bootstrap.servers=x:1",
                               f"--metrics.listen=127.0.0.1:{port}"], c.tmp)
    assert busy.p.wait(15) == 2
    assert "cannot listen there" in (c.tmp / "agent-busy.log").read_text()


def test_restart_resumes_after_the_last_committed_command(fresh_cluster):
    c = fresh_cluster
    for run in (True, False, True):
        assert c.change(run).status == 200
    before = len(c.audits())
    assert c.procs["agent"].stop() == 0
    c.start_agent()
    wait_for(lambda: len(c.statuses()) >= 6, 15, "the restarted agent's status")
    time.sleep(1)
    # Offsets were committed with each transaction: nothing is read twice.
    again = [json.loads(a["payload"]) for a in c.audits()[before:]]
    assert again == [], again


@pytest.mark.skipif(BROKER == "devbroker", reason=(
    "librdkafka 2.0.2's mock cluster does not fence an older producer epoch "
    "(observed: both agents commit); Apache Kafka does"))
def test_second_agent_fences_the_first(fresh_cluster):
    c = fresh_cluster
    assert c.change(True).status == 200
    old = c.procs["agent"]
    # The same engine started elsewhere (its own state dir, its own source).
    (c.tmp / "state-b").mkdir()
    from conftest import Proc
    new = Proc("agent-b", [str(old.args[0]), f"--engine.id={c.engine}",
                           f"--bootstrap.servers={c.bootstrap}",
                           f"--state.dir={c.tmp / 'state-b'}", "--source=/agent-b",
                           "--status.heartbeat.ms=0", *c.topic_args()], c.tmp)
    c.procs["agent-b"] = new
    wait_for(lambda: any(r["hdrs"]["ce_source"] == "/agent-b" for r in c.statuses()),
             30, "the new agent's first status")
    r = c.change(False)
    assert r.status == 200 and r.json()["IsRunning"] is False
    cid = r.headers["X-ErpSync-Command-Id"]
    # The old agent tried to publish the same command, was fenced, and left
    # with exit code 3; only the new one's answer is on the topic.
    assert old.p.wait(30) == 3
    answers = [x for x in c.statuses() if x["hdrs"].get("ce_correlationid") == cid]
    assert answers and all(x["hdrs"]["ce_source"] == "/agent-b" for x in answers)
    assert "fenced" in (c.tmp / "agent.log").read_text()
    assert new.alive()


# ---- signed commands ----

def test_signed_commands_only_when_a_key_is_set(tmp_path):
    """With command.signing.key.file on shim and agent, the shim's commands
    apply; a command written straight to Kafka (unsigned, or signed for
    another principal than it names) is audited Rejected, dead-lettered,
    and changes nothing."""
    key = tmp_path / "command.key"
    key.write_text(os.urandom(32).hex() + "\n")
    key.chmod(0o600)
    c = Cluster(tmp_path)
    c.start_broker()
    c.start_agent(f"--command.signing.key.file={key}")
    c.start_shim(f"--command.signing.key.file={key}")
    try:
        wait_for(lambda: c.statuses(), 15, "first status")
        r = c.change(True)
        assert r.status == 200, r.body
        signed = [x for x in c.consume("commands")
                  if x["hdrs"].get("ce_id") == r.headers["X-ErpSync-Command-Id"]]
        sig = signed[0]["hdrs"]["ce_signature"]
        assert sig.startswith("hmac-sha256=") and len(sig) == 12 + 64
        unsigned, forged = str(uuid.uuid4()), str(uuid.uuid4())
        c.produce_command('{"Run": false}', c.command_headers(unsigned, ce_principal="ceo"))
        # The shim's signature on another command: the id and principal differ.
        c.produce_command('{"Run": false}', c.command_headers(
            forged, ce_principal="ceo", ce_signature=sig))
        wait_for(lambda: len(c.consume("dlq")) >= 2, 15, "two dead letters")
        errors = sorted(x["hdrs"]["erpsync_error"] for x in c.consume("dlq"))
        assert errors == ["the command is not signed",
                          "the command's signature does not match"], errors
        audits = {json.loads(a["payload"])["CommandId"]: json.loads(a["payload"])
                  for a in c.audits()}
        for cid in (unsigned, forged):
            assert audits[cid]["Outcome"] == "Rejected"
            assert audits[cid]["Principal"] == ""  # never the name it claimed
        assert c.post("GetEngineStatus", None, content_type=None).json()["IsRunning"] is True
    finally:
        c.stop()

