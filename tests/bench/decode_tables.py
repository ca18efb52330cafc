#!/usr/bin/env python3
"""decode_tables.py DECODE_JSON: the Markdown tables docs/performance.md quotes from
`quantscope-bench --decode --json` (per layer, and the 8B decode step), printed to stdout."""
import json
import sys

GOALS = {"kmeans1": "8×", "kmeans2": "5.5×", "kmeans4": "3.3×", "int4:g128": "3.3×"}


def layers_table(rows):
    formats = list(dict.fromkeys(r["format"] for r in rows))
    lines = ["| shape (out × in) | batch | cuBLAS bf16 µs | "
             + " | ".join(f"`{f}` µs (×bf16, % of cuBLAS B/s)" for f in formats)
             + " | read-only pass of the codes µs (" + ", ".join(f"`{f}`" for f in formats) + ") |",
             "|---|---:|---:|" + "---:|" * len(formats) + "---|"]
    keys = list(dict.fromkeys((r["rows"], r["cols"], r["batch"]) for r in rows))
    for rows_, cols, batch in keys:
        same = {r["format"]: r for r in rows if (r["rows"], r["cols"], r["batch"]) == (rows_, cols, batch)}
        cells = [f"{same[f]['kernel']['median_us']:.1f} ({same[f]['speedup']:.2f}×, "
                 f"{100 * same[f]['bandwidth_vs_cublas']:.0f} %)" for f in formats]
        reads = " / ".join(f"{same[f]['read_records']['median_us']:.1f}" for f in formats)
        cublas = next(iter(same.values()))["cublas"]["median_us"]
        lines.append(f"| {rows_} × {cols} | {batch} | {cublas:.1f} | " + " | ".join(cells) + f" | {reads} |")
    return "\n".join(lines)


def step_table(rows):
    lines = ["| format | batch | fused (128 launches) µs | ×bf16 | unfused (224) µs | ×bf16 | byte ratio | goal |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for batch in dict.fromkeys(r["batch"] for r in rows):
        for fmt in dict.fromkeys(r["format"] for r in rows):
            pick = {r["fused"]: r for r in rows if r["format"] == fmt and r["batch"] == batch}
            fused, unfused = pick[True], pick[False]
            lines.append(f"| `{fmt}` | {batch} | {fused['step']['median_us']:.0f} | {fused.get('speedup', 1.0):.2f}× | "
                         f"{unfused['step']['median_us']:.0f} | {unfused.get('speedup', 1.0):.2f}× | "
                         f"{fused.get('ideal_speedup', 1.0):.1f}× | {GOALS.get(fmt, '')} |")
    return "\n".join(lines)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: decode_tables.py DECODE_JSON")
    with open(sys.argv[1]) as f:
        data = json.load(f)
    print(f"Device: {data['device']}\n")
    if "layers" in data:
        print("Per layer:\n\n" + layers_table(data["layers"]) + "\n")
    if "llama_8b_step" in data:
        print("Llama-3-8B decode step:\n\n" + step_table(data["llama_8b_step"]))


if __name__ == "__main__":
    main()
