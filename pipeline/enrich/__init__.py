"""The enrichment pipeline (`newswire enrich`): raw stories from Kafka, enriched by the
transforms of ``transforms.beam``, to the enriched topic, JSON Lines files and dead letters.

- ``options``: the pipeline's options (``NewswireOptions``) and their validation;
- ``assembly``: the graph (``build``);
- ``launch``: running it (``run``, ``run_with``);
- ``dedup``, ``files``, ``deadletter``, ``beam_metrics``: the steps of our own around the
  transforms (dedup by revision, JSON Lines files, dead letters, Prometheus counts).
"""
