"""Settings, data loading, ordering, the launcher's command line, templates and failure messages."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest

from backends.local.dataset import DatasetRejected, load_conversations
from backends.local.failures import explain
from backends.local.launch import worker_argv
from backends.local.sampler import longest_first_order
from backends.local.settings import LocalSettings, read_run_config
from tests.support.tiny_model import write_toy_dataset


def test_settings_round_trip_through_a_spec_and_run_json(tmp_path: Path) -> None:
    settings = LocalSettings(adapter="full", max_steps=7, target_modules=("q_proj", "v_proj"))
    spec = settings.to_spec(model="m", dataset="d.jsonl")
    assert LocalSettings.from_spec(spec) == settings
    assert spec.hyperparameters["learning_rate"] == 2e-5  # full fine-tuning's default
    run_json = tmp_path / "run.json"
    run_json.write_bytes(orjson.dumps(spec.to_dict()))
    config = read_run_config(run_json)
    assert (config.model, config.data) == ("m", "d.jsonl")
    assert LocalSettings.from_mapping(config.settings) == settings


def test_an_older_run_json_whose_local_method_is_the_adapter(tmp_path: Path) -> None:
    from backends.runs.values import RunSpec

    older = {
        "backend": "local",
        "model": "m",
        "dataset": "d.jsonl",
        "method": "supervised",
        "settings": {"local": {"method": "qlora", "lora_r": 8}},
    }
    spec = RunSpec.from_dict(older)
    assert (spec.method, spec.adapter) == ("supervised", "qlora")
    assert LocalSettings.from_spec(spec) == LocalSettings(adapter="qlora", lora_r=8)
    run_json = tmp_path / "run.json"
    run_json.write_bytes(orjson.dumps(older))
    assert LocalSettings.from_mapping(read_run_config(run_json).settings).adapter == "qlora"
    new = LocalSettings(adapter="full").to_spec(model="m", dataset="d.jsonl").to_dict()
    assert new["adapter"] == "full" and new["settings"]["local"]["adapter"] == "full"
    assert "method" not in new["settings"]["local"]


def test_toml_config_and_bad_values(tmp_path: Path) -> None:
    toml = tmp_path / "run.toml"
    toml.write_text(
        'model = "x"\ndata = "t.jsonl"\n[local]\nlora_r = 8\ntarget_modules = "q_proj,k_proj"\n'
    )
    config = read_run_config(toml)
    settings = LocalSettings.from_mapping(config.settings)
    assert settings.lora_r == 8 and settings.target_modules == ("q_proj", "k_proj")
    wrong = LocalSettings(adapter="dora", batch_size=0, lora_dropout=1.5)
    assert {p.where for p in wrong.problems()} >= {"adapter", "batch_size", "lora_dropout"}


def test_data_in_other_formats_becomes_chat(tmp_path: Path) -> None:
    lines = [
        {"prompt": "what colour is the sky ?", "completion": "blue ."},
        {"instruction": "say hello", "input": "", "output": "hello ."},
        {
            "messages": [
                {"role": "user", "content": "hi"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [
                        {
                            "id": "c1",
                            "type": "function",
                            "function": {"name": "f", "arguments": '{"a": 1}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "2"},
                {"role": "assistant", "content": "two", "weight": 1},
                {"role": "user", "content": "and ?"},
                {"role": "assistant", "content": "three", "weight": 0},
            ],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
        },
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(line) for line in lines))
    loaded = load_conversations(path)
    assert len(loaded.records) == 3 and loaded.with_tools == 1
    tool_record = loaded.records[2]
    assert tool_record["messages"][1]["tool_calls"][0]["function"]["arguments"] == {"a": 1}
    assert all("weight" not in m for m in tool_record["messages"])


def test_bad_rows_are_named_by_line(tmp_path: Path) -> None:
    path = write_toy_dataset(
        tmp_path / "bad.jsonl",
        count=10,
        bad_lines={
            3: b'{"messages": [{"role": "user"',
            7: b'{"messages": [{"role": "wizard", "content": "x"}]}',
        },
    )
    with pytest.raises(DatasetRejected) as caught:
        load_conversations(path)
    text = str(caught.value)
    assert "2 bad rows" in text and "line 3" in text and "line 7" in text
    assert "finetune-tui inspect" in text


def test_longest_batch_comes_first_then_a_seeded_shuffle() -> None:
    lengths = [5, 50, 7, 40, 3, 45, 9, 1]
    order = longest_first_order(lengths, first_block=3, seed=1)
    assert order[:3] == [1, 5, 3]
    assert sorted(order) == list(range(8))
    assert order == longest_first_order(lengths, 3, seed=1)  # same in every process
    later = longest_first_order(lengths, 3, seed=1, epoch=1)
    assert (sorted(later) == list(range(8)) and later[:3] != [1, 5, 3]) or later != order


def test_one_device_runs_the_module_and_several_go_through_accelerate(tmp_path: Path) -> None:
    run = tmp_path / "run"
    single = worker_argv(run, LocalSettings())
    assert single == [sys.executable, "-m", "backends.local.worker", str(run.resolve())]
    multi = worker_argv(run, LocalSettings(gpus=4), port=29555)
    assert multi[:3] == [sys.executable, "-m", "accelerate.commands.launch"]
    assert "--multi_gpu" in multi
    assert multi[multi.index("--num_processes") + 1] == "4"
    assert multi[multi.index("--main_process_port") + 1] == "29555"
    assert multi[-3:] == ["--module", "backends.local.worker", str(run.resolve())]
    deepspeed = tmp_path / "ds.json"
    deepspeed.write_text("{}")
    with_ds = worker_argv(run, LocalSettings(gpus=2, accelerate_config=str(deepspeed)))
    assert with_ds[3:6] == ["--use_deepspeed", "--deepspeed_config_file", str(deepspeed.resolve())]
    fsdp = tmp_path / "fsdp.yaml"
    fsdp.write_text("distributed_type: FSDP\n")
    with_yaml = worker_argv(run, LocalSettings(gpus=2, accelerate_config=str(fsdp)))
    assert with_yaml[3:5] == ["--config_file", str(fsdp.resolve())]
    assert "--multi_gpu" not in with_yaml


def test_failures_get_advice_that_fits() -> None:
    settings = LocalSettings(batch_size=8, grad_accum=2)
    oom = explain(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"), settings)
    assert oom.kind == "oom"
    assert "batch size 4 with grad accumulation 4" in oom.message and "QLoRA adapter" in oom.message
    assert "max length" in oom.message
    no_cuda = explain(RuntimeError("No CUDA GPUs are available"), LocalSettings(adapter="qlora"))
    assert no_cuda.kind == "cuda" and "LoRA adapter" in no_cuda.message
    crash = explain(ValueError("weird"), settings)
    assert crash.kind == "crash" and "weird" in crash.message


def test_oom_from_torch_is_recognised() -> None:
    torch = pytest.importorskip("torch")
    failure = explain(torch.OutOfMemoryError("CUDA out of memory."), LocalSettings())
    assert failure.kind == "oom" and "GPU" in failure.message


SMOLLM2_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}"
    "{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def test_a_chatml_template_without_markers_gets_a_checked_training_twin(tiny_model: Path) -> None:
    from transformers import AutoTokenizer

    from backends.data.chat_template import training_template

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    tokenizer.chat_template = SMOLLM2_TEMPLATE
    samples = [
        {
            "messages": [
                {"role": "user", "content": "hello"},
                {"role": "assistant", "content": "red ."},
            ]
        },
        {
            "messages": [
                {"role": "system", "content": "you are helpful ."},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "blue ."},
            ]
        },
    ]
    choice = training_template(tokenizer, samples)
    assert choice.assistant_only and choice.template is not None
    for sample in samples:
        assert tokenizer.apply_chat_template(sample["messages"], tokenize=False) == (
            tokenizer.apply_chat_template(
                sample["messages"], tokenize=False, chat_template=choice.template
            )
        )
    masked = tokenizer.apply_chat_template(
        samples[0]["messages"],
        chat_template=choice.template,
        return_dict=True,
        return_assistant_tokens_mask=True,
    )
    assert 1 in masked["assistant_masks"] and 0 in masked["assistant_masks"]


def test_a_non_finite_loss_or_gradient_is_a_divergence() -> None:
    from backends.local.callback import health_problem

    assert health_problem({"loss": 1.5, "grad_norm": 0.3}) is None
    assert "training loss became nan" in (health_problem({"loss": float("nan")}) or "")
    assert "gradient norm became inf" in (
        health_problem({"loss": 2.0, "grad_norm": float("inf")}) or ""
    )


def test_non_finite_tensors_names_the_bad_ones(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    from backends.local.training import non_finite_tensors

    save_file(
        {"a": torch.ones(3), "b": torch.tensor([1.0, float("nan")])}, tmp_path / "x.safetensors"
    )
    assert non_finite_tensors(tmp_path) == ["x.safetensors:b"]
    save_file({"a": torch.ones(3)}, tmp_path / "x.safetensors")
    assert non_finite_tensors(tmp_path) == []


def test_warnings_reach_the_log_once_each_without_library_noise(tmp_path: Path) -> None:
    """No raw "FutureWarning … warnings.warn(" in log.txt; what matters, once (#11 item 18)."""
    import warnings

    from backends.local.worker import WarningLog
    from backends.runs import RunStore
    from backends.runs.values import RunSpec

    folder = RunStore(tmp_path / "runs").create(RunSpec(backend="local", model="m", dataset="d"))
    capture = WarningLog(folder.log)
    previous = capture.install()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.showwarning = capture.show
            for _ in range(3):
                warnings.warn("`evaluation_strategy` is deprecated", FutureWarning, stacklevel=1)
                warnings.warn("old API", DeprecationWarning, stacklevel=1)
                warnings.warn(
                    "The tokenizer has no pad token;\n  using eos.", UserWarning, stacklevel=1
                )
    finally:
        warnings.showwarning = previous
    log = folder.log_txt.read_text()
    assert "FutureWarning" not in log and "warnings.warn(" not in log and "deprecated" not in log
    assert log.count("Warning: The tokenizer has no pad token; using eos.") == 1


def test_a_local_model_folder_is_kept_as_its_absolute_path(tmp_path, monkeypatch) -> None:
    """The worker runs in another folder: a relative model folder must not read as a hub id there."""
    from backends.local.settings import LocalSettings

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny").mkdir()
    spec = LocalSettings().to_spec(model="tiny", dataset="/data/train.jsonl")
    assert spec.model == str(tmp_path / "tiny")
    hub = LocalSettings().to_spec(model="HuggingFaceTB/SmolLM2-135M", dataset="/data/train.jsonl")
    assert hub.model == "HuggingFaceTB/SmolLM2-135M"
