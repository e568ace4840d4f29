"""Exports of a finished local run to where people run models, each checked against the run.

    merged  16-bit safetensors + tokenizer (the merge, ``output/merged/``)
    gguf    llama.cpp's converter (``backends.local.converter``), then its quantizer
    ollama  a Modelfile (TEMPLATE from the chat template, stop tokens, SYSTEM) FROM the GGUF
            (or FROM the safetensors folder when no converter is here); created on an
            Ollama server when one answers (``OLLAMA_HOST``), else the ``ollama create`` command
    vllm    the ``vllm serve`` commands (adapter and merged) and an OpenAI-client snippet

``plan_export`` refuses cheaply (no torch) with what and where. ``run_export``
writes into ``output/exports/<name>.partial-<pid>/`` and renames it to
``output/exports/<name>/`` once written and checked; an existing export is
replaced only with ``force``. The merged export is ``output/merged/`` itself.

The check (``check_export``) replays prompts of the run's evaluation set
(its validation file, else its training file) greedily through the trained
model (base + adapter in transformers) and through the exported artifact:
for GGUF, llama.cpp itself (``llama-cpp-python``) when installed, which also
tokenises the prompt from the GGUF's own vocabulary, else transformers' GGUF
loader. Per prompt: tokens that agree and the first divergence. A prompt
tokenised differently (a template or tokenizer mismatch) or an unquantised
export that diverges at once on most prompts (a broken conversion) is an
error: the export is not kept. Quantisation drift is a figure.
"""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from backends import registry
from backends.backend import BackendError
from backends.local import converter as llama_cpp_tools
from backends.local.merge import adapter_dir, merged_dir
from backends.local.settings import LocalSettings
from backends.runs import RunFolder
from backends.runs.values import RunSpec, RunState

KINDS = ("merged", "gguf", "ollama", "vllm")
QUANTS = ("f16", "q8_0", "q4_k_m")
EXPORTS_DIR = "exports"
PARTIAL = ".partial-"
DEFAULT_PROMPTS = 4
DEFAULT_NEW_TOKENS = 24
Progress = Callable[[str], None]
Message = dict[str, str]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ExportRefused(BackendError):
    """This run cannot be exported so (or not now); the message says why and what to do."""


class ExportFailed(BackendError):
    """The export started but failed or did not pass its check; nothing was kept."""


@dataclass(frozen=True)
class ExportPlan:
    folder: RunFolder
    kind: str
    quant: str
    name: str
    """The export's name: its folder under ``output/exports/`` and the Ollama/vLLM model name."""
    target: Path
    replaces: bool
    spec: RunSpec
    adapter_dir: Path | None
    """The LoRA adapter; ``None`` for a full fine-tune."""
    model_dir: Path | None
    """A full fine-tune's ``output/model``."""
    converter: llama_cpp_tools.Converter | None
    model_name: str = ""
    """The name Ollama / vLLM serve it under: ``--name``, else the run id."""


@dataclass(frozen=True)
class PromptAgreement:
    index: int
    expected: tuple[int, ...]
    got: tuple[int, ...]
    prompt_matches: bool
    expected_text: str = ""
    got_text: str = ""

    @property
    def first_divergence(self) -> int | None:
        for i, (x, y) in enumerate(zip(self.expected, self.got, strict=False)):
            if x != y:
                return i
        return (
            None if len(self.expected) == len(self.got) else min(len(self.expected), len(self.got))
        )

    @property
    def agreeing(self) -> int:
        """Tokens equal to the trained model's, position by position, up to the first divergence."""
        first = self.first_divergence
        return len(self.expected) if first is None else first


@dataclass(frozen=True)
class ExportCheck:
    runtime: str
    prompts: tuple[PromptAgreement, ...]
    source: str
    """Where the prompts came from."""

    @property
    def agreement(self) -> float:
        total = sum(max(len(p.expected), 1) for p in self.prompts)
        return sum(p.agreeing for p in self.prompts) / total if total else 1.0

    def lines(self) -> list[str]:
        out = [
            f"Checked on {len(self.prompts)} prompt(s) of {self.source}, greedy, through "
            f"{self.runtime}: {self.agreement:.0%} of the trained model's tokens reproduced."
        ]
        for p in self.prompts:
            first = p.first_divergence
            where = "identical" if first is None else f"first divergence at token {first}"
            flag = "" if p.prompt_matches else " (PROMPT TOKENISED DIFFERENTLY)"
            out.append(
                f"  prompt {p.index + 1}: {p.agreeing}/{len(p.expected)} tokens, {where}{flag}"
            )
        return out


@dataclass
class ExportResult:
    kind: str
    path: Path
    commands: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    check: ExportCheck | None = None

    def lines(self) -> list[str]:
        out = [f"Exported ({self.kind}) to {self.path}"]
        out += self.notes
        if self.check is not None:
            out += self.check.lines()
        out += self.commands
        return out


def exports_dir(folder: RunFolder) -> Path:
    return folder.output_dir / EXPORTS_DIR


def list_exports(folder: RunFolder) -> list[Path]:
    """The finished exports of a run: ``output/merged/`` and each ``output/exports/<name>/``."""
    found = [merged_dir(folder)] if merged_dir(folder).is_dir() else []
    if exports_dir(folder).is_dir():
        found += sorted(
            p for p in exports_dir(folder).iterdir() if p.is_dir() and PARTIAL not in p.name
        )
    return found


def gguf_exports(folder: RunFolder) -> dict[str, Path]:
    """The run's finished exports that hold a GGUF file (gguf, ollama): name → the file."""
    found: dict[str, Path] = {}
    for export in list_exports(folder):
        files = sorted(export.glob("*.gguf")) if export.parent == exports_dir(folder) else []
        if files:
            found[export.name] = files[0]
    return found


def default_name(kind: str, quant: str) -> str:
    return {"merged": "merged", "vllm": "vllm"}.get(kind, f"{kind}-{quant}")


def export_offered(folder: RunFolder, spec: RunSpec | None, state: RunState) -> bool:
    """Whether a viewer should offer exports for this run (cheap: no status re-read, no torch)."""
    if spec is None or not registry.is_local(spec.backend):
        return False
    if state not in (RunState.SUCCEEDED, RunState.CANCELLED):
        return False
    settings = LocalSettings.from_spec(spec)
    if settings.uses_adapter:
        return (adapter_dir(folder) / "adapter_config.json").is_file()
    return (folder.output_dir / "model" / "config.json").is_file()


def plan_export(
    folder: RunFolder,
    kind: str,
    *,
    quant: str | None = None,
    name: str | None = None,
    force: bool = False,
) -> ExportPlan:
    """What exporting ``folder`` as ``kind`` would do; raises ``ExportRefused`` when it cannot."""
    run = folder.run_id
    if kind not in KINDS:
        raise ExportRefused(f"--to must be one of {', '.join(KINDS)}, not {kind!r}.")
    if quant is not None and quant not in QUANTS:
        raise ExportRefused(f"--quant must be one of {', '.join(QUANTS)}, not {quant!r}.")
    if quant not in (None, "f16") and kind in ("merged", "vllm"):
        raise ExportRefused(
            f"A {kind} export is the 16-bit model; --quant {quant} applies to gguf and ollama."
        )
    quant = quant or "f16"
    if not folder.exists():
        raise ExportRefused(f"There is no run folder at {folder.path}.")
    try:
        spec = folder.read_spec()
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ExportRefused(f"Cannot read {folder.run_json}: {error}") from None
    if not registry.is_local(spec.backend):
        raise ExportRefused(
            f"Run {run} was trained on {spec.backend}: its weights live with the provider and "
            "have not been downloaded, so there is nothing here to export.",
            hint="Hosted runs can be exported once their adapter is downloaded into the run.",
        )
    state = folder.effective_status().state
    if state.is_active:
        raise ExportRefused(f"Run {run} is still {state.value}: export it once it has ended.")
    if state not in (RunState.SUCCEEDED, RunState.CANCELLED):
        raise ExportRefused(
            f"Run {run} {state.value}: only a succeeded run (or a cancelled one that saved its "
            "model) can be exported.",
            hint=f"`finetune-tui resume {run}` continues it from its last checkpoint.",
        )
    settings = LocalSettings.from_spec(spec)
    adapter: Path | None = None
    model: Path | None = None
    if settings.uses_adapter:
        adapter = adapter_dir(folder)
        if not (adapter / "adapter_config.json").is_file():
            raise ExportRefused(
                f"Run {run} has no adapter: {adapter}/adapter_config.json is missing."
            )
    else:
        model = folder.output_dir / "model"
        if not (model / "config.json").is_file():
            raise ExportRefused(f"Run {run} has no saved model: {model}/config.json is missing.")
    model_name = (name or run).lower()
    name = name or default_name(kind, quant)
    if not _NAME.match(name):
        raise ExportRefused(
            f"--name {name!r} is not a usable name: letters, digits, '.', '_' and '-', "
            "starting with a letter or digit, at most 64."
        )
    target = merged_dir(folder) if kind == "merged" else exports_dir(folder) / name
    if kind == "merged" and adapter is None:
        raise ExportRefused(
            f"Run {run} trained the whole model: {model} is already a complete 16-bit model."
        )
    if target.exists() and not force:
        raise ExportRefused(
            f"Run {run} already has this export: {target} exists.",
            hint=f"`finetune-tui export {run} --to {kind}"
            + (f" --quant {quant}" if kind in ("gguf", "ollama") else "")
            + (f" --name {name}" if name != default_name(kind, quant) else "")
            + " --force` replaces it.",
        )
    found: llama_cpp_tools.Converter | None = None
    if kind in ("gguf", "ollama"):
        try:
            found = llama_cpp_tools.find_converter()
        except llama_cpp_tools.ConverterMissing as error:
            if kind == "gguf":
                raise ExportRefused(str(error), hint=error.hint) from None
        if found is not None or kind == "gguf":
            missing = llama_cpp_tools.quantizer_missing(quant, found)
            if missing:
                raise ExportRefused(missing)
    return ExportPlan(
        folder, kind, quant, name, target, target.exists(), spec, adapter, model, found, model_name
    )


# --- the model an export starts from ----------------------------------------------------------
def base_path(spec: RunSpec, *, log: Progress | None = None) -> str:
    from backends.local.models import loadable_path, resolve_model

    return loadable_path(resolve_model(spec.model), log=log)


def ensure_merged(plan: ExportPlan, say: Progress) -> Path:
    """The run's 16-bit model folder: ``output/model`` (full) or ``output/merged/`` (made if missing)."""
    if plan.model_dir is not None:
        return plan.model_dir
    target = merged_dir(plan.folder)
    if target.is_dir() and plan.kind != "merged":
        return target
    from backends.local.merge import merge_run, plan_merge

    result = merge_run(plan_merge(plan.folder, force=target.exists()), progress=say)
    return result.path


def trained_tokenizer(plan: ExportPlan) -> Any:
    from transformers import AutoTokenizer

    source = plan.model_dir or plan.adapter_dir
    assert source is not None
    if (source / "tokenizer_config.json").is_file():
        return AutoTokenizer.from_pretrained(str(source))
    return AutoTokenizer.from_pretrained(base_path(plan.spec))


# --- evaluation prompts -----------------------------------------------------------------------
def eval_prompts(spec: RunSpec, count: int) -> tuple[list[list[Message]], str]:
    """Up to ``count`` prompts (every turn before the last assistant turn) and where from; a
    preference pair (a DPO run) gives its prompt."""
    from backends.data.formats import ConversionError, to_chat
    from backends.data.preferences import is_preference, preferred_chat
    from backends.data.reader import iter_lines

    source = spec.validation or spec.dataset
    where = f"the validation file {source}" if spec.validation else f"the training file {source}"
    prompts: list[list[Message]] = []
    path = Path(source)
    if not path.is_file():
        return [], where
    for parsed in iter_lines(path):
        if len(prompts) >= count:
            break
        if parsed.finding is not None or not isinstance(parsed.value, dict):
            continue
        value = parsed.value
        try:
            chat = preferred_chat(value) if is_preference(value) else to_chat(value)
        except ConversionError:
            continue
        raw = [m for m in chat.get("messages", []) if isinstance(m, dict)]
        if not all(isinstance(m.get("content"), str) for m in raw):
            continue
        messages = [{"role": str(m.get("role")), "content": str(m["content"])} for m in raw]
        while messages and messages[-1]["role"] == "assistant":
            messages.pop()
        if messages and messages[-1]["role"] == "user":
            prompts.append(messages)
    return prompts, where


def common_system_prompt(spec: RunSpec) -> str | None:
    """The data's system prompt when every example that has one has the same, and most have one."""
    prompts, _where = eval_prompts(spec, 10_000)
    systems = [m[0]["content"] for m in prompts if m and m[0]["role"] == "system"]
    if not systems or len(systems) * 2 < len(prompts):
        return None
    (text, n), *_ = Counter(systems).most_common(1)
    return text if n == len(systems) else None


# --- the reference: the trained model in transformers -----------------------------------------
@dataclass
class Reference:
    tokenizer: Any
    prompt_ids: list[list[int]]
    outputs: list[tuple[int, ...]]
    texts: list[str]
    eos: set[int]


def _cut(tokens: Sequence[int], eos: set[int]) -> tuple[int, ...]:
    out: list[int] = []
    for token in tokens:
        out.append(int(token))
        if token in eos:
            break
    return tuple(out)


def eos_ids(tokenizer: Any, model_dir: Path | None = None) -> set[int]:
    ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    if model_dir is not None and (model_dir / "generation_config.json").is_file():
        value = orjson.loads((model_dir / "generation_config.json").read_bytes()).get(
            "eos_token_id"
        )
        ids |= set(value if isinstance(value, list) else [value] if value is not None else [])
    return {int(i) for i in ids}


def reference_outputs(
    plan: ExportPlan, prompts: list[list[Message]], new_tokens: int, say: Progress
) -> Reference:
    import torch
    from transformers import AutoModelForCausalLM

    say("Replaying the prompts through the trained model (transformers)…")
    tokenizer = trained_tokenizer(plan)
    if plan.model_dir is not None:
        model = AutoModelForCausalLM.from_pretrained(str(plan.model_dir), dtype=torch.float32)
    else:
        from peft import PeftModel

        base = AutoModelForCausalLM.from_pretrained(base_path(plan.spec), dtype=torch.float32)
        model = PeftModel.from_pretrained(base, str(plan.adapter_dir))
    model.eval()
    eos = eos_ids(tokenizer, plan.model_dir)
    ids_list: list[list[int]] = []
    outputs: list[tuple[int, ...]] = []
    texts: list[str] = []
    for messages in prompts:
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        texts.append(text)
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        ids_list.append(list(ids))
        outputs.append(_cut(_greedy_hf(model, ids, new_tokens, tokenizer), eos))
    return Reference(tokenizer, ids_list, outputs, texts, eos)


def _greedy_hf(model: Any, ids: Sequence[int], new_tokens: int, tokenizer: Any) -> list[int]:
    import torch

    with torch.no_grad():
        out = model.generate(
            input_ids=torch.tensor([list(ids)]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            max_new_tokens=new_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id
            if tokenizer.pad_token_id is not None
            else tokenizer.eos_token_id,
        )
    return [int(t) for t in out[0][len(ids) :]]


# --- the exported artifact --------------------------------------------------------------------
def check_hf_folder(model_dir: Path, ref: Reference, new_tokens: int, source: str) -> ExportCheck:
    """The exported folder, loaded with its own tokenizer and chat template."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32).eval()
    eos = ref.eos | eos_ids(tokenizer, model_dir)
    results = []
    for index, (expected_ids, expected) in enumerate(zip(ref.prompt_ids, ref.outputs, strict=True)):
        text = ref.texts[index]
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        got = _cut(_greedy_hf(model, ids, new_tokens, tokenizer), eos)
        results.append(_agreement(index, expected_ids, ids, expected, got, ref))
    return ExportCheck(f"transformers loading {model_dir.name}/", tuple(results), source)


def _agreement(
    index: int,
    expected_ids: Sequence[int],
    ids: Sequence[int],
    expected: tuple[int, ...],
    got: tuple[int, ...],
    ref: Reference,
) -> PromptAgreement:
    decode = ref.tokenizer.decode
    return PromptAgreement(
        index,
        expected,
        got,
        list(ids) == list(expected_ids),
        decode(list(expected), skip_special_tokens=True),
        decode(list(got), skip_special_tokens=True),
    )


def check_gguf(gguf: Path, ref: Reference, new_tokens: int, source: str) -> ExportCheck:
    """Load ``gguf`` with llama.cpp (llama-cpp-python), else transformers' GGUF loader."""
    if llama_cpp_tools.runtime_available():
        return _check_llama_cpp(gguf, ref, new_tokens, source)
    return _check_transformers_gguf(gguf, ref, new_tokens, source)


def open_llama(gguf: Path, n_ctx: int = 1024) -> Any:
    from llama_cpp import Llama

    threads = max(1, min(4, os.cpu_count() or 1))
    return Llama(
        model_path=str(gguf), n_ctx=n_ctx, n_threads=threads, verbose=False, seed=0, n_gpu_layers=0
    )


def llama_prompt_ids(llm: Any, text: str) -> list[int]:
    """The prompt as llama.cpp tokenises it: the GGUF's vocabulary and its add-BOS setting."""
    add_bos = str(llm.metadata.get("tokenizer.ggml.add_bos_token", "")).lower()
    model_type = str(llm.metadata.get("tokenizer.ggml.model", ""))
    bos = add_bos == "true" or (add_bos == "" and model_type == "llama")
    return list(llm.tokenize(text.encode("utf-8"), add_bos=bos, special=True))


def llama_greedy(llm: Any, ids: Sequence[int], new_tokens: int, eos: set[int]) -> tuple[int, ...]:
    llm.reset()
    out: list[int] = []
    stops = eos | {int(llm.token_eos())}
    for token in llm.generate(
        list(ids), top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0, reset=True
    ):
        out.append(int(token))
        if token in stops or len(out) >= new_tokens:
            break
    return tuple(out)


def _check_llama_cpp(gguf: Path, ref: Reference, new_tokens: int, source: str) -> ExportCheck:
    llm = open_llama(gguf)
    try:
        results = []
        for index, text in enumerate(ref.texts):
            ids = llama_prompt_ids(llm, text)
            got = _cut(llama_greedy(llm, ids, new_tokens, ref.eos), ref.eos)
            results.append(
                _agreement(index, ref.prompt_ids[index], ids, ref.outputs[index], got, ref)
            )
    finally:
        llm.close()
    return ExportCheck(f"llama.cpp (llama-cpp-python) loading {gguf.name}", tuple(results), source)


def _check_transformers_gguf(
    gguf: Path, ref: Reference, new_tokens: int, source: str
) -> ExportCheck:
    from backends.local.models import load_gguf_model

    model = load_gguf_model(gguf)
    results = []
    for index, ids in enumerate(ref.prompt_ids):
        got = _cut(_greedy_hf(model, ids, new_tokens, ref.tokenizer), ref.eos)
        results.append(_agreement(index, ids, ids, ref.outputs[index], got, ref))
    return ExportCheck(
        f"transformers' GGUF loader reading {gguf.name} (the prompt tokenised by the trained "
        "tokenizer: install llama-cpp-python to check the GGUF's own tokenizer too)",
        tuple(results),
        source,
    )


def judge(check: ExportCheck, *, quantised: bool) -> str | None:
    """The error a check reveals (``None``: fine; drift of a quantised export is only a figure)."""
    wrong = [p.index + 1 for p in check.prompts if not p.prompt_matches]
    if wrong:
        return (
            f"The exported model tokenises prompt(s) {', '.join(map(str, wrong))} differently from "
            "the trained model (a chat template or tokenizer mismatch): it would answer worse."
        )
    if quantised or not check.prompts:
        return None
    broken = [p for p in check.prompts if p.first_divergence == 0 and p.expected]
    if len(broken) * 2 > len(check.prompts):
        return (
            f"The exported model differs from the trained model from the first token on "
            f"{len(broken)} of {len(check.prompts)} prompt(s): the conversion is broken."
        )
    return None


# --- writing each kind ------------------------------------------------------------------------
def _work_dir(target: Path) -> Path:
    work = target.with_name(f"{target.name}{PARTIAL}{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    return work


def _publish(work: Path, target: Path) -> None:
    if target.exists():
        old = target.with_name(f"{target.name}.old-{os.getpid()}")
        os.replace(target, old)
        os.replace(work, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(work, target)


def converter_source(hf_dir: Path, tokenizer: Any, work: Path) -> Path:
    """``hf_dir`` as the converter should see it: the tokenizer's BOS/EOS habit spelt out.

    llama.cpp's converter copies ``add_bos_token`` / ``add_eos_token`` from
    ``tokenizer_config.json``; when they are absent a runtime falls back to its
    own default (a SentencePiece vocabulary gets a BOS the trained model never
    saw). The folder is mirrored with links and its ``tokenizer_config.json``
    gets the values the trained tokenizer actually applies.
    """
    config_file = hf_dir / "tokenizer_config.json"
    settings = orjson.loads(config_file.read_bytes()) if config_file.is_file() else {}
    if "add_bos_token" in settings and "add_eos_token" in settings:
        return hf_dir
    ids = list(tokenizer("a", add_special_tokens=True)["input_ids"])
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    settings.setdefault("add_bos_token", bool(ids) and bos is not None and ids[0] == bos)
    settings.setdefault("add_eos_token", bool(ids) and eos is not None and ids[-1] == eos)
    mirror = work / "converter-input"
    mirror.mkdir()
    for item in hf_dir.iterdir():
        if item.name != config_file.name:
            (mirror / item.name).symlink_to(item.resolve())
    (mirror / config_file.name).write_bytes(orjson.dumps(settings, option=orjson.OPT_INDENT_2))
    return mirror


def write_gguf(plan: ExportPlan, hf_dir: Path, work: Path, say: Progress) -> Path:
    assert plan.converter is not None
    source = converter_source(hf_dir, trained_tokenizer(plan), work)
    out = work / f"model-{plan.quant}.gguf"
    log = plan.folder.output_dir / "export.log"
    direct = plan.quant in llama_cpp_tools.CONVERTER_TYPES
    first = out if direct else work / "model-f16.tmp.gguf"
    say(
        f"Converting with llama.cpp's converter ({plan.converter.origin}) to {'f16' if not direct else plan.quant}…"
    )
    try:
        llama_cpp_tools.convert(plan.converter, source, first, plan.quant if direct else "f16", log)
    finally:
        if source != hf_dir:
            shutil.rmtree(source, ignore_errors=True)
    if not direct:
        say(f"Quantising to {plan.quant} with llama.cpp's quantizer…")
        try:
            llama_cpp_tools.quantize(first, out, plan.quant, plan.converter)
        finally:
            first.unlink(missing_ok=True)
    return out


def chat_render(tokenizer: Any) -> Callable[[Sequence[Message], bool], str]:
    def render(messages: Sequence[Message], add_generation_prompt: bool) -> str:
        return str(
            tokenizer.apply_chat_template(
                list(messages), tokenize=False, add_generation_prompt=add_generation_prompt
            )
        )

    return render


def stop_strings(tokenizer: Any, parts: Any, eos: set[int]) -> list[str]:
    stops: list[str] = []
    for token_id in sorted(eos):
        text = tokenizer.convert_ids_to_tokens(token_id)
        if isinstance(text, str) and text and text not in stops:
            stops.append(text)
    end = parts.assistant[1].strip()
    if end and end not in stops:
        stops.append(end)
    return stops


def modelfile_text(from_path: str, template: str, stops: Sequence[str], system: str | None) -> str:
    lines = [f"FROM {from_path}", f'TEMPLATE """{template}"""']
    lines += [f"PARAMETER stop {orjson.dumps(s).decode()}" for s in stops]
    lines.append("PARAMETER temperature 0")
    if system:
        lines.append(f'SYSTEM """{system}"""')
    return "\n".join(lines) + "\n"


def ollama_host() -> str | None:
    """``OLLAMA_HOST`` when set (Ollama's own variable), else ``None`` (the default host is tried)."""
    return os.environ.get("OLLAMA_HOST") or None


def ollama_create(name: str, modelfile_dir: Path, from_path: str, quant: str) -> str | None:
    """Create the model on an answering Ollama server; ``None`` when none answers."""
    try:
        import ollama
    except ImportError:
        return None
    client = ollama.Client(host=ollama_host())
    try:
        client.list()
    except Exception:  # no server: connection refused, DNS, timeout...
        return None
    text = (modelfile_dir / "Modelfile").read_text()
    template = re.search(r'TEMPLATE """(.*?)"""', text, re.S)
    system = re.search(r'SYSTEM """(.*?)"""', text, re.S)
    stops = [orjson.loads(s) for s in re.findall(r"^PARAMETER stop (.*)$", text, re.M)]
    source = from_path
    if from_path.endswith(".gguf"):
        digest = client.create_blob(from_path)
        client.create(
            model=name,
            files={Path(from_path).name: digest},
            template=template.group(1) if template else None,
            system=system.group(1) if system else None,
            parameters={"stop": stops, "temperature": 0},
        )
        return f"Created the Ollama model {name} on {ollama_host() or 'the local Ollama server'}."
    return f"An Ollama server answers, but {source} is a safetensors folder: run the command below."


def vllm_commands(plan: ExportPlan, merged: Path | None, work: Path) -> list[str]:
    template = work / "chat_template.jinja"
    name = plan.model_name
    lines = []
    if plan.adapter_dir is not None:
        rank = int(LocalSettings.from_spec(plan.spec).lora_r)
        rank_flag = f" --max-lora-rank {rank}" if rank > 16 else ""
        lines.append("# the base model with the adapter (vLLM applies it per request):")
        lines.append(
            f"vllm serve {plan.spec.model} --enable-lora --lora-modules {name}={plan.adapter_dir}"
            f"{rank_flag} --chat-template {plan.target / template.name}"
        )
    if merged is not None:
        lines.append("# the merged 16-bit model:")
        lines.append(
            f"vllm serve {merged} --served-model-name {name} "
            f"--chat-template {plan.target / template.name}"
        )
    lines += [
        "# then, from Python (pip install openai):",
        "from openai import OpenAI",
        'client = OpenAI(base_url="http://localhost:8000/v1", api_key="EMPTY")',
        f'reply = client.chat.completions.create(model="{name}", messages=[{{"role": "user", "content": "Hello"}}])',
        "print(reply.choices[0].message.content)",
    ]
    return lines


def run_export(
    plan: ExportPlan,
    *,
    prompts: int = DEFAULT_PROMPTS,
    new_tokens: int = DEFAULT_NEW_TOKENS,
    progress: Progress | None = None,
) -> ExportResult:
    """Write, check and publish ``plan``'s export; raises ``ExportFailed`` (nothing kept)."""
    from backends.processes import LockHeld, RunLock

    say = progress or (lambda _text: None)
    lock = RunLock(plan.folder.output_dir / ".export.lock")
    try:
        lock.acquire(wait=0.5)
    except LockHeld:
        raise ExportRefused(f"Run {plan.folder.run_id} is being exported already.") from None
    try:
        result = _export(plan, prompts, new_tokens, say)
    finally:
        lock.release()
    _record(plan.folder, result)
    return result


def _export(plan: ExportPlan, prompts: int, new_tokens: int, say: Progress) -> ExportResult:
    chats, source = eval_prompts(plan.spec, prompts)
    if plan.kind == "merged":
        merged = ensure_merged(plan, say)
        result = ExportResult("merged", merged)
        if chats:
            ref = reference_outputs(plan, chats, new_tokens, say)
            result.check = check_hf_folder(merged, ref, new_tokens, source)
            _fail_on(result.check, quantised=False, cleanup=None)
        return result
    plan.target.parent.mkdir(parents=True, exist_ok=True)
    work = _work_dir(plan.target)
    try:
        result = _write_kind(plan, work, chats, source, new_tokens, say)
        _publish(work, plan.target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result.path = plan.target
    result.commands = [c.replace(str(work), str(plan.target)) for c in result.commands]
    return result


def _fail_on(check: ExportCheck, *, quantised: bool, cleanup: Path | None) -> None:
    error = judge(check, quantised=quantised)
    if error:
        raise ExportFailed(error + "\n" + "\n".join(check.lines()), hint="Nothing was exported.")


def _write_kind(
    plan: ExportPlan,
    work: Path,
    chats: list[list[Message]],
    source: str,
    new_tokens: int,
    say: Progress,
) -> ExportResult:
    result = ExportResult(plan.kind, work)
    tokenizer = trained_tokenizer(plan)
    if plan.kind == "vllm":
        merged = ensure_merged(plan, say) if plan.adapter_dir is not None else plan.model_dir
        (work / "chat_template.jinja").write_text(str(tokenizer.chat_template or ""))
        result.commands = vllm_commands(plan, merged, work)
        (work / "commands.txt").write_text("\n".join(result.commands) + "\n")
        if chats and merged is not None:
            ref = reference_outputs(plan, chats, new_tokens, say)
            result.check = check_hf_folder(merged, ref, new_tokens, source)
            _fail_on(result.check, quantised=False, cleanup=work)
        return result
    hf_dir = ensure_merged(plan, say)
    from_path: str
    gguf: Path | None = None
    if plan.converter is not None:
        gguf = write_gguf(plan, hf_dir, work, say)
        from_path = f"./{gguf.name}"
    else:
        from_path = str(hf_dir)
        result.notes.append(
            "No GGUF converter here: the Modelfile is FROM the safetensors folder "
            f"(`{llama_cpp_tools.fetch_command()}` for a GGUF)."
        )
    if chats and gguf is not None:
        ref = reference_outputs(plan, chats, new_tokens, say)
        say("Replaying the prompts through the GGUF…")
        result.check = check_gguf(gguf, ref, new_tokens, source)
        _fail_on(result.check, quantised=plan.quant != "f16", cleanup=work)
    if plan.kind == "gguf":
        served = plan.target / gguf.name if gguf else from_path
        result.commands = [f"llama-server -m {served}   # or: llama-cli -m {served} -cnv"]
        return result
    from backends.local.ollama_template import check_parts, derive_parts

    say("Writing the Ollama Modelfile (its TEMPLATE checked against the chat template)…")
    render = chat_render(tokenizer)
    try:
        parts = derive_parts(render)
        check_parts(parts, render)
    except ValueError as error:
        raise ExportFailed(
            f"The Ollama TEMPLATE cannot reproduce this model's chat template: {error}."
        ) from None
    system = common_system_prompt(plan.spec)
    stops = stop_strings(tokenizer, parts, eos_ids(tokenizer, hf_dir))
    (work / "Modelfile").write_text(modelfile_text(from_path, parts.go_template(), stops, system))
    if system:
        result.notes.append("SYSTEM: the data's common system prompt.")
    quant_flag = (
        f" --quantize {plan.quant.replace('_k_m', '_K_M')}"
        if gguf is None and plan.quant != "f16"
        else ""
    )
    command = f"ollama create {plan.model_name} -f {plan.target / 'Modelfile'}{quant_flag}"
    created = ollama_create(plan.model_name, work, str(gguf) if gguf else from_path, plan.quant)
    if created:
        result.notes.append(created)
    if not created or not created.startswith("Created"):
        result.commands = [command, f"ollama run {plan.model_name}"]
    else:
        result.commands = [f"ollama run {plan.model_name}"]
    return result


def _record(folder: RunFolder, result: ExportResult) -> None:
    status = folder.read_status()
    path = str(result.path)
    files = (*(f for f in status.result_files if f != path), path)
    folder.update_status(result_files=files, heartbeat_at=status.heartbeat_at)
    agreement = f", {result.check.agreement:.0%} token agreement" if result.check else ""
    folder.log(f"Exported ({result.kind}) to {path}{agreement}.")
