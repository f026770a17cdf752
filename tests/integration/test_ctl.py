"""erpsyncctl against a running cluster: status, watch, audit, start, stop,
interval, the exit codes scripts rely on, and the shared settings table.

Runs on the devbroker and on Apache Kafka (ERPSYNC_TEST_BROKER=kafka): the
cluster's topic names are passed with --topic.* like any other setting.
"""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import BUILD, wait_for

CTL = str(BUILD / "ctl" / "erpsyncctl")


def ctl(cluster, *args, timeout=60, env=None, check_rc=None):
    base = [CTL, f"--bootstrap.servers={cluster.bootstrap}",
            f"--topic.commands={cluster.topics['commands']}",
            f"--topic.status={cluster.topics['status']}",
            f"--topic.audit={cluster.topics['audit']}"]
    r = subprocess.run(base + list(args), capture_output=True, text=True,
                       timeout=timeout, env=env)
    if check_rc is not None:
        assert r.returncode == check_rc, (r.returncode, r.stdout, r.stderr)
    return r


def lines(out):
    return [json.loads(l) for l in out.splitlines() if l.strip()]


def test_status_prints_the_latest_status_as_json_when_piped(cluster):
    r = ctl(cluster, "status", check_rc=0)
    rows = lines(r.stdout)  # stdout is a pipe here: JSON lines
    assert [s["engine"] for s in rows] == [cluster.engine]
    last = cluster.statuses()[-1]
    assert rows[0]["sequence"] == int(last["hdrs"]["ce_sequence"])
    assert rows[0]["state"] in ("Stopped", "Running")
    # The same with the engine named, and as text.
    r = ctl(cluster, "status", cluster.engine, "--format=text", check_rc=0)
    assert r.stdout.count("\n") == 1 and f"  {cluster.engine} " in r.stdout
    # An engine nobody runs: exit 5, said on stderr.
    r = ctl(cluster, "status", "no-such-engine", check_rc=5)
    assert "no status for engine no-such-engine" in r.stderr


def test_start_stop_interval_wait_for_the_outcome(cluster):
    r = ctl(cluster, "start", cluster.engine, "--principal=ops-script", check_rc=0)
    audit, status = lines(r.stdout)
    assert audit["outcome"] in ("Applied", "NoChange")
    assert audit["principal"] == "ops-script"
    assert status["isRunning"] is True and status["state"] == "Running"
    assert status["commandId"] == audit["commandId"]
    # The shim sees what the command did.
    got = cluster.post("GetEngineStatus", content_type=None).json()
    assert got["IsRunning"] is True

    r = ctl(cluster, "interval", cluster.engine, "PT7M", check_rc=0)
    audit, status = lines(r.stdout)
    assert audit["outcome"] == "Applied" and status["interval"] == "00:07:00"
    # Out of the agent's bounds: Rejected, exit 3, the reason on stderr.
    r = ctl(cluster, "interval", cluster.engine, "00:00:01", check_rc=3)
    assert lines(r.stdout)[0]["outcome"] == "Rejected"
    assert "Rejected" in r.stderr and "interval" in r.stderr

    # engine.id from the environment, like every setting.
    env = dict(os.environ, ERPSYNC_ENGINE_ID=cluster.engine)
    r = ctl(cluster, "stop", env=env, check_rc=0)
    audit, status = lines(r.stdout)
    assert audit["outcome"] == "Applied" and status["state"] == "Stopped"
    r = ctl(cluster, "stop", cluster.engine, check_rc=0)
    assert lines(r.stdout)[0]["outcome"] == "NoChange"


def test_a_command_nobody_answers_times_out_with_exit_4(cluster):
    t0 = time.monotonic()
    r = ctl(cluster, "start", "engine-without-agent", "--timeout.ms=1500",
            check_rc=4)
    assert time.monotonic() - t0 < 20
    assert "no outcome for command" in r.stderr


def test_audit_filters_by_engine_principal_outcome_and_time(cluster):
    ctl(cluster, "stop", cluster.engine, "--principal=filter-me", check_rc=0)
    ctl(cluster, "interval", cluster.engine, "00:00:02", "--principal=filter-me",
        check_rc=3)
    rows = lines(ctl(cluster, "audit", check_rc=0).stdout)
    assert rows and all(a["engine"] == cluster.engine for a in rows)
    mine = lines(ctl(cluster, "audit", "--filter.principal=filter-me",
                     check_rc=0).stdout)
    assert [a["outcome"] for a in mine] == ["NoChange", "Rejected"] or \
        [a["outcome"] for a in mine] == ["Applied", "Rejected"]
    rejected = lines(ctl(cluster, "audit", cluster.engine,
                         "--filter.principal=filter-me",
                         "--filter.outcome=rejected", check_rc=0).stdout)
    assert len(rejected) == 1 and rejected[0]["outcome"] == "Rejected"
    assert lines(ctl(cluster, "audit", "--filter.since=2000-01-01T00:00:00Z",
                     "--filter.until=2000-01-02T00:00:00Z", check_rc=0).stdout) == []
    recent = lines(ctl(cluster, "audit", "--filter.since=10m", check_rc=0).stdout)
    assert {a["commandId"] for a in mine} <= {a["commandId"] for a in recent}
    r = ctl(cluster, "audit", "--filter.outcome=Maybe", check_rc=2)
    assert "filter.outcome" in r.stderr
    r = ctl(cluster, "audit", "--filter.since=yesterday-ish", check_rc=2)
    assert "RFC 3339" in r.stderr


def test_watch_prints_new_statuses_as_json_lines_and_stops_on_sigint(cluster, tmp_path):
    out = tmp_path / "watch.jsonl"
    with open(out, "wb") as fp:
        p = subprocess.Popen(
            [CTL, f"--bootstrap.servers={cluster.bootstrap}",
             f"--topic.status={cluster.topics['status']}", "watch", cluster.engine],
            stdout=fp, stderr=subprocess.PIPE)
    try:
        time.sleep(2)  # watch starts at the end of the topic
        r = ctl(cluster, "start", cluster.engine, check_rc=0)
        cmd_id = lines(r.stdout)[0]["commandId"]
        wait_for(lambda: any(s.get("commandId") == cmd_id and s["state"] == "Running"
                             for s in lines(out.read_text())), 20, "watched status")
    finally:
        p.send_signal(signal.SIGINT)
        rc = p.wait(20)
    assert rc == 0
    seen = lines(out.read_text())
    assert all(s["engine"] == cluster.engine for s in seen)
    assert [s["state"] for s in seen if s["commandId"] == cmd_id][-1] == "Running"


def test_usage_errors_exit_2_and_shared_flags_work(tmp_path):
    def run(*args):
        return subprocess.run([CTL, *args], capture_output=True, text=True,
                              timeout=30)

    assert run("bogus").returncode == 2
    r = run("--nosuch", "status")
    assert r.returncode == 2 and 'unknown setting "nosuch"' in r.stderr
    assert run("interval").returncode == 2            # TIME missing
    assert run("start").returncode == 2               # which engine?
    assert run("start", "bad engine!").returncode == 2
    assert run("interval", "demo", "soon").returncode == 2
    assert run("status", "--format=yaml").returncode == 2
    assert run().returncode == 2
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("erpsyncctl ")
    r = run("--help")
    assert r.returncode == 0 and "Exit codes" in r.stdout and "filter.since" in r.stdout
    # --check reads a config file like any program, then exits.
    conf = tmp_path / "ctl.conf"
    conf.write_text("bootstrap.servers = kafka-1:9092\ntimeout.ms = 5000\n"
                    "kafka.security.protocol = SASL_SSL\n")
    r = run("-c", str(conf), "--check", "status")
    assert r.returncode == 0 and "configuration is valid" in r.stdout
    conf.write_text("timeout.ms = 5\n")
    assert run("-c", str(conf), "--check").returncode == 2


def test_kafka_unreachable_is_exit_1_or_4_never_0(tmp_path):
    # Nothing listens on port 1: the metadata request never succeeds.
    r = subprocess.run([CTL, "--bootstrap.servers=127.0.0.1:1", "--timeout.ms=1500",
                        "status"], capture_output=True, text=True, timeout=60)
    assert r.returncode in (1, 4), (r.returncode, r.stderr)
    assert r.stderr


def test_audit_follow_prints_new_outcomes_until_sigint(cluster, tmp_path):
    out = tmp_path / "audit.jsonl"
    with open(out, "wb") as fp:
        p = subprocess.Popen(
            [CTL, f"--bootstrap.servers={cluster.bootstrap}",
             f"--topic.audit={cluster.topics['audit']}", "audit", cluster.engine,
             "--follow", "--filter.principal=follower"],
            stdout=fp, stderr=subprocess.PIPE)
    try:
        r = ctl(cluster, "stop", cluster.engine, "--principal=follower", check_rc=0)
        cmd_id = lines(r.stdout)[0]["commandId"]
        wait_for(lambda: cmd_id in {a["commandId"] for a in lines(out.read_text())},
                 20, "followed audit event")
        time.sleep(1)
        assert p.poll() is None, "--follow ended by itself"
    finally:
        p.send_signal(signal.SIGINT)
        rc = p.wait(20)
    assert rc == 0
    assert all(a["principal"] == "follower" for a in lines(out.read_text()))
