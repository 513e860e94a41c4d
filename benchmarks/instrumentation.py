"""What a wrapper costs: disabled (before ``setup``) and enabled, against a bare function and bare
OpenTelemetry SDK spans.

Run: ``python benchmarks/instrumentation.py [--calls N] [--runs R]``. Each figure is the median,
over R runs, of the mean ns/call over N calls. The SDK side uses one ``TracerProvider`` with a
``BatchSpanProcessor`` over an exporter that drops everything, for both the bare SDK and ours.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from agentledger.instrumentation import _setup, tool


class _DropSpans(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def _per_call(loop: Callable[[int], None], calls: int, runs: int) -> float:
    loop(min(calls, 1000))  # warm up
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        loop(calls)
        samples.append((time.perf_counter_ns() - start) / calls)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    calls, runs = args.calls, args.runs

    def work(x: int) -> int:
        return x + 1

    wrapped = tool("bench")(work)

    def bare_loop(n: int) -> None:
        for i in range(n):
            work(i)

    def wrapped_loop(n: int) -> None:
        for i in range(n):
            wrapped(i)

    def cm_loop(n: int) -> None:
        for i in range(n):
            with tool("bench"):
                work(i)

    results: dict[str, float] = {}
    _setup.STATE.install(_setup._NOOP)
    results["bare function"] = _per_call(bare_loop, calls, runs)
    results["@tool, disabled"] = _per_call(wrapped_loop, calls, runs)
    results["with tool(), disabled"] = _per_call(cm_loop, calls, runs)

    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(_DropSpans(), max_queue_size=1 << 20))
    tracer = provider.get_tracer("bench")

    def sdk_loop(n: int) -> None:
        for i in range(n):
            with tracer.start_as_current_span("execute_tool bench"):
                work(i)

    sdk_calls = max(calls // 10, 1000)
    results["bare SDK start_as_current_span"] = _per_call(sdk_loop, sdk_calls, runs)
    instrumentation = _setup._install(
        provider, LoggerProvider(shutdown_on_exit=False), capture_content=False, redact=None
    )
    results["@tool, enabled"] = _per_call(wrapped_loop, sdk_calls, runs)
    results["with tool(), enabled"] = _per_call(cm_loop, sdk_calls, runs)
    instrumentation.shutdown()

    width = max(len(name) for name in results)
    print(f"{'case':<{width}}  ns/call  (median of {runs} runs)")
    for name, value in results.items():
        print(f"{name:<{width}}  {value:7.0f}")
    bare, sdk = results["bare function"], results["bare SDK start_as_current_span"]
    print()
    print(f"disabled @tool overhead: {results['@tool, disabled'] - bare:.0f} ns/call (budget 1000)")
    print(f"disabled with-block overhead: {results['with tool(), disabled'] - bare:.0f} ns/call")
    print(f"enabled @tool / bare SDK span: {results['@tool, enabled'] / sdk:.2f}x (budget 2x)")
    print(f"enabled with-block / bare SDK span: {results['with tool(), enabled'] / sdk:.2f}x")


if __name__ == "__main__":
    main()
