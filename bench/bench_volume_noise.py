"""How often the analytics volume check flags an ordinary day of the sample, and whether it still flags broken ones.

    .venv/bin/python bench/bench_volume_noise.py [--users 2000] [--seeds 200]

For each seed, the events per day of the vectorised sample (daily_event_counts: what the deduplicated staging
model counts, drawn without writing a file) are judged as a run judges them (the configuration's analytics_events
settings), once with the band of this checkout and once with the relative day noise off (noise_days 0, the band
learned from the window's MAD alone). Printed per variant: seeds with at least one ordinary day flagged, flagged days
of all judged ones, and the share of judged days that would be flagged if that day had no row, half its rows, or
70 % of them. Seconds per hundred seeds at 2,000 users.
"""

from __future__ import annotations

import argparse
import sys

from core.config import load_config
from expectations.volume import judge_days
from sample_generator.analytics_vectorised import daily_event_counts

BROKEN = {"missing": 0.0, "half": 0.5, "70 %": 0.7}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=200)
    args = parser.parse_args()
    configured = load_config().volume.source("analytics_events")
    variants = {
        "this checkout": configured,
        "MAD alone (noise_days 0)": configured.model_copy(update={"noise_days": 0}),
    }
    tallies = {label: {"seeds": 0, "days": 0, "judged": 0, **dict.fromkeys(BROKEN, 0)} for label in variants}
    for seed in range(args.seeds):
        counts = daily_event_counts(seed=seed, users=args.users)
        for label, settings in variants.items():
            tally = tallies[label]
            judged = [j for j in judge_days(counts, settings) if j.band is not None and j.day != max(counts)]
            flagged = [j for j in judged if j.verdict.flagged]
            tally["seeds"] += bool(flagged)
            tally["days"] += len(flagged)
            tally["judged"] += len(judged)
            for name, share in BROKEN.items():
                tally[name] += sum(not j.band.contains(round(j.count * share)) for j in judged)
    print(f"{args.seeds} seeds of {args.users:,} users, analytics events judged as configured:")
    for label, tally in tallies.items():
        detected = ", ".join(f"{name} {tally[name] / tally['judged']:.3f}" for name in BROKEN)
        print(
            f"  {label:<26} ordinary day flagged in {tally['seeds']} seeds ({tally['seeds'] / args.seeds:.1%}), "
            f"{tally['days']} of {tally['judged']} days; a broken day flagged: {detected}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
