"""Read your writes across shims, and a status view that never goes back.

Two shims (A and B) on one cluster. Once any shim has answered a change, a
GetEngineStatus that starts afterwards at any shim returns that status or a
newer one (issue 11, item 3). A status record with an older ce_sequence,
written by hand, never replaces the newer one a shim holds (issue 15,
item 6).

ERPSYNC_RYW_PAIRS sets how many write-at-A, read-at-B pairs the stale-read
test makes (default 100).
"""
import base64
import copy
import http.client
import json
import os
import re
import subprocess
import threading
import time
import uuid
from datetime import datetime, timezone

import pytest

from conftest import BASE, BUILD, Cluster, Proc, free_port, rfc3339, wait_for

PAIRS = int(os.environ.get("ERPSYNC_RYW_PAIRS", "100"))


def start_other_shim(c, name, *extra):
    """Another shim on c's broker, topics, users and tenants; stopped with c.
    @returns a view of c whose HTTP calls go to the new shim."""
    port = free_port()
    c.procs[name] = Proc(name, [
        str(BUILD / "shim/erpsync-shim"), f"--bootstrap.servers={c.bootstrap}",
        f"--users.file={c.tmp / 'users'}", f"--tenants.file={c.tmp / 'tenants'}",
        f"--listen.port={port}", f"--request.timeout.ms={c.request_timeout_ms}",
        *c.topic_args(), *extra], c.tmp)
    other = copy.copy(c)
    other.http_port = port
    wait_for(lambda: other.get("/readyz").status == 200,
             60 if c.kafka else 15, f"{name} /readyz")
    return other


def metric(c, name):
    text = c.get("/metrics").body.decode()
    m = re.search(rf"^{re.escape(name)} (\d+)$", text, re.M)
    assert m, f"{name} missing from /metrics"
    return int(m.group(1))


def read_status(c):
    r = c.post("GetEngineStatus", None, content_type=None)
    assert r.status == 200, r.body
    return r.json()


@pytest.fixture(scope="module")
def two_shims(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("ryw"))
    try:
        c.start()
        yield c, start_other_shim(c, "shim-b")
    finally:
        c.stop()


def test_read_at_b_after_write_at_a_is_never_stale(two_shims):
    a, b = two_shims
    stale = []
    for i in range(PAIRS):
        run = i % 2 == 0
        r = a.change(run)
        assert r.status == 200, r.body
        assert r.json()["IsRunning"] is run
        got = read_status(b)["IsRunning"]
        if got is not run:
            stale.append(i)
    print(f"\n{len(stale)} stale reads in {PAIRS} write-at-A, read-at-B pairs")
    assert stale == []


def test_interval_written_at_a_is_read_at_b(two_shims):
    a, b = two_shims
    try:
        for interval in ("00:30:00", "00:16:00", "01:00:00", "00:15:00"):
            r = a.post("ChangeEngineInterval", json.dumps({"Interval": interval}))
            assert r.status == 204, r.body
            assert read_status(b)["Interval"] == interval
    finally:
        a.post("ChangeEngineInterval", '{"Interval": "00:15:00"}')


def test_reads_keep_the_connection_open(two_shims):
    """A read waits suspended for the view; its answer still keeps the
    connection, as every other answer does."""
    _, b = two_shims
    cred = base64.b64encode(f"{b.user}:{b.password}".encode()).decode()
    conn = http.client.HTTPConnection("127.0.0.1", b.http_port, timeout=10)
    try:
        for _ in range(3):
            conn.request("POST", BASE + "GetEngineStatus", None,
                         {"Authorization": "Basic " + cred})
            r = conn.getresponse()
            r.read()
            assert r.status == 200
            assert not r.will_close, r.getheaders()
        sock = conn.sock
        conn.request("POST", BASE + "GetEngineStatus", None,
                     {"Authorization": "Basic " + cred})
        r = conn.getresponse()
        r.read()
        assert r.status == 200 and conn.sock is sock
    finally:
        conn.close()


def test_reads_that_arrive_together_share_one_query(two_shims):
    a, b = two_shims
    reads0 = metric(b, "erpsync_shim_reads_total")
    queries0 = metric(b, "erpsync_shim_read_queries_total")
    codes = []

    def reader():
        for _ in range(10):
            codes.append(b.post("GetEngineStatus", None, content_type=None).status)

    threads = [threading.Thread(target=reader) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 160
    reads = metric(b, "erpsync_shim_reads_total") - reads0
    queries = metric(b, "erpsync_shim_read_queries_total") - queries0
    print(f"\n{reads} reads, {queries} queries")
    assert reads == 160
    assert 1 <= queries < reads


def test_cached_reads_ask_kafka_nothing(two_shims):
    a, _ = two_shims
    c = start_other_shim(a, "shim-cached", "--status.read.cached=true")
    try:
        a.change(True)
        wait_for(lambda: read_status(c)["IsRunning"] is True, 10,
                 "the cached view to follow")
        assert metric(c, "erpsync_shim_reads_total") == 0
        assert metric(c, "erpsync_shim_read_queries_total") == 0
    finally:
        a.procs.pop("shim-cached").stop()


def forge_status(c, sequence, run):
    """Writes by hand a status record of c's engine, a copy of its latest
    with another ce_id, the given ce_sequence and IsRunning/State."""
    latest = [s for s in c.statuses() if s["key"] == c.engine][-1]
    data = json.loads(latest["payload"])
    data["IsRunning"] = run
    data["State"] = "Running" if run else "Stopped"
    hdrs = dict(latest["hdrs"])
    hdrs.update({"ce_id": str(uuid.uuid4()), "ce_sequence": str(sequence),
                 "ce_time": rfc3339(datetime.now(timezone.utc)),
                 "ce_source": "/tests/by-hand"})
    hdrs.pop("ce_correlationid", None)
    args = ["kcat", "-P", "-b", c.bootstrap, "-t", c.topics["status"],
            "-X", "partitioner=murmur2_random", "-k", c.engine]
    for k, v in hdrs.items():
        args += ["-H", f"{k}={v}"]
    subprocess.run(args, input=json.dumps(data), text=True, check=True,
                   timeout=30)
    return int(latest["hdrs"]["ce_sequence"])


def test_an_older_sequence_never_replaces_a_newer_one(two_shims):
    a, b = two_shims
    assert a.change(True).json()["IsRunning"] is True
    received = [metric(s, "erpsync_shim_statuses_received_total") for s in (a, b)]
    real = forge_status(a, 1, run=False)
    assert real > 1
    for s, before in zip((a, b), received):
        wait_for(lambda: metric(s, "erpsync_shim_statuses_received_total") > before,
                 15, "the shim to read the forged status")
        assert read_status(s)["IsRunning"] is True
        assert metric(s, "erpsync_shim_statuses_stale_total") >= 1
    log = (a.tmp / "shim.log").read_text(errors="replace")
    assert f"ce_sequence 1 is not newer than {real}" in log
    # The agent's next status (a higher sequence) is taken as ever.
    assert a.change(False).json()["IsRunning"] is False
    assert read_status(b)["IsRunning"] is False


def test_broker_gone_reads_fail_in_bounded_time_cached_reads_answer(
        own_broker_cluster):
    """A read that cannot learn where the status topic ends is refused
    (503, or 504 at the deadline), never answered from a view that may be
    old and never left hanging; with status.read.cached the view answers."""
    c = own_broker_cluster
    cached = start_other_shim(c, "shim-cached", "--status.read.cached=true")
    assert read_status(c)["IsRunning"] is False
    c.kill_broker()
    for _ in range(3):
        t0 = time.monotonic()
        r = c.post("GetEngineStatus", None, content_type=None, timeout=20)
        took = time.monotonic() - t0
        assert r.status in (503, 504), r.body
        assert r.json()["ErrorType"] in ("ServiceUnavailable", "GatewayTimeout")
        assert "Kafka is unavailable" in r.json()["ErrorMessage"] or \
            "could not read the status topic" in r.json()["ErrorMessage"]
        assert took <= c.request_timeout_ms / 1000 + 2
    assert read_status(cached)["IsRunning"] is False
    assert c.procs["shim"].alive()


def test_an_agent_whose_state_was_reset_is_followed(fresh_cluster):
    """After its state file is lost the agent numbers on from the last
    status on the topic (it reads it back at start), so the shims take its
    statuses: had it started again at 1, every one would be ignored and
    changes would end in 504."""
    c = fresh_cluster
    assert c.change(True).json()["IsRunning"] is True
    last = max(int(s["hdrs"]["ce_sequence"]) for s in c.statuses())
    assert c.procs["agent"].stop() == 0
    (c.tmp / "state" / f"{c.engine}.state.json").unlink()
    c.start_agent()
    wait_for(lambda: max(int(s["hdrs"]["ce_sequence"]) for s in c.statuses()) > last,
             30, "the reset agent's first status")
    r = c.change(False)
    assert r.status == 200, r.body
    assert r.json()["IsRunning"] is False
    assert read_status(c)["IsRunning"] is False
    assert metric(c, "erpsync_shim_statuses_stale_total") == 0
