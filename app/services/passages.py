"""The passages that go with a user message (the context builder's contributor for attachments) and the
citations of a reply. Mixed into AttachmentService, whose `documents`, `retriever` and `attachments` it uses."""

from __future__ import annotations

from pathlib import Path

from app.core.documents import Citation, Passage
from app.core.domain import Message, MessageStatus, Thread
from app.core.errors import NotFound
from app.retrieval.citations import citation, marked_numbers, quoted, verify
from app.services.context import MessageContext

WHOLE_DOCUMENT_CHUNKS = 3  # a document this small goes into the prompt whole instead of being searched
MAX_PASSAGES = 3  # per turn: each passage costs ~300 prompt tokens on a small CPU model
CHARS_PER_TOKEN = 4  # a rough count for budgeting passages before the model's tokenizer sees them


def passage_tokens(passages: list[Passage]) -> int:
    return sum(len(p.text) for p in passages) // CHARS_PER_TOKEN + 10 * len(passages)


class Passages:
    def passages_for(self, thread: Thread, user: Message, *, budget_tokens: int | None = None) -> list[Passage]:
        """The passages that go with user message `user`: stored ones if it had them, else chosen now within
        `budget_tokens` (None: no limit): small documents whole while they fit, the rest searched."""
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
        if searched and left > 0:
            found = self.retriever.search(
                user.content, document_ids=searched, names=names, limit=max(1, MAX_PASSAGES - len(passages))
            )
            for passage in found:
                cost = passage_tokens([passage])
                if cost > left:
                    break
                passages.append(passage)
                left -= cost
        self.documents.save_message_passages(user.id, passages)
        return passages

    def for_message(self, thread: Thread, message: Message, *, budget_tokens: int | None) -> MessageContext | None:
        """The context builder's contributor: numbered passages before the message (the same every time)."""
        passages = self.passages_for(thread, message, budget_tokens=budget_tokens)
        if not passages:
            return None
        lines = ["Passages from the attached files; cite the ones you use as [1], [2], …:"]
        for number, passage in enumerate(passages, 1):
            lines.append(f"[{number}] {passage.file_name}, page {passage.page}:\n{passage.text}")
        return MessageContext(prefix="\n\n".join(lines) + "\n\nQuestion: ", tokens_hint=passage_tokens(passages))

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
