"""`threadloom attach`: attach files or folders to a thread, with progress and a status line per file;
`threadloom attachments`: list a thread's attachments; `threadloom folders`: knowledge folders."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.cli.output import print_json, shown
from app.cli.secret_input import read_secret
from app.core.documents import Attachment, Citation, IngestProgress
from app.core.errors import InvalidInput
from app.services.session import Session


ASK, STDIN = object(), object()  # `--password` alone, `--password-stdin`


def register(commands: argparse._SubParsersAction) -> None:
    attach = commands.add_parser("attach", help="attach files or folders to a thread and index them")
    attach.add_argument("--thread", type=int, metavar="ID", required=True, help="the thread to attach to")
    secret = attach.add_mutually_exclusive_group()
    secret.add_argument("--password", nargs="?", const=ASK, default=None, metavar="",
                        help="an encrypted PDF's password: asked for (not shown), or read from standard input")
    secret.add_argument("--password-stdin", action="store_const", const=STDIN, dest="password",
                        help="read the password from the first line of standard input")
    attach.add_argument("--watch", action="store_true", help="attach folders as knowledge folders, kept in sync")
    attach.add_argument("--no-summary", action="store_true", help="skip the summary by the local model")
    attach.add_argument("--json", action="store_true", help="print the attachments as JSON when done")
    attach.add_argument("paths", nargs="+", metavar="PATH")
    attach.set_defaults(handler=run_attach)

    listing = commands.add_parser("attachments", help="list a thread's attachments and their status")
    listing.add_argument("thread", type=int, metavar="ID")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=run_list)

    folders = commands.add_parser("folders", help="knowledge folders: list, add (for a thread or all), remove")
    folders.add_argument("--json", action="store_true")
    folders.set_defaults(handler=run_folders)
    folder_commands = folders.add_subparsers(dest="folder_command", metavar="ACTION")
    add = folder_commands.add_parser("add", help="watch a folder: its files are indexed and kept in sync")
    add.add_argument("path", metavar="PATH")
    whose = add.add_mutually_exclusive_group(required=True)
    whose.add_argument("--thread", type=int, metavar="ID", help="the thread that draws on it")
    whose.add_argument("--all-threads", action="store_true", help="every thread draws on it")
    add.add_argument("--no-summary", action="store_true", help="skip the summaries by the local model")
    remove = folder_commands.add_parser("remove", help="stop watching a folder; its files leave the threads")
    remove.add_argument("id", type=int, metavar="ID")
    for action in (add, remove):  # `folders add … --json` as well as `folders --json add …`
        action.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="list the folders as JSON")

    sync = commands.add_parser("sync", help="re-index knowledge folders and finish interrupted ingests")
    sync.add_argument("--no-summary", action="store_true", help="skip the summaries by the local model")
    sync.set_defaults(handler=run_sync)


def _password(given: object) -> str | None:
    if given is None:
        return None
    if given is ASK or given is STDIN:
        return read_secret("password", prompt=given is ASK)
    raise InvalidInput(
        "--password takes no value on the command line (other users can read it there): "
        "give --password alone to be asked for it, or pipe it in with --password-stdin"
    )


def attachment_json(attachment: Attachment) -> dict[str, Any]:
    document = attachment.document
    return {
        "id": attachment.id,
        "thread_id": attachment.thread_id,
        "file": attachment.file_name,
        "sha256": document.sha256,
        "kind": document.kind,
        "size_bytes": document.size_bytes,
        "pages": document.pages,
        "chunks": document.chunk_count,
        "status": str(document.status),
        "error": document.error,
        "summary": document.summary,
    }


def citation_json(citation: Citation) -> dict[str, Any]:
    return {
        "number": citation.number,
        "file": citation.file_name,
        "page": citation.page,
        "start": citation.start,
        "end": citation.end,
        "text": citation.text,
        "verified": citation.verified,
    }


def _print_progress(progress: IngestProgress) -> None:
    eta = f", about {progress.eta_s:.0f}s left" if progress.eta_s is not None else ""
    print(
        f"\r{progress.phase} {shown(progress.file_name)}: file {min(progress.files_done + 1, progress.files_total)}"
        f"/{progress.files_total}, pages {progress.pages_done}, chunks {progress.chunks_done}/"
        f"{progress.chunks_total}{eta}\x1b[K",
        end="" if progress.phase != "done" else "\n",
        file=sys.stderr,
        flush=True,
    )


def run_attach(args: argparse.Namespace, session: Session) -> int:
    session.store.get_thread(args.thread)  # a clear error for a thread that does not exist
    service = session.attachments
    if args.watch:
        for path in args.paths:
            service.add_folder(path, thread_id=args.thread)
        changes = service.sync_folders(progress=_print_progress)
        print(", ".join(f"{len(paths)} {kind}" for kind, paths in changes.items()), file=sys.stderr)
        results = [(a.source_path, a, None) for a in service.attachments(args.thread) if a.folder_id]
    else:
        done = service.attach(
            args.thread, args.paths, password=_password(args.password), summarise=not args.no_summary,
            progress=_print_progress,
        )  # fmt: skip
        results = [(r.path, r.attachment, r.error) for r in done]
    failed = False
    for path, attachment, error in results:
        if attachment is None or attachment.document.error:
            failed = True
        if not args.json:
            if attachment is None:
                print(f"{shown(path)}: refused: {shown(error)}")
            else:
                document = attachment.document
                detail = document.error or f"{document.pages} pages, {document.chunk_count} chunks"
                print(f"{shown(attachment.file_name)}: {document.status}: {shown(detail)}")
    if args.json:
        print_json(
            [attachment_json(a) if a else {"file": path, "status": "refused", "error": e} for path, a, e in results]
        )
    return 1 if failed else 0


def run_list(args: argparse.Namespace, session: Session) -> int:
    session.store.get_thread(args.thread)
    attachments = session.attachments.attachments(args.thread)
    if args.json:
        print_json([attachment_json(a) for a in attachments])
    for attachment in [] if args.json else attachments:
        document = attachment.document
        note = document.error or document.summary or ""
        print(f"{attachment.id:>5}  {shown(attachment.file_name)}  {document.status}  {shown(note)}")
    return 0


def run_folders(args: argparse.Namespace, session: Session) -> int:
    service = session.attachments
    if args.folder_command == "add":
        if args.thread is not None:
            session.store.get_thread(args.thread)
        service.add_folder(args.path, thread_id=args.thread)
        changes = service.sync_folders(summarise=not args.no_summary, progress=_print_progress)
        print(", ".join(f"{len(paths)} {kind}" for kind, paths in changes.items()), file=sys.stderr)
    elif args.folder_command == "remove":
        service.remove_folder(args.id)
    folders = [
        {"id": folder.id, "path": folder.path, "thread_id": folder.thread_id, "files": files}
        for folder, files in service.folders()
    ]
    if args.json:
        print_json(folders)
    for folder in [] if args.json else folders:
        whose = f"thread {folder['thread_id']}" if folder["thread_id"] is not None else "all threads"
        print(f"{folder['id']:>5}  {shown(folder['path'])}  {whose}  {folder['files']} files")
    return 0


def run_sync(args: argparse.Namespace, session: Session) -> int:
    summarise = not args.no_summary
    changes = session.attachments.sync_folders(summarise=summarise, progress=_print_progress)
    session.attachments.ingest_pending(summarise=summarise, progress=_print_progress)
    print(", ".join(f"{len(paths)} {kind}" for kind, paths in changes.items()))
    return 0
