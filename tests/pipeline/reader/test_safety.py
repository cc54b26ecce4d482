"""Guards: URL schemes, non-public addresses, and XML entity expansion."""

from __future__ import annotations

import tracemalloc
from datetime import datetime, timezone

import pytest

from pipeline.reader.parse import parse_feed
from pipeline.reader.safety import (
    UnsafeURLError,
    check_feed_url,
    defuse_doctype,
    is_public_address,
)

NOW = datetime(2023, 10, 17, tzinfo=timezone.utc)


@pytest.mark.parametrize("url", ["https://a.example.com/feed", "http://a.example.com:8080/x", "file:///srv/feeds/a.xml"])
def test_accepted_urls(url):
    assert check_feed_url(url) == url


@pytest.mark.parametrize("url, reason", [
    ("ftp://a.example.com/feed", "scheme 'ftp'"),
    ("gopher://a.example.com/", "scheme 'gopher'"),
    ("a.example.com/feed", "scheme '(none)'"),
    ("https:///feed", "no host name"),
    ("file://server/share/feed.xml", "local absolute path"),
])
def test_refused_urls(url, reason):
    with pytest.raises(UnsafeURLError, match=reason.replace("(", r"\(").replace(")", r"\)")):
        check_feed_url(url)


@pytest.mark.parametrize("address, public", [
    ("93.184.216.34", True), ("2606:2800:220:1:248:1893:25c8:1946", True),
    ("127.0.0.1", False), ("127.8.9.10", False), ("10.1.2.3", False), ("172.16.0.1", False),
    ("192.168.1.1", False), ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False),
    ("224.0.0.1", False), ("::1", False), ("fe80::1%eth0", False), ("fd00::1", False),
    ("::ffff:127.0.0.1", False), ("::ffff:10.0.0.1", False),
    # IPv6 forms that carry an IPv4 address are judged by it
    ("64:ff9b::a9fe:a9fe", False), ("64:ff9b::7f00:1", False), ("64:ff9b::808:808", True),
    ("64:ff9b:1::a9fe:a9fe", False), ("2002:a00:1::1", False), ("2002:7f00:1::", False),
    ("2002:808:808::1", True), ("::7f00:1", False), ("::a9fe:a9fe", False), ("::808:808", False),
    ("::ffff:0:a9fe:a9fe", False), ("::ffff:0:7f00:1", False), ("::", False),
    ("fec0::1", False), ("feff::1", False), ("2001:db8::1", False), ("ff02::1", False),
])
def test_public_addresses(address, public):
    assert is_public_address(address) is public


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
<!ENTITY lol "lol">
<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>Laughs</title>
<item><title>&lol9;</title><guid>laugh-1</guid></item></channel></rss>"""


def _quadratic(entity_bytes: int, references: int, one_line: bool = False) -> bytes:
    """One big literal entity referenced many times: expat's amplification limit stops the
    strict parse, and feedparser's fallback parser then expands every reference."""
    sep = b"" if one_line else b"\n"
    return (b'<?xml version="1.0"?>' + sep + b'<!DOCTYPE rss [' + sep + b'<!ENTITY big "'
            + b"x" * entity_bytes + b'">' + sep + b"]>" + sep
            + b'<rss version="2.0"><channel><title>Quadratic</title><item><guid>q-1</guid><title>'
            + b"&big;" * references + b"</title></item></channel></rss>")


@pytest.mark.parametrize("document", [
    pytest.param(BILLION_LAUGHS, id="billion-laughs"),
    pytest.param(BILLION_LAUGHS.replace(b"\n<!ENTITY", b"<!ENTITY"), id="billion-laughs-one-line"),
    # 100 KB x 1,000 references would be 100 MB of title text (with feedparser alone: seen)
    pytest.param(_quadratic(100_000, 1_000), id="quadratic-blowup"),
    pytest.param(_quadratic(100_000, 1_000, one_line=True), id="quadratic-blowup-one-line"),
    # the guard reads the decoded text: any encoding, declared, with a BOM or sniffed
    pytest.param(_quadratic(100_000, 1_000).replace(b'"1.0"?>', b'"1.0" encoding="utf-16"?>')
                 .decode().encode("utf-16"), id="quadratic-utf16-bom"),
    pytest.param(_quadratic(100_000, 1_000).decode().encode("utf-16-be"), id="quadratic-utf16be-sniffed"),
    pytest.param(_quadratic(100_000, 1_000).decode().encode("utf-32-le"), id="quadratic-utf32-sniffed"),
    pytest.param(_quadratic(100_000, 1_000).replace(b"?>", b"?><!-- <a> <?pi?> -->", 1),
                 id="quadratic-after-a-comment"),
])
def test_entity_expansion_cannot_blow_up_memory(document):
    tracemalloc.start()
    try:
        result = parse_feed(document, feed_url="https://a.example.com/feed", fetched_at=NOW)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20, f"parsing peaked at {peak / 2**20:.0f} MiB"
    assert any("entity declaration" in problem for problem in result.problems)
    for entry in result.entries:  # whatever was recovered stays small
        assert len(entry.record["title"] or "") < 10 * len(document)


def test_short_literal_entities_survive():
    document = """<?xml version="1.0"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" "http://my.netscape.com/publish/formats/rss-0.91.dtd" [
<!ENTITY nbsp "&#160;">
<!ENTITY co "Co.">
]>
<rss version="0.91"><channel><title>Smith&co;</title></channel></rss>"""
    defused, note = defuse_doctype(document)
    assert defused == document and note is None


def test_external_entities_are_removed():
    document = """<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<rss version="2.0"><channel><title>x&secret;</title></channel></rss>"""
    defused, note = defuse_doctype(document)
    assert "/etc/passwd" not in defused
    assert "removed 1 entity declaration" in note
