"""The model manager dialog with real widgets and real services: drop a file, add a provider, download, offline."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from servers import GgufServer, MemoryKeyring

from app.gui.model_manager import ModelManagerDialog
from app.gui.status import StatusBridge
from app.platform.settings import load_settings
from app.services.models import load_catalog

STARTER = "smollm2-135m-instruct"
TIMEOUT_MS = 60_000


@pytest.fixture
def memory_keyring():
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


def _dialog(qtbot, session) -> ModelManagerDialog:
    dialog = ModelManagerDialog(session, StatusBridge())
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: STARTER in dialog.model_names(), timeout=TIMEOUT_MS)
    return dialog


def _drop(dialog: ModelManagerDialog, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)  # fmt: skip
    dialog.dropEvent(event)


def test_the_installed_starter_is_listed_as_the_default(qtbot, session):
    dialog = _dialog(qtbot, session)
    assert dialog.model_state(STARTER) == "installed · default"
    row = dialog.model_names().index(STARTER)
    assert dialog.models_table.item(row, 2).text() == "Q4_1" and dialog.models_table.item(row, 4).text() == "Apache-2.0"


def test_a_dropped_truncated_gguf_is_refused_with_a_clear_message(qtbot, session, tmp_path: Path):
    dialog = _dialog(qtbot, session)
    broken = tmp_path / "broken.gguf"
    with open(session.models_dir / load_catalog()[0].file, "rb") as reader:
        broken.write_bytes(reader.read(5_000_000))
    _drop(dialog, broken)
    qtbot.waitUntil(lambda: "truncated" in dialog.message.text(), timeout=TIMEOUT_MS)
    assert str(broken) in dialog.message.text()
    assert "broken" not in dialog.model_names()


def test_a_dropped_model_is_added_and_can_become_the_default(qtbot, open_sessions, data_dir, models_dir, tmp_path):
    own_models = tmp_path / "models"
    own_models.mkdir()
    session = open_sessions(data_dir, own_models)
    dialog = ModelManagerDialog(session, StatusBridge())
    qtbot.addWidget(dialog)
    mine = shutil.copy(models_dir / load_catalog()[0].file, tmp_path / "Pocket-Chat.gguf")
    _drop(dialog, Path(mine))
    qtbot.waitUntil(lambda: "pocket-chat" in dialog.model_names(), timeout=TIMEOUT_MS)
    dialog.select_model("pocket-chat")
    dialog.default_button.click()
    qtbot.waitUntil(lambda: dialog.model_state("pocket-chat") == "installed · default", timeout=TIMEOUT_MS)
    assert load_settings(data_dir).default_model == "pocket-chat" and session.chat.model_name == "pocket-chat"


def test_a_provider_key_goes_to_the_keyring_and_a_missing_keyring_is_said(qtbot, session, memory_keyring):
    dialog = _dialog(qtbot, session)
    dialog.provider_name.setText("acme")
    dialog.provider_url.setText("https://api.acme.test/v1")
    dialog.provider_model.setText("big")
    dialog.provider_key.setText("sk-gui-secret")
    dialog.add_provider_button.click()
    qtbot.waitUntil(lambda: dialog.provider_names() == ["acme"], timeout=TIMEOUT_MS)
    assert dialog.provider_key.text() == "" and "sk-gui-secret" in memory_keyring.secrets.values()

    keyring.set_keyring(fail.Keyring())
    dialog.provider_name.setText("other")
    dialog.provider_url.setText("https://api.other.test/v1")
    dialog.provider_model.setText("m")
    dialog.provider_key.setText("sk-nowhere")
    dialog.add_provider_button.click()
    qtbot.waitUntil(lambda: "no usable OS keyring" in dialog.message.text(), timeout=TIMEOUT_MS)
    assert dialog.provider_names() == ["acme"] and dialog.provider_key.text() == ""


def test_download_with_progress_and_the_offline_switch(qtbot, open_sessions, data_dir, models_dir, tmp_path):
    server = GgufServer(models_dir / load_catalog()[0].file)
    try:
        session = open_sessions(data_dir, tmp_path / "models")
        served = dataclasses.replace(load_catalog()[0], name="served", file="served.gguf", source=server.url)
        session.models.catalog.append(served)
        dialog = ModelManagerDialog(session, StatusBridge())
        qtbot.addWidget(dialog)
        qtbot.waitUntil(lambda: "served" in dialog.model_names(), timeout=TIMEOUT_MS)

        dialog.offline_box.setChecked(True)
        qtbot.waitUntil(lambda: load_settings(data_dir).offline)  # written off the GUI thread
        dialog.select_model("served")
        dialog.download_button.click()
        qtbot.waitUntil(lambda: "offline mode is on" in dialog.message.text(), timeout=TIMEOUT_MS)
        assert server.requests == []

        dialog.offline_box.setChecked(False)
        dialog.download_button.click()
        qtbot.waitUntil(lambda: dialog.model_state("served") == "installed", timeout=TIMEOUT_MS)
        assert "ETA" in dialog.progress_label.text() and "served is installed" in dialog.message.text()
    finally:
        server.close()


def test_the_main_window_opens_the_model_manager(qtbot, session, show_window):
    window = show_window(session)
    dialog = window.open_model_manager()
    qtbot.waitUntil(lambda: STARTER in dialog.model_names(), timeout=TIMEOUT_MS)
    assert dialog.isVisible()
    dialog.reject()
