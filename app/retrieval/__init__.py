"""Hybrid search over attachment chunks (vector KNN ∪ FTS5 BM25, reciprocal rank fusion) and citation checks."""
