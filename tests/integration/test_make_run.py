"""`make run` as a user meets it: the printed curl line works, Ctrl-C stops all."""
import os
import re
import shlex
import signal
import subprocess
import time

import pytest

from conftest import BROKER, SRC, BUILD, free_port, wait_for

pytestmark = pytest.mark.skipif(BROKER != "devbroker",
                                reason="make run always uses the devbroker")


def test_run_script_prints_a_working_curl_and_stops_cleanly(tmp_path):
    env = dict(os.environ, ERPSYNC_RUN_DIR=str(tmp_path / "run"),
               ERPSYNC_KAFKA_PORT=str(free_port()), ERPSYNC_HTTP_PORT=str(free_port()),
               ERPSYNC_DEMO_USER="demo", ERPSYNC_DEMO_PASSWORD="pw-" + str(os.getpid()))
    out = tmp_path / "out.txt"
    with open(out, "wb") as fp:
        p = subprocess.Popen([str(SRC / "scripts/run-local.sh"), str(BUILD)], env=env,
                             stdout=fp, stderr=subprocess.STDOUT, cwd=tmp_path,
                             start_new_session=True)
    try:
        wait_for(lambda: "Ctrl-C stops everything" in out.read_text(), 30,
                 "make run banner")
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
        os.killpg(p.pid, signal.SIGINT)
        try:
            rc = p.wait(30)
        except subprocess.TimeoutExpired:
            rc = None
        if rc is None:
            # Failed to stop: clean up what it started before failing.
            pids = tmp_path / "run" / "pids"
            for pid in (pids.read_text().split() if pids.exists() else []):
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            os.killpg(p.pid, signal.SIGKILL)
            p.wait(10)
    assert rc == 0
    # Nothing it started is left: not the script's group, nor the three
    # programs (each in a session of its own), by the pids it recorded.
    children = (tmp_path / "run" / "pids").read_text().split()
    assert len(children) == 3
    time.sleep(0.5)
    left = []
    for pid in [p.pid] + [int(c) for c in children]:
        try:
            os.kill(pid, 0)
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split(")")[-1].split()[0] != "Z":
                    left.append(pid)
        except (ProcessLookupError, FileNotFoundError):
            pass
    assert not left, f"make run left processes behind: {left}"
