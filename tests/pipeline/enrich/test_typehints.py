"""The pipeline's type hints are real: resolved when the pipeline is built, and checked.

Beam up to 2.77 turned string hints (``from __future__ import annotations``) into Any and
logged "Converting string literal type hint to Any"; 2.78 resolves them. Either way a hint
only protects anything when Beam sees a real type, so these tests build the whole pipeline
with Beam's construction-time type check on (its default) and show that a step applied to
the wrong element type is refused.
"""

import logging

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions, TypeOptions
from apache_beam.typehints import Any as BeamAny
from apache_beam.typehints.decorators import TypeCheckError

from pipeline.enrich.assembly import build
from pipeline.enrich.deadletter import _FailureToKafkaFn, _SendFailureToKafkaFn
from pipeline.enrich.options import NewswireOptions
from pipeline.kafkaio import KafkaWriteConfig, WriteToKafka
from pipeline.kafkaio.sink import _WriteFn
from transforms.beam import CleanText, EncodeEnriched, _DecodeFn, _EncodeFn, _StepFn
from transforms.beam_stats import _EncodeCountsFn


def _options(*extra: str) -> PipelineOptions:
    options = PipelineOptions(["--bootstrap-servers", "127.0.0.1:9", *extra])
    options.view_as(NewswireOptions)
    return options


@pytest.mark.parametrize(
    "extra",
    [(), ("--output-path", "out/"), ("--dedup-ttl-hours", "2", "--runner", "PrismRunner"),
     ("--stats-topic", "news.stats", "--runner", "PrismRunner")],
)
def test_the_whole_pipeline_builds_with_type_checking_on_and_no_string_hints(extra, caplog):
    options = _options(*extra)
    assert options.view_as(TypeOptions).pipeline_type_check  # Beam's default, not turned off
    caplog.set_level(logging.DEBUG)
    build(beam.Pipeline(options=options), options)
    ignored = [r.getMessage() for r in caplog.records if "string literal type hint" in r.getMessage()]
    assert ignored == []


@pytest.mark.parametrize(
    "fn",
    [
        _DecodeFn(),
        _StepFn("clean", lambda work: work),
        _EncodeFn("1.0"),
        _WriteFn(KafkaWriteConfig("127.0.0.1:9", "t")),
        _FailureToKafkaFn("1.0"),
        _SendFailureToKafkaFn("1.0"),
        _EncodeCountsFn("1.0"),
    ],
    ids=lambda fn: type(fn).__name__,
)
def test_each_step_declares_real_element_types(fn):
    hints = fn.get_type_hints()
    element_type = hints.input_types[0][0]  # the element; the rest are Beam's DoFn parameters
    (output_type,), _ = hints.output_types
    assert not isinstance(element_type, str) and not isinstance(output_type, str)
    if not isinstance(fn, _DecodeFn):  # a KafkaRecord-shaped record: transforms imports no pipeline
        assert element_type is not BeamAny
    assert output_type is not BeamAny


def test_a_step_applied_to_the_wrong_element_type_is_refused_when_the_pipeline_is_built():
    pipeline = beam.Pipeline(options=_options())
    numbers = pipeline | beam.Create([1, 2, 3])
    with pytest.raises(TypeCheckError, match="Story"):
        numbers | CleanText()


def test_the_kafka_sink_refuses_elements_that_are_not_key_value_records():
    pipeline = beam.Pipeline(options=_options())
    words = pipeline | beam.Create(["a", "b"])
    with pytest.raises(TypeCheckError):
        words | WriteToKafka(KafkaWriteConfig("127.0.0.1:9", "t"))


def test_the_sink_accepts_what_the_encoder_emits():
    pipeline = beam.Pipeline(options=_options())
    stories = pipeline | beam.Create([]).with_output_types(_StepFn.process.__annotations__["story"])
    encoded = stories | EncodeEnriched("1.0")
    encoded.ok | WriteToKafka(KafkaWriteConfig("127.0.0.1:9", "t"))  # no TypeCheckError
