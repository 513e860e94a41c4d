"""Span wrappers for agents, tools and model calls, with OpenTelemetry GenAI attributes.

The enclosing agent's name and version flow to nested spans and events through a context
variable, so cost, latency and decisions can be grouped by agent without joins.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from opentelemetry.trace import Span, SpanKind

from agentledger import semconv
from agentledger.instrumentation._setup import current

__all__ = ["LlmCall", "agent", "current_agent", "llm_call", "tool"]

P = ParamSpec("P")
R = TypeVar("R")

_agent: contextvars.ContextVar[tuple[str, str | None] | None] = contextvars.ContextVar(
    "agentledger_agent", default=None
)


def current_agent() -> tuple[str, str | None] | None:
    """(name, version) of the innermost active agent, if any."""
    return _agent.get()


class _Traced:
    """A span that works as a decorator (sync or async) and as a context manager."""

    def __init__(
        self,
        name: str,
        kind: SpanKind,
        attributes: dict[str, Any],
        agent: tuple[str, str | None] | None = None,
    ) -> None:
        self._name, self._kind, self._attributes, self._agent = name, kind, attributes, agent

    @contextmanager
    def _span(self) -> Iterator[Span]:
        attributes = dict(self._attributes)
        enclosing = self._agent or _agent.get()
        if enclosing:
            attributes.setdefault(semconv.GEN_AI_AGENT_NAME, enclosing[0])
            if enclosing[1]:
                attributes.setdefault(semconv.GEN_AI_AGENT_VERSION, enclosing[1])
        token = _agent.set(self._agent) if self._agent else None
        try:
            with current().tracer.start_as_current_span(
                self._name, kind=self._kind, attributes=attributes
            ) as span:
                yield span
        finally:
            if token is not None:
                _agent.reset(token)

    def __enter__(self) -> Span:
        self._cm = self._span()
        return self._cm.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._cm.__exit__(*exc)

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                with self._span():
                    return await func(*args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with self._span():
                return func(*args, **kwargs)

        return wrapper


def agent(name: str, version: str | None = None) -> _Traced:
    """Trace an agent run: ``@agent("planner")`` or ``with agent("planner"):``."""
    attributes: dict[str, Any] = {
        semconv.GEN_AI_OPERATION_NAME: semconv.OP_INVOKE_AGENT,
        semconv.GEN_AI_AGENT_NAME: name,
    }
    if version:
        attributes[semconv.GEN_AI_AGENT_VERSION] = version
    return _Traced(
        f"{semconv.OP_INVOKE_AGENT} {name}", SpanKind.INTERNAL, attributes, (name, version)
    )


def tool(name: str) -> _Traced:
    """Trace a tool call: ``@tool("order_lookup")`` or ``with tool("order_lookup"):``."""
    attributes = {
        semconv.GEN_AI_OPERATION_NAME: semconv.OP_EXECUTE_TOOL,
        semconv.GEN_AI_TOOL_NAME: name,
    }
    return _Traced(f"{semconv.OP_EXECUTE_TOOL} {name}", SpanKind.INTERNAL, attributes)


class LlmCall:
    """The live model-call span; record what the provider reported."""

    def __init__(self, span: Span) -> None:
        self.span = span

    def record_usage(
        self,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cached_input_tokens: int | None = None,
    ) -> None:
        """Token usage; ``input_tokens`` includes cached ones, as in the GenAI conventions."""
        for key, value in (
            (semconv.GEN_AI_USAGE_INPUT_TOKENS, input_tokens),
            (semconv.GEN_AI_USAGE_OUTPUT_TOKENS, output_tokens),
            (semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, cached_input_tokens),
        ):
            if value is not None:
                self.span.set_attribute(key, int(value))

    def set_response(self, model: str | None = None, finish_reason: str | None = None) -> None:
        if model:
            self.span.set_attribute(semconv.GEN_AI_RESPONSE_MODEL, model)
        if finish_reason:
            self.span.set_attribute(semconv.GEN_AI_RESPONSE_FINISH_REASONS, [finish_reason])


@contextmanager
def llm_call(model: str, provider: str, operation: str = semconv.OP_CHAT) -> Iterator[LlmCall]:
    """Trace one model call: ``with llm_call("gpt-4o", "openai") as call: ...``."""
    attributes = {
        semconv.GEN_AI_OPERATION_NAME: operation,
        semconv.GEN_AI_PROVIDER_NAME: provider,
        semconv.GEN_AI_REQUEST_MODEL: model,
    }
    with _Traced(f"{operation} {model}", SpanKind.CLIENT, attributes) as span:
        yield LlmCall(span)
