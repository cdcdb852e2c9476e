"""Smoke test of tools/bench: --quick sizes, every section present, positive numbers (no timing asserts)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

pytest.importorskip("transformers")
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.bench import run as bench  # noqa: E402
from tools.bench.workloads import QUICK  # noqa: E402

SECTIONS = ("train", "eval", "checkpoint", "resume", "import", "memory", "cuda")


def _numbers(obj):
    if isinstance(obj, bool):
        return
    if isinstance(obj, (int, float)):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _numbers(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _numbers(v)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_quick_bench_writes_every_section(tmp_path, monkeypatch):
    # Smaller than --quick: only the code paths matter here.
    s = QUICK
    monkeypatch.setattr(s, "mlp_steps", 12)
    monkeypatch.setattr(s, "gpt_steps", 4)
    monkeypatch.setattr(s, "eval_mlp_samples", 64)
    monkeypatch.setattr(s, "eval_gpt_samples", 8)
    monkeypatch.setattr(s, "memory_steps", 2)
    monkeypatch.setattr(s, "resume_rows", (320, 640))
    result = bench.run_all(quick=True, device="cpu", rounds=1, out=tmp_path, log=lambda _: None)

    saved = json.loads((tmp_path / "bench.json").read_text())
    table = (tmp_path / "bench.md").read_text()
    for section in SECTIONS:
        assert section in saved, section
    assert "Budget check" in table and ("PASS" in table or "MISS" in table)
    assert "skipped" in saved["cuda"] or "steps_per_s" in saved["cuda"]
    for case in ("mlp", "gpt"):
        for who in ("raw", "ours", "transformers"):
            assert saved["train"][case]["steps_per_s"][who] > 0
        assert saved["eval"][case]["ratio_ours_raw_predict"] > 0
    assert saved["checkpoint"]["gpt_small"]["ratio_ours_raw_save"] > 0
    assert saved["checkpoint"]["gpt_small"]["ratio_background_blocking_stall"] > 0
    assert saved["train"]["mlp"]["ratio_ours_raw_whole"] > 0
    for point in saved["resume"]["points"].values():
        assert point["ours"]["rows_reread"] == 0
        assert point["transformers"]["first_step_s"] > 0
    interleaved = saved["train"]["mlp"]["interleaved"]
    assert interleaved["ratio_ours_raw"] > 0 and interleaved["ratio_transformers_raw"] > 0
    assert "Interleaved" in table and "train mlp, interleaved: ours/raw" in table
    assert saved["eval"]["mlp"]["interleaved"]["ratio_ours_predict"] > 0
    assert "predict mlp, interleaved: ours/raw" in table
    assert "Training stall per checkpoint" in table and "Whole run" in table
    assert saved["import"]["seconds"]["trainer_args"] > 0
    assert saved["memory"]["peak_rss_mib"]["ours"] > 0
    for section in ("train", "eval", "checkpoint", "memory"):
        for x in _numbers(saved[section]):
            assert math.isfinite(x) and x >= 0, (section, x)
    assert len(result["verdicts"]) == len(saved["verdicts"]) > 0


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_only_runs_the_named_sections_and_rejects_unknown_ones(tmp_path, capsys):
    result = bench.run_all(quick=True, sections=("checkpoint",), out=None, log=lambda _: None)
    assert set(result) & set(SECTIONS) == {"checkpoint"}
    assert all(v["check"].startswith("checkpoint") for v in result["verdicts"])
    with pytest.raises(SystemExit):
        bench.main(["--only", "train,nope"])
    assert "nope" in capsys.readouterr().err
