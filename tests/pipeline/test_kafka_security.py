"""Kafka client properties and NEWSWIRE_KAFKA_* variables → kafka-python settings; secrets
never in a repr; files carried to (unpickled on) other machines."""

from __future__ import annotations

import pickle

import pytest
from apache_beam.internal import pickler

from pipeline.kafka_clients import client_security, use_security
from pipeline.kafka_security import (
    Secret,
    ShippedFile,
    client_settings,
    parse_jaas,
    read_properties,
)
from pipeline.kafkaio.config import KafkaReadConfig, KafkaWriteConfig

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.fixture
def ca_file(tmp_path):
    path = tmp_path / "ca.pem"
    path.write_text(CA)
    return path


def test_properties_file_as_kafka_users_write_it(tmp_path, ca_file):
    config = tmp_path / "client.properties"
    config.write_text(
        "# Confluent Cloud style\n"
        "security.protocol=SASL_SSL\n"
        "sasl.mechanism = SCRAM-SHA-512\n"
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \\\n"
        '    username="alice" password="p=ss \\"word\\"";\n'
        f"ssl.truststore.location: {ca_file}\n"
        "ssl.truststore.type=PEM\n"
    )
    assert read_properties(str(config))["sasl.mechanism"] == "SCRAM-SHA-512"
    settings = client_settings(str(config), {})
    assert settings["security_protocol"] == "SASL_SSL"
    assert settings["sasl_mechanism"] == "SCRAM-SHA-512"
    assert settings["sasl_plain_username"] == "alice"
    assert settings["sasl_plain_password"] == 'p=ss "word"'
    assert isinstance(settings["sasl_plain_password"], Secret)
    assert settings["ssl_cafile"] == str(ca_file.resolve())
    assert settings["ssl_check_hostname"] is True
    assert "p=ss" not in repr(settings)


def test_environment_wins_over_the_file_and_takes_librdkafka_names(tmp_path, ca_file):
    config = tmp_path / "client.properties"
    config.write_text("security.protocol=SASL_SSL\nsasl.username=bob\nsasl.password=old\n")
    settings = client_settings(None, {
        "NEWSWIRE_KAFKA_CONFIG": str(config),
        "NEWSWIRE_KAFKA_SASL_PASSWORD": "new",
        "NEWSWIRE_KAFKA_SASL_MECHANISMS": "PLAIN",
        "NEWSWIRE_KAFKA_SSL_CA_LOCATION": str(ca_file),
        "NEWSWIRE_KAFKA_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM": "",
    })
    assert (settings["sasl_mechanism"], settings["sasl_plain_username"],
            settings["sasl_plain_password"]) == ("PLAIN", "bob", "new")
    assert settings["ssl_check_hostname"] is False


def test_nothing_set_means_plaintext_defaults():
    assert client_settings(None, {"PATH": "/bin"}) == {}


@pytest.mark.parametrize(("props", "message"), [
    ({"security.protocol": "SASL_SSL", "sasl.mechanism": "GSSAPI"}, "GSSAPI"),
    ({"security.protocol": "SASL_SSL", "sasl.username": "a"}, "needs a user and password"),
    ({"security.protcol": "SSL"}, "unknown Kafka client setting(s) security.protcol"),
    ({"security.protocol": "TLS"}, "is not one of"),
    ({"sasl.username": "a", "sasl.password": "b"}, "security.protocol is PLAINTEXT"),
    ({"security.protocol": "SSL", "ssl.truststore.location": "/no/such.pem"}, "cannot read"),
    ({"security.protocol": "SSL", "ssl.truststore.type": "JKS"}, "keytool -exportcert"),
    ({"security.protocol": "SASL_SSL", "sasl.mechanism": "PLAIN", "sasl.jaas.config":
      'org.apache.kafka.common.security.scram.ScramLoginModule required username="a" '
      'password="b";'}, "does not do sasl.mechanism=PLAIN"),
    ({"security.protocol": "SASL_SSL", "bootstrap.servers": "x:1"}, "--bootstrap-servers"),
])
def test_wrong_settings_are_named(tmp_path, props, message):
    config = tmp_path / "bad.properties"
    config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    with pytest.raises(ValueError, match=None) as excinfo:
        client_settings(str(config), {})
    assert message in str(excinfo.value)
    assert str(config) in str(excinfo.value)


def test_unknown_environment_variable_is_refused():
    with pytest.raises(ValueError, match="NEWSWIRE_KAFKA_SASL_PASWORD"):
        client_settings(None, {"NEWSWIRE_KAFKA_SASL_PASWORD": "x"})


def test_jaas_parsing():
    module, options = parse_jaas(
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        "username='ignored' username=\"u\" password=\"a;b c\";"
    )
    assert module.endswith("PlainLoginModule")
    assert options["password"] == "a;b c"
    with pytest.raises(ValueError, match="sasl.jaas.config"):
        parse_jaas("username=u password=p")


def test_shipped_file_is_written_back_where_it_is_unpickled(tmp_path, ca_file):
    shipped = ShippedFile.read(str(ca_file), "ssl.ca.location")
    ca_file.unlink()  # as on a worker machine that never had the file
    for copy in (pickle.loads(pickle.dumps(shipped)), pickler.loads(pickler.dumps(shipped))):
        assert copy != str(ca_file.resolve())
        with open(copy) as handle:
            assert handle.read() == CA


def test_security_reaches_the_beam_io_configs_without_showing_secrets(ca_file):
    settings = client_settings(None, {
        "NEWSWIRE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "NEWSWIRE_KAFKA_SASL_USERNAME": "carol",
        "NEWSWIRE_KAFKA_SASL_PASSWORD": "top-secret-1",
        "NEWSWIRE_KAFKA_SSL_CA_LOCATION": str(ca_file),
    })
    use_security(settings)
    try:
        read = KafkaReadConfig("127.0.0.1:9092", "news.raw", consumer_config={"fetch_max_wait_ms": 100})
        write = KafkaWriteConfig("127.0.0.1:9092", "news.enriched")
    finally:
        use_security({})
    assert client_security() == {}
    for config, settings_of in ((read, "consumer_config"), (write, "producer_config")):
        assert getattr(config, settings_of)["sasl_plain_password"] == "top-secret-1"
        assert "top-secret-1" not in repr(config)
        remote = pickler.loads(pickler.dumps(config))  # a worker without the settings
        assert getattr(remote, settings_of)["sasl_plain_password"] == "top-secret-1"
        assert getattr(remote, settings_of)["security_protocol"] == "SASL_SSL"
    assert read.consumer_config["fetch_max_wait_ms"] == 100
