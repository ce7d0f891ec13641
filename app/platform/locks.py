"""Per-thread turn locks: one reply at a time per thread, across windows, CLIs and services of one data directory.

An OS file lock (`locks/thread-<id>.lock` in the data directory, `flock` on POSIX, `msvcrt.locking` on Windows) is
held while a turn writes its reply. The OS lets go of it when the holder ends, however it ends (kill -9 included),
so a dead holder never blocks the thread. The holder's process id is written into the file, for the refusal to name.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from app.core.errors import Busy

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt


class ThreadLocks:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @contextlib.contextmanager
    def hold(self, thread_id: int) -> Iterator[None]:
        """Hold thread `thread_id`'s lock for the block; raise Busy at once if another turn holds it."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor = os.open(self.directory / f"thread-{thread_id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if not _try_lock(descriptor):
                raise Busy(
                    f"thread {thread_id} is already answering a message (in process {_holder(descriptor)}): wait for "
                    "that reply to end, or stop it, then send again"
                )
            os.ftruncate(descriptor, 0)
            os.write(descriptor, str(os.getpid()).encode())
            yield
        finally:
            os.close(descriptor)  # lets go of the lock


def _try_lock(descriptor: int) -> bool:
    try:
        if fcntl is not None:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # per open file: two services in one process too
        else:
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
    except OSError:
        return False
    return True


def _holder(descriptor: int) -> str:
    try:
        return os.pread(descriptor, 32, 0).decode("ascii").strip() or "unknown"
    except (OSError, AttributeError, UnicodeDecodeError):  # no pread on Windows
        return "unknown"
