"""The OpenAI Cookbook's chat data-prep procedure, as the baseline to beat.

A faithful re-implementation of ``examples/Chat_finetuning_data_prep.ipynb``
(openai/openai-cookbook): load the whole file with ``json.loads`` per line,
run its format checks, count tokens per example with ``tiktoken``'s
``encode`` (3 tokens per message, 1 per name, 3 to prime the reply), print
distributions with numpy, and estimate epochs and billed tokens. Only the
printing is folded into a returned dict so the benchmark can compare totals.

    python bench/cookbook_baseline.py DATA.jsonl
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

import numpy as np
import tiktoken

MAX_TOKENS_PER_EXAMPLE = 16385
TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


def run_cookbook(data_path: str, encoding: tiktoken.Encoding) -> dict[str, object]:
    with open(data_path, encoding="utf-8") as f:
        dataset = [json.loads(line) for line in f]

    # Format error checks
    format_errors: dict[str, int] = defaultdict(int)
    for ex in dataset:
        if not isinstance(ex, dict):
            format_errors["data_type"] += 1
            continue
        messages = ex.get("messages", None)
        if not messages:
            format_errors["missing_messages_list"] += 1
            continue
        for message in messages:
            if "role" not in message or "content" not in message:
                format_errors["message_missing_key"] += 1
            if any(
                k not in ("role", "content", "name", "function_call", "weight") for k in message
            ):
                format_errors["message_unrecognized_key"] += 1
            if message.get("role", None) not in ("system", "user", "assistant", "function"):
                format_errors["unrecognized_role"] += 1
            content = message.get("content", None)
            function_call = message.get("function_call", None)
            if (not content and not function_call) or not isinstance(content, str):
                format_errors["missing_content"] += 1
        if not any(message.get("role", None) == "assistant" for message in messages):
            format_errors["example_missing_assistant_message"] += 1

    def num_tokens_from_messages(messages, tokens_per_message=3, tokens_per_name=1):
        num_tokens = 0
        for message in messages:
            num_tokens += tokens_per_message
            for key, value in message.items():
                num_tokens += len(encoding.encode(value))
                if key == "name":
                    num_tokens += tokens_per_name
        num_tokens += 3
        return num_tokens

    def num_assistant_tokens_from_messages(messages):
        num_tokens = 0
        for message in messages:
            if message["role"] == "assistant":
                num_tokens += len(encoding.encode(message["content"]))
        return num_tokens

    def distribution(values):
        return {
            "min": min(values),
            "max": max(values),
            "mean": float(np.mean(values)),
            "median": float(np.median(values)),
            "p5": float(np.quantile(values, 0.05)),
            "p95": float(np.quantile(values, 0.95)),
        }

    n_missing_system = 0
    n_missing_user = 0
    n_messages = []
    convo_lens = []
    assistant_message_lens = []
    for ex in dataset:
        messages = ex["messages"]
        if not any(message["role"] == "system" for message in messages):
            n_missing_system += 1
        if not any(message["role"] == "user" for message in messages):
            n_missing_user += 1
        n_messages.append(len(messages))
        convo_lens.append(num_tokens_from_messages(messages))
        assistant_message_lens.append(num_assistant_tokens_from_messages(messages))
    n_too_long = sum(length > MAX_TOKENS_PER_EXAMPLE for length in convo_lens)

    n_epochs = TARGET_EPOCHS
    n_train_examples = len(dataset)
    if n_train_examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        n_epochs = min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // n_train_examples)
    elif n_train_examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        n_epochs = max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // n_train_examples)
    n_billing_tokens_in_dataset = sum(min(MAX_TOKENS_PER_EXAMPLE, length) for length in convo_lens)

    return {
        "examples": len(dataset),
        "format_errors": dict(format_errors),
        "missing_system": n_missing_system,
        "missing_user": n_missing_user,
        "messages": distribution(n_messages),
        "tokens": distribution(convo_lens),
        "assistant_tokens": distribution(assistant_message_lens),
        "total_tokens": sum(convo_lens),
        "assistant_total": sum(assistant_message_lens),
        "too_long": n_too_long,
        "epochs": n_epochs,
        "billing_tokens": n_billing_tokens_in_dataset,
        "charged_tokens": n_epochs * n_billing_tokens_in_dataset,
    }


if __name__ == "__main__":
    print(json.dumps(run_cookbook(sys.argv[1], tiktoken.get_encoding("cl100k_base")), indent=2))
