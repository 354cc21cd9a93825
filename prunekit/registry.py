"""Plugin discovery: entry points listed without importing, then loaded one by one.

Groups: ``prunekit.criteria`` and ``prunekit.losses``. The entry point's name is the
plugin's name on the command line and in configs. Built-ins (package ``prunekit_plugins``)
come through the same door as third-party packages (flake8's two-phase plugin finder).
"""
from __future__ import annotations

import dataclasses
import difflib
import inspect
import sys
from importlib import metadata

GROUPS = {"criterion": "prunekit.criteria", "loss": "prunekit.losses"}


class PluginError(Exception):
    """A plugin is unknown, broken, or was given options it does not take."""


@dataclasses.dataclass(frozen=True)
class PluginSpec:
    """An entry point found by discovery, not yet imported."""

    kind: str
    name: str
    value: str
    distribution: str
    version: str

    def describe(self) -> str:
        return f"{self.kind} '{self.name}' ({self.value}) from {self.distribution} {self.version}"


def discover(kind: str) -> list[PluginSpec]:
    """Lists the entry points of one plugin kind, sorted by name, without importing them."""
    group = _group(kind)
    specs = []
    for ep in metadata.entry_points(group=group):
        dist = getattr(ep, "dist", None)
        specs.append(PluginSpec(kind, ep.name, ep.value,
                                dist.metadata["Name"] if dist else "?", dist.version if dist else "?"))
    return sorted(specs, key=lambda s: (s.name, s.distribution))


def names(kind: str) -> list[str]:
    return [s.name for s in discover(kind)]


def load(kind: str, name: str):
    """Imports and returns the plugin class registered as ``name``."""
    specs = [s for s in discover(kind) if s.name == name]
    if not specs:
        raise PluginError(_unknown_message(kind, name))
    if len(specs) > 1:
        raise PluginError(f"{kind} '{name}' is registered twice: "
                          + "; ".join(s.describe() for s in specs) + ". Uninstall one of them.")
    return _load_spec(specs[0])


def _load_spec(spec: PluginSpec):
    ep = metadata.EntryPoint(spec.name, spec.value, GROUPS[spec.kind])
    try:
        return ep.load()
    except Exception as e:  # a plugin may raise anything on import
        raise PluginError(f"cannot load {spec.describe()}: {type(e).__name__}: {e}") from e


def options(cls) -> dict[str, object]:
    """The keyword options a plugin class takes, with defaults, following ``**kwargs`` up the MRO."""
    found: dict[str, object] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        for p in params:
            if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            found.setdefault(p.name, None if p.default is p.empty else p.default)
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    return found


def build(kind: str, name: str, **kwargs):
    """Builds plugin ``name`` with keyword options; unknown options fail with the valid list."""
    cls = load(kind, name)
    valid = options(cls)
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        hints = [f"{u!r} (did you mean {m[0]!r}?)" if (m := difflib.get_close_matches(u, valid, 1))
                 else repr(u) for u in unknown]
        raise PluginError(f"{kind} '{name}' has no option {', '.join(hints)}; "
                          f"valid options: {', '.join(sorted(valid)) or 'none'}.")
    return cls(**kwargs)


def get_criterion(name, **options):
    """A criterion instance from its registered name (an instance is passed through)."""
    return _instance("criterion", name, options)


def get_loss(name, **options):
    """A loss-plugin instance from its registered name (an instance is passed through)."""
    return _instance("loss", name, options)


def _instance(kind: str, name, options: dict):
    if isinstance(name, str):
        return build(kind, name, **options)
    if options:
        raise PluginError(f"options are given with a {kind} name, not with an instance.")
    return name


def _group(kind: str) -> str:
    if kind not in GROUPS:
        raise PluginError(f"unknown plugin kind {kind!r}; kinds: {', '.join(GROUPS)}.")
    return GROUPS[kind]


def _unknown_message(kind: str, name: str) -> str:
    available = names(kind)
    close = difflib.get_close_matches(name, available, n=3)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return (f"no {kind} plugin named {name!r} (entry-point group {GROUPS[kind]}).{hint} "
            f"Available: {', '.join(available) or 'none'}.")


def main(argv=None) -> int:
    """``prunekit-plugins``: every plugin with kind, name, distribution, version, load status."""
    rows = []
    for kind in GROUPS:
        specs = discover(kind)
        for spec in specs:
            twins = [s for s in specs if s.name == spec.name and s != spec]
            try:
                _load_spec(spec)
                status = "ok"
            except PluginError as e:
                status = "BROKEN: " + str(e.__cause__ or e)
            if twins:  # load() refuses the name, so the study would too
                status = ("DUPLICATE: also registered by "
                          + ", ".join(f"{s.distribution} {s.version} ({s.value})" for s in twins)
                          + "; uninstall one of them")
            rows.append((kind, spec.name, spec.distribution, spec.version, status))
    header = ("kind", "name", "distribution", "version", "status")
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(4)]
    for row in [header] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4])
    return 1 if any(r[4] != "ok" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
