"""`threadloom route`, `ledger` and `offline`: where a thread's turns may run, and what ever left the machine."""

from __future__ import annotations

import argparse

from app.cli.output import print_json
from app.core.routing import HostedCall, PrivacyRule
from app.platform.paths import data_dir
from app.platform.settings import load_settings, save_settings
from app.services.session import Session


def register(commands: argparse._SubParsersAction) -> None:
    route = commands.add_parser("route", help="show or set a thread's model and privacy rule")
    route.add_argument("thread", type=int, metavar="THREAD_ID")
    route.add_argument("--model", help="the thread's model: a local name, or PROVIDER/MODEL")
    route.add_argument(
        "--privacy",
        choices=[str(rule) for rule in PrivacyRule],
        help="may the thread's content go to a hosted model: never (local-only, the default), ask each time, allowed",
    )
    route.add_argument("--json", action="store_true")
    route.set_defaults(handler=run_route)

    ledger = commands.add_parser("ledger", help="every hosted call: what left this machine, when and where")
    ledger.add_argument("--thread", type=int, metavar="ID", help="only this thread's calls")
    ledger.add_argument("--json", action="store_true")
    ledger.set_defaults(handler=run_ledger)

    offline = commands.add_parser("offline", help="show or set the offline switch (blocks hosted calls and downloads)")
    offline.add_argument("state", nargs="?", choices=["on", "off"])
    offline.add_argument("--json", action="store_true")
    offline.set_defaults(handler=run_offline, needs_session=False)


def run_route(args: argparse.Namespace, session: Session) -> int:
    routing = session.routing
    thread = session.store.get_thread(args.thread)
    if args.model is not None:
        session.router.check_model(args.model)
        routing.set_thread_model(thread.id, args.model)
    if args.privacy is not None:
        routing.set_privacy_rule(thread.id, PrivacyRule(args.privacy))
    thread = session.store.get_thread(thread.id)
    calls = routing.ledger(thread.id)
    data = {
        "thread_id": thread.id,
        "model": thread.model or session.chat.model_name,
        "privacy": str(routing.privacy_rule(thread.id)),
        "left_machine": bool(calls),
        "hosted_calls": len(calls),
    }
    if args.json:
        print_json(data)
    else:
        left = f"content left this machine in {len(calls)} hosted call(s)" if calls else "never left this machine"
        print(f"thread {thread.id}: model {data['model']}, privacy {data['privacy']}; {left}")
    return 0


def call_json(call: HostedCall) -> dict:
    return {
        "id": call.id,
        "thread_id": call.thread_id,
        "message_id": call.message_id,
        "provider": call.provider,
        "base_url": call.base_url,
        "model": call.model,
        "reason": str(call.reason),
        "prompt_tokens": call.prompt_tokens,
        "completion_tokens": call.completion_tokens,
        "tokens_estimated": call.tokens_estimated,
        "created_at": call.created_at.isoformat(),
    }


def run_ledger(args: argparse.Namespace, session: Session) -> int:
    if args.thread is not None:
        session.store.get_thread(args.thread)  # a clear error for an unknown id
    calls = session.routing.ledger(args.thread)
    if args.json:
        print_json({"thread_id": args.thread, "left_machine": bool(calls), "calls": [call_json(c) for c in calls]})
        return 0
    if not calls:
        scope = f"thread {args.thread}" if args.thread is not None else "no thread"
        print(f"{scope}: nothing ever left this machine")
    for call in calls:
        approx = "~" if call.tokens_estimated else ""
        print(
            f"{call.created_at:%Y-%m-%d %H:%M:%S}  thread {call.thread_id:<5} message {call.message_id or '-':<6} "
            f"{call.provider}/{call.model} ({call.reason})  sent {approx}{call.prompt_tokens} tokens, "
            f"received {approx}{call.completion_tokens}"
        )
    return 0


def run_offline(args: argparse.Namespace) -> int:
    folder = data_dir(args.data_dir)
    settings = load_settings(folder)
    if args.state is not None:
        folder.mkdir(parents=True, exist_ok=True)
        settings = settings.with_changes(offline=args.state == "on")
        save_settings(folder, settings)
    if args.json:
        print_json({"offline": settings.offline})
    else:
        print("offline: no hosted calls, no downloads" if settings.offline else "online")
    return 0
