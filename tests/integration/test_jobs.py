"""The engine runs real sync jobs, and its status says what really happened.

Small shell scripts stand in for an integrator's job: one that succeeds, one
that fails, one that hangs past its timeout, one that ignores SIGTERM, and a
missing binary. Each test checks the exact status events and that no job
process is left behind.
"""
import json
import os
import time

import pytest

from conftest import Cluster, wait_for


def write_job(tmp, name, body):
    p = tmp / name
    p.write_text("#!/bin/sh\necho $$ >> " + str(tmp / "pids") + "\n" + body)
    p.chmod(0o755)
    return p


def no_job_left(tmp):
    pids = (tmp / "pids").read_text().split() if (tmp / "pids").exists() else []
    for pid in pids:
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            continue
        # A zombie is gone for every purpose but its entry.
        with open(f"/proc/{pid}/stat") as f:
            if f.read().split(")")[-1].split()[0] != "Z":
                return False
    return True


def events(c):
    return [(r["hdrs"].get("ce_correlationid"), json.loads(r["payload"]))
            for r in c.statuses()]


def iterations(c):
    return [d["LastIteration"] for cid, d in events(c)
            if d["LastIteration"] and not cid]


@pytest.fixture
def job_cluster(tmp_path):
    clusters = []

    def make(job, *agent_args, interval=3600):
        c = Cluster(tmp_path, request_timeout_ms=5000)
        clusters.append(c)
        c.start_broker()
        c.start_agent(f"--job.command={job}", f"--engine.interval={interval}",
                      *agent_args)
        c.start_shim()
        wait_for(lambda: c.statuses(), 15, "first status")
        return c
    yield make
    for c in clusters:
        c.stop()


def test_succeeding_job_reports_every_iteration(tmp_path, job_cluster):
    job = write_job(tmp_path, "ok.sh",
                    'echo "it=$ERPSYNC_ITERATION eng=$ERPSYNC_ENGINE_ID '
                    'prev=$ERPSYNC_PREVIOUS_OUTCOME arg=$1" >&2\nexit 0\n')
    c = job_cluster(job, "--job.args=first\\ arg", interval=2)
    r = c.change(True)
    assert r.status == 200 and r.json()["IsRunning"] is True
    wait_for(lambda: len(iterations(c)) >= 2, 20, "two iterations")
    its = iterations(c)
    assert its[0]["Number"] == 1 and its[1]["Number"] == 2
    assert its[0]["Outcome"] == "Succeeded" and its[0]["ExitCode"] == 0
    assert its[0]["Detail"] == "it=1 eng=demo prev=None arg=first arg"
    assert its[1]["Detail"] == "it=2 eng=demo prev=Succeeded arg=first arg"
    # Every interval from the start of the last: no overlap, no burst.
    from datetime import datetime
    t = [datetime.fromisoformat(i["StartedAt"].replace("Z", "+00:00")) for i in its[:2]]
    assert 1.9 <= (t[1] - t[0]).total_seconds() <= 4
    c.change(False)
    wait_for(lambda: no_job_left(tmp_path), 10, "no job process left")


def test_failing_job_reports_exit_code_and_stderr(tmp_path, job_cluster):
    job = write_job(tmp_path, "fail.sh",
                    'echo "connecting to erp" >&2\necho "erp: connection refused" >&2\n'
                    'exit 3\n')
    c = job_cluster(job, interval=1)
    c.change(True)
    wait_for(lambda: len(iterations(c)) >= 2, 20, "two failed iterations")
    its = iterations(c)
    assert its[0]["Outcome"] == "Failed" and its[0]["ExitCode"] == 3
    assert its[0]["Detail"] == "erp: connection refused"
    fails = [d["ConsecutiveFailures"] for cid, d in events(c)
             if d["LastIteration"] and not cid]
    assert fails[:2] == [1, 2]
    # Backing off: the second failure waits two intervals.
    last = [d for cid, d in events(c) if d["LastIteration"]][-1]
    assert last["State"] == "Running" and last["NextIterationAt"]


def test_hanging_job_is_timed_out(tmp_path, job_cluster):
    job = write_job(tmp_path, "hang.sh", "sleep 30\n")
    c = job_cluster(job, "--job.timeout.ms=1000", "--job.kill.grace.ms=500")
    c.change(True)
    wait_for(lambda: iterations(c), 15, "the timed-out iteration")
    it = iterations(c)[0]
    assert it["Outcome"] == "TimedOut"
    assert it["Signal"] == 15
    assert "timeout" in it["Detail"]
    wait_for(lambda: no_job_left(tmp_path), 5, "no job process left")


def test_job_ignoring_sigterm_gets_sigkill(tmp_path, job_cluster):
    job = write_job(tmp_path, "ignores-term.sh", "trap '' TERM\nsleep 30\n")
    c = job_cluster(job, "--job.timeout.ms=1000", "--job.kill.grace.ms=500")
    c.change(True)
    wait_for(lambda: iterations(c), 15, "the killed iteration")
    it = iterations(c)[0]
    assert it["Outcome"] == "TimedOut"
    assert it["Signal"] == 9
    wait_for(lambda: no_job_left(tmp_path), 5, "no job process left")


def test_missing_binary_fails_the_engine(tmp_path, job_cluster):
    c = job_cluster(tmp_path / "no-such-job")
    r = c.change(True)
    assert r.status == 200
    wait_for(lambda: events(c)[-1][1]["State"] == "Failed", 10, "Failed state")
    d = events(c)[-1][1]
    assert d["IsRunning"] is False
    assert "No such file or directory" in d["StatusMessage"]
    assert d["LastIteration"]["Outcome"] == "NotStarted"
    assert c.post("GetEngineStatus", None, content_type=None).json()["IsRunning"] is False
    # Run=false clears the failure.
    assert c.change(False).json()["StatusMessage"] == "The ERP sync engine is stopped."


def test_stop_waits_for_the_iteration_then_reports_stopped(tmp_path, job_cluster):
    job = write_job(tmp_path, "slow.sh", "sleep 2\necho done >&2\n")
    c = job_cluster(job)
    c.change(True)
    time.sleep(0.5)  # the first iteration is running now
    r = c.change(False)
    assert r.status == 200
    assert r.json()["IsRunning"] is False
    assert "stopping" in r.json()["StatusMessage"]
    cid = r.headers["X-ErpSync-Command-Id"]
    wait_for(lambda: [d for k, d in events(c) if k == cid and d["State"] == "Stopped"],
             10, "Stopped after the iteration")
    mine = [d["State"] for k, d in events(c) if k == cid]
    assert mine == ["Stopping", "Stopped"]
    assert iterations(c)[-1]["Outcome"] == "Succeeded"
    assert iterations(c)[-1]["Detail"] == "done"


def test_stop_grace_then_terminated(tmp_path, job_cluster):
    job = write_job(tmp_path, "long.sh", "sleep 30\n")
    c = job_cluster(job, "--job.stop.grace.ms=300", "--job.kill.grace.ms=500")
    c.change(True)
    time.sleep(0.5)
    r = c.change(False)
    cid = r.headers["X-ErpSync-Command-Id"]
    wait_for(lambda: [d for k, d in events(c) if k == cid and d["State"] == "Stopped"],
             10, "Stopped after termination")
    assert iterations(c)[-1]["Outcome"] == "Terminated"
    wait_for(lambda: no_job_left(tmp_path), 5, "no job process left")


def test_agent_shutdown_terminates_the_job_and_reports_it(tmp_path, job_cluster):
    job = write_job(tmp_path, "long.sh", "sleep 30\n")
    c = job_cluster(job, "--job.kill.grace.ms=500")
    c.change(True)
    time.sleep(0.5)
    assert c.procs["agent"].stop() == 0
    assert iterations(c)[-1]["Outcome"] == "Terminated"
    assert no_job_left(tmp_path)
