"""Log lines as operators ship them: log.format=json gives one JSON object a
line, librdkafka's own lines included (routed through our logger, never its
default "%3|..." format), and a broker error is reported once, not twice."""
import json
import re
import signal
import time

from conftest import BUILD, Cluster, Proc, free_port, wait_for


def json_lines(path):
    lines = path.read_text(errors="strict").splitlines()
    assert lines, "no log lines"
    out = []
    for line in lines:
        obj = json.loads(line)  # every line, or the test fails here
        assert set(obj) == {"time", "program", "level", "msg"}, obj
        assert obj["level"] in ("error", "warn", "info", "debug"), obj
        out.append(obj)
    return out


def test_agent_logs_json_and_broker_errors_once(tmp_path):
    # Nothing listens on this port: every connection attempt is refused.
    dead = f"127.0.0.1:{free_port()}"
    agent = Proc("agent", [
        str(BUILD / "agent/erpsync-agent"), "--engine.id=logs",
        f"--bootstrap.servers={dead}", f"--state.dir={tmp_path}",
        "--log.format=json"], tmp_path)
    log = tmp_path / "agent.log"
    try:
        wait_for(lambda: log.read_text().count("Connection refused") >= 2, 20,
                 "two refused connections in the log")
        time.sleep(0.5)
    finally:
        agent.stop()
    lines = json_lines(log)
    assert {o["program"] for o in lines} == {"erpsync-agent"}
    refused = [o["msg"] for o in lines if "Connection refused" in o["msg"]]
    # librdkafka's line (facility FAIL) only; the error callback's copy of
    # the same failure (_TRANSPORT) is not printed again.
    assert refused and all(" FAIL: " in m for m in refused), refused
    assert not any("_TRANSPORT" in o["msg"] for o in lines), refused


def test_shim_logs_json(tmp_path):
    c = Cluster(tmp_path)
    c.start_broker()
    c.start_agent("--log.format=json")
    c.start_shim("--log.format=json")
    try:
        wait_for(lambda: c.statuses(), 15, "first status")
        assert c.change(True).status == 200
    finally:
        c.stop()
    for name in ("agent", "shim"):
        lines = json_lines(tmp_path / f"{name}.log")
        assert any(o["level"] == "info" for o in lines), name


def test_unknown_log_format_is_refused(tmp_path):
    p = Proc("agent", [str(BUILD / "agent/erpsync-agent"), "--engine.id=x",
                       f"--state.dir={tmp_path}", "--log.format=yaml"], tmp_path)
    assert p.p.wait(10) != 0
    p.stop()
    assert "log.format" in (tmp_path / "agent.log").read_text()


def test_sighup_reopens_the_log_file_and_kills_nothing(tmp_path):
    c = Cluster(tmp_path)
    logs = {n: tmp_path / f"{n}.file.log" for n in ("agent", "shim")}
    c.start_broker()
    c.start_agent(f"--log.file={logs['agent']}")
    c.start_shim(f"--log.file={logs['shim']}")
    try:
        wait_for(lambda: c.statuses(), 15, "first status")
        assert c.change(True).status == 200
        wait_for(lambda: re.search(r"Running \(by command [0-9a-f-]{36}\)",
                                   logs["agent"].read_text()), 10,
                 "the agent's line about Running")
        # What logrotate does: move the file away, then SIGHUP.
        for name, path in logs.items():
            path.rename(path.with_suffix(".1"))
            c.procs[name].p.send_signal(signal.SIGHUP)
        wait_for(lambda: all(p.exists() for p in logs.values()), 5,
                 "log files opened again")
        assert c.change(False).status == 200
        wait_for(lambda: "Stopped (by command " in logs["agent"].read_text(), 10,
                 "the agent's next lines in the new file")
        assert all(c.procs[n].alive() for n in logs), "SIGHUP stopped a program"
        assert "Stopped (by command " not in logs["agent"].with_suffix(".1").read_text()
    finally:
        codes = c.stop()
    assert codes["agent"] == 0 and codes["shim"] == 0, codes


def test_sighup_reloads_users_and_tenants(tmp_path):
    """The operator edits the users file and sends SIGHUP: a new user logs
    in, a removed one is refused at once (no cached credential survives),
    and a broken file keeps the files read before, with an error line."""
    c = Cluster(tmp_path)
    c.start()
    try:
        assert c.change(True).status == 200  # cached: the next one hits it
        users = tmp_path / "users"
        users.write_text(f"dora:{c._hash('d0ra-pass')}:acme:admin\n")
        assert c.change(False).status == 200  # not read yet
        c.procs["shim"].p.send_signal(signal.SIGHUP)
        wait_for(lambda: c.post("GetEngineStatus", user="dora",
                                password="d0ra-pass").status == 200, 10,
                 "dora logs in after SIGHUP")
        assert c.change(True).status == 401, "a removed user still logged in"
        log = tmp_path / "shim.log"
        assert "reload: read the users, tenants and app tokens files again (1 users" \
            in log.read_text()
        users.write_text("dora:not-a-hash:acme\n")
        c.procs["shim"].p.send_signal(signal.SIGHUP)
        wait_for(lambda: "keeping the files read before" in log.read_text(), 10,
                 "the reload's error line")
        assert c.post("GetEngineStatus", user="dora",
                      password="d0ra-pass").status == 200
        assert c.procs["shim"].alive()
    finally:
        codes = c.stop()
    assert codes["shim"] == 0, codes


def test_one_access_line_per_request_and_no_secret(tmp_path):
    """Method, route, status, duration, principal and command id, one line
    a request; a wrong password and the right one never appear; probes only
    at debug."""
    c = Cluster(tmp_path)
    c.start_broker()
    c.start_agent()
    c.start_shim("--log.format=json")
    try:
        wait_for(lambda: c.statuses(), 15, "first status")
        assert c.change(True).status == 200
        assert c.change(True, password="wrong-" + c.password).status == 401
        assert c.request("POST", "/api/v1/Agents/ErpSync/Nope", body="{}").status == 404
        assert c.get("/healthz").status == 200
        cid = [json.loads(a["payload"])["CommandId"] for a in c.audits()][-1]
    finally:
        c.stop()
    text = (tmp_path / "shim.log").read_text()
    assert c.password not in text
    access = [o["msg"] for o in json_lines(tmp_path / "shim.log")
              if o["msg"].startswith("access: ") and o["level"] == "info"]
    ok = [m for m in access if " 200 " in m and "ChangeEngineStatus" in m]
    assert len(ok) == 1, access
    assert re.fullmatch(r"access: POST ChangeEngineStatus 200 [0-9.]+ ms alice "
                        r"command " + cid, ok[0]), ok[0]
    assert any(re.fullmatch(r"access: POST ChangeEngineStatus 401 [0-9.]+ ms -", m)
               for m in access), access
    assert any(re.fullmatch(r"access: POST - 404 [0-9.]+ ms -", m) for m in access), access
    assert not any("/healthz" in m for m in access), "a probe logged at info"
