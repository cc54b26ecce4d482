# The newswire image: the `newswire` CLI (reader, topic tools, pipeline submission) AND a
# Beam Python SDK worker with newswire installed, so the pipeline's DoFns find our code
# on Flink task managers (worker pool sidecar) and on Dataflow (--sdk_container_image).
#
# Build from the repository root (the build context must hold setup.py):
#   docker build -f deploy/docker/newswire.Dockerfile -t newswire:0.1.0 .
#
# The base image's Beam and Python versions must match the ones that build the pipeline
# (apache-beam 2.78 from constraints.txt, Python 3.11): Beam refuses SDK workers of another version.
FROM apache/beam_python3.11_sdk:2.78.0

WORKDIR /opt/newswire
COPY setup.py README.md constraints.txt ./
COPY schemas ./schemas
COPY transforms ./transforms
COPY pipeline ./pipeline
# Every package at the version of the lock (apache-beam: the base image's).
RUN pip install --no-cache-dir -c constraints.txt . \
    && python -c "import pipeline, transforms.agencies, schemas; print('newswire', pipeline.__version__)"

# Unprivileged user for the reader and the CLI; its home holds the reader's store by default.
RUN useradd --create-home --uid 1000 newswire
ENV PYTHONUNBUFFERED=1

# The base image's entrypoint (/opt/apache/beam/boot) stays: `--worker_pool` runs a Beam
# worker pool on port 50000. For the CLI, override it: `--entrypoint newswire`
# (compose: `entrypoint: [newswire]`; Kubernetes: `command: [newswire]`).
