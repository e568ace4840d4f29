"""One command that runs every GPU-only training path for a few steps and prints one table.

    python bench/gpu_check.py [--model HUB_ID_OR_DIR] [--steps 8] [--only NAME ...]

Paths, each through the real local worker (``backends.local.worker``) on a fresh run folder,
on SmolLM2-135M-Instruct by default (any hub id already in the cache, or a model folder):

- ``bf16``: LoRA SFT in bf16 (skipped where the GPU has no bf16);
- ``fp16``: LoRA SFT in fp16;
- ``qlora``: 4-bit QLoRA SFT with bitsandbytes;
- ``packing``: LoRA SFT with several examples packed per sequence;
- ``dpo``: LoRA DPO on preference pairs (the adapter-disabled base as the reference);
- ``dpo-full``: full-parameter DPO with its frozen reference copy;
- ``oom``: a real CUDA out-of-memory error, and the advice the worker gives for it;
- ``multi-gpu``: LoRA SFT under ``accelerate launch`` on two GPUs (skipped with fewer).

Each trained path prints ok/failed, tokens per second (the worker's own figure from
``metrics.jsonl``), the peak GPU memory (``nvidia-smi``'s, sampled while it runs) and the
precision the worker chose. Without a GPU every row says ``skipped: no GPU``, so the script
itself can be checked anywhere. Exit status: 1 when a path failed, else 0.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backends.local.settings import LocalSettings  # noqa: E402
from backends.runs import RunStore  # noqa: E402
from backends.runs.values import RunState  # noqa: E402

DEFAULT_MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
PATHS = ("bf16", "fp16", "qlora", "packing", "dpo", "dpo-full", "oom", "multi-gpu")
HEADER = ("path", "result", "tokens/s", "peak memory", "precision")


@dataclass
class Row:
    path: str
    result: str
    tokens_per_s: float | None = None
    peak_mib: int | None = None
    precision: str = ""

    @property
    def failed(self) -> bool:
        return self.result.startswith("failed")

    def cells(self) -> tuple[str, ...]:
        return (
            self.path,
            self.result,
            "-" if self.tokens_per_s is None else f"{self.tokens_per_s:,.0f}",
            "-" if self.peak_mib is None else f"{self.peak_mib:,} MiB",
            self.precision or "-",
        )


def gpu_count() -> int:
    """CUDA GPUs torch can use (0 without torch or CUDA)."""
    try:
        import torch
    except ImportError:
        return 0
    return int(torch.cuda.device_count()) if torch.cuda.is_available() else 0


class PeakMemory:
    """The highest GPU memory in use (``nvidia-smi``, every 0.2 s) while a path runs."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._base = self._used()

    def _used(self) -> int:
        smi = shutil.which("nvidia-smi")
        if smi is None:
            return 0
        try:
            out = subprocess.run(
                [smi, "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return 0
        return sum(int(x) for x in out.split() if x.strip().isdigit())

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, self._used() - self._base)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def write_data(folder: Path) -> tuple[Path, Path]:
    """A small chat file and a small preference file (learnable, long enough to pack)."""
    sys.path.insert(0, str(ROOT))
    from tests.support.tiny_model import write_toy_dataset, write_toy_preferences

    return (
        write_toy_dataset(folder / "chat.jsonl", 128),
        write_toy_preferences(folder / "pairs.jsonl", 64),
    )


def settings_for(path: str, steps: int) -> tuple[LocalSettings, str]:
    """The settings and the data kind (``chat`` or ``pairs``) of one path."""
    base = LocalSettings(max_steps=steps, batch_size=8, max_length=256, save_steps=10_000)
    table: dict[str, tuple[dict[str, Any], str]] = {
        "bf16": ({"precision": "bf16"}, "chat"),
        "fp16": ({"precision": "fp16"}, "chat"),
        "qlora": ({"adapter": "qlora"}, "chat"),
        "packing": ({"packing": True}, "chat"),
        "dpo": ({"objective": "dpo"}, "pairs"),
        "dpo-full": ({"objective": "dpo", "adapter": "full"}, "pairs"),
        "multi-gpu": ({"gpus": 2}, "chat"),
    }
    changes, kind = table[path]
    return base.updated(**changes), kind


def train_one(path: str, model: str, data: dict[str, Path], store: RunStore, steps: int) -> Row:
    from backends.local.backend import start_worker

    settings, kind = settings_for(path, steps)
    spec = settings.to_spec(model=model, dataset=str(data[kind]), name=f"gpu-check-{path}")
    folder = store.create(spec)
    with PeakMemory() as memory:
        start_worker(folder)
        deadline = time.monotonic() + 900
        while not folder.effective_status().state.is_terminal and time.monotonic() < deadline:
            time.sleep(0.5)
    status = folder.effective_status()
    rates = [p.tokens_per_s for p in folder.load_metrics() if p.tokens_per_s]
    precision = str(status.extra.get("precision") or "")
    peak = memory.peak or None
    if status.state is RunState.SUCCEEDED:
        rate = sorted(rates)[len(rates) // 2] if rates else None
        return Row(path, "ok", rate, peak, precision)
    reason = status.error or f"{status.state.value} (see {folder.log_txt})"
    return Row(path, f"failed: {reason[:100]}", None, peak, precision)


def oom_probe() -> Row:
    """Ask CUDA for more than the GPU has; the worker's explanation of the error must be the OOM one."""
    import torch

    from backends.local.failures import explain

    free, _total = torch.cuda.mem_get_info()
    try:
        block = torch.empty(int(free) + (4 << 30), dtype=torch.uint8, device="cuda")
    except torch.cuda.OutOfMemoryError as error:
        failure = explain(error, LocalSettings())
        torch.cuda.empty_cache()
        ok = failure.kind == "oom"
        result = "ok" if ok else f"failed: explained as {failure.kind}: {failure.message[:60]}"
        return Row("oom", result, None, None, "")
    del block
    return Row("oom", "failed: no out-of-memory error was raised", None, None, "")


def run_paths(names: list[str], model: str, steps: int, gpus: int) -> list[Row]:
    if gpus == 0:
        return [Row(name, "skipped: no GPU") for name in names]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
        root = Path(tmp)
        chat, pairs = write_data(root)
        store = RunStore(root / "runs")
        data = {"chat": chat, "pairs": pairs}
        checks: dict[str, Callable[[], Row]] = {"oom": oom_probe}
        for name in names:
            if name == "multi-gpu" and gpus < 2:
                rows.append(Row(name, "skipped: one GPU"))
                continue
            if name == "bf16":
                import torch

                if not torch.cuda.is_bf16_supported():
                    rows.append(Row(name, "skipped: no bf16 on this GPU"))
                    continue
            started = time.monotonic()
            try:
                row = (
                    checks[name]() if name in checks else train_one(name, model, data, store, steps)
                )
            except Exception as error:  # one broken path must not hide the others
                row = Row(name, f"failed: {type(error).__name__}: {str(error)[:80]}")
            print(f"  {name}: {row.result} ({time.monotonic() - started:.0f} s)", file=sys.stderr)
            rows.append(row)
    return rows


def format_table(rows: list[Row]) -> str:
    lines = [HEADER, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"default {DEFAULT_MODEL}")
    parser.add_argument("--steps", type=int, default=8, help="optimizer steps per path (8)")
    parser.add_argument("--only", nargs="+", choices=PATHS, help="run only these paths")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args(argv)
    os.environ.setdefault("FINETUNE_TUI_HEARTBEAT_S", "2")
    names = list(args.only or PATHS)
    gpus = gpu_count()
    print(
        f"gpu_check: {gpus} GPU(s), model {args.model}, {args.steps} steps per path",
        file=sys.stderr,
    )
    rows = run_paths(names, args.model, args.steps, gpus)
    print(format_table(rows))
    if args.json:
        print(json.dumps([row.__dict__ for row in rows]))
    return 1 if any(row.failed for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
