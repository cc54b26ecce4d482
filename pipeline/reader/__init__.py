"""The feed reader: poll RSS/Atom feeds and publish raw stories to Kafka, losing nothing.

One module per step: ``feedlist`` (which feeds), ``fetch`` (HTTP with timeouts, size limit,
redirects, conditional GET), ``body`` (a response body decoded layer by layer within the
size limit), ``parse`` (feedparser on the fetched bytes → raw story records),
``store`` (SQLite: feed state, what was seen, the outbox of records waiting for Kafka),
``schedule`` (when each feed is polled next, per-host limits), ``publish`` (outbox → Kafka,
marked published only once Kafka acknowledged) and ``service`` (the loop tying them together).
``safety`` holds the guards (URL schemes, private addresses, XML entity declarations);
``redact`` keeps credentials in feed URLs out of records, logs and status.
"""

from pipeline.reader.options import ReaderOptions

__all__ = ["ReaderOptions"]
