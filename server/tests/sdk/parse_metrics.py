"""Parses a /metrics exposition with the official Prometheus client's parsers, the strict
OpenMetrics one and the classic text-format one, and prints every sample as JSON lines:
{"name", "labels", "value"}. Exits non-zero if either parser rejects the text."""

import json
import sys

from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
from prometheus_client.parser import text_string_to_metric_families as classic

text = sys.stdin.read()
classic_samples = sum(len(f.samples) for f in classic(text))
for family in openmetrics(text):
    for s in family.samples:
        print(json.dumps({"name": s.name, "labels": s.labels, "value": s.value, "type": family.type}))
assert classic_samples > 0, "the classic parser found no samples"
