"""The held-out evaluation set, and the prompts each method sends.

Where the evaluation set comes from, and why it is never trained on:

- **A validation file** (``load_eval_set(eval_path, train_path)``): examples
  the trainer only ever scores, never learns from.
- **A seeded split of the training file** (``split_eval_set(train_path,
  fraction, seed)``): a fixed share of the lines, chosen by ``seed``, becomes
  the evaluation set and the rest the pool; ``write_split`` writes the rest
  as the file to train on, so the held-out lines are not in it.

In both cases the guarantee is checked by content, not trusted: every
example has a ``fingerprint`` (its prompt turns and reference, normalised
whitespace). The few-shot/RAG pool never holds an example whose fingerprint is
in the evaluation set (a model is never shown the answer it is asked for), and
``drop_trained`` removes from the evaluation set every example found in the
file a tuned model was trained on (its run's ``dataset``), saying how many.

Prompts: an example's *prompt* is every turn before its final assistant turn
(its own system prompt included); its *reference* is that final assistant
turn. Zero-shot and the tuned model get the prompt as it is. Few-shot puts
``k`` pool examples (the same ones for every prompt, chosen by seed) before it
as earlier user/assistant turns. RAG retrieves the ``k`` pool examples most
similar to the prompt's user turns (BM25) and puts them in the system message.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from backends.backend import BackendError
from backends.data.formats import ConversionError, to_chat
from backends.data.preferences import is_preference, preferred_chat
from backends.data.reader import iter_lines

Message = dict[str, str]

DEFAULT_SHOTS = 3
DEFAULT_SPLIT_FRACTION = 0.1
RAG_HEADER = "Examples of similar requests and the answers expected:"


class EvalDataError(BackendError):
    """An evaluation or training file that cannot be used (the message says which and why)."""


@dataclass(frozen=True)
class Example:
    """One chat example split into what is asked and what is expected."""

    line: int
    """1-based line in its file."""
    prompt: tuple[Message, ...]
    """Every turn before the final assistant turn (system prompt included)."""
    reference: str
    """The final assistant turn."""

    @property
    def system(self) -> str:
        return "\n\n".join(m["content"] for m in self.prompt if m["role"] == "system")

    @property
    def turns(self) -> tuple[Message, ...]:
        """The prompt without its system messages."""
        return tuple(m for m in self.prompt if m["role"] != "system")

    @property
    def user_text(self) -> str:
        return "\n".join(m["content"] for m in self.prompt if m["role"] == "user")

    @property
    def fingerprint(self) -> str:
        parts = [f"{m['role']}:{' '.join(m['content'].split())}" for m in self.prompt]
        parts.append(f"assistant:{' '.join(self.reference.split())}")
        return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()


@dataclass
class LoadedExamples:
    path: str
    examples: list[Example]
    skipped: list[str] = field(default_factory=list)
    """Why lines were left out (``line N: reason``)."""


def _content_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: keep the text ones
        texts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        strings = [t for t in texts if isinstance(t, str)]
        if texts and len(strings) == len(texts):
            return "\n".join(strings)
    return None


def example_from_chat(chat: dict[str, Any], line: int) -> Example:
    """An ``Example`` from a chat example; raises ``ConversionError`` saying what is wrong."""
    messages = chat.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ConversionError('"messages" must be a non-empty list')
    clean: list[Message] = []
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ConversionError(f"messages[{index}] must be an object")
        role = message.get("role")
        text = _content_text(message.get("content"))
        if role not in ("system", "developer", "user", "assistant"):
            raise ConversionError(f"messages[{index}] has role {role!r}, which is not evaluated")
        if text is None:
            raise ConversionError(f"messages[{index}] has no text content")
        clean.append({"role": "system" if role == "developer" else str(role), "content": text})
    if clean[-1]["role"] != "assistant":
        raise ConversionError("the last message is not an assistant turn (nothing to compare to)")
    prompt = tuple(clean[:-1])
    if not any(m["role"] == "user" for m in prompt):
        raise ConversionError("no user turn before the final assistant turn")
    return Example(line, prompt, clean[-1]["content"])


def load_examples(path: str | Path, *, limit: int | None = None) -> LoadedExamples:
    """Read a JSONL file (chat, prompt/completion, Alpaca or ShareGPT lines) as examples.

    A preference pair (a DPO run's data) is its prompt with the preferred answer as reference.
    """
    source = Path(path).expanduser()
    if not source.is_file():
        raise EvalDataError(f"{path}: no such file.", hint="Give a JSONL file of chat examples.")
    loaded = LoadedExamples(str(path), [])
    try:
        for parsed in iter_lines(source):
            if limit is not None and len(loaded.examples) >= limit:
                break
            if parsed.finding is not None:
                if parsed.finding.code == "blank_line":
                    continue
                loaded.skipped.append(f"line {parsed.line}: {parsed.finding.message}")
                continue
            if not isinstance(parsed.value, dict):
                loaded.skipped.append(f"line {parsed.line}: not a JSON object")
                continue
            try:
                value = parsed.value
                chat = preferred_chat(value) if is_preference(value) else to_chat(value)
                loaded.examples.append(example_from_chat(chat, parsed.line))
            except ConversionError as error:
                loaded.skipped.append(f"line {parsed.line}: {error}")
    except OSError as error:
        raise EvalDataError(f"Cannot read {path}: {error.strerror or error}.") from error
    return loaded


@dataclass
class EvalSet:
    """What is evaluated, and the pool few-shot and RAG draw their examples from."""

    examples: list[Example]
    pool: list[Example]
    held_out: str
    """How the evaluation set was held out, in words."""
    notes: list[str] = field(default_factory=list)


def _without(pool: Iterable[Example], fingerprints: set[str]) -> list[Example]:
    return [example for example in pool if example.fingerprint not in fingerprints]


def _pool_note(before: int, after: int) -> list[str]:
    dropped = before - after
    if not dropped:
        return []
    return [f"{dropped} training example(s) identical to evaluation examples left out of the pool."]


def load_eval_set(
    eval_path: str | Path, train_path: str | Path | None = None, *, limit: int | None = None
) -> EvalSet:
    """The evaluation file as the evaluation set; the training file (if any) as the pool."""
    evaluated = load_examples(eval_path, limit=limit)
    if not evaluated.examples:
        reasons = "; ".join(evaluated.skipped[:3])
        raise EvalDataError(
            f"{eval_path} has no usable example" + (f" ({reasons})." if reasons else "."),
            hint="Each line must be a chat example ending with the assistant's reference answer.",
        )
    notes = [f"{eval_path}: {s}" for s in evaluated.skipped[:5]]
    if len(evaluated.skipped) > 5:
        notes.append(f"{eval_path}: {len(evaluated.skipped) - 5} more line(s) skipped.")
    pool: list[Example] = []
    if train_path is not None:
        training = load_examples(train_path)
        seen = {e.fingerprint for e in evaluated.examples}
        pool = _without(training.examples, seen)
        notes += _pool_note(len(training.examples), len(pool))
    return EvalSet(evaluated.examples, pool, f"the file {eval_path}", notes)


def split_indices(count: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """(held-out indices, the rest), both sorted: a fixed share chosen by ``seed``."""
    if not 0.0 < fraction < 1.0:
        raise ValueError("the held-out fraction must be between 0 and 1")
    order = list(range(count))
    random.Random(seed).shuffle(order)
    n_eval = max(1, round(count * fraction)) if count > 1 else 0
    return sorted(order[:n_eval]), sorted(order[n_eval:])


def split_eval_set(
    train_path: str | Path,
    *,
    fraction: float = DEFAULT_SPLIT_FRACTION,
    seed: int = 0,
    limit: int | None = None,
) -> EvalSet:
    """A seeded share of the training file as the evaluation set, the rest as the pool."""
    training = load_examples(train_path)
    if len(training.examples) < 2:
        raise EvalDataError(
            f"{train_path} has {len(training.examples)} usable example(s): too few to hold some out.",
            hint="Give a validation file with --data instead.",
        )
    held, rest = split_indices(len(training.examples), fraction, seed)
    examples = [training.examples[i] for i in held]
    if limit is not None:
        examples = examples[:limit]
    seen = {e.fingerprint for e in examples}
    pool = _without((training.examples[i] for i in rest), seen)
    return EvalSet(
        examples,
        pool,
        f"{len(held)} of {len(training.examples)} examples of {train_path} held out "
        f"(fraction {fraction:g}, seed {seed}); train on the rest only",
        _pool_note(len(rest), len(pool)),
    )


def write_split(
    train_path: str | Path,
    train_out: str | Path,
    eval_out: str | Path,
    *,
    fraction: float = DEFAULT_SPLIT_FRACTION,
    seed: int = 0,
) -> tuple[int, int]:
    """Write the same split as ``split_eval_set``: the lines to train on and the held-out ones."""
    training = load_examples(train_path)
    held, rest = split_indices(len(training.examples), fraction, seed)
    raw = Path(train_path).expanduser().read_bytes().splitlines()
    lines = [raw[e.line - 1].removeprefix(b"\xef\xbb\xbf") for e in training.examples]
    Path(train_out).write_bytes(b"".join(lines[i] + b"\n" for i in rest))
    Path(eval_out).write_bytes(b"".join(lines[i] + b"\n" for i in held))
    return len(rest), len(held)


def drop_trained(eval_set: EvalSet, trained_path: str | Path) -> int:
    """Remove evaluation examples that appear in ``trained_path``; returns how many."""
    trained = {e.fingerprint for e in load_examples(trained_path).examples}
    kept = [e for e in eval_set.examples if e.fingerprint not in trained]
    dropped = len(eval_set.examples) - len(kept)
    if dropped:
        eval_set.examples = kept
        eval_set.notes.append(
            f"{dropped} evaluation example(s) were in the tuned model's training file "
            f"{trained_path} and were left out."
        )
    return dropped


# --- prompts ----------------------------------------------------------------
def zero_shot(example: Example) -> list[Message]:
    """The example's own prompt: its system prompt and turns (also the tuned model's prompt)."""
    return [dict(m) for m in example.prompt]


def _demonstration(shot: Example) -> list[Message]:
    return [*(dict(m) for m in shot.turns), {"role": "assistant", "content": shot.reference}]


def choose_shots(pool: Sequence[Example], k: int, seed: int = 0) -> list[Example]:
    """``k`` pool examples for few-shot, the same for every prompt (seeded)."""
    if k <= 0 or not pool:
        return []
    indices = sorted(random.Random(seed).sample(range(len(pool)), min(k, len(pool))))
    return [pool[i] for i in indices]


def few_shot(example: Example, shots: Sequence[Example]) -> list[Message]:
    """The system prompt, then each shot as earlier user/assistant turns, then the prompt."""
    system = [dict(m) for m in example.prompt if m["role"] == "system"]
    demonstrations = [m for shot in shots for m in _demonstration(shot)]
    return [*system, *demonstrations, *(dict(m) for m in example.turns)]


def rag(example: Example, retrieved: Sequence[Example]) -> list[Message]:
    """The retrieved examples in the system message (after the example's own), then the turns."""
    blocks = [f"Request: {shot.user_text}\nAnswer: {shot.reference}" for shot in retrieved]
    context = RAG_HEADER + "\n\n" + "\n\n".join(blocks) if blocks else ""
    system = "\n\n".join(part for part in (example.system, context) if part)
    head = [{"role": "system", "content": system}] if system else []
    return [*head, *(dict(m) for m in example.turns)]


def prompt_text(messages: Sequence[Message]) -> str:
    """A prompt as plain text, for people (``role: content`` per turn)."""
    return "\n".join(f"{m['role']}: {m['content']}" for m in messages)


# --- BM25 -------------------------------------------------------------------
_TOKEN_RE = re.compile(r"\w+")


def bm25_tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text.lower())


class BM25:
    """Okapi BM25 over a small corpus of texts (Lucene's idf, always positive)."""

    def __init__(self, documents: Sequence[str], *, k1: float = 1.5, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.docs = [Counter(bm25_tokens(d)) for d in documents]
        self.lengths = [sum(d.values()) for d in self.docs]
        self.avg_length = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        df: Counter[str] = Counter()
        for doc in self.docs:
            df.update(doc.keys())
        n = len(self.docs)
        self.idf = {term: math.log((n - f + 0.5) / (f + 0.5) + 1.0) for term, f in df.items()}

    def scores(self, query: str) -> list[float]:
        terms = bm25_tokens(query)
        out: list[float] = []
        for doc, length in zip(self.docs, self.lengths, strict=True):
            total = 0.0
            norm = self.k1 * (1 - self.b + self.b * length / (self.avg_length or 1.0))
            for term in terms:
                tf = doc.get(term, 0)
                if tf:
                    total += self.idf[term] * tf * (self.k1 + 1) / (tf + norm)
            out.append(total)
        return out

    def top(self, query: str, k: int) -> list[tuple[int, float]]:
        """The ``k`` best (index, score), best first; ties by index. Zero scores included."""
        if k <= 0:
            return []
        ranked = sorted(enumerate(self.scores(query)), key=lambda item: (-item[1], item[0]))
        return ranked[:k]


class Retriever:
    """The ``k`` pool examples most similar to an example's user turns."""

    def __init__(self, pool: Sequence[Example]) -> None:
        self.pool = list(pool)
        self.index = BM25([e.user_text for e in self.pool])

    def __call__(self, example: Example, k: int) -> list[Example]:
        return [self.pool[i] for i, _ in self.index.top(example.user_text, k)]


def dumps_messages(messages: Sequence[Message]) -> str:
    return orjson.dumps(list(messages)).decode()
