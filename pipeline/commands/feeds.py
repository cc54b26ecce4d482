"""`newswire feeds status`: the health of every feed, from the reader's store."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from pathlib import Path

from pipeline.display import plural
from pipeline.reader.options import ReaderOptions
from pipeline.reader.store import DEFAULT_STORE, FeedState, Store, StoreError
from schemas.timefmt import to_rfc3339

HELP = "show the feed reader's view of each feed (status, errors, next poll); parked records"
DESCRIPTION = (
    "status: one line per feed from the reader's store: last poll, HTTP status, entries "
    "published, consecutive errors, next poll, state, and the last error or problem. "
    "parked: the records Kafka refused for good (too large, invalid), with the reason. "
    "retry: put parked records back in the outbox (after raising the limit that refused them)."
)
COLUMNS = ("feed", "last poll", "HTTP", "published", "errors", "next poll", "state", "last error / problem")


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="feeds_command", metavar="ACTION", required=True)
    status = sub.add_parser("status", help="print a table of the feeds and their health")
    status.add_argument("--store", default=DEFAULT_STORE, metavar="PATH",
                        help="the reader's SQLite store (default: %(default)s)")
    status.add_argument("--all", action="store_true", help="include feeds no longer listed")
    status.add_argument("--failing-after", type=int, default=ReaderOptions().failing_after,
                        metavar="N", help="errors in a row shown as failing (default: %(default)s)")
    parked = sub.add_parser("parked", help="list the records Kafka refused for good, with the reason")
    retry = sub.add_parser("retry", help="put parked records back in the outbox for the next run")
    retry.add_argument("seqs", nargs="*", type=int, metavar="SEQ",
                       help="the records to retry (numbers from `feeds parked`; default: all)")
    for command in (parked, retry):
        command.add_argument("--store", default=DEFAULT_STORE, metavar="PATH",
                             help="the reader's SQLite store (default: %(default)s)")


def _time(epoch: float | None) -> str:
    if not epoch:
        return "-"
    return to_rfc3339(datetime.fromtimestamp(round(epoch), timezone.utc))


def _state(feed: FeedState, failing_after: int) -> str:
    if not feed.active:
        return "not listed"
    if feed.last_poll_at is None:
        return "new"
    if feed.consecutive_errors >= failing_after:
        return "FAILING"
    if feed.consecutive_errors:
        return "error"
    return feed.last_outcome or "ok"


def status_rows(feeds: list[FeedState], failing_after: int) -> list[tuple[str, ...]]:
    return [
        (
            feed.name,
            _time(feed.last_poll_at),
            "-" if feed.last_status is None else str(feed.last_status),
            str(feed.entries_published),
            str(feed.consecutive_errors),
            _time(feed.next_poll_at) if feed.active else "-",
            _state(feed, failing_after),
            (feed.last_error if feed.consecutive_errors else feed.last_problem) or "",
        )
        for feed in feeds
    ]


def format_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in [COLUMNS, *rows]) for i in range(len(COLUMNS) - 1)]
    lines = []
    for row in [COLUMNS, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def _parked(store: Store) -> str:
    names = {feed.id: feed.name for feed in store.feeds(include_inactive=True)}
    lines = ["seq  story_id  revision  bytes  feed  parked at  reason"]
    for row in store.parked():
        lines.append(f"{row.seq}  {row.story_id}  {row.revision}  {row.size}  {names.get(row.feed_id, '?')}  "
                     f"{_time(row.parked_at)}  {row.reason}")
    return "\n".join(lines)


def main(args: argparse.Namespace) -> int:
    if not Path(args.store).exists():
        print(f"newswire feeds: no store at {args.store} (run `newswire ingest --store "
              f"{args.store}` first, or give --store)", file=sys.stderr)
        return 2
    try:
        with Store(args.store) as store:
            if args.feeds_command == "parked":
                print(_parked(store))
                return 0
            if args.feeds_command == "retry":
                moved = store.unpark(args.seqs or None)
                print(f"{moved} parked record(s) back in the outbox: the next `newswire ingest` sends them")
                return 0 if moved or not args.seqs else 1
            feeds = store.feeds(include_inactive=args.all)
            waiting = store.pending_count()
            parked = store.parked_count()
            articles = store.article_outcomes()
    except StoreError as exc:
        print(f"newswire feeds: {exc}", file=sys.stderr)
        return 2
    print(format_table(status_rows(feeds, args.failing_after)))
    failing = sum(1 for feed in feeds if feed.active and feed.consecutive_errors >= args.failing_after)
    if articles:
        outcomes = ", ".join(f"{outcome} {count}" for outcome, count in articles.most_common())
        print(f"\narticle pages of new and edited entries: {outcomes}")
    print(f"\n{plural(len(feeds), 'feed')}, {failing} failing; {plural(waiting, 'record')} "
          f"{'waits' if waiting == 1 else 'wait'} for Kafka; {parked} parked (refused by Kafka "
          "for good: `newswire feeds parked`)")
    return 0
