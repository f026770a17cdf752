#!/usr/bin/env python3
"""Where a sequential ChangeEngineStatus spends its time.

Joins http_load's request log (start time, latency, X-ErpSync-Command-Id)
with the Kafka record timestamps (CreateTime, set when a client produces) of
the command and of the status that answered it, both read with
`kcat -J -X isolation.level=read_committed`:

  shim in      request sent -> command produced by the shim
               (HTTP parsing, Basic auth: the credential cache, or one
               yescrypt check on a miss; encoding)
  to agent     command produced -> status produced by the agent
               (delivery, the agent's fetch, apply, state file + fsync)
  back         status produced -> answer received by the client
               (transaction commit, read_committed visibility, the shim's
               fetch, resuming the HTTP connection, the response)

CreateTime has 1 ms resolution (truncated), so a segment shorter than 1 ms
can come out negative; "total" is exact (http_load's own clock).

usage: breakdown.py [--param C] REQUEST_LOG COMMANDS.json STATUS.json [CSV]
Prints a small table; with CSV appends rows (section breakdown, param C,
default 1: the concurrency of the run that wrote the log).
"""
import json
import statistics
import sys


def records(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                continue
            h = rec.get("headers") or []
            rec["hdrs"] = dict(zip(h[0::2], h[1::2]))
            yield rec


def pct(v, q):
    v = sorted(v)
    k = max(0, min(len(v) - 1, int(q * len(v) + 0.999999) - 1))
    return v[k]


def main():
    args = sys.argv[1:]
    param = "1"
    if len(args) >= 2 and args[0] == "--param":
        param, args = args[1], args[2:]
    if len(args) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    log, cmds, stats = args[:3]
    csv = args[3] if len(args) > 3 else None
    cmd_ts = {r["hdrs"].get("ce_id"): r["ts"] for r in records(cmds)}
    status_ts = {}
    for r in records(stats):
        cid = r["hdrs"].get("ce_correlationid")
        if cid:
            status_ts[cid] = max(status_ts.get(cid, 0), r["ts"])
    seg = {"shim in": [], "to agent": [], "back": [], "total": []}
    with open(log) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 6 or parts[4] != "200":
                continue
            start_ms = float(parts[2]) / 1e3
            end_ms = start_ms + float(parts[3]) / 1e3
            cid = parts[5]
            if cid not in cmd_ts or cid not in status_ts:
                continue
            seg["shim in"].append(cmd_ts[cid] - start_ms)
            seg["to agent"].append(status_ts[cid] - cmd_ts[cid])
            seg["back"].append(end_ms - status_ts[cid])
            seg["total"].append(end_ms - start_ms)
    n = len(seg["total"])
    if n == 0:
        print("  (no request could be matched to its Kafka records)")
        return 0
    print(f"  {'segment':<12} {'p50':>8} {'p90':>8} {'mean':>8}   ({n} requests)")
    rows = []
    for name, v in seg.items():
        p50, p90, mean = pct(v, .5), pct(v, .9), statistics.fmean(v)
        print(f"  {name:<12} {p50:8.2f} {p90:8.2f} {mean:8.2f}")
        key = name.replace(" ", "_")
        rows += [f"breakdown,{key},{param},p50_ms,{p50:.4f}",
                 f"breakdown,{key},{param},p90_ms,{p90:.4f}",
                 f"breakdown,{key},{param},mean_ms,{mean:.4f}"]
    if csv:
        with open(csv, "a") as f:
            f.write("\n".join(rows) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
