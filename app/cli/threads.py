"""`threadloom threads`: list, show and organise threads (rename, pin, archive, tag, metadata, fork, delete)."""

from __future__ import annotations

import argparse

from app.cli.output import message_json, print_json, shown, thread_json
from app.core.domain import MessageStatus, ThreadFilter
from app.core.errors import InvalidInput, NotFound
from app.core.metadata import parse_pair
from app.services.purge import purge_for_good
from app.services.session import Session


def register(commands: argparse._SubParsersAction) -> None:
    threads = commands.add_parser("threads", help="list, show and organise threads")
    actions = threads.add_subparsers(dest="action", required=True)

    listing = actions.add_parser("list", help="threads, pinned first, then most recently active")
    listing.add_argument("--tag", help="only threads with this tag")
    listing.add_argument("--where", action="append", default=[], metavar="KEY=VALUE", help="metadata must match")
    listing.add_argument("--rated", choices=("up", "down"), help="only threads holding a reply rated so")
    listing.add_argument("--view", help="apply a saved view")
    listing.add_argument("--save-view", metavar="NAME", help="save this filter as a view")
    shown = listing.add_mutually_exclusive_group()
    shown.add_argument("--archived", action="store_true", help="only archived threads")
    shown.add_argument("--all", action="store_true", help="archived threads too")
    shown.add_argument("--deleted", action="store_true", help="deleted threads, which `restore` brings back")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=list_threads)

    show = actions.add_parser("show", help="one thread with every message of every branch")
    show.add_argument("id", type=int)
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=show_thread)

    def single(name: str, help: str, handler, **extra) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=help)
        parser.add_argument("id", type=int)
        parser.add_argument("--json", action="store_true")
        parser.set_defaults(handler=handler, **extra)
        return parser

    single("rename", "give a thread a title", rename).add_argument("title")
    single("pin", "keep a thread at the top", flag, field="pinned", value=True)
    single("unpin", "undo pin", flag, field="pinned", value=False)
    single("archive", "hide a thread from the default list (still searchable)", flag, field="archived", value=True)
    single("unarchive", "undo archive", flag, field="archived", value=False)
    single("restore", "bring back a deleted thread", restore)
    delete = single("delete", "delete a thread (restorable until purged)", delete_thread)
    delete.add_argument("--yes", action="store_true", help="confirm")
    tag = single("tag", "add (or with --remove, remove) tags", tag_thread)
    tag.add_argument("tags", nargs="+", metavar="TAG")
    tag.add_argument("--remove", action="store_true")
    meta = single("meta", "set typed KEY=VALUE metadata (true/false, numbers, YYYY-MM-DD, text)", meta_thread)
    meta.add_argument("pairs", nargs="*", metavar="KEY=VALUE")
    meta.add_argument("--remove", action="append", default=[], metavar="KEY")
    system = single("system", "set the thread's system prompt (its next branch uses it)", set_system_prompt)
    system_text = system.add_mutually_exclusive_group(required=True)
    system_text.add_argument("text", nargs="?")
    system_text.add_argument("--clear", action="store_true", help="no system prompt")
    fork = actions.add_parser("fork", help="start a new thread from a message (the path up to it is copied)")
    fork.add_argument("message_id", type=int)
    fork.add_argument("--title")
    fork.add_argument("--json", action="store_true")
    fork.set_defaults(handler=fork_thread)
    purge = actions.add_parser("purge", help="remove deleted threads for good")
    purge.add_argument("--yes", action="store_true", help="confirm")
    purge.set_defaults(handler=purge_deleted)


def _print_thread(thread, as_json: bool) -> int:
    if as_json:
        print_json(thread_json(thread))
    else:
        labels = "".join(f"  #{tag}" for tag in thread.tags)
        print(f"{thread.id:>6}  {thread.updated_at:%Y-%m-%d %H:%M}  {shown(thread.title)}{shown(labels)}")
    return 0


def set_system_prompt(args: argparse.Namespace, session: Session) -> int:
    thread = session.threads.set_system_prompt(args.id, None if args.clear else args.text)
    if args.json:
        print_json(thread_json(thread) | {"system_prompt": thread.system_prompt})
        return 0
    _print_thread(thread, False)
    print("the thread's next branch (a new thread's first reply, an edit, a regenerated reply) uses it")
    return 0


def list_threads(args: argparse.Namespace, session: Session) -> int:
    store = session.store
    if args.view:
        views = {view.name: view for view in store.saved_views()}
        if args.view not in views:
            raise NotFound(f"no saved view named {args.view!r}; saved views: {', '.join(views) or 'none'}")
        filter = views[args.view].filter
    else:
        filter = ThreadFilter(
            tag=args.tag,
            where=tuple(parse_pair(pair) for pair in args.where),
            include_archived=args.all,
            archived_only=args.archived,
            deleted_only=args.deleted,
            rated=args.rated,
        )
    if args.save_view:
        store.save_view(args.save_view, filter)
    threads = store.list_threads(filter)
    if args.json:
        print_json([thread_json(thread) for thread in threads])
    else:
        for thread in threads:
            _print_thread(thread, False)
    return 0


def show_thread(args: argparse.Namespace, session: Session) -> int:
    store = session.store
    thread = store.get_thread(args.id)
    if args.json:
        print_json(
            {
                **thread_json(thread),
                "messages": [message_json(m) for m in store.messages(thread.id)],
                "summaries": [
                    {"id": s.id, "up_to_message_id": s.up_to_message_id, "content": s.content}
                    for s in store.summaries(thread.id)
                ],
            }
        )
        return 0
    print(f"# {shown(thread.title)}")
    for message in store.current_path(thread.id):
        marker = "" if message.status == MessageStatus.COMPLETE else f" [{message.status}]"
        alternatives = store.siblings(message.id)
        if len(alternatives) > 1:
            marker += f" ‹{[m.id for m in alternatives].index(message.id) + 1}/{len(alternatives)}›"
        print(f"\n## {message.role} (#{message.id}){marker}\n\n{shown(message.content, one_line=False)}")
    return 0


def rename(args: argparse.Namespace, session: Session) -> int:
    return _print_thread(session.store.rename_thread(args.id, args.title), args.json)


def flag(args: argparse.Namespace, session: Session) -> int:
    setter = session.store.set_pinned if args.field == "pinned" else session.store.set_archived
    return _print_thread(setter(args.id, args.value), args.json)


def restore(args: argparse.Namespace, session: Session) -> int:
    return _print_thread(session.store.restore_thread(args.id), args.json)


def delete_thread(args: argparse.Namespace, session: Session) -> int:
    if not args.yes:
        raise InvalidInput(f"deleting thread {args.id} needs --yes (it can be restored until purged)")
    session.chat.delete_thread(args.id)
    return 0


def purge_deleted(args: argparse.Namespace, session: Session) -> int:
    if not args.yes:
        raise InvalidInput("purging removes deleted threads for good: add --yes")
    purged = purge_for_good(session.store)
    print(f"purged {len(purged.thread_ids)} thread(s) and {purged.documents} attachment(s) no thread uses")
    return 0


def tag_thread(args: argparse.Namespace, session: Session) -> int:
    change = session.store.remove_tags if args.remove else session.store.add_tags
    return _print_thread(change(args.id, args.tags), args.json)


def meta_thread(args: argparse.Namespace, session: Session) -> int:
    store = session.store
    thread = store.set_metadata(args.id, dict(parse_pair(pair) for pair in args.pairs))
    if args.remove:
        thread = store.remove_metadata(args.id, args.remove)
    if args.json:
        print_json(thread_json(thread))
    else:
        for key, value in thread.metadata.items():
            print(f"{key}={value}")
    return 0


def fork_thread(args: argparse.Namespace, session: Session) -> int:
    return _print_thread(session.store.fork(args.message_id, title=args.title), args.json)
