"""Short summaries of attached documents by a model; long ones map-reduce over evenly spread groups of chunks.
Mixed into AttachmentService, whose `documents` and `summarise_with` it uses."""

from __future__ import annotations

from app.core.domain import ChatTurn, GenerationRequest, Role, SamplingParams

SUMMARY_GROUPS = 6  # map-reduce: at most this many partial summaries, spread over a long document
SUMMARY_SAMPLING = SamplingParams(temperature=0.2, max_tokens=120, seed=1)


class DocumentSummaries:
    def summarise(self, document_id: int) -> str | None:
        """A short summary by the local model; long documents map-reduce over evenly spread groups of chunks."""
        chunks = [chunk.text for _, chunk in self.documents.chunks(document_id)]
        if not chunks or self.summarise_with is None:
            return None
        groups = _spread_groups(chunks, SUMMARY_GROUPS)
        if len(groups) == 1:
            summary = self._generate(_summary_prompt(groups[0]))
        else:
            partial = [self._generate(_summary_prompt(group)) for group in groups]
            summary = self._generate(_summary_prompt("\n".join(f"- {p}" for p in partial if p), combine=True))
        summary = " ".join(summary.split())
        if summary:
            self.documents.set_summary(document_id, summary)
        return summary or None

    def _generate(self, prompt: str) -> str:
        return self.summarise_with(GenerationRequest((ChatTurn(Role.USER, prompt),), SUMMARY_SAMPLING))


def _spread_groups(chunks: list[str], groups: int, *, per_group: int = 2) -> list[str]:
    """Up to `groups` runs of `per_group` consecutive chunks, spread evenly from the start to the end."""
    if len(chunks) <= per_group:
        return ["\n".join(chunks)]
    starts = sorted({round(i * (len(chunks) - per_group) / max(1, groups - 1)) for i in range(groups)})
    return ["\n".join(chunks[s : s + per_group]) for s in starts]


def _summary_prompt(text: str, *, combine: bool = False) -> str:
    if combine:
        return f"These notes describe parts of one document:\n{text}\n\nSummarise the whole document in two sentences."
    return f"{text}\n\nSummarise the text above in two sentences."
