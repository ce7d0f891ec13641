"""The passages that go with a user message (the context builder's contributor for attachments) and the
citations of a reply. Mixed into AttachmentService, whose `documents`, `retriever` and `attachments` it uses."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from app.core.documents import ChunkText, Citation, Passage, page_heading
from app.core.domain import Message, MessageStatus, Role, Thread
from app.core.errors import NotFound
from app.retrieval.citations import citation, marked_numbers, quoted, verify
from app.services.context import MessageContext

WHOLE_DOCUMENT_CHUNKS = 3  # a document this small goes into the prompt whole instead of being searched
# Chunks ranked per turn before the token budget picks among them (issue 17: the budget, a share of the window, decides
# how many go in, not a fixed count); more than a small window's share holds.
SEARCH_DEPTH = 24
STRONG_HITS = 3  # the best hits bring their neighbouring chunks on the same page
UNKNOWN_WINDOW_TOKENS = 1500  # searched passages' budget when the route's window is not known (a hosted model)
CHARS_PER_TOKEN = 4  # a rough count for budgeting passages before the model's tokenizer sees them


def passage_tokens(passages: list[Passage]) -> int:
    """About as many tokens as the passages take: ~4 characters a token for words, but a digit is a token of its
    own for the starter model's tokenizer (a table chunk measured 2.0 characters a token, prose 5.2)."""
    return sum(len(p.text) + 3 * sum(ch.isdigit() for ch in p.text) for p in passages) // CHARS_PER_TOKEN + 10 * len(
        passages
    )


def merge_by_page(
    hits: list[Passage], page_chunks: Callable[[int, int], list[tuple[int, ChunkText]]], *, strong: int = STRONG_HITS
) -> list[list[Passage]]:
    """Hits (best first) as passages, in the order of each one's best hit: hits on the same page at most one chunk
    apart make one passage. One holding a `strong` best hit gives the span from its first hit to its last with a
    neighbouring chunk on either side, joined along the chunks' overlaps into one span of the page's text (so it
    still verifies against the file), then its best hit alone (what `fit_to_budget` takes first); any other gives
    its best hit."""
    pages: dict[tuple[int, int], list[tuple[int, Passage]]] = {}
    for rank, hit in enumerate(hits):
        pages.setdefault((hit.document_id, hit.page), []).append((rank, hit))
    groups: list[tuple[int, Passage, list[tuple[int, ChunkText]], int, int]] = []  # best rank, best hit, span
    for (document_id, page), ranked in pages.items():
        chunks = page_chunks(document_id, page)
        positions = {chunk_id: index for index, (chunk_id, _) in enumerate(chunks)}
        placed = sorted((positions[hit.chunk_id], rank, hit) for rank, hit in ranked if hit.chunk_id in positions)
        if not placed:
            groups += [(rank, hit, [], 0, 0) for rank, hit in ranked]
            continue
        cluster = [placed[0]]
        for item in placed[1:] + [None]:
            if item is not None and item[0] - cluster[-1][0] <= 2:
                cluster.append(item)
                continue
            rank, hit = min((r, h) for _, r, h in cluster)
            groups.append((rank, hit, chunks, cluster[0][0], cluster[-1][0]))
            cluster = [item] if item is not None else []
    merged: list[list[Passage]] = []
    for rank, best, chunks, first, last in sorted(groups, key=lambda group: group[0]):
        if rank >= strong or not chunks:
            merged.append([best])
            continue
        low, high = max(0, first - 1), min(len(chunks) - 1, last + 1)
        best_at = next(i for i, (chunk_id, _) in enumerate(chunks) if chunk_id == best.chunk_id)
        runs = _joined_runs(chunks[low : high + 1])
        span = next((r for r in runs if r[0] <= best_at - low < r[1]), None)
        if span is None:
            merged.append([best])
            continue
        first_id, chunk = chunks[low + span[0]]
        whole = Passage(first_id, best.document_id, best.file_name, best.page, chunk.start, span[3], span[2], best.score)
        merged.append([whole, best] if whole.text != best.text else [best])
    return merged


def fit_to_budget(merged: list[list[Passage]], budget: float) -> list[Passage]:
    """What of `merge_by_page`'s passages fits `budget` tokens, in their order: every place's best hit first, while
    it fits, then the strong hits grow into their spans with what is left. More places before wider ones: on the
    FinanceBench filings the evidence page's best chunk ranked 6th to 9th for a third of the questions, and spans
    taken first filled the budget with two or three pages (tests/benchmarks/long_documents.py)."""
    chosen: dict[int, Passage] = {}
    left = budget
    for index, choices in enumerate(merged):
        cost = passage_tokens([choices[-1]])
        if cost <= left:
            chosen[index] = choices[-1]
            left -= cost
    for index, choices in enumerate(merged):
        if index in chosen and len(choices) > 1:
            extra = passage_tokens([choices[0]]) - passage_tokens([chosen[index]])
            if extra <= left:
                chosen[index] = choices[0]
                left -= extra
    return [chosen[index] for index in sorted(chosen)]


def _joined_runs(chunks: list[tuple[int, ChunkText]]) -> list[tuple[int, int, str, int]]:
    """Consecutive chunks joined where they overlap or touch: (first index, end index, text, end offset) per run."""
    runs: list[tuple[int, int, str, int]] = []
    for index, (_, chunk) in enumerate(chunks):
        if runs and chunk.start <= runs[-1][3]:
            first, _, text, end = runs[-1]
            if chunk.end > end:
                text += chunk.text[end - chunk.start :]
            runs[-1] = (first, index + 1, text, max(end, chunk.end))
        else:
            runs.append((index, index + 1, chunk.text, chunk.end))
    return runs


class Passages:
    def passages_for(self, thread: Thread, user: Message, *, budget_tokens: int | None = None) -> list[Passage]:
        """The passages that go with user message `user`: stored ones if it had them, else chosen now within
        `budget_tokens` (None: the route's window is not known): small documents whole while they fit, the rest
        searched with the message and the one before it if that one was about them too (a follow-up asks in few
        words), one passage per page."""
        stored = self.documents.message_passages(user.id)
        if stored is not None:
            return stored
        replies = self.documents.store.children(user.id, thread.id)
        if any(reply.status != MessageStatus.STREAMING for reply in replies):
            return []  # answered before anything was attached: its prompt must stay as it was (append-only)
        attachments = [a for a in self.attachments(thread.id) if a.document.chunk_count]
        if not attachments:
            return []
        names = {a.document.id: a.file_name for a in attachments}
        left = budget_tokens if budget_tokens is not None else float("inf")
        passages: list[Passage] = []
        searched = []
        for attachment in attachments:
            document_id = attachment.document.id
            if attachment.document.chunk_count <= WHOLE_DOCUMENT_CHUNKS:
                whole = self.documents.passages_of(document_id, name=names[document_id])
                cost = passage_tokens(whole)
                if cost <= left:
                    passages += whole
                    left -= cost
                    continue
            searched.append(document_id)
        if budget_tokens is None:
            left = UNKNOWN_WINDOW_TOKENS
        if searched and left > 0:
            hits = self.retriever.search(
                self._retrieval_query(thread, user), document_ids=searched, names=names, limit=SEARCH_DEPTH
            )
            passages += fit_to_budget(merge_by_page(hits, self.documents.page_chunks), left)
        self.documents.save_message_passages(user.id, passages)
        return passages

    def _retrieval_query(self, thread: Thread, user: Message) -> str:
        """The message, after the previous user message of its branch when that one was given passages too: "and
        the year before?" is searched with what it follows up on. A message from before the files were attached
        is left out: its words ("a long story") would rank whatever shares them ("Long-term debt") first."""
        parent = self.documents.store.get_message(user.parent_id) if user.parent_id is not None else None
        while parent is not None and parent.role != Role.USER:
            parent = self.documents.store.get_message(parent.parent_id) if parent.parent_id is not None else None
        if parent is None or not parent.content or not self.documents.message_passages(parent.id):
            return user.content
        return f"{parent.content}\n{user.content}"

    def for_message(self, thread: Thread, message: Message, *, budget_tokens: int | None) -> MessageContext | None:
        """The context builder's contributor: numbered passages before the message (the same every time), each
        with its page's heading when it does not start with it."""
        passages = self.passages_for(thread, message, budget_tokens=budget_tokens)
        if not passages:
            return None
        headings = self._headings(passages)
        lines = ["Passages from the attached files; cite the ones you use as [1], [2], …:"]
        for number, passage in enumerate(passages, 1):
            heading = headings.get((passage.document_id, passage.page), ("", -1))
            about = f" ({heading[0]})" if heading[0] and passage.start > heading[1] else ""
            lines.append(f"[{number}] {passage.file_name}, page {passage.page}{about}:\n{passage.text}")
        tokens = passage_tokens(passages) + sum(len(h) for h, _ in headings.values()) // CHARS_PER_TOKEN
        return MessageContext(prefix="\n\n".join(lines) + "\n\nQuestion: ", tokens_hint=tokens, passages=len(passages))

    def _headings(self, passages: list[Passage]) -> dict[tuple[int, int], tuple[str, int]]:
        """(document, page) → (the page's heading, where the page's first chunk starts)."""
        pages: dict[int, set[int]] = {}
        for passage in passages:
            pages.setdefault(passage.document_id, set()).add(passage.page)
        headings = {}
        for document_id, numbers in pages.items():
            for page, opening in self.documents.page_openings(document_id, sorted(numbers)).items():
                headings[(document_id, page)] = (page_heading(opening.text), opening.start)
        return headings

    def citations(self, reply: Message) -> list[Citation]:
        """The passages given with the reply's user message, each checked against the stored file. Those the reply
        marked ([n]) or quoted come first; the rest follow, as the sources the reply was given."""
        saved = self.documents.citations(reply.id)
        if saved or reply.parent_id is None:
            return saved
        passages = self.documents.message_passages(reply.parent_id) or []
        if not passages:
            return []
        marked = marked_numbers(reply.content, count=len(passages))
        used = [n for n, p in enumerate(passages, 1) if n in marked or quoted(reply.content, p.text)]
        order = used + [n for n in range(1, len(passages) + 1) if n not in used]
        cache: dict[int, list[str]] = {}
        result = []
        for number in order:
            passage = passages[number - 1]
            try:
                document = self.documents.document(passage.document_id)
            except NotFound:
                continue
            checked = verify(passage, stored_path=Path(document.stored_path), kind=document.kind, cache=cache)
            result.append(citation(number, passage, stored_path=document.stored_path, verified=checked))
        self.documents.save_citations(reply.id, result)
        return result
