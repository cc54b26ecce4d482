"""kafka-python clients with the settings every part of newswire shares.

One place decides how we talk to Kafka: producers wait for all in-sync replicas and are
idempotent (a retry cannot duplicate a record), consumers never auto-commit (offsets are
committed by the code that knows the records are durably processed) and join groups with
short timeouts (see README: "Kafka client settings").
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import (
    KafkaError,
    KafkaTimeoutError,
    SaslAuthenticationFailedError,
    TopicAlreadyExistsError,
    UnsupportedSaslMechanismError,
)

from pipeline.kafka_probe import probe
from pipeline.kafka_security import Secret

log = logging.getLogger(__name__)

_TOPIC_NAME = re.compile(r"^[A-Za-z0-9._-]{1,249}$")

PRODUCER_DEFAULTS: dict[str, Any] = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 5,
    # kafka-python's default 16 KiB batches hold ~6 stories; 256 KiB batches produced
    # 2.4 KB values ~5x faster on the embedded broker.
    "batch_size": 256 * 1024,
    "client_id": "newswire",
    "bootstrap_timeout_ms": 10_000,
}
CONSUMER_DEFAULTS: dict[str, Any] = {
    "enable_auto_commit": False,
    "auto_offset_reset": "earliest",
    # Default group timeouts make a group join take ~20 s; these take a few seconds.
    "session_timeout_ms": 6000,
    "heartbeat_interval_ms": 1000,
    "max_poll_interval_ms": 60000,
    "client_id": "newswire",
    "bootstrap_timeout_ms": 10_000,
}
# Exit status of every command that could not reach Kafka or was refused by it (README).
EXIT_KAFKA_UNAVAILABLE = 3

# Security settings (kafka-python names) every client of this process gets: set once by the
# command line from --kafka-config / NEWSWIRE_KAFKA_* (pipeline/kafka_security.py).
_security: dict[str, Any] = {}
_security_env: dict[str, str] = {}


class KafkaUnavailable(KafkaError):
    """Kafka could not be reached or refused our credentials; the message is one line that
    names the address and what to check. Retriable: the broker may come (back) later."""

    retriable = True

    def __init__(self, message: str) -> None:
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class _RedactSecrets(logging.Filter):
    """Replaces the secrets in force by *** in every log line. kafka-python logs the SASL
    PLAIN handshake, password included, at DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = [str(value) for value in _security.values() if isinstance(value, Secret) and value]
        if secrets:
            message = record.getMessage()
            if any(secret in message for secret in secrets):
                for secret in secrets:
                    message = message.replace(secret, "***")
                record.msg, record.args = message, ()
        return True


_REDACT = _RedactSecrets()


def use_security(settings: Mapping[str, Any], config_file: str | None = None) -> None:
    """Give every Kafka client this process builds these security settings (kafka-python
    ``security_protocol``, ``sasl_*``, ``ssl_*``); an empty mapping means plaintext.
    ``config_file`` (the --kafka-config file) is handed to child processes. The log
    handlers in place get a filter that masks the secrets."""
    _security.clear()
    _security.update(settings)
    for handler in logging.getLogger().handlers:
        if _REDACT not in handler.filters:
            handler.addFilter(_REDACT)
    _security_env.clear()
    if config_file:
        _security_env["NEWSWIRE_KAFKA_CONFIG"] = os.path.abspath(config_file)


def security_environment() -> dict[str, str]:
    """Environment variables that give a child ``newswire`` process the same settings (the
    NEWSWIRE_KAFKA_* variables are inherited anyway)."""
    return dict(_security_env)


def client_security() -> dict[str, Any]:
    """The security settings in force (see ``use_security``)."""
    return dict(_security)


def check_topic_name(name: str, option: str = "topic") -> str:
    """Return ``name`` if Kafka accepts it as a topic name, else raise ValueError naming the
    option. Brokers may create a misspelled topic silently, so names are checked up front."""
    if not isinstance(name, str) or not _TOPIC_NAME.match(name) or name in (".", ".."):
        raise ValueError(
            f"{option}: {name!r} is not a valid Kafka topic name "
            "(1-249 characters of letters, digits, '.', '_' and '-')"
        )
    return name


def check_bootstrap_servers(value: str, option: str = "--bootstrap-servers") -> str:
    """Return ``value`` if it is a comma-separated list of HOST:PORT, else raise ValueError."""
    servers = [part.strip() for part in str(value).split(",") if part.strip()]
    for server in servers:
        host, sep, port = server.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{option}: {server!r} is not HOST:PORT (e.g. 127.0.0.1:9092)")
    if not servers:
        raise ValueError(f"{option}: empty; give HOST:PORT[,HOST:PORT...]")
    return ",".join(servers)


def _checked(kind: str, allowed: dict[str, Any], overrides: dict[str, Any]) -> None:
    unknown = sorted(set(overrides) - set(allowed))
    if unknown:
        raise ValueError(f"unknown {kind} setting(s) {unknown}: see kafka-python's {kind} docs")


def _connected(client: type, bootstrap_servers: str, settings: dict[str, Any], *topics: str):
    """Build a kafka-python client (they connect in their constructor); a failure to reach
    or log in to Kafka becomes one ``KafkaUnavailable`` line, within the bootstrap timeout."""
    timeout_s = settings.get("bootstrap_timeout_ms", 30_000) / 1000
    problem = probe(bootstrap_servers, settings, timeout_s)
    if problem:
        raise KafkaUnavailable(problem)
    try:
        return client(*topics, bootstrap_servers=bootstrap_servers, **settings)
    except (SaslAuthenticationFailedError, UnsupportedSaslMechanismError) as exc:
        raise KafkaUnavailable(_login_refused(bootstrap_servers, settings, exc)) from None
    except KafkaTimeoutError as exc:
        problem = probe(bootstrap_servers, settings, min(timeout_s, 5.0))
        if problem is None and str(settings.get("security_protocol", "")).startswith("SASL"):
            # The listener answered (TLS and ApiVersions are fine), so the login failed:
            # Kafka closes the connection after a refused SCRAM login, without a reason
            # kafka-python could report, and kafka-python retries until its timeout.
            problem = _login_refused(
                bootstrap_servers, settings,
                f"no login within {timeout_s:.0f} s; the broker closed the connection",
            )
        raise KafkaUnavailable(
            problem or f"Kafka at {bootstrap_servers} answered but did not let "
            f"{client.__name__} bootstrap within {timeout_s:.0f} s ({_first_line(exc)}): "
            "check security.protocol and the listener's settings"
        ) from None


def _login_refused(bootstrap_servers: str, settings: Mapping[str, Any],
                   why: BaseException | str) -> str:
    user = settings.get("sasl_plain_username")
    return (f"Kafka at {bootstrap_servers} refused the login"
            f"{f' of user {user!r}' if user else ''} with {settings.get('sasl_mechanism')} "
            f"({why if isinstance(why, str) else _first_line(why)}): check the user name, "
            "password and sasl.mechanism")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def make_producer(bootstrap_servers: str, **overrides: Any) -> KafkaProducer:
    _checked("KafkaProducer", KafkaProducer.DEFAULT_CONFIG, overrides)
    settings = {**PRODUCER_DEFAULTS, **_security, **overrides}
    return _connected(KafkaProducer, bootstrap_servers, settings)


def make_consumer(bootstrap_servers: str, *topics: str, **overrides: Any) -> KafkaConsumer:
    _checked("KafkaConsumer", KafkaConsumer.DEFAULT_CONFIG, overrides)
    settings = {**CONSUMER_DEFAULTS, **_security, **overrides}
    return _connected(KafkaConsumer, bootstrap_servers, settings, *topics)


def make_admin(bootstrap_servers: str, **overrides: Any) -> KafkaAdminClient:
    _checked("KafkaAdminClient", KafkaAdminClient.DEFAULT_CONFIG, overrides)
    settings = {"client_id": "newswire-admin", **_security, **overrides}
    return _connected(KafkaAdminClient, bootstrap_servers, settings)


def ensure_topics(
    bootstrap_servers: str,
    names: Iterable[str],
    partitions: int = 1,
    configs: Mapping[str, Mapping[str, str]] | None = None,
    replication_factor: int = 1,
) -> list[str]:
    """Create the topics that do not exist yet (``configs``: topic → its settings, e.g.
    ``cleanup.policy``); return the names created."""
    names = [check_topic_name(name) for name in names]
    configs = configs or {}
    admin = make_admin(bootstrap_servers)
    try:
        existing = set(admin.list_topics())
        missing = [name for name in names if name not in existing]
        if missing:
            try:
                admin.create_topics(
                    {
                        name: {
                            "num_partitions": partitions,
                            "replication_factor": replication_factor,
                            "configs": dict(configs.get(name, {})),
                        }
                        for name in missing
                    },
                    wait_for_metadata=True,
                )
            except TopicAlreadyExistsError:
                log.info("topics %s were created concurrently", missing)
        return missing
    finally:
        admin.close()
