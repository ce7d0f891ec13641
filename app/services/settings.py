"""The settings the window changes: written onto the file as it is now (the CLI may have changed other keys since),
applied to the services that hold a copy, and announced (app.services.changes). File I/O: call it off the GUI thread.
"""

from __future__ import annotations

from pathlib import Path

from app.platform.settings import Settings, load_settings, save_settings, settings_notice
from app.services.attachments import AttachmentService
from app.services.changes import ChangeBroadcast, Changes

MB = 1024 * 1024


class SettingsService:
    def __init__(self, data_dir: Path, *, attachments: AttachmentService, changes: ChangeBroadcast) -> None:
        self._data_dir = data_dir
        self._attachments = attachments
        self._changes = changes

    def damaged_notice(self) -> str | None:
        """The line to tell at start while a damaged settings file is set aside (the app stays offline), else None."""
        return settings_notice(self._data_dir)

    def stored(self) -> Settings:
        """What the file holds now."""
        return load_settings(self._data_dir)

    def change(self, **edited) -> Settings:
        """Save `edited` (Settings field names) and apply what takes effect at once; returns the stored settings.
        Saved model states and the thread counts apply when a model next starts."""
        settings = load_settings(self._data_dir).with_changes(**edited)
        save_settings(self._data_dir, settings)
        if "attachment_max_mb" in edited:
            self._attachments.max_bytes = settings.attachment_max_mb * MB
        self._changes.publish(Changes(settings=True, models="default_model" in edited or "offline" in edited))
        return settings
