#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into tests/fuzz/corpus/<target>/.

The codec targets get the events in proto/examples/*.json turned into Kafka
records in the framing fuzz_common.h reads (plus a few variants); the other
targets get hand-written seeds. Output is deterministic: running it twice
writes the same files, and files it did not write are left alone.

    python3 tests/fuzz/make_corpus.py [--out DIR]
"""
import argparse
import copy
import json
import pathlib
import struct
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
EXAMPLES = ROOT / "proto" / "examples"

MAX_HDRS = 16  # ERPS_MSG_MAX_HDRS
NULL_LEN = 0xFFFF


def field(b):
    """u16 big-endian length + bytes; None is the null field."""
    if b is None:
        return struct.pack(">H", NULL_LEN)
    if isinstance(b, str):
        b = b.encode()
    if len(b) >= NULL_LEN:
        raise ValueError("field too long for the framing")
    return struct.pack(">H", len(b)) + b


def record(key, headers, value):
    """u8 header count, key field, (name, value) fields, then the value."""
    if len(headers) > MAX_HDRS:
        raise ValueError("too many headers")
    out = bytes([len(headers)]) + field(key)
    for name, val in headers:
        out += field(name) + field(val)
    if isinstance(value, str):
        value = value.encode()
    return out + value


def event_to_record(ev):
    """A CloudEvent in structured JSON form -> a Kafka record in binary mode:
    each attribute a ce_<name> header, data the value, subject the key."""
    headers = []
    for name, val in ev.items():
        if name == "data":
            continue
        if name == "datacontenttype":
            headers.append(("content-type", val))
        else:
            headers.append(("ce_" + name, str(val)))
    value = json.dumps(ev["data"], separators=(",", ":"))
    return record(ev.get("subject"), headers, value)


def load_examples():
    out = {}
    for p in sorted(EXAMPLES.glob("*.json")):
        out[p.stem] = json.loads(p.read_text())
    return out


def codec_seeds(examples):
    seeds = {"fuzz_command_decode": {}, "fuzz_status_decode": {},
             "fuzz_audit_decode": {}}
    for stem, ev in examples.items():
        t = ev.get("type", "")
        if ".command." in t:
            target = "fuzz_command_decode"
        elif ".status." in t:
            target = "fuzz_status_decode"
        elif ".audit." in t:
            target = "fuzz_audit_decode"
        else:
            continue
        seeds[target][stem] = event_to_record(ev)

        # Variants that take other branches of the same decoder.
        if "Run" in ev["data"]:
            v = copy.deepcopy(ev)
            v["data"]["Run"] = False
            del v["clientaddr"]
            seeds[target][stem + ".run-false"] = event_to_record(v)
        if "Interval" in ev["data"] and target == "fuzz_command_decode":
            for iv in ("PT15M", "1.00:00:00", "P1DT2H3M4S"):
                v = copy.deepcopy(ev)
                v["data"]["Interval"] = iv
                v["time"] = "2026-11-28T09:01:00+01:00"
                seeds[target][stem + "." + iv.replace(":", "-")] = \
                    event_to_record(v)
        if target == "fuzz_status_decode" and ev["data"].get("LastIteration"):
            v = copy.deepcopy(ev)
            v["data"]["State"] = "Failed"
            v["data"]["IsRunning"] = False
            v["data"]["NextIterationAt"] = None
            li = v["data"]["LastIteration"]
            li.update(Outcome="Failed", ExitCode=-1, Signal=9,
                      Detail="killed by signal 9")
            seeds[target][stem + ".failed"] = event_to_record(v)
        if target == "fuzz_audit_decode":
            v = copy.deepcopy(ev)
            v["data"]["Outcome"] = "DeadLettered"
            v["data"]["CommandId"] = ""
            v["data"]["Reason"] = "ce_id is not a UUID"
            del v["correlationid"]
            seeds[target][stem + ".deadlettered"] = event_to_record(v)
            v = copy.deepcopy(ev)
            v["data"]["Generation"] = 999999999999999  # 15 digits
            v["data"]["Before"]["Interval"] = "P10675199D"
            seeds[target][stem + ".big-numbers"] = event_to_record(v)
        if target == "fuzz_status_decode" and stem == "status.stopped":
            v = copy.deepcopy(ev)
            v["data"]["IntervalSeconds"] = 922337193600000  # 10675199 days
            v["data"]["Generation"] = 999999999999999  # 15 digits
            v["sequence"] = "9223372036854775807"
            seeds[target][stem + ".big-numbers"] = event_to_record(v)

    # Edge records: no key, a null header value, no headers at all.
    cmd = examples.get("command.change-status")
    if cmd:
        seeds["fuzz_command_decode"]["edge.null-key"] = record(
            None, [("ce_specversion", "1.0"), ("ce_id", None)], "{}")
        seeds["fuzz_command_decode"]["edge.empty"] = record("", [], "")
    return seeds


def hand_seeds(examples):
    api = {
        "run-true": '{"Run": true}',
        "run-false-lower": '{"run":false}',
        "interval-timespan": '{"Interval": "00:15:00"}',
        "interval-iso": '{"Interval": "PT15M"}',
        "interval-days": '{"Interval": "7.00:00:00"}\n',
        "content-type": "application/json; charset=utf-8",
        "content-type-text": 'text/json;charset="UTF8"',
        "route-change": "/api/v1/Agents/ErpSync/ChangeEngineStatus",
        "route-health": "/healthz",
    }
    for stem, ev in examples.items():
        if ".command." in ev.get("type", ""):
            api["example." + stem] = json.dumps(ev["data"])
    basic = {
        "alice": "Basic YWxpY2U6czNjcmV0",           # alice:s3cret
        "bob-empty": "basic   Ym9iOg==  ",           # bob:
        "colon-in-password": "Basic YTpiOmM=",       # a:b:c
        "no-colon": "Basic YWxpY2U=",                # alice
        "one-pad": "Basic YWI6Y2Q=",                 # ab:cd
    }
    timespan = {
        "hms": "00:15:00",
        "iso-minutes": "PT15M",
        "days": "1.00:00:00",
        "negative": "-00:00:30",
        "iso-days-hours": "P1DT2H",
        "iso-weeks": "P2W",
        "max": "10675199.23:59:59",
        "bare-days": "3",
        "hm": "01:30",
        "time-utc": "2026-11-28T08:00:00.000Z",
        "time-offset": "2026-11-28T09:00:00.123456789+01:00",
        "time-leap": "2016-12-31T23:59:60Z",
        "time-epoch": "1970-01-01T00:00:00Z",
        "time-first": "0000-01-01T00:00:00Z",
        "time-last": "9999-12-31T23:59:59.999Z",
    }
    state = {
        "DesiredRun": True,
        "IntervalSeconds": 900,
        "Generation": 3,
        "Failures": 0,
        "Sequence": 7,
        "Version": 1,
        "LastIteration": {"Number": 2, "StartMs": 1795852800120,
                          "EndMs": 1795852800420, "ExitCode": 0, "Signal": 0,
                          "Outcome": "Succeeded",
                          "Detail": "no sync job configured"},
        "AppliedCommands": ["5f0c8a3e-2b1d-4c6e-9a7f-0d1e2f3a4b5c",
                            "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"],
    }
    statefile = {
        "saved": json.dumps(state, indent="\t") + "\n",
        "minimal": '{"IntervalSeconds": 60}',
        "big-numbers": ('{"IntervalSeconds": 9007199254740992, '
                        '"Generation": -9007199254740992, "Sequence": 1e15, '
                        '"LastIteration": {"Number": 1e18}}'),
    }
    config = {
        "all-types": ("# erpsync test config\n"
                      "name = agent-1\n"
                      "some.path = /var/lib/erpsync/state.json\n"
                      "port = 9092\n"
                      "big = -9223372036854775808\n"
                      "flag = yes\n"
                      "kafka.security.protocol = SASL_SSL\n"
                      "kafka.sasl.mechanisms=PLAIN\n"
                      "\n   kafka.security.protocol = PLAINTEXT  \n"),
        "bad-line": "port = 70000\n",
        # Lines around the 4096-byte line buffer.
        "long-comment": "#" + "c" * 4093 + "\nport = 1\n",
        "long-value": "some.path = " + "p" * 4090 + "\n",
    }
    users = {
        "two": ("# name:hash:tenant:role\n"
                "alice:$y$j9T$abcdefghijklmnop$0123456789abcdefghijklmnopqrstuvwxyzABCDEFG:acme:admin\n"
                "bob:$2b$05$abcdefghijklmnopqrstuu0123456789abcdefghijklmnopqrstu:acme:reader\r\n"),
        "bad-role": "carol:$y$x:acme:root\n",
        # A comment as long as the 1024-byte line buffer holds.
        "long-comment": "#" + "c" * 1021 + "\ndave:$y$x:acme:reader\n",
        "tenants-like": "acme:demo\nglobex:erp-2\n",
    }
    http = {
        "smuggle-two-lengths": "/api/v1/Agents/ErpSync/GetEngineStatus\n"
                               "Content-Length:0\nContent-Length:45\nHost:x",
        "smuggle-space-te": "/api//v1/Agents/ErpSync/GetEngineStatus/\n"
                            "Transfer-Encoding :chunked\nHost:x",
        "cl-te": "http://h/api/v1/x\nContent-Length:5\nTransfer-Encoding:chunked",
        "nul-path": "/api/v1/Agents/ErpSync/ChangeEngineStatus%00.gif\nHost:x",
        "cors": "/\nhttps://app.example, https://b.example\nhttps://app.example\n"
                "authorization, content-type",
        "cors-null": "//\nnull\nnull\ncross-site",
    }
    return {"fuzz_api_body": api, "fuzz_basic_auth": basic,
            "fuzz_http_guard": http,
            "fuzz_timespan": timespan, "fuzz_statefile": statefile,
            "fuzz_config": config, "fuzz_users": users}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE / "corpus"),
                    help="corpus root (default: tests/fuzz/corpus)")
    args = ap.parse_args()
    out = pathlib.Path(args.out)

    examples = load_examples()
    if not examples:
        sys.exit("make_corpus.py: no examples in %s" % EXAMPLES)
    seeds = codec_seeds(examples)
    seeds.update(hand_seeds(examples))

    total = 0
    for target, files in sorted(seeds.items()):
        d = out / target
        d.mkdir(parents=True, exist_ok=True)
        for name, data in sorted(files.items()):
            if isinstance(data, str):
                data = data.encode()
            p = d / ("seed-" + name)
            if not p.exists() or p.read_bytes() != data:
                p.write_bytes(data)
            total += 1
    print("make_corpus.py: %d seeds for %d targets in %s"
          % (total, len(seeds), out))


if __name__ == "__main__":
    main()
