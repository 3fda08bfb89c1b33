"""``lincah queue-sim``: how many counters keep the mean wait under a target, printed
beside the M/M/c (Erlang C) anchor."""

from __future__ import annotations

import argparse
import math
import sys
from typing import TextIO

from domain.queue_simulation import Scenario, counters_needed, erlang_c_wait_minutes, simulate
from domain.refusals import Invalid


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--arrivals-per-hour", type=float, required=True)
    p.add_argument("--minutes-per-citizen", type=float, required=True)
    p.add_argument("--counters", type=int, required=True, help="counters to simulate")
    p.add_argument("--target-minutes", type=float, required=True, help="mean wait to keep under")
    p.add_argument("--fixed", action="store_true", help="every citizen takes exactly the minutes")
    p.add_argument("--priority-share", type=float, default=0.0)
    p.add_argument("--citizens", type=int, default=100_000, help="citizens simulated per run")
    p.add_argument("--seed", type=int, default=2026)


def main(args: argparse.Namespace, out: TextIO) -> int:
    s = Scenario(
        arrivals_per_hour=args.arrivals_per_hour,
        minutes_per_citizen=args.minutes_per_citizen,
        counters=args.counters,
        handling="fixed" if args.fixed else "exponential",
        priority_share=args.priority_share,
        citizens=args.citizens,
        seed=args.seed,
    )
    try:
        r = simulate(s) if s.load < 1 else None
        needed = counters_needed(s, args.target_minutes)
    except Invalid as e:
        print(f"lincah queue-sim: {e}", file=sys.stderr)
        return 2
    anchor = erlang_c_wait_minutes(s.arrivals_per_hour, s.minutes_per_citizen, s.counters)
    print(f"{s.counters} counters, load {s.load:.0%} per counter", file=out)
    if r is None:
        print("  the counters cannot keep up: the queue grows all day", file=out)
    else:
        print(
            f"  mean wait {r.mean_wait_minutes:.1f} min (Erlang C, exponential service: "
            f"{anchor:.1f} min); median {r.p50_wait_minutes:.1f}, p90 "
            f"{r.p90_wait_minutes:.1f}, p95 {r.p95_wait_minutes:.1f}, max "
            f"{r.max_wait_minutes:.1f}; {r.waited_share:.0%} waited at all; "
            f"{r.citizens} citizens simulated",
            file=out,
        )
    if needed is None:
        print(f"  no number of counters up to 60 keeps the mean wait under "
              f"{args.target_minutes:g} min", file=out)  # fmt: skip
    else:
        c, best = needed
        exact = erlang_c_wait_minutes(s.arrivals_per_hour, s.minutes_per_citizen, c)
        shown = "∞" if math.isinf(exact) else f"{exact:.1f}"
        print(
            f"  {c} counters keep the mean wait under {args.target_minutes:g} min: "
            f"{best.mean_wait_minutes:.1f} min (Erlang C: {shown} min)",
            file=out,
        )
    return 0
