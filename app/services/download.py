"""Fetch a large file over HTTP(S): resumable, sha256-verified, cancellable, with progress and an ETA.

The bytes land in `<target>.part` next to the target; a cut connection is resumed with a Range request (a few
times in a row, then on the next pull), and only a file whose sha256 matches is renamed into place. A wrong
checksum removes the partial file, so the next try starts clean instead of resuming garbage.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import DownloadCancelled, OfflineMode, SetupError

CHUNK = 1 << 20
RETRIES = 5  # consecutive cut connections resumed in one pull before giving up


@dataclass(frozen=True, slots=True)
class DownloadProgress:
    done: int
    total: int
    bytes_per_s: float
    eta_s: float | None  # None until the speed is known

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0


class RateMeter:
    """Speed and ETA from the bytes of this session only (resumed bytes would fake a speed)."""

    def __init__(self, total: int, already: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self._start_bytes, self._clock = total, already, clock
        self._started = clock()

    def progress(self, done: int) -> DownloadProgress:
        elapsed = self._clock() - self._started
        fresh = done - self._start_bytes
        speed = fresh / elapsed if elapsed > 0 and fresh > 0 else 0.0
        eta = (self.total - done) / speed if speed else None
        return DownloadProgress(done, self.total, speed, eta)


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


def partial_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.part")


def _hash_existing(path: Path) -> tuple[hashlib._Hash, int]:
    digest = hashlib.sha256()
    size = 0
    if path.exists():
        with open(path, "rb") as handle:
            while block := handle.read(CHUNK):
                digest.update(block)
                size += len(block)
    return digest, size


def download(
    url: str,
    target: Path,
    *,
    sha256: str,
    size: int | None = None,
    offline: Callable[[], bool] = lambda: False,
    progress: Callable[[DownloadProgress], None] | None = None,
    cancel: threading.Event | None = None,
    timeout_s: float = 30.0,
) -> Path:
    """Download `url` to `target`, resuming a partial file left by an earlier try. Returns `target`."""
    if offline():
        raise OfflineMode(f"offline mode is on: not downloading {target.name}; turn it off with `threadloom offline off`")
    part = partial_path(target)
    digest, done = _hash_existing(part)
    if size is not None and done > size:  # bigger than the real file: not a prefix of it
        part.unlink()
        digest, done = hashlib.sha256(), 0
    meter = RateMeter(size or 0, done)
    failures = 0
    import httpx  # here, not at start: ~0.1 s of a cold start for a download that most starts never make

    with httpx.Client(timeout=timeout_s, follow_redirects=True) as client:
        while True:
            headers = {"Range": f"bytes={done}-"} if done else {}
            try:
                with client.stream("GET", url, headers=headers) as response:
                    if response.status_code == 416 and size is not None and done == size:
                        break  # already whole
                    if response.status_code not in (200, 206):
                        raise SetupError(f"could not download {target.name} from {url}: HTTP {response.status_code}")
                    if response.status_code == 200 and done:  # the server ignored Range: start over
                        digest, done = hashlib.sha256(), 0
                        part.unlink(missing_ok=True)
                    total = size or done + int(response.headers.get("content-length", 0))
                    meter.total = total
                    with open(part, "ab") as sink:
                        for block in response.iter_bytes(CHUNK):
                            if cancel is not None and cancel.is_set():
                                raise DownloadCancelled(
                                    f"download of {target.name} stopped; pull it again to resume from {done:,} bytes"
                                )
                            sink.write(block)
                            digest.update(block)
                            done += len(block)
                            if progress:
                                progress(meter.progress(done))
                if size is None or done >= size:
                    break
                failures += 1  # the body ended early without an error: treat it as a cut
            except (httpx.TransportError, httpx.StreamError) as exc:
                failures += 1
                if failures > RETRIES:
                    raise SetupError(
                        f"could not download {target.name} from {url} ({type(exc).__name__}); "
                        f"{done:,} bytes are kept and the next pull resumes from there"
                    ) from exc
            if failures > RETRIES:
                raise SetupError(f"the download of {target.name} keeps ending early; the next pull resumes it")
    if digest.hexdigest() != sha256:
        part.unlink(missing_ok=True)
        raise SetupError(
            f"the download of {target.name} does not match its sha256 (got {digest.hexdigest()}); "
            f"the file was removed and nothing was installed"
        )
    os.replace(part, target)
    return target
