"""Retrieval benchmark on a BEIR-layout data set (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv).

    python tests/benchmarks/retrieval.py --data ../shared/data/beir-scifact --split train

Prints nDCG@10 and recall@100 for BM25 alone, vectors alone and hybrid (RRF), all through the app's own ingest
(files attached to a thread, read, chunked, embedded by the embedding worker) and search; ingest throughput against
raw llama-cpp-python embedding of the same chunks with the same GGUF and threads (ratio); p50/p95 query latency at
the corpus size and at 100k chunks (synthetic chunks added to the same database). Asserts nothing.

Embedding the corpus takes a while on 2 cores; `--workdir DIR` keeps the ingested corpus there, and a later run with
the same DIR skips the ingest (and its throughput figures) and measures search again.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from app.platform.settings import Settings  # noqa: E402
from app.retrieval.search import CANDIDATES, Retriever, vector_bytes  # noqa: E402
from app.services.attachments import AttachmentService
from app.services.ingest import EMBED_BATCH  # noqa: E402
from app.services.embedding import embedding_spec, open_embedder  # noqa: E402
from app.services.models import ModelService  # noqa: E402
from app.store import open_store  # noqa: E402

THROUGHPUT_DOCS = 300  # documents ingested first, timed, and embedded again raw for the throughput ratio
LATENCY_QUERIES = 200
SYNTHETIC_TOTAL = int(os.environ.get("RETRIEVAL_BENCH_CHUNKS", 100_000))  # a smaller figure for a quick try


def load_beir(folder: Path, split: str):
    corpus = {d["_id"]: d for d in map(json.loads, open(folder / "corpus.jsonl", encoding="utf-8"))}
    queries = {q["_id"]: q["text"] for q in map(json.loads, open(folder / "queries.jsonl", encoding="utf-8"))}
    qrels: dict[str, dict[str, int]] = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            qrels.setdefault(row["query-id"], {})[row["corpus-id"]] = int(row["score"])
    return corpus, {q: queries[q] for q in qrels}, qrels


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(gain / math.log2(i + 2) for i, gain in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = 100) -> float:
    hits = {doc for doc in ranked[:k] if relevant.get(doc, 0) > 0}
    return len(hits) / sum(1 for gain in relevant.values() if gain > 0)


def doc_ranking(retriever: Retriever, query: str, mode: str, doc_of_chunk: dict[int, str]) -> list[str]:
    """Chunks ranked as deep as the app ranks them before fusion, then each document at its best chunk's place."""
    ranked: list[str] = []
    seen = set()
    for chunk_id, _ in retriever.rank(query, document_ids=None, limit=CANDIDATES, mode=mode):
        doc = doc_of_chunk.get(chunk_id)
        if doc is not None and doc not in seen:
            seen.add(doc)
            ranked.append(doc)
    return ranked


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--split", required=True)
    parser.add_argument("--models-dir", type=Path, default=REPO / "models")
    parser.add_argument("--threads", type=int, default=1, help="llama.cpp threads, the same for app and baseline")
    parser.add_argument("--workdir", type=Path, help="keep the ingested corpus here; reuse it if already there")
    args = parser.parse_args()

    corpus, queries, qrels = load_beir(args.data, args.split)
    print(f"{args.data.name}: {len(corpus)} documents, {len(queries)} {args.split} queries", flush=True)
    models = ModelService(args.models_dir)
    embedder = open_embedder(models, Settings(n_threads=args.threads))
    embedder.embed(["warm up"])  # start the worker outside the timings
    scratch = args.workdir or Path(tempfile.mkdtemp(prefix="retrieval-bench-"))
    files = write_corpus(corpus, Path(tempfile.mkdtemp(prefix="retrieval-corpus-")))
    throughput(args, models, embedder, files[:THROUGHPUT_DOCS])

    reusing = (scratch / "data" / "threadloom.sqlite3").is_file()
    print(f"work directory {scratch}{' (reusing its ingested corpus)' if reusing else ''}", flush=True)
    store = open_store(scratch / "data")
    service = AttachmentService(store, files_dir=scratch / "data" / "files", embedder=embedder)
    if reusing:
        synthetic = "(SELECT id FROM document WHERE sha256 = 'synthetic')"
        store.db.execute_sql(f"DELETE FROM chunk WHERE document_id IN {synthetic}")
        store.db.execute_sql(f"DELETE FROM attachment WHERE document_id IN {synthetic}")
        store.db.execute_sql("DELETE FROM document WHERE sha256 = 'synthetic'")
    else:
        started = time.perf_counter()
        service.attach(store.create_thread("benchmark").id, files, summarise=False)
        print(f"ingested the whole corpus in {time.perf_counter() - started:.0f}s", flush=True)
    measure(store, service, embedder, queries, qrels, corpus)
    embedder.shutdown()
    store.close()


def write_corpus(corpus, folder: Path) -> list[Path]:
    """One text file per document (title, blank line, text), named by its id: what a user would attach."""
    paths = []
    for doc_id, doc in corpus.items():
        path = folder / f"{doc_id}.txt"
        path.write_text(f"{doc['title']}\n\n{doc['text']}\n", encoding="utf-8")
        paths.append(path)
    return paths


def throughput(args, models: ModelService, embedder, files: list[Path]) -> None:
    """The app's ingest of `files` into a fresh store vs raw llama-cpp-python embedding the same chunks, same GGUF,
    same threads, batches of the same size."""
    scratch = Path(tempfile.mkdtemp(prefix="retrieval-throughput-"))
    store = open_store(scratch / "data")
    service = AttachmentService(store, files_dir=scratch / "data" / "files", embedder=embedder)
    started = time.perf_counter()
    service.attach(store.create_thread("throughput").id, files, summarise=False)
    ingest_s = time.perf_counter() - started
    texts = [text for (text,) in store.db.execute_sql("SELECT text FROM chunk ORDER BY id")]
    store.close()
    from llama_cpp import Llama

    spec = embedding_spec(models)
    raw = Llama(
        model_path=str(models.path_of(spec)), embedding=True, n_ctx=spec.context_length, n_batch=spec.context_length,
        n_ubatch=spec.context_length, n_threads=args.threads, n_threads_batch=args.threads, verbose=False,
    )  # fmt: skip
    started = time.perf_counter()
    for offset in range(0, len(texts), EMBED_BATCH):
        raw.embed(texts[offset : offset + EMBED_BATCH], normalize=True)
    raw_s = time.perf_counter() - started
    raw.close()
    print(
        f"ingest of {len(files)} files, {len(texts)} chunks: app {len(texts) / ingest_s:.2f} chunks/s "
        f"(copy+read+chunk+embed+store), raw embedding {len(texts) / raw_s:.2f} chunks/s, ratio {raw_s / ingest_s:.3f}",
        flush=True,
    )


def measure(store, service, embedder, queries, qrels, corpus) -> None:
    doc_of_chunk = {
        chunk_id: Path(name).stem
        for chunk_id, name in store.db.execute_sql(
            "SELECT chunk.id, attachment.file_name FROM chunk JOIN attachment ON attachment.document_id = chunk.document_id"
        )
    }
    chunk_count = len(doc_of_chunk)
    retriever = Retriever(service.documents, embedder)
    results = {}
    for mode in ("bm25", "vector", "hybrid"):
        ndcgs, recalls = [], []
        for query_id, text in queries.items():
            ranked = doc_ranking(retriever, text, mode, doc_of_chunk)
            ndcgs.append(ndcg_at(ranked, qrels[query_id]))
            recalls.append(recall_at(ranked, qrels[query_id]))
        results[mode] = (statistics.mean(ndcgs), statistics.mean(recalls))
        print(f"{mode:7s} nDCG@10 {results[mode][0]:.4f}  recall@100 {results[mode][1]:.4f}", flush=True)

    # 3. Latency of one hybrid search within the thread's documents (what a chat turn runs), at the corpus size and
    # at SYNTHETIC_TOTAL chunks: with the query embedding (what a user waits for) and without it (the search itself:
    # query vectors computed beforehand).
    sample = random.Random(7).sample(list(queries.values()), min(LATENCY_QUERIES, len(queries)))
    cached = Retriever(service.documents, PrecomputedQueries(embedder, sample))
    print(f"binary prefilter: recall@10 of exact KNN {prefilter_recall(service.documents, cached, sample):.3f}")
    thread_id = store.db.execute_sql("SELECT thread_id FROM attachment LIMIT 1").fetchone()[0]

    def latencies(searcher: Retriever) -> list[float]:
        scope = [a.document.id for a in service.documents.attachments(thread_id)]
        timings = []
        for text in sample:
            started = time.perf_counter()
            searcher.rank(text, document_ids=scope, limit=10)
            timings.append((time.perf_counter() - started) * 1000)
        return timings

    figures = [(chunk_count, latencies(retriever), latencies(cached))]
    add_synthetic_chunks(service, embedder, corpus, SYNTHETIC_TOTAL - chunk_count, thread_id=thread_id)
    figures.append((SYNTHETIC_TOTAL, latencies(retriever), latencies(cached)))
    for chunks, full, search_only in figures:
        print(
            f"hybrid query latency at {chunks} chunks: with query embedding p50 {percentile(full, .5):.1f} ms "
            f"p95 {percentile(full, .95):.1f} ms; search only p50 {percentile(search_only, .5):.1f} ms "
            f"p95 {percentile(search_only, .95):.1f} ms",
            flush=True,
        )


def prefilter_recall(documents, retriever: Retriever, sample: list[str]) -> float:
    """How many of the exact 10 nearest chunks (a brute-force float KNN) the app's vector ranking returns."""
    model = retriever.embedder.model_id
    found = []
    for text in sample:
        vector = vector_bytes(retriever.embedder.embed([text])[0])
        exact = {row[0] for row in documents.db.execute_sql(
            "SELECT chunk_id FROM chunk_vec WHERE embedding MATCH ? AND k = 10 AND model = ?", (vector, model)
        )}  # fmt: skip
        ranked = documents.vector_ranking(vector, model=model, scope=documents.scope(None), limit=10)
        found.append(len(exact & set(ranked)) / len(exact))
    return statistics.mean(found)


class PrecomputedQueries:
    """The embedder with the benchmark queries' vectors computed up front, to time the search alone."""

    def __init__(self, embedder, texts: list[str]) -> None:
        self.model_id, self.dimensions = embedder.model_id, embedder.dimensions
        self._vectors = dict(zip(texts, embedder.embed(texts), strict=True))

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [self._vectors[text] for text in texts]


def add_synthetic_chunks(service: AttachmentService, embedder, corpus, count: int, *, thread_id: int) -> None:
    """Chunks of corpus words with random unit vectors, stored the way ingest stores them (text, FTS, vectors), in
    one more document attached to the thread."""
    import numpy as np

    words = " ".join(d["text"] for d in list(corpus.values())[:2000]).split()
    rng = random.Random(11)
    generator = np.random.default_rng(11)
    document = service.documents.add_document(sha256="synthetic", stored_path="", kind="text", size_bytes=0)
    service.documents.attach(thread_id=thread_id, document_id=document.id, file_name="synthetic.txt", source_path=None)
    store = service.documents.store
    for offset in range(0, count, 2000):
        size = min(count, offset + 2000) - offset
        vectors = generator.standard_normal((size, embedder.dimensions)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        with store.writing():
            ids = []
            for i in range(offset, offset + size):
                text = " ".join(rng.choices(words, k=60))
                ids.append(
                    store.db.execute_sql(
                        'INSERT INTO chunk (document_id, ordinal, page, start, "end", text) VALUES (?, ?, 1, 0, ?, ?) '
                        "RETURNING id",
                        (document.id, i, len(text), text),
                    ).fetchone()[0]
                )
        service.documents.store_chunk_vectors(
            [(chunk_id, vector.tobytes()) for chunk_id, vector in zip(ids, vectors, strict=True)],
            model=embedder.model_id,
        )


if __name__ == "__main__":
    main()
