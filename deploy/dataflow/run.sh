#!/usr/bin/env bash
# Launch newswire's enrichment pipeline on Google Cloud Dataflow from a checkout, or
# replace the running job in place with `deploy/dataflow/run.sh --update` (keeps its state:
# Kafka read positions and dedup state move to the new job).
#
# Needs: gcloud auth application-default login; `pip install -e '.[gcp]'`-style install of
# newswire with apache-beam[gcp]; a VPC subnetwork from which the workers reach Kafka.
# Every extra argument is passed on to the pipeline (Beam or newswire options).
set -euo pipefail
: "${PROJECT:?set PROJECT to the Google Cloud project}"
: "${REGION:?set REGION, e.g. europe-west1}"
: "${BUCKET:?set BUCKET to a GCS bucket for staging and temp files}"
: "${KAFKA_BOOTSTRAP:?set KAFKA_BOOTSTRAP to HOST:PORT[,HOST:PORT] reachable from the workers}"
: "${SUBNETWORK:?set SUBNETWORK, e.g. regions/europe-west1/subnetworks/newswire}"
: "${SERVICE_ACCOUNT:?set SERVICE_ACCOUNT to the workers' service account e-mail}"
cd "$(dirname "$0")/../.."

# --setup_file: Beam builds this package and installs it on every worker.
# --enable_streaming_engine: state and shuffle live in the service, not on worker disks;
#   workers scale faster and an --update carries the state over.
# --autoscaling_algorithm THROUGHPUT_BASED with --max_num_workers: Dataflow adds workers
#   while the backlog grows, up to the cap (the cap also bounds the cost).
newswire enrich \
  --bootstrap-servers "$KAFKA_BOOTSTRAP" \
  --input-topic news.raw \
  --output-topic news.enriched \
  --dead-letter-topic news.deadletter \
  --consumer-group newswire-enrich \
  --start-from committed \
  --dedup-ttl-hours 72 \
  --runner DataflowRunner \
  --project "$PROJECT" \
  --region "$REGION" \
  --temp_location "gs://$BUCKET/tmp" \
  --staging_location "gs://$BUCKET/staging" \
  --job_name newswire-enrich \
  --streaming \
  --enable_streaming_engine \
  --autoscaling_algorithm THROUGHPUT_BASED \
  --num_workers 1 \
  --max_num_workers "${MAX_WORKERS:-10}" \
  --machine_type "${MACHINE_TYPE:-n2-standard-2}" \
  --setup_file ./setup.py \
  --subnetwork "$SUBNETWORK" \
  --no_use_public_ips \
  --service_account_email "$SERVICE_ACCOUNT" \
  "$@"
