"""One parse of each stylesheet per test process, instead of one per app.

Every ``App`` builds its own ``Stylesheet`` and parses all of its sources again: our
``screens.tcss`` and the ``DEFAULT_CSS`` of every widget class it mounts, about a fifth of
the CPU an app costs to open and close (0.045 s of 0.24 s). A test process opens hundreds
of apps, always with the same sources and the same theme. Textual already keeps what it
parsed in a per-stylesheet cache keyed by the source; this gives every stylesheet of the
process the same cache, keyed by the source and the CSS variables too (the parse
substitutes them). The rule sets are read, never changed, once parsed (Textual shares them
between parses of one stylesheet already), so the styles an app ends up with are the same;
the snapshot tests would show any difference.
"""

from __future__ import annotations

from typing import Any

_PARSED: dict[tuple[Any, ...], Any] = {}
"""(source, where it was read from, defaults?, tie breaker, scope, variables) → rule sets."""
_MAX_ENTRIES = 4096


def share_style_parses() -> None:
    """Make every ``Stylesheet`` of this process look up and keep its parses in ``_PARSED``.
    Does nothing where Textual no longer has the method this wraps."""
    from textual.css.stylesheet import Stylesheet

    parse_rules = getattr(Stylesheet, "_parse_rules", None)
    if parse_rules is None or getattr(parse_rules, "shared", False):
        return

    def shared_parse_rules(
        self: Stylesheet,
        css: str,
        read_from: Any,
        is_default_rules: bool = False,
        tie_breaker: int = 0,
        scope: str = "",
    ) -> Any:
        variables = self._variables
        if getattr(self, "_shared_variables", None) is not variables:
            self._shared_variables = variables  # type: ignore[attr-defined]
            self._shared_key = tuple(sorted(variables.items()))  # type: ignore[attr-defined]
        key = (css, read_from, is_default_rules, tie_breaker, scope, self._shared_key)  # type: ignore[attr-defined]
        rules = _PARSED.get(key)
        if rules is None:
            rules = parse_rules(self, css, read_from, is_default_rules, tie_breaker, scope)
            if len(_PARSED) >= _MAX_ENTRIES:
                _PARSED.clear()
            _PARSED[key] = rules
        return rules

    shared_parse_rules.shared = True  # type: ignore[attr-defined]
    Stylesheet._parse_rules = shared_parse_rules  # type: ignore[method-assign]
