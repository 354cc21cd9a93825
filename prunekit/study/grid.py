"""Config validation and grid expansion: a study config -> a list of resolved run specs.

A study config (``configs/*.py``, an ml_collections ``ConfigDict``) has these fields:

=================  ==========================================================================
``study``          the study's name (used in the report)
``dataset``        TFDS name (``digits``, ``digits/0-4``, ``mnist``, ``cifar10``, ...)
``data_dir``       TFDS data directory for prepared data ('' = TFDS default)
``model``          catalogue name for ``prunekit.models.build``; ``model_options`` its options
``train``          ``epochs, batch_size, optimizer, learning_rate, momentum, weight_decay``
``losses``         label -> options of a loss plugin (``plugin`` = registered name, default label)
``criteria``       label -> options of a criterion plugin (``plugin`` as above)
``timings``        label -> a timing: ``kind`` is ``oneshot`` (``at``, ``steps``, ``split``,
                   ``finetune_epochs``, ``finetune_lr`` alias ``finetune_learning_rate``),
                   ``gradual`` (``begin``, ``end``, ``frequency``, ``power``, ``initial``)
                   or ``iterative`` (``rate``, ``rewind_to``, ``retrain_with_labels``: also
                   retrain the found mask with labels from the rewind point, paper B). Times use prunekit.timing's
                   vocabulary: a float is a fraction of training (0.0 = at initialisation,
                   1.0 = after training), an int or "200" optimizer steps, "3ep" epochs,
                   "50%" a fraction; oneshot/gradual entries become prunekit.timing.OneShot /
                   Gradual and are validated by them (see prunekit.study.timings).
``sparsities``     targets in [0, 1); ``seeds`` model seeds (a population for PIEs)
``scope``          ``layer`` or ``global`` ranking
``prune_heads``    also prune the loss plugin's heads (``head_*`` layers: classifier,
                   projection); default False: only the encoder is pruned, the heads stay
                   dense. Paper A pruned the linear classifier head too (set True to match).
``dense_baseline`` also train one dense run per (loss, seed): the reference population
``evaluation``     evaluator name -> options (``accuracy``, ``sparsity`` and the suite's)
``artefacts``      ``masks``, ``predictions``: what each run saves for population metrics
``strategy``       '' or ``mirrored`` (tf.distribute for a single run)
``tensorboard``    write TensorBoard logs per run; ``verbose`` Keras verbosity
``findings``       question -> the paper's finding, quoted next to the measured one in the report
``only``           optional subset of the grid: ``losses``, ``criteria``, ``timings`` each a
                   comma-separated list of labels to keep ('' = all), e.g.
                   ``--config.only.criteria=magnitude_lam0 --config.only.timings=oneshot_pi14``;
                   the kept runs have the identities they have in the full grid
=================  ==========================================================================

The grid is losses x criteria x timings x sparsities x seeds (+ the dense baseline). Every
run is validated before any training: all problems are reported, one line each.
"""
from __future__ import annotations

import difflib
import itertools
import math
import numbers

from prunekit.study import timings
from prunekit.study.timings import ALIASES

TIMING_FIELDS = {
    "oneshot": {"kind": None, "at": 1.0, "steps": 1, "split": "exponential", "finetune_epochs": 0,
                "finetune_learning_rate": None},
    "gradual": {"kind": None, "begin": 0.0, "end": 1.0, "frequency": 0.1, "power": 3, "initial": 0.0},
    "iterative": {"kind": None, "rate": 0.2, "rewind_to": 0.0, "retrain_with_labels": False},
}
TRAIN_FIELDS = {"epochs": 1, "batch_size": 64, "optimizer": "sgd", "learning_rate": 0.1, "momentum": 0.9,
                "weight_decay": 0.0}
OPTIMIZERS = ("sgd", "adam")
SCOPES = ("layer", "global")
STRATEGIES = ("", "mirrored")
BUILTIN_EVALUATORS = ("accuracy", "sparsity", "knn")


class ConfigError(ValueError):
    """The config cannot run; ``problems`` lists every reason, one line each."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


def _plain(value):
    """ConfigDict / FrozenConfigDict / tuples -> dicts and lists."""
    if hasattr(value, "to_dict"):
        value = value.to_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _suggest(name, choices) -> str:
    close = difflib.get_close_matches(str(name), list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _is_fraction(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and 0.0 <= float(x) <= 1.0


def check_timing(label: str, timing: dict, epochs=None) -> list[str]:
    """Problems with one timing entry (field names, kinds, values), as one-line messages;
    oneshot and gradual entries are checked by building their prunekit.timing objects."""
    where = f"timings.{label}"
    kind = timing.get("kind")
    if kind not in TIMING_FIELDS:
        return [f"{where}.kind: unknown timing kind {kind!r}{_suggest(kind, TIMING_FIELDS)}; "
                f"kinds: {', '.join(TIMING_FIELDS)}"]
    problems = []
    fields = TIMING_FIELDS[kind]
    for key in timing:
        if ALIASES.get(key, key) not in fields:
            problems.append(f"{where}: {kind} timing has no field {key!r}{_suggest(key, fields)}; "
                            f"fields: {', '.join(k for k in fields if k != 'kind')}")
    t = {**fields, **{ALIASES.get(k, k): v for k, v in timing.items()}}
    if kind in ("oneshot", "gradual"):
        if not problems:
            problems += timings.problems(where, t, epochs)
        return problems
    if kind == "iterative":
        if not (isinstance(t["rate"], numbers.Real) and 0 < t["rate"] < 1):
            problems.append(f"{where}.rate must be in (0, 1), got {t['rate']!r}")
        if not _is_fraction(t["rewind_to"]) or t["rewind_to"] >= 1:
            problems.append(f"{where}.rewind_to must be a fraction of training in [0, 1), got {t['rewind_to']!r}")
        if not isinstance(t["retrain_with_labels"], bool):
            problems.append(f"{where}.retrain_with_labels must be True or False, got {t['retrain_with_labels']!r}")
    return problems


def resolve_timing(label: str, timing: dict) -> dict:
    """The entry with its defaults; ``finetune_lr`` is stored as ``finetune_learning_rate``
    (either spelling gives the same run identity)."""
    timing = {ALIASES.get(k, k): v for k, v in timing.items()}
    return {**{k: v for k, v in TIMING_FIELDS[timing["kind"]].items()}, **timing, "label": label}


def iterative_rounds(sparsity: float, rate: float) -> int:
    """Rounds of pruning ``rate`` of the remaining weights needed to reach ``sparsity``.

    A sparsity written to a few decimals (0.738 for 1 - 0.8**6 = 0.7379) counts as the nearest
    whole number of rounds when within 0.05 rounds of it; otherwise rounds up."""
    if sparsity <= 0:
        return 0
    x = math.log(1 - sparsity) / math.log(1 - rate)
    nearest = round(x)
    return max(1, nearest if abs(x - nearest) <= 0.05 else math.ceil(x))


def _entries(section: dict, what: str, problems: list) -> dict:
    out = {}
    for label, opts in (section or {}).items():
        opts = dict(opts or {})
        plugin = opts.pop("plugin", label)
        out[label] = {"label": label, "plugin": plugin, "options": opts}
    if not out:
        problems.append(f"config.{what} is empty: give at least one entry")
    return out


def expand(config, check_plugins=True) -> list[dict]:
    """All run specs of a study config, in a fixed order, after validating the whole grid.

    Raises :class:`ConfigError` listing every problem found; nothing is trained before.
    """
    c = _plain(config)
    problems: list[str] = []
    losses = _entries(c.get("losses"), "losses", problems)
    criteria = _entries(c.get("criteria"), "criteria", problems)
    train = dict(c.get("train") or {})
    entries = {}
    for label, t in (c.get("timings") or {}).items():
        t = dict(t or {})
        found = check_timing(label, t, train.get("epochs", TRAIN_FIELDS["epochs"]))
        problems += found
        if not found:
            entries[label] = resolve_timing(label, t)
    if not c.get("timings"):
        problems.append("config.timings is empty: give at least one timing")
    for key in train:
        if key not in TRAIN_FIELDS:
            problems.append(f"train has no field {key!r}{_suggest(key, TRAIN_FIELDS)}")
    train = {**TRAIN_FIELDS, **train}
    if not (isinstance(train["epochs"], numbers.Integral) and train["epochs"] >= 1):
        problems.append(f"train.epochs must be an integer >= 1, got {train['epochs']!r}")
    if not (isinstance(train["batch_size"], numbers.Integral) and train["batch_size"] >= 1):
        problems.append(f"train.batch_size must be an integer >= 1, got {train['batch_size']!r}")
    if train["optimizer"] not in OPTIMIZERS:
        problems.append(f"train.optimizer {train['optimizer']!r} unknown{_suggest(train['optimizer'], OPTIMIZERS)}; "
                        f"choices: {', '.join(OPTIMIZERS)}")
    sparsities = list(c.get("sparsities") or [])
    for s in sparsities:
        if not (isinstance(s, numbers.Real) and 0 <= s < 1):
            problems.append(f"sparsities: {s!r} is not in [0, 1)")
    if not sparsities:
        problems.append("config.sparsities is empty")
    seeds = list(c.get("seeds") or [])
    if not seeds or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in seeds):
        problems.append(f"config.seeds must be a non-empty list of integers, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        problems.append(f"config.seeds has duplicates: {seeds!r}")
    scope = c.get("scope", "layer")
    if scope not in SCOPES:
        problems.append(f"scope {scope!r} unknown{_suggest(scope, SCOPES)}; choices: layer, global")
    strategy = c.get("strategy", "")
    if strategy not in STRATEGIES:
        problems.append(f"strategy {strategy!r} unknown{_suggest(strategy, STRATEGIES)}; choices: '', mirrored")
    prune_heads = c.get("prune_heads", False)
    if not isinstance(prune_heads, bool):
        problems.append(f"prune_heads must be True or False, got {prune_heads!r}")
    evaluation = {k: dict(v or {}) for k, v in (c.get("evaluation") or {"accuracy": {}}).items()}
    only = dict(c.get("only") or {})
    for key, value in only.items():
        sections = {"losses": losses, "criteria": criteria, "timings": entries}
        if key not in sections:
            problems.append(f"only has no field {key!r}{_suggest(key, sections)}; fields: losses, criteria, timings")
            continue
        keep = [l.strip() for l in str(value or "").split(",") if l.strip()]
        known = sections[key] if key != "timings" else {l: 1 for l in (c.get("timings") or {})}
        for label in keep:
            if label not in known:
                problems.append(f"only.{key}: no {key} entry labelled {label!r}{_suggest(label, known)}")
        if keep:
            for label in list(sections[key]):
                if label not in keep:
                    del sections[key][label]
    if check_plugins:
        from prunekit.study import checks
        problems += checks.plugins("loss", losses)
        problems += checks.plugins("criterion", criteria)
        problems += checks.evaluators(evaluation, c.get("data_dir") or None)
        problems += checks.timings_supported(entries)
        problems += checks.findings(c.get("findings") or {})
        problems += checks.model(c.get("model"), c.get("model_options") or {})
        problems += checks.dataset(c.get("dataset"), c.get("data_dir") or None)
    if problems:
        raise ConfigError(problems)

    common = {
        "dataset": {"name": c["dataset"], "data_dir": c.get("data_dir") or None},
        "model": {"name": c["model"], "options": c.get("model_options") or {}},
        "train": train,
        "evaluation": evaluation,
        "artefacts": {"masks": bool(c.get("artefacts", {}).get("masks", True)),
                      "predictions": bool(c.get("artefacts", {}).get("predictions", True))},
        "prune_heads": prune_heads,
        "strategy": strategy,
        "tensorboard": bool(c.get("tensorboard", False)),
        "verbose": int(c.get("verbose", 0)),
    }
    specs = []
    for loss in losses.values():
        if c.get("dense_baseline", True):
            for seed in seeds:
                specs.append({**common, "loss": loss, "criterion": None, "scope": None,
                              "timing": {"label": "dense", "kind": "dense"}, "sparsity": 0.0, "seed": int(seed)})
        for crit, timing, sparsity in itertools.product(criteria.values(), entries.values(), sparsities):
            for seed in seeds:
                t = dict(timing)
                if t["kind"] == "iterative":
                    t["rounds"] = iterative_rounds(float(sparsity), t["rate"])
                specs.append({**common, "loss": loss, "criterion": crit, "scope": scope, "timing": t,
                              "sparsity": float(sparsity), "seed": int(seed)})
    # Identical runs (e.g. sparsity 0 under several criteria) are run once.
    from prunekit.study.identity import run_id
    seen, unique = set(), []
    for spec in specs:
        rid = run_id(spec)
        if rid not in seen:
            seen.add(rid)
            unique.append(spec)
    return unique


def describe(spec: dict) -> str:
    """A short human name for a run: loss/criterion/timing/sparsity/seed."""
    crit = spec["criterion"]["label"] if spec["criterion"] else "-"
    return (f"{spec['loss']['label']}/{crit}/{spec['timing']['label']}/"
            f"s={spec['sparsity']:g}/seed={spec['seed']}")
