"""Does a Kafka broker answer at this address, with these security settings? One line if not.

kafka-python, given a wrong address, retries until its bootstrap timeout and then says only
``Unable to bootstrap``; a wrong CA says nothing better. ``probe`` asks each bootstrap server
once, the way the client would (TCP, then TLS with the client's own SSL context, then an
ApiVersions request, which every listener answers before authentication) and says what
failed: unknown host, refused, no answer, untrusted certificate, a TLS port spoken to in
plaintext, not a Kafka port.
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from collections.abc import Mapping
from typing import Any

from kafka.net.transport import KafkaSSLTransport

_API_VERSIONS_V0 = struct.pack(">hhih", 18, 0, 1, len(b"newswire-probe")) + b"newswire-probe"
_TLS_PROTOCOLS = ("SSL", "SASL_SSL")
_PLAINTEXT_HINT = ("check --bootstrap-servers (HOST:PORT of a broker listener) and that the "
                   "broker runs")


def _servers(bootstrap_servers: str) -> list[tuple[str, int]]:
    out = []
    for server in bootstrap_servers.split(","):
        host, _, port = server.strip().rpartition(":")
        out.append((host.strip("[]"), int(port)))
    return out


def _ssl_context(settings: Mapping[str, Any]) -> ssl.SSLContext:
    config = dict(KafkaSSLTransport.DEFAULT_CONFIG)
    config.update({key: value for key, value in settings.items() if key in config})
    return KafkaSSLTransport._build_ssl_context(config)  # the context the client will use


def _ask_api_versions(sock: socket.socket) -> bool:
    """True when the peer answers an ApiVersions request like a Kafka broker."""
    sock.sendall(struct.pack(">i", len(_API_VERSIONS_V0)) + _API_VERSIONS_V0)
    header = b""
    while len(header) < 8:
        chunk = sock.recv(8 - len(header))
        if not chunk:
            return False
        header += chunk
    size, correlation_id = struct.unpack(">ii", header)
    return correlation_id == 1 and 0 < size < 1 << 20


def _probe_one(host: str, port: int, settings: Mapping[str, Any], deadline: float) -> str | None:
    tls = settings.get("security_protocol", "PLAINTEXT") in _TLS_PROTOCOLS
    try:
        sock = socket.create_connection((host, port), timeout=max(0.1, deadline - time.monotonic()))
    except socket.gaierror:
        return f"unknown host {host!r}"
    except ConnectionRefusedError:
        return "connection refused (nothing listens there)"
    except TimeoutError:
        return "no answer to the TCP connection"
    except OSError as exc:
        return str(exc.strerror or exc)
    try:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        if tls:
            try:
                sock = _ssl_context(settings).wrap_socket(sock, server_hostname=host)
            except ssl.SSLCertVerificationError as exc:
                return (f"the broker's TLS certificate is not trusted "
                        f"({exc.verify_message}): check ssl.truststore.location / "
                        "ssl.ca.location (the CA that signed the broker's certificate)"
                        + (" and ssl.endpoint.identification.algorithm"
                           if "hostname" in str(exc.verify_message) else ""))
            except ssl.SSLError as exc:
                return (f"TLS handshake failed ({exc.reason or exc}): is this a TLS "
                        "listener? check security.protocol and the port")
        try:
            if _ask_api_versions(sock):
                return None
        except ssl.SSLError as exc:
            reason = exc.reason or str(exc)
            if "CERTIFICATE_REQUIRED" in reason.upper() or "BAD_CERTIFICATE" in reason.upper() \
                    or "UNKNOWN_CA" in reason.upper():
                return (f"the broker refused our TLS client certificate ({reason}): "
                        "check ssl.keystore.location / ssl.certificate.location and that the "
                        "broker trusts its CA")
            return f"TLS error ({reason})"
        except TimeoutError:
            return ("connected, but no Kafka answer"
                    + ("" if tls else ": a TLS listener? then set security.protocol=SSL or "
                       "SASL_SSL"))
        except OSError as exc:
            return (f"the connection closed before a Kafka answer ({exc.strerror or exc})"
                    + ("" if tls else ": a TLS or SASL listener? check security.protocol"))
        return ("something answered, but not as a Kafka broker"
                + ("" if tls else ": a TLS or SASL listener? check security.protocol"))
    finally:
        sock.close()


def probe(bootstrap_servers: str, settings: Mapping[str, Any], timeout_s: float) -> str | None:
    """None when a broker of ``bootstrap_servers`` answers; else one line saying what failed
    at each address and what to check. Bounded by ``timeout_s`` in all."""
    deadline = time.monotonic() + timeout_s
    servers = _servers(bootstrap_servers)
    problems = []
    for host, port in servers:
        problem = _probe_one(host, port, settings, deadline)
        if problem is None:
            return None
        problems.append(problem if len(servers) == 1 else f"{host}:{port}: {problem}")
    hint = "" if any("TLS" in p or "security.protocol" in p for p in problems) else f"; {_PLAINTEXT_HINT}"
    return f"cannot reach Kafka at {bootstrap_servers}: {'; '.join(problems)}{hint}"
