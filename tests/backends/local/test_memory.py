"""The memory estimate against the published tables, and the GPU inventory."""

from __future__ import annotations

import pytest

from backends.local import memory
from backends.local.memory import (
    GIB,
    GpuInfo,
    GpuInventory,
    ModelShape,
    check_fit,
    estimate_memory,
    parse_nvidia_smi,
    render_estimate,
)

LLAMA2_7B = {
    "model_type": "llama",
    "vocab_size": 32000,
    "hidden_size": 4096,
    "num_hidden_layers": 32,
    "intermediate_size": 11008,
    "num_attention_heads": 32,
    "num_key_value_heads": 32,
    "tie_word_embeddings": False,
}
GB = 1e9


def test_llama2_7b_has_its_published_parameter_count() -> None:
    assert ModelShape.from_config(LLAMA2_7B).params == 6_738_415_616


@pytest.mark.parametrize(
    ("method", "published_gb"),
    [("lora", 16), ("qlora", 6), ("full", 120)],
)
def test_7b_estimate_matches_the_published_table(method: str, published_gb: float) -> None:
    """LLaMA-Factory's table: 7B needs ~16 GB (LoRA 16-bit), ~6 GB (QLoRA 4-bit), ~120 GB (full AMP)."""
    estimate = estimate_memory(LLAMA2_7B, method)
    assert abs(estimate.total / GB - published_gb) <= 0.1 * published_gb
    assert estimate.assumptions and "batch 1 × 1024" in estimate.assumptions[0]


def test_more_tokens_cost_more_and_checkpointing_saves() -> None:
    small = estimate_memory(LLAMA2_7B, "lora", batch_size=1, max_length=512)
    big = estimate_memory(LLAMA2_7B, "lora", batch_size=8, max_length=2048)
    no_ckpt = estimate_memory(
        LLAMA2_7B, "lora", batch_size=8, max_length=2048, gradient_checkpointing=False
    )
    assert small.activations < big.activations < no_ckpt.activations
    assert small.weights == big.weights


def test_lora_trains_a_small_fraction() -> None:
    estimate = estimate_memory(LLAMA2_7B, "lora", lora_r=16)
    assert 30e6 < estimate.trainable_params < 50e6  # ~40M for r=16 on all linear layers
    only_attention = estimate_memory(LLAMA2_7B, "lora", target_modules=("q_proj", "v_proj"))
    assert only_attention.trainable_params == 16 * (4096 + 4096) * 2 * 32


def test_nvidia_smi_rows_and_cuda_visible_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "0, NVIDIA H100 80GB HBM3, 81559, 80000, GPU-aaa\n1, NVIDIA H100 80GB HBM3, 81559, 1000, GPU-bbb\n"
    gpus = parse_nvidia_smi(text)
    assert [g.index for g in gpus] == [0, 1]
    assert gpus[0].total_bytes == 81559 << 20
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    assert [g.index for g in memory._visible_filter(gpus)] == [1]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-aaa")
    assert [g.index for g in memory._visible_filter(gpus)] == [0]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert memory._visible_filter(gpus) == []


def test_no_gpu_is_a_clear_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory.shutil, "which", lambda name: None)
    inventory = memory.visible_gpus()
    assert not inventory.any
    assert "No CUDA GPU" in inventory.note and "CPU" in inventory.note


def test_fit_report_advises_when_it_does_not_fit() -> None:
    estimate = estimate_memory(LLAMA2_7B, "lora")
    small = GpuInfo(0, "RTX 4060", 8 * GIB, 7 * GIB)
    big = GpuInfo(1, "H100", 80 * GIB, 79 * GIB)
    report = check_fit(estimate, GpuInventory((small,), "nvidia-smi"))
    assert not report.fits[0].fits and "qlora" in report.warning
    assert check_fit(estimate, GpuInventory((big,), "nvidia-smi")).fits[0].fits
    lines = render_estimate(estimate, GpuInventory((big,), "nvidia-smi"))
    assert any("H100" in line and "fits" in line for line in lines)


def test_without_a_gpu_the_estimate_says_cpu_and_a_real_parameter_count() -> None:
    tiny = {**LLAMA2_7B, "vocab_size": 1000, "hidden_size": 64, "num_hidden_layers": 2}
    tiny["intermediate_size"], tiny["num_attention_heads"], tiny["num_key_value_heads"] = 128, 4, 4
    estimate = estimate_memory(tiny, "lora")
    first, *rest = render_estimate(estimate, GpuInventory((), "", memory.NO_GPU_NOTE))
    assert "on the CPU" in first and "per GPU" not in "\n".join([first, *rest])
    assert f"{estimate.params / 1e3:,.1f}K parameters" in first and "0.00B" not in first
    big = GpuInfo(1, "H100", 80 * GIB, 79 * GIB)
    first = render_estimate(estimate_memory(LLAMA2_7B, "lora"), GpuInventory((big,), "smi"))[0]
    assert "6.74B parameters" in first and first.endswith("per GPU")
