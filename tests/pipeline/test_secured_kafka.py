"""A secured Apache Kafka: SASL_SSL (SCRAM-SHA-512 and PLAIN) and mutual TLS listeners, with
certificates made here. Every command and the Beam pipeline read and write it with the
client settings written the way Kafka users write them; a wrong password or an untrusted
certificate gives one line and exit status 3. Runs with NEWSWIRE_TEST_BROKER=kafka."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.broker import free_port
from pipeline.kafka_clients import EXIT_KAFKA_UNAVAILABLE, ensure_topics, make_producer
from pipeline.kafka_server import KafkaServer
from schemas import DEAD_LETTER, ENRICHED_STORY, RAW_STORY
from tests.conftest import broker_engine
from tests.pipeline.enrich.support import read_all
from tests.pipeline.tls_certs import cert_pem, issue, key_pem, make_ca, write

ROOT = Path(__file__).resolve().parents[2]
SCRAM_USER, SCRAM_PASSWORD = "sam", "sam-secret-512"
PLAIN_USER, PLAIN_PASSWORD = "paula", "paula-secret"
pytestmark = [pytest.mark.slow, pytest.mark.kafka, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    """The broker (PLAINTEXT on .bootstrap for set-up, SASL_SSL 'SECURE', SSL 'MTLS') and
    the files: ca.pem, client.pem/client.key, rogue-ca.pem."""
    if broker_engine() != "kafka":
        pytest.skip("an Apache Kafka test: runs with NEWSWIRE_TEST_BROKER=kafka")
    d = tmp_path_factory.mktemp("tls")
    ca, rogue = make_ca("newswire test CA"), make_ca("someone else's CA")
    server, client = issue(ca, "broker", server=True), issue(ca, "newswire-client", server=False)
    write(d / "ca.pem", cert_pem(ca.cert))
    write(d / "rogue-ca.pem", cert_pem(rogue.cert))
    write(d / "server.pem", key_pem(server.key) + cert_pem(server.cert, ca.cert))
    write(d / "client.pem", cert_pem(client.cert))
    write(d / "client.key", key_pem(client.key))
    kafka = KafkaServer(
        port=0, topics=(),
        listeners={"SECURE": ("SASL_SSL", free_port()), "MTLS": ("SSL", free_port())},
        properties={
            "ssl.keystore.type": "PEM", "ssl.keystore.location": str(d / "server.pem"),
            "ssl.truststore.type": "PEM", "ssl.truststore.location": str(d / "ca.pem"),
            "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-512",
            "listener.name.secure.plain.sasl.jaas.config":
                "org.apache.kafka.common.security.plain.PlainLoginModule required "
                f'user_{PLAIN_USER}="{PLAIN_PASSWORD}";',
            "listener.name.secure.scram-sha-512.sasl.jaas.config":
                "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            "listener.name.mtls.ssl.client.auth": "required",
        },
        scram_users=[("SCRAM-SHA-512", SCRAM_USER, SCRAM_PASSWORD)],
    )
    kafka.start()
    kafka.dir = d
    yield kafka
    kafka.stop()


def newswire(*argv: str, env: dict[str, str] | None = None, timeout: float = 240,
             cwd: Path = ROOT) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("NEWSWIRE_KAFKA_")}
    environ.update(env or {}, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *argv], capture_output=True,
                          text=True, timeout=timeout, env=environ, cwd=cwd, check=False)


def _properties(path: Path, **props: str) -> Path:
    path.write_text("".join(f"{key}={value}\n" for key, value in props.items()))
    return path


def _scram_config(secured, tmp_path: Path, password: str = SCRAM_PASSWORD,
                  ca: str = "ca.pem") -> Path:
    return _properties(
        tmp_path / "client.properties",
        **{"security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
           "sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule "
                               f'required username="{SCRAM_USER}" password="{password}";',
           "ssl.truststore.type": "PEM", "ssl.truststore.location": str(secured.dir / ca)},
    )


def _feed(tmp_path: Path, n: int) -> Path:
    items = "".join(
        f"<item><title>Secured story {i}</title><guid>secured-{i}</guid>"
        f"<description>KYIV, Dec 5 (Reuters) - Story number {i} of the secured test, "
        "long enough to be a story body.</description></item>"
        for i in range(n)
    )
    feed = tmp_path / "feed.xml"
    feed.write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}'
                    "</channel></rss>")
    feeds = tmp_path / "feeds.txt"
    feeds.write_text(f"{feed}\n")
    return feeds


def _ok(result: subprocess.CompletedProcess, status: int = 0) -> str:
    assert result.returncode == status, result.stdout[-2000:] + result.stderr[-4000:]
    return result.stdout


def test_every_command_and_the_pipeline_on_sasl_ssl_scram(secured, tmp_path):
    config = _scram_config(secured, tmp_path)
    secure = secured.listener_bootstrap("SECURE")
    tag = tmp_path.name[-20:].replace("_", "-")
    raw, enriched, dead = f"raw.{tag}", f"enriched.{tag}", f"dead.{tag}"
    creds = ["--kafka-config", str(config)]

    _ok(newswire(*creds, "topics", "create", "--bootstrap-servers", secure, "--raw-topic", raw,
                 "--enriched-topic", enriched, "--dead-letter-topic", dead))
    assert "as wanted" in _ok(newswire(
        *creds, "topics", "check", "--bootstrap-servers", secure, "--raw-topic", raw,
        "--enriched-topic", enriched, "--dead-letter-topic", dead))

    _ok(newswire(*creds, "ingest", "--once", "--feeds", str(_feed(tmp_path, 3)),
                 "--store", str(tmp_path / "store.sqlite3"), "--bootstrap-servers", secure,
                 "--topic", raw))
    # one malformed record, written on the plaintext set-up listener: a dead letter to come
    producer = make_producer(secured.bootstrap)
    producer.send(raw, key=b"bad-1", value=b'{"truncated": ').get(30)
    producer.close()

    _ok(newswire(*creds, "enrich", "--bounded", "--start-from", "earliest",
                 "--bootstrap-servers", secure, "--input-topic", raw, "--output-topic", enriched,
                 "--dead-letter-topic", dead, "--consumer-group", f"g.{tag}",
                 "--runner", "FnApiRunner", "--output-path", str(tmp_path / "out")))
    stories = [ENRICHED_STORY.decode(m.value) for m in read_all(secured.bootstrap, enriched, 3)]
    assert sorted(s["title"] for s in stories) == [f"Secured story {i}" for i in range(3)]
    letters = read_all(secured.bootstrap, dead, 1)
    assert [m.key for m in letters] == [b"bad-1"]
    assert DEAD_LETTER.decode(letters[0].value)["reason"].startswith("not valid JSON")

    shown = _ok(newswire(*creds, "tail", "--bootstrap-servers", secure, "--topic", enriched,
                         "--json", "--timeout", "5"))
    assert len(shown.splitlines()) == 3
    letter = _ok(newswire(*creds, "tail", "--dead-letters", "--bootstrap-servers", secure,
                          "--topic", dead, "--json", "--timeout", "5"))
    assert len(letter.splitlines()) == 1 and "not valid JSON" in letter

    replayed = newswire(*creds, "replay", "--bootstrap-servers", secure, "--dead-letter-topic",
                        dead, "--input-topic", raw, "--consumer-group", f"replay.{tag}")
    _ok(replayed)
    raws = [m for m in read_all(secured.bootstrap, raw, 5)]
    assert [m.key for m in raws].count(b"bad-1") == 2  # the original, and the one replayed
    assert all(RAW_STORY.decode(m.value) for m in raws if m.key != b"bad-1")


def test_run_on_a_secured_cluster(secured, tmp_path):
    config = _scram_config(secured, tmp_path)
    secure = secured.listener_bootstrap("SECURE")
    ensure_topics(secured.bootstrap, ["news.raw", "news.enriched", "news.deadletter"])
    result = newswire("--kafka-config", str(config), "run", "--bootstrap-servers", secure,
                      "--duration", "40", cwd=tmp_path, timeout=300)
    out = _ok(result)
    enriched = [ENRICHED_STORY.decode(m.value) for m in read_all(secured.bootstrap, "news.enriched")]
    assert enriched, out + result.stderr
    assert "published" in out


def test_plain_from_environment_variables(secured, tmp_path):
    env = {
        "NEWSWIRE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "NEWSWIRE_KAFKA_SASL_MECHANISM": "PLAIN",
        "NEWSWIRE_KAFKA_SASL_USERNAME": PLAIN_USER,
        "NEWSWIRE_KAFKA_SASL_PASSWORD": PLAIN_PASSWORD,
        "NEWSWIRE_KAFKA_SSL_CA_LOCATION": str(secured.dir / "ca.pem"),
    }
    topic = f"plain.{tmp_path.name[-20:].replace('_', '-')}"
    ensure_topics(secured.bootstrap, [topic])
    result = newswire("--log-level", "DEBUG", "ingest", "--once",
                      "--feeds", str(_feed(tmp_path, 2)), "--store", str(tmp_path / "s.sqlite3"),
                      "--bootstrap-servers", secured.listener_bootstrap("SECURE"),
                      "--topic", topic, env=env)
    _ok(result)
    assert PLAIN_PASSWORD not in result.stdout + result.stderr  # not even at debug level
    assert len(read_all(secured.bootstrap, topic, 2)) == 2


def test_mutual_tls(secured, tmp_path):
    topic = f"mtls.{tmp_path.name[-20:].replace('_', '-')}"
    ensure_topics(secured.bootstrap, [topic])
    mtls = secured.listener_bootstrap("MTLS")
    with_cert = _properties(tmp_path / "mtls.properties", **{
        "security.protocol": "SSL", "ssl.ca.location": str(secured.dir / "ca.pem"),
        "ssl.certificate.location": str(secured.dir / "client.pem"),
        "ssl.key.location": str(secured.dir / "client.key")})
    _ok(newswire("--kafka-config", str(with_cert), "ingest", "--once",
                 "--feeds", str(_feed(tmp_path, 2)), "--store", str(tmp_path / "s.sqlite3"),
                 "--bootstrap-servers", mtls, "--topic", topic))
    assert len(read_all(secured.bootstrap, topic, 2)) == 2

    without_cert = _properties(tmp_path / "nocert.properties", **{
        "security.protocol": "SSL", "ssl.ca.location": str(secured.dir / "ca.pem")})
    result = newswire("--kafka-config", str(without_cert), "tail", "--bootstrap-servers", mtls,
                      "--topic", topic, "--timeout", "3")
    assert result.returncode == EXIT_KAFKA_UNAVAILABLE, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert mtls in line and "client certificate" in line


@pytest.mark.parametrize("case", ["wrong password", "untrusted certificate"])
def test_a_wrong_password_or_certificate_is_one_line(secured, tmp_path, case):
    if case == "wrong password":
        config, expected = _scram_config(secured, tmp_path, password="not-it"), "refused the login"
    else:
        config, expected = _scram_config(secured, tmp_path, ca="rogue-ca.pem"), "not trusted"
    secure = secured.listener_bootstrap("SECURE")
    started = time.monotonic()
    for argv in (["tail", "--timeout", "3"], ["replay", "--dry-run"]):
        result = newswire("--kafka-config", str(config), *argv, "--bootstrap-servers", secure)
        assert result.returncode == EXIT_KAFKA_UNAVAILABLE, result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert expected in line and secure in line
        assert "not-it" not in line
    assert time.monotonic() - started < 60
