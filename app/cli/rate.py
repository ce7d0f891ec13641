"""`threadloom rate`: 👍 or 👎 (with an optional note) on a reply, or clear its rating."""

from __future__ import annotations

import argparse

from app.cli.output import print_json, shown
from app.core.insights import Rating, RatingValue
from app.services.session import Session


def register(commands: argparse._SubParsersAction) -> None:
    rate = commands.add_parser("rate", help="rate a reply up or down (with an optional note), or clear its rating")
    rate.add_argument("message_id", type=int, metavar="MESSAGE_ID")
    rate.add_argument("value", choices=("up", "down", "clear"))
    rate.add_argument("--note", help="why (kept with the rating and exported with it)")
    rate.add_argument("--json", action="store_true")
    rate.set_defaults(handler=run_rate)


def rating_json(message_id: int, thread_id: int, rating: Rating | None) -> dict:
    return {
        "message_id": message_id,
        "thread_id": thread_id,
        "rating": None if rating is None else str(rating.value),
        "note": None if rating is None else rating.note,
        "rated_at": None if rating is None else rating.rated_at.isoformat(),
    }


def run_rate(args: argparse.Namespace, session: Session) -> int:
    value = None if args.value == "clear" else RatingValue(args.value)
    rating = session.insights.rate(args.message_id, value, note=args.note)
    message = session.store.get_message(args.message_id)
    if args.json:
        print_json(rating_json(message.id, message.thread_id, rating))
    elif rating is None:
        print(f"message {message.id}: rating cleared")
    else:
        note = f" ({shown(rating.note)})" if rating.note else ""
        print(f"message {message.id}: rated {rating.value}{note}")
    return 0
