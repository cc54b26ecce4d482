#!/bin/sh
# Fetch Apache Kafka's jars from Maven Central once per machine and print the directory.
#
#   scripts/kafka_jars.sh            # -> ~/.cache/newswire/kafka-4.4.0/libs (prints the path)
#   KAFKA_VERSION=4.4.0 scripts/kafka_jars.sh
#
# Idempotent: a finished cache (marked by libs/.complete) is reused without touching the
# network. Same logic as `python -m pipeline.kafka_server fetch`, which is what it runs.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-"$here/.venv/bin/python"}
[ -x "$python" ] || python=python3
cd "$here"
exec "$python" -m pipeline.kafka_server fetch ${KAFKA_VERSION:+--version "$KAFKA_VERSION"}
