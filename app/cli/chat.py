"""`threadloom chat`: send a message, stream the reply."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from app.cli.attach import _print_progress, citation_json
from app.cli.memory import memory_json
from app.cli.output import print_json
from app.core.domain import (
    ContextBuilt,
    ContextReport,
    Message,
    MessageStatus,
    ReplyFinished,
    ReplyStarted,
    TokenEvent,
    ToolCallsChanged,
)
from app.core.errors import InvalidInput
from app.core.reasoning import LONGEST_MARKER, split_reasoning
from app.core.tools import ToolCall, ToolCallStatus
from app.services.session import Session
from app.services.transfer import tool_call_line, tool_call_summary

EXIT_PENDING = 3  # the reply waits for your answer to a tool call (`threadloom approve|deny CALL_ID`)


def register(commands: argparse._SubParsersAction) -> None:
    chat = commands.add_parser("chat", help="send a message and stream the reply to stdout")
    target = chat.add_mutually_exclusive_group()
    target.add_argument("--thread", type=int, metavar="ID", help="continue this thread")
    target.add_argument("--new", action="store_true", help="start a new thread (the default)")
    chat.add_argument("--json", action="store_true", help="print one JSON object when the reply is done")
    chat.add_argument("--incognito", action="store_true", help="the new thread neither reads nor writes memory")
    chat.add_argument("--assistant", metavar="NAME", help="start the new thread from this saved set-up")
    rerun = chat.add_mutually_exclusive_group()
    rerun.add_argument("--edit", type=int, metavar="MESSAGE_ID", help="replace your message (a new branch)")
    rerun.add_argument("--regenerate", type=int, metavar="MESSAGE_ID", help="a new reply beside this one")
    chat.add_argument(
        "--model",
        metavar="MODEL",
        help="answer this turn with MODEL: a local model's name or PROVIDER/MODEL (hosted, where the thread allows); "
        "with --regenerate this is an upgrade",
    )
    chat.add_argument(
        "--allow-hosted", action="store_true", help="yes for this turn, on a thread that asks before using a hosted model"
    )
    tools = chat.add_mutually_exclusive_group()
    tools.add_argument(
        "--tools", metavar="NAME,NAME", help="the tools this thread may call from now on (`threadloom tools list`)"
    )
    tools.add_argument("--no-tools", action="store_true", help="this thread calls no tools from now on")
    chat.add_argument(
        "--require-tool", action="store_true", help="the reply starts with a call of one of the thread's tools"
    )
    chat.add_argument("message", nargs="?", help="the message to send (not with --regenerate)")
    chat.set_defaults(handler=run)


def _events(args: argparse.Namespace, session: Session):
    """The turn the arguments ask for, and its thread id."""
    chat = session.chat
    if args.edit is not None or args.regenerate is not None:
        message = session.store.get_message(args.edit if args.edit is not None else args.regenerate)
        if args.thread is not None and args.thread != message.thread_id:
            raise InvalidInput(f"message {message.id} belongs to thread {message.thread_id}, not {args.thread}")
        if args.regenerate is not None:
            return message.thread_id, chat.regenerate(message.id, model=args.model, allow_hosted=args.allow_hosted)
        return message.thread_id, chat.edit(message.id, args.message or "", allow_hosted=args.allow_hosted)
    if args.message is None:
        raise InvalidInput("give the message to send")
    if args.thread is not None and (args.incognito or args.assistant):
        raise InvalidInput("--incognito and --assistant start a new thread; leave out --thread")
    if args.require_tool and args.no_tools:
        raise InvalidInput("--require-tool needs tools; leave out --no-tools")
    thread_id = args.thread if args.thread is not None else _new_thread(args, session)
    _choose_tools(args, session, thread_id)
    return thread_id, chat.send(
        thread_id, args.message, model=args.model, allow_hosted=args.allow_hosted, require_tool=args.require_tool
    )


def _choose_tools(args: argparse.Namespace, session: Session, thread_id: int) -> None:
    if args.no_tools:
        session.tools.choose(thread_id, [])
    elif args.tools is not None:
        names = [name.strip() for name in args.tools.split(",") if name.strip()]
        if not names:
            raise InvalidInput("--tools needs tool names (or use --no-tools)")
        session.tools.choose(thread_id, names)


def _new_thread(args: argparse.Namespace, session: Session) -> int:
    if args.assistant is None:
        return session.chat.new_thread(incognito=args.incognito).id
    assistant = session.assistants.get(args.assistant)
    thread = session.assistants.start_thread(assistant.name, incognito=args.incognito)
    if assistant.folders:  # index them before the first reply draws on them
        session.attachments.sync_folders(progress=_print_progress)
    return thread.id


def run(args: argparse.Namespace, session: Session) -> int:
    thread_id, events = _events(args, session)
    return report_turn(args, session, thread_id, events)


def report_turn(args: argparse.Namespace, session: Session, thread_id: int, events) -> int:
    """Stream a turn's reply to stdout (each tool call as a line on stderr), or print it as JSON at the end; the
    exit status (EXIT_PENDING when a tool call waits for the user's answer)."""
    started: ReplyStarted | None = None
    finished: ReplyFinished | None = None
    context: ContextReport | None = None
    shown_calls: dict[int, ToolCallStatus] = {}
    streamed = ThinkingApart(sys.stdout, sys.stderr)
    for event in events:
        if isinstance(event, ReplyStarted):
            started = event
        elif isinstance(event, ContextBuilt):
            context = event.report
        elif isinstance(event, TokenEvent) and not args.json:
            streamed.feed(event.text)
        elif isinstance(event, ToolCallsChanged) and not args.json:
            _print_new_calls(event.calls, shown_calls)
        elif isinstance(event, ReplyFinished):
            finished = event
    assert started is not None and finished is not None
    reply = finished.reply
    if args.json:
        usage = reply.usage
        timings = reply.timings
        print_json(
            {
                "thread_id": thread_id,
                "message_id": reply.id,
                "user_message_id": started.user_message.id,
                "reply": reply.content,
                "reasoning": reasoning_json(reply),
                "status": str(reply.status),
                "finish_reason": finished.finish_reason,
                "error": reply.error,
                "model": reply.model,
                "usage": {
                    "prompt_tokens": usage.prompt_tokens if usage else 0,
                    "completion_tokens": usage.completion_tokens if usage else 0,
                    "cached_tokens": usage.cached_tokens if usage else 0,
                },
                "timings": {
                    "ttft_s": timings.ttft_s if timings else None,
                    "tokens_per_s": timings.tokens_per_s if timings else None,
                },
                "citations": [citation_json(c) for c in session.attachments.citations(reply)],
                "context": context_json(context),
                "memories": [memory_json(m) for m in session.thread_start.used_by(reply)],
                "tool_calls": [tool_call_summary(call) for call in session.tools.calls(reply.id)],
            }
        )
    else:
        streamed.finish()
        print()
    if reply.status in (MessageStatus.ERROR, MessageStatus.INTERRUPTED):
        print(f"threadloom: error: {reply.error}", file=sys.stderr)
        return 1
    if reply.status == MessageStatus.PAUSED:
        pending = next(c for c in session.tools.calls(reply.id) if c.status == ToolCallStatus.PENDING)
        print(
            f"threadloom: waiting for your answer: tool call {pending.id} wants to run {pending.name} "
            f"({pending.server}) with {pending.arguments}; `threadloom approve {pending.id} [--always]` or "
            f"`threadloom deny {pending.id}`",
            file=sys.stderr,
        )
        return EXIT_PENDING
    return 0


class ThinkingApart:
    """A streamed reply's thinking goes to `thinking` (after a "Thinking…" line, dimmed on a terminal), its answer
    to `answer`: the reply on stdout is the answer alone, as stored. While the section is open, its last few
    characters wait, as they may be the start of the closing marker."""

    def __init__(self, answer: TextIO, thinking: TextIO) -> None:
        self._answer, self._thinking = answer, thinking
        self._dim = thinking.isatty()
        self._text = ""
        self._thought = self._answered = 0  # characters of each written so far
        self._thinking_shown = False

    def feed(self, piece: str) -> None:
        self._text += piece
        split = split_reasoning(self._text, streaming=True)
        thought = split.reasoning or ""
        ready = len(thought) - LONGEST_MARKER if split.thinking else len(thought)
        if ready > self._thought:
            self._write_thinking(thought[self._thought : ready])
            self._thought = ready
        if len(split.answer) > self._answered:
            if self._thinking_shown and not self._answered:
                self._write_thinking("\n")  # the thinking ends on its own line
            self._answer.write(split.answer[self._answered :])
            self._answer.flush()
            self._answered = len(split.answer)

    def finish(self) -> None:
        """The reply ended: what waited of a section never closed is written."""
        thought = split_reasoning(self._text, streaming=True).reasoning or ""
        if len(thought) > self._thought:
            self._write_thinking(thought[self._thought :])
            self._thought = len(thought)

    def _write_thinking(self, text: str) -> None:
        if not self._thinking_shown:
            self._thinking_shown = True
            text = "Thinking…\n" + text
        self._thinking.write(f"\x1b[2m{text}\x1b[0m" if self._dim else text)
        self._thinking.flush()


def _print_new_calls(calls: tuple[ToolCall, ...], shown: dict[int, ToolCallStatus]) -> None:
    """One stderr line per call as it settles (done, failed, refused, waiting)."""
    for call in calls:
        if call.status != ToolCallStatus.RUNNING and shown.get(call.id) != call.status:
            shown[call.id] = call.status
            print(tool_call_line(call).removeprefix("> "), file=sys.stderr)


def context_json(report: ContextReport | None) -> dict | None:
    """How the last prompt of the reply was fitted to the model's window (None: no model call was made)."""
    if report is None:
        return None
    return {
        "tokens": report.tokens,
        "window": report.window,
        "folded": list(report.folded),
        "left_out": [{"what": o.what, "tokens": o.tokens, "message_id": o.message_id} for o in report.left_out],
        "passages": report.passages,
    }


def reasoning_json(reply: Message) -> dict | None:
    """A reasoning model's thinking, apart from `reply`; None when it did not think aloud."""
    if reply.reasoning is None:
        return None
    return {"text": reply.reasoning, "seconds": reply.reasoning_s}
