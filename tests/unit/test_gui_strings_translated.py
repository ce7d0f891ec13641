"""Every user-visible string in app/gui goes through Qt's translation functions, so the app can be translated:
an AST walk fails on a string literal (plain, f-string or either arm of a conditional) handed straight to a Qt
widget constructor or text setter instead of through `self.tr` / `QCoreApplication.translate`, and on a
module-level tr helper that lupdate cannot attribute to a context."""

from __future__ import annotations

import ast
import re
import xml.etree.ElementTree as ET
from pathlib import Path

GUI = Path(__file__).resolve().parents[2] / "app" / "gui"

TEXT_SETTERS = {
    "setText", "setToolTip", "setPlaceholderText", "addAction", "setWindowTitle", "addMenu", "setAccessibleName",
    "setAccessibleDescription", "setStatusTip", "setWhatsThis", "setTitle", "showMessage", "setLabelText",
    "setSpecialValueText", "setSuffix", "setPrefix", "addTab", "setTabText", "setFormat",
    "show_info", "show_warning", "show_error", "show_hint", "show_notice",  # the window's status line and notices
}  # fmt: skip
TEXT_WIDGETS = {"QLabel", "QPushButton", "QCheckBox", "QRadioButton", "QGroupBox", "QToolButton", "QAction", "QMenu"}
TEXT_HELPERS = {"_muted"}
# A module-level `def tr(text)` wrapping translate: lupdate files `tr("…")` under no context (so a translation is
# never found) and does not see `_tr("…")` at all. Use self.tr or QCoreApplication.translate("Context", "…").
MODULE_TR_HELPERS = {"tr", "_tr"}


def untranslated_literals(tree: ast.AST) -> list[int]:
    """Lines where a literal reaches a Qt text argument without a translation call around it."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        if name in TEXT_SETTERS | TEXT_WIDGETS | TEXT_HELPERS and is_literal_text(node.args[0]):
            lines.append(node.lineno)
        elif isinstance(node.func, ast.Name) and node.func.id in MODULE_TR_HELPERS:
            lines.append(node.lineno)
    return lines


def is_literal_text(node: ast.expr) -> bool:
    """A literal with words in it, outside HTML tags (markup around a translated text is fine)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and has_words(node.value)
    if isinstance(node, ast.JoinedStr):
        return has_words("{}".join(part.value for part in node.values if isinstance(part, ast.Constant)))
    if isinstance(node, ast.IfExp):
        return is_literal_text(node.body) or is_literal_text(node.orelse)
    if isinstance(node, ast.BinOp):
        return is_literal_text(node.left) or is_literal_text(node.right)
    return False


def has_words(text: str) -> bool:
    return any(character.isalpha() for character in re.sub(r"<[^>]*>", "", text))


def test_no_user_visible_string_literal_bypasses_translation():
    offenders = [
        f"app/gui/{path.name}:{line}"
        for path in sorted(GUI.glob("*.py"))
        for line in untranslated_literals(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert offenders == [], "wrap these strings in self.tr(...) or QCoreApplication.translate(...):\n" + "\n".join(
        offenders
    )


def test_the_walk_catches_a_bare_literal_and_lets_a_translated_one_through():
    source = (
        "label = QLabel('Sources')\n"
        "button.setToolTip(f'Filter: {text}')\n"
        "menu.addAction('Unpin' if pinned else 'Pin')\n"
        "ok = QLabel(self.tr('Sources'))\n"
        "ok.setObjectName('detailsMuted')\n"
        "ok.setText(QCoreApplication.translate('Ctx', 'Filter: {0}').format(text))\n"
        "heading = QLabel(f'<b>{title}</b>')\n"
        "status = _tr('done')\n"
    )
    assert untranslated_literals(ast.parse(source)) == [1, 2, 3, 8]


def test_every_string_in_the_translation_file_has_the_context_it_is_looked_up_in():
    root = ET.parse(GUI.parents[1] / "resources" / "translations" / "threadloom.ts").getroot()
    nameless = [
        message.findtext("source")
        for context in root.iter("context")
        if not (context.findtext("name") or "").strip()
        for message in context.iter("message")
    ]
    assert nameless == []
