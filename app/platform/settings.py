"""User settings, one JSON file in the data directory. Never holds secrets: those live in the OS keyring."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

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
    passage_share: float = 0.25       # of the model's window, the most that a message's attached passages take
    max_steps: int = 8                # model calls one reply may chain (a tool call and its follow-up are two)
    log_level: str = "info"           # of threadloom.log: debug, info, warning or error (env THREADLOOM_LOG wins)

    @property
    def kv_cache_enabled(self) -> bool:
        return self.kv_cache and os.environ.get(KV_CACHE_ENV, "").strip().lower() not in ("off", "0", "false", "no")

    def with_changes(self, **changes) -> Settings:
        return replace(self, **changes)


def settings_path(data_dir: Path) -> Path:
    return data_dir / "settings.json"


def load_settings(data_dir: Path) -> Settings:
    """Read the settings; unknown keys are ignored and a damaged file falls back to defaults."""
    try:
        raw = json.loads(settings_path(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
    known = {f.name for f in fields(Settings)}
    try:
        settings = Settings(**{k: v for k, v in raw.items() if k in known})
    except TypeError:
        return Settings()
    if settings.send_key not in SEND_KEYS:
        settings = settings.with_changes(send_key="enter")
    return settings if settings.theme in THEMES else settings.with_changes(theme="system")


def save_settings(data_dir: Path, settings: Settings) -> None:
    """Write atomically, so a crash mid-write leaves the old file."""
    path = settings_path(data_dir)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(asdict(settings), indent=2), encoding="utf-8")
    os.replace(temporary, path)
