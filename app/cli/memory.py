"""`threadloom memory`: long-term memories (review, search, edit, forget, extract); `threadloom profile`: custom
instructions for new threads."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli.output import print_json, shown
from app.core.memory import Memory, MemoryStatus
from app.core.routing import PrivacyRule
from app.services.session import Session


def register(commands: argparse._SubParsersAction) -> None:
    memory = commands.add_parser("memory", help="long-term memories: the inbox, search, edit, forget")
    actions = memory.add_subparsers(dest="action", required=True)

    def action(name: str, help: str, handler) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help)
        parser.add_argument("--json", action="store_true")
        parser.set_defaults(handler=handler)
        return parser

    listing = action("list", "memories, newest first", list_memories)
    listing.add_argument("--status", choices=[str(s) for s in MemoryStatus], help="only these")
    action("search", "approved memories that match, best first", search).add_argument("query")
    add = action("add", "remember a fact yourself (approved at once)", add_memory)
    add.add_argument("text")
    add.add_argument("--allow-hosted", action="store_true", help="it may go to hosted models (default: never)")
    edit = action("edit", "change a memory's text or whether it may go to hosted models", edit_memory)
    edit.add_argument("id", type=int)
    edit.add_argument("text", nargs="?")
    rule = edit.add_mutually_exclusive_group()
    rule.add_argument("--allow-hosted", action="store_true", help="it may go to hosted models")
    rule.add_argument("--local-only", action="store_true", help="it never leaves this machine")
    action("forget", "remove a memory for good (no copy is left)", forget).add_argument("id", type=int)
    action("inbox", "proposed memories waiting for approval", inbox)
    approve = action("approve", "approve a proposed memory", approve_memory)
    approve.add_argument("id", type=int)
    approve.add_argument("--replace", action="store_true", help="forget the memory it contradicts")
    action("reject", "reject a proposed memory (it is not proposed again)", reject).add_argument("id", type=int)
    action("extract", "propose memories from a thread now, by the local model", extract).add_argument("thread_id", type=int)

    profile = commands.add_parser("profile", help="custom instructions for new threads")
    steps = profile.add_subparsers(dest="action", required=True)
    show = steps.add_parser("show", help="the custom instructions")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=show_profile)
    change = steps.add_parser("set", help="change them (new threads get them)")
    change.add_argument("--about", metavar="TEXT", help="about you")
    change.add_argument("--style", metavar="TEXT", help="how to answer")
    change.add_argument("--json", action="store_true")
    change.set_defaults(handler=set_profile)


def memory_json(memory: Memory) -> dict[str, Any]:
    return {
        "id": memory.id,
        "text": memory.text,
        "status": str(memory.status),
        "sources": [{"thread_id": s.thread_id, "message_id": s.message_id} for s in memory.sources],
        "created_at": memory.created_at.isoformat(),
        "last_used_at": memory.last_used_at.isoformat() if memory.last_used_at else None,
        "uses": memory.uses,
    }


def _print(memories: list[Memory], as_json: bool, session: Session) -> int:
    if as_json:
        print_json([memory_json(m) for m in memories])
        return 0
    for memory in memories:
        where = ", ".join(f"thread {s.thread_id} message {s.message_id}" for s in memory.sources) or "added by you"
        print(f"{memory.id:>6}  {memory.status:<8}  {shown(memory.text)}  ({where})")
        if memory.conflicts_with is not None:
            other = session.memory.get(memory.conflicts_with)
            print(
                f"        contradicts {other.id}: {shown(other.text)} — `memory approve {memory.id} --replace` keeps "
                f"this one, `memory approve {memory.id}` both, `memory reject {memory.id}` the old one"
            )
    return 0


def _one(memory: Memory, as_json: bool, session: Session) -> int:
    if as_json:
        print_json(memory_json(memory))
        return 0
    return _print([memory], False, session)


def list_memories(args: argparse.Namespace, session: Session) -> int:
    status = MemoryStatus(args.status) if args.status else None
    return _print(session.memory.list_memories(status), args.json, session)


def search(args: argparse.Namespace, session: Session) -> int:
    return _print(session.memory.search(args.query), args.json, session)


def add_memory(args: argparse.Namespace, session: Session) -> int:
    privacy = PrivacyRule.ALLOWED if args.allow_hosted else PrivacyRule.LOCAL_ONLY
    outcome = session.memory.add(args.text, status=MemoryStatus.APPROVED, privacy=privacy)
    return _one(outcome.memory, args.json, session)


def edit_memory(args: argparse.Namespace, session: Session) -> int:
    privacy = PrivacyRule.ALLOWED if args.allow_hosted else PrivacyRule.LOCAL_ONLY if args.local_only else None
    return _one(session.memory.edit(args.id, args.text, privacy=privacy), args.json, session)


def forget(args: argparse.Namespace, session: Session) -> int:
    session.memory.forget(args.id)
    if args.json:
        print_json({"id": args.id, "forgotten": True})
    else:
        print(f"memory {args.id} forgotten")
    return 0


def inbox(args: argparse.Namespace, session: Session) -> int:
    return _print(session.memory.inbox(), args.json, session)


def approve_memory(args: argparse.Namespace, session: Session) -> int:
    return _one(session.memory.approve(args.id, replace=args.replace), args.json, session)


def reject(args: argparse.Namespace, session: Session) -> int:
    session.memory.reject(args.id)
    if args.json:
        print_json({"id": args.id, "rejected": True})
    else:
        print(f"memory {args.id} rejected")
    return 0


def extract(args: argparse.Namespace, session: Session) -> int:
    """"Remember from this thread": what was proposed goes to the inbox (or is approved, with auto-approve)."""
    thread = session.store.get_thread(args.thread_id)
    report = session.memory.extract(thread.id)
    proposed = session.memory.list_memories()
    touched = {*report.added, *report.merged, *report.conflicts}
    memories = [m for m in proposed if m.id in touched]
    if args.json:
        return _print(memories, True, session)
    if thread.incognito:
        print(f"thread {thread.id} is incognito: it is never read for memories")
        return 0
    print(
        f"read {report.messages} message(s): {len(report.added)} new, {len(report.merged)} merged into existing "
        f"memories, {len(report.conflicts)} contradicting one, {report.skipped_forgotten} forgotten before"
    )
    return _print(memories, False, session)


def _profile_json(session: Session) -> dict[str, str]:
    settings = session.settings_service.stored()
    return {"about": settings.about_me, "style": settings.answer_style}


def show_profile(args: argparse.Namespace, session: Session) -> int:
    profile = _profile_json(session)
    if args.json:
        print_json(profile)
    else:
        print(f"about me:      {shown(profile['about']) or '(none)'}")
        print(f"how to answer: {shown(profile['style']) or '(none)'}")
    return 0


def set_profile(args: argparse.Namespace, session: Session) -> int:
    changes = {}
    if args.about is not None:
        changes["about_me"] = args.about.strip()
    if args.style is not None:
        changes["answer_style"] = args.style.strip()
    if changes:
        session.settings_service.change(**changes)
    show_profile(args, session)
    if not args.json:
        print("new threads get these; threads there are keep what they started with")
    return 0
