"""Does the local worker cost anything? Its training throughput against a plain trl script.

    python bench/local_train_speed.py [--model DIR_OR_GGUF] [--steps 60] [--batch-size 4] [--repeat 3]

Same model, data, settings and steps, LoRA, on whatever device torch sees:

- **plain**: ``trl.SFTTrainer`` with the tokenised data, in this process;
- **worker**: ``python -m backends.local.worker`` on a run folder (our
  callback, longest-first sampler, heartbeat thread, metrics.jsonl).

Throughput is non-padding tokens trained per second of ``train_runtime``
(the trainer's own clock, which excludes loading), so start-up costs of the
two paths do not count. Without ``--model`` a tiny random Llama is built.
Prints tokens/s of each, the ratio (the issue asks for ≥ 0.97), and the peak
resident memory of each process.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backends.local.settings import LocalSettings  # noqa: E402
from backends.runs import RunStore  # noqa: E402


def plain_trl(model_dir: str, data: Path, settings: LocalSettings, out: Path) -> float:
    """tokens/s of a plain SFTTrainer script on the same tokenised data."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from backends.data.chat_template import training_template
    from backends.local.dataset import load_conversations
    from backends.local.training import checkpointing_argument, tokenise

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    loaded = load_conversations(data)
    # The same assistant-masking template the worker picks (SmolLM2's own has no markers).
    choice = training_template(tokenizer, loaded.records)
    if choice.template is not None:
        tokenizer.chat_template = choice.template
    rows = tokenise(tokenizer, loaded.records, loaded.lines, choice.assistant_only)
    cuda = torch.cuda.is_available()
    bf16 = cuda and torch.cuda.is_bf16_supported()
    model = AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=torch.bfloat16 if cuda else torch.float32
    )
    args = SFTConfig(
        output_dir=str(out),
        max_steps=settings.max_steps or -1,
        per_device_train_batch_size=settings.batch_size,
        learning_rate=settings.lr,
        lr_scheduler_type=settings.lr_scheduler,
        warmup_steps=settings.warmup_ratio,
        seed=settings.seed,
        logging_steps=1,
        save_strategy="no",
        bf16=bf16,
        fp16=cuda and not bf16,
        use_cpu=not cuda,
        max_length=settings.max_length,
        report_to="none",
        disable_tqdm=True,
        **checkpointing_argument(SFTConfig, settings.gradient_checkpointing),
    )
    peft = LoraConfig(
        r=settings.lora_r,
        lora_alpha=settings.lora_alpha,
        lora_dropout=settings.lora_dropout,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=peft,
    )
    result = trainer.train()
    return trainer._total_train_tokens / result.metrics["train_runtime"]


def peak_rss_mib(pid: int | str = "self") -> float:
    """A process's peak resident memory so far (``VmHWM``), in MiB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def reset_peak_rss() -> None:
    """Start this process's ``VmHWM`` afresh (Linux: ``5`` to ``clear_refs``)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def worker(model: str, data: Path, settings: LocalSettings, root: Path) -> tuple[float, float]:
    """tokens/s of the detached worker (from its log), and its peak RSS in MiB."""
    folder = RunStore(root).create(settings.to_spec(model=model, dataset=str(data)))
    peak = 0.0
    with open(folder.log_txt, "ab") as log:  # as the detached launch does
        process = subprocess.Popen(
            [sys.executable, "-m", "backends.local.worker", str(folder.path)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        # The worker's own high-water mark (VmHWM is per address space; ru_maxrss of a
        # child also counts this process's size when it forked).
        while process.poll() is None:
            peak = max(peak, peak_rss_mib(process.pid))
            time.sleep(0.2)
    if process.returncode:
        raise SystemExit(f"worker exited with {process.returncode}")
    runtime = None
    for line in folder.log_txt.read_text().splitlines():
        found = re.search(r"Training loop done: ([0-9.]+) s", line)
        if found:
            runtime = float(found.group(1))
    status = folder.read_status()
    if runtime is None or not status.trained_tokens:
        raise SystemExit(f"worker run did not finish: {status.state} {status.error}")
    return status.trained_tokens / runtime, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--examples", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from backends.local.models import loadable_path, resolve_model
    from tests.support.tiny_model import build_tiny_model, write_toy_dataset

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model = args.model or str(build_tiny_model(root / "tiny", hidden=256, layers=4))
        model_dir = loadable_path(resolve_model(model))
        data = write_toy_dataset(root / "train.jsonl", count=args.examples)
        settings = LocalSettings(
            max_steps=args.steps, batch_size=args.batch_size, save_steps=10_000, lora_r=16
        )
        ours_runs: list[float] = []
        plain_runs: list[float] = []
        ours_peak = plain_peak = 0.0
        for index in range(args.repeat):  # alternate, best of each: the machine may be shared
            gc.collect()
            reset_peak_rss()  # the set-up (building or converting the model) does not count
            plain_runs.append(plain_trl(model_dir, data, settings, root / f"plain{index}"))
            plain_peak = max(plain_peak, peak_rss_mib())
            speed, peak = worker(model, data, settings, root / "runs")
            ours_runs.append(speed)
            ours_peak = max(ours_peak, peak)
        ours, plain = max(ours_runs), max(plain_runs)
    print(f"model: {args.model or 'tiny random Llama (hidden 256, 4 layers)'}")
    print(f"plain trl SFTTrainer: {plain:10.0f} tokens/s   peak RSS {plain_peak:7.0f} MiB")
    print(f"finetune-tui worker:  {ours:10.0f} tokens/s   peak RSS {ours_peak:7.0f} MiB")
    print(
        f"all runs, plain: {[round(x) for x in plain_runs]}, worker: {[round(x) for x in ours_runs]}"
    )
    print(f"ratio worker/plain:   {ours / plain:10.3f}  (must be ≥ 0.97)")
    return 0 if ours / plain >= 0.97 else 1


if __name__ == "__main__":
    sys.exit(main())
