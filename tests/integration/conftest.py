"""Fixtures for the end-to-end suite: real processes on loopback.

Each cluster is a devbroker, one agent and one shim, started on free ports in
a temporary directory and stopped by pid when the test (or module) is done.
An independent Kafka client (kcat) reads and writes the topics.
"""
import base64
import json
import os
import pathlib
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

import pytest

SRC = pathlib.Path(os.environ.get("ERPSYNC_SOURCE_DIR",
                                  pathlib.Path(__file__).resolve().parents[2]))
BUILD = pathlib.Path(os.environ.get("ERPSYNC_BUILD_DIR", SRC / "build"))
BASE = "/api/v1/Agents/ErpSync/"
# ERPSYNC_TEST_BROKER=kafka runs the suite on a real Apache Kafka (KRaft,
# started once per session by tests/kafka/kafka.sh); the default is the
# embedded devbroker, one per cluster.
BROKER = os.environ.get("ERPSYNC_TEST_BROKER", "devbroker")
TOPIC_KINDS = ("commands", "status", "audit", "dlq")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                     "runtime error:", "AddressSanitizer:DEADLYSIGNAL")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rfc3339(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def json(self):
        return json.loads(self.body)


class Proc:
    """A child process we started, with its log file; stopped by pid."""

    def __init__(self, name, args, logdir, stdin=None):
        self.name, self.args = name, args
        self.log = open(logdir / f"{name}.log", "ab")
        self.p = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=stdin)

    def alive(self):
        return self.p.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.alive():
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self.log.close()
        return self.p.returncode


class RealKafka:
    """One Apache Kafka for the whole session (tests/kafka/kafka.sh)."""

    def __init__(self, tmp, nodes=1, sasl=False):
        self.dir = tmp
        args = [str(SRC / "tests/kafka/kafka.sh"), "start", "--dir", str(tmp),
                "--nodes", str(nodes)] + (["--sasl"] if sasl else [])
        out = subprocess.run(args, capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            raise RuntimeError("kafka.sh start failed:\n" + out.stderr[-3000:])
        self.bootstrap = (tmp / "bootstrap").read_text().strip()
        self.sasl_bootstrap = None
        self.sasl_props = {}
        if sasl:
            self.sasl_bootstrap = (tmp / "bootstrap_sasl").read_text().strip()
            for line in (tmp / "sasl.properties").read_text().splitlines():
                if "=" in line and not line.startswith("#"):
                    k, v = line.split("=", 1)
                    self.sasl_props[k.strip()] = v.strip()
        self.startup_log = out.stderr

    def _sh(self, *args, timeout=120):
        return subprocess.run([str(SRC / "tests/kafka/kafka.sh"), *args, "--dir",
                               str(self.dir)], capture_output=True, text=True,
                              timeout=timeout)

    def stop(self):
        self._sh("stop")

    def kill_node(self, n):
        out = self._sh("kill-node", "--node", str(n))
        assert out.returncode == 0, out.stderr

    def start_node(self, n):
        out = self._sh("start-node", "--node", str(n), timeout=180)
        assert out.returncode == 0, out.stderr

    def leader(self, topic, partition):
        out = self._sh("leader", "--topic", topic, "--partition", str(partition))
        return int(out.stdout.strip()) if out.returncode == 0 else None


_real_kafka = None


def real_kafka():
    return _real_kafka


class Cluster:
    def __init__(self, tmp, engine="demo", request_timeout_ms=4000):
        self.tmp = tmp
        self.engine = engine
        self.request_timeout_ms = request_timeout_ms
        self.kafka_port = free_port()
        self.http_port = free_port()
        self.bootstrap = f"127.0.0.1:{self.kafka_port}"
        self.kafka = real_kafka() if BROKER == "kafka" else None
        # Topics of their own, so clusters sharing one real Kafka never see
        # each other's events; the agent and shim create them (Admin API).
        prefix = "" if not self.kafka else f"t{uuid.uuid4().hex[:8]}."
        self.topics = {k: prefix + ("erpsync.commands.dlq" if k == "dlq"
                                    else f"erpsync.{k}") for k in TOPIC_KINDS}
        self.kafka_args = []
        if self.kafka:
            self.bootstrap = self.kafka.bootstrap
            self.kafka_args = ["--topics.create=true", "--topics.replication=1"]
        self.user, self.password = "alice", "s3cret-" + uuid.uuid4().hex[:8]
        self.reader, self.reader_password = "bob", "r3ader-" + uuid.uuid4().hex[:8]
        self.procs = {}
        (tmp / "state").mkdir(exist_ok=True)

    # -- processes --
    def _hash(self, password):
        out = subprocess.run([str(BUILD / "shim/erpsync-shim"), "--hash-password"],
                             input=password + "\n", capture_output=True,
                             text=True, check=True)
        return out.stdout.strip()

    def control(self, line):
        """A fault-injection command to the devbroker (see its --help)."""
        p = self.procs["devbroker"].p
        p.stdin.write((line + "\n").encode())
        p.stdin.flush()

    def kill_broker(self):
        """kill -9 the broker(s) this cluster runs on (its own, never shared)."""
        if not self.kafka:
            self.procs["devbroker"].stop(signal.SIGKILL)
            return
        assert self.kafka is not _real_kafka, "will not kill the shared Kafka"
        for pid in (self.kafka.dir / "pids").read_text().split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass

    def topic_args(self):
        return [f"--topic.{k}={v}" for k, v in self.topics.items()] + self.kafka_args

    def start_broker(self, *extra, control=False):
        if self.kafka:
            return  # shared for the session
        pf = self.tmp / "broker"
        if pf.exists():
            pf.unlink()
        self.procs["devbroker"] = Proc("devbroker", [
            str(BUILD / "devbroker/erpsync-devbroker"), f"--port={self.kafka_port}",
            f"--port.file={pf}", *(["--control=true"] if control else []), *extra],
            self.tmp, stdin=subprocess.PIPE if control else None)
        wait_for(lambda: pf.exists(), 10, "devbroker port file")

    def start_agent(self, *extra):
        self.procs["agent"] = Proc("agent", [
            str(BUILD / "agent/erpsync-agent"), f"--engine.id={self.engine}",
            f"--bootstrap.servers={self.bootstrap}",
            f"--state.dir={self.tmp / 'state'}", "--status.heartbeat.ms=0",
            "--shutdown.timeout.ms=15000", *self.topic_args(), *extra], self.tmp)

    def start_shim(self, *extra):
        users, tenants = self.tmp / "users", self.tmp / "tenants"
        if not users.exists():  # a test may have written its own
            users.write_text(
                f"{self.user}:{self._hash(self.password)}:acme:admin\n"
                f"{self.reader}:{self._hash(self.reader_password)}:acme:reader\n")
        if not tenants.exists():
            tenants.write_text(f"acme:{self.engine}\n")
        self.procs["shim"] = Proc("shim", [
            str(BUILD / "shim/erpsync-shim"), f"--bootstrap.servers={self.bootstrap}",
            f"--users.file={users}", f"--tenants.file={tenants}",
            f"--listen.port={self.http_port}",
            f"--request.timeout.ms={self.request_timeout_ms}",
            *self.topic_args(), *extra], self.tmp)
        # A fresh Kafka creates its internal topics on first use: allow for it.
        wait_for(lambda: self.get("/readyz").status == 200,
                 60 if self.kafka else 15, "shim /readyz")

    def start(self):
        self.start_broker()
        self.start_agent()
        self.start_shim()
        # The agent announces itself once it is up: wait for that status.
        wait_for(lambda: self.statuses(), 15, "first status from the agent")
        return self

    def stop(self):
        codes = {}
        # The front first, the broker last; then anything a test added.
        order = [n for n in ("shim", "agent") if n in self.procs]
        order += [n for n in self.procs if n not in order and n != "devbroker"]
        order += ["devbroker"] if "devbroker" in self.procs else []
        for name in order:
            if self.procs[name] is not None:
                codes[name] = self.procs[name].stop()
        # Under `make sanitize` a sanitizer report in any process fails the
        # test that ran it, even when the HTTP answers looked right.
        for log in self.tmp.glob("*.log"):
            text = log.read_text(errors="replace")
            for marker in SANITIZER_MARKERS:
                assert marker not in text, f"{log.name}: {marker}\n{text[-4000:]}"
        return codes

    # -- HTTP --
    def request(self, method, path, body=None, headers=None, auth=True,
                user=None, password=None, timeout=30):
        hdrs = dict(headers or {})
        if auth:
            cred = f"{user or self.user}:{password or self.password}".encode()
            hdrs["Authorization"] = "Basic " + base64.b64encode(cred).decode()
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}",
                                     data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return Response(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, e.headers, e.read())

    def get(self, path):
        try:
            return self.request("GET", path, auth=False, timeout=5)
        except (urllib.error.URLError, ConnectionError):
            return Response(0, {}, b"")

    def post(self, call, body=None, content_type="application/json",
             headers=None, **kw):
        hdrs = {"Content-Type": content_type} if content_type else {}
        hdrs.update(headers or {})
        return self.request("POST", BASE + call, body=body, headers=hdrs, **kw)

    def change(self, run, **kw):
        return self.post("ChangeEngineStatus", json.dumps({"Run": run}), **kw)

    # -- Kafka, through kcat --
    def consume(self, kind):
        """All records of one of our topics (commands, status, audit, dlq)."""
        out = subprocess.run(
            ["kcat", "-C", "-b", self.bootstrap, "-t", self.topics[kind], "-e",
             "-q", "-J", "-X", "isolation.level=read_committed"],
            capture_output=True, text=True, timeout=30)
        records = []
        for line in out.stdout.splitlines():
            rec = json.loads(line)
            h = rec.get("headers") or []
            rec["hdrs"] = dict(zip(h[0::2], h[1::2]))
            records.append(rec)
        return records

    def statuses(self):
        return self.consume("status")

    def audits(self):
        return self.consume("audit")

    def produce_command(self, value, headers, key=None):
        # murmur2, as Java producers and erpsync-shim partition: the agent
        # reads only the partition its engine id maps to.
        args = ["kcat", "-P", "-b", self.bootstrap, "-t", self.topics["commands"],
                "-X", "partitioner=murmur2_random",
                "-k", key if key is not None else self.engine]
        for k, v in headers.items():
            args += ["-H", f"{k}={v}"]
        subprocess.run(args, input=value, text=True, check=True, timeout=30)

    def command_headers(self, run_id=None, deadline_in=30, **over):
        now = datetime.now(timezone.utc)
        h = {
            "ce_specversion": "1.0", "ce_id": run_id or str(uuid.uuid4()),
            "ce_source": "/tests/kcat",
            "ce_type": "com.erpsync.command.ChangeEngineStatus",
            "ce_time": rfc3339(now), "ce_subject": self.engine,
            "content-type": "application/json",
            "ce_deadline": rfc3339(now + timedelta(seconds=deadline_in)),
            "ce_principal": "kcat-test",
        }
        h.update(over)
        return h


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            if pred():
                return
        except (OSError, subprocess.SubprocessError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def structured(rec):
    """A Kafka binary-mode record as a structured CloudEvent (for the schemas)."""
    ev = {}
    for k, v in rec["hdrs"].items():
        if k.startswith("ce_"):
            ev[k[3:]] = v
        elif k == "content-type":
            ev["datacontenttype"] = v
    ev["data"] = json.loads(rec["payload"])
    return ev


@pytest.fixture(scope="session", autouse=True)
def session_kafka(tmp_path_factory):
    """Starts the real Kafka when the suite runs on one; prints what it cost."""
    global _real_kafka
    if BROKER != "kafka":
        yield None
        return
    t0 = time.monotonic()
    _real_kafka = RealKafka(tmp_path_factory.mktemp("kafka"))
    print(f"\nreal Kafka up in {time.monotonic() - t0:.1f}s at {_real_kafka.bootstrap}")
    try:
        yield _real_kafka
    finally:
        _real_kafka.stop()
        _real_kafka = None


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        yield c.start()
    finally:
        c.stop()


@pytest.fixture
def fresh_cluster(tmp_path):
    """A cluster of its own, for tests that stop or break parts of it."""
    c = Cluster(tmp_path, request_timeout_ms=3000)
    try:
        yield c.start()
    finally:
        c.stop()


@pytest.fixture
def own_broker_cluster(tmp_path):
    """A cluster on a broker of its own, for tests that kill the broker."""
    own = None
    c = Cluster(tmp_path, request_timeout_ms=3000)
    if c.kafka:
        own = RealKafka(tmp_path / "kafka")
        c.kafka = own
        c.bootstrap = own.bootstrap
    try:
        yield c.start()
    finally:
        c.stop()
        if own:
            own.stop()


@pytest.fixture(scope="session")
def produce_burst(tmp_path_factory):
    """tests/bench/bench_agent_burst.c, built here: -x produces a burst of
    commands straight to the command topic (-E spreads it over engines)."""
    exe = tmp_path_factory.mktemp("tools") / "produce_burst"
    subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-o", str(exe),
                    str(SRC / "tests/bench/bench_agent_burst.c"), "-lrdkafka"],
                   check=True, timeout=120)
    return exe


@pytest.fixture(scope="session")
def schemas():
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    docs = {}
    for p in (SRC / "proto/schemas").glob("*.json"):
        docs[p.name] = json.loads(p.read_text())
    registry = Registry().with_resources(
        [(d["$id"], Resource.from_contents(d)) for d in docs.values()])
    return {name.split(".")[0]: Draft202012Validator(d, registry=registry)
            for name, d in docs.items() if name != "common.schema.json"}
