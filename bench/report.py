"""Summarise a pytest-benchmark JSON file of bench/test_codec_bench.py as Markdown.

    python bench/report.py .benchmarks/results.json

One table per operation (encode, decode): per message, the median time of
hanode, of the floor and of asn1tools, hanode/floor and the speed-up of hanode
over asn1tools. Then the targets: heartbeat encode and decode at least 100x
faster than asn1tools and within 2.5x of their floors, each MET or MISSED.
Speed is reported, never asserted: the exit status is 0 whatever the numbers
(2 only if the file cannot be read).

``--stat min`` uses each benchmark's fastest round instead of the median: on a
shared or virtual machine, where rounds flip between a fast and a slow state,
it compares implementations more steadily. Rows where a median is more than
NOISY x its minimum are marked with "~".
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

OPERATIONS = ("encode", "decode")
TARGET_MESSAGE = "heartbeat"
TARGET_SPEEDUP = 100.0  # at least this many times faster than asn1tools
TARGET_FLOOR_RATIO = 2.5  # at most this many times the floor
NOISY = 1.3  # median / min above this: the rounds were not steady
STATS = ("median", "min", "mean")


def load(path: Path, stat: str = "median") -> tuple[dict, dict[tuple[str, str], dict[str, float]], set]:
    """The run's document, {(operation, message): {implementation: seconds}}
    (the ``stat`` of its rounds) and the keys whose rounds were noisy."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    medians: dict[tuple[str, str], dict[str, float]] = {}
    noisy: set[tuple[str, str]] = set()
    for bench in doc.get("benchmarks", []):
        info = bench.get("extra_info", {})
        try:
            key = (info["operation"], info["message"])
            impl = info["implementation"]
        except KeyError:
            continue  # not one of ours
        stats = bench["stats"]
        medians.setdefault(key, {})[impl] = stats[stat]
        if impl != "asn1tools" and stats["min"] > 0 and stats["median"] / stats["min"] > NOISY:
            noisy.add(key)
    return doc, medians, noisy


def _fmt(value: float | None, scale: float, digits: int) -> str:
    return "n/a" if value is None else f"{value * scale:,.{digits}f}"


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b <= 0 else a / b


def table(operation: str, medians: dict[tuple[str, str], dict[str, float]], noisy: set) -> list[str]:
    lines = [
        f"### {operation}",
        "",
        "| message | hanode ns | floor ns | asn1tools µs | hanode/floor | speed-up vs asn1tools |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for (op, message), impls in medians.items():
        if op != operation:
            continue
        ours, floor, ref = impls.get("hanode"), impls.get("floor"), impls.get("asn1tools")
        ratio, speedup = _ratio(ours, floor), _ratio(ref, ours)
        mark = " ~" if (op, message) in noisy else ""
        lines.append(
            f"| {message}{mark} | {_fmt(ours, 1e9, 0)} | {_fmt(floor, 1e9, 0)} | {_fmt(ref, 1e6, 2)} | "
            f"{'n/a' if ratio is None else f'{ratio:.2f}x'} | "
            f"{'n/a' if speedup is None else f'{speedup:,.0f}x'} |"
        )
    return lines


def targets(medians: dict[tuple[str, str], dict[str, float]]) -> list[str]:
    lines = []
    for operation in OPERATIONS:
        impls = medians.get((operation, TARGET_MESSAGE), {})
        ours = impls.get("hanode")
        speedup = _ratio(impls.get("asn1tools"), ours)
        ratio = _ratio(ours, impls.get("floor"))
        if speedup is None or ratio is None:
            verdict, detail = "MISSED", "no data for hanode, floor and asn1tools"
        else:
            met = speedup >= TARGET_SPEEDUP and ratio <= TARGET_FLOOR_RATIO
            verdict = "MET" if met else "MISSED"
            detail = (
                f"{speedup:,.0f}x faster than asn1tools (target >= {TARGET_SPEEDUP:g}x), "
                f"{ratio:.2f}x its floor (target <= {TARGET_FLOOR_RATIO:g}x)"
            )
        lines.append(f"- {TARGET_MESSAGE} {operation}: **{verdict}** — {detail}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("json_file", type=Path, help="the file written by pytest --benchmark-json")
    parser.add_argument("--stat", choices=STATS, default="median", help="statistic of the rounds (default: median)")
    args = parser.parse_args(argv)
    try:
        doc, medians, noisy = load(args.json_file, args.stat)
    except (OSError, ValueError) as exc:
        print(f"report: cannot read {args.json_file}: {exc}", file=sys.stderr)
        return 2

    machine = doc.get("machine_info", {})
    print(f"## hanode UPER codec benchmarks ({args.stat} of the rounds)")
    print()
    print(
        f"{machine.get('python_implementation', '?')} {machine.get('python_version', '?')}, "
        f"{machine.get('cpu', {}).get('brand_raw', 'unknown CPU')}, {doc.get('datetime', '')}"
    )
    if not medians:
        print()
        print("No hanode codec benchmarks in this file (was it run with --benchmark-disable?).")
    for operation in OPERATIONS:
        print()
        print("\n".join(table(operation, medians, noisy)))
    if noisy:
        print()
        print(f"~ hanode or floor rounds unsteady (median > {NOISY:g}x min): compare with --stat min.")
    print()
    print("### targets")
    print()
    print("\n".join(targets(medians)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
