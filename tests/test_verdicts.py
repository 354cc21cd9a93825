"""Hand-built cases for prunekit.verdicts: every verdict word for every test, with p-values and
effects worked out independently (brute-force enumeration, math.comb, hand formulas)."""
import itertools
import json
import math

import numpy as np
import pytest

from prunekit import verdicts as V
from prunekit.verdicts import power, rows as R
from prunekit.verdicts.correlation import _spearman_p

Z975, Z95, Z80 = 1.959963984540054, 1.6448536269514722, 0.8416212335729143


def brute_sign_flip(d):
    """Two-sided p: fraction of all 2^n sign vectors with |mean| >= observed |mean|."""
    d = np.asarray(d, float)
    obs = abs(d.mean())
    flips = [abs((d * np.array(s)).mean()) >= obs - 1e-12 for s in itertools.product((1, -1), repeat=len(d))]
    return sum(flips) / len(flips)


# ---------------------------------------------------------------- paired difference
def test_paired_reproduced_matches_brute_force_and_t_interval():
    a, b = [1.0, 2.5, 0.5, 3.0, 1.5, 2.0, -0.5], [0.0] * 7
    out = V.paired_difference(a, b, claim="greater")
    assert out.verdict == V.REPRODUCED
    assert out.p_value == pytest.approx(brute_sign_flip(a))  # 4 / 128 by enumeration
    d = np.array(a)
    half = 2.446911851144969 * d.std(ddof=1) / math.sqrt(7)  # t_{0.975, 6} from tables
    assert (out.ci_low, out.ci_high) == pytest.approx((d.mean() - half, d.mean() + half))
    assert out.effect == pytest.approx(d.mean()) and out.n == 7


def test_paired_contradicted_and_pairing_uses_seed_order():
    a = [10.0, 20.0, 30.0, 40.0, 50.0, 60.0]
    b = [x + 1 + 0.1 * i for i, x in enumerate(a)]  # b above a in every pair, seeds differ hugely
    out = V.paired_difference(a, b, claim="greater")
    assert out.verdict == V.CONTRADICTED and out.p_value == pytest.approx(2 / 64)


def test_paired_five_pairs_cannot_reach_significance_and_says_seeds_needed():
    out = V.paired_difference([1, 2, 3, 4, 5], [0] * 5)
    assert out.verdict == V.INCONCLUSIVE and out.p_value == pytest.approx(2 / 32)
    assert out.seeds_needed == 6  # normal approximation gives 3, the sign-flip floor is 6
    big = V.paired_difference([0.3, -0.2, 0.5, -0.4, 0.1, 0.2, -0.1, 0.3], [0] * 8)
    sd = np.std([0.3, -0.2, 0.5, -0.4, 0.1, 0.2, -0.1, 0.3], ddof=1)
    assert big.verdict == V.INCONCLUSIVE
    assert big.seeds_needed == math.ceil(((Z975 + Z80) * sd / 0.0875) ** 2)


def test_paired_not_measured_and_bad_input():
    assert V.paired_difference([], []).verdict == V.NOT_MEASURED  # one seed: inconclusive (test below)
    with pytest.raises(ValueError, match="pair the runs by seed"):
        V.paired_difference([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="'greater'"):
        V.paired_difference([1, 2], [1, 2], claim="bigger")
    with pytest.raises(ValueError, match="NaN"):
        V.paired_difference([1, float("nan")], [1, 2])


def test_sign_flip_monte_carlo_above_16_pairs_is_close_to_exact_normal_limit():
    rng = np.random.default_rng(3)
    d = rng.normal(0.3, 1, 30)
    p = V.sign_flip_p(d, seed=1)
    # the sign-flip null of the mean has variance sum(d^2)/n^2: normal approximation for n = 30
    z = abs(d.mean()) / (math.sqrt((d ** 2).sum()) / len(d))
    assert p == pytest.approx(math.erfc(z / math.sqrt(2)), abs=0.03)


# ---------------------------------------------------------------- TOST
def _tost_p(d, m):
    """Schuirmann's p: the larger of scipy's two one-sided one-sample t-tests against -m and +m."""
    from scipy import stats
    return max(stats.ttest_1samp(d, -m, alternative="greater").pvalue,
               stats.ttest_1samp(d, m, alternative="less").pvalue)


def test_tost_words():
    tight = [0.1, -0.1, 0.05, -0.05, 0.0, 0.02]
    out = V.equivalence(tight, [0] * 6, margin=0.5)
    assert out.verdict == V.REPRODUCED and out.p_value == pytest.approx(_tost_p(tight, 0.5))
    far = V.equivalence([5.1, 4.9, 5.0, 5.2], [0] * 4, margin=1.0)
    from scipy import stats
    assert far.verdict == V.CONTRADICTED
    assert far.p_value == pytest.approx(stats.ttest_1samp([5.1, 4.9, 5.0, 5.2], 1.0, alternative="greater").pvalue)
    wide = V.equivalence([-3, 3, -2, 2], [0] * 4, margin=1.0)  # mean 0, but a CI far wider than the margin
    assert wide.verdict == V.INCONCLUSIVE and wide.effect == 0 and wide.seeds_needed > 4
    sd = np.std([-3, 3, -2, 2], ddof=1)
    assert wide.seeds_needed == math.ceil(((Z95 + 1.2815515655446004) * sd / 1.0) ** 2)
    assert V.equivalence([], [], margin=1).verdict == V.NOT_MEASURED
    with pytest.raises(ValueError, match="positive number"):
        V.equivalence([1, 2], [1, 2], margin=0)


def test_tost_fewer_seeds_never_make_equivalence_easier():
    d = np.array([0.2, -0.3, 0.25, -0.15, 0.1, -0.05, 0.3, -0.2])
    words = [V.equivalence(d[:n], np.zeros(n), margin=0.3).verdict for n in (2, 3, 8)]
    assert words[:2] == [V.INCONCLUSIVE, V.INCONCLUSIVE] and words[2] == V.REPRODUCED


# ---------------------------------------------------------------- overlap
def test_jaccard_exact_against_combinatorics():
    disjoint = V.jaccard_vs_chance(range(10), range(10, 20), 30, claim="lower")
    assert disjoint.verdict == V.REPRODUCED
    assert disjoint.p_value == pytest.approx(math.comb(20, 10) / math.comb(30, 10))
    same = V.jaccard_vs_chance(range(10), range(10), 30, claim="lower")
    assert same.verdict == V.CONTRADICTED and same.p_value == pytest.approx(1 / math.comb(30, 10))


def test_jaccard_inconclusive_matches_enumeration_of_random_sets():
    a, b, n = {0, 1, 2, 3}, {2, 3, 7, 9}, 12
    out = V.jaccard_vs_chance(a, b, n, claim="lower")
    js = [len(a & set(c)) / len(a | set(c)) for c in itertools.combinations(range(n), 4)]
    assert out.verdict == V.INCONCLUSIVE
    assert out.effect == pytest.approx(1 / 3 - np.mean(js))
    assert out.p_value == pytest.approx(min(np.mean([j <= 1 / 3 + 1e-12 for j in js]),
                                            np.mean([j >= 1 / 3 - 1e-12 for j in js])))


def test_jaccard_not_measured_and_bad_indices():
    assert V.jaccard_vs_chance([], [1], 10).verdict == V.NOT_MEASURED
    with pytest.raises(ValueError, match="outside 0..9"):
        V.jaccard_vs_chance([1, 10], [1], 10)


def _brute_mask_null(ma, mb):
    """IoUs of mask_a with every mask of mask_b's per-layer kept counts."""
    per_layer = [[np.isin(np.arange(m.size), c) for c in itertools.combinations(range(m.size), int(m.sum()))]
                 for m in mb]
    out = []
    for combo in itertools.product(*per_layer):
        inter = sum(int((x & y).sum()) for x, y in zip(ma, combo))
        union = sum(int((x | y).sum()) for x, y in zip(ma, combo))
        out.append(inter / union)
    return np.array(out)


def test_mask_iou_words_match_enumeration_of_per_layer_random_masks():
    ma = [np.array([1, 1, 1, 0, 0, 0], bool), np.array([1, 1, 0, 0, 0], bool)]
    null = _brute_mask_null(ma, ma)  # 20 * 10 masks
    same = V.mask_iou_vs_chance(ma, ma, claim="higher")
    assert same.verdict == V.REPRODUCED and same.p_value == pytest.approx(np.mean(null >= 1 - 1e-12))
    assert same.effect == pytest.approx(1 - null.mean())
    apart = [~ma[0], np.array([0, 0, 1, 1, 0], bool)]
    out = V.mask_iou_vs_chance(ma, apart, claim="higher")
    assert out.verdict == V.CONTRADICTED and out.p_value == pytest.approx(np.mean(_brute_mask_null(ma, apart) <= 1e-12))
    mid = [np.array([1, 1, 0, 1, 0, 0], bool), np.array([0, 1, 1, 0, 0], bool)]
    m = V.mask_iou_vs_chance(ma, mid, claim="higher")
    iou = (2 + 1) / (4 + 3)  # layer 1: 2 shared of 4 kept by either; layer 2: 1 of 3
    null = _brute_mask_null(ma, mid)
    assert m.verdict == V.INCONCLUSIVE and m.statistic == pytest.approx(iou)
    assert m.p_value == pytest.approx(min(np.mean(null >= iou - 1e-12), np.mean(null <= iou + 1e-12)))
    assert V.mask_iou_vs_chance(ma, [np.zeros(6, bool), np.zeros(5, bool)]).verdict == V.NOT_MEASURED
    with pytest.raises(ValueError, match="same shapes"):
        V.mask_iou_vs_chance(ma, ma[:1])


# ---------------------------------------------------------------- correlation
def _brute_spearman_p(x, y, alternative):
    def rho(u, v):
        n = len(u)
        return 1 - 6 * sum((a - b) ** 2 for a, b in zip(u, v)) / (n * (n * n - 1))
    rx, ry = np.argsort(np.argsort(x)), np.argsort(np.argsort(y))
    obs = rho(rx, ry)
    null = [rho(rx, p) for p in itertools.permutations(ry)]
    return np.mean([r >= obs - 1e-12 for r in null]) if alternative == "greater" else np.mean(
        [r <= obs + 1e-12 for r in null])


@pytest.mark.parametrize("method", ["spearman", "kendall"])
def test_correlation_words(method):
    x = [1, 2, 3, 4, 5, 6]
    up = V.directional_correlation(x, [1, 3, 2, 4, 6, 5], "positive", method)
    assert up.verdict == V.REPRODUCED
    down = V.directional_correlation(x, [6, 5, 4, 3, 2, 1], "positive", method)
    assert down.verdict == V.CONTRADICTED and down.effect == pytest.approx(-1)
    flat = V.directional_correlation(x, [3, 1, 6, 2, 5, 4], "positive", method)
    assert flat.verdict == V.INCONCLUSIVE and flat.seeds_needed is not None and flat.seeds_needed > 6
    assert V.directional_correlation([1, 2], [1, 2], "positive", method).verdict == V.NOT_MEASURED
    assert V.directional_correlation([1, 2, 3], [1, 1, 1], "positive", method).verdict == V.NOT_MEASURED


def test_spearman_p_matches_enumeration():
    x, y = [1, 2, 3, 4, 5, 6], [1, 3, 2, 4, 6, 5]
    out = V.directional_correlation(x, y, "positive")
    assert out.effect == pytest.approx(1 - 6 * 4 / (6 * 35))
    assert out.p_value == pytest.approx(_brute_spearman_p(x, y, "greater"))
    neg = V.directional_correlation(x, y, "negative")  # the same data, claimed the other way
    assert neg.verdict == V.CONTRADICTED and neg.p_value == pytest.approx(out.p_value)


# ---------------------------------------------------------------- Holm, cells, power
def test_holm_by_hand():
    assert V.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert np.isnan(V.holm([0.01, float("nan")])[1]) and V.holm([0.01, float("nan")])[0] == pytest.approx(0.01)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        V.holm([1.5])


def _cell(word, p, effect, check):
    return V.Verdict("D1", "gradual beats one-shot", check, word, "t", effect=effect, p_value=p, n_seeds=6)


def test_combine_cells_rules_and_opposite_signs():
    cells = [_cell(V.REPRODUCED, 0.01, 0.2, "s0.5"), _cell(V.REPRODUCED, 0.02, 0.1, "s0.9")]
    both = V.combine_cells(cells, "D1", "gradual beats one-shot", "d1", rule="all")
    assert both.verdict == V.REPRODUCED and both.p_value == pytest.approx(0.02)  # Holm: 0.02, 0.02
    mixed = [_cell(V.REPRODUCED, 0.01, 0.2, "s0.5"), _cell(V.INCONCLUSIVE, 0.5, -0.05, "s0.9")]
    out = V.combine_cells(mixed, "D1", "claim", "d1", rule="all")
    assert out.verdict == V.INCONCLUSIVE and "opposite signs" in out.reason and np.isnan(out.effect)
    assert [r["verdict"] for r in out.rows] == [V.REPRODUCED, V.INCONCLUSIVE]  # Holm: 0.02, 0.5
    assert [r["p_value"] for r in out.rows] == pytest.approx([0.02, 0.5])
    anyrule = V.combine_cells([_cell(V.REPRODUCED, 0.001, 0.2, "a"), _cell(V.INCONCLUSIVE, 0.5, 0.0, "b")],
                              "D1", "claim", "d1", rule="any")
    assert anyrule.verdict == V.REPRODUCED
    con = V.combine_cells([_cell(V.CONTRADICTED, 0.001, -0.2, "a"), _cell(V.REPRODUCED, 0.001, 0.2, "b")],
                          "D1", "claim", "d1", rule="all")
    assert con.verdict == V.CONTRADICTED
    none = V.combine_cells([_cell(V.NOT_MEASURED, float("nan"), float("nan"), "a")], "D1", "claim", "d1")
    assert none.verdict == V.NOT_MEASURED
    with pytest.raises(ValueError, match="rule="):
        V.combine_cells(cells, "D1", "claim", "d1", rule="most")


def test_adjust_demotes_what_holm_does_not_keep():
    cells = [_cell(V.REPRODUCED, 0.03, 0.2, "a"), _cell(V.REPRODUCED, 0.04, 0.1, "b")]
    out = V.adjust(cells)
    assert [v.verdict for v in out] == [V.INCONCLUSIVE, V.INCONCLUSIVE]
    assert [v.p_value for v in out] == pytest.approx([0.06, 0.06]) and "before the Holm" in out[0].reason
    assert cells[0].verdict == V.REPRODUCED  # the inputs are not changed


def test_seeds_needed_by_hand():
    assert V.seeds_needed(1.0, 2.0) == math.ceil(((Z975 + Z80) * 2) ** 2) == 32
    assert V.seeds_needed(10.0, 1.0) == 6 and power.min_pairs_sign_flip(0.05) == 6
    assert V.seeds_needed(0.0, 1.0) is None
    assert V.seeds_needed_equivalence(0.5, 1.0, 0.25) is None
    assert power.points_needed_correlation(0.5) == math.ceil(((Z95 + Z80) / math.atanh(0.5)) ** 2 + 3)
    with pytest.raises(ValueError, match="between 0 and 1"):
        V.seeds_needed(1, 1, power=1.2)


# ---------------------------------------------------------------- vocabulary, rows
def test_verdict_json_and_sentence():
    v = V.paired_difference([1, 2, 3, 4, 5], [0] * 5).verdict_for("D1", "gradual beats one-shot", "d1", rows=["r1"])
    data = json.loads(v.to_json())
    assert data["verdict"] == "inconclusive" and data["seeds_needed"] == 6 and data["rows"] == ["r1"]
    nm = V.not_measured("sign-flip", "no one-shot runs").verdict_for("D1", "claim", "d1")
    assert json.loads(nm.to_json())["effect"] is None  # NaN -> null
    assert "about 6 seeds" in v.describe() and v.describe().count(".") >= 1
    assert nm.describe() == "D1 (claim): not measured, because no one-shot runs."
    with pytest.raises(ValueError, match="not one of"):
        V.Verdict("D1", "c", "k", "agrees", "t")


def test_pair_by_seed_drops_unpaired_failed_and_duplicate_seeds():
    rows = [dict(id=f"{t}{s}", status="ok", timing=t, seed=s, acc=0.5 + s / 10 + (t == "g") / 100)
            for t in ("g", "o") for s in range(4)]
    rows[1]["status"] = "failed"                     # g seed 1 failed
    rows.append(dict(id="o3b", status="ok", timing="o", seed=3, acc=0.1))  # duplicate seed 3 in o
    a, b, ids = R.pair_by_seed(rows, "acc", {"timing": "g"}, {"timing": "o"})
    assert a == pytest.approx([0.51, 0.71]) and b == pytest.approx([0.5, 0.7]) and ids == ("g0", "o0", "g2", "o2")


def test_hand_written_permutation_nulls_agree_with_scipy_permutation_test():
    from scipy import stats
    rng = np.random.default_rng(0)
    for n in (5, 9, 16):
        d = rng.normal(0.4, 1, n)
        ref = stats.permutation_test((d,), lambda x, axis: np.mean(x, axis=axis), permutation_type="samples",
                                     vectorized=True, n_resamples=2 ** n, alternative="two-sided")
        assert V.sign_flip_p(d) == pytest.approx(ref.pvalue)
    for n in (5, 7):
        x, y = rng.normal(size=n), rng.normal(size=n)
        ry = stats.rankdata(y)
        rho, p_greater, p_less = _spearman_p(x, y, seed=0)
        for alternative, mine in (("greater", p_greater), ("less", p_less)):
            ref = stats.permutation_test((stats.rankdata(x),), lambda u, axis=-1: np.sum(
                (u - u.mean(axis=axis, keepdims=True)) * (ry - ry.mean()), axis=axis), permutation_type="pairings",
                vectorized=True, n_resamples=math.factorial(n), alternative=alternative)
            assert mine == pytest.approx(ref.pvalue)
        assert rho == pytest.approx(stats.spearmanr(x, y).statistic)


def test_findings_json_and_markdown():
    from prunekit.verdicts import document
    cells = [_cell(V.REPRODUCED, 0.01, 0.2, "s0.5"), _cell(V.INCONCLUSIVE, float("nan"), float("nan"), "s0.9")]
    v = V.combine_cells(cells, "D1", "gradual beats one-shot", "d1", rule="any")
    data = json.loads(document.findings_json([v]))
    assert [d["finding"] for d in data] == ["D1"] and data[0]["rows"][1]["p_value"] is None
    assert set(data[0]) == {"finding", "claim", "check", "verdict", "test", "statistic", "effect", "ci_low", "ci_high",
                            "p_value", "n_seeds", "seeds_needed", "rows", "reason"}
    text = document.markdown([v])
    assert text.splitlines()[1:] == ["  - s0.5: reproduced (p 0.01)", "  - s0.9: inconclusive"]
    with pytest.raises(TypeError, match="verdict_for"):
        document.findings_json([V.paired_difference([1, 2], [0, 0])])


def test_seeds_needed_of_an_inconclusive_test_exceeds_the_seeds_it_had():
    d = [1, 1, 1, 1, 1, -0.1]  # p = 4 / 64 by enumeration; the normal approximation asks for 3 pairs
    out = V.paired_difference(d, [0] * 6)
    assert out.verdict == V.INCONCLUSIVE and out.p_value == pytest.approx(brute_sign_flip(d)) == 4 / 64
    assert V.seeds_needed(np.mean(d), np.std(d, ddof=1)) == 6 and out.seeds_needed == 7


def test_package_imports_without_tensorflow():
    import subprocess
    import sys
    code = ("import sys, prunekit.verdicts, prunekit.verdicts.findings_ab, prunekit.verdicts.findings_cd, "
            "prunekit.verdicts.document; print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_one_seed_is_inconclusive_with_n_1_and_the_minimum_seeds_none_is_not_measured():
    from prunekit.verdicts import family, paired

    one = paired.paired_difference([0.8], [0.75], "greater")
    # 1 pair: no test; the exact sign-flip test reaches p < 0.05 from 6 pairs (2 / 2^6 = 0.031 < 0.05 <
    # 2 / 2^5 = 0.0625)
    assert (one.verdict, one.n, one.seeds_needed) == (V.INCONCLUSIVE, 1, 6)
    assert one.effect == pytest.approx(0.05)
    tost = paired.equivalence([0.8], [0.79], 0.02)
    assert (tost.verdict, tost.n, tost.seeds_needed) == (V.INCONCLUSIVE, 1, 2)
    assert paired.paired_difference([], [], "greater").verdict == V.NOT_MEASURED
    v = family.combine_cells([one.verdict_for("D1", "c", "cell a"), one.verdict_for("D1", "c", "cell b")],
                             "D1", "c", "check")
    assert (v.verdict, v.n_seeds, v.seeds_needed) == (V.INCONCLUSIVE, 1, 6)
    text = v.describe()
    assert "n = 1" in text and "at least 6 seeds" in text and "n = 0" not in text and "p n/a" not in text
