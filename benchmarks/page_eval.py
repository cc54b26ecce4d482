"""Article-body extraction on real news pages: token-shingle precision/recall/F1, and how
often datelines, captions and photo credits survive.

    .venv/bin/python benchmarks/page_eval.py [--pages DIR] [--show]

The pages (61 real news pages with the main text two other extractors expect) live outside
the repository, in ``../shared/devdata/pages`` from the repository root (or
``$NEWSWIRE_DEVDATA/pages``); the script says so and exits 0 when they are absent. Nothing of
them is copied anywhere.

Each page goes through exactly the pipeline's path: a raw story record holding the page
(``page.html``, ``page.url``) and an empty feed summary → ``transforms.extract.enrich_record``.
The article text compared is the enriched record's dateline (``dateline.raw``) followed by
its ``text`` (the body as the pipeline holds it; captions, credits and bylines are in
``cleaning.removed``, not in the text).

Scoring is the public article-extraction benchmark's (scrapinghub/article-extraction-
benchmark, ``evaluate.py``): texts are cut into ``\\w+`` tokens, 4-token shingles are counted
as multisets, tp/fp/fn per page are normalised by their sum, precision and recall are the
means over pages, F1 comes from the two means.

Pages whose expected text is only the article's opening (``expected_is_prefix``, 34 of 61)
are scored apart: the extracted text is cut where the expected opening ends in it (the
furthest point that one of the opening's shingles is first found, or the opening's length in
tokens when none is), so text before the opening counts against precision and the unknown
rest of the article counts for nothing.

Survival: a dateline survives when the expected text opens with a dateline (the project's
dateline finder on the expected text) and the record has one with the same place names;
a caption survives when a ``<figcaption>`` of the page outside navigation, asides and
footers (its first 40 characters) is found in ``cleaning.removed`` or the text; a credit
survives when such a caption holds a photo credit (``PHOTO:``, ``Photo:``, ``Credit:``,
``©``, ``Getty Images``, an agency after a slash) and the record's
``attribution.photo`` is not empty or a ``photo_credit`` was removed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from lxml import html as lxml_html

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from schemas.identity import story_id
from transforms.dateline import find_dateline
from transforms.extract import enrich_record, load_data

_TOKEN = re.compile(r"\w+", re.UNICODE)
_CREDIT = re.compile(r"\b(?:PHOTO|Photo|Picture|Image|Credit|Credits)\s*:|©|Getty Images|"
                     r"/\s*(?:AFP|AP|Reuters|REUTERS|EPA|Xinhua|Getty)\b")
SHINGLE = 4


def pages_dir(given: str | None) -> Path:
    if given:
        return Path(given)
    root = os.environ.get("NEWSWIRE_DEVDATA")
    base = Path(root) if root else REPO / ".." / "shared" / "devdata"
    return base / "pages"


def _shingles(tokens: list[str]) -> Counter:
    return Counter(tuple(tokens[i:i + SHINGLE]) for i in range(max(1, len(tokens) - SHINGLE + 1))
                   if tokens[i:i + SHINGLE])


def tp_fp_fn(true_tokens: list[str], pred_tokens: list[str]) -> tuple[float, float, float]:
    true, pred = _shingles(true_tokens), _shingles(pred_tokens)
    tp = sum((true & pred).values())
    fp, fn = sum(pred.values()) - tp, sum(true.values()) - tp
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def precision_recall(counts: tuple[float, float, float]) -> tuple[float, float]:
    tp, fp, fn = counts
    if fp == fn == 0:
        return 1.0, 1.0
    precision = 0.0 if tp == fp == 0 else tp / (tp + fp)
    recall = 0.0 if tp == fn == 0 else tp / (tp + fn)
    return precision, recall


def prefix_window(expected: list[str], predicted: list[str]) -> list[str]:
    """The predicted tokens up to where the expected opening ends in them."""
    first_seen: dict[tuple, int] = {}
    for i in range(max(1, len(predicted) - SHINGLE + 1)):
        first_seen.setdefault(tuple(predicted[i:i + SHINGLE]), i)
    ends = [first_seen[s] + SHINGLE for s in _shingles(expected) if s in first_seen]
    return predicted[: max(ends) if ends else len(expected)]


def raw_record(page: str, url: str) -> dict:
    sid = story_id(guid=None, link=url, feed_url=url, title=None, content=None)
    return {
        "schema_version": "1.1", "story_id": sid, "revision": 1,
        "source": {"feed_url": url, "feed_title": None, "publisher": "eval", "entry_id": None,
                   "link": url},
        "title": None, "authors": [], "categories": [], "language": None,
        "published_at": None, "updated_at": None, "fetched_at": "2026-01-01T00:00:00Z",
        "html": None, "text": "",
        "article": {"outcome": "fetched", "url": url, "final_url": url, "status": 200,
                    "bytes": len(page.encode()), "reason": None},
        "page": {"url": url, "html": page, "content_type": "text/html", "encoding": "utf-8"},
    }


def figcaptions(page: str) -> list[str]:
    tree = lxml_html.document_fromstring(page.encode("utf-8"))
    out = []
    for node in tree.iter("figcaption"):
        if node.xpath("ancestor::nav|ancestor::aside|ancestor::footer"):
            continue
        text = " ".join(" ".join(node.itertext()).split())
        if len(text) >= 15:
            out.append(text)
    return out


def _prf(scores: list[tuple[float, float]]) -> dict[str, float]:
    precision = statistics.mean(s[0] for s in scores)
    recall = statistics.mean(s[1] for s in scores)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pages": len(scores), "precision": precision, "recall": recall, "f1": f1}


def evaluate(folder: Path, show: bool = False) -> dict:
    """Score every page of ``folder`` (see the module docstring); ``show`` prints each page."""
    load_data()
    full: list[tuple[float, float]] = []
    prefix: list[tuple[float, float]] = []
    datelines = [0, 0]
    captions = [0, 0]
    credits = [0, 0]
    seconds = 0.0
    rows = [json.loads(line) for line in (folder / "index.jsonl").open(encoding="utf-8")]
    for row in rows:
        page = gzip.decompress((folder / row["file"]).read_bytes()).decode("utf-8")
        started = time.perf_counter()
        record = enrich_record(raw_record(page, row["url"]), pipeline_version="eval",
                               processed_at="2026-01-01T00:00:00Z")
        seconds += time.perf_counter() - started
        dateline = record["dateline"]
        text = (dateline["raw"] + " " if dateline else "") + record["text"]
        expected = row["expected_text"]
        exp_tokens, got_tokens = _TOKEN.findall(expected), _TOKEN.findall(text)
        if row["expected_is_prefix"]:
            scores = precision_recall(tp_fp_fn(exp_tokens, prefix_window(exp_tokens, got_tokens)))
            prefix.append(scores)
        else:
            scores = precision_recall(tp_fp_fn(exp_tokens, got_tokens))
            full.append(scores)
        expected_dateline = find_dateline([p for p in expected.split("\n") if p.strip()][:3])
        if expected_dateline is not None:
            datelines[1] += 1
            names = [p.name.lower() for p in expected_dateline.places]
            if dateline and [p["name"].lower() for p in dateline["locations"]] == names:
                datelines[0] += 1
        removed = " ".join(item["text"] for item in record["cleaning"]["removed"])
        kinds = {item["kind"] for item in record["cleaning"]["removed"]}
        for caption in figcaptions(page):
            captions[1] += 1
            if caption[:40] in removed or caption[:40] in text:
                captions[0] += 1
            if _CREDIT.search(caption):
                credits[1] += 1
                if record["attribution"]["photo"] or "photo_credit" in kinds:
                    credits[0] += 1
        if show:
            print(f"{row['file'][:44]:44} {'prefix' if row['expected_is_prefix'] else 'full  '} "
                  f"P={scores[0]:.3f} R={scores[1]:.3f} body={record.get('article', {}).get('body')}")
    return {"full": _prf(full), "prefix": _prf(prefix), "all": _prf(full + prefix),
            "datelines": datelines, "captions": captions, "credits": credits,
            "ms_per_page": 1000 * seconds / len(rows), "pages": len(rows)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", help="folder with index.jsonl (default: ../shared/devdata/pages)")
    parser.add_argument("--show", action="store_true", help="print each page's scores")
    args = parser.parse_args()
    folder = pages_dir(args.pages)
    if not (folder / "index.jsonl").is_file():
        print(f"page_eval: no evaluation pages at {folder} (index.jsonl missing): skipped")
        return 0
    report = evaluate(folder, args.show)
    for key, name in (("full", "full expected text"), ("prefix", "expected opening only"),
                      ("all", "all pages")):
        r = report[key]
        print(f"{name:<22} pages {r['pages']:>3}  precision {r['precision']:.3f}  "
              f"recall {r['recall']:.3f}  F1 {r['f1']:.3f}")
    kept, total = report["datelines"]
    print(f"datelines kept         {kept} of {total} expected texts that open with one")
    kept, total = report["captions"]
    print(f"captions kept          {kept} of {total} <figcaption>s")
    kept, total = report["credits"]
    print(f"photo credits kept     {kept} of {total} captions with a credit")
    print(f"extraction             {report['ms_per_page']:.1f} ms/page ({report['pages']} pages, "
          "whole enrichment)")
    print(f"command: .venv/bin/python benchmarks/page_eval.py{' --pages ' + args.pages if args.pages else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
