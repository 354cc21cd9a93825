"""Calibration of the timing-axis checks (prunekit.verdicts.findings_timing): under the null
'reproduced' at most 5 % plus binomial slack; under a declared effect, power >= 0.5."""
import numpy as np
from scipy import stats

from prunekit import verdicts as V
from prunekit.verdicts import findings_timing as TA

INIT_CRITERIA = ("snip", "grasp", "synflow", "magnitude", "random")


def _limit(n_sims: int) -> int:
    return int(stats.binom.ppf(0.999, n_sims, 0.05))


def _rows(rng, after_gain=0.0, rigl_gap=0.0, seeds=10, sparsities=(0.8, 0.9)):
    rows = []
    for sp in sparsities:
        for s in range(seeds):
            base = rng.normal(0.9, 0.03)  # seed effect shared by the arms: pairing removes it
            arms = [("oneshot_after", "oneshot", "magnitude", after_gain), ("gradual_late", "gradual", "magnitude", 0.0),
                    ("rigl", "rigl", "magnitude", rigl_gap)]
            arms += [("at_init", "oneshot", c, 0.0) for c in INIT_CRITERIA]
            for timing, kind, crit, gain in arms:
                rows.append(dict(id=f"{timing}-{crit}-{sp}-{s}", status="ok", loss="ce", criterion=crit,
                                 timing=timing, timing_kind=kind, sparsity=sp, seed=s,
                                 test_accuracy=base + gain + rng.normal(0, 0.007)))
    return rows


def test_after_beats_init_null_and_power():
    n = 200
    rng = np.random.default_rng(5)
    null = [TA.after_beats_init(_rows(rng)).verdict for _ in range(n)]
    # 10 cells under Holm: an exact one-sided sign-flip p of 1 / 2^10 is the smallest, so the
    # effect must put nearly every seed's difference above zero (sd(d) 0.0099).
    power = [TA.after_beats_init(_rows(rng, after_gain=0.025)).verdict for _ in range(n // 2)]
    assert null.count(V.REPRODUCED) <= _limit(n)
    assert power.count(V.REPRODUCED) / (n // 2) >= 0.5
    one = TA.after_beats_init(_rows(rng, after_gain=0.05))
    assert one.verdict == V.REPRODUCED and len(one.rows) == 2 * len(INIT_CRITERIA)  # cells: sparsity x criterion


def test_rigl_matches_gradual_null_at_the_margin_and_power():
    n = 200
    rng = np.random.default_rng(6)
    null = [TA.rigl_matches_gradual(_rows(rng, rigl_gap=TA.RIGL_MARGIN)).verdict for _ in range(n)]
    null_below = [TA.rigl_matches_gradual(_rows(rng, rigl_gap=-TA.RIGL_MARGIN)).verdict for _ in range(n)]
    power = [TA.rigl_matches_gradual(_rows(rng, rigl_gap=0.0)).verdict for _ in range(n // 2)]
    assert null.count(V.REPRODUCED) <= _limit(n) and null_below.count(V.REPRODUCED) <= _limit(n)
    assert power.count(V.REPRODUCED) / (n // 2) >= 0.5


def test_missing_arms_are_not_measured():
    rows = [r for r in _rows(np.random.default_rng(0)) if r["timing"] != "rigl"]
    assert TA.rigl_matches_gradual(rows).verdict == V.NOT_MEASURED
    assert TA.after_beats_init(rows, after="nope").verdict == V.NOT_MEASURED
