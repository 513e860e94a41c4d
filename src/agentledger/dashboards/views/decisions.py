"""Decisions page: the audit trail with its filters, whether the hash chain behind the shown
range is intact, and one decision in full (inputs, options, verdict, policy checks, approval,
rationale, cost and the KPI outcomes attributed to it).

``/decisions?decision_id=ID`` opens a decision directly; every filter is kept in the URL too.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from agentledger.dashboards.decision_queries import (
    ChainStatus,
    DecisionSearch,
    chain_status,
    decision_choices,
    decision_cost,
    decision_detail,
    decision_kpis,
    search_decisions,
)
from agentledger.dashboards.filters import url_choice
from agentledger.dashboards.page import PageContext, run_page
from agentledger.dashboards.widgets import USD, link, numbers, usd


def _render(ctx: PageContext) -> None:
    decision_id = st.text_input("Decision id", key="decision_id", bind="query-params").strip()
    if decision_id:
        _detail(ctx, decision_id)
        st.divider()
    _chain(ctx.load(chain_status, ctx.filters))
    _trail(ctx)


def _chain(status: ChainStatus) -> None:
    if not status.spans:
        return
    spans = ", ".join(
        f"{tenant}{f' (chain {chain})' if chain else ''} Seq {lo} to {hi}"
        for (tenant, chain), (lo, hi) in status.spans.items()
    )
    if status.ok:
        st.success(
            f"Hash chain intact for the shown range ({spans}): {status.checked:,} records in "
            f"sequence and linked, the newest {status.rehashed:,} re-hashed. "
            "`agentledger audit verify` re-hashes the whole chain."
        )
        return
    for found in status.breaks:
        st.error(
            f"Hash chain broken for tenant {found.tenant}"
            f"{f' (chain {found.chain})' if found.chain else ''} at Seq {found.seq}"
            f"{f' (decision {found.decision_id})' if found.decision_id else ''}: {found.reason}. "
            "Run `agentledger audit verify` for the whole chain."
        )


def _trail(ctx: PageContext) -> None:
    st.subheader("Audit trail")
    choices = ctx.load(decision_choices, ctx.filters)
    cols = st.columns(4)
    with cols[0]:
        dtype = url_choice("Type", "type", choices["types"])
    with cols[1]:
        verdict = url_choice("Verdict", "verdict", choices["verdicts"])
    with cols[2]:
        approver = url_choice("Approver", "approver", choices["approvers"])
    low, high = cols[3].slider(
        "Confidence", 0.0, 1.0, (0.0, 1.0), step=0.05, key="confidence", bind="query-params"
    )
    search = DecisionSearch(dtype, verdict, approver, low, high)
    found = ctx.load(search_decisions, ctx.filters, search)
    if found.empty:
        st.info(
            "No decisions match in this range. Agents record decisions with "
            "`agentledger.instrumentation.record_decision(type, chosen, options=..., "
            "confidence=..., rationale=..., policy_checks=..., approved_by=...)`; each is sealed "
            "into the tenant's hash chain by the collector."
        )
        return
    st.caption(f"{len(found):,} newest matching decisions (at most {search.limit}).")
    shown = found.assign(
        Open=[link("/decisions", decision_id=d) for d in found["DecisionId"]],
        Trace=[link("/traces", trace_id=t) if t else None for t in found["TraceId"]],
        Lineage=[link("/lineage", decision_id=d) for d in found["DecisionId"]],
    )
    st.dataframe(
        shown,
        hide_index=True,
        column_order=["Open", *found.columns, "Trace", "Lineage"],
        column_config={
            "Open": st.column_config.LinkColumn(display_text="details"),
            "Trace": st.column_config.LinkColumn(display_text="trace"),
            "Lineage": st.column_config.LinkColumn(display_text="lineage"),
            "Confidence": st.column_config.NumberColumn(format="%.2f"),
        },
    )
    st.download_button(
        "Download CSV",
        found.to_csv(index=False).encode(),
        file_name="decisions.csv",
        mime="text/csv",
        on_click="ignore",
    )


def _detail(ctx: PageContext, decision_id: str) -> None:
    decision = ctx.load(decision_detail, ctx.filters.tenant, decision_id)
    if decision is None:
        st.warning(f"No decision {decision_id} here. Check the id, or the tenant you can see.")
        return
    st.subheader(f"Decision {decision_id}")
    confidence = decision["Confidence"]
    cols = st.columns(4)
    cols[0].metric("Verdict", str(decision["Chosen"]))
    cols[1].metric("Type", str(decision["DecisionType"]))
    cols[2].metric("Confidence", "n/a" if confidence is None else f"{float(confidence):.2f}")  # type: ignore[arg-type]
    cols[3].metric("Approved by", str(decision["ApprovedBy"] or "no human approval"))
    version = f" v{decision['AgentVersion']}" if decision["AgentVersion"] else ""
    st.markdown(
        f"**Agent** {decision['AgentName']}{version} · **Model** {decision['ModelName'] or 'n/a'}"
        f" · **Service** {decision['ServiceName']} · **At** {decision['Timestamp']} UTC"
        f" · **Tenant** {decision['TenantId']} · **Seq** {decision['Seq']}"
    )
    trace = str(decision["TraceId"])
    links = [f"[Lineage]({link('/lineage', decision_id=decision_id)})"]
    if trace:
        links.insert(0, f"[Trace]({link('/traces', trace_id=trace)})")
    st.markdown(" · ".join(links))
    st.markdown(f"**Rationale** {decision['Rationale'] or '(none recorded)'}")
    left, right = st.columns(2)
    with left:
        st.markdown("**Options**")
        options = [str(o) for o in decision["Options"]]  # type: ignore[attr-defined]
        st.dataframe(
            pd.DataFrame({"Option": options, "Chosen": [o == decision["Chosen"] for o in options]}),
            hide_index=True,
        )
        st.markdown("**Inputs**")
        st.dataframe(pd.DataFrame({"Input": list(decision["Inputs"])}), hide_index=True)  # type: ignore[call-overload]
    with right:
        st.markdown("**Policy checks**")
        checks = _policy_checks(str(decision["PolicyChecks"]))
        if checks.empty:
            st.caption("No policy checks were recorded.")
        else:
            st.dataframe(checks, hide_index=True)
        _cost(ctx, decision)
    _outcomes(ctx, decision_id)
    with st.expander("Audit record (hash chain)"):
        st.code(f"PrevHash {decision['PrevHash']}\nHash     {decision['Hash']}")


def _policy_checks(text: str) -> pd.DataFrame:
    try:
        checks = json.loads(text) if text else []
    except json.JSONDecodeError:
        return pd.DataFrame({"Recorded": [text]})
    if not isinstance(checks, list):
        return pd.DataFrame({"Recorded": [text]})
    return pd.DataFrame([c if isinstance(c, dict) else {"check": c} for c in checks])


def _cost(ctx: PageContext, decision: dict[str, object]) -> None:
    st.markdown("**Cost**")
    if not decision["TraceId"]:
        st.caption("The decision names no trace, so no model calls can be priced for it.")
        return
    at = pd.Timestamp(decision["Timestamp"]).floor("us").to_pydatetime()
    cost = ctx.load(decision_cost, str(decision["TenantId"]), str(decision["TraceId"]), at)
    if cost.empty:
        st.caption("No model calls with token usage in this decision's trace.")
        return
    share = float(cost["Share"].iloc[0])
    st.metric(
        "Decision cost (USD)",
        usd(float(cost["CostUsd"].sum())),
        help=f"Its trace's token cost priced now, shared by the trace's decisions ({share:.0%}).",
    )
    numbers(cost.drop(columns="Share"), "decision cost", {"CostUsd": USD})


def _outcomes(ctx: PageContext, decision_id: str) -> None:
    st.markdown("**KPI outcomes attributed to this decision**")
    kpis = ctx.load(decision_kpis, ctx.filters.tenant, decision_id)
    if kpis.empty:
        st.caption(
            "None yet. Report outcomes with `record_kpi(name, value, decision_id=...)` — "
            "later, from any process."
        )
        return
    st.dataframe(kpis, hide_index=True)


run_page("Decisions", _render)
