"""Text the window draws in its theme colours is readable: WCAG contrast of at least 4.5:1 in light and dark, read
from the style sheet the window applies (so a rule that changes its colours is checked as it is)."""

from __future__ import annotations

import re

import pytest

from app.gui import theme
from tests.gui.conftest import contrast

AA = 4.5
# (the rule that gives the text its colour, the rule that gives what lies under it its background)
TEXT_ON_BACKGROUND = [
    ("#detailsEdit", "#detailsPanel"),  # the details column's Edit… links
    ("#detailsEdit:disabled", "#detailsPanel"),  # ... with no thread open (a draft): still readable
    ("#detailsHeading", "#detailsPanel"),
    ("#detailsMuted", "#detailsPanel"),
    ("#attachButton", "#composerArea"),
    ("#composerHint", "#composerArea"),
    ("#newThreadButton", "#newThreadButton"),
    ("#newThreadButton", "#newThreadButton:hover"),
    ("#sendButton", "#sendButton"),
    ("#threadTitle", "#centre"),
    ("#messageHeader", "#conversation"),
]


def rules(sheet: str) -> dict[str, dict[str, str]]:
    """Selector → its declarations, e.g. {"#detailsEdit": {"color": "#2563eb", ...}}; later rules win."""
    found: dict[str, dict[str, str]] = {}
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", sheet):
        declarations = dict(
            (name.strip(), value.strip()) for name, value in (part.split(":", 1) for part in body.split(";") if ":" in part)
        )
        for selector in selectors.split(","):
            found.setdefault(selector.strip(), {}).update(declarations)
    return found


@pytest.mark.parametrize("colours", [theme.LIGHT, theme.DARK], ids=["light", "dark"])
@pytest.mark.parametrize(("text_rule", "background_rule"), TEXT_ON_BACKGROUND)
def test_theme_text_has_aa_contrast_on_what_lies_under_it(colours, text_rule, background_rule):
    sheet = rules(theme.style_sheet(colours))
    foreground, background = sheet[text_rule]["color"], sheet[background_rule]["background"]
    assert contrast(foreground, background) >= AA, (text_rule, foreground, background)
