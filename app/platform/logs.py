"""The app's log: `threadloom.log` in the data directory, rotated, with every secret scrubbed before it is written.

Set up once per process, by the CLI and by the window alike (`setup_logging`); modules log through
`logging.getLogger(__name__)` and never find out where it goes. The level comes from the `log_level` setting, and
`THREADLOOM_LOG` (debug, info, warning, error) wins over it, so a user can turn on debug for one run.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import re
from pathlib import Path

from app.platform.secrets import handed_out_secrets

LOG_FILE = "threadloom.log"
LOG_ENV = "THREADLOOM_LOG"
LEVELS = ("debug", "info", "warning", "error")
DEFAULT_LEVEL = "info"
MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 3
SCRUBBED = "[secret]"
# What a key looks like even when the keyring never handed it to us (typed, pasted into a URL, echoed by a server).
SECRET_PATTERNS = re.compile(r"(?i)\bbearer\s+[^\s\"',;]+|\bsk-[A-Za-z0-9_\-]{8,}")

_handler: logging.handlers.RotatingFileHandler | None = None


def scrub(text: str) -> str:
    """`text` with every key the keyring handed out in this process, and anything shaped like a key, replaced."""
    for secret in handed_out_secrets():
        text = text.replace(secret, SCRUBBED)
    return SECRET_PATTERNS.sub(SCRUBBED, text)


class SecretScrubber(logging.Filter):
    """Rewrites a record's message, traceback and stack in place, so no handler after it ever sees a secret."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = scrub(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


def chosen_level(setting: str | None) -> int:
    """`THREADLOOM_LOG` if it names a level, else the setting, else info."""
    for candidate in (os.environ.get(LOG_ENV, ""), setting or ""):
        name = candidate.strip().lower()
        if name in LEVELS:
            return logging.getLevelNamesMapping()[name.upper()]
    return logging.getLevelNamesMapping()[DEFAULT_LEVEL.upper()]


def setup_logging(data_dir: Path, *, level: str | None = None) -> Path:
    """Send the root logger to `data_dir/threadloom.log`; later calls only change the level. Returns the file."""
    global _handler
    root = logging.getLogger()
    root.setLevel(chosen_level(level))
    if _handler is None:
        path = Path(data_dir) / LOG_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"))
        handler.addFilter(SecretScrubber())
        root.addHandler(handler)
        _handler = handler
    return Path(_handler.baseFilename)


def log_path() -> Path | None:
    """Where this process logs, once `setup_logging` has run."""
    return Path(_handler.baseFilename) if _handler is not None else None
