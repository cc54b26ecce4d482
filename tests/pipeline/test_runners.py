"""pipeline.runners: what the pipeline is given on each runner, and the installers' files.
(The runners themselves are proven by the pipeline tests, tests/pipeline/enrich/.)"""

from __future__ import annotations

import zipfile

import pytest
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

from pipeline import runners


def test_flink_gets_streaming_checkpoints_and_sources_that_end():
    options = PipelineOptions(["--runner", "FlinkRunner", "--bounded"])
    runners.prepare_options(options)
    flink = options.view_as(runners.FlinkCheckpointOptions)
    assert options.view_as(StandardOptions).streaming  # bounded too: Flink commits only then
    assert flink.checkpointing_interval == runners.FLINK_CHECKPOINTING_INTERVAL_MS
    assert flink.shutdown_sources_after_idle_ms == 0
    # and they reach the job server (Python would discard undeclared options)
    assert options.get_all_options()["checkpointing_interval"] == runners.FLINK_CHECKPOINTING_INTERVAL_MS


def test_given_flink_options_are_kept_and_a_useless_interval_refused():
    options = PipelineOptions(["--runner", "FlinkRunner", "--checkpointing_interval", "5000",
                               "--shutdown_sources_after_idle_ms", "-1"])
    runners.prepare_options(options)
    flink = options.view_as(runners.FlinkCheckpointOptions)
    assert (flink.checkpointing_interval, flink.shutdown_sources_after_idle_ms) == (5000, -1)
    with pytest.raises(ValueError, match="--checkpointing_interval: 0; on Flink the Kafka offsets"):
        runners.prepare_options(PipelineOptions(["--runner", "FlinkRunner", "--checkpointing_interval", "0"]))


@pytest.mark.parametrize("runner", ["FnApiRunner", "PrismRunner", "DirectRunner", None])
def test_other_runners_are_left_as_they_are(runner):
    options = PipelineOptions(["--runner", runner] if runner else [])
    runners.prepare_options(options)
    assert not options.view_as(StandardOptions).streaming
    assert options.view_as(runners.FlinkCheckpointOptions).checkpointing_interval is None


def test_prism_is_named_as_beams_release_zip():
    assert runners.prism_release_name("2.78.0") == "apache_beam-v2.78.0-prism-linux-amd64"
    with pytest.raises(ValueError, match="released Beam versions only"):
        runners.prism_release_name("2.79.0.dev0")


def test_prism_is_offered_to_the_direct_runner_as_a_downloaded_release(tmp_path):
    binary = tmp_path / "prism"
    binary.write_bytes(b"\x7fELF not really")
    cache = tmp_path / "cache"
    placed = runners.offer_to_direct_runner(binary, "2.78.0", cache=cache)
    name = "apache_beam-v2.78.0-prism-linux-amd64"
    assert placed == cache / name and placed.read_bytes() == binary.read_bytes()
    with zipfile.ZipFile(cache / f"{name}.zip") as release:  # what Beam unpacks
        assert release.namelist() == [name] and release.read(name) == binary.read_bytes()
    assert runners.offer_to_direct_runner(binary, "2.78.0", cache=cache) == placed  # idempotent


def test_an_installed_prism_is_not_built_again(tmp_path, monkeypatch):
    built = tmp_path / runners.prism_release_name("2.78.0")
    built.write_bytes(b"")
    built.chmod(0o755)
    monkeypatch.setenv("PATH", "")  # no Go: a build would fail
    assert runners.install_prism("2.78.0", cache=tmp_path) == built
    with pytest.raises(RuntimeError, match="`go` is not on PATH"):
        runners.install_prism("2.77.0", cache=tmp_path)


def test_the_job_server_manifest_folds_long_lines_as_jars_require():
    jars = [f"lib/some-rather-long-artifact-name-{i}-1.2.3.jar" for i in range(40)]
    manifest = runners._manifest(runners.FLINK_JOB_SERVER_MAIN, jars).decode("ascii")
    lines = manifest.split("\r\n")
    assert all(len(line.encode()) <= 72 for line in lines)
    assert lines[1] == f"Main-Class: {runners.FLINK_JOB_SERVER_MAIN}"
    unfolded = "".join(line[1:] if line.startswith(" ") else "\n" + line for line in lines)
    assert "\nClass-Path: " + " ".join(jars) + "\n" in unfolded


@pytest.mark.timeout(900)  # builds the runners if missing (scripts/install_runners.py)
@pytest.mark.parametrize("name", ["fnapi", "prism", "flink"])
def test_runner_arguments_name_the_runner(name, prism_binary, flink_job_server_jar):
    arguments = runners.runner_arguments(name)
    assert arguments[:2] == ["--runner", {"fnapi": "FnApiRunner", "prism": "PrismRunner",
                                          "flink": "FlinkRunner"}[name]]
    if name == "prism":
        assert str(prism_binary) in arguments
    if name == "flink":
        assert str(flink_job_server_jar) in arguments and "[local]" in arguments
    with pytest.raises(ValueError, match="choose one of fnapi, prism, flink"):
        runners.runner_arguments("spark")
