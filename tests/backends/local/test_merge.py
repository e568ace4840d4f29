"""Merging a run's adapter into its base model: for real on the tiny model, and every refusal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backends.local.merge import (
    MergeRefused,
    choose_merge_dtype,
    merged_dir,
    plan_merge,
    write_merged,
)
from backends.local.merge_process import merge_in_subprocess
from backends.runs import RunFolder, RunStore
from backends.runs.values import RunState
from tests.support.tiny_model import tiny_lora_spec
from tui.cli import main


def _logits(model: object, ids: object) -> object:
    import torch

    with torch.no_grad():
        return model(input_ids=ids).logits.float()  # type: ignore[attr-defined]


def test_merged_model_loads_with_plain_transformers_and_matches_the_adapter(
    trained_run: RunFolder, tiny_model: Path
) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    said: list[str] = []
    result = merge_in_subprocess(trained_run, progress=said.append)
    target = merged_dir(trained_run)
    assert result.path == target and result.dtype == "bf16"
    assert "float32" in result.reason  # the tiny base is fp32: bf16 on the CPU, and it says so
    assert any("Loading the base model in bf16" in line for line in said)
    assert (target / "model.safetensors").is_file() and (target / "tokenizer.json").is_file()
    assert not list(trained_run.output_dir.glob("merged.*"))  # no partial or old folders left
    status = trained_run.read_status()
    assert str(target) in status.result_files and status.extra["merged"] == str(target)
    assert status.state is RunState.SUCCEEDED
    assert "Merged the adapter into the base model" in trained_run.log_txt.read_text()

    merged = AutoModelForCausalLM.from_pretrained(target)
    assert merged.dtype == torch.bfloat16
    assert not hasattr(merged, "peft_config")  # a plain model, no adapter left
    base = AutoModelForCausalLM.from_pretrained(tiny_model, dtype=torch.bfloat16)
    adapted = PeftModel.from_pretrained(base, str(trained_run.output_dir / "adapter"))
    tokenizer = AutoTokenizer.from_pretrained(target)
    prompt = [{"role": "user", "content": "what colour is the sky ?"}]
    ids = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, return_tensors="pt")
    ids = ids["input_ids"] if hasattr(ids, "keys") else ids
    expected, got = _logits(adapted, ids), _logits(merged, ids)
    assert torch.allclose(got, expected, atol=5e-2, rtol=0), (got - expected).abs().max()
    assert (got.argmax(-1) == expected.argmax(-1)).float().mean() >= 0.9
    out = merged.generate(ids, max_new_tokens=4, do_sample=False)
    assert out.shape[-1] > ids.shape[-1]


def test_merge_cli_refuses_a_second_merge_and_force_replaces(
    trained_run: RunFolder, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = str(trained_run.path.parents[1])
    merged_dir(trained_run).mkdir()
    (merged_dir(trained_run) / "stale.txt").write_text("old")
    assert main(["--workspace", workspace, "merge", trained_run.run_id]) == 2
    refused = capsys.readouterr().err
    assert (
        "already merged" in refused
        and "--force" in refused
        and str(merged_dir(trained_run)) in refused
    )
    assert main(["--workspace", workspace, "merge", trained_run.run_id, "--force"]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == str(merged_dir(trained_run))
    assert "Merged in bf16" in out.err
    assert not (merged_dir(trained_run) / "stale.txt").exists()
    assert (merged_dir(trained_run) / "model.safetensors").is_file()


def test_a_failed_merge_leaves_nothing_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import backends.local.merge as merge

    def crash(base_path: str, adapter: Path, work: Path, precision: str, **_: object) -> None:
        work.mkdir()
        (work / "model-00001.safetensors").write_bytes(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(merge, "merge_into", crash)
    target = tmp_path / "output" / "merged"
    target.parent.mkdir()
    with pytest.raises(OSError, match="No space"):
        write_merged("base", tmp_path / "adapter", target, "bf16")
    assert not target.exists() and list((tmp_path / "output").iterdir()) == []
    target.mkdir()
    (target / "config.json").write_text("{}")  # a finished earlier merge survives a failed --force
    with pytest.raises(OSError, match="No space"):
        write_merged("base", tmp_path / "adapter", target, "bf16")
    assert sorted(p.name for p in (tmp_path / "output").iterdir()) == ["merged"]
    assert (target / "config.json").read_text() == "{}"


def _run(
    store: RunStore, tiny_model: Path, toy_data: Path, state: RunState, **changes: object
) -> RunFolder:
    folder = store.create(tiny_lora_spec(tiny_model, toy_data, **changes))  # type: ignore[arg-type]
    folder.update_status(state=state)
    return folder


@pytest.mark.parametrize(
    ("state", "changes", "adapter", "expected"),
    [
        (RunState.RUNNING, {}, True, "still running"),
        (RunState.FAILED, {}, True, "finetune-tui resume"),
        (RunState.SUCCEEDED, {"adapter": "full"}, False, "whole model"),
        (RunState.SUCCEEDED, {}, False, "adapter_config.json is missing"),
        (RunState.CANCELLED, {}, False, "no adapter to merge"),
    ],
)
def test_merge_refuses_with_what_and_where(
    store: RunStore,
    tiny_model: Path,
    toy_data: Path,
    capsys: pytest.CaptureFixture[str],
    state: RunState,
    changes: dict[str, object],
    adapter: bool,
    expected: str,
) -> None:
    folder = _run(store, tiny_model, toy_data, state, **changes)
    if adapter:
        (folder.output_dir / "adapter").mkdir()
        (folder.output_dir / "adapter" / "adapter_config.json").write_text("{}")
    folder.update_status(pid=os.getpid() if state is RunState.RUNNING else None)  # a live worker
    with pytest.raises(MergeRefused, match=expected):
        plan_merge(folder)
    assert main(["--workspace", str(store.root.parent), "merge", folder.run_id]) == 2
    message = capsys.readouterr().err
    assert expected in message and folder.run_id in message and "Traceback" not in message


def test_merge_refuses_hosted_runs_and_unknown_runs(
    store: RunStore, capsys: pytest.CaptureFixture[str]
) -> None:
    from backends.runs.values import RunSpec

    folder = store.create(RunSpec(backend="openai", model="gpt-4o-mini", dataset="d.jsonl"))
    folder.update_status(state=RunState.SUCCEEDED)
    with pytest.raises(MergeRefused, match="with the provider"):
        plan_merge(folder)
    assert main(["--workspace", str(store.root.parent), "merge", "no-such-run"]) == 2
    assert "no-such-run" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("dtype", "cuda", "bf16_ok", "expected"),
    [
        ("bfloat16", False, False, "bf16"),
        ("bfloat16", True, False, "fp16"),
        ("torch.float16", True, True, "fp16"),
        ("float32", False, False, "bf16"),
        ("float32", True, True, "bf16"),
        (None, True, False, "fp16"),
    ],
)
def test_merge_dtype_follows_the_model_and_the_hardware(
    dtype: str | None, cuda: bool, bf16_ok: bool, expected: str
) -> None:
    chosen, reason = choose_merge_dtype(dtype, cuda=cuda, bf16_ok=bf16_ok)
    assert chosen == expected and reason
