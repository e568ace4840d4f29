"""How much GPU memory a local run needs, from the model's config alone, and what the GPUs have.

The estimate counts four things, in bytes, per GPU (each data-parallel GPU
holds the whole model; ZeRO/FSDP sharding is not modelled):

- **weights**: full fine-tuning keeps fp32 master weights (4 B/param) and
  bf16 autocast copies (2 B/param); LoRA keeps the base in 16-bit (2 B/param);
  QLoRA keeps the linear layers in 4-bit NF4 with double-quantised block
  constants (0.516 B/param; embeddings, norms and the output head stay 16-bit).
- **training state**: gradients and Adam moments of what is trained — full:
  fp32 gradients (4 B) and two fp32 moments (8 B) per parameter; LoRA/QLoRA:
  the fp32 adapter with its gradient and moments (16 B per adapter parameter).
- **activations** in 16-bit with SDPA/flash attention (no seq² term): with
  gradient checkpointing one ``b·s·h`` tensor per layer plus one layer being
  recomputed (``b·s·(12h + 10i)``); without it, every layer's. The logits and
  their gradient add ``8·b·s·vocab``.
- **overhead**: 1 GiB for the CUDA context, kernels and allocator slack.

With batch 1, sequence 1024 and gradient checkpointing this gives a
Llama-2-7B 14.8 GiB for 16-bit LoRA, 5.8 GiB for 4-bit QLoRA and 115 GiB for
full bf16 fine-tuning with Adam, in line with the published tables (about 16,
6 and 120 GB).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from backends.local.settings import DPO, FULL, LORA, QLORA, SUPERVISED

GIB = 1 << 30
OVERHEAD_BYTES = GIB
NF4_BYTES_PER_PARAM = 0.5 + 1 / 64 + 4 / (64 * 256)
"""4-bit weights, one 8-bit absmax per 64 weights, one fp32 constant per 256 blocks."""

_UNGATED_MLP = frozenset(
    {"gpt2", "gpt_neox", "gptj", "opt", "bloom", "falcon", "phi", "gpt_bigcode"}
)
_LINEAR_NAMES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def _first(config: Mapping[str, Any], *names: str, default: Any = None) -> Any:
    for name in names:
        value = config.get(name)
        if value is not None:
            return value
    return default


@dataclass(frozen=True)
class ModelShape:
    """The numbers of a decoder-only transformer that decide its memory."""

    vocab_size: int
    hidden_size: int
    layers: int
    intermediate_size: int
    heads: int
    kv_heads: int
    head_dim: int
    tied_embeddings: bool
    gated_mlp: bool = True
    experts: int = 1

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ModelShape:
        """From a ``config.json`` dict (a multimodal model's ``text_config`` is used)."""
        text = config.get("text_config")
        if isinstance(text, Mapping):
            config = {**config, **text}
        hidden = int(_first(config, "hidden_size", "n_embd", "d_model"))
        heads = int(_first(config, "num_attention_heads", "n_head", default=1))
        model_type = str(config.get("model_type", ""))
        return cls(
            vocab_size=int(_first(config, "vocab_size", default=32000)),
            hidden_size=hidden,
            layers=int(_first(config, "num_hidden_layers", "n_layer", "num_layers")),
            intermediate_size=int(
                _first(config, "intermediate_size", "n_inner", "ffn_dim", default=4 * hidden)
            ),
            heads=heads,
            kv_heads=int(_first(config, "num_key_value_heads", default=heads)),
            head_dim=int(_first(config, "head_dim", default=hidden // heads)),
            tied_embeddings=bool(config.get("tie_word_embeddings", model_type in _UNGATED_MLP)),
            gated_mlp=model_type not in _UNGATED_MLP,
            experts=int(_first(config, "num_local_experts", "num_experts", default=1)),
        )

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(in, out) of each linear layer in one block, by its usual name."""
        h, i = self.hidden_size, self.intermediate_size
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        shapes = {"q_proj": (h, q), "k_proj": (h, kv), "v_proj": (h, kv), "o_proj": (q, h)}
        shapes["up_proj"] = (h, i)
        shapes["down_proj"] = (i, h)
        if self.gated_mlp:
            shapes["gate_proj"] = (h, i)
        return shapes

    @property
    def linear_params(self) -> int:
        """Parameters in the blocks' linear layers (what QLoRA quantises)."""
        per_layer = 0
        for name, (fan_in, fan_out) in self.linear_shapes().items():
            experts = self.experts if name in ("gate_proj", "up_proj", "down_proj") else 1
            per_layer += fan_in * fan_out * experts
        return per_layer * self.layers

    @property
    def other_params(self) -> int:
        """Embeddings, output head and norms (kept in 16-bit by QLoRA)."""
        embed = self.vocab_size * self.hidden_size
        head = 0 if self.tied_embeddings else embed
        norms = (2 * self.layers + 1) * self.hidden_size
        return embed + head + norms

    @property
    def params(self) -> int:
        return self.linear_params + self.other_params

    def lora_params(self, rank: int, target_modules: tuple[str, ...]) -> int:
        shapes = self.linear_shapes()
        names = [n for n in target_modules if n in shapes]
        if not names or "all-linear" in target_modules:
            names = list(shapes)
        per_layer = sum(rank * (shapes[n][0] + shapes[n][1]) for n in names)
        return per_layer * self.layers


@dataclass(frozen=True)
class MemoryEstimate:
    adapter: str
    params: int
    trainable_params: int
    weights: int
    training_state: int
    activations: int
    overhead: int
    batch_size: int
    max_length: int
    gradient_checkpointing: bool
    assumptions: tuple[str, ...] = ()
    reference: int = 0
    """DPO under full fine-tuning: the frozen reference copy of the model."""
    objective: str = SUPERVISED

    @property
    def total(self) -> int:
        return (
            self.weights + self.reference + self.training_state + self.activations + self.overhead
        )

    def parts(self) -> dict[str, int]:
        parts = {"weights": self.weights}
        if self.reference:
            parts["reference model"] = self.reference
        parts.update(
            {
                "gradients + optimizer": self.training_state,
                "activations": self.activations,
                "overhead": self.overhead,
            }
        )
        return parts


def estimate_memory(
    config: Mapping[str, Any] | ModelShape,
    adapter: str = LORA,
    *,
    batch_size: int = 1,
    max_length: int = 1024,
    gradient_checkpointing: bool = True,
    lora_r: int = 16,
    target_modules: tuple[str, ...] = ("all-linear",),
    objective: str = SUPERVISED,
    precomputed_reference: bool = False,
) -> MemoryEstimate:
    """Peak GPU memory per GPU for training ``config`` with ``adapter`` (see the module docstring).

    DPO puts two sequences per pair through the model (chosen and rejected, in one batch), so
    its activations are twice SFT's for the same batch; under full fine-tuning it also holds a
    frozen fp32 reference copy of the model, unless the reference log-probabilities are
    precomputed. Under LoRA/QLoRA the reference is the adapter-disabled base: no copy.
    """
    shape = config if isinstance(config, ModelShape) else ModelShape.from_config(config)
    params = shape.params
    if adapter == FULL:
        trainable = params
        weights = params * (4 + 2)
        state = params * (4 + 8)
    elif adapter in (LORA, QLORA):
        trainable = shape.lora_params(lora_r, target_modules)
        if adapter == LORA:
            weights = params * 2
        else:
            weights = int(shape.linear_params * NF4_BYTES_PER_PARAM) + shape.other_params * 2
        weights += trainable * 4
        state = trainable * (4 + 8)
    else:
        raise ValueError(f"unknown adapter {adapter!r}")
    dpo = objective == DPO
    reference = params * 4 if dpo and adapter == FULL and not precomputed_reference else 0
    tokens = batch_size * max_length * (2 if dpo else 1)
    layer = tokens * (12 * shape.hidden_size + 10 * shape.intermediate_size)
    if gradient_checkpointing:
        activations = shape.layers * tokens * shape.hidden_size * 2 + layer
    else:
        activations = shape.layers * layer
    activations += tokens * shape.vocab_size * 8
    assumptions: tuple[str, ...] = (
        f"batch {batch_size} × {max_length} tokens, gradient checkpointing "
        f"{'on' if gradient_checkpointing else 'off'}, SDPA/flash attention, Adam",
        {
            FULL: "full: fp32 master weights + bf16 copies, fp32 gradients and Adam moments (18 B/param)",
            LORA: f"LoRA r={lora_r}: 16-bit base (2 B/param), fp32 adapter + Adam (16 B/adapter param)",
            QLORA: f"QLoRA r={lora_r}: NF4 base with double quantisation (0.52 B/param), fp32 adapter + Adam",
        }[adapter],
        "per GPU: data-parallel GPUs each hold a full copy (DeepSpeed ZeRO / FSDP shard it)",
        "1 GiB for the CUDA context and allocator slack",
    )
    if dpo:
        assumptions += (_dpo_assumption(adapter, precomputed_reference),)
    return MemoryEstimate(
        adapter=adapter,
        params=params,
        trainable_params=trainable,
        weights=weights,
        training_state=state,
        activations=activations,
        overhead=OVERHEAD_BYTES,
        batch_size=batch_size,
        max_length=max_length,
        gradient_checkpointing=gradient_checkpointing,
        assumptions=assumptions,
        reference=reference,
        objective=objective,
    )


def _dpo_assumption(adapter: str, precomputed: bool) -> str:
    where = (
        "reference log-probabilities precomputed (no reference in memory)"
        if precomputed
        else "reference = a frozen fp32 copy of the model (4 B/param)"
        if adapter == FULL
        else "reference = the base with the adapter disabled (no copy)"
    )
    return f"DPO: chosen + rejected, two sequences per pair; {where}"


# --- the GPUs -----------------------------------------------------------------
@dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    total_bytes: int
    free_bytes: int
    uuid: str = ""


@dataclass(frozen=True)
class GpuInventory:
    gpus: tuple[GpuInfo, ...] = ()
    source: str = ""
    """``nvidia-smi`` or ``torch``; empty when no GPU was found."""
    note: str = ""
    """Why there is no GPU (or what was unusual), for people."""

    @property
    def any(self) -> bool:
        return bool(self.gpus)


NO_GPU_NOTE = (
    "No CUDA GPU is visible (no nvidia-smi, or it lists none; CUDA_VISIBLE_DEVICES may hide them). "
    "Training runs on the CPU: fine for models up to a few hundred million parameters."
)


def _visible_filter(gpus: list[GpuInfo]) -> list[GpuInfo]:
    """Apply ``CUDA_VISIBLE_DEVICES`` (indices or UUIDs) the way CUDA does: in its order."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is None:
        return gpus
    chosen: list[GpuInfo] = []
    for item in (part.strip() for part in visible.split(",")):
        if not item:
            break
        match = [g for g in gpus if str(g.index) == item or (g.uuid and g.uuid.startswith(item))]
        if not match:
            break  # CUDA stops at the first invalid entry
        chosen.append(match[0])
    return chosen


def parse_nvidia_smi(text: str) -> list[GpuInfo]:
    """Rows of ``index, name, memory.total, memory.free, uuid`` (MiB, no units)."""
    gpus: list[GpuInfo] = []
    for line in text.strip().splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 4:
            continue
        try:
            index, total, free = int(parts[0]), int(float(parts[2])), int(float(parts[3]))
        except ValueError:
            continue
        uuid = parts[4] if len(parts) > 4 else ""
        gpus.append(GpuInfo(index, parts[1], total << 20, free << 20, uuid))
    return gpus


def _from_nvidia_smi(timeout: float) -> list[GpuInfo] | None:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None
    query = "--query-gpu=index,name,memory.total,memory.free,uuid"
    try:
        done = subprocess.run(
            [exe, query, "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_nvidia_smi(done.stdout) if done.returncode == 0 else None


def _from_torch() -> list[GpuInfo] | None:
    try:
        import torch
    except ImportError:
        return None
    if not torch.cuda.is_available():
        return []
    gpus: list[GpuInfo] = []
    for index in range(torch.cuda.device_count()):
        free, total = torch.cuda.mem_get_info(index)
        gpus.append(GpuInfo(index, torch.cuda.get_device_name(index), total, free))
    return gpus


def visible_gpus(*, allow_torch: bool = False, timeout: float = 5.0) -> GpuInventory:
    """Free and total memory of each visible GPU: ``nvidia-smi`` first, then torch if allowed.

    ``allow_torch`` is off by default: it imports torch and creates a CUDA
    context (hundreds of MB of GPU memory) in the calling process.
    """
    found = _from_nvidia_smi(timeout)
    if found is not None:
        visible = _visible_filter(found)
        if visible:
            return GpuInventory(tuple(visible), "nvidia-smi")
    if allow_torch:
        from_torch = _from_torch()
        if from_torch:
            return GpuInventory(tuple(from_torch), "torch")
    return GpuInventory((), "", NO_GPU_NOTE)


# --- for people ----------------------------------------------------------------
def gib(value: float) -> str:
    """A size for people: GiB with one decimal, MiB below 1 GiB."""
    if value < GIB:
        return f"{value / (1 << 20):.0f} MiB"
    return f"{value / GIB:.1f} GiB"


@dataclass(frozen=True)
class Fit:
    gpu: GpuInfo
    fits: bool
    line: str


@dataclass(frozen=True)
class FitReport:
    fits: list[Fit] = field(default_factory=list)
    warning: str = ""


def check_fit(estimate: MemoryEstimate, inventory: GpuInventory, gpus: int = 1) -> FitReport:
    """Each GPU that would be used, with whether the estimate fits its free memory."""
    used = inventory.gpus[: max(1, gpus)]
    fits = []
    for gpu in used:
        ok = estimate.total <= gpu.free_bytes
        verdict = "fits" if ok else "does NOT fit"
        fits.append(
            Fit(
                gpu,
                ok,
                f"GPU {gpu.index} {gpu.name}: {gib(gpu.free_bytes)} free of {gib(gpu.total_bytes)}"
                f" — {verdict}",
            )
        )
    warning = ""
    if not inventory.any:
        warning = inventory.note
    elif any(not f.fits for f in fits):
        warning = advice_for_memory(estimate.adapter)
    elif len(used) < gpus:
        warning = f"{gpus} GPUs requested, {len(inventory.gpus)} visible."
    return FitReport(fits, warning)


def advice_for_memory(adapter: str) -> str:
    steps = ["a smaller --batch-size (raise --grad-accum to keep the effective batch)"]
    steps.append("a shorter --max-length")
    if adapter != QLORA:
        steps.append("--adapter qlora (4-bit base, CUDA only)")
    steps.append("gradient checkpointing (on by default)")
    return "Will not fit: try " + ", ".join(steps) + "."


def count(number: int) -> str:
    """A parameter count people read: 6.74B, 124.4M, 52.3K, 980."""
    for size, unit, digits in ((1e9, "B", 2), (1e6, "M", 1), (1e3, "K", 1)):
        if number >= size:
            return f"{number / size:,.{digits}f}{unit}"
    return f"{number:,}"


def render_estimate(estimate: MemoryEstimate, inventory: GpuInventory, gpus: int = 1) -> list[str]:
    """The estimate and the GPUs, as lines of text (``finetune-tui estimate``, the Backend step)."""
    where = "per GPU" if inventory.any else "on the CPU"
    lines = [
        f"{estimate.adapter}{' DPO' if estimate.objective == DPO else ''}: "
        f"{count(estimate.params)} parameters, "
        f"{count(estimate.trainable_params)} trained — about {gib(estimate.total)} {where}",
    ]
    lines += [f"  {name:<22} {gib(value):>10}" for name, value in estimate.parts().items()]
    assumptions = [a for a in estimate.assumptions if inventory.any or not a.startswith("per GPU")]
    lines.append("Assumptions: " + "; ".join(assumptions) + ".")
    report = check_fit(estimate, inventory, gpus)
    lines += [f.line for f in report.fits]
    if report.warning:
        lines.append(report.warning)
    return lines
