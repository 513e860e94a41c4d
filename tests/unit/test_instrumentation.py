"""The instrumentation wrappers against the SDK's in-memory exporters: every wrapper in every
function style, errors, context across threads/tasks/executors/services, sampling, capture and
redaction, default decision inputs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from agentledger import semconv
from agentledger.instrumentation import (
    _setup,
    action,
    agent,
    extract_context,
    inject_context,
    llm_call,
    record_decision,
    record_kpi,
    record_observation,
    retrieval,
    tool,
    wrap,
)


class Exported:
    def __init__(self, spans: InMemorySpanExporter, logs: InMemoryLogRecordExporter) -> None:
        self._spans, self._logs = spans, logs

    def spans(self) -> dict[str, ReadableSpan]:
        return {span.name: span for span in self._spans.get_finished_spans()}

    def span_list(self) -> list[ReadableSpan]:
        return list(self._spans.get_finished_spans())

    def events(self, name: str) -> list[Any]:
        return [
            log.log_record
            for log in self._logs.get_finished_logs()
            if log.log_record.event_name == name
        ]


@pytest.fixture
def exported() -> Iterator[Exported]:
    spans, logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
    instrumentation = _setup._setup_for_tests(spans, logs)
    yield Exported(spans, logs)
    instrumentation.shutdown()


def _configure(**kwargs: Any) -> tuple[Exported, _setup.Instrumentation]:
    spans, logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
    return Exported(spans, logs), _setup._setup_for_tests(spans, logs, **kwargs)


# --- disabled ---------------------------------------------------------------------------------


def test_disabled_wrappers_call_through() -> None:
    assert not _setup.STATE.enabled

    @tool("t")
    def f(x: int) -> int:
        return x * 2

    @agent("a")
    def g() -> list[int]:
        return list(h())

    @tool("gen")
    def h() -> Iterator[int]:
        yield 1

    assert f(2) == 4 and g() == [1]
    with tool("t") as span, llm_call("m", "p") as call:
        call.record_usage(input_tokens=1)
        call.record_prompt("hi")
        assert not span.is_recording()
    assert record_decision("x", "y")
    record_kpi("k", 1)


# --- every style ------------------------------------------------------------------------------


def test_sync_decorators_and_context_managers(exported: Exported) -> None:
    @tool("search")
    def search(q: str) -> str:
        return q.upper()

    @agent("planner", version="2")
    def run() -> str:
        with tool("inline") as span:
            span.set_attribute("custom", 1)
        return search("x")

    assert run() == "X"
    spans = exported.spans()
    root = spans["invoke_agent planner"]
    assert root.attributes[semconv.GEN_AI_AGENT_VERSION] == "2"
    for name in ("execute_tool search", "execute_tool inline"):
        assert spans[name].parent.span_id == root.context.span_id
        assert spans[name].attributes[semconv.GEN_AI_AGENT_NAME] == "planner"
    assert spans["execute_tool inline"].attributes["custom"] == 1
    assert spans["execute_tool search"].attributes[semconv.GEN_AI_TOOL_NAME] == "search"


def test_async_functions_and_async_with(exported: Exported) -> None:
    @tool("fetch")
    async def fetch() -> int:
        await asyncio.sleep(0)
        return 7

    @agent("async-agent")
    async def run() -> int:
        async with tool("inline"):
            await asyncio.sleep(0)
        return await fetch()

    assert asyncio.run(run()) == 7
    spans = exported.spans()
    root = spans["invoke_agent async-agent"]
    assert spans["execute_tool fetch"].parent.span_id == root.context.span_id
    assert spans["execute_tool inline"].parent.span_id == root.context.span_id


def test_generator_span_covers_the_stream(exported: Exported) -> None:
    @tool("stream")
    def stream(n: int) -> Iterator[int]:
        for i in range(n):
            with tool(f"step{i}"):
                pass
            yield i

    with agent("a"):
        gen = stream(3)
        assert next(gen) == 0
        assert "execute_tool stream" not in exported.spans()  # still open
        assert list(gen) == [1, 2]
    spans = exported.spans()
    outer = spans["execute_tool stream"]
    assert outer.parent.span_id == spans["invoke_agent a"].context.span_id
    assert spans["execute_tool step2"].parent.span_id == outer.context.span_id
    assert outer.end_time >= spans["execute_tool step2"].end_time


def test_generator_close_and_early_break_end_the_span(exported: Exported) -> None:
    closed: list[str] = []

    @tool("numbers")
    def numbers() -> Iterator[int]:
        try:
            yield from range(10)
        finally:
            closed.append("inner")

    gen = numbers()
    next(gen)
    gen.close()
    for i in numbers():
        if i == 2:
            break
    spans = exported.span_list()
    assert [s.name for s in spans] == ["execute_tool numbers"] * 2
    assert all(s.status.status_code == StatusCode.UNSET for s in spans)
    assert closed == ["inner", "inner"]


def test_generator_send_and_return_value(exported: Exported) -> None:
    @tool("echo")
    def echo() -> Any:
        received = yield "ready"
        return received

    gen = echo()
    assert next(gen) == "ready"
    with pytest.raises(StopIteration) as stop:
        gen.send("done")
    assert stop.value.value == "done"
    assert "execute_tool echo" in exported.spans()


def test_async_generator_stream_close_and_break(exported: Exported) -> None:
    @tool("tokens")
    async def tokens(n: int) -> AsyncIterator[int]:
        for i in range(n):
            await asyncio.sleep(0)
            yield i

    async def main() -> None:
        with agent("a"):
            assert [i async for i in tokens(3)] == [0, 1, 2]
            gen = tokens(5)
            await gen.__anext__()
            await gen.aclose()
            async with contextlib.aclosing(tokens(5)) as stream:
                async for i in stream:
                    if i == 1:
                        break

    asyncio.run(main())
    spans = exported.span_list()
    assert [s.name for s in spans].count("execute_tool tokens") == 3
    root = exported.spans()["invoke_agent a"]
    assert all(s.parent.span_id == root.context.span_id for s in spans if s is not root)


# --- errors -----------------------------------------------------------------------------------


class Boom(Exception):
    pass


def _assert_error(span: ReadableSpan) -> None:
    assert span.status.status_code == StatusCode.ERROR
    assert "Boom" in (span.status.description or "")
    assert [e.name for e in span.events] == ["exception"]


def test_exceptions_recorded_and_reraised_in_every_style(exported: Exported) -> None:
    error = Boom("x")

    @tool("sync")
    def sync() -> None:
        raise error

    @tool("coro")
    async def coro() -> None:
        raise error

    @tool("gen")
    def gen() -> Iterator[int]:
        yield 1
        raise error

    @tool("agen")
    async def agen() -> AsyncIterator[int]:
        yield 1
        raise error

    async def consume() -> None:
        async for _ in agen():
            pass

    with pytest.raises(Boom) as caught:
        sync()
    assert caught.value is error
    with pytest.raises(Boom):
        asyncio.run(coro())
    with pytest.raises(Boom):
        list(gen())
    with pytest.raises(Boom):
        asyncio.run(consume())
    with pytest.raises(Boom), tool("cm"):
        raise error
    with pytest.raises(Boom), llm_call("m", "p"):
        raise error
    spans = exported.spans()
    for name in ("sync", "coro", "gen", "agen", "cm"):
        _assert_error(spans[f"execute_tool {name}"])
    _assert_error(spans["chat m"])


def test_exception_thrown_into_a_generator_reaches_it(exported: Exported) -> None:
    @tool("g")
    def g() -> Iterator[str]:
        try:
            yield "a"
        except Boom:
            yield "handled"

    gen = g()
    next(gen)
    assert gen.throw(Boom("in")) == "handled"
    gen.close()
    assert exported.spans()["execute_tool g"].status.status_code == StatusCode.UNSET


# --- model calls, retrievals, actions, capture --------------------------------------------------


def test_llm_call_usage_and_response(exported: Exported) -> None:
    with llm_call("gpt-4o", "openai") as call:
        call.record_usage(
            input_tokens=100, output_tokens=20, cached_input_tokens=40, reasoning_tokens=5
        )
        call.set_response(model="gpt-4o-2024", finish_reason="stop")
        call.record_prompt("secret prompt")
        call.record_output("secret output")
    attrs = exported.spans()["chat gpt-4o"].attributes
    assert attrs[semconv.GEN_AI_USAGE_INPUT_TOKENS] == 100
    assert attrs[semconv.GEN_AI_USAGE_OUTPUT_TOKENS] == 20
    assert attrs[semconv.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 40
    assert attrs[semconv.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 5
    assert attrs[semconv.GEN_AI_RESPONSE_MODEL] == "gpt-4o-2024"
    assert attrs[semconv.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    # capture is off by default
    assert semconv.GEN_AI_INPUT_MESSAGES not in attrs
    assert semconv.GEN_AI_OUTPUT_MESSAGES not in attrs


def test_capture_with_redaction() -> None:
    exported, instrumentation = _configure(
        capture_content=True, redact=lambda text: text.replace("4111", "****")
    )
    try:
        with agent("a"):
            with llm_call("m", "p") as call:
                call.record_prompt([{"role": "system", "content": "card 4111"}])
                call.record_output("ok 4111", finish_reason="stop")
            record_decision("d", "yes", rationale="card 4111 valid")
        record_kpi("k", 1.0, "usd", entity_id="cust-4111")
    finally:
        instrumentation.shutdown()
    attrs = exported.spans()["chat m"].attributes
    prompt = json.loads(str(attrs[semconv.GEN_AI_INPUT_MESSAGES]))
    output = json.loads(str(attrs[semconv.GEN_AI_OUTPUT_MESSAGES]))
    assert prompt == [{"role": "system", "parts": [{"type": "text", "content": "card ****"}]}]
    assert output[0]["parts"][0]["content"] == "ok ****" and output[0]["finish_reason"] == "stop"
    (decision,) = exported.events(semconv.EVENT_DECISION)
    assert decision.attributes[semconv.DECISION_RATIONALE] == "card **** valid"
    (kpi,) = exported.events(semconv.EVENT_KPI)
    assert kpi.attributes[semconv.KPI_ENTITY_ID] == "cust-****"


def test_retrieval_action_and_default_decision_inputs(exported: Exported) -> None:
    @tool("lookup")
    def lookup() -> int:
        return 1

    @tool("broken")
    def broken() -> None:
        raise Boom("no result")

    with agent("a"):
        with retrieval("kb") as r:
            ids = r.record_documents(
                [{"id": "policy", "version": "3", "score": 0.9}, {"id": "faq"}]
            )
        lookup()
        with contextlib.suppress(Boom):
            broken()
        with llm_call("m", "p"):
            pass
        decision_id = record_decision(
            "refund", "approve", policy_checks=[{"policy_id": "p1", "verdict": "pass"}]
        )
        with action("refund", target="order-1"):
            pass
        explicit = record_decision("other", "x", inputs=["custom:1"])
    assert ids == ["document:policy@3", "document:faq"]
    spans = exported.spans()
    ret = spans["retrieval kb"].attributes
    assert ret[semconv.GEN_AI_OPERATION_NAME] == "retrieval"
    assert ret[semconv.GEN_AI_DATA_SOURCE_ID] == "kb"
    assert ret[semconv.LINEAGE_INPUTS] == ("document:policy@3", "document:faq")
    assert ret[semconv.RETRIEVAL_DOCUMENT_COUNT] == 2
    assert ret["retrieval.documents.0.document.id"] == "policy"
    assert ret["retrieval.documents.0.document.score"] == 0.9
    tool_id = f"tool:lookup:{spans['execute_tool lookup'].context.span_id:016x}"
    model_id = f"span:{spans['chat m'].context.span_id:016x}"
    expected = ["document:policy@3", "document:faq", tool_id, model_id]
    decisions = {
        d.attributes[semconv.DECISION_ID]: d for d in exported.events(semconv.EVENT_DECISION)
    }
    default = decisions[decision_id].attributes
    assert list(default[semconv.DECISION_INPUTS]) == expected
    assert json.loads(str(default[semconv.DECISION_POLICY_CHECKS])) == [
        {"policy_id": "p1", "verdict": "pass"}
    ]
    assert default[semconv.GEN_AI_AGENT_NAME] == "a"
    assert list(decisions[explicit].attributes[semconv.DECISION_INPUTS]) == ["custom:1"]
    act = spans["action refund"].attributes
    assert act[semconv.ACTION_NAME] == "refund" and act[semconv.ACTION_TARGET] == "order-1"
    assert act[semconv.LINEAGE_OUTPUTS] == ("action:refund:order-1",)
    # The action cites the decision taken before it, so lineage runs decision -> action.
    assert list(act[semconv.LINEAGE_INPUTS]) == [*expected, f"decision:{decision_id}"]


def test_lineage_is_per_trace_and_bounded(exported: Exported) -> None:
    from agentledger.instrumentation._spans import LINEAGE_LIMIT

    with agent("first"), retrieval("kb") as r:
        r.record_documents([{"id": f"d{i}"} for i in range(LINEAGE_LIMIT + 50)])
        first = record_decision("t", "c")
    with agent("second"):
        second = record_decision("t", "c")
    by_id = {
        d.attributes[semconv.DECISION_ID]: d.attributes
        for d in exported.events(semconv.EVENT_DECISION)
    }
    inputs = list(by_id[first][semconv.DECISION_INPUTS])
    assert len(inputs) == LINEAGE_LIMIT and inputs[-1] == f"document:d{LINEAGE_LIMIT + 49}"
    assert list(by_id[second][semconv.DECISION_INPUTS]) == []


def test_kpi_and_observation_events(exported: Exported) -> None:
    with agent("a"):
        decision_id = record_decision("t", "c")
        record_observation(
            "scorer", {"amount": 12.5, "country": "DE", "vip": True}, "3", decision_id=decision_id
        )
        trace_id = exported_trace_id()
    record_kpi("csat", 4.5, "score", decision_id, entity_id="T-1", trace_id=trace_id)
    (kpi,) = exported.events(semconv.EVENT_KPI)
    assert kpi.attributes[semconv.KPI_DECISION_ID] == decision_id
    assert kpi.attributes[semconv.KPI_VALUE] == 4.5
    assert kpi.attributes[semconv.KPI_TRACE_ID] == trace_id
    (obs,) = exported.events(semconv.EVENT_MODEL_OBSERVATION)
    assert obs.attributes[semconv.OBSERVATION_MODEL] == "scorer"
    assert obs.attributes[semconv.OBSERVATION_MODEL_VERSION] == "3"
    assert obs.attributes["agentledger.observation.feature.amount"] == 12.5
    assert obs.attributes["agentledger.observation.feature.vip"] is True
    assert obs.attributes[semconv.DECISION_ID] == decision_id
    with pytest.raises(ValueError):
        record_observation("scorer", {})
    with pytest.raises(ValueError):
        record_observation("scorer", {"x": float("nan")})


def exported_trace_id() -> str:
    from opentelemetry import trace

    return f"{trace.get_current_span().get_span_context().trace_id:032x}"


# --- sampling ---------------------------------------------------------------------------------


def test_ratio_zero_drops_spans_but_never_decisions_or_kpis() -> None:
    exported, instrumentation = _configure(sample_ratio=0.0)
    try:
        with agent("a"):
            with tool("t"):
                pass
            with retrieval("kb") as r:
                r.record_documents([{"id": "doc", "version": "1"}])
            decision_id = record_decision("t", "c")
            trace_id = exported_trace_id()
            record_kpi("k", 1, decision_id=decision_id)
    finally:
        instrumentation.shutdown()
    assert exported.span_list() == []
    (decision,) = exported.events(semconv.EVENT_DECISION)
    (kpi,) = exported.events(semconv.EVENT_KPI)
    assert f"{decision.trace_id:032x}" == trace_id != "0" * 32
    assert kpi.trace_id == decision.trace_id
    inputs = list(decision.attributes[semconv.DECISION_INPUTS])
    assert inputs[0].startswith("tool:t:") and inputs[1] == "document:doc@1"


def test_sample_ratio_validated() -> None:
    with pytest.raises(ValueError):
        _configure(sample_ratio=1.5)


# --- context across threads, tasks, executors, services ----------------------------------------


def test_context_across_threads_tasks_and_executors(exported: Exported) -> None:
    @tool("work")
    def work(i: int) -> int:
        return i

    async def in_tasks() -> None:
        with agent("tasks"):
            await asyncio.gather(*(asyncio.create_task(asyncio.to_thread(work, i)) for i in (1, 2)))
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, wrap(work), 3)

    with agent("threads"):
        thread = threading.Thread(target=wrap(work), args=(0,))
        thread.start()
        thread.join()
        with ThreadPoolExecutor(2) as pool:
            assert list(pool.map(wrap(work), [4, 5])) == [4, 5]
            pool.submit(wrap(record_decision), "t", "c").result()
    asyncio.run(in_tasks())
    spans = exported.span_list()
    roots = {s.name: s for s in spans if s.parent is None}
    assert set(roots) == {"invoke_agent threads", "invoke_agent tasks"}
    work_spans = [s for s in spans if s.name == "execute_tool work"]
    assert len(work_spans) == 6
    for span in work_spans:
        assert span.parent is not None
        assert span.attributes[semconv.GEN_AI_AGENT_NAME] in {"threads", "tasks"}
        root = roots[f"invoke_agent {span.attributes[semconv.GEN_AI_AGENT_NAME]}"]
        assert span.context.trace_id == root.context.trace_id
        assert span.parent.span_id == root.context.span_id
    (decision,) = exported.events(semconv.EVENT_DECISION)
    assert decision.trace_id == roots["invoke_agent threads"].context.trace_id
    # tools run in worker threads still count as lineage of the trace
    inputs = decision.attributes[semconv.DECISION_INPUTS]
    assert sum(i.startswith("tool:work:") for i in inputs) == 3


def test_inject_and_extract(exported: Exported) -> None:
    assert inject_context({}) == {}
    with agent("caller"):
        headers = inject_context({})
    assert set(headers) >= {"traceparent"}
    with extract_context({"TraceParent": headers["traceparent"]}), tool("callee"):
        pass
    spans = exported.spans()
    caller, callee = spans["invoke_agent caller"], spans["execute_tool callee"]
    assert callee.context.trace_id == caller.context.trace_id
    assert callee.parent.span_id == caller.context.span_id and callee.parent.is_remote
