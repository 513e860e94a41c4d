"""Coverage-guided fuzzing of the OTLP decoders with atheris (libFuzzer for Python).

Not collected by pytest (the name does not start with ``test_``). Any input may be refused with
:class:`~agentledger.collector.otlp_codec.OtlpDecodeError`, or taken with some records rejected
(partial success); every other exception is a finding and stops the fuzzer with the input saved.

Run (atheris has wheels for CPython 3.11 on x86-64 Linux; kept out of the venv)::

    pip install --target /tmp/atheris-lib atheris
    PYTHONPATH=/tmp/atheris-lib .venv/bin/python tests/fuzz/atheris_decoders.py \\
        -atheris_runs=200000 -max_len=65536 /tmp/otlp-corpus

The first byte picks the signal (traces, logs, metrics) and the encoding (protobuf, JSON); the
rest is the request body. Seed the corpus directory with real requests for faster progress, e.g.
``python tests/fuzz/atheris_decoders.py --seed /tmp/otlp-corpus`` writes a few.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import atheris  # type: ignore[import-not-found]

with atheris.instrument_imports(include=["agentledger"]):
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    from agentledger.collector.logs import logs_to_columns
    from agentledger.collector.metrics import metrics_to_arrow
    from agentledger.collector.otlp_codec import (
        ExportLogsServiceRequest,
        ExportTraceServiceRequest,
        OtlpDecodeError,
        decode,
    )
    from agentledger.collector.redaction import Redactor
    from agentledger.collector.spans import spans_to_arrow, valid_span_count

_REDACTOR = Redactor()
_SIGNALS: list[tuple[type[Any], Any]] = [
    (ExportTraceServiceRequest, lambda m: (valid_span_count(m), spans_to_arrow(m, "fuzz"))),
    (ExportLogsServiceRequest, lambda m: logs_to_columns(m, "fuzz")),
    (ExportMetricsServiceRequest, lambda m: metrics_to_arrow(m, "fuzz")),
]


def one_input(data: bytes) -> None:
    if not data:
        return
    message_type, to_columns = _SIGNALS[data[0] % 3]
    json_encoded = bool(data[0] & 0x80)
    try:
        message = decode(data[1:], message_type, json_encoded=json_encoded)
    except OtlpDecodeError:
        return
    to_columns(message)
    _REDACTOR.may_redact(message.SerializeToString())


def _seed(folder: Path) -> None:
    """A few valid requests to start from: the corpus of the unit and fuzz tests."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.fuzz.otlp_strategies import seed_requests

    folder.mkdir(parents=True, exist_ok=True)
    for i, (selector, body) in enumerate(seed_requests()):
        (folder / f"seed-{i}").write_bytes(bytes([selector]) + body)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--seed":
        _seed(Path(sys.argv[2]))
    else:
        atheris.Setup(sys.argv, one_input)
        atheris.Fuzz()
