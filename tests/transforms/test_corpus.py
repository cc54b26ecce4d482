"""Accuracy gates over the labelled corpus (tests/transforms/corpus/, see its README.md).

Every case runs through ``transforms.extract.extract``; the fields are scored against the
case's expectations and the scores must stay at or above the floors pinned in
``corpus/floors.json``. Floors only go up.

For the full per-case report while tuning an extractor:

    .venv/bin/python -m tests.transforms.test_corpus            # failures grouped by source
    .venv/bin/python -m tests.transforms.test_corpus --notes    # ... with each case's note
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from schemas import ENRICHED_STORY, SCHEMA_VERSION
from schemas.timefmt import parse_rfc3339
from transforms.agencies import default_registry
from transforms.extract import (
    Extraction,
    attribution_step,
    clean_step,
    dateline_step,
    extract,
    finish,
    start,
    to_fields,
)

CORPUS = Path(__file__).parent / "corpus"
FLOORS = CORPUS / "floors.json"
SEED_FIXTURE = Path(__file__).parents[1] / "fixtures" / "seed-story.txt"
SEED_CASE = "straits-times-seed"
ROLES = ("credit", "cited", "photo")
_CASE_KEYS = {"id", "agency", "republisher", "format", "input", "published_at", "expect", "note"}
_EXPECT_KEYS = {"dateline", "date_iso", "text_absent", "text_present", *ROLES}


# --- the corpus -------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    id: str
    source: str  # "agency AFP", "republisher Straits Times", else the file: groups the report
    agency: str | None
    republisher: str | None
    format: str
    input: str
    published_at: str | None
    expect: dict[str, Any]
    note: str
    where: str  # file:line

    @property
    def negative(self) -> bool:
        """A case whose story has no dateline."""
        return self.expect["dateline"] is None


class CorpusError(ValueError):
    """A corpus line that does not follow the format in corpus/README.md."""


def _check_case(obj: Any, where: str) -> Case:
    if not isinstance(obj, dict):
        raise CorpusError(f"{where}: a case is a JSON object, got {type(obj).__name__}")
    unknown = set(obj) - _CASE_KEYS
    if unknown:
        raise CorpusError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(_CASE_KEYS)}")
    for key in ("id", "format", "input", "expect", "note"):
        if key not in obj:
            raise CorpusError(f"{where}: missing key {key!r}")
    if obj["format"] not in ("html", "text"):
        raise CorpusError(f"{where}: format {obj['format']!r}; accepted: 'html', 'text'")
    expect = obj["expect"]
    missing = {"dateline", *ROLES} - set(expect)
    if missing or set(expect) - _EXPECT_KEYS:
        raise CorpusError(f"{where}: expect needs {sorted({'dateline', *ROLES})} and may have "
                          f"date_iso, text_absent, text_present; got {sorted(expect)}")
    dateline = expect["dateline"]
    if dateline is not None and not all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and p[0]
            and (p[1] is None or (isinstance(p[1], str) and len(p[1]) == 2)) for p in dateline):
        raise CorpusError(f"{where}: expect.dateline is null or a list of [name, country] pairs "
                          f"(country: ISO alpha-2 or null), got {dateline!r}")
    if obj.get("published_at") is not None:
        try:
            parse_rfc3339(obj["published_at"])
        except (TypeError, ValueError) as exc:
            raise CorpusError(f"{where}: published_at is not RFC 3339: {exc}") from None
    if expect.get("date_iso") is not None and obj.get("published_at") is None:
        raise CorpusError(f"{where}: expect.date_iso needs published_at to resolve the year")
    source = (f"agency {obj['agency']}" if obj.get("agency")
              else f"republisher {obj['republisher']}" if obj.get("republisher")
              else where.split(".jsonl:")[0])
    return Case(id=obj["id"], source=source, agency=obj.get("agency"),
                republisher=obj.get("republisher"), format=obj["format"], input=obj["input"],
                published_at=obj.get("published_at"), expect=expect, note=obj["note"],
                where=where)


@cache
def load_corpus() -> tuple[Case, ...]:
    """Every case of every corpus/*.jsonl file, in file and line order."""
    cases: list[Case] = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                where = f"{path.relative_to(CORPUS)}:{number}"
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise CorpusError(f"{where}: not valid JSON: {exc}") from None
                cases.append(_check_case(obj, where))
    return tuple(cases)


def load_floors() -> dict[str, Any]:
    return json.loads(FLOORS.read_text(encoding="utf-8"))


def corpus_stats(cases: Sequence[Case]) -> dict[str, int]:
    return {
        "cases": len(cases),
        "agencies": len({c.agency for c in cases if c.agency}),
        "republishers": len({c.republisher for c in cases if c.republisher}),
        "negatives": sum(c.negative for c in cases),
    }


# --- scoring ----------------------------------------------------------------------------

def run_case(case: Case) -> Extraction:
    published_at = parse_rfc3339(case.published_at) if case.published_at else None
    if case.format == "html":
        return extract(html=case.input, published_at=published_at)
    return extract(text=case.input, published_at=published_at)


def canonical(names: Iterable[str]) -> set[str]:
    """Agency names as the registry spells them (a name it does not know stays as written)."""
    registry = default_registry()
    out = set()
    for name in names:
        agency = registry.lookup(name)
        out.add(agency.name if agency else name)
    return out


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Score:
    positives: int = 0
    dateline_exact: int = 0
    negatives: int = 0
    false_datelines: int = 0
    dates: int = 0
    dates_exact: int = 0
    text_checks: int = 0
    text_checks_ok: int = 0
    roles: dict[str, Counts] = field(default_factory=lambda: {r: Counts() for r in ROLES})
    failures: list[tuple[Case, list[str]]] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        return {
            "dateline_places_exact": self.dateline_exact / self.positives if self.positives else 1.0,
            **{f"{role}_f1": counts.f1 for role, counts in self.roles.items()},
            "date_iso_exact": self.dates_exact / self.dates if self.dates else 1.0,
            "text_checks": self.text_checks_ok / self.text_checks if self.text_checks else 1.0,
        }


def _places(extraction: Extraction) -> list[list[str | None]] | None:
    if extraction.dateline is None:
        return None
    return [[p.name, p.country] for p in extraction.dateline.places]


def score_case(case: Case, extraction: Extraction, score: Score) -> list[str]:
    """Adds one case to ``score``; returns what it got wrong (empty when all is right)."""
    problems: list[str] = []
    expect = case.expect
    got = _places(extraction)
    if case.negative:
        score.negatives += 1
        if got is not None:
            score.false_datelines += 1
            problems.append(f"false dateline {extraction.dateline.raw!r} -> {got}")
    else:
        score.positives += 1
        if got == expect["dateline"]:
            score.dateline_exact += 1
        else:
            problems.append(f"dateline: want {expect['dateline']}, got {got}"
                            + (f" from {extraction.dateline.raw!r}" if extraction.dateline else ""))
    if expect.get("date_iso") is not None:
        score.dates += 1
        iso = extraction.dateline.date_iso if extraction.dateline else None
        if iso == expect["date_iso"]:
            score.dates_exact += 1
        else:
            problems.append(f"date_iso: want {expect['date_iso']}, got {iso}")
    for role in ROLES:
        want = canonical(expect[role])
        have = set(getattr(extraction.attribution, role))
        counts = score.roles[role]
        counts.tp += len(want & have)
        counts.fp += len(have - want)
        counts.fn += len(want - have)
        if want != have:
            problems.append(f"{role}: want {sorted(want)}, got {sorted(have)}")
    for snippet in expect.get("text_absent", ()):
        score.text_checks += 1
        if snippet in extraction.text:
            problems.append(f"text still contains {snippet!r}")
        else:
            score.text_checks_ok += 1
    for snippet in expect.get("text_present", ()):
        score.text_checks += 1
        if snippet in extraction.text:
            score.text_checks_ok += 1
        else:
            problems.append(f"text lost {snippet!r}")
    if problems:
        score.failures.append((case, problems))
    return problems


@cache
def score_corpus() -> Score:
    score = Score()
    for case in load_corpus():
        score_case(case, run_case(case), score)
    return score


def floor_breaches(score: Score, floors: dict[str, Any]) -> list[str]:
    breaches = [f"{name} {value:.4f} < floor {floors['accuracy'][name]}"
                for name, value in score.metrics().items()
                if name in floors["accuracy"] and value < floors["accuracy"][name]]
    if score.false_datelines > floors["false_datelines_max"]:
        breaches.append(f"false datelines {score.false_datelines} > max "
                        f"{floors['false_datelines_max']}")
    return breaches


def report(score: Score, floors: dict[str, Any], *, verbose: bool = False) -> str:
    lines = []
    stats = corpus_stats(load_corpus())
    lines.append("corpus: " + ", ".join(f"{k} {v}" for k, v in stats.items())
                 + f", positives {score.positives}")
    accuracy = floors["accuracy"]
    for name, value in score.metrics().items():
        floor = accuracy.get(name)
        mark = "" if floor is None else ("  ok" if value >= floor else "  BELOW")
        lines.append(f"  {name:24} {value:.4f}" + ("" if floor is None else f"  floor {floor}")
                     + mark)
    for role, c in score.roles.items():
        lines.append(f"  {role:8} P {c.precision:.4f} R {c.recall:.4f} F1 {c.f1:.4f} "
                     f"(tp {c.tp} fp {c.fp} fn {c.fn})")
    lines.append(f"  false datelines          {score.false_datelines} of {score.negatives} "
                 f"negatives  max {floors['false_datelines_max']}")
    lines.append(f"  date_iso exact {score.dates_exact}/{score.dates}, text checks "
                 f"{score.text_checks_ok}/{score.text_checks}")
    by_source: dict[str, list[tuple[Case, list[str]]]] = defaultdict(list)
    for case, problems in score.failures:
        by_source[case.source].append((case, problems))
    lines.append(f"failing cases: {len(score.failures)} "
                 f"(by source: {', '.join(f'{s} {len(v)}' for s, v in sorted(by_source.items()))})")
    for source in sorted(by_source):
        lines.append(f"[{source}]")
        for case, problems in by_source[source]:
            lines.append(f"  {case.id} ({case.where}): " + "; ".join(problems))
            if verbose:
                lines.append(f"      note: {case.note}")
    return "\n".join(lines)


# --- tests ------------------------------------------------------------------------------

def test_corpus_meets_its_size_rules():
    """Nobody shrinks the corpus silently: the size floors are pinned next to the others."""
    stats = corpus_stats(load_corpus())
    floors = load_floors()["corpus"]
    short = {k: f"{stats[k]} < {floors[k]}" for k in floors if stats[k] < floors[k]}
    assert not short, f"the corpus is below its size floors: {short} (floors only go up)"


def test_case_ids_are_unique():
    where: dict[str, list[str]] = defaultdict(list)
    for case in load_corpus():
        where[case.id].append(case.where)
    duplicates = {case_id: places for case_id, places in where.items() if len(places) > 1}
    assert not duplicates, f"duplicate case ids: {duplicates}"


def test_labels_name_registry_agencies():
    """An expected agency the registry does not know could never be matched."""
    registry = default_registry()
    unknown = sorted({f"{name} ({c.id})" for c in load_corpus() for role in ROLES
                      for name in c.expect[role] if registry.lookup(name) is None})
    assert not unknown, f"corpus labels not in transforms/data/agencies.json: {unknown}"


def test_seed_story_is_a_case():
    seed = next(c for c in load_corpus() if c.id == SEED_CASE)
    assert seed.input == SEED_FIXTURE.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", load_corpus(), ids=lambda c: c.id)
def test_case_makes_a_valid_enriched_record(case: Case):
    """Each case extracts without error into a schema-valid enriched record whose finding
    offsets point inside the field they name."""
    raw = {"schema_version": "1.0", "story_id": "0" * 32, "revision": 1,
           "source": {"feed_url": "file:///corpus", "feed_title": None, "publisher": "corpus",
                      "entry_id": case.id, "link": None},
           "title": None, "authors": [], "categories": [], "language": None,
           "published_at": case.published_at, "updated_at": None,
           "fetched_at": "2024-01-01T00:00:00Z",
           "html": case.input if case.format == "html" else None,
           "text": case.input if case.format == "text" else None}
    work = attribution_step(dateline_step(clean_step(start(raw))))
    record = finish(work, pipeline_version="test", processed_at="2024-01-01T00:00:00Z")
    ENRICHED_STORY.validate(record)
    assert record == {**{k: v for k, v in raw.items() if k not in ("html", "text")},
                      **to_fields(run_case(case)), "processing": record["processing"],
                      "schema_version": SCHEMA_VERSION}  # the enriched schema's, not the raw's
    fields = {"text": record["text"],
              "dateline": record["dateline"]["raw"] if record["dateline"] else ""}
    for f in record["attribution"]["findings"]:
        target = (record["cleaning"]["removed"][f["index"]]["text"] if f["field"] == "removed"
                  else fields.get(f["field"], record["title"] or ""))
        assert 0 <= f["start"] < f["end"] <= len(target), f"finding outside {f['field']}: {f}"


def test_accuracy_at_or_above_floors():
    floors = load_floors()
    score = score_corpus()
    text = report(score, floors)
    print(text)
    breaches = floor_breaches(score, floors)
    assert not breaches, (
        "extraction accuracy fell below the pinned floors (tests/transforms/corpus/floors.json; "
        "floors only go up: fix the extractor, do not lower the floor):\n  "
        + "\n  ".join(breaches) + "\n" + text)


def _committed_floors() -> list[dict[str, Any]]:
    """Every committed version of floors.json, newest first (none without git history)."""
    path = FLOORS.relative_to(_repo_root()).as_posix()

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=_repo_root(), capture_output=True, text=True,
                              timeout=10, check=True).stdout

    try:
        commits = git("log", "--format=%H", "--", path).split()
        return [json.loads(git("show", f"{commit}:{path}")) for commit in commits]
    except (OSError, subprocess.SubprocessError):
        return []


def test_floors_never_go_down():
    """floors.json may only rise relative to every committed version (maxima only fall)."""
    history = _committed_floors()
    if not history:
        pytest.skip("no committed floors.json to compare with (no git history here)")
    new = load_floors()
    lowered = []
    for old in history:
        lowered += [f"accuracy.{k}: {v} -> {new['accuracy'].get(k)}"
                    for k, v in old["accuracy"].items() if new["accuracy"].get(k, -1) < v]
        lowered += [f"corpus.{k}: {v} -> {new['corpus'].get(k)}"
                    for k, v in old["corpus"].items() if new["corpus"].get(k, -1) < v]
        if new["false_datelines_max"] > old["false_datelines_max"]:
            lowered.append(f"false_datelines_max: {old['false_datelines_max']} -> "
                           f"{new['false_datelines_max']}")
    assert not lowered, f"floors were lowered (they only go up): {sorted(set(lowered))}"


def _repo_root() -> Path:
    return Path(__file__).parents[2]


if __name__ == "__main__":
    print(report(score_corpus(), load_floors(), verbose="--notes" in sys.argv[1:]))
