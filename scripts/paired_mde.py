"""Minimum detectable effect of a finished study's paired arm comparisons (issue 13 item 7).

For two timings (or losses) compared at each sparsity, pairs their runs by seed, and prints
the mean paired difference of ``test_accuracy``, its SD and the minimum detectable effect at
80 % power, two-sided alpha 0.05, with the study's n seeds (normal approximation, Cohen
1988, ch. 2; the inverse of prunekit.verdicts.power.seeds_needed):

    MDE = (z_{0.975} + z_{0.8}) * sd / sqrt(n),

and the seeds prunekit.verdicts.power.seeds_needed gives for the observed difference.

Usage: .venv/bin/python scripts/paired_mde.py WORKDIR --field=timing --a=gradual --b=oneshot_after
"""
from __future__ import annotations

import argparse
import collections
import json
import math
import os

from scipy import stats


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workdir")
    ap.add_argument("--field", default="timing")
    ap.add_argument("--a", required=True)
    ap.add_argument("--b", required=True)
    ap.add_argument("--metric", default="test_accuracy")
    args = ap.parse_args(argv)
    from prunekit.verdicts import power

    cells = collections.defaultdict(dict)
    with open(os.path.join(args.workdir, "results.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if r.get("status") == "ok" and r.get(args.field) in (args.a, args.b) and r.get(args.metric) is not None:
                key = tuple(r.get(k) for k in ("loss", "criterion", "sparsity") if k != args.field)
                cells[key].setdefault(r["seed"], {})[r[args.field]] = float(r[args.metric])
    z = stats.norm.ppf(0.975) + stats.norm.ppf(0.8)
    for key, by_seed in sorted(cells.items(), key=str):
        d = [v[args.a] - v[args.b] for v in by_seed.values() if args.a in v and args.b in v]
        if len(d) < 2:
            continue
        mean = sum(d) / len(d)
        sd = math.sqrt(sum((x - mean) ** 2 for x in d) / (len(d) - 1))
        need = power.seeds_needed(mean, sd) if sd > 0 and mean else None
        print(f"{key}: n {len(d)} mean {args.a}-{args.b} {mean:+.4f} sd {sd:.4f} "
              f"MDE {z * sd / math.sqrt(len(d)):.4f} same-sign {max(sum(x > 0 for x in d), sum(x < 0 for x in d))}"
              f"/{len(d)} seeds_needed {need}")


if __name__ == "__main__":
    main()
