"""`make run` as a user meets it: the printed curl line works, Ctrl-C stops all.

Also: the build stays quiet, every start-up failure exits non-zero with its
cause, SIGHUP and the script's own death stop every child, and with Apache
Kafka the status topic is readable by kcat, kafka-python and Kafka's own
Java console consumer (read_committed).
"""
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time

import pytest

from conftest import BROKER, SRC, BUILD, free_port, wait_for

pytestmark = pytest.mark.skipif(BROKER != "devbroker",
                                reason="make run starts its own broker")
BANNER_END = "Ctrl-C stops everything"


def run_env(tmp_path, **extra):
    env = dict(os.environ, ERPSYNC_RUN_DIR=str(tmp_path / "run"),
               ERPSYNC_KAFKA_PORT=str(free_port()), ERPSYNC_HTTP_PORT=str(free_port()),
               ERPSYNC_DEMO_USER="demo", ERPSYNC_DEMO_PASSWORD="pw-" + str(os.getpid()),
               ERPSYNC_BROKER="devbroker")
    env.update(extra)
    return env


def start(tmp_path, env, args=None, cwd=None):
    out = tmp_path / "out.txt"
    with open(out, "wb") as fp:
        p = subprocess.Popen(args or [str(SRC / "scripts/run-local.sh"), str(BUILD)],
                             env=env, stdout=fp, stderr=subprocess.STDOUT,
                             cwd=cwd or tmp_path, start_new_session=True)
    return p, out


def recorded(tmp_path):
    pids = tmp_path / "run" / "pids"
    return [int(x) for x in pids.read_text().split()] if pids.exists() else []


def running(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return False


def kafka_pids(tmp_path):
    f = tmp_path / "run" / "kafka" / "pids"
    return [int(x) for x in f.read_text().split()] if f.exists() else []


def stop(p, tmp_path, sig=signal.SIGINT, group=True):
    """Sends sig; on a hang, SIGKILLs what the run recorded. Returns rc."""
    if group:
        os.killpg(p.pid, sig)
    else:
        os.kill(p.pid, sig)
    try:
        return p.wait(60)
    except subprocess.TimeoutExpired:
        for pid in recorded(tmp_path) + kafka_pids(tmp_path):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(10)
        return None


def assert_nothing_left(pids, within=5):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and any(running(p) for p in pids):
        time.sleep(0.1)
    left = [p for p in pids if running(p)]
    assert not left, f"make run left processes behind: {left}"


def test_run_script_prints_a_working_curl_and_stops_cleanly(tmp_path):
    env = run_env(tmp_path)
    p, out = start(tmp_path, env)
    try:
        wait_for(lambda: BANNER_END in out.read_text(), 30, "make run banner")
        text = out.read_text()
        assert "demo / " + env["ERPSYNC_DEMO_PASSWORD"] in text
        m = re.search(r"^  (curl .*?ChangeEngineStatus)$", text, re.S | re.M)
        assert m, text
        cmd = shlex.split(m.group(1).replace("\\\n", " "))
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        assert '"IsRunning":true' in r.stdout, r.stdout + r.stderr
        assert "kcat -C -b 127.0.0.1:" in text
    finally:
        # Ctrl-C goes to the whole foreground process group, as in a terminal.
        rc = stop(p, tmp_path)
    assert rc == 0
    # Nothing it started is left: not the script's group, nor the three
    # programs (each in a session of its own), by the pids it recorded.
    children = recorded(tmp_path)
    assert len(children) == 3
    assert_nothing_left([p.pid] + children)


def configured_make_args():
    """BUILD_TYPE and CMAKE_ARGS the build directory was made with by make,
    so `make run` does not reconfigure it; None when make did not make it."""
    stamp = BUILD / ".erpsync-configure"
    if not stamp.exists():
        return None
    words = stamp.read_text().split()
    return [f"BUILD={BUILD}", f"BUILD_TYPE={words[0]}",
            "CMAKE_ARGS=" + " ".join(words[1:])]


def test_make_run_is_quiet(tmp_path):
    # It printed 225 lines, 88 of them gmake's Entering/Leaving, the banner
    # at line 210.
    make_args = configured_make_args()
    if make_args is None:
        pytest.skip("the build directory was not configured by make")
    env = run_env(tmp_path)
    # As typed in a terminal: in the source tree, not under another make
    # (ctest may run under `make test`, whose MAKELEVEL turns on -w).
    for var in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS"):
        env.pop(var, None)
    p, out = start(tmp_path, env, ["make", "run"] + make_args, cwd=SRC)
    try:
        wait_for(lambda: BANNER_END in out.read_text(), 300, "make run banner")
    finally:
        stop(p, tmp_path)
    lines = out.read_text().splitlines()
    assert not [l for l in lines if "Entering directory" in l or
                "Leaving directory" in l], lines
    banner = next(i for i, l in enumerate(lines) if "erpsync is running" in l)
    end = next(i for i, l in enumerate(lines) if BANNER_END in l)
    assert banner <= 4, lines[:banner + 1]
    assert end <= 25, lines


@pytest.mark.parametrize("which", ["ERPSYNC_KAFKA_PORT", "ERPSYNC_HTTP_PORT"])
def test_a_taken_port_fails_with_its_cause(tmp_path, which):
    # It exited 0 (the EXIT trap's `exit 0`).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        env = run_env(tmp_path, **{which: str(s.getsockname()[1])})
        p, out = start(tmp_path, env)
        rc = p.wait(30)
    text = out.read_text()
    assert rc != 0, text
    assert f"port {env[which]}" in text and which in text, text
    assert "erpsync is running" not in text
    assert_nothing_left(recorded(tmp_path))


def test_a_stale_broker_file_does_not_hide_a_broker_that_failed(tmp_path):
    # A socket bound but not listening: the port looks free to a connect,
    # but the devbroker cannot bind it. The old script found the stale
    # .run/broker file, went on and printed credentials that got 401.
    run = tmp_path / "run"
    run.mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        (run / "broker").write_text(f"127.0.0.1:{port}\n")
        env = run_env(tmp_path, ERPSYNC_KAFKA_PORT=str(port))
        p, out = start(tmp_path, env)
        rc = p.wait(30)
    text = out.read_text()
    assert rc != 0, text
    assert "devbroker exited during start-up" in text, text
    assert "Address already in use" in text, text
    assert "demo credentials" not in text
    assert_nothing_left(recorded(tmp_path))


def test_sighup_stops_every_child(tmp_path):
    # Closing the terminal left devbroker, agent and shim running under init.
    p, out = start(tmp_path, run_env(tmp_path))
    try:
        wait_for(lambda: BANNER_END in out.read_text(), 30, "make run banner")
    finally:
        rc = stop(p, tmp_path, signal.SIGHUP)
    assert rc == 0, out.read_text()
    children = recorded(tmp_path)
    assert len(children) == 3
    assert_nothing_left(children)


@pytest.mark.parametrize("broker", ["devbroker", "kafka"])
def test_children_do_not_outlive_a_killed_script(tmp_path, broker):
    # The programs get SIGTERM from the kernel (pdeathsig); Kafka's JVM is
    # kafka.sh's child, not the script's: a watchdog stops it.
    if broker == "kafka" and shutil.which("java") is None:
        pytest.skip("Apache Kafka needs Java")
    p, out = start(tmp_path, run_env(tmp_path, ERPSYNC_BROKER=broker))
    try:
        wait_for(lambda: BANNER_END in out.read_text(), 240, "make run banner")
        children = recorded(tmp_path) + kafka_pids(tmp_path)
    finally:
        rc = stop(p, tmp_path, signal.SIGKILL, group=False)
    assert rc == -signal.SIGKILL
    assert len(children) == 3
    assert_nothing_left(children, within=40 if broker == "kafka" else 10)


def test_a_child_that_dies_ends_the_run_non_zero(tmp_path):
    p, out = start(tmp_path, run_env(tmp_path))
    try:
        wait_for(lambda: BANNER_END in out.read_text(), 30, "make run banner")
        children = recorded(tmp_path)
        os.kill(children[1], signal.SIGKILL)  # newest first: shim, agent, broker
        rc = p.wait(30)
    finally:
        if p.poll() is None:
            stop(p, tmp_path)
    assert rc == 1
    assert "agent exited" in out.read_text()
    assert_nothing_left(children)


# ---- Apache Kafka: any Kafka client reads the status topic ----

def java_console_consumer(broker, run_dir):
    cp = subprocess.run([str(SRC / "tests/kafka/kafka.sh"), "classpath"],
                        capture_output=True, text=True, timeout=300, check=True)
    r = subprocess.run(
        ["java", "-Xmx256m", "-XX:TieredStopAtLevel=1",
         f"-Dlog4j.configuration=file:{run_dir}/kafka/tools-log4j.properties",
         "org.apache.kafka.tools.consumer.ConsoleConsumer",
         "--bootstrap-server", broker, "--topic", "erpsync.status",
         "--from-beginning", "--isolation-level", "read_committed",
         "--timeout-ms", "10000", "--property", "print.key=true"],
        env=dict(os.environ, CLASSPATH=cp.stdout.strip()),
        capture_output=True, text=True, timeout=120)
    return r.stdout


def kafka_python_consumer(broker):
    kafka = pytest.importorskip("kafka")
    c = kafka.KafkaConsumer("erpsync.status", bootstrap_servers=broker,
                            isolation_level="read_committed",
                            auto_offset_reset="earliest", consumer_timeout_ms=10000)
    try:
        return [(m.key.decode(), m.value.decode()) for m in c]
    finally:
        c.close()


@pytest.mark.skipif(shutil.which("java") is None, reason="Apache Kafka needs Java")
def test_kafka_run_serves_kcat_kafka_python_and_the_java_client(tmp_path):
    # The devbroker served librdkafka only; kafka-python 3.x could not even
    # bootstrap. With Java present, make run runs Apache Kafka and says so.
    env = run_env(tmp_path, ERPSYNC_BROKER="auto")
    p, out = start(tmp_path, env)
    try:
        wait_for(lambda: BANNER_END in out.read_text(), 240, "make run banner")
        text = out.read_text()
        assert "Apache Kafka 3.8.1" in text, text
        broker = re.search(r"Kafka\s+(127\.0\.0\.1:\d+)", text)[1]
        assert broker.endswith(":" + env["ERPSYNC_KAFKA_PORT"])
        m = re.search(r"^  (curl .*?ChangeEngineStatus)$", text, re.S | re.M)
        r = subprocess.run(shlex.split(m.group(1).replace("\\\n", " ")),
                           capture_output=True, text=True, timeout=30)
        assert '"IsRunning":true' in r.stdout, r.stdout + r.stderr

        kc = subprocess.run(["kcat", "-C", "-b", broker, "-t", "erpsync.status",
                             "-X", "isolation.level=read_committed", "-e",
                             "-f", "%k %s\n"], capture_output=True, text=True,
                            timeout=60)
        assert re.search(r'^demo .*"IsRunning":true', kc.stdout, re.M), kc.stderr
        records = kafka_python_consumer(broker)
        assert any(k == "demo" and '"IsRunning":true' in v for k, v in records), records
        java = java_console_consumer(broker, tmp_path / "run")
        assert re.search(r'^demo\t.*"IsRunning":true', java, re.M), java
        jvms = kafka_pids(tmp_path)
        assert jvms
    finally:
        rc = stop(p, tmp_path)
    assert rc == 0, out.read_text()
    assert_nothing_left(recorded(tmp_path) + jvms, within=30)


def test_make_reconfigures_when_cmake_args_change(tmp_path):
    # Issue 13: once build/ existed, CMAKE_ARGS were ignored.
    build = tmp_path / "b"
    cache = build / "CMakeCache.txt"
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}

    def configure(args):
        r = subprocess.run(["make", f"BUILD={build}", f"CMAKE_ARGS={args}",
                            str(cache)], cwd=SRC, env=env, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr
        return r.stdout, re.search(r"^ERPSYNC_WERROR:BOOL=(\w+)$",
                                   cache.read_text(), re.M)[1]

    out, werror = configure("-DERPSYNC_WERROR=ON")
    assert "cmake -S" in out and werror == "ON"
    out, werror = configure("-DERPSYNC_WERROR=ON")
    assert "cmake -S" not in out and werror == "ON"  # unchanged: no configure
    # Dropped from CMAKE_ARGS: a fresh cache, not the old value kept.
    out, werror = configure("")
    assert "cmake -S" in out and werror == "OFF"
