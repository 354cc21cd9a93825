r"""Paper C (Ballas et al. 2020): loss modelling for unstructured pruning, locality.

Command:
    prunekit-study --config=configs/loss_modelling.py:digits --workdir=runs/c-digits
    prunekit-study --config=configs/loss_modelling.py:mnist1d --workdir=runs/c-mnist1d
    prunekit-study --config=configs/loss_modelling.py:mnist --workdir=runs/c-mnist --config.data_dir=DIR

Reproduces: magnitude (MP), taylor1 (LM), qm (QM) and obd (OBD) saliencies, ranked globally,
one-shot from the trained network in pi in {1, 14, 140} local steps (exponential split,
statistics recomputed between steps, no training) x the penalty lam in {0, 1e-5, ..., 1e2},
then fine-tuning with the mask fixed; tanh MLP 300-100 (the paper's model; mnist, mnist1d).

Recipes (dense readout = the cross-entropy head on the test split; floors measured with
scripts/tune_recipe.py, 2026-12-03):
- digits: the tanh MLP sits on the raw-pixel floor here (head 0.958 at 10 epochs, where
  logistic regression on raw pixels gives 0.969 and the untrained MLP's features 0.969), so
  the digits variant prunes a tanh convnet 16-32-64 (SGD 0.05 + momentum, batch 64, 30
  epochs, crops >= 80 %, no flip or colour jitter): dense head 0.983 / 0.992 (seeds 0/1) vs
  floors 0.969 / 0.967 (raw pixels, logistic regression / k-NN) and 0.95-0.97 (untrained
  encoder): a margin of 1.1-2.3 points over the best floor. 90 % sparsity (the 8x8 inputs make 98.8 % leave
  too few weights), lam {0, 1e-1, 1e1}, 6 seeds; 222 runs.
- mnist1d: the tanh MLP 300-100 (paper C's model), SGD 0.05 + momentum, batch 128, 20 epochs,
  no augmentation; 90 % sparsity, lam {0, 1e-1, 1e1}, 6 seeds; 222 runs. Floors: raw
  signals 0.332 / 0.636 (logistic regression / k-NN), untrained MLP 0.393 / 0.602. Dense (seed
  0): head 0.803 (probe on its features 0.814), 17 points above the best floor.
mnist variant: the paper's 98.847 %, 5 seeds, the full lam grid.
Seeds: 6 is the least with which the exact paired sign-flip test can reach p < 0.05 (all 6
seed pairs must agree in sign); a cell Holm-adjusted over m tests needs 2/2^n < 0.05/m
(m = 6: 8 seeds), so with 6 seeds only a finding tested once can resolve. The minimum
detectable effect was not measured for this study (no full run before the deadline).
Wall time of this recipe: not measured end to end (the previous 3-seed MLP recipe, 147 runs:
7 min 25 s); its 222 runs are mostly 3-epoch fine-tunes branched from 6 shared dense trunks.
If a machine needs less, keep a subset of the
criteria (``--config.only.criteria=...``); the runs kept keep their identities.
Local steps (pi > 1) are prunekit.timing's (``OneShot(..., steps=pi)``); the loss right after
pruning (before fine-tuning) is each run's ``loss_after_prune`` metric (with
``accuracy_after_prune``, ``kl_prune``), from the pruning-event records in events.json.

Smoke run (a tiny subset, 5 runs, about a minute on 2 CPU cores):
    prunekit-study --config=configs/loss_modelling.py:digits --workdir=/tmp/lm \
        --config.only.criteria=magnitude_lam0,taylor1_lam0p1 \
        --config.only.timings=oneshot_pi1,oneshot_pi14 --config.seeds="(0,)" \
        --config.train.epochs=1 --config.timings.oneshot_pi1.finetune_epochs=1 \
        --config.timings.oneshot_pi14.finetune_epochs=1
"""
import ml_collections

VARIANTS = {
    "digits": dict(dataset="digits", model="convnet",
                   model_options={"filters": (16, 32), "hidden": 64, "activation": "tanh"},
                   epochs=30, seeds=tuple(range(6)), sparsity=0.9, lams=(0.0, 1e-1, 1e1), ft=3,
                   augment={"crop_scale": (0.8, 1.0), "flip": False, "jitter": (0.0, 0.0, 0.0, 0.0)}),
    "mnist1d": dict(dataset="mnist1d", epochs=20, batch_size=128, seeds=tuple(range(6)), sparsity=0.9,
                    lams=(0.0, 1e-1, 1e1), ft=3),
    "mnist": dict(dataset="mnist", epochs=30, seeds=(0, 1, 2, 3, 4), sparsity=0.98847,
                  lams=(0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2), ft=10),
}


def get_config(variant="digits"):
    v = VARIANTS[variant or "digits"]
    c = ml_collections.ConfigDict()
    c.study = f"loss_modelling:{variant or 'digits'}"
    c.dataset = v["dataset"]
    c.data_dir = ""
    c.model = v.get("model", "tanh_mlp")
    c.model_options = ml_collections.ConfigDict(v.get("model_options", {}))
    c.train = ml_collections.ConfigDict(dict(epochs=v["epochs"], batch_size=v.get("batch_size", 64), optimizer="sgd",
                                             learning_rate=0.05,
                                             momentum=0.9, weight_decay=0.0))
    augment = v.get("augment")
    ce = {"augment": True, **augment} if augment else {"augment": False}
    c.losses = ml_collections.ConfigDict({"cross_entropy": ce})
    criteria = {}
    for plugin in ("magnitude", "taylor1", "qm", "obd"):
        for lam in v["lams"]:
            criteria[f"{plugin}_lam{lam:g}".replace(".", "p")] = {"plugin": plugin, "lam": lam}
    c.criteria = ml_collections.ConfigDict(criteria)
    c.timings = ml_collections.ConfigDict({
        f"oneshot_pi{pi}": {"kind": "oneshot", "at": 1.0, "steps": pi, "split": "exponential",
                            "finetune_epochs": v["ft"], "finetune_learning_rate": 0.01}
        for pi in (1, 14, 140)})
    c.sparsities = (v["sparsity"],)
    c.seeds = v["seeds"]
    c.scope = "global"
    c.prune_heads = False  # heads (head_* layers) stay dense; only the encoder is pruned
    c.dense_baseline = True
    c.share_trunk = True  # runs branch from a shared dense trunk (prunekit/study/trunk.py)
    c.evaluation = ml_collections.ConfigDict({"accuracy": {}, "sparsity": {}})
    c.artefacts = ml_collections.ConfigDict({"masks": True, "predictions": True})
    c.strategy = ""
    c.tensorboard = False
    c.verbose = 0
    # A subset of the grid by labels ('' = all), e.g. for a smoke run (see the docstring).
    c.only = ml_collections.ConfigDict({"losses": "", "criteria": "", "timings": ""})
    c.findings = ml_collections.ConfigDict({
        "locality": {"claim": "more steps or lam > 0 strongly reduce the loss jump for LM, QM and OBD",
                     "check": "locality_reduces_jump"},
        "orders": {"claim": "with locality, first- and second-order criteria perform alike",
                   "check": "orders_alike_with_locality"},
        "preservation": {"claim": "better preserving the loss before fine-tuning does not give better accuracy after",
                         "check": "preservation_not_predictive"},
    })
    return c
