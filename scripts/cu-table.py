#!/usr/bin/env python3
"""Compute units per Keel instruction from an SBF-tier test log (the runtime's program log at debug level, one test
thread), as a Markdown table; with --budgets FILE, also checks each instruction's largest cost beyond its CPIs
against its budget and exits 1 naming every instruction over budget, missing from the run, or run without a
budget line.

Budget file lines: `<program> <Instruction> <max CU beyond CPIs>`; '#' starts a comment.

With --book FILE (written by tests/tests/cu_book_size.rs in the SBF tier), also prints the rebalance's cost beyond
its CPIs by book size (measured up to the venue's 16 positions per account, the issue's target book), the least-squares
cost per position, and the target of 40,000 units at 16 positions beside the measurement; with --budgets as well, a
16-position rebalance above the target (or none measured) fails like an instruction over its budget."""
import argparse
import re
import statistics
import sys

PROGRAMS = {
    "24Lsvc3Mc2zqMZgyNybMV2iWpTGGC3dadRzcqAZ8M5Uk": "venue",
    "EmfsmMXgdFCT9jNgQJrhviJAnVv5n5DkXKGpa7Lnr845": "vault",
}


def measure(path):
    """{(program, instruction): [(total, beyond_cpis)]} over successful top-level Keel instructions."""
    rows = {}
    stack = []  # frames: {"id", "name", "inner", "units"}
    for line in open(path, errors="replace"):
        m = re.search(r"stable_log\] (.*)$", line)
        if not m:
            continue
        msg = m.group(1)
        if inv := re.match(r"Program (\w+) invoke \[\d+\]", msg):
            stack.append({"id": inv.group(1), "name": None, "inner": 0, "units": 0})
        elif (ix := re.match(r"Program log: Instruction: (\w+)", msg)) and stack and stack[-1]["name"] is None:
            stack[-1]["name"] = ix.group(1)
        elif (c := re.match(r"Program (\w+) consumed (\d+) of", msg)) and stack:
            stack[-1]["units"] = int(c.group(2))
        elif (end := re.match(r"Program (\w+) (success|failed)", msg)) and stack:
            frame = stack.pop()
            if stack:
                stack[-1]["inner"] += frame["units"]
            elif end.group(2) == "success" and frame["id"] in PROGRAMS and frame["name"]:
                key = (PROGRAMS[frame["id"]], frame["name"])
                rows.setdefault(key, []).append((frame["units"], frame["units"] - frame["inner"]))
    return rows


BOOK_TARGET = 40_000


def fit(points):
    """Least-squares line through (positions, units): (base, per position)."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    slope = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)
    return my - slope * mx, slope


FLOWS = ["Deposit", "RequestWithdrawal", "ClaimWithdrawal"]


def book_table(path):
    """The rebalance by book size: measured points, the fitted line (CU per position) and the 16-position target; then
    a depositor's flows on the same books. Returns the 16-position rebalance (None if the file has none)."""
    points = {}
    for line in open(path):
        if m := re.match(r"vault (\w+) positions=(\d+) beyond_cpis=(\d+)", line):
            points.setdefault(m.group(1), []).append((int(m.group(2)), int(m.group(3))))
    rebalance = points.get("Rebalance", [])
    if len(rebalance) < 2:
        sys.exit(f"cu-table: {path} holds {len(rebalance)} rebalance measurement(s); the fit needs two")
    base, slope = fit(rebalance)
    print()
    print("| rebalance, positions in the book | beyond CPIs |")
    print("|---:|---:|")
    for x, y in sorted(rebalance):
        print(f"| {x} | {y:,} |")
    print(f"| least-squares line | {base:,.0f} + {slope:,.0f} per position |")
    at16 = [y for x, y in rebalance if x == 16]
    if at16:
        verdict = "met" if at16[0] <= BOOK_TARGET else "not met"
        print(f"| target at 16 positions | {BOOK_TARGET:,}: {verdict} ({at16[0]:,} measured) |")
    flows = [f for f in FLOWS if len(points.get(f, [])) >= 2]
    if flows:
        print()
        print("| positions in the book | " + " | ".join(f"{f}, beyond CPIs" for f in flows) + " |")
        print("|---:|" + "---:|" * len(flows))
        by = {f: dict(points[f]) for f in flows}
        for x in sorted({x for f in flows for x in by[f]}):
            cells = [f"{by[f][x]:,}" if x in by[f] else "" for f in flows]
            print(f"| {x} | " + " | ".join(cells) + " |")
        lines = ["{:,.0f} + {:,.0f} per position".format(*fit(points[f])) for f in flows]
        print("| least-squares line | " + " | ".join(lines) + " |")
    return at16[0] if at16 else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--budgets")
    ap.add_argument("--book")
    args = ap.parse_args()
    rows = measure(args.log)
    if not rows:
        sys.exit("cu-table: no Keel instruction in the log (was RUST_LOG=...stable_log=debug set?)")
    print("| program | instruction | runs | total CU (median / max) | beyond CPIs (median / max) |")
    print("|---|---|---:|---:|---:|")
    for (prog, name), v in sorted(rows.items()):
        tot = [a for a, _ in v]
        own = [b for _, b in v]
        print(f"| {prog} | {name} | {len(v)} | {int(statistics.median(tot)):,} / {max(tot):,} | "
              f"{int(statistics.median(own)):,} / {max(own):,} |")
    at16 = book_table(args.book) if args.book else None
    if not args.budgets:
        return
    over = []
    if args.book and (at16 is None or at16 > BOOK_TARGET):
        over.append(f"vault Rebalance at 16 positions: {at16} CU beyond CPIs, target {BOOK_TARGET:,}")
    budgeted = set()
    for line in open(args.budgets):
        line = line.split("#", 1)[0].split()
        if not line:
            continue
        prog, name, budget = line[0], line[1], int(line[2])
        budgeted.add((prog, name))
        runs = rows.get((prog, name))
        if not runs:
            over.append(f"{prog} {name}: not executed by the suite (budget {budget:,})")
        elif (worst := max(b for _, b in runs)) > budget:
            over.append(f"{prog} {name}: {worst:,} CU beyond CPIs > budget {budget:,}")
    # A new instruction gets a budget the day it first runs, or it would never be guarded.
    over += [f"{prog} {name}: executed but has no budget line" for prog, name in sorted(set(rows) - budgeted)]
    for o in over:
        print(f"cu-budget: OVER: {o}", file=sys.stderr)
    if over:
        sys.exit(1)
    print("cu-budget: every instruction within its budget", file=sys.stderr)


main()
