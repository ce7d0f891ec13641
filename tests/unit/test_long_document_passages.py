"""Passages from long documents (issue 17): the budget is a share of the window left after the thread, and the
prompt says how many passages went in; a strong hit brings its neighbours on the same page and a page's passages
merge into one span that still verifies; the page's heading goes with it; a follow-up is searched with the message
before it."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from app.core.documents import ChunkText, Passage
from app.core.domain import ContextBuilt, MessageStatus, ReplyFinished, Role
from app.platform.settings import Settings
from app.services.attachments import AttachmentService
from app.services.context import MessageContext
from app.services.passages import fit_to_budget, merge_by_page, passage_tokens
from tests.fakes import scripted_services

FILLER = "The committee met again and reviewed the routine matters of the quarter in some detail. "


@pytest.fixture
def service(store, tmp_path: Path) -> AttachmentService:
    return AttachmentService(store, files_dir=tmp_path / "files", embedder=None, max_bytes=5_000_000)


def _report_pdf(path: Path) -> None:
    """Six pages of filler prose, each headed; page 4 holds the heron census in its middle."""
    document = pymupdf.open()
    for number in range(1, 7):
        page = document.new_page()
        body = FILLER * 20
        if number == 4:
            body += "The heron census at Marsh Lake counted 412 nesting pairs. " + FILLER * 20
        page.insert_textbox(pymupdf.Rect(40, 40, 560, 80), f"ANNUAL REPORT, PART {number}", fontsize=11)
        assert page.insert_textbox(pymupdf.Rect(40, 90, 560, 800), body, fontsize=5) >= 0  # all of it fits
    document.save(path)


def _ask(service, store, thread_id: int, text: str, parent_id=None):
    return store.add_message(thread_id, parent_id=parent_id, role=Role.USER, content=text)


def test_a_hit_comes_with_its_neighbours_as_one_span_that_verifies(service, store, tmp_path: Path):
    path = tmp_path / "report.pdf"
    _report_pdf(path)
    thread = store.create_thread("t")
    [result] = service.attach(thread.id, [path], summarise=False)
    document_id = result.attachment.document.id
    page_four = service.documents.page_chunks(document_id, 4)
    assert len(page_four) >= 3, "the test needs a page of several chunks"
    user = _ask(service, store, thread.id, "How many heron nesting pairs at Marsh Lake?")
    passages = service.passages_for(store.get_thread(thread.id), user, budget_tokens=3000)
    on_page = [p for p in passages if p.page == 4]
    assert len(on_page) == 1  # one passage per page
    (passage,) = on_page
    hit = next(i for i, (_, c) in enumerate(page_four) if "412 nesting pairs" in c.text)
    # The span runs from the chunk before the hit to the one after it (where there are such chunks).
    assert passage.start == page_four[max(0, hit - 1)][1].start
    assert passage.end == page_four[min(len(page_four) - 1, hit + 1)][1].end
    assert passages[0].page == 4  # the best page first
    reply = store.add_message(thread.id, parent_id=user.id, role=Role.ASSISTANT, content="412 pairs [1].")
    store.finish_message(reply.id, status=MessageStatus.COMPLETE)
    citations = service.citations(store.get_message(reply.id))
    assert citations[0].page == 4 and citations[0].verified  # the merged text is exactly the page's text there


def test_the_page_heading_goes_with_a_passage_that_does_not_open_its_page(service, store, tmp_path: Path):
    path = tmp_path / "report.pdf"
    _report_pdf(path)
    thread = store.create_thread("t")
    service.attach(thread.id, [path], summarise=False)
    user = _ask(service, store, thread.id, "heron census Marsh Lake")
    # Room for the hit alone, not its neighbours: the passage starts mid-page.
    context = service.for_message(store.get_thread(thread.id), user, budget_tokens=500)
    (passage,) = service.documents.message_passages(user.id)
    assert passage.start > 0 and "412 nesting pairs" in passage.text
    assert "page 4 (ANNUAL REPORT, PART 4):" in context.prefix
    assert context.passages == len(service.documents.message_passages(user.id))


def test_the_budget_decides_how_many_passages_not_a_fixed_count(service, store, tmp_path: Path):
    folder = tmp_path / "notes"
    folder.mkdir()
    for index in range(12):  # too big to go in whole: each is searched
        (folder / f"note{index:02}.txt").write_text((f"Heron note {index}. " + FILLER) * 40)
    thread = store.create_thread("t")
    service.attach(thread.id, [folder], summarise=False)
    generous = _ask(service, store, thread.id, "What do the notes say about herons?")
    many = service.passages_for(store.get_thread(thread.id), generous, budget_tokens=4000)
    assert len(many) > 3 and passage_tokens(many) <= 4000
    tight = _ask(service, store, thread.id, "What do the notes say about herons?")
    few = service.passages_for(store.get_thread(thread.id), tight, budget_tokens=1000)
    assert 1 <= len(few) < len(many) and passage_tokens(few) <= 1000
    nothing = _ask(service, store, thread.id, "What do the notes say about herons?")
    assert service.passages_for(store.get_thread(thread.id), nothing, budget_tokens=5) == []


def test_a_follow_up_is_searched_with_the_message_before_it(service, store, tmp_path: Path):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "lakes.txt").write_text(("Marsh Lake had 412 heron pairs in 2022 and 380 in 2021. " + FILLER * 30))
    (folder / "other.txt").write_text(("The budget for the year before was approved in March. " + FILLER * 30))
    thread = store.create_thread("t")
    service.attach(thread.id, [folder], summarise=False)
    first = _ask(service, store, thread.id, "How many herons nested at Marsh Lake?")
    assert service.passages_for(store.get_thread(thread.id), first, budget_tokens=600)  # its turn was given passages
    reply = store.add_message(thread.id, parent_id=first.id, role=Role.ASSISTANT, content="412 pairs.")
    store.finish_message(reply.id, status=MessageStatus.COMPLETE)
    follow_up = _ask(service, store, thread.id, "and the year before?", parent_id=reply.id)
    passages = service.passages_for(store.get_thread(thread.id), follow_up, budget_tokens=600)
    assert passages and passages[0].file_name == "lakes.txt"


def test_a_message_from_before_the_files_were_attached_is_not_searched_with(service, store, tmp_path: Path):
    """A chat that turns to a file dropped on it mid-way: the earlier, unrelated question ("a long story") would pull
    in whatever shares its words (the trial: "Long-term debt" put a 10-K's balance sheet above its income statement)."""
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "lakes.txt").write_text("Marsh Lake had 412 heron pairs in 2022. " + FILLER * 30)
    (folder / "keepers.txt").write_text("The lighthouse keeper told a long story of the keeper before him. " + FILLER * 30)
    thread = store.create_thread("t")
    story = _ask(service, store, thread.id, "Tell me a long story about a lighthouse keeper.")
    assert service.passages_for(store.get_thread(thread.id), story, budget_tokens=600) == []  # nothing attached yet
    reply = store.add_message(thread.id, parent_id=story.id, role=Role.ASSISTANT, content="Once upon a time…")
    store.finish_message(reply.id, status=MessageStatus.COMPLETE)
    service.attach(thread.id, [folder], summarise=False)
    question = _ask(service, store, thread.id, "How many heron pairs at Marsh Lake?", parent_id=reply.id)
    passages = service.passages_for(store.get_thread(thread.id), question, budget_tokens=600)
    assert passages and passages[0].file_name == "lakes.txt"
    assert all(p.file_name == "lakes.txt" for p in passages)


def _chunk(page: int, start: int, text: str) -> ChunkText:
    return ChunkText(page, start, start + len(text), text)


def test_merging_joins_overlaps_and_keeps_a_gap_apart():
    page = "alpha beta gamma delta epsilon zeta eta theta"
    chunks = [(1, _chunk(1, 0, page[0:16])), (2, _chunk(1, 11, page[11:31])), (3, _chunk(1, 38, page[38:]))]
    hit = Passage(2, 7, "f.pdf", 1, 11, 31, page[11:31], 0.9)
    (choices,) = merge_by_page([hit], lambda document_id, number: chunks)
    whole, fallback = choices
    assert whole.text == page[0:31] and (whole.start, whole.end) == (0, 31)  # chunk 3 is past a gap: not joined
    assert fallback == hit


class CountedPassages:
    """A contributor that records the budget it was given and says it holds two passages."""

    def __init__(self) -> None:
        self.budgets: list[int | None] = []

    def for_message(self, thread, message, *, budget_tokens):
        self.budgets.append(budget_tokens)
        return MessageContext(prefix="[1] a\n[2] b\n", tokens_hint=6, passages=2)


def test_the_budget_is_a_share_of_what_the_thread_leaves_and_the_report_counts_passages(tmp_path: Path):
    contributor = CountedPassages()
    services = scripted_services(tmp_path / "data", window=2000, contributors=[contributor])
    thread = services.chat.new_thread()
    events = list(services.chat.send(thread.id, "hello there"))
    report = next(e for e in events if isinstance(e, ContextBuilt)).report
    assert report.passages == 2
    first_budget = contributor.budgets[-1]
    assert 0 < first_budget < int((2000 - 64) * Settings().passage_share)
    assert next(e for e in events if isinstance(e, ReplyFinished)).reply.status == MessageStatus.COMPLETE
    services.backend().enqueue([" ".join(["word"] * 600)])
    list(services.chat.send(thread.id, "tell me a long story"))
    list(services.chat.send(thread.id, "and then?"))
    assert contributor.budgets[-1] < first_budget  # a longer thread leaves less room, so less for passages
    services.store.close()


def test_only_the_strong_hits_pages_grow_to_spans():
    page = "alpha beta gamma delta epsilon zeta eta theta"
    chunks = {1: [(1, _chunk(1, 0, page[0:16])), (2, _chunk(1, 11, page[11:31]))],
              2: [(3, _chunk(2, 0, page[0:16])), (4, _chunk(2, 11, page[11:31]))]}  # fmt: skip
    strong = Passage(2, 7, "f.pdf", 1, 11, 31, page[11:31], 0.9)
    weak = Passage(4, 7, "f.pdf", 2, 11, 31, page[11:31], 0.1)
    first, second = merge_by_page([strong, weak], lambda document_id, number: chunks[number], strong=1)
    assert first[0].text == page[0:31] and second == [weak]


def test_the_budget_takes_each_places_best_hit_before_any_span():
    """Three places, the first a strong hit with its span: a budget for the three best hits gets them (not the span
    and one more); a budget with room left over grows the strong hit into its span, in the same order."""
    hit = lambda chunk_id, page, text: Passage(chunk_id, 7, "f.pdf", page, 0, len(text), text, 0.5)  # noqa: E731
    words = "word " * 80
    span, best = hit(1, 1, words * 3), hit(1, 1, words)
    merged = [[span, best], [hit(2, 2, words)], [hit(3, 3, words)]]
    one = passage_tokens([best])
    assert passage_tokens([span]) + one > 3 * one  # the span and one more would not leave room for the third
    assert [p.page for p in fit_to_budget(merged, 3 * one)] == [1, 2, 3]
    assert fit_to_budget(merged, 3 * one)[0] == best
    roomy = fit_to_budget(merged, 2 * one + passage_tokens([span]))
    assert roomy[0] == span and [p.page for p in roomy] == [1, 2, 3]
    assert fit_to_budget(merged, one - 1) == []


def test_a_page_heading_is_its_short_opening_lines_and_prose_has_none():
    from app.core.documents import page_heading

    statement = "Table of Contents\nAMAZON.COM, INC.\nCONSOLIDATED BALANCE SHEETS\n(in millions)\nDecember 31,\n2016  2017"
    assert page_heading(statement) == "AMAZON.COM, INC. / CONSOLIDATED BALANCE SHEETS / (in millions)"
    assert page_heading("Our cat refuses to eat dry food and only wants fresh fish every evening, said Ann.\nNo.") == ""


def test_hits_far_apart_on_one_page_stay_separate_passages():
    """A long text file is one page: its hits must not collapse into one passage (or into its best hit alone)."""
    texts = [f"chunk {n} " * 3 for n in range(10)]
    chunks, offset = [], 0
    for n, text in enumerate(texts):
        chunks.append((n + 1, _chunk(1, offset, text)))
        offset += len(text) - 2  # overlapping neighbours
    hits = [Passage(2, 7, "f.txt", 1, chunks[1][1].start, chunks[1][1].end, texts[1], 0.9),
            Passage(9, 7, "f.txt", 1, chunks[8][1].start, chunks[8][1].end, texts[8], 0.5)]  # fmt: skip
    merged = merge_by_page(hits, lambda document_id, number: chunks)
    assert len(merged) == 2 and merged[1][-1].chunk_id == 9
