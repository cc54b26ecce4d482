"""Article pages against a real HTTP server on loopback: robots.txt, the per-host rate,
redirects, the address guard, limits, content types, charsets, paywall stubs."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools

import brotli
import pytest

from pipeline.reader import safety
from pipeline.reader.fetch import Fetcher
from pipeline.reader.options import ReaderOptions
from pipeline.reader.pages import PageFetcher, decision, decode_page
from pipeline.reader.politeness import HostLimiter
from pipeline.reader.robots import RobotsCache, Rules, robots_url
from tests.pages import PAYWALL_STUB, SCRIPT_ONLY, article_page
from tests.pipeline.reader.feedserver import FeedServer
from transforms.page import extract_page

HTML = "text/html; charset=utf-8"


@pytest.fixture
def page_options(fast_options):
    return dataclasses.replace(fast_options, fetch_articles="auto", host_rate=100.0,
                               page_timeout=1.0, page_max_bytes=64 * 1024)


def fetch_pages(options, links: list[str]) -> list:
    """Each link's PageResult, fetched by one PageFetcher (one robots cache, one limiter)."""
    async def go():
        async with Fetcher(options) as fetcher:
            limiter = HostLimiter(options)
            pages = PageFetcher(fetcher, limiter, RobotsCache(fetcher, limiter))
            records = [{"source": {"link": link}, "html": None, "text": "A short summary."}
                       for link in links]
            return await asyncio.gather(*(pages.page_for(record, "auto") for record in records))
    return asyncio.run(go())


def test_summary_entries_are_fetched_full_ones_are_not():
    link = {"link": "https://news.example.org/a"}
    assert decision({"source": link, "html": "<p>One sentence of summary.</p>", "text": None}, "auto") is None
    assert decision({"source": link, "html": None, "text": "word " * 400}, "auto") == "not_needed"
    teaser = "word " * 100 + "Continue reading"
    assert decision({"source": link, "html": None, "text": teaser}, "auto") is None
    assert decision({"source": link, "html": None, "text": "word " * 400}, "always") is None
    assert decision({"source": link, "html": None, "text": "short"}, "never") == "skipped"
    assert decision({"source": {"link": "mailto:desk@example.org"}, "text": "x"}, "auto") == "skipped"


def test_a_page_is_kept_stripped_with_its_outcome(feed_server, page_options):
    feed_server.put("/robots.txt", b"User-agent: *\nAllow: /\n", content_type="text/plain")
    feed_server.put("/news/port", article_page("Port reopens").encode(), content_type=HTML, gzip=True)
    [result] = fetch_pages(page_options, [feed_server.url("/news/port")])
    assert result.article["outcome"] == "fetched", result.article
    assert result.article["status"] == 200 and result.article["final_url"] == feed_server.url("/news/port")
    assert result.article["bytes"] == len(article_page("Port reopens").encode())
    page = result.page["html"]
    assert "window.tracking" not in page and "margin: 0" not in page  # scripts, styles gone
    assert '"isAccessibleForFree": true' in page  # JSON-LD kept: it is the page's metadata
    assert "PHOTO: AFP" in page and "HARBOUR CITY (Reuters)" in page
    request = feed_server.requests_for("/news/port")[0]
    assert "newswire/" in request.headers["user-agent"] and "robots.txt" in request.headers["user-agent"]
    assert "br" in request.headers["accept-encoding"]
    assert request.headers["accept"].startswith("text/html")


def test_robots_txt_is_honoured_and_read_once_per_host(feed_server, page_options):
    feed_server.put("/robots.txt", b"User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    for path in ("/news/a", "/news/b", "/private/c"):
        feed_server.put(path, article_page("Port reopens").encode(), content_type=HTML)
    results = fetch_pages(page_options, [feed_server.url(p) for p in ("/news/a", "/news/b", "/private/c")])
    assert [r.article["outcome"] for r in results] == ["fetched", "fetched", "robots_disallow"]
    assert feed_server.hits("/private/c") == 0
    assert feed_server.hits("/robots.txt") == 1


def test_robots_crawl_delay_spaces_the_requests(feed_server, page_options):
    feed_server.put("/robots.txt", b"User-agent: *\nCrawl-delay: 0.4\n", content_type="text/plain")
    paths = [f"/news/{n}" for n in range(4)]
    for path in paths:
        feed_server.put(path, article_page("Port reopens").encode(), content_type=HTML)
    fetch_pages(page_options, [feed_server.url(p) for p in paths])
    times = sorted(r.at for r in feed_server.requests if r.path.startswith("/news/"))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == 3 and min(gaps) >= 0.35, gaps


def test_the_host_rate_spaces_the_requests(feed_server, page_options):
    options = dataclasses.replace(page_options, host_rate=4.0, per_host=4)
    feed_server.put("/robots.txt", b"", content_type="text/plain")
    paths = [f"/news/{n}" for n in range(5)]
    for path in paths:
        feed_server.put(path, article_page("Port reopens").encode(), content_type=HTML)
    fetch_pages(options, [feed_server.url(p) for p in paths])
    times = sorted(r.at for r in feed_server.requests)  # robots.txt counts as a request too
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 6 and min(gaps) >= 0.2, gaps  # 1/4 s, less scheduling jitter


def test_robots_txt_missing_allows_unreachable_disallows(feed_server, page_options):
    feed_server.put("/news/a", article_page("Port reopens").encode(), content_type=HTML)
    [result] = fetch_pages(page_options, [feed_server.url("/news/a")])  # /robots.txt is a 404
    assert result.article["outcome"] == "fetched"
    feed_server.status("/robots.txt", 503)
    [result] = fetch_pages(page_options, [feed_server.url("/news/a")])
    assert result.article["outcome"] == "robots_disallow"
    assert "unreachable" in result.article["reason"]


@pytest.mark.parametrize(
    ("setup", "outcome", "reason_part"),
    [
        (lambda s: s.status("/p", 404), "http_error", "HTTP 404"),
        (lambda s: s.status("/p", 500), "http_error", "HTTP 500"),
        (lambda s: s.oversized("/p", 200_000, content_type="text/html"), "too_large", "larger than"),
        (lambda s: s.put("/p", b"%PDF-1.4 binary", content_type="application/pdf"), "not_html",
         "application/pdf"),
        (lambda s: s.put("/p", PAYWALL_STUB.encode(), content_type=HTML), "too_little_text", "paywall"),
        (lambda s: s.put("/p", SCRIPT_ONLY.encode(), content_type=HTML), "too_little_text", "scripts"),
        (lambda s: s.hang("/p"), "fetch_error", "timeout"),
        (lambda s: s.redirect("/p", 302, "ftp://files.example.org/p"), "http_error", "only http/https"),
    ],
    ids=["404", "500", "too-large", "pdf", "paywall", "script-only", "hangs", "bad-redirect"],
)
def test_a_failing_page_gets_its_outcome(feed_server, page_options, setup, outcome, reason_part):
    setup(feed_server)
    [result] = fetch_pages(page_options, [feed_server.url("/p")])
    assert result.article["outcome"] == outcome, result.article
    assert reason_part in result.article["reason"]


def test_redirects_are_followed_to_the_final_url(feed_server, page_options):
    feed_server.redirect("/old", 301, "/mid")
    feed_server.redirect("/mid", 302, feed_server.url("/news/port"))
    feed_server.put("/news/port", article_page("Port reopens").encode(), content_type=HTML)
    [result] = fetch_pages(page_options, [feed_server.url("/old")])
    assert result.article["outcome"] == "fetched"
    assert result.article["final_url"] == result.page["url"] == feed_server.url("/news/port")


def test_a_page_over_the_record_limit_is_too_large(feed_server, page_options):
    options = dataclasses.replace(page_options, page_record_bytes=4_000)
    body = "".join(f"<p>Paragraph {n} of a very long story about the port and its ferries.</p>"
                   for n in range(200))
    feed_server.put("/p", article_page("Long", body=body).encode(), content_type=HTML)
    [result] = fetch_pages(options, [feed_server.url("/p")])
    assert result.article["outcome"] == "too_large" and "a record carries at most 4000" in result.article["reason"]


def test_a_lying_charset_does_not_garble_the_page(feed_server, page_options):
    body = "<p>SÃO PAULO (Reuters) - Café growers said the frost hit São Paulo state. " * 5 + "</p>"
    page = article_page("Frost", body=body, charset="iso-8859-1").encode("utf-8")
    feed_server.put("/p", page, content_type="text/html; charset=iso-8859-1")
    [result] = fetch_pages(page_options, [feed_server.url("/p")])
    assert result.article["outcome"] == "fetched"
    assert "Café growers said the frost hit São Paulo" in result.page["html"]
    assert result.page["encoding"] == "utf-8"


def test_the_meta_charset_is_used_when_the_header_names_none():
    page = '<html><head><meta charset="windows-1251"></head><body>Москва</body></html>'.encode("cp1251")
    text, encoding = decode_page(page, "text/html")
    assert "Москва" in text and encoding == "cp1251"


def test_the_address_guard_holds_on_every_redirect_hop(page_options, monkeypatch):
    """The first hop is on an address the test declares public (127.0.0.1 plays the
    internet); its redirect goes to another loopback address, which the guard refuses when
    the connection is made."""
    guarded = dataclasses.replace(page_options, allow_private_addresses=False)
    monkeypatch.setattr(safety, "is_public_address", lambda address: address == "127.0.0.1")
    with FeedServer("127.0.0.1") as public, FeedServer("127.0.0.2") as private:
        public.put("/robots.txt", b"", content_type="text/plain")
        private.put("/secret", article_page("Internal").encode(), content_type=HTML)
        public.redirect("/p", 302, private.url("/secret"))
        [result] = fetch_pages(guarded, [public.url("/p")])
        # the redirect target's robots.txt is asked for first: the guard refuses that connection
        assert result.article["outcome"] == "robots_disallow"
        assert "refused: 127.0.0.2" in result.article["reason"]
        assert public.hits("/p") == 1 and private.requests == []
        private.put("/robots.txt", b"", content_type="text/plain")
        options = dataclasses.replace(guarded, robots_ttl=1.0)

        async def robots_allowed_then_page():
            # with the target's robots.txt known (as if read before), the page hop itself is refused
            async with Fetcher(options) as fetcher:
                limiter = HostLimiter(options)
                robots = RobotsCache(fetcher, limiter)
                robots._rules[robots_url(private.url("/"))] = Rules(None, True, float("inf"), "test")
                return await PageFetcher(fetcher, limiter, robots).page_for(
                    {"source": {"link": public.url("/p")}, "text": "x"}, "auto")

        result = asyncio.run(robots_allowed_then_page())
        assert result.article["outcome"] == "fetch_error"
        assert result.article["reason"].startswith("refused: 127.0.0.2")
        assert private.requests == []


def test_the_fetched_page_holds_what_the_extractor_needs(feed_server, page_options):
    feed_server.put("/p", article_page("Port reopens").encode(), content_type=HTML)
    [result] = fetch_pages(page_options, [feed_server.url("/p")])
    article = extract_page(result.page["html"], result.page["url"])
    assert "PHOTO: AFP" in article.body_html and ("byline", "By Ana Lima") in [(r.kind, r.text) for r in article.removed]
    assert article.metadata.accessible_for_free is True


def test_a_brotli_compressed_page_is_decoded(feed_server, page_options):
    page = article_page("Port reopens").encode()
    feed_server.put("/p", brotli.compress(page), content_type=HTML, headers={"Content-Encoding": "br"})
    [result] = fetch_pages(page_options, [feed_server.url("/p")])
    assert result.article["outcome"] == "fetched" and result.article["bytes"] == len(page)
    assert "HARBOUR CITY (Reuters)" in result.page["html"]


@pytest.mark.parametrize(("changes", "message"), [
    ({"fetch_articles": "sometimes"}, "fetch_articles: 'sometimes' must be one of auto, always, never"),
    ({"host_rate": 0}, "host_rate: 0 must be a number of requests per second > 0"),
    ({"page_record_bytes": 0}, "page_record_bytes: 0 must be an integer >= 1"),
])
def test_page_options_are_checked_when_built(changes, message):
    with pytest.raises(ValueError, match=message):
        ReaderOptions(**changes)


def test_a_redirect_to_another_host_obeys_that_hosts_robots_txt(page_options):
    with FeedServer("127.0.0.1") as first, FeedServer("127.0.0.2") as second:
        first.put("/robots.txt", b"", content_type="text/plain")
        second.put("/robots.txt", b"User-agent: *\nDisallow: /closed/\n", content_type="text/plain")
        second.put("/closed/p", article_page("Closed").encode(), content_type=HTML)
        second.put("/open/p", article_page("Open").encode(), content_type=HTML)
        first.redirect("/a", 302, second.url("/closed/p"))
        first.redirect("/b", 302, second.url("/open/p"))
        closed, open_ = fetch_pages(page_options, [first.url("/a"), first.url("/b")])
        assert closed.article["outcome"] == "robots_disallow"
        assert closed.article["reason"].startswith(f"redirect to {second.url('/closed/p')}")
        assert second.hits("/closed/p") == 0 and second.hits("/robots.txt") == 1
        assert open_.article["outcome"] == "fetched" and open_.page["url"] == second.url("/open/p")
