"""An Ollama ``TEMPLATE`` (Go template) that reproduces a tokenizer's Jinja chat template.

The Jinja template is rendered with marker contents to find what it puts
around each role's message (``TemplateParts``); the Go template is written
from those pieces. ``check_parts`` then renders several conversations both
ways (Jinja, and the pieces the Go template is made of) and returns the first
difference: a template that does not come apart into per-message pieces
(a default system prompt, a system prompt folded into the first user turn,
trimmed contents) is refused instead of exported wrong. When an Ollama server
answers, the export also compares the tokens Ollama renders with the real Go
template engine (``backends.local.export``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Message = dict[str, str]
Render = Callable[[Sequence[Message], bool], str]
"""``render(messages, add_generation_prompt)``: the tokenizer's chat template."""

_S, _U, _A, _U2, _A2 = "QXSYSQX", "QXUSERQX", "QXASSTQX", "QXUSER2QX", "QXASST2QX"


class TemplateMismatch(ValueError):
    """The chat template cannot be reproduced as an Ollama TEMPLATE (the message says where)."""


@dataclass(frozen=True)
class TemplateParts:
    head: str
    system: tuple[str, str]
    user: tuple[str, str]
    assistant: tuple[str, str]
    generation: str

    def render(self, messages: Sequence[Message], add_generation_prompt: bool) -> str:
        """What the Go template written from these parts renders for ``messages``."""
        out = [self.head]
        for message in messages:
            before, after = getattr(self, message["role"])
            out.append(before + message["content"] + after)
        if add_generation_prompt:
            out.append(self.generation)
        return "".join(out)

    def go_template(self) -> str:
        """The Ollama ``TEMPLATE``: Ollama's ``.Messages`` with the same pieces."""

        def lit(text: str) -> str:
            return text.replace("{{", '{{ "{{" }}')

        s, u, a = self.system, self.user, self.assistant
        return (
            f"{lit(self.head)}"
            "{{ range $i, $_ := .Messages }}"
            "{{ $last := eq (len (slice $.Messages $i)) 1 }}"
            f'{{{{ if eq .Role "system" }}}}{lit(s[0])}{{{{ .Content }}}}{lit(s[1])}'
            f'{{{{ else if eq .Role "user" }}}}{lit(u[0])}{{{{ .Content }}}}{lit(u[1])}'
            f'{{{{ else if eq .Role "assistant" }}}}{lit(a[0])}{{{{ .Content }}}}'
            f"{{{{ if not $last }}}}{lit(a[1])}{{{{ end }}}}"
            "{{ end }}"
            f'{{{{ if and $last (ne .Role "assistant") }}}}{lit(self.generation)}{{{{ end }}}}'
            "{{ end }}"
        )


def _split(text: str, marker: str, where: str) -> tuple[str, str]:
    if text.count(marker) != 1:
        raise TemplateMismatch(f"the chat template does not show the {where} text once as given")
    before, after = text.split(marker)
    return before, after


def _strip_prefix(text: str, prefix: str, where: str) -> str:
    if not text.startswith(prefix):
        raise TemplateMismatch(f"the chat template renders {where} differently in longer chats")
    return text[len(prefix) :]


def derive_parts(render: Render) -> TemplateParts:
    """The pieces the chat template puts around each role's message."""
    one = render([{"role": "user", "content": _U}], False)
    left, user_after = _split(one, _U, "user")
    two = render([{"role": "user", "content": _U}, {"role": "assistant", "content": _A}], False)
    assistant = _split(_strip_prefix(two, one, "a user turn"), _A, "assistant")
    three = render(
        [
            {"role": "user", "content": _U},
            {"role": "assistant", "content": _A},
            {"role": "user", "content": _U2},
        ],
        False,
    )
    user_before, _after = _split(_strip_prefix(three, two, "an assistant turn"), _U2, "user")
    if not left.endswith(user_before):
        raise TemplateMismatch("the first user turn is rendered unlike later ones")
    head = left[: len(left) - len(user_before)]
    with_system = render(
        [{"role": "system", "content": _S}, {"role": "user", "content": _U}], False
    )
    sys_left, rest = _split(with_system, _S, "system")
    system_before = _strip_prefix(sys_left, head, "the start of a chat with a system prompt")
    tail = user_before + _U + user_after
    if not rest.endswith(tail):
        raise TemplateMismatch("a system prompt changes how the user turn is rendered")
    system_after = rest[: len(rest) - len(tail)]
    generation = _strip_prefix(render([{"role": "user", "content": _U}], True), one, "prompts")
    return TemplateParts(
        head, (system_before, system_after), (user_before, user_after), assistant, generation
    )


SAMPLE_CHATS: tuple[tuple[Message, ...], ...] = (
    ({"role": "user", "content": "Hello there."},),
    (
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Name a colour."},
    ),
    (
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "Name a colour."},
        {"role": "assistant", "content": "Blue."},
        {"role": "user", "content": "Another,\nplease."},
    ),
)


def check_parts(
    parts: TemplateParts, render: Render, chats: Sequence[Sequence[Message]] = SAMPLE_CHATS
) -> None:
    """Raise ``TemplateMismatch`` at the first conversation rendered differently."""
    for chat in chats:
        expected = render(chat, True)
        got = parts.render(chat, True)
        if expected != got:
            at = next(
                (i for i, (x, y) in enumerate(zip(expected, got, strict=False)) if x != y),
                min(len(expected), len(got)),
            )
            raise TemplateMismatch(
                f"the Ollama template renders a {len(chat)}-message chat differently from the "
                f"tokenizer's chat template at character {at}: "
                f"{expected[at : at + 30]!r} expected, {got[at : at + 30]!r} written"
            )
