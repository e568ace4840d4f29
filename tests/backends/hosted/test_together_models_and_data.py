"""Together: its fine-tunable model list (the official SDK against the emulator, kept in the
cache) and data it does not take converted into a new file before the checks."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import orjson
import pytest

from backends import model_lists
from backends.catalog import PRICES_AS_OF, Provider
from backends.hosted.spec import hosted_spec
from backends.hosted.together import TogetherBackend, TogetherSettings
from backends.preflight import CONVERSION, preflight
from backends.runs import RunStore
from tests.fakes.together_api import SupportedModelSpec, TogetherAPI

MODEL = "meta-llama/Meta-Llama-3.1-8B-Instruct-Reference"
DAY = date(2026, 12, 1)


@pytest.fixture
def backend(together_api: TogetherAPI) -> TogetherBackend:
    settings = TogetherSettings(base_url=together_api.base_url, timeout_s=5.0)
    return TogetherBackend(settings, secret=together_api.api_key, start_followers=False)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def sharegpt(n: int) -> list[dict]:
    return [
        {
            "conversations": [
                {"from": "human", "value": f"What is {i} plus {i}?"},
                {"from": "gpt", "value": f"It is {2 * i}."},
            ]
        }
        for i in range(n)
    ]


# --- the model list ----------------------------------------------------------------------


def test_the_api_list_is_merged_kept_and_dated(
    backend: TogetherBackend, together_api: TogetherAPI
) -> None:
    offered = model_lists.refresh(backend, today=DAY)
    assert offered.source == "from Together AI's API, fetched 2026-12-01"
    # the API adds what the table lacks; hidden and non-fine-tuning models are left out
    assert "Qwen/Qwen3-8B" in offered.names and "old/Retired-Model" not in offered.names
    assert "black-forest-labs/FLUX.1-dev" not in offered.names
    # it updates the context limit and adaptations; the dated price stays the table's
    llama = offered.find(MODEL)
    assert llama is not None and llama.context_tokens == 16_384
    assert llama.training_price("supervised", "lora") == 0.48
    qwen = offered.find("Qwen/Qwen2.5-7B-Instruct")
    assert qwen is not None and qwen.adapters == ("lora",)
    new = offered.find("Qwen/Qwen3-8B")
    assert new is not None and new.training_price() is None and new.context_tokens == 16_384
    no_dpo = offered.find("deepseek-ai/DeepSeek-R1-Distill-Llama-70B")
    assert no_dpo is not None and no_dpo.methods == ("supervised",)
    # every page of the cursor-paginated list was read
    pages = [p for m, p in together_api.requests if p == "/v2/supported-models"]
    assert len(pages) >= 3

    kept = model_lists.cached_for(backend)
    assert kept == offered  # read back from the cache folder, no network
    cache = orjson.loads(
        next(Path(model_lists.locations.cache_root()).rglob("together.json")).read_bytes()
    )
    assert cache["fetched"] == "2026-12-01" and cache["address"] == together_api.base_url


def test_the_kept_list_is_reused_while_fresh(
    backend: TogetherBackend, together_api: TogetherAPI
) -> None:
    model_lists.refresh(backend, today=DAY)
    asked = len(together_api.requests)
    again = model_lists.current(backend, today=DAY)
    assert len(together_api.requests) == asked and again.fetched == DAY
    later = model_lists.current(backend, today=date(2026, 12, 3))
    assert len(together_api.requests) > asked and later.fetched == date(2026, 12, 3)


def test_unreachable_api_or_no_key_gives_the_catalog_silently(
    together_api: TogetherAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreachable = TogetherBackend(
        TogetherSettings(base_url="http://127.0.0.1:9", timeout_s=2.0), secret="tg-some-key"
    )
    offered = model_lists.refresh(unreachable, today=DAY)
    assert offered.fetched is None and offered.source == f"catalog of {PRICES_AS_OF}"
    assert MODEL in offered.names and "Qwen/Qwen3-8B" not in offered.names
    no_key = TogetherBackend(TogetherSettings(base_url=together_api.base_url))
    assert model_lists.refresh(no_key, today=DAY).fetched is None
    keyed = TogetherBackend(TogetherSettings(base_url=together_api.base_url), secret="wrong")
    assert model_lists.refresh(keyed, today=DAY).fetched is None
    # a list kept from another address does not count for this one
    good = TogetherBackend(
        TogetherSettings(base_url=together_api.base_url), secret=together_api.api_key
    )
    model_lists.refresh(good, today=DAY)
    assert model_lists.cached_for(unreachable).fetched is None
    assert model_lists.cached_for(good).fetched == DAY


def test_a_model_only_the_api_lists_is_tunable_with_price_unknown(
    backend: TogetherBackend, tmp_path: Path
) -> None:
    model_lists.refresh(backend, today=DAY)
    verdict = backend.model_list().tunability("Qwen/Qwen3-8B", today=DAY)
    assert verdict.tunable and verdict.entry is not None
    assert "price unknown" in verdict.notes[0]
    data = write_jsonl(
        tmp_path / "chat.jsonl",
        [
            {
                "messages": [
                    {"role": "user", "content": f"q{i}"},
                    {"role": "assistant", "content": "a"},
                ]
            }
            for i in range(12)
        ],
    )
    # full training on a model the API says trains with LoRA only is refused before any upload
    spec = hosted_spec("together", model="Qwen/Qwen2.5-7B-Instruct", data=str(data), adapter="full")
    problems = backend.prepare(spec)
    assert any(p.where == "adapter" and p.fatal for p in problems)


def test_the_inspection_uses_the_listed_context_limit(backend: TogetherBackend) -> None:
    from backends.data.inspect_target import InspectOptions, resolve_target

    options = InspectOptions(model="Qwen/Qwen3-8B", provider=Provider.TOGETHER)
    assert resolve_target(options).context_limit is None  # not in the table, nothing kept
    model_lists.refresh(backend, today=DAY)
    assert resolve_target(options).context_limit == 16_384


def test_the_price_estimate_is_logged_before_the_job(
    backend: TogetherBackend, together_api: TogetherAPI, tmp_path: Path
) -> None:
    together_api.supported = [SupportedModelSpec(MODEL, 131_072, 8192)]
    data = write_jsonl(
        tmp_path / "chat.jsonl",
        [
            {
                "messages": [
                    {"role": "user", "content": f"q{i}"},
                    {"role": "assistant", "content": "a"},
                ]
            }
            for i in range(12)
        ],
    )
    spec = hosted_spec("together", model=MODEL, data=str(data), hyperparameters={"n_epochs": 2})
    folder = backend.launch(spec, RunStore(tmp_path / "runs"))
    asked = together_api.estimates[0]  # ours, before the job (the SDK's create asks too)
    assert asked["n_epochs"] == 2 and asked["training_method"]["method"] == "sft"
    assert "Together AI estimates $1.25 for 1,000 training tokens." in folder.log_txt.read_text()


# --- data conversion -------------------------------------------------------------------------


def test_sharegpt_is_converted_into_a_new_file_and_checked(
    backend: TogetherBackend, together_api: TogetherAPI, tmp_path: Path
) -> None:
    rows = [*sharegpt(12), {"conversations": [{"from": "alien", "value": "zz"}]}]
    source = write_jsonl(tmp_path / "talks.jsonl", rows)
    before = source.read_bytes()
    spec = hosted_spec("together", model=MODEL, data=str(source))
    checked = preflight(backend, spec)
    assert checked.spec is not None and not checked.blocked
    converted = Path(checked.spec.dataset)
    assert converted == tmp_path / "talks.together.jsonl" and source.read_bytes() == before
    first = orjson.loads(converted.read_bytes().splitlines()[0])
    assert first["messages"][0] == {"role": "user", "content": "What is 0 plus 0?"}
    said = [p.message for p in checked.problems if p.where == CONVERSION]
    assert "12 examples" in said[0] and "12 ShareGPT conversations" in said[0]
    assert str(converted) in said[0] and "line 13:" in "\n".join(said)
    # the launch takes the converted file, logs the conversion, uploads it
    folder = backend.launch(checked.spec, RunStore(tmp_path / "runs"))
    log = folder.log_txt.read_text()
    assert "talks.jsonl was converted for Together AI: 12 examples" in log
    assert "1 lines skipped" in log or "1 line" in log
    uploaded = next(iter(together_api.contents.values()))
    assert uploaded == converted.read_bytes()


def test_a_second_check_reuses_the_conversion_and_never_overwrites(
    backend: TogetherBackend, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "talks.jsonl", sharegpt(12))
    spec = hosted_spec("together", model=MODEL, data=str(source))
    first = preflight(backend, spec)
    again = preflight(backend, spec)
    assert first.spec is not None and again.spec is not None
    assert again.spec.dataset == first.spec.dataset
    assert sorted(p.name for p in tmp_path.glob("talks*")) == [
        "talks.jsonl",
        "talks.together.jsonl",
    ]
    # a different file already at the target name is kept: the conversion takes the next name
    source.write_text("".join(json.dumps(r) + "\n" for r in sharegpt(14)), encoding="utf-8")
    taken = (tmp_path / "talks.together.jsonl").read_bytes()
    third = preflight(backend, hosted_spec("together", model=MODEL, data=str(source)))
    assert third.spec is not None
    assert Path(third.spec.dataset).name == "talks.together-2.jsonl"
    assert (tmp_path / "talks.together.jsonl").read_bytes() == taken


def test_hugging_face_pairs_become_together_preference_pairs(
    backend: TogetherBackend, tmp_path: Path
) -> None:
    plain = [{"prompt": f"Say {i}", "chosen": f"{i}", "rejected": f"no {i}"} for i in range(10)]
    chat = [
        {
            "prompt": [{"role": "user", "content": f"Greet {i}"}],
            "chosen": [{"role": "assistant", "content": f"Hello {i}"}],
            "rejected": [{"role": "assistant", "content": f"Go away {i}"}],
        }
        for i in range(10)
    ]
    source = write_jsonl(tmp_path / "pairs.jsonl", plain + chat)
    spec = hosted_spec("together", model=MODEL, data=str(source), method="dpo")
    checked = preflight(backend, spec)
    assert checked.spec is not None and not checked.blocked, checked.problems
    assert Path(checked.spec.dataset).name == "pairs.together-dpo.jsonl"
    lines = [orjson.loads(line) for line in Path(checked.spec.dataset).read_bytes().splitlines()]
    assert lines[0] == {
        "input": {"messages": [{"role": "user", "content": "Say 0"}]},
        "preferred_output": [{"role": "assistant", "content": "0"}],
        "non_preferred_output": [{"role": "assistant", "content": "no 0"}],
    }
    assert lines[10]["preferred_output"] == [{"role": "assistant", "content": "Hello 0"}]
    assert len(lines) == 20


def test_files_together_takes_are_not_converted(backend: TogetherBackend, tmp_path: Path) -> None:
    rows = [{"prompt": f"q{i}", "completion": f"a{i}"} for i in range(12)]
    source = write_jsonl(tmp_path / "pc.jsonl", rows)
    checked = preflight(backend, hosted_spec("together", model=MODEL, data=str(source)))
    assert checked.spec is not None and checked.spec.dataset == str(source)
    assert not [p for p in checked.problems if p.where == CONVERSION]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pc.jsonl"]


def test_a_file_with_nothing_convertible_is_left_to_the_inspection(
    backend: TogetherBackend, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "odd.jsonl", [{"question": "q", "answer": "a"}] * 12)
    checked = preflight(backend, hosted_spec("together", model=MODEL, data=str(source)))
    assert checked.blocked
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd.jsonl"]
    assert any("odd.jsonl" in p.message for p in checked.problems)
