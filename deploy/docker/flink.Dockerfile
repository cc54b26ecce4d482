# Flink image for the Flink Kubernetes operator (deploy/k8s/pipeline-flinkdeployment.yaml).
#
# The job is Beam's FlinkPortableClientEntryPoint (in the Flink job server jar): inside
# the JobManager it starts a job service and runs `newswire enrich` as the driver
# program, which builds the pipeline and submits it there. So this image holds Flink, the
# Beam Flink job server jar, and Python 3.11 with newswire installed. The DoFns run in the
# newswire image's worker pool (a sidecar of each TaskManager), not here.
#
# Build from the repository root:
#   docker build -f deploy/docker/flink.Dockerfile -t newswire-flink:0.1.0 .
#
# Versions that must agree: Flink 1.20 (Beam publishes job servers for Flink 1.19,
# 1.20, 2.0-2.2), Beam 2.78 = the lock, constraints.txt (job server jar = SDK in both images), Python 3.11 (driver
# and SDK workers must pickle with the same Python minor version).
# Run on the project's machines (deploy/README.md): job server 2.62.0 + Flink 1.19 with the
# 2.78 SDK, bounded only; this image's versions (2.78.0 + 1.20) have not been run there.
FROM apache/beam_flink1.20_job_server:2.78.0 AS jobserver
FROM ghcr.io/astral-sh/uv:0.5.11 AS uv

FROM flink:1.20.1-scala_2.12-java11
COPY --from=jobserver /opt/apache/beam/jars/beam-runners-flink-job-server.jar /opt/flink/usrlib/beam-runners-flink-job-server.jar
COPY --from=uv /uv /usr/local/bin/uv

# A standalone Python 3.11 (the Flink image's Ubuntu ships another minor version).
ENV UV_PYTHON_INSTALL_DIR=/opt/python UV_NO_CACHE=1 VIRTUAL_ENV=/opt/newswire-venv
RUN uv python install 3.11 && uv venv --python 3.11 "$VIRTUAL_ENV"
ENV PATH="$VIRTUAL_ENV/bin:$PATH"

WORKDIR /opt/newswire
COPY setup.py README.md constraints.txt ./
COPY schemas ./schemas
COPY transforms ./transforms
COPY pipeline ./pipeline
RUN uv pip install --python "$VIRTUAL_ENV/bin/python" -c constraints.txt . \
    && newswire --version \
    && chown -R flink:flink /opt/flink/usrlib
USER flink
