"""Apache Kafka on loopback, from Maven Central's jars: for tests and for users with Java.

One node is broker and controller (KRaft). The jars (``org.apache.kafka:kafka_2.13`` and its
runtime dependencies) are resolved with Maven once per machine into
``~/.cache/newswire/kafka-<version>/libs`` (``$NEWSWIRE_CACHE_DIR`` moves the cache); the data
directory is formatted with ``kafka.tools.StorageTool format --standalone`` the first time
and kept, so a restart on the same directory keeps every acknowledged record.

>>> with KafkaServer(port=0) as kafka:          # a temporary data directory
...     kafka.bootstrap                         # '127.0.0.1:PORT'

``python -m pipeline.kafka_server fetch`` resolves the jars and prints their directory
(``scripts/kafka_jars.sh`` runs it; CI calls it before the tests).
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from pipeline.broker import DEFAULT_TOPICS, BrokerError, BrokerProcess, free_port

KAFKA_VERSION = "4.4.0"
SCALA_VERSION = "2.13"
# Matches the log4j-api that kafka_2.13 4.4.0 depends on; it routes Kafka's slf4j logging to
# log4j2 (without a binding slf4j prints nothing at all, which hides start-up errors).
_LOG4J_VERSION = "2.25.5"
JVM_HEAP = "512m"
_MAVEN_TIMEOUT_S = 900
_STOP_GRACE_S = 15.0
_CONTROLLER_PORT_FILE = "newswire-controller-port"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>newswire</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_{scala}</artifactId>
      <version>{version}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""

_LOG4J_CONFIG = """rootLogger.level=INFO
rootLogger.appenderRef.stdout.ref=STDOUT
appender.stdout.type=Console
appender.stdout.name=STDOUT
appender.stdout.layout.type=PatternLayout
appender.stdout.layout.pattern=[%d] %p %m (%c)%n
logger.kafka.name=kafka
logger.kafka.level=INFO
logger.apache.name=org.apache.kafka
logger.apache.level=INFO
"""


def cache_root() -> Path:
    """Where per-machine downloads live: ``$NEWSWIRE_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/newswire``, else ``~/.cache/newswire``."""
    override = os.environ.get("NEWSWIRE_CACHE_DIR")
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "newswire"


def jars_dir(version: str = KAFKA_VERSION) -> Path:
    return cache_root() / f"kafka-{version}" / "libs"


def _tool(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BrokerError(f"Apache Kafka needs `{name}` on PATH ({hint})")
    return path


def fetch_jars(version: str = KAFKA_VERSION) -> Path:
    """Resolve Apache Kafka's jars with Maven into the cache (once); return their directory.

    Concurrent callers wait on a lock file; a finished directory is marked by ``.complete``
    and reused without Maven or the network."""
    libs = jars_dir(version)
    if (libs / ".complete").exists():
        return libs
    mvn = _tool("mvn", "install Maven, e.g. `apt-get install maven`")
    libs.parent.mkdir(parents=True, exist_ok=True)
    with open(libs.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (libs / ".complete").exists():
            return libs
        work = Path(tempfile.mkdtemp(prefix="resolve-", dir=libs.parent))
        try:
            (work / "pom.xml").write_text(
                _POM.format(scala=SCALA_VERSION, version=version, log4j=_LOG4J_VERSION), "utf-8"
            )
            result = subprocess.run(
                [mvn, "-q", "-B", "dependency:copy-dependencies", "-DincludeScope=runtime",
                 f"-DoutputDirectory={work / 'libs'}"],
                cwd=work, check=False, capture_output=True, text=True, timeout=_MAVEN_TIMEOUT_S,
            )
            if result.returncode != 0:
                raise BrokerError(
                    f"Maven could not resolve org.apache.kafka:kafka_{SCALA_VERSION}:{version} "
                    f"(exit {result.returncode}); is Maven Central reachable? Its output:\n"
                    f"{(result.stdout + result.stderr)[-2000:]}"
                )
            (work / "libs" / ".complete").write_text(version, "utf-8")
            shutil.rmtree(libs, ignore_errors=True)
            (work / "libs").rename(libs)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return libs


def _cluster_id() -> str:
    """A random cluster id as Kafka writes them (URL-safe base64 of 16 bytes), never one that
    starts with "-": StorageTool's argument parser would read it as an option (as Kafka's
    own Uuid.randomUuid() avoids too). One id in 64 did, and formatting failed."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class KafkaServer(BrokerProcess):
    """A single-node Apache Kafka (KRaft) on loopback.

    - ``data_dir``: kept between runs (formatted the first time); None makes a temporary one,
      removed by ``stop()``.
    - A PLAINTEXT listener on ``port`` (``bootstrap``) is always there: the admin work and the
      readiness probe use it. ``listeners`` adds more, name → (security protocol, port), with
      their settings in ``properties`` (e.g. ``listener.name.<name>.ssl.client.auth``).
    - ``scram_users``: (mechanism, user, password) written into the metadata at format time.
    - ``kill()`` is kill -9; ``start()`` again restarts on the same ports and data.
    """

    engine = "kafka"

    def __init__(
        self,
        port: int = 9092,
        topics: Sequence[str] = DEFAULT_TOPICS,
        partitions: int = 1,
        data_dir: str | os.PathLike | None = None,
        listeners: Mapping[str, tuple[str, int]] | None = None,
        properties: Mapping[str, str] | None = None,
        scram_users: Sequence[tuple[str, str, str]] = (),
        topic_configs: Mapping[str, Mapping[str, str]] | None = None,
        startup_timeout_s: float = 90.0,
        version: str = KAFKA_VERSION,
    ) -> None:
        super().__init__(port, topics, partitions, startup_timeout_s, topic_configs)
        self.controller_port = free_port()
        self.listeners = dict(listeners or {})
        for name, (protocol, _) in self.listeners.items():
            if name.upper() in ("PLAINTEXT", "CONTROLLER") or not name.isidentifier():
                raise ValueError(f"listeners: {name!r} cannot name an extra listener")
            if protocol not in ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"):
                raise ValueError(f"listeners: {name}: unknown security protocol {protocol!r}")
        self.properties = dict(properties or {})
        self.scram_users = tuple(scram_users)
        self.version = version
        self._temporary = data_dir is None
        self.data_dir = Path(data_dir).resolve() if data_dir is not None else None

    def describe(self) -> str:
        return f"Apache Kafka {self.version}, data in {self.data_dir}"

    def listener_bootstrap(self, name: str) -> str:
        return f"127.0.0.1:{self.listeners[name][1]}"

    def _server_properties(self) -> str:
        names = {"PLAINTEXT": ("PLAINTEXT", self.port), **self.listeners}
        listeners = [f"{name}://127.0.0.1:{port}" for name, (_, port) in names.items()]
        protocols = [f"{name}:{protocol}" for name, (protocol, _) in names.items()]
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "listeners": ",".join([*listeners, f"CONTROLLER://127.0.0.1:{self.controller_port}"]),
            "advertised.listeners": ",".join(listeners),
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": ",".join([*protocols, "CONTROLLER:PLAINTEXT"]),
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{self.controller_port}",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # Topics are created on purpose (a misspelt name must fail, not appear).
            "auto.create.topics.enable": "false",
            **self.properties,
        }
        return "".join(f"{key}={value}\n" for key, value in settings.items())

    def _command(self, workdir: Path) -> list[str]:
        java = _tool("java", "Apache Kafka 4 needs Java 17 or newer")
        libs = fetch_jars(self.version)
        if self.data_dir is None:
            self.data_dir = workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # The controller's address is part of the formatted metadata (the voter set): a
        # restart on the same data directory must use the same port.
        port_file = self.data_dir / _CONTROLLER_PORT_FILE
        if port_file.exists():
            self.controller_port = int(port_file.read_text("utf-8"))
        else:
            port_file.write_text(str(self.controller_port), "utf-8")
        config = workdir / "server.properties"
        config.write_text(self._server_properties(), "utf-8")
        log4j = workdir / "log4j2.properties"
        log4j.write_text(_LOG4J_CONFIG, "utf-8")
        # C1 only: formatting 5.7 -> 1.8 s and start 11.6 -> 6.9 s here (load 6.7 on 2
        # cores); the peak speed it gives up does not matter for a loopback broker.
        base = [
            java, f"-Xmx{JVM_HEAP}", "-Xms64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={log4j}",
            "-cp", f"{libs}/*",
        ]
        if not (self.data_dir / "meta.properties").exists():
            self._format(base, config)
        return [*base, "kafka.Kafka", str(config)]

    def _format(self, base: list[str], config: Path) -> None:
        command = [*base, "kafka.tools.StorageTool", "format", "--standalone",
                   "-t", _cluster_id(), "-c", str(config)]
        for mechanism, user, password in self.scram_users:
            command += ["--add-scram", f"{mechanism}=[name={user},password={password}]"]
        result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise BrokerError(
                f"formatting the Kafka data directory {self.data_dir} failed "
                f"(exit {result.returncode}): {(result.stdout + result.stderr)[-2000:]}"
            )

    def _stop_signal(self) -> int:
        return signal.SIGTERM  # a controlled shutdown: Kafka flushes and closes its logs

    def _stop_grace_s(self) -> float:
        return _STOP_GRACE_S

    def _cleanup(self) -> None:
        if self._temporary and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.kafka_server")
    sub = parser.add_subparsers(dest="action", required=True)
    fetch = sub.add_parser("fetch", help="resolve the jars into the cache; print their directory")
    fetch.add_argument("--version", default=KAFKA_VERSION)
    args = parser.parse_args(argv)
    try:
        print(fetch_jars(args.version))
    except BrokerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
