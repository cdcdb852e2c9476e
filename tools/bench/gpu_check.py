"""The GPU check: the project's GPU tests, a throughput table and padded against padding-free
training, in one command that fits a device run (``tools/gpu_check.sh``; docs/performance.md, "GPU").

Writes ``<out>/gpu-check.json`` (rewritten after every section, so a run cut short still leaves
what it finished), ``<out>/gpu-check.log`` and ``<out>/gpu-tests.xml`` (JUnit, from pytest). A
failing section or row is recorded and the next one runs. A global time budget decides which rows
still start; each row runs in its own process with a timeout.

``--dry-run`` runs the same code on the CPU with a tiny model, in this process, without
``torch.compile``: it keeps the script from rotting between device runs (CI runs it).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
GPU_TESTS = (
    "tests/gpu",
    "tests/integration/test_gpu_sharded.py",
    "tests/trainer_dist/test_dist_gpu.py",
)
# The throughput rows in the order they start: the compiled ones first (the targets are read on
# them), then eager, Lightning last as time allows.
ROW_ORDER = (
    ("raw", True),
    ("trainer", True),
    ("transformers", True),
    ("raw", False),
    ("trainer", False),
    ("transformers", False),
    ("lightning", False),
    ("lightning", True),
)
# Seconds a row may take at most (the first compiled row compiles cold) and is expected to take,
# on the device: a row starts only while its expected time fits in what is left.
ROW_LIMIT_S = {False: 120, True: 200}
ROW_EXPECT_S = {False: 20, True: 45}
# Sections in the order they run, and the seconds each keeps for itself from the sections before
# it on the device (a section ends early rather than eat into the ones after it).
SECTIONS = ("tests", "throughput", "packing")
KEEP_S = {"tests": 90, "throughput": 150, "packing": 40}
TESTS_LIMIT_S = 180
TARGETS = {"trainer_over_raw": 0.97, "trainer_over_transformers": 1.0, "trainer_mfu": 0.35}


class Check:
    def __init__(self, out: Path, dry_run: bool, budget_s: float, isolate: bool):
        self.out, self.dry_run, self.isolate = out, dry_run, isolate
        self.deadline = time.monotonic() + budget_s
        self.log_file = open(out / "gpu-check.log", "w", encoding="utf-8")  # noqa: SIM115
        self.result: dict[str, Any] = {
            "device": "cpu",
            "torch": "",
            "dry_run": dry_run,
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "budget_s": budget_s,
            "rows": [],
            "packing": [],
            "tests": {},
            "sections": {},
            "errors": [],
        }
        self.keep_after = 0.0

    # ------------------------------------------------------------------------------ plumbing

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def room(self) -> float:
        """Seconds this section may still use: what is left less what later sections keep."""
        return self.left() - (0 if self.dry_run else self.keep_after)

    def log(self, message: str) -> None:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M:%S")
        line = f"[{stamp} {self.left():6.0f}s left] {message}"
        print(line, flush=True)
        self.log_file.write(line + "\n")
        self.log_file.flush()

    def save(self) -> None:
        path = self.out / "gpu-check.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.result, indent=1, default=str), encoding="utf-8")
        os.replace(tmp, path)

    def section(self, name: str, body) -> None:
        start = time.monotonic()
        self.log(f"== {name}")
        status: dict[str, Any] = {"status": "ok"}
        try:
            note = body()
            if note:
                status.update(note)
        except Exception as exc:  # a failing section must not stop the others
            status = {"status": "failed", "error": f"{type(exc).__name__}: {exc}"}
            self.log(traceback.format_exc())
        status["seconds"] = round(time.monotonic() - start, 1)
        self.result["sections"][name] = status
        self.log(f"== {name}: {status['status']} in {status['seconds']} s")
        self.save()

    def error(self, what: str, message: str) -> None:
        self.result["errors"].append({"what": what, "error": message[-2000:]})
        self.log(f"!! {what}: {message[-2000:]}")

    # ------------------------------------------------------------------------------ sections

    def environment(self) -> dict[str, Any]:
        import torch

        self.result["torch"] = torch.__version__
        env: dict[str, Any] = {"python": platform.python_version()}
        for name in ("transformers", "accelerate", "lightning", "pytorch_lightning"):
            try:
                env[name] = __import__(name).__version__
            except Exception:
                env[name] = None
        if not self.dry_run:
            if not torch.cuda.is_available():
                raise RuntimeError("no CUDA device: run with --dry-run on a machine without one")
            self.result["device"] = torch.cuda.get_device_name(0)
            props = torch.cuda.get_device_properties(0)
            env["gpu_memory_gb"] = round(props.total_memory / 1e9, 1)
            env["capability"] = f"{props.major}.{props.minor}"
        self.result["environment"] = env
        self.log(f"device {self.result['device']}, torch {self.result['torch']}, {env}")
        return {}

    def tests(self) -> dict[str, Any]:
        limit = min(self.room() - 10, TESTS_LIMIT_S) if not self.dry_run else max(self.left(), 30)
        if limit < 30:
            return {"status": "skipped", "reason": "no time left"}
        xml = self.out / "gpu-tests.xml"
        xml.unlink(missing_ok=True)
        paths = [p for p in GPU_TESTS if (ROOT / p).exists()]
        cmd = [
            sys.executable, "-m", "pytest", "-m", "gpu", "-v", "-rfEs", "--timeout", "120",
            f"--junitxml={xml}", *paths,
        ]  # fmt: skip
        self.log(" ".join(cmd))
        try:
            proc = subprocess.run(
                cmd, cwd=ROOT, capture_output=True, text=True, timeout=limit, check=False
            )
            output, code = proc.stdout + proc.stderr, proc.returncode
        except subprocess.TimeoutExpired as exc:
            output = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else exc.stdout
            output, code = (output or "") + f"\n(pytest stopped after {limit:.0f} s)", "timeout"
        self.log_file.write(output + "\n")
        summary = output.strip().splitlines()[-1] if output.strip() else ""
        self.log(f"pytest: {summary}")
        tests = {"exit": code, "summary": summary, **_junit_counts(xml)}
        self.result["tests"] = tests
        ok = code in (0, 5) or (code == 1 and tests.get("failed", 0) + tests.get("errors", 0) == 0)
        return {} if ok else {"status": "failed", "error": summary}

    def throughput(self) -> dict[str, Any]:
        size = "tiny" if self.dry_run else "full"
        skipped = []
        for contender, compiled in ROW_ORDER:
            label = f"{contender}{' compiled' if compiled else ''}"
            if compiled and self.dry_run:
                skipped.append({"row": label, "reason": "no torch.compile in a dry run"})
                continue
            if contender == "lightning" and not _has_lightning():
                skipped.append({"row": label, "reason": "lightning is not installed"})
                continue
            room = self.room()
            if not self.dry_run and room < ROW_EXPECT_S[compiled]:
                skipped.append({"row": label, "reason": f"time budget ({room:.0f} s left)"})
                continue
            args = ["--contender", contender, "--compile", str(int(compiled)), "--size", size]
            row = self.run_one(label, args, min(ROW_LIMIT_S[compiled], room))
            if row is not None:
                self.result["rows"].append(row)
                self.log(
                    f"{label}: {row['tokens_per_s']:,.0f} tokens/s, MFU {row['mfu']:.1%}, "
                    f"peak {row['peak_mem_gb']:.2f} GB"
                )
                self.save()
        self.result["skipped_rows"] = skipped
        self.result["verdicts"] = verdicts(self.result["rows"])
        for name, verdict in self.result["verdicts"].items():
            self.log(f"target {name}: {verdict}")
        return {}

    def packing(self) -> dict[str, Any]:
        size = "tiny" if self.dry_run else "full"
        for mode in ("padded", "flattened"):
            room = self.room()
            if not self.dry_run and room < 15:
                self.error(f"packing {mode}", f"time budget ({room:.0f} s left)")
                continue
            row = self.run_one(
                f"packing {mode}", ["--packing", mode, "--size", size], min(room, 120)
            )
            if row is not None:
                self.result["packing"].append(row)
                self.log(f"packing {mode}: {row['real_tokens_per_s']:,.0f} real tokens/s")
                self.save()
        rates = {r["mode"]: r["real_tokens_per_s"] for r in self.result["packing"]}
        if len(rates) == 2:
            self.result["packing_speedup"] = rates["flattened"] / rates["padded"]
        return {}

    # ------------------------------------------------------------------------------ one row

    def run_one(self, label: str, args: list[str], limit: float) -> dict[str, Any] | None:
        """One run of ``tools.bench.gpu_throughput``: its own process on the device, this one
        in a dry run. ``None`` (and an entry in ``errors``) when it fails."""
        device = ["--device", "cpu"] if self.dry_run else ["--device", "cuda"]
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "row.json"
            argv = [*args, *device, "--json", str(target)]
            try:
                if self.isolate:
                    cmd = [sys.executable, "-m", "tools.bench.gpu_throughput", *argv]
                    proc = subprocess.run(
                        cmd, cwd=ROOT, capture_output=True, text=True, timeout=limit, check=False
                    )
                    self.log_file.write(proc.stdout + proc.stderr)
                    if proc.returncode != 0:
                        tail = (proc.stdout + proc.stderr).strip()[-1500:]
                        raise RuntimeError(f"exit {proc.returncode}: {tail}")
                else:
                    from tools.bench import gpu_throughput

                    gpu_throughput.main(argv)
                return json.loads(target.read_text(encoding="utf-8"))
            except subprocess.TimeoutExpired:
                self.error(label, f"stopped after {limit:.0f} s")
            except Exception as exc:
                self.error(label, f"{type(exc).__name__}: {exc}")
        return None

    def run(self, sections: list[str]) -> dict[str, Any]:
        self.section("environment", self.environment)
        bodies = {"tests": self.tests, "throughput": self.throughput, "packing": self.packing}
        for index, name in enumerate(sections):
            self.keep_after = sum(KEEP_S[later] for later in sections[index + 1 :])
            self.section(name, bodies[name])
        self.result["seconds"] = round(self.left() * -1 + self.result["budget_s"], 1)
        self.save()
        self.log(table(self.result))
        self.log_file.close()
        return self.result


def _has_lightning() -> bool:
    return any(importlib.util.find_spec(n) for n in ("lightning", "pytorch_lightning"))


def _junit_counts(xml: Path) -> dict[str, Any]:
    if not xml.exists():
        return {}
    counts = {"passed": 0, "failed": 0, "errors": 0, "skipped": 0}
    failures = []
    for case in ET.parse(xml).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        kinds = [child.tag for child in case]
        if "failure" in kinds or "error" in kinds:
            key = "failed" if "failure" in kinds else "errors"
            counts[key] += 1
            child = case.find("failure") if key == "failed" else case.find("error")
            failures.append({"test": name, "message": (child.get("message") or "")[:500]})
        elif "skipped" in kinds:
            counts["skipped"] += 1
        else:
            counts["passed"] += 1
    counts["failures"] = failures
    return counts


def verdicts(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The budget's GPU targets, read on the compiled rows (eager where no compiled row ran)."""
    found: dict[str, Any] = {}
    for compiled in (True, False):
        by = {r["contender"]: r for r in rows if r["compile"] is compiled}
        if "trainer" not in by:
            continue
        ours = by["trainer"]
        kind = "compiled" if compiled else "eager"
        if "raw" in by:
            ratio = ours["tokens_per_s"] / by["raw"]["tokens_per_s"]
            found[f"{kind} trainer/raw"] = _verdict(ratio, TARGETS["trainer_over_raw"])
        if "transformers" in by:
            ratio = ours["tokens_per_s"] / by["transformers"]["tokens_per_s"]
            found[f"{kind} trainer/transformers"] = _verdict(
                ratio, TARGETS["trainer_over_transformers"]
            )
        found[f"{kind} trainer MFU"] = _verdict(ours["mfu"], TARGETS["trainer_mfu"])
    return found


def _verdict(value: float, target: float) -> str:
    return f"{value:.3f} (target >= {target}): {'PASS' if value >= target else 'FAIL'}"


def table(result: dict[str, Any]) -> str:
    lines = [
        f"device {result['device']}, torch {result['torch']}",
        "| contender | compile | tokens/s | MFU | peak GB |",
        "|---|---|---:|---:|---:|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {r['contender']} | {r['compile']} | {r['tokens_per_s']:,.0f} | {r['mfu']:.1%} "
            f"| {r['peak_mem_gb']:.2f} |"
        )
    for r in result["packing"]:
        lines.append(f"packing {r['mode']}: {r['real_tokens_per_s']:,.0f} real tokens/s")
    tests = result.get("tests") or {}
    if tests:
        lines.append(f"tests: {tests.get('summary', '')}")
    for e in result["errors"]:
        lines.append(f"error {e['what']}: {e['error'][:200]}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="tiny sizes on the CPU, no compile")
    parser.add_argument("--out", default=os.environ.get("OUT") or "gpu-check-out")
    parser.add_argument("--budget", type=float, default=None, help="seconds (default 380; dry 120)")
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument(
        "--isolate",
        choices=("yes", "no"),
        default=None,
        help="run each row in its own process (default: yes on the device, no in a dry run)",
    )
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    budget = args.budget if args.budget is not None else (120.0 if args.dry_run else 380.0)
    isolate = (args.isolate or ("no" if args.dry_run else "yes")) == "yes"
    sections = [s for s in args.sections.split(",") if s]
    unknown = set(sections) - {"tests", "throughput", "packing"}
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}")
    result = Check(out, args.dry_run, budget, isolate).run(sections)
    failed = [n for n, s in result["sections"].items() if s["status"] == "failed"]
    return 1 if failed or result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
