"""Batched transactions: a burst of commands produced straight to the
command topic is applied exactly once, in fewer transactions than commands.

tests/bench/bench_agent_burst.c (compiled here, run with -x: produce only)
writes N ChangeEngineStatus commands for the engine at once. Each test then
reads, read_committed, the audit topic (exactly one outcome per command id),
the dead-letter topic and the status ce_sequence (no gaps, no repeats), and
counts the agent's "batch of N commands" debug lines.
"""
import collections
import json
import random
import re
import signal
import subprocess
import time
import uuid

import pytest

from conftest import BROKER, wait_for

N = 2000


def burst(c, exe, n, poison_every=0):
    prefix = c.topics["commands"][:-len("erpsync.commands")]
    args = [str(exe), "-x", "-b", c.bootstrap, "-t", prefix, "-e", c.engine,
            "-n", str(n)]
    if poison_every:
        args += ["-p", str(poison_every)]
    subprocess.run(args, check=True, timeout=120)


def burst_outcomes(c):
    """Audit outcomes of the burst's commands, by command id."""
    by_id = collections.defaultdict(list)
    for a in c.audits():
        ev = json.loads(a["payload"])
        if ev.get("Principal") == "bench" or ev["Outcome"] == "DeadLettered":
            by_id[ev["CommandId"]].append(ev["Outcome"])
    return by_id


def wait_all(c, count, timeout):
    try:
        _wait_all(c, count, timeout)
    except AssertionError:
        got = burst_outcomes(c)
        print("outcomes:", collections.Counter(o for v in got.values() for o in v),
              "ids:", len(got))
        raise
    time.sleep(1)  # anything beyond would be a duplicate
    return burst_outcomes(c)


def _wait_all(c, count, timeout):
    wait_for(lambda: sum(len(v) for v in burst_outcomes(c).values()) >= count,
             timeout, f"{count} audit outcomes")


def check_sequence(c):
    seqs = sorted(int(r["hdrs"]["ce_sequence"]) for r in c.statuses()
                  if r["key"] == c.engine)
    assert len(seqs) == len(set(seqs)), "status sequence repeats"
    assert seqs[-1] - seqs[0] + 1 == len(seqs), "status sequence gaps"
    return len(seqs)


def batches(c):
    log = (c.tmp / "agent.log").read_text(errors="replace")
    return [int(m) for m in re.findall(r"batch of (\d+) commands", log)]


def test_burst_is_applied_once_in_few_transactions(fresh_cluster, produce_burst):
    c = fresh_cluster
    c.procs["agent"].stop()
    c.start_agent("--log.level=debug")
    t0 = time.monotonic()
    burst(c, produce_burst, N)
    by_id = wait_all(c, N, 120)
    took = time.monotonic() - t0
    assert len(by_id) == N
    assert all(len(v) == 1 for v in by_id.values()), "a command audited twice"
    assert all(v[0] in ("Applied", "NoChange") for v in by_id.values())
    statuses = check_sequence(c)
    sizes = [b for b in batches(c) if b > 0]
    print(f"\n{N} commands in {took:.1f}s: {len(sizes)} transactions, "
          f"largest batch {max(sizes)}, {statuses} status events")
    assert sum(sizes) >= N
    assert len(sizes) < N // 4, "commands were not batched"
    assert max(sizes) <= 500  # batch.max's default


def test_poison_in_a_burst_goes_to_dead_letters_alone(fresh_cluster,
                                                      produce_burst):
    c = fresh_cluster
    burst(c, produce_burst, 600, poison_every=250)  # two poison records
    by_id = wait_all(c, 602, 60)
    outcomes = collections.Counter(v[0] for v in by_id.values())
    assert all(len(v) == 1 for v in by_id.values()), "a command audited twice"
    assert outcomes["DeadLettered"] == 2
    assert outcomes["Applied"] + outcomes["NoChange"] == 600
    dlq = c.consume("dlq")
    assert len(dlq) == 2
    assert all(r["hdrs"]["erpsync_error"] == "value is not valid JSON" for r in dlq)
    check_sequence(c)


def test_batch_max_1_is_one_transaction_per_command(fresh_cluster,
                                                    produce_burst):
    c = fresh_cluster
    c.procs["agent"].stop()
    c.start_agent("--log.level=debug", "--batch.max=1")
    burst(c, produce_burst, 50)
    by_id = wait_all(c, 50, 60)
    assert len(by_id) == 50 and all(len(v) == 1 for v in by_id.values())
    assert max(batches(c)) == 1
    check_sequence(c)


def test_agent_kill_9_during_bursts_keeps_exactly_once(fresh_cluster,
                                                       produce_burst):
    """SIGKILL the agent while it works through batches, start it again:
    every command still has exactly one outcome, the sequence no gap."""
    c = fresh_cluster
    rnd = random.Random(20261204)
    total = 0
    for _ in range(5):
        burst(c, produce_burst, 1000)
        total += 1000
        time.sleep(rnd.uniform(0.05, 0.6))
        c.procs["agent"].stop(signal.SIGKILL)
        c.start_agent()
    by_id = wait_all(c, total, 180)
    twice = [k for k, v in by_id.items() if len(v) != 1]
    assert len(by_id) == total, f"{total - len(by_id)} commands lost"
    if BROKER == "devbroker" and twice:
        # A kill inside a transaction leaves its records on the devbroker
        # (librdkafka's mock) for read_committed readers too: the restarted
        # agent finds only part of the batch published, answers the whole
        # batch again, and the reader sees both. Kafka hides the aborted
        # part; `make test-kafka` asserts exactly once there.
        pytest.skip(f"devbroker showed an aborted transaction ({len(twice)} "
                    "commands); exactly-once is checked on Kafka")
    assert not twice, f"{len(twice)} commands audited twice: {twice[:3]}"
    check_sequence(c)


def test_same_command_twice_in_one_batch_is_applied_once(fresh_cluster):
    """A command id twice in one batch (a client's retry queued behind the
    first): the second is a duplicate, not the first's outcome again."""
    c = fresh_cluster
    c.procs["agent"].stop()  # both wait in the backlog: one batch
    cid = str(uuid.uuid4())
    args = ["kcat", "-P", "-b", c.bootstrap, "-t", c.topics["commands"],
            "-X", "partitioner=murmur2_random", "-k", c.engine]
    for k, v in c.command_headers(cid).items():
        args += ["-H", f"{k}={v}"]
    subprocess.run(args, input='{"Run": true}\n{"Run": true}\n', text=True,
                   check=True, timeout=30)
    c.start_agent()

    def mine():
        return [json.loads(a["payload"]) for a in c.audits()
                if json.loads(a["payload"])["CommandId"] == cid]
    wait_for(lambda: len(mine()) >= 2, 30, "two audit events")
    time.sleep(1)
    got = mine()
    assert [a["Outcome"] for a in got] == ["Applied", "NoChange"], got
    assert "duplicate" in got[1]["Reason"]
