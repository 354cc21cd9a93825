"""Registry: discovery, loading, errors that name the plugin, option validation, the CLI."""
import subprocess
import sys
import textwrap

import pytest

from prunekit import registry
from prunekit.registry import PluginError

BUILTIN_CRITERIA = {"magnitude", "random", "taylor1", "obd", "qm", "snip", "grasp", "synflow"}


def test_discovery_is_sorted_and_finds_builtins_and_third_party():
    specs = registry.discover("criterion")
    names = [s.name for s in specs]
    assert names == sorted(names)
    assert BUILTIN_CRITERIA <= set(names)
    lamp = [s for s in specs if s.name == "lamp"]
    assert lamp and lamp[0].distribution == "prunekit-example"


def test_third_party_criterion_is_used_by_name():
    crit = registry.get_criterion("lamp", lam=0.5)
    assert type(crit).__module__ == "prunekit_example.lamp"
    assert crit.lam == 0.5


def test_unknown_name_suggests():
    with pytest.raises(PluginError, match=r"Did you mean 'magnitude'"):
        registry.get_criterion("magnitde")


def test_misspelled_option_lists_valid_options():
    with pytest.raises(PluginError, match=r"'lamb' \(did you mean 'lam'\?\).*valid options: fisher, lam, samples, seed"):
        registry.get_criterion("qm", lamb=1e-3)


def test_option_of_subclass_and_base_are_both_valid():
    assert set(registry.options(registry.load("criterion", "snip"))) == {"normalize", "lam", "seed"}


def test_unknown_kind():
    with pytest.raises(PluginError, match="unknown plugin kind"):
        registry.discover("optimizer")


@pytest.fixture
def broken_distribution(tmp_path, monkeypatch):
    """A distribution on sys.path whose criterion entry point raises on import."""
    (tmp_path / "broken_mod.py").write_text("raise RuntimeError('boom at import')\n")
    info = tmp_path / "broken_pkg-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-pkg\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text("[prunekit.criteria]\nbroken = broken_mod:Thing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_broken_plugin_is_named_and_others_still_load(broken_distribution):
    with pytest.raises(PluginError) as err:
        registry.get_criterion("broken")
    message = str(err.value)
    assert "'broken'" in message and "broken-pkg" in message and "broken_mod:Thing" in message
    assert "boom at import" in message
    for name in BUILTIN_CRITERIA | {"lamp"}:
        assert registry.get_criterion(name) is not None


def test_cli_lists_every_plugin_with_status(broken_distribution, capsys):
    code = registry.main([])
    out = capsys.readouterr().out
    assert code == 1  # a broken plugin makes the listing exit non-zero
    lines = {line.split()[1]: line for line in out.splitlines()[1:]}
    assert "BROKEN" in lines["broken"] and "broken-pkg" in lines["broken"]
    for name in BUILTIN_CRITERIA:
        assert lines[name].split()[:4] == ["criterion", name, "prunekit", "0.1.0"]
        assert lines[name].rstrip().endswith("ok")


@pytest.fixture
def duplicate_distribution(tmp_path, monkeypatch):
    """A second distribution registering the built-in name 'magnitude'."""
    (tmp_path / "dup_mod.py").write_text("class Thing:\n    pass\n")
    info = tmp_path / "dup_pkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: dup-pkg\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[prunekit.criteria]\nmagnitude = dup_mod:Thing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_cli_shows_a_duplicated_name_as_an_error(duplicate_distribution, capsys):
    code = registry.main([])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.split()[1:2] == ["magnitude"]]
    assert code == 1 and len(rows) == 2
    assert all("DUPLICATE" in r and not r.rstrip().endswith("ok") for r in rows)
    assert "dup-pkg" in rows[0] + rows[1]
    with pytest.raises(PluginError, match="registered twice"):
        registry.get_criterion("magnitude")


def test_keras3_first_import_gives_fix_message():
    code = textwrap.dedent("""
        import os; os.environ.pop("TF_USE_LEGACY_KERAS", None)
        import tensorflow as tf
        tf.keras.layers  # resolves tf.keras to Keras 3
        try:
            import prunekit
        except ImportError as e:
            print("ERR", e)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"}).stdout
    assert "ERR prunekit needs Keras 2" in out and "TF_USE_LEGACY_KERAS=1" in out


def test_import_prunekit_first_selects_tf_keras():
    code = ("import os; os.environ.pop('TF_USE_LEGACY_KERAS', None); import prunekit, tensorflow as tf, tf_keras;"
            "print(tf.keras.Model is tf_keras.Model)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"}).stdout
    assert out.strip().endswith("True")
