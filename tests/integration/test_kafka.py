"""What only a real Apache Kafka can show (ERPSYNC_TEST_BROKER=kafka).

- an independent subscriber (kafka-python, no librdkafka) reading with
  read_committed sees every event once and every event matches the schemas;
- a subscriber group joining late still learns every engine's latest status;
- SASL/SCRAM through nothing but pass-through librdkafka properties, and a
  client without credentials cannot write commands;
- a three-node cluster (replication 3, min.insync.replicas 2).
"""
import json
import subprocess
import time
import uuid

import pytest

from conftest import BROKER, Cluster, RealKafka, structured, wait_for

pytestmark = pytest.mark.skipif(BROKER != "kafka",
                                reason="needs a real Kafka (ERPSYNC_TEST_BROKER=kafka)")


def read_all(bootstrap, topics, group, idle_s=3.0, **extra):
    """Everything a fresh group reads, read_committed, until idle_s of quiet."""
    from kafka import KafkaConsumer
    consumer = KafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=group,
                             isolation_level="read_committed",
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             consumer_timeout_ms=int(idle_s * 1000), **extra)
    records = []
    try:
        for m in consumer:
            records.append({
                "topic": m.topic, "key": m.key.decode() if m.key else None,
                "partition": m.partition, "offset": m.offset,
                "payload": m.value.decode(),
                "hdrs": {k: v.decode() for k, v in (m.headers or [])},
            })
    finally:
        consumer.close()
    return records


def test_independent_subscriber_sees_each_event_once_and_valid(cluster, schemas):
    ids = [cluster.change(run).headers["X-ErpSync-Command-Id"]
           for run in (True, False, True)]
    recs = read_all(cluster.bootstrap,
                    [cluster.topics["status"], cluster.topics["audit"]],
                    "sub-" + uuid.uuid4().hex[:6])
    status = [r for r in recs if r["topic"] == cluster.topics["status"]]
    audit = [r for r in recs if r["topic"] == cluster.topics["audit"]]
    for r in status:
        schemas["status"].validate(structured(r))
    for r in audit:
        schemas["audit"].validate(structured(r))
    # Once each: no event id twice, and the same set kcat sees.
    assert len({r["hdrs"]["ce_id"] for r in recs}) == len(recs)
    assert {r["hdrs"]["ce_id"] for r in status} == {
        r["hdrs"]["ce_id"] for r in cluster.statuses()}
    for cid in ids:
        assert len([a for a in audit if a["hdrs"].get("ce_correlationid") == cid]) == 1
    seqs = [int(r["hdrs"]["ce_sequence"]) for r in status]
    assert seqs == sorted(seqs) and seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_late_subscriber_learns_every_engines_latest_status(cluster):
    # A second engine on the same topics, driven straight through Kafka.
    cluster.procs["agent-b"] = None
    from conftest import Proc, BUILD
    b = Proc("agent-b", [str(BUILD / "agent/erpsync-agent"), "--engine.id=erp-b",
                         f"--bootstrap.servers={cluster.bootstrap}",
                         f"--state.dir={cluster.tmp / 'state'}",
                         "--status.heartbeat.ms=0", *cluster.topic_args()], cluster.tmp)
    cluster.procs["agent-b"] = b
    try:
        hdrs = cluster.command_headers(ce_subject="erp-b")
        cluster.produce_command('{"Run": true}', hdrs, key="erp-b")
        wait_for(lambda: any(r["hdrs"].get("ce_correlationid") == hdrs["ce_id"]
                             for r in cluster.statuses()), 30, "erp-b running")
        cluster.change(False)
        time.sleep(1)
        latest = {}
        for r in cluster.statuses():
            latest[r["key"]] = json.loads(r["payload"])
        recs = read_all(cluster.bootstrap, [cluster.topics["status"]],
                        "late-" + uuid.uuid4().hex[:6])
        seen = {}
        for r in recs:
            seen[r["key"]] = json.loads(r["payload"])
        assert set(seen) == {"demo", "erp-b"}
        assert seen == latest
        assert seen["erp-b"]["IsRunning"] is True and seen["demo"]["IsRunning"] is False
    finally:
        assert b.stop() == 0
        del cluster.procs["agent-b"]


def test_topics_are_created_right_and_checked(cluster):
    from conftest import BUILD
    md = json.loads(subprocess.run(
        ["kcat", "-L", "-J", "-b", cluster.bootstrap, "-t", cluster.topics["status"]],
        capture_output=True, text=True, timeout=30).stdout)
    assert md["topics"][0]["topic"] == cluster.topics["status"]
    assert len(md["topics"][0]["partitions"]) == 4

    def agent(*args):
        return subprocess.run(
            [str(BUILD / "agent/erpsync-agent"), "--engine.id=x",
             f"--bootstrap.servers={cluster.bootstrap}", f"--state.dir={cluster.tmp}",
             *args], capture_output=True, text=True, timeout=60)

    # A status topic that is not compacted (here: an audit topic, delete
    # policy) is refused with the command that fixes it.
    p = "u" + uuid.uuid4().hex[:6] + "."
    bad = agent(f"--topic.commands={p}c", f"--topic.audit={p}a", f"--topic.dlq={p}d",
                f"--topic.status={cluster.topics['audit']}", "--topics.create=true",
                "--topics.replication=1")
    assert bad.returncode == 4, bad.stderr
    assert "cleanup.policy=delete but erpsync needs compact" in bad.stderr
    assert "kafka-configs.sh --alter" in bad.stderr
    # Missing topics without topics.create: a clear refusal, nothing created.
    q = "v" + uuid.uuid4().hex[:6] + "."
    missing = agent(*[f"--topic.{k}={q}{k}" for k in ("commands", "status", "audit", "dlq")])
    assert missing.returncode == 4
    assert "does not exist" in missing.stderr and "--topics.create=true" in missing.stderr
    # One topic for two roles is a configuration mistake.
    same = agent(*cluster.topic_args(), f"--topic.dlq={cluster.topics['audit']}")
    assert same.returncode == 4 and "name the same topic" in same.stderr


@pytest.fixture
def sasl_kafka(tmp_path):
    k = RealKafka(tmp_path / "kafka", sasl=True)
    try:
        yield k
    finally:
        k.stop()


def test_sasl_scram_through_passthrough_properties(tmp_path, sasl_kafka):
    c = Cluster(tmp_path)
    c.kafka = sasl_kafka
    c.bootstrap = sasl_kafka.sasl_bootstrap
    props = [f"-X{k}={v}" for k, v in sasl_kafka.sasl_props.items()]
    try:
        c.start_agent(*props)
        c.start_shim(*props)
        r = c.change(True)
        assert r.status == 200 and r.json()["IsRunning"] is True
        # Without credentials, on the PLAINTEXT listener: no writing commands.
        anon = subprocess.run(
            ["kcat", "-P", "-b", sasl_kafka.bootstrap, "-t", c.topics["commands"],
             "-k", "demo", "-X", "message.timeout.ms=5000"],
            input='{"Run": false}', capture_output=True, text=True, timeout=60)
        assert anon.returncode != 0 or "authorization failed" in anon.stderr.lower()
        assert "authorization failed" in anon.stderr.lower(), anon.stderr
        assert c.post("GetEngineStatus", None, content_type=None).json()["IsRunning"]
        # The SASL password is in no log.
        secret = sasl_kafka.sasl_props["sasl.password"]
        for log in tmp_path.glob("*.log"):
            assert secret not in log.read_text(errors="replace")
    finally:
        c.stop()


def test_three_node_cluster_smoke(tmp_path):
    k = RealKafka(tmp_path / "kafka", nodes=3)
    c = Cluster(tmp_path)
    c.kafka = k
    c.bootstrap = k.bootstrap
    c.kafka_args = ["--topics.create=true", "--topics.replication=3"]
    try:
        c.start_agent()
        c.start_shim()
        assert c.change(True).json()["IsRunning"] is True
        assert c.change(False).json()["IsRunning"] is False
        md = json.loads(subprocess.run(
            ["kcat", "-L", "-J", "-b", k.bootstrap, "-t", c.topics["status"]],
            capture_output=True, text=True, timeout=30).stdout)
        assert len(md["brokers"]) == 3
        assert all(len(p["replicas"]) == 3 for p in md["topics"][0]["partitions"])
    finally:
        c.stop()
        k.stop()
