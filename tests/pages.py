"""Article pages, summary-only feeds and raw records with pages, written for the tests
(no publisher's text)."""

from __future__ import annotations

import json
from xml.sax.saxutils import escape

from schemas import RAW_STORY
from scripts.make_schema_examples import EXAMPLES

BODY = (
    "<p>HARBOUR CITY (Reuters) - The port authority reopened the northern terminal on Monday "
    "after a three-day closure caused by a storm surge, officials said, and the first ferries "
    "left on time.</p>"
    "<p>Workers cleared debris from the quay overnight, and engineers found no damage to the "
    "cranes, the authority said in a statement that thanked the crews for their work.</p>"
    "<p>Traders said the closure had delayed about forty container ships, and that the "
    "backlog should clear by the end of the week if the weather holds as forecast.</p>"
    "<p>REUTERS</p>"
)


def article_page(title: str, *, body: str = BODY, charset: str = "utf-8", extra_head: str = "",
                 free: bool = True) -> str:
    """A news page: navigation, a figure with a credited caption, a byline, the body,
    related links and a footer; JSON-LD and Open Graph metadata."""
    return f"""<!doctype html><html lang="en"><head><meta charset="{charset}">
<title>{escape(title)} | Harbour Herald</title>{extra_head}
<meta property="og:title" content="{escape(title)}">
<meta property="article:section" content="Business">
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "NewsArticle",
"headline": "{escape(title)}", "author": {{"@type": "Person", "name": "Ana Lima"}},
"datePublished": "2026-12-01T07:30:00+01:00", "isAccessibleForFree": {str(free).lower()}}}</script>
<script>window.tracking = {{"page": 1}};</script><style>body {{ margin: 0 }}</style></head>
<body><nav class="site-nav"><a href="/">Home</a> <a href="/business">Business</a></nav>
<main><article><h1>{escape(title)}</h1><p class="byline">By Ana Lima</p>
<figure><img src="/ferry.jpg" alt=""><figcaption>A ferry leaves the northern terminal on Monday. PHOTO: AFP</figcaption></figure>
{body}</article>
<aside class="related"><h2>Related</h2><a href="/a">Storm closes port</a></aside></main>
<footer>Copyright 2026 Harbour Herald</footer></body></html>"""


PAYWALL_STUB = """<!doctype html><html><head><title>Subscribers only</title>
<script type="application/ld+json">{"@type": "NewsArticle", "isAccessibleForFree": false}</script>
</head><body><nav><a href="/">Home</a></nav><p>The port authority reopened the terminal.</p>
<div class="paywall">Subscribe to read the full story.</div></body></html>"""

SCRIPT_ONLY = """<!doctype html><html><head><title>App</title></head>
<body><div id="root"></div><script>document.getElementById("root").innerText = "x";</script></body></html>"""


def summary_feed(base: str, items: list[tuple[str, str]]) -> bytes:
    """An RSS feed whose entries carry a one-sentence summary and a link: (slug, title)."""
    entries = "".join(
        f"<item><title>{escape(title)}</title><link>{base}/news/{slug}</link>"
        f"<guid isPermaLink=\"false\">herald-{slug}</guid>"
        f"<description>{escape(title)}: a short summary.</description>"
        "<pubDate>Tue, 01 Dec 2026 06:30:00 GMT</pubDate></item>"
        for slug, title in items
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Harbour Herald</title><link>{base}/</link>{entries}</channel></rss>").encode()


def raw_with_page(page: str, *, summary: str = "<p>The port reopened.</p>", outcome: str = "fetched") -> dict:
    raw = json.loads((EXAMPLES / "seed-raw.json").read_text("utf-8"))
    raw.update(schema_version="1.1", html=summary, text=None, title=None, authors=[],
               published_at=None, language=None)
    raw["article"] = {"outcome": outcome, "url": "https://herald.example.org/p",
                      "final_url": "https://herald.example.org/p", "status": 200,
                      "bytes": len(page), "reason": None}
    raw["page"] = {"url": "https://herald.example.org/p", "html": page,
                   "content_type": "text/html", "encoding": "utf-8"}
    RAW_STORY.validate(raw)
    return raw
