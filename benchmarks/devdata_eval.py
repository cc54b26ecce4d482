"""Accuracy of the extractors on real wire copy nobody here wrote: Reuters-21578 (TRAIN).

Reads ``../shared/devdata/reuters21578-train.jsonl.gz`` (or the folder named by
``NEWSWIRE_DEVDATA``); without it, says so and exits 0. The stories' texts never enter the
repository: this script reads them where they are and prints figures (and, on the
development part only, failing cases to the terminal when asked).

Each story runs through ``transforms.extract.extract(text=..., published_at=...)`` and
``to_fields``: what ``newswire extract`` does with a ``{"id", "text", "published_at"}`` line.

The stories are split by a hash of their ``id`` into a development part (75%) and a
held-out part (25%, about 3,200 stories). Tune on ``--part dev``; score ``--part heldout``
only as aggregate figures (the script refuses to list its cases), at first contact and at
the end.

Figures (see the README, section Extraction):

- dateline places exact: on stories whose dateline names a place, the places found, as
  written (case, dots and spaces aside), are exactly the expected ones, in order;
- false datelines: on stories whose opening names no place (tables, bare dates), a dateline
  with a place was found;
- country right: of the places found that match an expected place, the country is the one
  written in the dateline's region (``MINN.``, ``Switzerland``) or, without a region, the
  one labelled for that city in ``benchmarks/data/devdata_countries.tsv`` (cities with no
  label are left out and counted);
- credit P/R/F1 against ``expected_credit`` (Reuters or none);
- per dateline_form and signoff_form, and the kinds of failure.

    .venv/bin/python benchmarks/devdata_eval.py [--part dev|heldout|all] [--show N] [--kind K]
    .venv/bin/python benchmarks/devdata_eval.py --pages    # datelines of the 61 article pages
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.transforms.test_corpus import Counts as CorpusCounts
from transforms.extract import extract, to_fields
from transforms.gazetteer import default_gazetteer, normalize_key

ENV_VAR = "NEWSWIRE_DEVDATA"
#: Where the development data is looked for, first found: beside the repository (a checkout in
#: /work/main) or one level further up (a worktree in /work/wt/<name>).
DEFAULT_DIRS = (ROOT / ".." / "shared" / "devdata", ROOT / ".." / ".." / "shared" / "devdata")
REUTERS_FILE = "reuters21578-train.jsonl.gz"
COUNTRIES = Path(__file__).parent / "data" / "devdata_countries.tsv"
PAGES_DIR = "pages"
PAGE_DATELINES = Path(__file__).parent / "data" / "devdata_pages_datelines.json"
#: The split: a story is held out when the first byte of this hash of its id is below 64.
SPLIT_SALT = "newswire-devdata:"
HELDOUT_BELOW = 64
PARTS = ("dev", "heldout", "all")


def devdata_dir() -> Path:
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).resolve()
    return next((d.resolve() for d in DEFAULT_DIRS if d.is_dir()), DEFAULT_DIRS[0].resolve())


def is_heldout(story_id: object) -> bool:
    digest = hashlib.sha256(f"{SPLIT_SALT}{story_id}".encode()).digest()
    return digest[0] < HELDOUT_BELOW


def stories(path: Path, part: str) -> Iterator[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            story = json.loads(line)
            if part == "all" or (part == "heldout") == is_heldout(story["id"]):
                yield story


def published_at(story: dict) -> datetime | None:
    """The collection's date ("26-FEB-1987 15:01:01.79") as an aware datetime."""
    try:
        return datetime.strptime(story["date"].strip()[:20], "%d-%b-%Y %H:%M:%S").replace(
            tzinfo=timezone.utc)
    except (KeyError, ValueError, AttributeError):
        return None


def name_key(name: str) -> str:
    """Names compare without case, dots, commas or runs of spaces (``ST. LOUIS`` = ``St Louis``)."""
    return " ".join(re.sub(r"[.,]", " ", name).casefold().split())


def load_countries(path: Path = COUNTRIES) -> dict[str, str]:
    """normalize_key(city or region) -> ISO country, from the hand-labelled table."""
    table = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, country = line.split("\t")[:2]
            table[normalize_key(name)] = country.strip()
    return table


@dataclass
class Counts(CorpusCounts):
    """The corpus gate's counts (precision, recall, F1), filled from sets of names."""

    def add(self, want: set[str], have: set[str]) -> None:
        self.tp += len(want & have)
        self.fp += len(have - want)
        self.fn += len(want - have)

    def __str__(self) -> str:
        return (f"P {self.precision:.4f} R {self.recall:.4f} F1 {self.f1:.4f} "
                f"(tp {self.tp} fp {self.fp} fn {self.fn})")


@dataclass
class Report:
    stories: int = 0
    positives: int = 0
    exact: int = 0
    negatives: int = 0
    false_datelines: int = 0
    countries: int = 0
    countries_right: int = 0
    countries_unlabelled: int = 0
    credit: Counts = field(default_factory=Counts)
    by_dateline_form: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    by_signoff_form: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    kinds: Counter = field(default_factory=Counter)
    examples: dict[str, list[tuple[dict, dict]]] = field(default_factory=lambda: defaultdict(list))
    seconds: float = 0.0


def dateline_kind(want: list[str], fields: dict) -> str | None:
    """The kind of a dateline failure, or None when the places are exactly right."""
    dateline = fields["dateline"]
    have = [name_key(p["name"]) for p in dateline["locations"]] if dateline else []
    if have == want:
        return None
    if dateline is None:
        return "missed: no dateline"
    if not have:
        return "missed: dateline without a place"
    if len(have) != len(want):
        return f"places: {len(have)} found for {len(want)}"
    if all(h in w or w in h for h, w in zip(have, want, strict=True)):
        return "places: a name cut short or run on"
    return "places: other names"


def score(story: dict, fields: dict, countries: dict[str, str], report: Report) -> list[str]:
    """Adds one story to the report; returns the kinds of its failures."""
    kinds = []
    want = [name_key(loc["city"]) for loc in story["expected_locations"]]
    dateline = fields["dateline"]
    form = story["dateline_form"] or "none"
    report.stories += 1
    if want:
        report.positives += 1
        kind = dateline_kind(want, fields)
        report.by_dateline_form[form][1] += 1
        if kind is None:
            report.exact += 1
            report.by_dateline_form[form][0] += 1
        else:
            kinds.append(kind)
        if dateline:
            for loc, place in zip(story["expected_locations"], dateline["locations"], strict=False):
                if name_key(place["name"]) != name_key(loc["city"]):
                    continue
                truth = countries.get(normalize_key(loc["region"] or loc["city"]))
                if truth is None:
                    report.countries_unlabelled += 1
                    continue
                report.countries += 1
                if place["country"] == truth:
                    report.countries_right += 1
                else:
                    kinds.append("country: wrong or unresolved")
    else:
        report.negatives += 1
        report.by_dateline_form[form][1] += 1
        if dateline and dateline["locations"]:
            report.false_datelines += 1
            kinds.append("false dateline")
        else:
            report.by_dateline_form[form][0] += 1
    want_credit = {story["expected_credit"]} if story["expected_credit"] else set()
    have_credit = set(fields["attribution"]["credit"])
    report.credit.add(want_credit, have_credit)
    report.by_signoff_form[story["signoff_form"] or "none"].add(want_credit, have_credit)
    if want_credit - have_credit:
        kinds.append("credit: missed")
    if have_credit - want_credit:
        kinds.append("credit: spurious " + "/".join(sorted(have_credit - want_credit)))
    return kinds


def evaluate(path: Path, part: str, keep_examples: int) -> Report:
    report = Report()
    countries = load_countries()
    default_gazetteer()
    started = time.perf_counter()
    for story in stories(path, part):
        extraction = extract(text=story["text"], published_at=published_at(story))
        fields = to_fields(extraction)
        for kind in score(story, fields, countries, report):
            report.kinds[kind] += 1
            if len(report.examples[kind]) < keep_examples:
                report.examples[kind].append((story, fields))
    report.seconds = time.perf_counter() - started
    return report


def summary(report: Report, part: str) -> str:
    r = report
    lines = [
        (f"Reuters-21578 TRAIN, part {part}: {r.stories} stories "
        f"({r.positives} with a dateline place, {r.negatives} without), {r.seconds:.1f} s"),
        f"  dateline places exact   {r.exact / r.positives:.4f}  ({r.exact}/{r.positives})",
        f"  false datelines         {r.false_datelines} of {r.negatives}",
        (f"  country right           {r.countries_right / max(r.countries, 1):.4f}  "
        f"({r.countries_right}/{r.countries}; {r.countries_unlabelled} places without a label)"),
        f"  credit                  {r.credit}",
        "  by dateline_form (right/n):  " + ", ".join(
            f"{form} {ok}/{n}" for form, (ok, n) in sorted(r.by_dateline_form.items())),
        "  by signoff_form (credit):",
        *(f"    {form:24} {counts}" for form, counts in sorted(r.by_signoff_form.items())),
        "  failure kinds:",
        *(f"    {count:5}  {kind}" for kind, count in r.kinds.most_common()),
    ]
    return "\n".join(lines)


def show_examples(report: Report, kind: str | None, count: int) -> str:
    out = []
    for k, examples in report.examples.items():
        if kind and not k.startswith(kind):
            continue
        out.append(f"=== {k}")
        for story, fields in examples[:count]:
            d = fields["dateline"]
            out.append(f"--- id {story['id']} form {story['dateline_form']}/{story['signoff_form']}"
                       f" want {[loc['city'] for loc in story['expected_locations']]}"
                       f" credit {story['expected_credit']}")
            out.append(f"    got {d and d['raw']!r} {d and [(p['name'], p['country']) for p in d['locations']]}"
                       f" credit {fields['attribution']['credit']}")
            out.append("    " + story["text"][:300].replace("\n", "\n    "))
            out.append("    ... " + repr(story["text"][-120:]))
    return "\n".join(out)


def evaluate_pages(folder: Path, show: bool, body: bool) -> str:
    """Dateline places (name as written and country) on the article pages, labelled in
    PAGE_DATELINES; a first-contact batch: no split, no tuning. ``body``: read the page's
    expected main text as plain text instead of the page (as if the body had been found)."""
    labels = json.loads(PAGE_DATELINES.read_text(encoding="utf-8"))["datelines"]
    positives = exact = negatives = false = 0
    kinds: Counter = Counter()
    started = time.perf_counter()
    for line in (folder / "index.jsonl").open(encoding="utf-8"):
        row = json.loads(line)
        if body:
            dateline = extract(text=row["expected_text"]).dateline
        else:
            html = gzip.decompress((folder / row["file"]).read_bytes()).decode("utf-8")
            dateline = extract(html=html).dateline
        have = [(name_key(p.name), p.country) for p in dateline.places] if dateline else []
        want = labels.get(row["file"])
        if want:
            positives += 1
            ok = have == [(name_key(name), country) for name, country in want]
            exact += ok
            kind = None if ok else "missed" if not have else "wrong places or country"
        else:
            negatives += 1
            kind = "false dateline" if have else None
            false += kind is not None
        if kind:
            kinds[kind] += 1
            if show:
                print(f"--- {row['file']}: {kind}: want {want}, got "
                      f"{dateline and dateline.raw!r} {have}")
    return "\n".join([
        (f"article pages ({folder}{', their expected text' if body else ''}): "
         f"{positives + negatives} pages ({positives} with a dateline, {negatives} without), "
         f"{time.perf_counter() - started:.1f} s"),
        f"  dateline places exact   {exact / max(positives, 1):.4f}  ({exact}/{positives})",
        f"  false datelines         {false} of {negatives}",
        "  failure kinds: " + (", ".join(f"{k} {n}" for k, n in kinds.most_common()) or "none"),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=PARTS, default="dev")
    parser.add_argument("--show", type=int, default=0, metavar="N",
                        help="print N failing stories of each kind (development part only)")
    parser.add_argument("--kind", help="with --show: only kinds starting with this")
    parser.add_argument("--pages", action="store_true",
                        help="score the datelines of the article pages (pages/) instead")
    args = parser.parse_args(argv)
    if args.pages:
        folder = devdata_dir() / PAGES_DIR
        if not (folder / "index.jsonl").is_file():
            print(f"no article pages at {folder} (set {ENV_VAR}): nothing to evaluate")
            return 0
        print(evaluate_pages(folder, bool(args.show), body=False))
        print(evaluate_pages(folder, bool(args.show), body=True))
        print("command: .venv/bin/python benchmarks/devdata_eval.py --pages")
        return 0
    if args.show and args.part != "dev":
        parser.error("--show lists cases: only on --part dev (the held-out part stays unread)")
    path = devdata_dir() / REUTERS_FILE
    if not path.is_file():
        print(f"no development data at {path} (set {ENV_VAR} to its folder): nothing to evaluate")
        return 0
    report = evaluate(path, args.part, args.show)
    print(summary(report, args.part))
    if args.show:
        print(show_examples(report, args.kind, args.show))
    print(f"command: .venv/bin/python benchmarks/devdata_eval.py --part {args.part}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
