"""The footer every screen shows: the screen's own keys first, never a key cut in half.

Textual's footer lists the bindings in the order the DOM gives them and cuts
the last one at the edge ("f1 He▏"). ``KeyFooter`` puts the screen's own
actions first, then the global ones, and leaves out whole the keys that do
not fit; ``ScreenKeys`` lists every key of the screen in the command palette,
so a key left out is still one search away.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from textual.app import ComposeResult
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.events import Resize
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

PALETTE_WIDTH = 13
"""Cells the command palette key takes at the right edge ("▏^p palette ")."""


def key_width(key: FooterKey) -> int:
    """Cells one key takes: " key description " (its padding included)."""
    if not key.description:
        return len(key.key_display) + 2
    return len(key.key_display) + len(key.description) + 3


class KeyFooter(Footer):
    """A footer that keeps the screen's keys first and leaves out whole what does not fit."""

    _composed_for = -1
    _shown_keys: tuple[tuple[str, str, str, bool], ...] | None = None
    """What the last composition listed: a change of bindings that leaves it as it was
    (focus moving between two fields of one form) does not rebuild the footer."""

    def _keys_now(self) -> tuple[tuple[str, str, str, bool], ...]:
        return tuple(
            (binding.key, binding.action, binding.description, enabled)
            for _node, binding, enabled, _tooltip in self.screen.active_bindings.values()
            if binding.show
        )

    def bindings_changed(self, screen: Screen) -> None:
        unchanged = self._bindings_ready and self.is_attached and screen is self.screen
        if unchanged and self._keys_now() == self._shown_keys:
            return
        super().bindings_changed(screen)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        self._composed_for = self.size.width
        self._shown_keys = self._keys_now()
        children = list(super().compose())
        palette = [c for c in children if c.has_class("-command-palette")]
        keys = [c for c in children if not c.has_class("-command-palette")]
        global_actions = {
            binding.action
            for node, binding, _enabled, _tooltip in self.screen.active_bindings.values()
            if node is self.app
        }
        keys.sort(key=lambda c: isinstance(c, FooterKey) and c.action in global_actions)
        room = self.size.width - (PALETTE_WIDTH if palette else 0)
        if self.size.width == 0:
            room = 10**6  # not laid out yet: the resize composes again
        shown: list[Widget] = []
        for child in keys:
            width = key_width(child) if isinstance(child, FooterKey) else 20
            if width > room:
                continue  # whole or not at all; a shorter one further on may still fit
            room -= width
            shown.append(child)
        yield from shown
        yield from palette

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._composed_for:
            self.refresh(recompose=True)


class ScreenKeys(Provider):
    """The screen's own keys as commands: what the footer had no room for is here."""

    def _commands(self) -> Iterable[tuple[str, str, str]]:
        screen = self.screen
        seen: set[str] = set()
        for node, binding, enabled, _tooltip in screen.active_bindings.values():
            if node is screen.app or not enabled or not binding.description:
                continue
            if binding.action in seen:
                continue
            seen.add(binding.action)
            key = screen.app.get_key_display(binding)
            yield binding.description, f"Key: {key}", binding.action

    async def discover(self) -> Hits:
        for name, help_text, action in self._commands():
            yield DiscoveryHit(name, self._runner(action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, help_text, action in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), self._runner(action), help=help_text)

    def _runner(self, action: str) -> Callable[[], Awaitable[None]]:
        screen = self.screen

        async def run() -> None:
            await screen.run_action(action)

        return run
