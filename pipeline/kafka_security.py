"""Client settings for secured Kafka clusters, written the way Kafka users already write them.

A Kafka client properties file (``newswire --kafka-config client.properties``, or
``NEWSWIRE_KAFKA_CONFIG``) and environment variables ``NEWSWIRE_KAFKA_<NAME>`` (the property
name upper-cased with ``.`` as ``_``: ``NEWSWIRE_KAFKA_SASL_PASSWORD`` is ``sasl.password``;
they win over the file) are turned into kafka-python settings. Both the Java client's names
(``sasl.jaas.config``, ``ssl.truststore.location``, ``ssl.keystore.location``) and
librdkafka's (``sasl.username``, ``ssl.ca.location``, ``ssl.certificate.location``) are
accepted; anything else is refused by name, so a typo cannot silently mean "no TLS".

Secrets are ``Secret`` strings (``repr`` shows ``'***'``, so config reprs, logs and option
dumps never print them); files are ``ShippedFile`` paths that carry their content when
pickled and are written back to a private file where they are unpickled, so the settings
reach remote Beam workers with the pipeline's Kafka configuration.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENV_PREFIX = "NEWSWIRE_KAFKA_"
ENV_CONFIG_FILE = "NEWSWIRE_KAFKA_CONFIG"
PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")

# property → what it is (for the error on an unknown name)
PROPERTIES = {
    "security.protocol": "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL",
    "sasl.mechanism": "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512",
    "sasl.mechanisms": "librdkafka's name for sasl.mechanism",
    "sasl.jaas.config": "a PlainLoginModule/ScramLoginModule line with username and password",
    "sasl.username": "SASL user (librdkafka's name)",
    "sasl.password": "SASL password (librdkafka's name)",
    "ssl.truststore.location": "PEM file of the CA certificate(s) that signed the brokers'",
    "ssl.truststore.type": "PEM (the only type Python's TLS reads)",
    "ssl.truststore.certificates": "the CA certificate(s) as PEM text",
    "ssl.ca.location": "PEM file of the CA certificate(s) (librdkafka's name)",
    "ssl.keystore.location": "PEM file with the client certificate (chain) and its key",
    "ssl.keystore.type": "PEM",
    "ssl.keystore.certificate.chain": "the client certificate chain as PEM text",
    "ssl.keystore.key": "the client's private key as PEM text",
    "ssl.certificate.location": "PEM file of the client certificate (librdkafka's name)",
    "ssl.key.location": "PEM file of the client's private key (librdkafka's name)",
    "ssl.key.password": "password of an encrypted client key",
    "ssl.endpoint.identification.algorithm": "https (check the broker's host name) or empty",
}
_SECRETS = {"sasl.password", "sasl.jaas.config", "ssl.key.password", "ssl.keystore.key"}
_JAAS = re.compile(
    r"^\s*(?P<module>[\w.$]+)\s+required(?P<options>.*?);?\s*$", re.DOTALL
)
_JAAS_OPTION = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|(\S+?))(?=\s|;|$)')
_JAAS_MODULES = {
    "org.apache.kafka.common.security.plain.PlainLoginModule": ("PLAIN",),
    "org.apache.kafka.common.security.scram.ScramLoginModule": ("SCRAM-SHA-256", "SCRAM-SHA-512"),
}


class Secret(str):
    """A string that never shows itself in a repr (logs, config dumps, tracebacks)."""

    def __repr__(self) -> str:
        return "'***'"

    def __reduce__(self):
        return (Secret, (str(self),))


def _private_dir() -> Path:
    path = Path(tempfile.gettempdir()) / f"newswire-kafka-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def _materialize(name: str, content: bytes) -> ShippedFile:
    digest = hashlib.sha256(content).hexdigest()[:16]
    path = _private_dir() / f"{digest}-{name}"
    if not path.exists():
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        os.replace(tmp, path)
    return ShippedFile(str(path), content)


class ShippedFile(str):
    """A file path (what kafka-python takes) that carries the file's content when pickled:
    unpickled on another machine, it is written to a private temporary file first."""

    def __new__(cls, path: str, content: bytes) -> ShippedFile:
        self = super().__new__(cls, path)
        self.content = content
        return self

    @classmethod
    def read(cls, path: str, option: str) -> ShippedFile:
        try:
            return cls(str(Path(path).resolve()), Path(path).read_bytes())
        except OSError as exc:
            raise ValueError(f"{option}: cannot read {path!r} ({exc.strerror or exc})") from None

    @classmethod
    def of_text(cls, name: str, text: str) -> ShippedFile:
        return _materialize(name, text.encode("utf-8"))

    def __repr__(self) -> str:
        return f"ShippedFile({str(self)!r})"

    def __reduce__(self):
        return (_materialize, (Path(self).name.split("-", 1)[-1], self.content))


def read_properties(path: str) -> dict[str, str]:
    """A Java ``.properties`` file as a dict: ``key=value`` or ``key: value`` lines, ``#``/``!``
    comments, ``\\`` at the end of a line continues it (how ``sasl.jaas.config`` is often
    written). The format is small; a library for it would add a dependency for 20 lines."""
    try:
        text = Path(path).read_text("utf-8")
    except OSError as exc:
        raise ValueError(f"--kafka-config: cannot read {path!r} ({exc.strerror or exc})") from None
    out: dict[str, str] = {}
    logical = ""
    for raw in text.splitlines():
        line = raw.strip() if not logical else raw.lstrip()
        if not logical and (not line or line[0] in "#!"):
            continue
        if line.endswith("\\") and not line.endswith("\\\\"):
            logical += line[:-1]
            continue
        logical += line
        parts = re.split(r"\s*[=:]\s*", logical, maxsplit=1)
        out[parts[0].strip()] = parts[1].strip() if len(parts) == 2 else ""
        logical = ""
    return out


def env_properties(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``NEWSWIRE_KAFKA_<NAME>`` variables as properties (``NEWSWIRE_KAFKA_CONFIG`` is the
    file, not a property). An unknown name is refused like an unknown property."""
    names = {name.upper().replace(".", "_"): name for name in PROPERTIES}
    out = {}
    for var, value in environ.items():
        if not var.startswith(ENV_PREFIX) or var == ENV_CONFIG_FILE:
            continue
        name = names.get(var[len(ENV_PREFIX):])
        if name is None:
            raise ValueError(
                f"{var}: not a Kafka client setting newswire knows; the NEWSWIRE_KAFKA_* "
                f"variables are {', '.join(sorted(ENV_PREFIX + n for n in names))}"
            )
        out[name] = value
    return out


def parse_jaas(value: str) -> tuple[str, dict[str, str]]:
    """``(login module, options)`` of a one-module ``sasl.jaas.config``."""
    match = _JAAS.match(value)
    if not match:
        raise ValueError(
            "sasl.jaas.config: expected '<LoginModule> required username=\"...\" "
            "password=\"...\";'"
        )
    options = {
        key: (quoted.replace('\\"', '"').replace("\\\\", "\\") if quoted is not None else bare)
        for key, quoted, bare in (
            (m.group(1), m.group(2), m.group(3)) for m in _JAAS_OPTION.finditer(match["options"])
        )
    }
    return match["module"], options


def _sasl_settings(props: Mapping[str, str], protocol: str) -> dict[str, Any]:
    mechanism = props.get("sasl.mechanism") or props.get("sasl.mechanisms") or "PLAIN"
    if mechanism not in MECHANISMS:
        raise ValueError(
            f"sasl.mechanism: {mechanism!r} is not supported here (newswire speaks "
            f"{', '.join(MECHANISMS)}; GSSAPI and OAUTHBEARER are not wired in)"
        )
    username, password = props.get("sasl.username"), props.get("sasl.password")
    if "sasl.jaas.config" in props:
        module, options = parse_jaas(props["sasl.jaas.config"])
        if module not in _JAAS_MODULES:
            raise ValueError(f"sasl.jaas.config: login module {module!r} is not supported "
                             f"(use {' or '.join(_JAAS_MODULES)})")
        if mechanism not in _JAAS_MODULES[module]:
            raise ValueError(f"sasl.jaas.config: {module.rsplit('.', 1)[-1]} does not do "
                             f"sasl.mechanism={mechanism}")
        username = username or options.get("username")
        password = password or options.get("password")
    if not username or not password:
        raise ValueError(
            f"security.protocol={protocol} needs a user and password: sasl.jaas.config, or "
            "sasl.username and sasl.password"
        )
    return {"sasl_mechanism": mechanism, "sasl_plain_username": username,
            "sasl_plain_password": Secret(password)}


def _pem_type(props: Mapping[str, str], key: str) -> None:
    kind = props.get(key, "PEM").upper()
    if kind != "PEM":
        raise ValueError(
            f"{key}={kind}: Python's TLS reads PEM only; export PEM files (e.g. "
            "`keytool -exportcert -rfc -alias ca -keystore truststore.jks > ca.pem`, "
            "`openssl pkcs12 -in keystore.p12 -nodes > client.pem`) and set "
            f"{key}=PEM"
        )


def _ssl_settings(props: Mapping[str, str]) -> dict[str, Any]:
    _pem_type(props, "ssl.truststore.type")
    _pem_type(props, "ssl.keystore.type")
    out: dict[str, Any] = {}
    for key in ("ssl.truststore.location", "ssl.ca.location"):
        if props.get(key):
            out["ssl_cafile"] = ShippedFile.read(props[key], key)
    if props.get("ssl.truststore.certificates"):
        out["ssl_cafile"] = ShippedFile.of_text("ca.pem", props["ssl.truststore.certificates"])
    for key in ("ssl.keystore.location", "ssl.certificate.location"):
        if props.get(key):
            out["ssl_certfile"] = ShippedFile.read(props[key], key)
    if props.get("ssl.key.location"):
        out["ssl_keyfile"] = ShippedFile.read(props["ssl.key.location"], "ssl.key.location")
    if props.get("ssl.keystore.certificate.chain"):
        out["ssl_certfile"] = ShippedFile.of_text(
            "client.pem", props["ssl.keystore.certificate.chain"]
        )
    if props.get("ssl.keystore.key"):
        out["ssl_keyfile"] = ShippedFile.of_text("client.key", props["ssl.keystore.key"])
    if "ssl_keyfile" in out and "ssl_certfile" not in out:
        raise ValueError("a client key is set without its certificate "
                         "(ssl.keystore.location or ssl.certificate.location)")
    if props.get("ssl.key.password"):
        out["ssl_password"] = Secret(props["ssl.key.password"])
    algorithm = props.get("ssl.endpoint.identification.algorithm", "https").strip().lower()
    if algorithm not in ("https", ""):
        raise ValueError(f"ssl.endpoint.identification.algorithm: {algorithm!r} is not "
                         "'https' or empty")
    out["ssl_check_hostname"] = algorithm == "https"
    return out


def kafka_python_settings(props: Mapping[str, str]) -> dict[str, Any]:
    """kafka-python settings for client properties; ValueError names a wrong one."""
    unknown = sorted(set(props) - set(PROPERTIES))
    if unknown:
        raise ValueError(
            f"unknown Kafka client setting(s) {', '.join(unknown)}; newswire reads "
            f"{', '.join(PROPERTIES)} (the broker address goes in --bootstrap-servers)"
        )
    protocol = (props.get("security.protocol") or "PLAINTEXT").upper()
    if protocol not in PROTOCOLS:
        raise ValueError(f"security.protocol: {protocol!r} is not one of {', '.join(PROTOCOLS)}")
    if protocol == "PLAINTEXT" and len(props) > ("security.protocol" in props):
        raise ValueError(
            f"{', '.join(sorted(set(props) - {'security.protocol'}))} set, but "
            "security.protocol is PLAINTEXT: set it to SSL, SASL_SSL or SASL_PLAINTEXT"
        )
    settings: dict[str, Any] = {"security_protocol": protocol}
    if protocol.startswith("SASL_"):
        settings.update(_sasl_settings(props, protocol))
    if protocol.endswith("SSL"):
        settings.update(_ssl_settings(props))
    return settings


def client_settings(config_file: str | None, environ: Mapping[str, str]) -> dict[str, Any]:
    """kafka-python security settings from ``config_file`` (else ``NEWSWIRE_KAFKA_CONFIG``)
    and the ``NEWSWIRE_KAFKA_*`` variables (which win); {} when neither says anything."""
    path = config_file or environ.get(ENV_CONFIG_FILE)
    props = read_properties(path) if path else {}
    props.update(env_properties(environ))
    if not props:
        return {}
    try:
        return kafka_python_settings(props)
    except ValueError as exc:
        where = " and ".join(filter(None, [path, "NEWSWIRE_KAFKA_*" if env_properties(environ) else ""]))
        raise ValueError(f"Kafka client settings ({where}): {exc}") from None

