"""scripts/paired_mde.py: paired differences by seed, their SD and the minimum detectable effect."""
import importlib.util
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _script():
    spec = importlib.util.spec_from_file_location("paired_mde", ROOT / "scripts" / "paired_mde.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_paired_mde_by_hand(tmp_path, capsys):
    # gradual - oneshot per seed: 0.01, 0.03, 0.02, 0.02 -> mean 0.02, sample SD
    # sqrt((1e-4 + 1e-4 + 0 + 0) / 3) = 0.008165; MDE = (1.95996 + 0.84162) * 0.008165 / 2 = 0.011437.
    rows = []
    for seed, (g, o) in enumerate([(0.91, 0.90), (0.93, 0.90), (0.92, 0.90), (0.95, 0.93)]):
        for timing, acc in (("gradual", g), ("oneshot_after", o)):
            rows.append({"status": "ok", "timing": timing, "loss": "ce", "criterion": "magnitude",
                         "sparsity": 0.9, "seed": seed, "test_accuracy": acc})
    rows.append({"status": "failed", "timing": "gradual", "loss": "ce", "criterion": "magnitude",
                 "sparsity": 0.9, "seed": 9, "test_accuracy": 0.0})  # failed runs are left out
    (tmp_path / "results.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    _script().main([str(tmp_path), "--a=gradual", "--b=oneshot_after"])
    out = capsys.readouterr().out
    assert "n 4 mean gradual-oneshot_after +0.0200 sd 0.0082 MDE 0.0114 same-sign 4/4" in out
    # seeds_needed: ceil((2.80164 * 0.008165 / 0.02)^2) = ceil(1.308) = 2 -> the sign-flip floor 6
    assert out.rstrip().endswith("seeds_needed 6")
