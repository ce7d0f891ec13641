"""The thread header's privacy control: may this thread go to a hosted model, and has any of it ever left the device.

The widget only shows and asks; the window reads and writes the rule through the thread service.
"""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QWidget

from app.core.domain import InstalledModel
from app.core.routing import PrivacyRule, Provider
from app.gui.elided_label import ElidedLabel
from app.services.threads import PrivacyState

RULE_LABELS = {
    PrivacyRule.LOCAL_ONLY: QT_TRANSLATE_NOOP("Privacy", "Local only"),
    PrivacyRule.ASK: QT_TRANSLATE_NOOP("Privacy", "Ask each time"),
    PrivacyRule.ALLOWED: QT_TRANSLATE_NOOP("Privacy", "Allowed"),
}
RULE_TIPS = {
    PrivacyRule.LOCAL_ONLY: QT_TRANSLATE_NOOP("Privacy", "Nothing in this thread is ever sent to a hosted model"),
    PrivacyRule.ASK: QT_TRANSLATE_NOOP("Privacy", "A hosted model may answer a turn, after you confirm it each time"),
    PrivacyRule.ALLOWED: QT_TRANSLATE_NOOP(
        "Privacy", "Hosted models may answer this thread (upgrades and fallbacks) without asking"
    ),
}


def rule_label(rule: PrivacyRule) -> str:
    """The rule's name in the user's language (the table holds the English source, marked for lupdate)."""
    return QCoreApplication.translate("Privacy", RULE_LABELS[rule])


def rule_tip(rule: PrivacyRule) -> str:
    return QCoreApplication.translate("Privacy", RULE_TIPS[rule])


def badge_text(hosted_calls: int) -> str:
    if not hosted_calls:
        return QCoreApplication.translate("Privacy", "never left this device")
    if hosted_calls == 1:
        return QCoreApplication.translate("Privacy", "sent to a hosted model 1 time")
    return QCoreApplication.translate("Privacy", "sent to a hosted model {0} times").format(hosted_calls)


def stronger_models(installed: list[InstalledModel], providers: list[Provider], current: str) -> list[str]:
    """What "Ask a stronger model" offers: each provider's PROVIDER/MODEL, then the other installed local models."""
    hosted = [f"{provider.name}/{provider.model}" for provider in providers]
    local = [
        model.spec.name
        for model in installed
        if model.installed and model.spec.kind == "chat" and model.spec.name != current
    ]
    return hosted + local


class PrivacyControl(QWidget):
    """A rule picker and a badge. `rule_chosen(thread_id, rule)` (GUI thread) fires only when the user picks one."""

    rule_chosen = Signal(int, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._thread_id: int | None = None
        self.rule_box = QComboBox()
        self.rule_box.setObjectName("privacyRule")
        self.rule_box.setAccessibleName(self.tr("Privacy rule"))
        self.rule_box.setAccessibleDescription(
            self.tr("May this thread's messages go to a hosted model: never, ask, allowed")
        )
        for rule in RULE_LABELS:
            self.rule_box.addItem(rule_label(rule), str(rule))
            self.rule_box.setItemData(self.rule_box.count() - 1, rule_tip(rule), Qt.ItemDataRole.ToolTipRole)
        self.rule_box.activated.connect(self._chosen)
        self.badge = ElidedLabel(prefer_full_width=True)  # "never left…" in a narrow window, whole in its tooltip
        self.badge.setObjectName("privacyBadge")
        self.rule_box.setMinimumWidth(60)  # both shrink in a narrow window rather than squeezing the sidebar
        self.badge.setMinimumWidth(1)
        self.badge.setAccessibleName(self.tr("Where this thread has been"))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.badge)
        layout.addWidget(self.rule_box)
        self.show_draft()

    @property
    def thread_id(self) -> int | None:
        return self._thread_id

    def show_draft(self) -> None:
        """A thread not yet written: it will start local only, and nothing has left the device."""
        self._thread_id = None
        self._select(PrivacyRule.LOCAL_ONLY)
        self.rule_box.setEnabled(False)
        self.rule_box.setToolTip(self.tr("New threads are local only; change it once the thread has its first message"))
        self.badge.set_full_text(badge_text(0))

    def show_state(self, state: PrivacyState) -> None:
        self._thread_id = state.thread_id
        self._select(state.rule)
        self.rule_box.setEnabled(True)
        self.rule_box.setToolTip(self.tr("Privacy: {0}").format(rule_tip(state.rule)))
        self.badge.set_full_text(badge_text(state.hosted_calls))
        self.badge.setToolTip(
            self.tr("This thread was {0}; every hosted call is in the privacy ledger (`threadloom ledger`)").format(
                self.badge.full_text()
            )
            if state.hosted_calls
            else self.tr("No message of this thread was ever sent to a hosted model")
        )

    def rule(self) -> PrivacyRule:
        return PrivacyRule(self.rule_box.currentData())

    def _select(self, rule: PrivacyRule) -> None:
        self.rule_box.setCurrentIndex(self.rule_box.findData(str(rule)))

    def _chosen(self, _index: int) -> None:
        if self._thread_id is not None:
            self.rule_chosen.emit(self._thread_id, self.rule_box.currentData())
