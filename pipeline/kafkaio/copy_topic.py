"""Copy one Kafka topic to another through Beam: ReadFromKafka → WriteToKafka.

The smallest complete use of the Kafka IO, and the job its end-to-end tests and benchmark
run (``python -m pipeline.kafkaio.copy_topic --help``). Keys, values and headers are copied as
they are; offsets are committed to ``--consumer-group`` once the copies are acknowledged.
"""

import argparse
import logging
import sys

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from pipeline.kafkaio.config import KafkaReadConfig, KafkaRecord, KafkaWriteConfig
from pipeline.kafkaio.sink import WriteToKafka
from pipeline.kafkaio.source import ReadFromKafka

log = logging.getLogger(__name__)


def to_producer_record(
    record: KafkaRecord,
) -> tuple[bytes | None, bytes | None, tuple[tuple[str, bytes], ...]]:
    return (record.key, record.value, record.headers)


def build_copy(
    pipeline: beam.Pipeline, read: KafkaReadConfig, write: KafkaWriteConfig
) -> beam.PCollection:
    """Add the copy to ``pipeline``; returns the PCollection of KafkaDelivery."""
    written = (
        pipeline
        | "Read" >> ReadFromKafka(read)
        | "ToProducerRecord" >> beam.Map(to_producer_record)
        | "Write" >> WriteToKafka(write)
    )
    return written.delivered


def run_copy(read: KafkaReadConfig, write: KafkaWriteConfig, beam_args: list[str]) -> str:
    """Run the copy until it finishes (bounded) or forever; returns the runner's name."""
    pipeline = beam.Pipeline(options=PipelineOptions(beam_args))
    build_copy(pipeline, read, write)
    result = pipeline.run()
    result.wait_until_finish()
    return runner_name(result)


def runner_name(result) -> str:
    """Which runner produced ``result`` (DirectRunner picks one at run time)."""
    return f"{type(result).__module__}.{type(result).__name__}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-servers", required=True, help="HOST:PORT[,HOST:PORT...]")
    parser.add_argument("--input-topic", required=True)
    parser.add_argument("--output-topic", required=True)
    parser.add_argument("--consumer-group", default=None, help="commit offsets to this group")
    parser.add_argument("--start-from", default="earliest",
                        help="earliest | latest | committed | RFC 3339 time | epoch ms")
    parser.add_argument("--bounded", action="store_true",
                        help="stop at the end offsets seen at start")
    parser.add_argument("--linger-ms", type=int, default=None,
                        help="producer linger.ms (default: the project's)")
    args, beam_args = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        read = KafkaReadConfig(
            args.bootstrap_servers, args.input_topic, consumer_group=args.consumer_group,
            start_from=args.start_from, bounded=args.bounded,
        )
        producer_config = {} if args.linger_ms is None else {"linger_ms": args.linger_ms}
        write = KafkaWriteConfig(
            args.bootstrap_servers, args.output_topic, producer_config=producer_config
        )
    except (TypeError, ValueError) as exc:
        parser.error(str(exc))
    beam_args = beam_args or ["--runner=DirectRunner"]
    log.info("copy finished on %s", run_copy(read, write, beam_args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
