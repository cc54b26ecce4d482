"""`newswire extract`: JSON Lines and whole files in, enriched JSON Lines out, bad lines on stderr."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import schemas
from pipeline.commands import extract as command
from schemas import ENRICHED_STORY
from tests.pages import article_page, raw_with_page
from transforms.extract import enrich_record

SEED = Path(__file__).parents[1] / "fixtures" / "seed-story.txt"
SEED_RAW = Path(schemas.__file__).parent / "examples" / "seed-raw.json"


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[dict], list[dict]]:
    parser = argparse.ArgumentParser(prog="newswire extract")
    command.configure(parser)
    status = command.main(parser.parse_args(argv))
    out, err = capsys.readouterr()
    return (status, [json.loads(line) for line in out.splitlines()],
            [json.loads(line) for line in err.splitlines()])


def places(record: dict) -> list[tuple[str, str]]:
    return [(p["name"], p["country"]) for p in record["dateline"]["locations"]]


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_json_lines_mixed_inputs_bad_lines_reported_rest_processed(tmp_path, capsys):
    raw = json.loads(SEED_RAW.read_text(encoding="utf-8"))
    seed = SEED.read_text(encoding="utf-8")
    path = write_lines(tmp_path / "in.jsonl", [
        json.dumps({"id": "seed", "text": seed, "published_at": "2023-10-17T08:00:00Z"}),
        "{not json",
        json.dumps({"id": 7, "html": "<p>PARIS (AFP) - Markets rose.</p>", "title": "kept"}),
        "",
        json.dumps({"id": "empty", "title": "no body"}),
        json.dumps(raw),
        json.dumps(["a", "list"]),
        json.dumps({"id": "bad-time", "text": "x", "published_at": "yesterday"}),
    ])
    status, out, err = run([str(path)], capsys)

    assert status == 1
    assert [r.get("id", r.get("story_id")) for r in out] == ["seed", 7, raw["story_id"]]
    first = out[0]
    assert places(first) == [("JAKARTA", "ID"), ("SEOUL", "KR")]
    assert first["attribution"]["credit"] == ["Reuters"]
    assert "html" not in first and "text" in first and "Sign up now" not in first["text"]
    assert out[1]["title"] == "kept" and places(out[1]) == [("PARIS", "FR")]
    ENRICHED_STORY.validate(out[2])  # a raw record comes out as a full enriched record
    assert out[2]["processing"]["input"] is None
    assert [(e["file"], e["line"], e["id"]) for e in err] == [
        (str(path), 2, None), (str(path), 5, "empty"), (str(path), 7, None),
        (str(path), 8, "bad-time")]
    assert "not valid JSON" in err[0]["error"]
    assert "neither 'text' nor 'html'" in err[1]["error"]
    assert "JSON object" in err[2]["error"]
    assert "RFC 3339" in err[3]["error"]


def test_invalid_raw_record_is_an_error_naming_the_field(tmp_path, capsys):
    raw = json.loads(SEED_RAW.read_text(encoding="utf-8"))
    raw["revision"] = 0
    status, out, err = run([str(write_lines(tmp_path / "raw.jsonl", [json.dumps(raw)]))], capsys)
    assert (status, out) == (1, [])
    assert err[0]["id"] == raw["story_id"] and "revision" in err[0]["error"]


def test_all_good_exits_zero_and_keeps_order_across_files(tmp_path, capsys):
    a = write_lines(tmp_path / "a.jsonl", [json.dumps({"id": "a1", "text": "SEOUL (Yonhap) -- Hi."}),
                                           json.dumps({"id": "a2", "text": "No dateline here."})])
    b = write_lines(tmp_path / "b.jsonl", [json.dumps({"id": "b1", "text": "TOKYO - Hello.\n==Kyodo"})])
    status, out, err = run([str(a), str(b)], capsys)
    assert (status, err) == (0, [])
    assert [r["id"] for r in out] == ["a1", "a2", "b1"]
    assert places(out[0]) == [("SEOUL", "KR")] and out[1]["dateline"] is None


def test_stdin_when_no_files(monkeypatch, capsys):
    line = json.dumps({"id": "in", "text": "BEIJING, Jan. 5 (Xinhua) -- Trade grew.",
                       "published_at": "2024-01-05T02:00:00Z"}) + "\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(line.encode())))
    status, out, err = run([], capsys)
    assert (status, err) == (0, [])
    assert out[0]["dateline"]["date"] == {"raw": "Jan. 5", "iso": "2024-01-05"}


def test_text_mode_reads_each_file_as_one_story(tmp_path, capsys):
    seed = tmp_path / "seed.txt"
    seed.write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    other = tmp_path / "other.txt"
    other.write_text("MOSCOW, October 17. /TASS/. Talks began.\n", encoding="utf-8")
    status, out, err = run(["--text", "--published-at", "2023-10-17T10:00:00Z",
                            str(seed), str(other)], capsys)
    assert (status, err) == (0, [])
    assert [r["id"] for r in out] == [str(seed), str(other)]
    assert out[0]["attribution"]["cited"] == ["TASS", "KCNA"]
    assert out[0]["attribution"]["photo"] == ["AFP"]
    assert out[1]["dateline"]["date"]["iso"] == "2023-10-17"


def test_missing_file_is_reported_and_the_others_processed(tmp_path, capsys):
    good = write_lines(tmp_path / "good.jsonl", [json.dumps({"id": "g", "text": "Hello."})])
    missing = tmp_path / "missing.jsonl"
    status, out, err = run([str(missing), str(good)], capsys)
    assert status == 1
    assert [r["id"] for r in out] == ["g"]
    assert err[0]["file"] == str(missing) and err[0]["line"] is None
    assert err[0]["error"] == "the file does not exist"


@pytest.mark.parametrize("argv", [["--published-at", "2023-10-17T10:00:00Z"],
                                  ["--text", "--published-at", "tomorrow", str(SEED)]])
def test_published_at_needs_whole_file_mode_and_a_valid_time(argv, capsys):
    parser = argparse.ArgumentParser(prog="newswire extract")
    command.configure(parser)
    assert command.main(parser.parse_args(argv)) == 2
    out, err = capsys.readouterr()
    assert out == "" and "--published-at" in err


def test_whole_pages_and_raw_records_with_pages_take_the_pipelines_path(tmp_path, capsys):
    page = article_page("Port reopens")
    raw = raw_with_page(page)
    path = write_lines(tmp_path / "pages.jsonl", [
        json.dumps({"id": "p1", "page_html": page, "url": "https://herald.example.org/p"}),
        json.dumps(raw),
        json.dumps({"id": "bad", "page_html": 42}),
    ])
    status, out, err = run([str(path)], capsys)
    assert status == 1 and [e["id"] for e in err] == ["bad"]
    given, from_raw = out
    assert given["id"] == "p1" and given["article"]["body"] == "page"
    assert given["dateline"]["raw"] == "HARBOUR CITY (Reuters)" and given["title"] == "Port reopens"
    assert given["attribution"]["photo"] == ["AFP"] and given["page"]["authors"] == ["Ana Lima"]
    ENRICHED_STORY.validate(from_raw)
    expected = enrich_record(raw, pipeline_version="x", processed_at="2026-12-01T08:00:00Z")
    assert {k: v for k, v in from_raw.items() if k != "processing"} == {
        k: v for k, v in expected.items() if k != "processing"}
    assert given["text"] == from_raw["text"]


@pytest.mark.parametrize("mode", [[], ["--text"], ["--html"]])
def test_a_missing_file_is_said_to_be_missing(mode, tmp_path, capsys):
    missing = tmp_path / "missing.txt"
    status, out, err = run([*mode, str(missing)], capsys)
    assert (status, out) == (1, [])
    assert err == [{"error": "the file does not exist", "file": str(missing), "line": None,
                    "id": None if not mode else str(missing)}]


def test_an_unknown_option_shows_the_commands_own_usage():
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "extract", "--bogus"],
                          check=False, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("usage: newswire extract ")
    assert done.stderr.splitlines()[-1] == "newswire extract: error: unrecognized arguments: --bogus"
