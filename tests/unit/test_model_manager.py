"""The model manager on the real starter GGUF: header checks, add/remove, and downloads from a server on 127.0.0.1
that can cut the connection midway."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import threading
from pathlib import Path

import pytest
from servers import GgufServer

from app.core.errors import DownloadCancelled, InvalidInput, ModelUnavailable, NotFound, OfflineMode, SetupError
from app.services.download import download, partial_path
from app.services.gguf import read_gguf, validate_chat_model
from app.services.models import ModelService, load_catalog


@pytest.fixture(scope="module")
def starter(models_dir: Path) -> Path:
    return models_dir / load_catalog()[0].file


def _cut_copy(source: Path, target: Path, size: int) -> Path:
    with open(source, "rb") as reader:
        target.write_bytes(reader.read(size))
    return target


def test_the_header_of_the_starter_model_is_read_in_full(starter: Path):
    info = validate_chat_model(starter)
    assert (info.architecture, info.quantization, info.context_length) == ("llama", "Q4_1", 8192)
    assert info.has_chat_template and info.license == "apache-2.0"
    assert info.required_size == info.file_size == starter.stat().st_size  # the tensor sizes add up exactly


@pytest.mark.parametrize(
    ("size", "expected"),
    [(100_000, "cut short in its header"), (60_000_000, "truncated or damaged"), (98_362_431, "truncated")],
)
def test_a_truncated_model_is_refused_with_its_name(starter: Path, tmp_path: Path, size: int, expected: str):
    bad = _cut_copy(starter, tmp_path / "cut.gguf", size)
    with pytest.raises(ModelUnavailable) as caught:
        validate_chat_model(bad)
    assert expected in str(caught.value) and str(bad) in str(caught.value)


def test_a_corrupt_header_and_a_non_gguf_are_refused(starter: Path, tmp_path: Path):
    corrupt = tmp_path / "corrupt.gguf"
    data = bytearray(_cut_copy(starter, tmp_path / "x", 4096).read_bytes())
    data[8:16] = (10**12).to_bytes(8, "little")  # an absurd tensor count
    corrupt.write_bytes(bytes(data))
    with pytest.raises(ModelUnavailable, match="cut short|damaged"):
        validate_chat_model(corrupt)
    text = tmp_path / "notes.gguf"
    text.write_text("hello")
    with pytest.raises(ModelUnavailable, match="is not a GGUF file"):
        read_gguf(text)


def test_a_model_bigger_than_free_memory_is_refused(starter: Path):
    with pytest.raises(ModelUnavailable, match="GiB of memory"):
        validate_chat_model(starter, free_memory=1_000_000)


def test_an_embedding_model_is_not_accepted_as_a_chat_model(models_dir: Path):
    embedder = next((s for s in load_catalog() if s.name == "all-minilm-l6-v2"), None)
    if embedder is None or not (models_dir / embedder.file).is_file():
        pytest.skip("the embedding model is not pulled into this models directory")
    with pytest.raises(ModelUnavailable, match="embedding model"):
        validate_chat_model(models_dir / embedder.file)


def test_add_lists_a_valid_model_and_remove_deletes_it(starter: Path, tmp_path: Path):
    models = tmp_path / "models"
    service = ModelService(models, catalog=[])
    source = shutil.copy(starter, tmp_path / "My-Model.Q4_1.gguf")
    spec = service.add(Path(source))
    assert spec.name == "my-model.q4_1"
    assert (spec.quantization, spec.context_length, spec.license) == ("Q4_1", 8192, "apache-2.0")
    assert spec.sha256 == load_catalog()[0].sha256 and spec.source == f"file:{Path(source).resolve()}"
    reopened = ModelService(models, catalog=[])  # the registry survives a restart
    assert [m.spec.name for m in reopened.installed() if m.installed] == ["my-model.q4_1"]
    with pytest.raises(InvalidInput, match="already installed"):
        reopened.add(Path(source))
    reopened.remove("my-model.q4_1")
    assert not (models / "My-Model.Q4_1.gguf").exists()
    assert ModelService(models, catalog=[]).catalog == []
    with pytest.raises(NotFound):
        ModelService(models, catalog=[]).remove("my-model.q4_1")


def test_adding_a_truncated_model_copies_nothing(starter: Path, tmp_path: Path):
    models = tmp_path / "models"
    bad = _cut_copy(starter, tmp_path / "half.gguf", 50_000_000)
    with pytest.raises(ModelUnavailable, match=r"half\.gguf .*truncated"):
        ModelService(models, catalog=[]).add(bad)
    assert not models.exists() or not any(models.iterdir())


@pytest.fixture
def gguf_server(starter: Path):
    server = GgufServer(starter)
    yield server
    server.close()


def test_a_cut_download_resumes_and_is_verified(gguf_server: GgufServer, starter: Path, tmp_path: Path):
    spec = load_catalog()[0]
    gguf_server.cut_after = 30_000_000
    seen = []
    target = download(
        gguf_server.url, tmp_path / spec.file, sha256=spec.sha256, size=spec.size_bytes, progress=seen.append
    )
    assert target.read_bytes() == starter.read_bytes()
    assert gguf_server.requests[0] is None and gguf_server.requests[1].startswith("bytes=")
    assert int(gguf_server.requests[1].removeprefix("bytes=").rstrip("-")) > 0
    assert seen[-1].done == spec.size_bytes and seen[-1].fraction == 1.0
    assert any(p.eta_s is not None for p in seen)
    assert not partial_path(target).exists()


def test_a_cancelled_download_keeps_its_part_and_the_next_pull_resumes(gguf_server: GgufServer, tmp_path: Path):
    spec = dataclasses.replace(load_catalog()[0], name="served", source=gguf_server.url)
    service = ModelService(tmp_path / "models", catalog=[spec])
    cancel = threading.Event()

    def stop_halfway(progress) -> None:
        if progress.done > 40_000_000:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="pull it again to resume"):
        service.pull("served", download_progress=stop_halfway, cancel=cancel)
    kept = partial_path(service.path_of(spec)).stat().st_size
    assert kept > 40_000_000 and not service.is_installed("served")
    path = service.pull("served")
    assert gguf_server.requests[-1] == f"bytes={kept}-"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == spec.sha256


def test_a_download_with_the_wrong_checksum_is_refused_and_removed(gguf_server: GgufServer, tmp_path: Path):
    spec = load_catalog()[0]
    target = tmp_path / spec.file
    with pytest.raises(SetupError, match="does not match its sha256"):
        download(gguf_server.url, target, sha256="0" * 64, size=spec.size_bytes)
    assert not target.exists() and not partial_path(target).exists()


def test_offline_mode_sends_no_download_request(gguf_server: GgufServer, tmp_path: Path):
    with pytest.raises(OfflineMode):
        download(gguf_server.url, tmp_path / "m.gguf", sha256="0" * 64, offline=lambda: True)
    assert gguf_server.requests == []


def test_the_embedding_model_cannot_be_the_default_chat_model(models_dir: Path):
    from app.services.embedding import embedding_spec

    service = ModelService(models_dir)
    with pytest.raises(InvalidInput, match="embedding model"):
        service.default_candidate(embedding_spec(service).name)
    assert service.default_candidate(service.spec().name) == service.spec()
