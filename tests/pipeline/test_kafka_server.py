"""pipeline.kafka_server pieces that need no broker."""

from __future__ import annotations

import base64
import uuid

from pipeline import kafka_server


def test_cluster_ids_never_start_with_a_dash(monkeypatch):
    """StorageTool reads an id that starts with "-" as an option; one random id in 64 did."""
    dash_first = uuid.UUID(bytes=base64.urlsafe_b64decode("-" + "A" * 21 + "=="))
    ids = iter([dash_first, uuid.UUID(int=1)])
    monkeypatch.setattr(kafka_server.uuid, "uuid4", lambda: next(ids))
    assert kafka_server._cluster_id() == base64.urlsafe_b64encode(uuid.UUID(int=1).bytes).decode().rstrip("=")
    monkeypatch.undo()
    assert not any(kafka_server._cluster_id().startswith("-") for _ in range(2000))
