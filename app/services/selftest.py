"""`threadloom --self-test`: does this installation work, end to end, on this machine?

Run from a venv or from the packaged bundle, it opens a temporary data folder (the user's own is never touched),
checks sqlite-vec and FTS5 on its connection, loads the starter model from the models folder, has it answer one
short prompt, attaches a passage (read, chunked and embedded by the embedding model) and finds it again by meaning
alone. Each check reports once, as it ends, with its time; a check whose prerequisite failed is skipped (and
counts as failed). Plain Python over the session's services: no Qt here (the CLI adds the window's own check).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.core.documents import DocumentStatus
from app.core.domain import MessageStatus, ReplyFinished
from app.core.errors import ModelUnavailable, ThreadloomError
from app.services.session import Session, open_session
from app.store.health import check_full_text_search, check_vector_search

PROMPT = "Say hello in a few words."
REPLY_MAX_TOKENS = 16  # enough to see that the model answers, few enough to be quick
# The passage to find, a decoy, and a question that shares no content word with the passage: only its meaning
# (the embedding) can find it.
PASSAGE = "The lighthouse keeper climbs the spiral stairs every evening to light the lamp for passing ships."
DECOY = "Sourdough bread needs flour, water, salt and a lively starter, left to rise in a warm kitchen overnight."
QUESTION = "Who guides sailors along the coast after dark?"


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    seconds: float
    detail: str          # what the check found, or why it failed: one line
    skipped: bool = False

    def line(self) -> str:
        """One line for the terminal: `ok   reply            1.23 s  …`."""
        word = "ok" if self.passed else "SKIP" if self.skipped else "FAIL"
        return f"{word:<4} {self.name:<16} {self.seconds:6.2f} s  {self.detail}"


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[], str]  # returns what it found; raises (ThreadloomError, with the reason) when it fails
    needs: tuple[str, ...] = ()


class SelfTest:
    """The checks over one temporary session. `extra` checks (the window's) run after the others, while the
    session is still open; `self.session` is there for them once "data folder" has passed."""

    def __init__(self, models_dir: Path, *, extra: Sequence[Check] = ()) -> None:
        self.models_dir = Path(models_dir)
        self.session: Session | None = None
        self._scratch: Path | None = None
        self._thread_id: int | None = None
        self._passage_document: int | None = None
        self.checks = [
            Check("data folder", self._open),
            Check("sqlite-vec", lambda: check_vector_search(self._open_session().store), needs=("data folder",)),
            Check("fts5", lambda: check_full_text_search(self._open_session().store), needs=("data folder",)),
            Check("chat model", self._load_chat_model, needs=("data folder",)),
            Check("reply", self._reply, needs=("chat model",)),
            Check("embedding", self._embed, needs=("data folder", "sqlite-vec", "fts5")),
            Check("retrieval", self._retrieve, needs=("embedding",)),
            *extra,
        ]

    def run(self, report: Callable[[CheckResult], None] = lambda result: None) -> list[CheckResult]:
        """Run every check in order, calling `report` as each ends; always cleans up the temporary folder."""
        results: dict[str, CheckResult] = {}
        try:
            for check in self.checks:
                missing = [name for name in check.needs if not results.get(name, _NOT_RUN).passed]
                if missing:
                    result = CheckResult(check.name, False, 0.0, f"skipped: needs {', '.join(missing)}", skipped=True)
                else:
                    result = _timed(check)
                results[check.name] = result
                report(result)
        finally:
            self.close()
        return list(results.values())

    def close(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.close()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def _require_installed(self, model: str) -> None:
        try:
            self._open_session().models.require_installed(model)
        except ModelUnavailable as exc:
            raise ModelUnavailable(f"{exc} (the models folder is {self.models_dir})") from exc

    # The checks

    def _open(self) -> str:
        self._scratch = Path(tempfile.mkdtemp(prefix="threadloom-self-test-"))
        self.session = open_session(self._scratch / "data", self.models_dir)
        return f"opened a new database in {self._scratch / 'data'}"

    def _open_session(self) -> Session:
        assert self.session is not None, "the data folder check runs first"
        return self.session

    def _load_chat_model(self) -> str:
        session = self._open_session()
        name = session.chat.model_name
        self._require_installed(name)
        session.router.preload(name)
        path = session.models.path_of(session.models.spec(name))
        return f"{name} from {path} ({path.stat().st_size / 1e6:.0f} MB)"

    def _reply(self) -> str:
        session = self._open_session()
        chat = session.chat
        chat.sampling = dataclasses.replace(chat.sampling, max_tokens=REPLY_MAX_TOKENS, seed=1)
        thread = chat.new_thread()
        self._thread_id = thread.id
        finished = None
        for event in chat.send(thread.id, PROMPT):
            if isinstance(event, ReplyFinished):
                finished = event
                break  # what follows (naming the thread) is not part of the check
        if finished is None:
            raise ThreadloomError("the reply never finished")
        reply = finished.reply
        if reply.status != MessageStatus.COMPLETE:
            raise ThreadloomError(f"the reply ended {reply.status}: {reply.error}")
        text = " ".join(reply.content.split())
        if not text:
            raise ThreadloomError("the model answered with no text")
        tokens = reply.usage.completion_tokens if reply.usage else 0
        shown = text if len(text) <= 40 else text[:39] + "…"
        return f"{tokens} tokens: {shown!r}"

    def _embed(self) -> str:
        session = self._open_session()
        attachments = session.attachments
        self._require_installed(attachments.embedder.model_id)
        thread_id = self._thread_id if self._thread_id is not None else session.chat.new_thread().id
        files = []
        for name, text in (("lighthouse.txt", PASSAGE), ("bread.txt", DECOY)):
            path = self._scratch / name
            path.write_text(text + "\n", encoding="utf-8")
            files.append(path)
        results = attachments.attach(thread_id, files, summarise=False)
        for result in results:
            if result.attachment is None:
                raise ThreadloomError(f"could not attach {Path(result.path).name}: {result.error}")
            document = result.attachment.document
            if document.status != DocumentStatus.READY:
                raise ThreadloomError(document.error or f"{result.attachment.file_name} is {document.status}")
        self._passage_document = results[0].attachment.document.id
        embedder = attachments.embedder
        return f"{len(results)} passages embedded by {embedder.model_id} ({embedder.dimensions} dimensions)"

    def _retrieve(self) -> str:
        attachments = self._open_session().attachments
        ranked = attachments.retriever.rank(QUESTION, document_ids=None, limit=1, mode="vector")
        if not ranked:
            raise ThreadloomError("meaning search found nothing")
        chunk_id, _score = ranked[0]
        passage = attachments.documents.passages([chunk_id], names={}).get(chunk_id)
        if passage is None or passage.document_id != self._passage_document:
            found = passage.text if passage else f"chunk {chunk_id}"
            raise ThreadloomError(f"meaning search for {QUESTION!r} found {found!r}, not the lighthouse passage")
        return f"{QUESTION!r} found the lighthouse passage by meaning alone"


_NOT_RUN = CheckResult("", False, 0.0, "")


def _timed(check: Check) -> CheckResult:
    started = time.perf_counter()
    try:
        detail = check.run()
    except Exception as exc:  # noqa: BLE001 - a self-test reports whatever broke (in a bundle: a missing module)
        return CheckResult(check.name, False, time.perf_counter() - started, _one_line(exc))
    return CheckResult(check.name, True, time.perf_counter() - started, detail)


def _one_line(error: BaseException) -> str:
    """The error's own message for the app's errors (they are written for the user); the type too for others."""
    text = " ".join(str(error).split())
    if isinstance(error, ThreadloomError):
        return text or type(error).__name__
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
