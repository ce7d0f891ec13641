"""What the window says and asks before a thread's content may go to a hosted model.

The policy itself (offline switch, the thread's privacy rule) is the services' (`Router.permit`); this room holds the
window's words for a refusal and the per-turn question a thread whose rule is "ask" needs.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QMessageBox, QWidget

from app.core.errors import ConsentRequired, OfflineMode


def hosted_refusal(error: ConsentRequired | OfflineMode, model: str) -> str:
    """Why a hosted model was not asked and what to do, in the window's words (not the service's CLI advice)."""
    if isinstance(error, OfflineMode):
        return QCoreApplication.translate(
            "HostedConsent", "Offline mode is on, so nothing was sent to {0}: turn it off in Models… (Ctrl+Shift+M)."
        ).format(model)
    return QCoreApplication.translate(
        "HostedConsent",
        "This thread's privacy rule keeps it on this device, so nothing was sent to {0}: change the thread's "
        "privacy (top right) to “Ask each time” or “Allowed” to use hosted models.",
    ).format(model)


def ask_to_send(parent: QWidget, model: str) -> bool:
    """The per-turn yes a thread whose rule is "ask" needs before its content leaves the device (modal)."""
    answer = QMessageBox.question(
        parent,
        "Send to a hosted model?",
        f"Send this thread to {model}? It will leave this device.",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.No,
    )
    return answer == QMessageBox.StandardButton.Yes
