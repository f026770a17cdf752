#!/usr/bin/env python3
"""PNG plots from run.sh's CSV (section,label,param,metric,value).

usage: plot.py [CSV] [OUTDIR]
  CSV     default tests/bench/results/latest.csv
  OUTDIR  default docs/img; writes bench-latency.png,
          bench-http-throughput.png, bench-ces-throughput.png and
          bench-webapi-options.png (from run.sh's sections), and
          bench-agent-burst.png from an agent_burst section such as
          tests/bench/results/agent-burst.csv
Needs matplotlib (pip install matplotlib).
"""
import csv
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load(path):
    data = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                value = float(row["value"])
            except ValueError:
                continue
            data[(row["section"], row["label"], row["param"], row["metric"])] = value
    return data


def save(fig, out, name):
    """Lays out, writes out/name at the size every plot here has, closes."""
    fig.tight_layout()
    path = out / name
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def latency(data, out):
    series = [("kafka_rtt", "plain", "Kafka: 1 hop"),
              ("kafka_rtt", "txn", "Kafka: 2 hops + txn"),
              ("kafka_rtt", "txn-audit", "Kafka: txn + audit"),
              ("kafka_rtt", "txn-audit-fsync", "Kafka: txn + audit\n+ state fsync"),
              ("kafka_rtt", "txn-audit-fsync-dr", "same, with a\ndelivery-report cb"),
              ("ces", "ChangeEngineStatus", "erpsync\nChangeEngineStatus"),
              ("kafka_rtt", "txn-audit-fsync-fw1", "Kafka: txn + audit\n+ fsync, fetch\nwait 1 ms"),
              ("ces", "ChangeEngineStatus-fw1", "erpsync, fetch\nwait 1 ms")]
    metrics = [("p50_ms", "p50"), ("p90_ms", "p90"), ("p99_ms", "p99")]
    series = [s for s in series if (s[0], s[1], "1", "p50_ms") in data]
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(11, 5))
    width = 0.8 / len(metrics)
    for i, (metric, name) in enumerate(metrics):
        xs = [j + (i - 1) * width for j in range(len(series))]
        ys = [data.get((s, l, "1", metric), 0) for s, l, _ in series]
        bars = ax.bar(xs, ys, width, label=name)
        ax.bar_label(bars, fmt="%.1f", fontsize=7, padding=1)
    ax.set_xticks(range(len(series)))
    ax.set_xticklabels([s[2] for s in series], fontsize=7)
    ax.set_ylabel("round trip, ms")
    ax.set_title("erpsync ChangeEngineStatus vs raw Kafka round trips (same devbroker, sequential)")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    return save(fig, out, "bench-latency.png")


def http(data, out):
    lines = [("shim_GetEngineStatus", "shim GetEngineStatus, Basic (cache on)", "o-"),
             ("shim_GetEngineStatus_nocache", "shim GetEngineStatus, Basic (cache off)", "x-"),
             ("shim_GetEngineStatus_bearer", "shim GetEngineStatus, Bearer JWT", "d-"),
             ("shim_healthz", "shim /healthz (no auth)", "s--"),
             ("nginx_POST", "nginx POST, same body, keep-alive", "^-"),
             ("nginx_POST_close", "nginx POST, Connection: close", "v--")]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4.2))
    drawn = False
    for label, name, style in lines:
        cs = sorted(int(k[2]) for k in data
                    if k[0] == "http" and k[1] == label and k[3] == "rps")
        if not cs:
            continue
        drawn = True
        a1.plot(cs, [data[("http", label, str(c), "rps")] for c in cs], style, label=name)
        a2.plot(cs, [data[("http", label, str(c), "p50_ms")] for c in cs], style, label=name)
    if not drawn:
        plt.close(fig)
        return None
    for ax, title, unit in ((a1, "throughput", "requests/s"), (a2, "median latency", "ms")):
        ax.set_xscale("log", base=2)
        ticks = sorted({int(k[2]) for k in data if k[0] == "http" and k[3] == "rps"
                        and k[1] in {l[0] for l in lines}})
        ax.set_xticks(ticks)
        ax.set_xticklabels([str(t) for t in ticks])
        ax.set_yscale("log")
        ax.set_xlabel("concurrent connections")
        ax.set_ylabel(unit + " (log)")
        ax.set_title(title)
        ax.grid(alpha=0.3, which="both")
    a1.legend(fontsize=7)
    fig.suptitle("HTTP: shim vs nginx on 127.0.0.1 (load generator on the same 2 CPUs)")
    return save(fig, out, "bench-http-throughput.png")


def ces(data, out):
    cs = sorted(int(k[2]) for k in data
                if k[0] == "ces" and k[1] == "ChangeEngineStatus" and k[3] == "rps")
    if not cs:
        return None
    fig, a1 = plt.subplots(figsize=(7, 4.2))
    a1.bar([str(c) for c in cs], [data[("ces", "ChangeEngineStatus", str(c), "rps")] for c in cs],
           color="tab:blue", alpha=0.6, label="requests/s")
    a1.set_xlabel("concurrent connections")
    a1.set_ylabel("requests/s")
    a2 = a1.twinx()
    for metric, style in (("p50_ms", "o-"), ("p99_ms", "^--")):
        a2.plot([str(c) for c in cs],
                [data[("ces", "ChangeEngineStatus", str(c), metric)] for c in cs],
                style, color="tab:red", label=metric.replace("_ms", ""))
    a2.set_ylabel("latency, ms")
    h1, l1 = a1.get_legend_handles_labels()
    h2, l2 = a2.get_legend_handles_labels()
    a1.legend(h1 + h2, l1 + l2, fontsize=8, loc="upper left")
    a1.set_title("erpsync ChangeEngineStatus: one engine, one agent")
    return save(fig, out, "bench-ces-throughput.png")


def webapi(data, out):
    variants = [("xml", "XML"), ("nb_oslo", "nb +\nEurope/Oslo"),
                ("nb_oslo_offset", "nb + Oslo +\nincludeTZOffset"),
                ("select", "$select=IsRunning,\nTableRight/Mask"), ("all", "all four")]
    params = sorted({k[2] for k in data if k[0] == "webapi" and k[1] == "json" and k[3] == "rps"})
    if not params:
        return None
    c = params[0]

    rounds = ("webapi", "webapi_r2", "webapi_r3")

    def val(label, metric):
        """The mean over the rounds in which both shim HTTP threads worked
        (over all rounds when none did), as run.sh's table 2c."""
        pre = "cpu_" if metric == "shim_ms_per_req" else ""
        ran = [r for r in rounds if (pre + r, label, c, metric) in data]
        bal = [r for r in ran if data.get(("cpu_" + r, label, c, "shim_http_threads_busy"), 0) >= 2]
        use = bal or ran
        return sum(data[(pre + r, label, c, metric)] for r in use) / len(use) if use else None

    metrics = [("rps", "requests/s"), ("p50_ms", "p50"), ("p99_ms", "p99"),
               ("shim_ms_per_req", "shim CPU per request")]
    base = {m: val("json", m) for m, _ in metrics}
    variants = [v for v in variants if val(v[0], "rps")]
    if not variants or not all(base.values()):
        return None
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(metrics)
    for i, (metric, name) in enumerate(metrics):
        xs = [j + (i - (len(metrics) - 1) / 2) * width for j in range(len(variants))]
        ys = [val(v, metric) / base[metric] for v, _ in variants]
        bars = ax.bar(xs, ys, width, label=name)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.18)  # room for the legend above the bars
    ax.set_xticks(range(len(variants)))
    ax.set_xticklabels([v[1] for v in variants], fontsize=8)
    ax.set_ylabel("ratio to plain JSON (same run)")
    ax.set_title(f"shim GetEngineStatus, WebAPI options, {c} connections, engine running")
    ax.legend(fontsize=8, ncol=len(metrics), loc="upper center")
    ax.grid(axis="y", alpha=0.3)
    return save(fig, out, "bench-webapi-options.png")


def agent_burst(data, out):
    """Commands/s of one agent's burst, every run a dot, the median a bar,
    before and after a change, per fleet size; the 10,000/s target."""
    groups = [("1", "1 engine"), ("1000", "1,000 engines"), ("1000x3", "1,000 engines,\n3 nodes")]
    runs = {}
    for (section, label, param, metric), value in data.items():
        if section == "agent_burst" and metric.startswith("rps_run"):
            runs.setdefault((param, label), []).append(value)
    if not runs:
        return None
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (param, name) in enumerate(groups):
        for j, (label, color) in enumerate((("before", "#999999"), ("after", "#1f77b4"))):
            vals = sorted(runs.get((param, label), []))
            if not vals:
                continue
            x = i + (j - 0.5) * 0.35
            ax.bar(x, vals[len(vals) // 2], width=0.33, color=color, alpha=0.6,
                   label=label if i == 0 else None)
            ax.plot([x] * len(vals), vals, "o", color="black", markersize=3)
    ax.axhline(10000, color="#d62728", linestyle="--", linewidth=1, label="target 10,000/s")
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g[1] for g in groups])
    ax.set_ylabel("commands/s (20,000-command burst)")
    ax.set_title("One agent on real Kafka: before / after (bar: median, dots: runs)")
    ax.legend(loc="upper right", fontsize=8)
    return save(fig, out, "bench-agent-burst.png")


def main():
    src = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "tests/bench/results/latest.csv"
    out = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs/img"
    out.mkdir(parents=True, exist_ok=True)
    data = load(src)
    for make in (latency, http, ces, webapi, agent_burst):
        path = make(data, out)
        if path:
            print(f"plot: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
