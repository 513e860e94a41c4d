"""Every instrumentation wrapper against a real ``agentledger serve``: spans, a decision whose
inputs were filled by default, a KPI and a model observation arrive linked; a trace continues
across two processes through W3C headers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid

from agentledger.instrumentation import (
    action,
    agent,
    inject_context,
    llm_call,
    record_decision,
    record_kpi,
    record_observation,
    retrieval,
    setup,
    tool,
)

from ..conftest import Server


def test_every_wrapper_end_to_end(server: Server) -> None:
    service = f"instr-{uuid.uuid4().hex[:8]}"
    instrumentation = setup(service, endpoint=server.otlp_url, api_key=server.api_keys["acme"])

    @tool("order_lookup")
    def lookup() -> float:
        return 120.0

    @agent("refunds", version="3")
    def run() -> str:
        with retrieval("kb") as r:
            r.record_documents([{"id": "refund-policy", "version": "7", "score": 0.9}])
        lookup()
        with llm_call("gpt-4o", "openai") as call:
            call.record_usage(input_tokens=500, output_tokens=40, reasoning_tokens=8)
        decision_id = record_decision("refund", "approve", options=["approve", "deny"])
        record_observation("refund-scorer", {"amount": 120.0, "country": "DE"}, "1",
                           decision_id=decision_id)  # fmt: skip
        with action("issue_refund", target="order-9"):
            pass
        return decision_id

    decision_id = run()
    record_kpi("refund_amount", 120.0, "usd", decision_id)
    assert instrumentation.force_flush()
    instrumentation.shutdown()
    client = server.client()

    spans = {
        row["SpanName"]: row
        for row in client.query(
            "SELECT SpanName, SpanId, TraceId, SpanAttributes FROM otel_traces"
            " WHERE ServiceName = {s:String}",
            parameters={"s": service},
        ).named_results()
    }
    assert set(spans) == {
        "invoke_agent refunds",
        "retrieval kb",
        "execute_tool order_lookup",
        "chat gpt-4o",
        "action issue_refund",
    }
    trace_id = spans["invoke_agent refunds"]["TraceId"]
    assert {row["TraceId"] for row in spans.values()} == {trace_id}

    (decision,) = client.query(
        "SELECT TraceId, Inputs, AgentName FROM decisions WHERE DecisionId = {d:String}",
        parameters={"d": decision_id},
    ).named_results()
    assert decision["TraceId"] == trace_id and decision["AgentName"] == "refunds"
    assert decision["Inputs"] == [
        "document:refund-policy@7",
        f"tool:order_lookup:{spans['execute_tool order_lookup']['SpanId']}",
        f"span:{spans['chat gpt-4o']['SpanId']}",
    ]
    (kpi,) = client.query(
        "SELECT KpiName, Value, DecisionId FROM kpi_events WHERE DecisionId = {d:String}",
        parameters={"d": decision_id},
    ).named_results()
    assert (kpi["KpiName"], kpi["Value"]) == ("refund_amount", 120.0)
    observations = list(
        client.query(
            "SELECT Feature, Value, Category, TraceId, ModelVersion FROM model_observations"
            " WHERE ModelName = 'refund-scorer' AND DecisionId = {d:String} ORDER BY Feature",
            parameters={"d": decision_id},
        ).named_results()
    )
    assert [(o["Feature"], o["Value"], o["Category"]) for o in observations] == [
        ("amount", 120.0, ""),
        ("country", 0.0, "DE"),
    ]
    assert {o["TraceId"] for o in observations} == {trace_id}
    act = spans["action issue_refund"]["SpanAttributes"]
    assert json.loads(act["agentledger.lineage.outputs"]) == ["action:issue_refund:order-9"]


CHILD = textwrap.dedent(
    """
    import json, os, sys
    from agentledger.instrumentation import extract_context, setup, tool
    inst = setup(os.environ["SERVICE"], endpoint=os.environ["ENDPOINT"], api_key=os.environ["KEY"])
    with extract_context(json.loads(sys.argv[1])), tool("remote_step"):
        pass
    assert inst.force_flush()
    inst.shutdown()
    """
)


def test_trace_continues_in_another_process(server: Server) -> None:
    service = f"instr-prop-{uuid.uuid4().hex[:8]}"
    instrumentation = setup(service, endpoint=server.otlp_url, api_key=server.api_keys["acme"])
    with agent("caller"):
        headers = inject_context({})
        env = dict(os.environ, SERVICE=service, ENDPOINT=server.otlp_url,
                   KEY=server.api_keys["acme"])  # fmt: skip
        subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(headers)], env=env, check=True, timeout=120
        )
    assert instrumentation.force_flush()
    instrumentation.shutdown()
    rows = {
        row["SpanName"]: row
        for row in server.client()
        .query(
            "SELECT SpanName, SpanId, ParentSpanId, TraceId FROM otel_traces"
            " WHERE ServiceName = {s:String}",
            parameters={"s": service},
        )
        .named_results()
    }
    caller, remote = rows["invoke_agent caller"], rows["execute_tool remote_step"]
    assert remote["TraceId"] == caller["TraceId"]
    assert remote["ParentSpanId"] == caller["SpanId"]
