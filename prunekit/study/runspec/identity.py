"""A run's identity: a hash of its resolved spec (OpenLTH-style run directories).

The spec is serialised canonically (sorted keys, no whitespace, tuples as lists, floats by
``repr``) and hashed with SHA-256. Labels (the names a config gives to a loss, criterion or
timing entry) and pure bookkeeping fields are left out, so renaming a label or turning
verbosity up (or the divergence limits that label a run failed) does not redo a run, while any field that can change the result does.
"""
from __future__ import annotations

import hashlib
import json

# Keys dropped at any depth before hashing: they never change what a run computes.
NOT_IDENTITY = frozenset({"label", "verbose", "tensorboard", "divergence"})
LENGTH = 16


def canonical(value):
    """The spec as plain JSON types, without the keys in NOT_IDENTITY (a typed spec by its
    ``to_dict()``)."""
    if hasattr(value, "to_dict") and not isinstance(value, dict):
        value = value.to_dict()
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): canonical(v) for k, v in sorted(value.items()) if k not in NOT_IDENTITY}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return float(value)
    if hasattr(value, "item"):  # numpy scalars
        return canonical(value.item())
    raise TypeError(f"run specs hold JSON values only, got {type(value).__name__}: {value!r}")


def canonical_json(spec) -> str:
    return json.dumps(canonical(spec), sort_keys=True, separators=(",", ":"), allow_nan=False)


def run_id(spec) -> str:
    """The run's directory name: the first 16 hex digits of SHA-256 of its canonical spec."""
    return hashlib.sha256(canonical_json(spec).encode()).hexdigest()[:LENGTH]
