"""A tiny Llama and a real fast tokenizer with a ChatML template, built in-process (no download).

The template marks assistant replies with ``{% generation %}`` so trl's
assistant-only loss works. ``write_toy_dataset`` writes a learnable chat file:
each question always gets the same answer.
"""

from __future__ import annotations

from pathlib import Path

import orjson

SPECIALS = ["<pad>", "<unk>", "<|im_start|>", "<|im_end|>"]
COLOURS = ["red", "green", "blue", "yellow", "black", "white", "purple", "orange"]
THINGS = ["sky", "grass", "sea", "sun", "night", "snow", "plum", "carrot"]
WORDS = [
    "system",
    "user",
    "assistant",
    "tool",
    "you",
    "are",
    "helpful",
    "what",
    "colour",
    "is",
    "the",
    "it",
    "?",
    ".",
    "always",
    "say",
    "hello",
    "answer",
    *COLOURS,
    *THINGS,
]
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{{ '<|im_start|>assistant\n' }}{% generation %}{{ message['content'] + '<|im_end|>' }}"
    "{% endgeneration %}{{ '\n' }}"
    "{%- else -%}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<|im_start|>assistant\n' }}{%- endif -%}"
)


def build_tiny_model(folder: Path, *, hidden: int = 64, layers: int = 2) -> Path:
    """Save a random tiny Llama and its tokenizer to ``folder`` (a local model folder)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate([*SPECIALS, *WORDS])}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        pad_token_id=vocab["<pad>"],
        bos_token_id=vocab["<|im_start|>"],
        eos_token_id=vocab["<|im_end|>"],
    )
    model = LlamaForCausalLM(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def toy_example(index: int) -> dict[str, object]:
    thing = THINGS[index % len(THINGS)]
    colour = COLOURS[index % len(COLOURS)]
    question = f"what colour is the {thing} ?"
    return {
        "messages": [
            {"role": "system", "content": "you are helpful ."},
            {"role": "user", "content": question},
            {"role": "assistant", "content": f"the {thing} is {colour} ."},
        ]
    }


def write_toy_dataset(
    path: Path, count: int = 64, *, bad_lines: dict[int, bytes] | None = None
) -> Path:
    """``count`` learnable chat examples; ``bad_lines`` replaces lines (1-based) with raw bytes."""
    lines = [orjson.dumps(toy_example(i)) for i in range(count)]
    for number, raw in (bad_lines or {}).items():
        lines[number - 1] = raw
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def tiny_lora_spec(model: Path, data: Path, **changes: object) -> object:
    """A LoRA spec on the tiny model that learns the toy data in a few steps."""
    from backends.local.settings import LocalSettings

    base = {"batch_size": 4, "lora_r": 4, "lora_alpha": 8, "learning_rate": 1e-2}
    settings = LocalSettings(**{"save_steps": 1000, "max_steps": 8, **base, **changes})  # type: ignore[arg-type]
    return settings.to_spec(model=str(model), dataset=str(data))


def toy_preference(index: int, layout: str = "openai") -> dict[str, object]:
    """A learnable pair: the answer is preferred to a reply that dodges the question."""
    thing = THINGS[index % len(THINGS)]
    right = COLOURS[index % len(COLOURS)]
    question = f"what colour is the {thing} ?"
    chosen, rejected = f"the {thing} is {right} .", "always say hello ."
    if layout == "plain":
        return {"prompt": question + " ", "chosen": chosen, "rejected": rejected}
    prompt = [{"role": "user", "content": question}]
    if layout == "hf":
        return {
            "prompt": prompt,
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}],
        }
    return {
        "input": {"messages": prompt},
        "preferred_output": [{"role": "assistant", "content": chosen}],
        "non_preferred_output": [{"role": "assistant", "content": rejected}],
    }


def write_toy_preferences(path: Path, count: int = 32, *, layout: str = "openai") -> Path:
    """``count`` learnable preference pairs in OpenAI's DPO layout, or ``hf``/``plain``."""
    lines = [orjson.dumps(toy_preference(i, layout)) for i in range(count)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def tiny_dpo_spec(model: Path, data: Path, **changes: object) -> object:
    """A DPO LoRA spec on the tiny model whose reward margins rise within a few steps."""
    from backends.local.settings import LocalSettings

    base = {"batch_size": 4, "lora_r": 4, "lora_alpha": 8, "learning_rate": 5e-3, "beta": 0.5}
    values = {"save_steps": 1000, "max_steps": 12, "objective": "dpo", **base, **changes}
    settings = LocalSettings(**values)  # type: ignore[arg-type]
    return settings.to_spec(model=str(model), dataset=str(data))


def build_tiny_gguf_model(folder: Path, *, hidden: int = 64, layers: int = 2) -> Path:
    """A tiny Llama whose tokenizer llama.cpp's converter knows: Llama-2 style BPE with bytes.

    The same words, specials and ChatML template as ``build_tiny_model``; the
    vocabulary is ``▁``-prefixed pieces (every prefix of each word, so
    llama.cpp's SentencePiece-style merging and transformers' BPE agree), single
    letters and the 256 byte tokens. ``tokenizer_config.json`` says
    ``add_bos_token: false`` as the trained model never saw a BOS.
    """
    import json

    import torch
    from tokenizers import Tokenizer, decoders, models, normalizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab: dict[str, int] = {token: i for i, token in enumerate(SPECIALS)}
    for byte in range(256):
        vocab[f"<0x{byte:02X}>"] = len(vocab)
    vocab["▁"] = len(vocab)
    for char in sorted({c for word in WORDS for c in word} | set("abcdefghijklmnopqrstuvwxyz")):
        vocab.setdefault(char, len(vocab))
    merges: list[tuple[str, str]] = []
    for word in WORDS:
        piece = "▁"
        for char in word:
            if piece + char not in vocab:
                vocab[piece + char] = len(vocab)
                merges.append((piece, char))
            piece += char
    core = Tokenizer(
        models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True, fuse_unk=True)
    )
    core.normalizer = normalizers.Sequence(
        [normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")]
    )
    core.decoder = decoders.Sequence(
        [
            decoders.Replace("▁", " "),
            decoders.ByteFallback(),
            decoders.Fuse(),
            decoders.Strip(" ", 1, 0),
        ]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
    )
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    tokenizer.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=True,
        pad_token_id=vocab["<pad>"],
        bos_token_id=vocab["<|im_start|>"],
        eos_token_id=vocab["<|im_end|>"],
    )
    folder.mkdir(parents=True, exist_ok=True)
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    config_file = folder / "tokenizer_config.json"
    settings = json.loads(config_file.read_text())
    settings["add_bos_token"] = False
    config_file.write_text(json.dumps(settings, indent=2))
    return folder
