"""Carrying the trace across threads, executors and services.

Within a process the trace lives in :mod:`contextvars`: ``asyncio`` tasks (and
``asyncio.to_thread``) copy it by themselves; a plain thread or a ``ThreadPoolExecutor`` does not,
so submit ``wrap(fn)`` (or run the function under ``contextvars.copy_context().run``)::

    pool.submit(wrap(lookup), order_id)
    loop.run_in_executor(None, wrap(lookup), order_id)

Across services, W3C ``traceparent``/``tracestate`` (and ``baggage``) headers::

    requests.post(url, headers=inject_context({}))    # caller
    with extract_context(request.headers):            # callee
        ...
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from opentelemetry import context as otel_context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = ["extract_context", "inject_context", "wrap"]

P = ParamSpec("P")
R = TypeVar("R")

_PROPAGATOR = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])


def wrap(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` bound to the current context (trace, agent, lineage): call it from any thread."""
    captured = contextvars.copy_context()

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        # A copy per call: one Context cannot be entered by two threads at once.
        return captured.copy().run(fn, *args, **kwargs)

    return run


def inject_context(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Add the current trace's W3C ``traceparent`` (and ``tracestate``/``baggage``) to
    ``headers``; returns ``headers``. Nothing is added outside a (valid) span."""
    _PROPAGATOR.inject(headers)
    return headers


@contextmanager
def extract_context(headers: Mapping[str, str]) -> Iterator[otel_context.Context]:
    """Continue the caller's trace: spans opened inside are children of the remote span
    (header names are matched case-insensitively)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    ctx = _PROPAGATOR.extract(lowered)
    token = otel_context.attach(ctx)
    try:
        yield ctx
    finally:
        otel_context.detach(token)
