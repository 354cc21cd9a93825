"""Calibration of prunekit.verdicts: under each test's null, ``reproduced`` comes out at most 5 %
of the time plus binomial slack for the number of simulations; under a declared true effect the
power is printed (``pytest -s``) and must clear a modest floor. Seeded, so deterministic."""
import numpy as np
import pytest
from scipy import stats

from prunekit import verdicts as V

ALPHA = 0.05


def _limit(n_sims: int) -> int:
    """Largest count of 'reproduced' a 5 % test may show in n_sims runs (binomial 99.9 % quantile)."""
    return int(stats.binom.ppf(0.999, n_sims, ALPHA))


def _run(n_sims, draw, test, seed):
    rng = np.random.default_rng(seed)
    words = [test(*draw(rng)).verdict for _ in range(n_sims)]
    return {w: words.count(w) / n_sims for w in V.WORDS}, words.count(V.REPRODUCED)


def _report(name, rates, power=None):
    line = ", ".join(f"{w} {r:.3f}" for w, r in rates.items() if r)
    print(f"\n[calibration] {name}: {line}" + (f" (power {power:.3f})" if power is not None else ""))


# ---------------------------------------------------------------- paired difference
@pytest.mark.parametrize("pairs", [4, 6, 10])
def test_paired_null(pairs):
    def draw(rng):  # one seed effect shared by both arms (trunk, init), equal means
        s = rng.normal(0, 3, pairs)
        return s + rng.normal(0, 1, pairs), s + rng.normal(0, 1, pairs)
    n = 400
    rates, hits = _run(n, draw, lambda a, b: V.paired_difference(a, b, "greater"), seed=pairs)
    _report(f"paired sign-flip, null, {pairs} pairs", rates)
    assert hits <= _limit(n)
    if pairs < 6:
        assert hits == 0 and rates[V.CONTRADICTED] == 0  # the exact test cannot reach p < 0.05


def test_paired_power_at_seeds_needed():
    effect, sd_d = 1.0, np.sqrt(2)
    pairs = V.seeds_needed(effect, sd_d)
    def draw(rng):
        s = rng.normal(0, 3, pairs)
        return s + effect + rng.normal(0, 1, pairs), s + rng.normal(0, 1, pairs)
    n = 200
    rates, hits = _run(n, draw, lambda a, b: V.paired_difference(a, b, "greater"), seed=11)
    _report(f"paired sign-flip, effect 1 sd(d) 1.41, {pairs} pairs (seeds_needed)", rates, hits / n)
    assert hits / n >= 0.65  # designed for 0.8 by the normal approximation


# ---------------------------------------------------------------- TOST
@pytest.mark.parametrize("pairs,boundary", [(3, 0.5), (8, 0.5), (8, -0.5)])
def test_tost_null_at_the_margin(pairs, boundary):
    def draw(rng):
        return boundary + rng.normal(0, 0.4, pairs), np.zeros(pairs)
    n = 400
    rates, hits = _run(n, draw, lambda a, b: V.equivalence(a, b, margin=0.5), seed=pairs + 7)
    _report(f"TOST margin 0.5, true difference {boundary} (null), {pairs} pairs", rates)
    assert hits <= _limit(n)


def test_tost_power_and_few_seeds_stay_inconclusive():
    margin, sd = 0.5, 0.4
    results = {}
    for pairs in (3, 12):
        def draw(rng):
            return rng.normal(0, sd, pairs), np.zeros(pairs)
        n = 300
        rates, hits = _run(n, draw, lambda a, b: V.equivalence(a, b, margin=margin), seed=pairs)
        _report(f"TOST margin 0.5, true difference 0, sd 0.4, {pairs} pairs", rates, hits / n)
        results[pairs] = hits / n
    assert results[12] >= 0.7 and results[3] < results[12]


# ---------------------------------------------------------------- overlap
@pytest.mark.parametrize("claim", ["lower", "higher"])
def test_jaccard_null_random_sets(claim):
    n_total, size = 359, 40  # the digits example: PIE sets of 40 out of 359 test examples
    def draw(rng):
        return rng.choice(n_total, size, replace=False), rng.choice(n_total, size, replace=False)
    n = 600
    rates, hits = _run(n, draw, lambda a, b: V.jaccard_vs_chance(a, b, n_total, claim), seed=5)
    _report(f"Jaccard vs chance, claim {claim}, random sets 40 of 359", rates)
    assert hits <= _limit(n)


def test_jaccard_power_when_sets_avoid_each_other():
    n_total, size = 359, 40
    def draw(rng):  # B never picks a random 3/4 of A's items: expected overlap 1.1 instead of 4.5
        a = rng.choice(n_total, size, replace=False)
        banned = set(a[: 3 * size // 4])
        pool = np.array([i for i in range(n_total) if i not in banned])
        return a, rng.choice(pool, size, replace=False)
    n = 400
    rates, hits = _run(n, draw, lambda a, b: V.jaccard_vs_chance(a, b, n_total, "lower"), seed=6)
    _report("Jaccard vs chance, claim lower, B avoids 3/4 of A", rates, hits / n)
    assert hits / n >= 0.5


LAYERS = [(60, 0.5), (200, 0.2), (500, 0.05)]  # (weights, density kept)


def _random_mask(rng, weights=None):
    out = []
    for i, (size, density) in enumerate(LAYERS):
        p = None if weights is None else weights[i] / weights[i].sum()
        m = np.zeros(size, bool)
        m[rng.choice(size, int(round(size * density)), replace=False, p=p)] = True
        out.append(m)
    return out


@pytest.mark.parametrize("claim", ["higher", "lower"])
def test_mask_null_same_per_layer_densities(claim):
    n = 600
    rates, hits = _run(n, lambda rng: (_random_mask(rng), _random_mask(rng)),
                       lambda a, b: V.mask_iou_vs_chance(a, b, claim), seed=9)
    _report(f"mask IoU vs per-layer chance, claim {claim}, random masks", rates)
    assert hits <= _limit(n)


def test_mask_power_when_masks_share_weights():
    def draw(rng):
        a = _random_mask(rng)
        return a, _random_mask(rng, weights=[1 + 1.0 * m for m in a])  # A's kept weights twice as likely
    n = 300
    rates, hits = _run(n, draw, lambda a, b: V.mask_iou_vs_chance(a, b, "higher"), seed=10)
    _report("mask IoU, claim higher, B favours A's kept weights 2:1", rates, hits / n)
    assert hits / n >= 0.5


# ---------------------------------------------------------------- correlation
@pytest.mark.parametrize("method,points", [("spearman", 4), ("spearman", 7), ("kendall", 9)])
def test_correlation_null_independent(method, points):
    n = 300
    rates, hits = _run(n, lambda rng: (rng.normal(size=points), rng.normal(size=points)),
                       lambda x, y: V.directional_correlation(x, y, "negative", method), seed=points)
    _report(f"{method} correlation, claim negative, independent, {points} points", rates)
    assert hits <= _limit(n)


@pytest.mark.parametrize("method", ["spearman", "kendall"])
def test_correlation_power(method):
    points, n = 9, 300
    def draw(rng):
        x = rng.normal(size=points)
        return x, -x + rng.normal(0, 0.75, points)  # true correlation -0.8
    rates, hits = _run(n, draw, lambda x, y: V.directional_correlation(x, y, "negative", method), seed=12)
    _report(f"{method} correlation, claim negative, true r -0.8, {points} points", rates, hits / n)
    assert hits / n >= 0.6


# ---------------------------------------------------------------- Holm and cells
def _cells(rng, effect, pairs=8, cells=4):
    out = []
    for c in range(cells):
        s = rng.normal(0, 3, pairs)
        o = V.paired_difference(s + effect + rng.normal(0, 1, pairs), s + rng.normal(0, 1, pairs), "greater")
        out.append(o.verdict_for("D1", "gradual beats one-shot", f"cell{c}"))
    return out


@pytest.mark.parametrize("rule", ["any", "all"])
def test_combined_cells_null(rule):
    n = 300
    rng = np.random.default_rng(21)
    words = [V.combine_cells(_cells(rng, 0.0), "D1", "claim", "d1", rule=rule).verdict for _ in range(n)]
    rates = {w: words.count(w) / n for w in V.WORDS}
    _report(f"4 null cells of 8 pairs, Holm, rule {rule}", rates)
    assert words.count(V.REPRODUCED) <= _limit(n)


def test_combined_cells_power():
    n = 150
    rng = np.random.default_rng(22)
    words = [V.combine_cells(_cells(rng, 2.0), "D1", "claim", "d1", rule="all").verdict for _ in range(n)]
    power = words.count(V.REPRODUCED) / n
    _report("4 cells of 8 pairs, effect 2 sd(d) 1.41, Holm, rule all", {w: words.count(w) / n for w in V.WORDS}, power)
    assert power >= 0.5


# ---------------------------------------------------------------- finding checks over rows
from prunekit.verdicts import findings_ab as FA  # noqa: E402
from prunekit.verdicts import findings_cd as FC  # noqa: E402


def _d1_rows(rng, gain, seeds=8, sparsities=(0.5, 0.9)):
    rows = []
    for s in range(seeds):
        base = rng.normal(0.8, 0.05)  # the seed's trunk and initialisation, shared by both arms
        for sp in sparsities:
            for timing, kind, g in (("gradual", "gradual", gain), ("oneshot_after", "oneshot", 0.0)):
                rows.append(dict(id=f"{timing}-{sp}-{s}", status="ok", loss="ce", criterion="magnitude",
                                 timing=timing, timing_kind=kind, sparsity=sp, seed=s,
                                 test_accuracy=base + g + rng.normal(0, 0.01)))
    return rows


def test_d1_check_null_and_power():
    n = 300
    rng = np.random.default_rng(31)
    null = [FC.d1_gradual_beats_oneshot(_d1_rows(rng, 0.0)).verdict for _ in range(n)]
    power = [FC.d1_gradual_beats_oneshot(_d1_rows(rng, 0.015)).verdict for _ in range(n)]
    _report("D1 check, 2 sparsities x 8 seeds, equal means", {w: null.count(w) / n for w in V.WORDS})
    _report("D1 check, gradual +0.015 (sd(d) 0.014)", {w: power.count(w) / n for w in V.WORDS},
            power.count(V.REPRODUCED) / n)
    assert null.count(V.REPRODUCED) <= _limit(n) and power.count(V.REPRODUCED) / n >= 0.5


def _c3_rows(rng, rho_spearman, groups):
    r = 2 * np.sin(np.pi * rho_spearman / 6)  # Pearson r of a bivariate normal with this Spearman rho
    x = rng.normal(size=groups)
    y = r * x + np.sqrt(1 - r * r) * rng.normal(size=groups)
    return [dict(id=f"g{g}", status="ok", loss="ce", criterion=f"c{g}", timing="t", timing_kind="oneshot",
                 lam=0.0, local_steps=1, sparsity=0.9, seed=0, loss_after_prune=float(x[g]), test_accuracy=float(y[g]))
            for g in range(groups)]


@pytest.mark.parametrize("groups", [8, 24])
def test_c3_check_null_at_the_bound(groups):
    n = 200
    rng = np.random.default_rng(groups)
    words = [FC.c3_preservation_not_predictive(_c3_rows(rng, FC.RHO_BOUND_C3, groups)).verdict for _ in range(n)]
    _report(f"C3 check, true Spearman rho = bound -0.3, {groups} groups", {w: words.count(w) / n for w in V.WORDS})
    assert words.count(V.REPRODUCED) <= _limit(n)


def test_c3_check_power_with_no_association():
    n, groups = 200, 40
    rng = np.random.default_rng(41)
    words = [FC.c3_preservation_not_predictive(_c3_rows(rng, 0.0, groups)).verdict for _ in range(n)]
    _report(f"C3 check, true rho 0, {groups} groups", {w: words.count(w) / n for w in V.WORDS},
            words.count(V.REPRODUCED) / n)
    assert words.count(V.REPRODUCED) / n >= 0.5


def _b2_rows(rng, gap, seeds):
    rows = []
    for s in range(seeds):
        base = rng.normal(0.8, 0.05)
        rows.append(dict(id=f"d{s}", status="ok", loss="rotation", criterion="none", timing="dense",
                         timing_kind="dense", sparsity=0.0, seed=s, transfer_probe_accuracy=base + rng.normal(0, 0.01)))
        rows.append(dict(id=f"p{s}", status="ok", loss="rotation", criterion="magnitude", timing="imp",
                         timing_kind="iterative", sparsity=0.9, seed=s,
                         transfer_probe_accuracy=base + gap + rng.normal(0, 0.01)))
    return rows


def test_b2_check_null_at_the_margin_and_power():
    n = 300
    rng = np.random.default_rng(51)
    labels = {"rotation": False}
    null = [FA.b2_transfer_preserved(_b2_rows(rng, -FA.ACCURACY_MARGIN_B, 8), labels).verdict for _ in range(n)]
    power = [FA.b2_transfer_preserved(_b2_rows(rng, 0.0, 8), labels).verdict for _ in range(n)]
    _report("B2 check, pruned 0.02 behind dense (the margin), 8 seeds", {w: null.count(w) / n for w in V.WORDS})
    _report("B2 check, no gap, sd(d) 0.014, 8 seeds", {w: power.count(w) / n for w in V.WORDS},
            power.count(V.REPRODUCED) / n)
    assert null.count(V.REPRODUCED) <= _limit(n) and power.count(V.REPRODUCED) / n >= 0.5


def test_a2_check_null():
    n = 200
    rng = np.random.default_rng(61)
    names = {"gradual": "gradual_early", "oneshot_after": "gradual_late"}
    words = [FA.a2_early_hurts_more([dict(r, timing=names[r["timing"]]) for r in _d1_rows(rng, 0.0)]).verdict
             for _ in range(n)]
    _report("A2 check, early = late, 2 sparsities x 8 seeds", {w: words.count(w) / n for w in V.WORDS})
    assert words.count(V.REPRODUCED) <= _limit(n)


def _c_rows(rng, jump_gain, acc_gap, seeds=8):
    rows = []
    for s in range(seeds):
        base_jump, base_acc = rng.normal(1.0, 0.3), rng.normal(0.9, 0.02)
        for crit in FC.LOCAL_CRITERIA:
            for steps, lam in ((1, 0.0), (14, 0.0), (1, 1e-3)):
                local = steps > 1 or lam > 0
                rows.append(dict(id=f"{crit}-{steps}-{lam}-{s}", status="ok", loss="ce", criterion=crit,
                                 criterion_plugin=crit, timing="oneshot", timing_kind="oneshot", lam=lam,
                                 local_steps=steps, sparsity=0.95, seed=s,
                                 loss_jump=base_jump + (jump_gain if local else 0) + rng.normal(0, 0.05),
                                 test_accuracy=base_acc + (acc_gap if crit == "taylor1" else 0) + rng.normal(0, 0.003)))
    return rows


def test_c1_check_null_and_c2_check_null_at_the_margin():
    n = 150
    rng = np.random.default_rng(71)
    c1 = [FC.c1_locality_reduces_jump(_c_rows(rng, 0.0, 0.0)).verdict for _ in range(n)]
    c2 = [FC.c2_orders_alike_with_locality(_c_rows(rng, 0.0, FC.ACCURACY_MARGIN_C2)).verdict for _ in range(n)]
    c2_power = [FC.c2_orders_alike_with_locality(_c_rows(rng, 0.0, 0.0)).verdict for _ in range(n)]
    _report("C1 check, locality changes nothing, 3 criteria x 2 arms x 8 seeds", {w: c1.count(w) / n for w in V.WORDS})
    _report("C2 check, taylor1 0.01 (the margin) above qm/obd, 8 seeds", {w: c2.count(w) / n for w in V.WORDS})
    _report("C2 check, no gap, sd(d) 0.004", {w: c2_power.count(w) / n for w in V.WORDS},
            c2_power.count(V.REPRODUCED) / n)
    assert c1.count(V.REPRODUCED) <= _limit(n) and c2.count(V.REPRODUCED) <= _limit(n)
    assert c2_power.count(V.REPRODUCED) / n >= 0.5


def _b1_rows(rng, gap, seeds=8):
    rows = []
    for s in range(seeds):
        base = rng.normal(0.8, 0.05)
        for loss, g in (("ce", 0.0), ("rotation", gap)):
            for crit, extra in (("magnitude", 0.0), ("random", -0.2)):
                rows.append(dict(id=f"{loss}-{crit}-{s}", status="ok", loss=loss, criterion=crit, criterion_plugin=crit,
                                 timing="imp", timing_kind="iterative", sparsity=0.9, seed=s,
                                 retrained_test_accuracy=base + g + extra + rng.normal(0, 0.007)))
    return rows


def test_b1_check_null_at_the_margin():
    n = 200
    rng = np.random.default_rng(81)
    labels = {"ce": True, "rotation": False}
    words = [FA.b1_ssl_mask_as_good(_b1_rows(rng, -FA.ACCURACY_MARGIN_B), labels).verdict for _ in range(n)]
    _report("B1 check, label-free mask 0.02 (the margin) behind, 8 seeds", {w: words.count(w) / n for w in V.WORDS})
    assert words.count(V.REPRODUCED) <= _limit(n)


def test_a3_and_a4_checks_null():
    n = 300
    rng = np.random.default_rng(91)
    a3 = []
    for _ in range(n):
        sets = [dict(group=f"g{i}", sparsity=0.9, pies=rng.choice(359, 40, replace=False)) for i in range(3)]
        a3.append(FA.a3_pie_overlap_low(sets, 359).verdict)
    a4 = []
    for _ in range(n):  # PIE and non-PIE means from one distribution per group
        diff = [dict(metric=m, pie_mean=rng.normal(), non_pie_mean=rng.normal()) for m in ("q_score", "pd_score")
                for _ in range(8)]
        a4.append(FA.a4_pies_harder(diff).verdict)
    _report("A3 check, 3 random PIE sets of 40 out of 359", {w: a3.count(w) / n for w in V.WORDS})
    _report("A4 check, 8 groups, PIEs like non-PIEs", {w: a4.count(w) / n for w in V.WORDS})
    assert a3.count(V.REPRODUCED) <= _limit(n) and a4.count(V.REPRODUCED) <= _limit(n)


def _d2_verdicts(rng, n, gain):
    words = []
    for _ in range(n):
        rows = _d1_rows(rng, 0.0)
        for r in rows:  # independent noise per run; gradual raised by gain x the noise sd in both metrics
            up = gain if r["timing_kind"] == "gradual" else 0.0
            r["sharpness"], r["psp_entropy"] = rng.normal(1e-3 + up * 1e-4, 1e-4), rng.normal(0.5 + up * 0.05, 0.05)
        words.append(FC.d2_gradual_sharper_higher_entropy(rows).verdict)
    return words


def test_d2_check_null_and_power():
    n = 150
    rng = np.random.default_rng(101)
    null, effect = _d2_verdicts(rng, n, 0.0), _d2_verdicts(rng, n, 2.0)
    _report("D2 check, sharpness and PSP-entropy equal in both arms", {w: null.count(w) / n for w in V.WORDS})
    _report("D2 check, both metrics 2 noise sd higher for gradual, 8 seeds", {w: effect.count(w) / n for w in V.WORDS},
            effect.count(V.REPRODUCED) / n)
    assert null.count(V.REPRODUCED) <= _limit(n) and effect.count(V.REPRODUCED) / n >= 0.5


def test_a1_check_null_and_power():
    from prunekit.verdicts import findings_ab as A

    def records(rng, seeds, gain):
        out = []
        for s in range(seeds):
            base = rng.normal(20, 5)  # a seed's trunk and initialisation: shared by both losses
            for loss, shift in (("supcon", gain), ("ce", 0.0)):
                out.append({"loss": loss, "criterion": "magnitude", "timing": "gradual", "sparsity": 0.9,
                            "seed": s, "id": f"{loss}-{s}", "excess": base + shift + rng.normal(0, 2.0)})
        return out

    rep = {"supcon": "contrastive", "ce": "supervised"}
    n, rng = 400, np.random.default_rng(21)
    words = [A.a1_contrastive_more_pies(records(rng, 8, 0.0), rep).verdict for _ in range(n)]
    _report("A1 check, null (equal excess PIEs), 8 seeds", {w: words.count(w) / n for w in V.WORDS})
    assert words.count(V.REPRODUCED) <= _limit(n)
    n = 200
    hits = sum(A.a1_contrastive_more_pies(records(rng, 8, 3.0), rep).verdict == V.REPRODUCED for _ in range(n))
    _report("A1 check, 3 more excess PIEs per seed (sd of a difference 2.8), 8 seeds", {}, hits / n)
    assert hits / n >= 0.5
