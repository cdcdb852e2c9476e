"""``tools/gpu_check.sh --dry-run``: the GPU check's code on the CPU with a tiny model, so that the
script cannot rot between device runs; the result JSON keeps the documented schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tools.bench.gpu_check import verdicts  # noqa: E402

CONTENDERS = {"raw", "trainer", "transformers", "lightning"}


def _check_row(row: dict) -> None:
    assert row["contender"] in CONTENDERS
    assert isinstance(row["compile"], bool)
    for key in ("tokens_per_s", "mfu", "peak_mem_gb"):
        assert isinstance(row[key], float), key
        assert row[key] > 0, key
    assert row["mfu"] < 1


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_dry_run_writes_the_documented_schema(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable}
    proc = subprocess.run(
        ["bash", str(ROOT / "tools" / "gpu_check.sh"), "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=220,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((out / "gpu-check.json").read_text())

    assert result["device"] == "cpu"
    assert isinstance(result["torch"], str) and result["torch"]
    assert result["dry_run"] is True
    contenders = {r["contender"] for r in result["rows"]}
    assert {"raw", "trainer", "transformers"} <= contenders
    for row in result["rows"]:
        _check_row(row)
    assert all(row["compile"] is False for row in result["rows"])  # no compile in a dry run
    skipped = {s["row"] for s in result["skipped_rows"]}
    assert {"raw compiled", "trainer compiled", "transformers compiled"} <= skipped

    assert [p["mode"] for p in result["packing"]] == ["padded", "flattened"]
    assert all(p["real_tokens_per_s"] > 0 for p in result["packing"])
    assert result["packing_speedup"] > 0

    # The GPU tests were collected and skipped (no CUDA here), not broken.
    tests = result["tests"]
    assert tests["exit"] in (0, 5) and tests["failed"] == 0 and tests["errors"] == 0
    assert tests["skipped"] >= 10
    for name in ("environment", "tests", "throughput", "packing"):
        assert result["sections"][name]["status"] == "ok", result["sections"][name]
    assert result["errors"] == []
    log = (out / "gpu-check.log").read_text()
    assert "| contender | compile | tokens/s | MFU | peak GB |" in log
    assert (out / "gpu-tests.xml").exists()


def _row(contender: str, compiled: bool, tokens: float, mfu: float) -> dict:
    return {
        "contender": contender,
        "compile": compiled,
        "tokens_per_s": tokens,
        "mfu": mfu,
        "peak_mem_gb": 1.0,
    }


def test_verdicts_read_the_targets_on_the_compiled_rows():
    rows = [
        _row("raw", True, 100.0, 0.40),
        _row("trainer", True, 98.0, 0.392),
        _row("transformers", True, 99.0, 0.396),
        _row("trainer", False, 50.0, 0.2),
    ]
    found = verdicts(rows)
    assert found["compiled trainer/raw"].endswith("PASS")  # 0.98 >= 0.97
    assert found["compiled trainer/transformers"].endswith("FAIL")  # 98 < 99
    assert found["compiled trainer MFU"].endswith("PASS")
    assert found["eager trainer MFU"].endswith("FAIL")
    assert "eager trainer/raw" not in found


def test_packed_rows_attend_within_each_example():
    from trainer_data import DataCollatorWithFlattening

    from tools.bench.gpt124m import GPT, TINY

    model = GPT(TINY).eval()
    examples = [{"input_ids": list(range(1, 9))}, {"input_ids": list(range(3, 20))}]
    packed = DataCollatorWithFlattening(return_flash_attn_kwargs=True)(examples)
    out = model(**packed)
    assert out["loss"] > 0
    start = 0
    for example in examples:
        ids = example["input_ids"]
        alone = model(input_ids=torch.tensor([ids]))["logits"][0]
        torch.testing.assert_close(
            out["logits"][0, start : start + len(ids)], alone, atol=1e-5, rtol=1e-5
        )
        start += len(ids)
