"""Per-finding checks of prunekit.verdicts over hand-built results rows: each word, the cells
kept apart, and the rows used."""
import numpy as np
import pytest

from prunekit import verdicts as V
from prunekit.verdicts import findings_ab as A
from prunekit.verdicts import findings_cd as F


def row(seed, timing, kind, sparsity, **metrics):
    base = dict(id=f"{metrics.pop('loss', 'ce')}-{timing}-{sparsity}-{seed}", status="ok", loss="ce",
                criterion="magnitude", criterion_plugin="magnitude", timing=timing, timing_kind=kind,
                sparsity=sparsity, seed=seed, lam=0.0, local_steps=1)
    base.update(metrics)
    base["loss"] = base["id"].split("-")[0]
    return base


def d1_rows(seeds, gain, noise=0.002, sparsities=(0.9,)):
    rng = np.random.default_rng(1)
    out = []
    for s in range(seeds):
        base = 0.7 + 0.05 * s  # large seed-to-seed spread, removed by the pairing
        for sp in sparsities:
            out.append(row(s, "gradual", "gradual", sp, test_accuracy=base + gain + rng.normal(0, noise)))
            out.append(row(s, "oneshot_after", "oneshot", sp, test_accuracy=base + rng.normal(0, noise)))
    return out


def test_d1_words():
    rep = F.d1_gradual_beats_oneshot(d1_rows(6, 0.02))
    assert rep.verdict == V.REPRODUCED and rep.p_value == pytest.approx(2 / 64)
    assert rep.effect == pytest.approx(0.02, abs=0.003) and len(rep.rows) == 1
    assert set(rep.rows[0]["rows"]) == {r["id"] for r in d1_rows(6, 0.02)}
    assert F.d1_gradual_beats_oneshot(d1_rows(6, -0.02)).verdict == V.CONTRADICTED
    few = F.d1_gradual_beats_oneshot(d1_rows(3, 0.02))
    assert few.verdict == V.INCONCLUSIVE and few.seeds_needed == 6
    only = [r for r in d1_rows(6, 0.02) if r["timing_kind"] == "gradual"]
    assert F.d1_gradual_beats_oneshot(only).verdict == V.NOT_MEASURED


def test_d1_keeps_cells_with_opposite_signs_apart():
    behind = [dict(r, id=r["id"] + "x", sparsity=0.5,
                   test_accuracy=r["test_accuracy"] - (0.02 if r["timing_kind"] == "gradual" else 0))
              for r in d1_rows(8, 0.0, sparsities=(0.9,))]  # gradual 0.02 behind at sparsity 0.5
    rows = d1_rows(8, 0.02, sparsities=(0.9,)) + behind
    v = F.d1_gradual_beats_oneshot(rows)
    words = {r["check"].split("sparsity ")[1]: r["verdict"] for r in v.rows}
    assert words == {"0.5": V.CONTRADICTED, "0.9": V.REPRODUCED}
    assert v.verdict == V.INCONCLUSIVE and "opposite signs" in v.reason  # rule any: a contradicted cell blocks it


def test_failed_runs_are_not_used():
    rows = d1_rows(6, 0.02)
    rows[0]["status"] = "failed"  # seed 0 gradual
    v = F.d1_gradual_beats_oneshot(rows)
    assert v.n_seeds == 5 and v.verdict == V.INCONCLUSIVE


def _c_rows(jump_local, seeds=8):
    rng = np.random.default_rng(2)
    out = []
    for s in range(seeds):
        for crit in ("taylor1", "qm", "obd"):
            for steps, lam, jump in ((1, 0.0, 1.0), (14, 0.0, 1.0 + jump_local), (1, 1e-3, 1.0 + jump_local)):
                out.append(dict(id=f"{crit}-{steps}-{lam}-{s}", status="ok", loss="ce", criterion=crit,
                                criterion_plugin=crit, timing="oneshot", timing_kind="oneshot", lam=lam,
                                local_steps=steps, sparsity=0.95, seed=s,
                                loss_jump=jump + rng.normal(0, 0.01),
                                test_accuracy=0.9 + rng.normal(0, 0.002),
                                loss_after_prune=jump + rng.normal(0, 0.01)))
    return out


def test_c1_and_c2_words():
    assert F.c1_locality_reduces_jump(_c_rows(-0.5)).verdict == V.REPRODUCED
    assert F.c1_locality_reduces_jump(_c_rows(+0.5)).verdict == V.CONTRADICTED
    assert F.c1_locality_reduces_jump(_c_rows(-0.5, seeds=4)).verdict == V.INCONCLUSIVE
    assert F.c1_locality_reduces_jump([]).verdict == V.NOT_MEASURED
    alike = F.c2_orders_alike_with_locality(_c_rows(-0.5))  # accuracies equal within 0.002 noise, margin 0.01
    assert alike.verdict == V.REPRODUCED and len(alike.rows) == 2  # taylor1 vs qm, taylor1 vs obd
    assert F.c2_orders_alike_with_locality(_c_rows(-0.5, seeds=2)).verdict == V.INCONCLUSIVE
    assert F.c2_orders_alike_with_locality([r for r in _c_rows(-0.5) if r["local_steps"] == 1]).verdict \
        == V.NOT_MEASURED


def _groups(rho_sign, n):
    """n pruned groups, two seeds each, loss_after_prune vs test_accuracy in a given direction."""
    out = []
    for g in range(n):
        for s in range(2):
            acc = 0.5 + 0.01 * g if rho_sign > 0 else 0.9 - 0.01 * g
            if rho_sign == 0:
                acc = 0.7 + 0.01 * [2, 5, 0, 3, 1, 4][g]  # Spearman rho 1 - 6 * 34 / 210 = 0.029
            out.append(dict(id=f"g{g}-{s}", status="ok", loss="ce", criterion=f"c{g}", timing="t",
                            timing_kind="oneshot", lam=0.0, local_steps=1, sparsity=0.9, seed=s,
                            loss_after_prune=1.0 + 0.1 * g, test_accuracy=acc))
    return out


def test_c3_words():
    assert F.c3_preservation_not_predictive(_groups(+1, 12)).verdict == V.REPRODUCED
    contra = F.c3_preservation_not_predictive(_groups(-1, 12))
    assert contra.verdict == V.CONTRADICTED and contra.effect == pytest.approx(-1)
    weak = F.c3_preservation_not_predictive(_groups(0, 6))
    assert weak.verdict == V.INCONCLUSIVE
    assert F.c3_preservation_not_predictive(_groups(+1, 4)).verdict == V.NOT_MEASURED


def _b_rows(free_gap, seeds=8, random_gap=-0.2):
    rng = np.random.default_rng(3)
    out = []
    for s in range(seeds):
        base = 0.8 + 0.02 * s
        for loss, gap in (("ce", 0.0), ("rotation", free_gap)):
            for crit, extra in (("magnitude", 0.0), ("random", random_gap)):
                out.append(dict(id=f"{loss}-{crit}-{s}", status="ok", loss=loss, criterion=crit, criterion_plugin=crit,
                                timing="imp", timing_kind="iterative", sparsity=0.9, seed=s, lam=0.0, local_steps=1,
                                retrained_test_accuracy=base + gap + extra + rng.normal(0, 0.003),
                                transfer_probe_accuracy=base + gap + rng.normal(0, 0.003)))
            out.append(dict(id=f"{loss}-dense-{s}", status="ok", loss=loss, criterion="none", criterion_plugin="none",
                            timing="dense", timing_kind="dense", sparsity=0.0, seed=s,
                            transfer_probe_accuracy=base + gap + rng.normal(0, 0.003)))
    return out


LABELS = {"ce": True, "rotation": False}


def test_b1_b2_words():
    assert A.b1_ssl_mask_as_good(_b_rows(0.0), LABELS).verdict == V.REPRODUCED
    assert A.b1_ssl_mask_as_good(_b_rows(-0.1), LABELS).verdict == V.CONTRADICTED
    assert A.b1_ssl_mask_as_good(_b_rows(0.0, random_gap=0.0), LABELS).verdict == V.INCONCLUSIVE
    assert A.b1_ssl_mask_as_good(_b_rows(0.0), {"ce": True}).verdict == V.NOT_MEASURED
    b2 = A.b2_transfer_preserved(_b_rows(0.0), LABELS)
    assert b2.verdict == V.REPRODUCED and {c["check"].split(" at ")[1] for c in b2.rows} == {
        "criterion magnitude, timing imp, sparsity 0.9", "criterion random, timing imp, sparsity 0.9"}
    assert A.b2_transfer_preserved(_b_rows(0.0, seeds=2), LABELS).verdict == V.INCONCLUSIVE
    assert A.b2_transfer_preserved(_b_rows(0.0), {"ce": True}).verdict == V.NOT_MEASURED


def test_a2_words_and_timing_labels_are_explicit():
    rows = [dict(r, timing={"gradual": "gradual_early", "oneshot_after": "gradual_late"}[r["timing"]])
            for r in d1_rows(6, -0.03)]
    assert A.a2_early_hurts_more(rows).verdict == V.REPRODUCED
    assert A.a2_early_hurts_more(rows, early="gradual_late", late="gradual_early").verdict == V.CONTRADICTED
    assert A.a2_early_hurts_more(d1_rows(6, -0.03)).verdict == V.NOT_MEASURED


def test_a1_a3_a4_words():
    assert A.a1_contrastive_more_pies([], {}).verdict == V.NOT_MEASURED
    sets = [dict(group="ce/gradual", sparsity=0.9, pies=range(0, 40)), dict(group="supcon/gradual", sparsity=0.9,
                                                                            pies=range(40, 80))]
    assert A.a3_pie_overlap_low(sets, 359).verdict == V.REPRODUCED
    sets[1]["pies"] = range(0, 40)
    assert A.a3_pie_overlap_low(sets, 359).verdict == V.CONTRADICTED
    sets[1]["pies"] = range(36, 76)  # 4 shared, about the 4.5 expected by chance
    assert A.a3_pie_overlap_low(sets, 359).verdict == V.INCONCLUSIVE
    assert A.a3_pie_overlap_low(sets[:1], 359).verdict == V.NOT_MEASURED
    diff = [dict(metric="q_score", pie_mean=0.1 + i / 100, non_pie_mean=0.3 + i / 100) for i in range(7)] + \
           [dict(metric="pd_score", pie_mean=3.0 + i / 10, non_pie_mean=2.0 + i / 10) for i in range(7)]
    harder = A.a4_pies_harder(diff)
    assert harder.verdict == V.REPRODUCED and harder.p_value == pytest.approx(2 * 2 / 128)  # Holm over 2 metrics
    assert A.a4_pies_harder(diff[:6] + diff[7:13]).verdict == V.INCONCLUSIVE  # 2/64 per metric, x2 by Holm
    assert A.a4_pies_harder([]).verdict == V.NOT_MEASURED


def test_compare_refuses_an_ambiguous_test():
    from prunekit.verdicts import cells
    with pytest.raises(ValueError, match="either direction"):
        cells.compare(d1_rows(6, 0.0), "D1", "c", "test_accuracy", {"timing": "gradual"},
                      {"timing": "oneshot_after"}, ("sparsity",), direction="greater", margin=0.01)


# ---------------------------------------------------------------- floors and budgets
def _dense(seeds, acc, loss="ce"):
    return [dict(row(s, "dense", "dense", 0.0, loss=loss, test_accuracy=acc), dataset="digits", model="mlp")
            for s in range(seeds)]


FLOORS = {"rows": [{"dataset": "digits", "model": "mlp", "features": "raw_input", "seed": None, "test_accuracy": 0.90},
                   {"dataset": "digits", "model": "mlp", "features": "random_encoder", "seed": 0, "test_accuracy": 0.80},
                   {"dataset": "digits", "model": "mlp", "features": "random_encoder", "seed": 1, "test_accuracy": 0.86}]}


@pytest.mark.parametrize("dense_acc,word", [(0.915, V.NOT_MEASURED), (0.93, V.REPRODUCED)])
def test_a_group_below_its_floor_gets_no_verdict_and_one_above_gets_one(dense_acc, word):
    from prunekit.verdicts import floors

    # best floor: raw input 0.90 (random encoder: mean 0.83); margin 0.02 -> the dense models need > 0.92
    rows = [dict(r, dataset="digits", model="mlp") for r in d1_rows(6, 0.02)] + _dense(6, dense_acc)
    marked = floors.mark(rows, FLOORS)
    assert all("below_floor" not in r for r in rows)  # the caller's rows are not changed
    v = F.d1_gradual_beats_oneshot(marked)
    assert v.verdict == word
    if word == V.NOT_MEASURED:
        assert v.reason == ("below floor: dense ce reaches test_accuracy 0.915, not above the raw input floor "
                            "0.900 + margin 0.02") and v.n_seeds == 6
    assert floors.floor_of(FLOORS, "digits", "mlp") == (pytest.approx(0.90), "raw_input")
    assert floors.floor_of(FLOORS, "mnist", "mlp") is None and floors.mark(rows, None) == rows


def test_arms_with_unequal_optimizer_steps_are_not_compared():
    rows = [dict(r, optimizer_steps=130 if r["timing_kind"] == "oneshot" else 100) for r in d1_rows(6, 0.02)]
    v = F.d1_gradual_beats_oneshot(rows)
    assert v.verdict == V.NOT_MEASURED
    assert "unequal budgets: optimizer_steps 100 vs 130" in v.reason
    equal = [dict(r, optimizer_steps=100) for r in d1_rows(6, 0.02)]
    assert F.d1_gradual_beats_oneshot(equal).verdict == V.REPRODUCED


def a1_records(seeds, gain, noise=1.0, rng=None, losses=("supcon", "ce")):
    """Per-seed excess PIEs of two losses at sparsity 0.9: supcon = ce + gain (+ noise)."""
    rng = rng or np.random.default_rng(0)
    out = []
    for s in range(seeds):
        base = rng.normal(20, 5)  # seed-level variation shared by both arms
        for loss, shift in zip(losses, (gain, 0.0)):
            out.append({"loss": loss, "criterion": "magnitude", "timing": "gradual", "sparsity": 0.9, "seed": s,
                        "id": f"{loss}-{s}", "excess": base + shift + rng.normal(0, noise), "optimizer_steps": 100})
    return out


REPRESENTATION = {"supcon": "contrastive", "ce": "supervised", "rotation": "self_supervised"}


def test_a1_words_read_the_plugins_attribute_not_the_name():
    rec = a1_records(6, 5.0, noise=0.1)
    v = A.a1_contrastive_more_pies(rec, REPRESENTATION)
    assert v.verdict == V.REPRODUCED and v.p_value == pytest.approx(2 / 64)
    by_seed = {(r["loss"], r["seed"]): r["excess"] for r in rec}
    assert v.effect == pytest.approx(np.mean([by_seed[("supcon", s)] - by_seed[("ce", s)] for s in range(6)]))
    assert A.a1_contrastive_more_pies(a1_records(6, -5.0, noise=0.1), REPRESENTATION).verdict == V.CONTRADICTED
    # a loss whose name says nothing: it is contrastive because its plugin says so
    renamed = [dict(r, loss={"supcon": "cross_thing", "ce": "ce"}[r["loss"]]) for r in rec]
    assert A.a1_contrastive_more_pies(renamed, {"cross_thing": "contrastive", "ce": "supervised"}).verdict \
        == V.REPRODUCED
    assert A.a1_contrastive_more_pies(rec, {"supcon": "self_supervised", "ce": "supervised"}).verdict \
        == V.NOT_MEASURED
    low = A.a1_contrastive_more_pies(rec, REPRESENTATION, below={"ce": "below floor: dense ce ..."})
    assert low.verdict == V.NOT_MEASURED and low.reason.startswith("below floor")
