"""Span wrappers for agents, tools, model calls, retrievals and actions (OTel GenAI attributes).

Each wrapper is a decorator (sync and ``async`` functions, generators and async generators) and a
context manager. Generators get one span for the whole stream: it starts at the first item and
ends when the stream is exhausted, closed (``.close()``/``aclose()``, an early ``break``) or fails;
between items the span is not current, so the consumer's context is left untouched.

The enclosing agent's name and version, and the trace's lineage registry (documents, tool results
and model calls seen so far, the default inputs of a decision), live in the OpenTelemetry context,
so they follow it across threads (``wrap``), asyncio tasks and executors.

Before :func:`~agentledger.instrumentation.setup`, every wrapper checks one flag and calls through.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections import deque
from collections.abc import AsyncGenerator, Callable, Generator, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, ParamSpec, TypeVar, cast

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN, Span, SpanKind, Status, StatusCode

from agentledger import semconv
from agentledger.instrumentation._setup import STATE

__all__ = [
    "Action",
    "LlmCall",
    "Retrieval",
    "action",
    "agent",
    "current_agent",
    "lineage_inputs",
    "llm_call",
    "note_lineage",
    "retrieval",
    "tool",
]

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

_AGENT_KEY: Final = otel_context.create_key("agentledger-agent")
_LINEAGE_KEY: Final = otel_context.create_key("agentledger-lineage")
# Per trace, the newest lineage ids kept (oldest forgotten first): bounded for long-running traces.
LINEAGE_LIMIT: Final = 256
# Retrieved documents described one by one on the span (all are counted and kept as lineage).
_DOCUMENTS_ON_SPAN: Final = 100


class _Lineage:
    """What a trace has seen so far, shared (by reference) by every context of that trace."""

    __slots__ = ("ids", "trace_id")

    def __init__(self, trace_id: int) -> None:
        self.trace_id = trace_id
        self.ids: deque[str] = deque(maxlen=LINEAGE_LIMIT)  # append is atomic: thread-safe

    def snapshot(self) -> list[str]:
        return list(dict.fromkeys(self.ids.copy()))


def current_agent() -> tuple[str, str | None] | None:
    """(name, version) of the innermost active agent, if any."""
    return cast("tuple[str, str | None] | None", otel_context.get_value(_AGENT_KEY))


def lineage_inputs() -> list[str]:
    """Typed ids of the documents, tool results, model calls and decisions seen so far in this
    trace."""
    lineage = _current_lineage()
    return lineage.snapshot() if lineage is not None else []


def note_lineage(lineage_id: str) -> None:
    """Add ``lineage_id`` to what this trace has seen, so later decisions and actions cite it."""
    lineage = _current_lineage()
    if lineage is not None:
        lineage.ids.append(lineage_id)


def _current_lineage() -> _Lineage | None:
    lineage = otel_context.get_value(_LINEAGE_KEY)
    if not isinstance(lineage, _Lineage):
        return None
    if lineage.trace_id != trace.get_current_span().get_span_context().trace_id:
        return None
    return lineage


def _open(
    name: str,
    kind: SpanKind,
    attributes: dict[str, Any],
    agent_info: tuple[str, str | None] | None,
    parent: otel_context.Context | None = None,
) -> tuple[Span, otel_context.Context, _Lineage]:
    """Start a span under ``parent`` (default: the current context); return it, the context to
    make current while it runs, and its trace's lineage registry."""
    if parent is None:
        parent = otel_context.get_current()
    enclosing = cast("tuple[str, str | None] | None", parent.get(_AGENT_KEY))
    if enclosing is not None and semconv.GEN_AI_AGENT_NAME not in attributes:
        attributes[semconv.GEN_AI_AGENT_NAME] = enclosing[0]
        if enclosing[1]:
            attributes[semconv.GEN_AI_AGENT_VERSION] = enclosing[1]
    span = STATE.tracer.start_span(name, parent, kind, attributes)
    ctx = trace.set_span_in_context(span, parent)
    lineage = parent.get(_LINEAGE_KEY)
    trace_id = span.get_span_context().trace_id
    if not isinstance(lineage, _Lineage) or lineage.trace_id != trace_id:
        lineage = _Lineage(trace_id)
        ctx = otel_context.set_value(_LINEAGE_KEY, lineage, ctx)
    if agent_info is not None:
        ctx = otel_context.set_value(_AGENT_KEY, agent_info, ctx)
    return span, ctx, lineage


def _fail(span: Span, exc: BaseException) -> None:
    if isinstance(exc, GeneratorExit):
        return
    span.record_exception(exc, escaped=True)
    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


class _Scope:
    """A span that is a decorator (any function style) and a (sync or async) context manager.

    One instance may be entered several times, nested; entering the *same* instance from several
    threads at once is not supported (create one per ``with`` block, as ``with tool("x"):`` does).
    """

    __slots__ = ("_active", "_agent", "_args", "span")

    def __init__(self, *args: Any) -> None:
        # Cheap on purpose (``with tool("x"):`` builds one per block): attributes are built
        # only when a span starts.
        self._args = args
        self._agent: tuple[str, str | None] | None = None
        self._active: list[tuple[Span, object, _Lineage]] = []
        self.span: Span = INVALID_SPAN

    def _describe(self) -> tuple[str, SpanKind, dict[str, Any]]:
        """The span's name, kind and attributes."""
        raise NotImplementedError

    def _lineage_id(self, span_id: int) -> str | None:
        """What a successful span adds to the trace's lineage, if anything."""
        return None

    # --- the span's life ------------------------------------------------------------------

    def _start(
        self, parent: otel_context.Context | None = None
    ) -> tuple[Span, otel_context.Context, _Lineage]:
        name, kind, attributes = self._describe()
        return _open(name, kind, attributes, self._agent, parent)

    def _end(self, span: Span, lineage: _Lineage, exc: BaseException | None) -> None:
        if exc is not None:
            _fail(span, exc)
        else:
            lineage_id = self._lineage_id(span.get_span_context().span_id)
            if lineage_id is not None:
                lineage.ids.append(lineage_id)
        span.end()

    # --- context manager ------------------------------------------------------------------

    def __enter__(self) -> Span:
        if not STATE.enabled:
            return INVALID_SPAN
        span, ctx, lineage = self._start()
        self._active.append((span, otel_context.attach(ctx), lineage))
        self.span = span
        return span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._active:
            return
        span, token, lineage = self._active.pop()
        otel_context.detach(cast("Any", token))
        self._end(span, lineage, exc)

    async def __aenter__(self) -> Span:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    # --- decorator ------------------------------------------------------------------------

    def __call__(self, func: F) -> F:
        if inspect.isasyncgenfunction(func):
            return cast("F", self._wrap_async_generator(func))
        if inspect.isgeneratorfunction(func):
            return cast("F", self._wrap_generator(func))
        if inspect.iscoroutinefunction(func):
            return cast("F", self._wrap_coroutine(func))
        return cast("F", self._wrap_function(func))

    def _wrap_function(self, func: Callable[P, R]) -> Callable[P, R]:
        state, start, end = STATE, self._start, self._end

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if not state.enabled:
                return func(*args, **kwargs)
            span, ctx, lineage = start()
            token = otel_context.attach(ctx)
            try:
                result = func(*args, **kwargs)
            except BaseException as exc:
                otel_context.detach(token)
                end(span, lineage, exc)
                raise
            otel_context.detach(token)
            end(span, lineage, None)
            return result

        return wrapper

    def _wrap_coroutine(self, func: Callable[P, Any]) -> Callable[P, Any]:
        state, start, end = STATE, self._start, self._end

        @functools.wraps(func)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            if not state.enabled:
                return await func(*args, **kwargs)
            span, ctx, lineage = start()
            token = otel_context.attach(ctx)
            try:
                result = await func(*args, **kwargs)
            except BaseException as exc:
                otel_context.detach(token)
                end(span, lineage, exc)
                raise
            otel_context.detach(token)
            end(span, lineage, None)
            return result

        return wrapper

    def _wrap_generator(self, func: Callable[P, Generator[Any, Any, Any]]) -> Callable[P, Any]:
        state = STATE

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Generator[Any, Any, Any]:
            if not state.enabled:
                return func(*args, **kwargs)
            return self._drive(func(*args, **kwargs), otel_context.get_current())

        return wrapper

    def _drive(
        self, gen: Generator[Any, Any, Any], parent: otel_context.Context
    ) -> Generator[Any, Any, Any]:
        span, ctx, lineage = self._start(parent)
        sent: Any = None
        thrown: BaseException | None = None
        try:
            while True:
                token = otel_context.attach(ctx)
                try:
                    if thrown is not None:
                        exc, thrown = thrown, None
                        item = gen.throw(exc)
                    else:
                        item = gen.send(sent)
                finally:
                    otel_context.detach(token)
                try:
                    sent = yield item
                except GeneratorExit:
                    token = otel_context.attach(ctx)
                    try:
                        gen.close()
                    finally:
                        otel_context.detach(token)
                    raise
                except BaseException as exc:  # thrown in by the consumer: pass it on
                    thrown = exc
        except StopIteration as stop:
            self._end(span, lineage, None)
            return stop.value
        except BaseException as exc:
            self._end(span, lineage, exc)
            raise

    def _wrap_async_generator(
        self, func: Callable[P, AsyncGenerator[Any, Any]]
    ) -> Callable[P, AsyncGenerator[Any, Any]]:
        state = STATE

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> AsyncGenerator[Any, Any]:
            if not state.enabled:
                return func(*args, **kwargs)
            return self._drive_async(func(*args, **kwargs), otel_context.get_current())

        return wrapper

    async def _drive_async(
        self, gen: AsyncGenerator[Any, Any], parent: otel_context.Context
    ) -> AsyncGenerator[Any, Any]:
        span, ctx, lineage = self._start(parent)
        sent: Any = None
        thrown: BaseException | None = None
        try:
            while True:
                token = otel_context.attach(ctx)
                try:
                    if thrown is not None:
                        exc, thrown = thrown, None
                        item = await gen.athrow(exc)
                    else:
                        item = await gen.asend(sent)
                finally:
                    otel_context.detach(token)
                try:
                    sent = yield item
                except GeneratorExit:
                    token = otel_context.attach(ctx)
                    try:
                        await gen.aclose()
                    finally:
                        otel_context.detach(token)
                    raise
                except BaseException as exc:
                    thrown = exc
        except StopAsyncIteration:
            self._end(span, lineage, None)
        except BaseException as exc:
            self._end(span, lineage, exc)
            raise


# --- agents and tools -------------------------------------------------------------------------


class _Agent(_Scope):
    __slots__ = ()

    def __init__(self, name: str, version: str | None) -> None:
        super().__init__(name, version)
        self._agent = (name, version)

    def _describe(self) -> tuple[str, SpanKind, dict[str, Any]]:
        name, version = self._args
        attributes: dict[str, Any] = {
            semconv.GEN_AI_OPERATION_NAME: semconv.OP_INVOKE_AGENT,
            semconv.GEN_AI_AGENT_NAME: name,
        }
        if version:
            attributes[semconv.GEN_AI_AGENT_VERSION] = version
        return f"{semconv.OP_INVOKE_AGENT} {name}", SpanKind.INTERNAL, attributes


def agent(name: str, version: str | None = None) -> _Scope:
    """Trace an agent run: ``@agent("planner")`` or ``with agent("planner"):``."""
    return _Agent(name, version)


class _Tool(_Scope):
    __slots__ = ()

    def _describe(self) -> tuple[str, SpanKind, dict[str, Any]]:
        name = self._args[0]
        attributes = {
            semconv.GEN_AI_OPERATION_NAME: semconv.OP_EXECUTE_TOOL,
            semconv.GEN_AI_TOOL_NAME: name,
        }
        return f"{semconv.OP_EXECUTE_TOOL} {name}", SpanKind.INTERNAL, attributes

    def _lineage_id(self, span_id: int) -> str | None:
        return f"tool:{self._args[0]}:{span_id:016x}"


def tool(name: str) -> _Scope:
    """Trace a tool call: ``@tool("order_lookup")`` or ``with tool("order_lookup"):``.

    A tool that returns (rather than raises) adds ``tool:<name>:<span_id>`` to the trace's lineage.
    """
    return _Tool(name)


# --- model calls ------------------------------------------------------------------------------


def _redact(value: Any) -> Any:
    """Apply the configured redactor to every string of a JSON-like value except roles/types."""
    redact = STATE.redact
    if redact is None:
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {
            k: (v if k in ("role", "type") and isinstance(v, str) else _redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(v) for v in value]
    return value


def _message(role: str, content: Any) -> dict[str, Any]:
    if isinstance(content, str):
        return {"role": role, "parts": [{"type": "text", "content": content}]}
    return {"role": role, "parts": [{"type": "text", "content": json.dumps(content)}]}


def _messages(value: str | Iterable[Any], role: str) -> list[dict[str, Any]]:
    """Text or chat messages (``{"role", "content"}`` or GenAI ``{"role", "parts"}``) as GenAI
    message objects."""
    if isinstance(value, str):
        return [_message(role, value)]
    messages: list[dict[str, Any]] = []
    for item in value:
        if isinstance(item, Mapping):
            if "parts" in item:
                messages.append(dict(item))
            else:
                messages.append(_message(str(item.get("role", role)), item.get("content", "")))
        else:
            messages.append(_message(role, str(item)))
    return messages


class LlmCall(_Scope):
    """A model call: ``with llm_call("gpt-4o", "openai") as call:``; record what the provider
    reported. A successful call adds ``span:<span_id>`` to the trace's lineage."""

    __slots__ = ()

    def _describe(self) -> tuple[str, SpanKind, dict[str, Any]]:
        model, provider, operation = self._args
        attributes = {
            semconv.GEN_AI_OPERATION_NAME: operation,
            semconv.GEN_AI_PROVIDER_NAME: provider,
            semconv.GEN_AI_REQUEST_MODEL: model,
        }
        return f"{operation} {model}", SpanKind.CLIENT, attributes

    def _lineage_id(self, span_id: int) -> str | None:
        return f"span:{span_id:016x}"

    def __enter__(self) -> LlmCall:  # type: ignore[override]
        super().__enter__()
        return self

    async def __aenter__(self) -> LlmCall:  # type: ignore[override]
        return self.__enter__()

    def record_usage(
        self,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cached_input_tokens: int | None = None,
        reasoning_tokens: int | None = None,
    ) -> None:
        """Token usage; ``input_tokens`` includes cached ones, ``output_tokens`` reasoning ones,
        as in the GenAI conventions."""
        span = self.span
        if not span.is_recording():
            return
        for key, value in (
            (semconv.GEN_AI_USAGE_INPUT_TOKENS, input_tokens),
            (semconv.GEN_AI_USAGE_OUTPUT_TOKENS, output_tokens),
            (semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, cached_input_tokens),
            (semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, reasoning_tokens),
        ):
            if value is not None:
                span.set_attribute(key, int(value))

    def set_response(self, model: str | None = None, finish_reason: str | None = None) -> None:
        if model:
            self.span.set_attribute(semconv.GEN_AI_RESPONSE_MODEL, model)
        if finish_reason:
            self.span.set_attribute(semconv.GEN_AI_RESPONSE_FINISH_REASONS, [finish_reason])

    def record_prompt(self, prompt: str | Sequence[Mapping[str, Any]]) -> None:
        """The prompt (text or chat messages) as ``gen_ai.input.messages``; only when content
        capture is on, after the redact hook."""
        if STATE.capture_content and self.span.is_recording():
            value = json.dumps(_redact(_messages(prompt, "user")), ensure_ascii=False)
            self.span.set_attribute(semconv.GEN_AI_INPUT_MESSAGES, value)

    def record_output(self, output: str, finish_reason: str | None = None) -> None:
        """The model's answer as ``gen_ai.output.messages``; only when content capture is on,
        after the redact hook."""
        if STATE.capture_content and self.span.is_recording():
            message = _message("assistant", output)
            if finish_reason:
                message["finish_reason"] = finish_reason
            value = json.dumps(_redact([message]), ensure_ascii=False)
            self.span.set_attribute(semconv.GEN_AI_OUTPUT_MESSAGES, value)


def llm_call(model: str, provider: str, operation: str = semconv.OP_CHAT) -> LlmCall:
    """Trace one model call: ``with llm_call("gpt-4o", "openai") as call: ...``."""
    return LlmCall(model, provider, operation)


# --- retrievals and actions -------------------------------------------------------------------


def document_id(document: Mapping[str, Any]) -> str:
    """``document:<id>@<version>`` (``document:<id>`` without a version)."""
    version = document.get("version")
    base = f"document:{document['id']}"
    return f"{base}@{version}" if version not in (None, "") else base


class Retrieval(_Scope):
    """A retrieval: ``with retrieval("kb") as r: r.record_documents([...])``."""

    __slots__ = ()

    def _describe(self) -> tuple[str, SpanKind, dict[str, Any]]:
        source = self._args[0]
        attributes = {
            semconv.GEN_AI_OPERATION_NAME: semconv.OP_RETRIEVAL,
            semconv.GEN_AI_DATA_SOURCE_ID: source,
        }
        return f"{semconv.OP_RETRIEVAL} {source}", SpanKind.CLIENT, attributes

    def __enter__(self) -> Retrieval:  # type: ignore[override]
        super().__enter__()
        return self

    async def __aenter__(self) -> Retrieval:  # type: ignore[override]
        return self.__enter__()

    def record_documents(self, documents: Iterable[Mapping[str, Any]]) -> list[str]:
        """Record what was retrieved (each ``{"id", "version"?, "score"?}``); the documents become
        lineage inputs of what follows in the trace. Returns their typed ids."""
        docs = list(documents)
        ids = [document_id(doc) for doc in docs]
        if not self._active:
            return ids
        span, _, lineage = self._active[-1]
        lineage.ids.extend(ids)
        if span.is_recording():
            span.set_attribute(semconv.LINEAGE_INPUTS, ids)
            span.set_attribute(semconv.RETRIEVAL_DOCUMENT_COUNT, len(docs))
            prefix = semconv.RETRIEVAL_DOCUMENTS_PREFIX
            for i, doc in enumerate(docs[:_DOCUMENTS_ON_SPAN]):
                span.set_attribute(
                    f"{prefix}{i}{semconv.RETRIEVAL_DOCUMENT_ID_SUFFIX}", str(doc["id"])
                )
                if doc.get("score") is not None:
                    span.set_attribute(
                        f"{prefix}{i}{semconv.RETRIEVAL_DOCUMENT_SCORE_SUFFIX}",
                        float(doc["score"]),
                    )
        return ids


def retrieval(source: str) -> Retrieval:
    """Trace a retrieval from ``source`` (a knowledge base, an index): ``retrieval {source}``."""
    return Retrieval(source)


class Action(_Scope):
    """A side effect (a refund issued, an email sent): a lineage output of the trace; its lineage
    inputs are what the trace had seen when it started."""

    __slots__ = ()

    def _describe(self) -> tuple[str, SpanKind, dict[str, Any]]:
        name, target = self._args
        attributes: dict[str, Any] = {
            semconv.ACTION_NAME: name,
            semconv.LINEAGE_OUTPUTS: [f"action:{name}:{target}" if target else f"action:{name}"],
        }
        if target:
            attributes[semconv.ACTION_TARGET] = target
        return f"action {name}", SpanKind.INTERNAL, attributes

    def __enter__(self) -> Action:  # type: ignore[override]
        span = super().__enter__()
        if span.is_recording():
            inputs = self._active[-1][2].snapshot()
            if inputs:
                span.set_attribute(semconv.LINEAGE_INPUTS, inputs)
        return self

    async def __aenter__(self) -> Action:  # type: ignore[override]
        return self.__enter__()

    def set_attribute(self, key: str, value: Any) -> None:
        self.span.set_attribute(key, value)


def action(name: str, target: str | None = None) -> Action:
    """Trace a side effect: ``with action("refund", target="order-17") as a:``."""
    return Action(name, target)
