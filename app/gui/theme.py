"""Colours and the style sheet: a calm light and dark look that follows the system's colour scheme."""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette


@dataclass(frozen=True)
class Colours:
    sidebar: str
    surface: str
    text: str
    muted: str
    border: str
    accent: str
    accent_text: str
    accent_soft: str
    code: str
    warning_bg: str
    warning_text: str
    error_bg: str
    error_text: str


LIGHT = Colours(
    sidebar="#f3f4f6", surface="#ffffff", text="#1f2328", muted="#646b78", border="#e3e5e8",
    accent="#2563eb", accent_text="#ffffff", accent_soft="#dbe7fd", code="#f1f3f5",
    warning_bg="#fdf3d7", warning_text="#8a5a00", error_bg="#fde4e4", error_text="#9b1c1c",
)  # fmt: skip
DARK = Colours(
    sidebar="#26282c", surface="#1d1e21", text="#e6e7e9", muted="#9ba1aa", border="#383b41",
    accent="#5b8def", accent_text="#0d1526", accent_soft="#2c3a55", code="#2a2c31",
    warning_bg="#3a3016", warning_text="#f3cf6b", error_bg="#3d1f1f", error_text="#f5a3a3",
)  # fmt: skip


_started_dark: bool | None = None  # the platform palette as the app found it, before any palette of ours


def is_dark() -> bool:
    """Whether the desktop asks for dark: its colour scheme, or (where Qt cannot tell) the palette the app started
    with — not the current one, which is ours."""
    global _started_dark
    if _started_dark is None:
        _started_dark = QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128
    scheme = QGuiApplication.styleHints().colorScheme()
    if scheme != Qt.ColorScheme.Unknown:
        return scheme == Qt.ColorScheme.Dark
    return _started_dark


_chosen = "system"  # the theme setting the window applies; every widget that draws colours itself asks `current()`


def use(preference: str) -> None:
    """Make `preference` the theme that `current()` answers with (the window calls it when it applies the setting)."""
    global _chosen
    _chosen = preference


def current(preference: str | None = None) -> Colours:
    """The colours for a theme setting: "light", "dark", or "system" (the desktop's scheme); by default the one the
    window applies (`use`)."""
    preference = preference or _chosen
    if preference in ("light", "dark"):
        return DARK if preference == "dark" else LIGHT
    return DARK if is_dark() else LIGHT


def palette_for(colours: Colours) -> QPalette:
    """A matching palette, so menus, dialogs and scroll bars agree with the style sheet."""
    palette = QPalette()
    role = QPalette.ColorRole
    for roles, value in (
        ((role.Window, role.Button, role.AlternateBase, role.ToolTipBase), colours.sidebar),
        ((role.Base,), colours.surface),
        ((role.WindowText, role.Text, role.ButtonText, role.ToolTipText), colours.text),
        ((role.PlaceholderText,), colours.muted),
        ((role.Highlight,), colours.accent),
        ((role.HighlightedText,), colours.accent_text),
        ((role.Link,), colours.accent),
        ((role.Mid, role.Midlight), colours.border),
    ):
        for each in roles:
            palette.setColor(each, QColor(value))
    return palette


def _on_inverse(accent: str, surface: str) -> str:
    """The accent, made readable on a toast drawn in the text colour (dark in light mode, light in dark mode)."""
    colour = QColor(accent)
    return (colour.darker(125) if QColor(surface).lightness() < 128 else colour.lighter(140)).name()


def _hovered(fill: str, text: str) -> str:
    """A button's fill under the pointer: a step away from its label's colour, so the label stays readable."""
    colour = QColor(fill)
    return (colour.darker(112) if QColor(text).lightness() >= 128 else colour.lighter(110)).name()


def style_sheet(c: Colours, *, scale: float = 1.0) -> str:
    """The window's style sheet; `scale` multiplies every font size in it (Ctrl+= / Ctrl+-)."""
    return re.sub(r"font-size: (\d+)px", lambda size: f"font-size: {round(int(size[1]) * scale)}px", _sheet(c))


def _sheet(c: Colours) -> str:
    return f"""
QMainWindow, QStatusBar, QMenuBar {{ background: {c.sidebar}; color: {c.text}; }}
QMenuBar::item:selected {{ background: {c.border}; }}
QStatusBar {{ border-top: 1px solid {c.border}; }}
QStatusBar QLabel {{ color: {c.muted}; padding: 2px 6px; }}
QStatusBar QLabel#statusError {{ color: {c.error_text}; }}

#sidebar {{ background: {c.sidebar}; }}
#newThreadButton {{
    background: {c.accent}; color: {c.accent_text}; border: none; border-radius: 7px;
    padding: 7px 12px; font-weight: 600;
}}
#newThreadButton:hover {{ background: {_hovered(c.accent, c.accent_text)}; }}
#threadList {{ background: transparent; border: none; outline: none; color: {c.text}; }}
#threadList::item {{ border-radius: 6px; padding: 4px 8px; margin: 0 2px; }}
#threadList::item:hover {{ background: {c.border}; }}
#threadList::item:selected {{ background: {c.accent_soft}; color: {c.text}; }}
#searchBox {{
    background: {c.surface}; color: {c.text}; border: 1px solid {c.border}; border-radius: 7px; padding: 5px 8px;
}}
#searchBox:focus {{ border: 1px solid {c.accent}; }}
#filterChip, #viewsButton {{
    background: transparent; color: {c.muted}; border: 1px solid {c.border}; border-radius: 10px;
    padding: 1px 9px; min-height: 18px;
}}
#filterChip:hover, #viewsButton:hover, #filterChip:focus, #viewsButton:focus {{ color: {c.text}; border-color: {c.muted}; }}
#filterChip:checked {{ background: {c.accent_soft}; color: {c.text}; border-color: {c.accent}; }}
#viewsButton::menu-indicator {{ image: none; width: 0; }}
#searchResults {{ background: transparent; border: none; outline: none; }}
#searchResults::item {{ border-radius: 6px; margin: 0 2px; }}
#searchResults::item:hover {{ background: {c.border}; }}
#searchResults::item:selected {{ background: {c.accent_soft}; }}
#noticeBar, #undoBar {{ background: {c.text}; border-radius: 8px; }}
#noticeBar QLabel, #undoBar QLabel {{ color: {c.surface}; }}
#noticeAction {{
    background: transparent; color: {_on_inverse(c.accent, c.surface)}; border: none; font-weight: 600;
    padding: 3px 8px;
}}
#noticeAction:hover, #noticeAction:focus {{ text-decoration: underline; }}
#noticeClose {{ color: {c.surface}; background: transparent; border: none; padding: 2px 6px; }}
#editingBar {{ background: {c.accent_soft}; border-radius: 8px; }}
#editingBar QLabel {{ color: {c.text}; }}
#editingBar #noticeAction {{ color: {c.accent}; }}
#editingBar #noticeClose {{ color: {c.muted}; }}

#centre, #conversation, #conversationColumn {{ background: {c.surface}; }}
#conversation {{ border: none; }}
#threadTitle {{ color: {c.text}; font-size: 16px; font-weight: 600; }}
#modelChip {{
    color: {c.muted}; background: transparent; border: 1px solid {c.border}; border-radius: 10px; padding: 2px 10px;
}}
#modelChip:hover, #modelChip:focus {{ color: {c.text}; border-color: {c.muted}; }}
#modelChip::menu-indicator {{ image: none; width: 0; }}
#threadTitleEditor {{
    color: {c.text}; background: {c.surface}; border: 1px solid {c.accent}; border-radius: 6px; padding: 2px 6px;
    font-size: 16px; font-weight: 600;
}}
#headerRule {{ background: {c.border}; }}
#attachmentChip, #citationButton {{
    color: {c.text}; background: {c.sidebar}; border: 1px solid {c.border}; border-radius: 10px; padding: 2px 10px;
}}
#attachButton, #watchFolderButton {{ color: {c.accent}; background: transparent; border: none; padding: 2px 6px; }}
#attachmentChip:hover, #citationButton:hover, #attachmentChip:focus, #citationButton:focus,
#attachButton:hover, #watchFolderButton:hover {{ border-color: {c.muted}; text-decoration: underline; }}
#citationsLabel, #attachmentSummary, #ingestProgressLabel {{ color: {c.muted}; }}
#detailsPanel, #detailsBody {{ background: {c.sidebar}; border: none; border-left: 1px solid {c.border}; }}
#detailsHeading {{ color: {c.muted}; font-size: 11px; font-weight: 600; text-transform: uppercase; }}
#detailsMuted {{ color: {c.muted}; }}
#detailsPair, #detailsAttachment {{ color: {c.text}; }}
#detailsEdit {{ color: {c.accent}; background: transparent; border: none; padding: 0 4px; }}
#detailsEdit:hover, #detailsEdit:focus {{ text-decoration: underline; }}
#detailsEdit:disabled {{ color: {c.muted}; }}
#detailsButton:checked {{ color: {c.text}; background: {c.accent_soft}; border: none; border-radius: 4px; }}
#messageHeader {{ color: {c.muted}; }}
#messageCard {{ border-radius: 8px; }}
#summaryCard {{ border: 1px dashed {c.border}; border-radius: 8px; }}
#messageCard[highlight="true"] {{ background: {c.accent_soft}; }}
#messageAction, #branchArrow {{
    color: {c.muted}; background: transparent; border: none; border-radius: 5px; padding: 1px 6px;
}}
#messageAction:hover, #branchArrow:hover, #messageAction:focus, #branchArrow:focus {{
    background: {c.border}; color: {c.text};
}}
#messageAction::menu-indicator {{ image: none; width: 0; }}
#branchArrow:disabled {{ color: {c.border}; }}
#branchLabel {{ color: {c.muted}; }}
#messageBody {{
    background: transparent; border: none; color: {c.text}; font-size: 14px; selection-background-color: {c.accent};
}}
#thinkingToggle {{ color: {c.muted}; background: transparent; border: none; border-radius: 5px; padding: 1px 4px; }}
#thinkingToggle:hover, #thinkingToggle:focus {{ background: {c.border}; color: {c.text}; }}
#thinkingBody {{ color: {c.muted}; border: none; border-left: 2px solid {c.border}; padding-left: 8px; }}
#codeBlock {{ background: {c.code}; border-radius: 6px; }}
#codeView {{
    font-size: 13px; background: transparent; color: {c.text}; border: none; selection-background-color: {c.accent};
    selection-color: {c.accent_text};
}}
#codeView QScrollBar:horizontal {{ background: transparent; height: 10px; margin: 2px; }}
#codeView QScrollBar::handle:horizontal {{ background: {c.border}; border-radius: 4px; min-width: 30px; }}
#codeLanguage {{ color: {c.muted}; font-size: 12px; }}
#codeCopy {{ color: {c.muted}; background: transparent; border: none; border-radius: 5px; padding: 1px 8px; }}
#codeCopy:hover, #codeCopy:focus {{ background: {c.border}; color: {c.text}; }}
#banner[kind="warning"] {{ background: {c.warning_bg}; color: {c.warning_text}; border-radius: 6px; }}
#banner[kind="error"] {{ background: {c.error_bg}; color: {c.error_text}; border-radius: 6px; }}
#emptyState {{ color: {c.muted}; }}
#conversationColumn > #emptyState {{
    border: 2px dashed {c.border}; border-radius: 12px; padding: 28px; margin: 24px 0;
}}

#starterCard {{ background: {c.sidebar}; border: 1px solid {c.border}; border-radius: 10px; }}
#starterTitle {{ font-size: 15px; font-weight: 600; color: {c.text}; }}
#starterDetail {{ color: {c.muted}; }}
#starterError {{ color: {c.error_text}; }}
QProgressBar {{
    border: 1px solid {c.border}; border-radius: 5px; background: {c.surface}; color: {c.text};
    text-align: center; min-height: 14px;
}}
QProgressBar::chunk {{ background: {c.accent}; border-radius: 4px; }}

#composerArea {{ background: {c.surface}; }}
#composer {{
    background: {c.surface}; color: {c.text}; border: 1px solid {c.border}; border-radius: 10px; padding: 6px 8px;
}}
#composer:focus {{ border: 1px solid {c.accent}; }}
#composerHint {{ color: {c.muted}; }}
#sendButton, #starterButton {{
    background: {c.accent}; color: {c.accent_text}; border: none; border-radius: 8px; padding: 8px 16px;
    font-weight: 600;
}}
#sendButton:disabled {{ background: {c.border}; color: {c.muted}; }}
#sendButton[streaming="true"] {{ background: {c.text}; color: {c.surface}; }}

QSplitter::handle {{ background: {c.border}; }}
QScrollBar:vertical {{ background: transparent; width: 10px; margin: 2px; }}
QScrollBar::handle:vertical {{ background: {c.border}; border-radius: 4px; min-height: 30px; }}
QScrollBar::add-line, QScrollBar::sub-line {{ height: 0; }}
QScrollBar::add-page, QScrollBar::sub-page {{ background: transparent; }}
"""
