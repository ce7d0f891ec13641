"""User settings, one JSON file in the data directory. Never holds secrets: those live in the OS keyring."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from app.core.errors import SetupError

SEND_KEYS = ("enter", "ctrl+enter")
THEMES = ("system", "light", "dark")
KV_CACHE_ENV = "THREADLOOM_KV_CACHE"  # "off" turns saved model states off, whatever the settings say


@dataclass(frozen=True)
class Settings:
    default_model: str | None = None  # None: the catalog's default
    send_key: str = "enter"           # "enter": Enter sends, Shift+Enter breaks the line; "ctrl+enter": Ctrl+Enter sends
    n_ctx: int = 8192                 # capped by the model's own context length
    n_threads: int = 1
    n_threads_batch: int = max(1, min(4, os.cpu_count() or 1))
    kv_cache: bool = True             # save each thread's model state on disk, so it resumes without a long wait
    kv_cache_budget_mb: int = 2048    # disk space for those states; the least recently used go first
    offline: bool = False             # blocks every hosted call and every download
    fallback_provider: str | None = None  # the hosted provider a thread falls back to; None: the first one added
    attachment_max_mb: int = 200      # larger files are refused with a message saying so
    theme: str = "system"             # "system" follows the desktop's light or dark scheme; or "light", "dark"
    max_local_models: int = 1         # local chat models kept in memory at once; another one unloads the oldest
    hosted_utility: bool = False      # titles of a hosted thread may use its hosted model (else a local one)
    # Of the model's window left after the thread and the reply's room, the most a message's attached passages take;
    # at 0.25 (~1,900 tokens of the starter model's 8,192) the evidence page was among them for 8 of the 13
    # FinanceBench dev questions, at 0.4 for 12 (tests/benchmarks/long_documents.py).
    passage_share: float = 0.4
    max_steps: int = 8                # model calls one reply may chain (a tool call and its follow-up are two)
    log_level: str = "info"           # of threadloom.log: debug, info, warning or error (env THREADLOOM_LOG wins)
    worker_memory_mb: int = 0         # a model worker's address-space cap; 0: 80% of the machine's memory
    worker_timeout_s: int = 120       # a model worker silent this long with a request in hand is stopped as hung
    about_me: str = ""                # custom instructions for every new thread: about the user…
    answer_style: str = ""            # …and how to answer
    memory_budget_tokens: int = 600   # the most a new thread's recalled memories take of its prompt
    memory_auto_approve: bool = False  # proposed memories are recalled at once, without waiting in the inbox
    memory_idle_minutes: int = 10     # a thread untouched this long is read for memories (the window); 0: never

    @property
    def kv_cache_enabled(self) -> bool:
        return self.kv_cache and os.environ.get(KV_CACHE_ENV, "").strip().lower() not in ("off", "0", "false", "no")

    @property
    def worker_memory_bytes(self) -> int:
        """The cap on each model worker's address space: `worker_memory_mb`, or 80% of physical memory (at least
        2 GiB), leaving the rest to the window and the desktop."""
        if self.worker_memory_mb > 0:
            return self.worker_memory_mb * 2**20
        try:
            physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, ValueError, OSError):  # no sysconf (Windows): the cap is not applied there anyway
            physical = 16 * 2**30
        return max(2 * 2**30, physical * 4 // 5)

    def with_changes(self, **changes) -> Settings:
        return replace(self, **changes)


def settings_path(data_dir: Path) -> Path:
    return data_dir / "settings.json"


def damaged_path(data_dir: Path) -> Path:
    return data_dir / "settings.json.damaged"


def load_settings(data_dir: Path) -> Settings:
    """Read the settings; unknown keys are ignored.

    Privacy fails closed: a file that is not valid JSON, or holds a value of the wrong type, is set aside as
    `settings.json.damaged`, and until the user fixes it or saves settings again the app runs offline (a damaged
    file might have said so). An unreadable file also means offline."""
    path = settings_path(data_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings(offline=True) if damaged_path(data_dir).exists() else Settings()
    except (OSError, UnicodeDecodeError):
        return Settings(offline=True)
    settings = _parsed(text)
    if settings is None:
        try:
            os.replace(path, damaged_path(data_dir))
        except OSError:
            pass  # another process set it aside first, or the folder is read-only: offline all the same
        return Settings(offline=True)
    if settings.send_key not in SEND_KEYS:
        settings = settings.with_changes(send_key="enter")
    return settings if settings.theme in THEMES else settings.with_changes(theme="system")


def settings_notice(data_dir: Path) -> str | None:
    """The one line to tell the user at start while the settings file is damaged (set aside), else None."""
    load_settings(data_dir)
    if settings_path(data_dir).exists() or not damaged_path(data_dir).exists():
        return None
    return (
        f"settings.json in {data_dir} was damaged and is set aside as settings.json.damaged: offline mode stays on "
        "until you fix and restore it or change a setting (e.g. `threadloom offline off`)"
    )


def _parsed(text: str) -> Settings | None:
    """The settings a file holds, or None when it is damaged: not a JSON object, or a known key of the wrong type."""
    try:
        raw = json.loads(text)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    values = {field.name: raw[field.name] for field in fields(Settings) if field.name in raw}
    if not all(_fits(value, getattr(Settings, name)) for name, value in values.items()):
        return None
    return Settings(**values)


def _fits(value: object, default: object) -> bool:
    """Whether `value` has the type of the field whose default is `default` (a bool is no number here)."""
    if default is None:
        return value is None or isinstance(value, str)
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    return isinstance(value, type(default))


def save_settings(data_dir: Path, settings: Settings) -> None:
    """Write atomically, so a crash mid-write leaves the old file."""
    path = settings_path(data_dir)
    temporary = path.with_suffix(".json.tmp")
    try:
        temporary.write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # on a read-only folder even this fails, and nothing was written
            temporary.unlink(missing_ok=True)
        raise SetupError(
            f"cannot save the settings in {data_dir} ({exc.strerror}): free some space or check that it is writable; "
            "the settings in use are unchanged"
        ) from exc
