"""The global filters every page shares: time range, tenant, service and agent, kept in the URL.

Each filter is bound to a query parameter (``?range=6h&tenant=acme&service=api&agent=planner``)
so a copied link reproduces the view. :class:`Filters` is frozen and hashable: it is the cache key
of every loader, and :meth:`Filters.where` is the one place that turns it into SQL, so a page
cannot forget the tenant a logged-in viewer is confined to.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import streamlit as st

from agentledger.dashboards.queries import utc_text
from agentledger.dashboards.timerange import Window, pick_window

__all__ = ["ANY", "Filters", "pick_filters", "url_choice"]


@dataclass(frozen=True)
class Filters:
    """What a page shows: a window and optional equality filters ("" means any)."""

    window: Window
    tenant: str = ""
    service: str = ""
    agent: str = ""

    def where(
        self,
        *,
        time: str | None = "Timestamp",
        tenant: str | None = "TenantId",
        service: str | None = "ServiceName",
        agent: str | None = "AgentName",
    ) -> str:
        """SQL conditions (joined by AND) over the named columns; pass None for a column a table
        lacks. Values travel as the parameters of :meth:`params`, never inside the text."""
        conditions = []
        if time is not None:
            bound = "DateTime64(3, 'UTC')"
            conditions.append(f"{time} >= {{start:{bound}}} AND {time} < {{end:{bound}}}")
        for column, name in ((tenant, "tenant"), (service, "service"), (agent, "agent")):
            if column is not None:
                conditions.append(f"({{{name}:String}} = '' OR {column} = {{{name}:String}})")
        return " AND ".join(conditions) or "1"

    def params(self) -> dict[str, str]:
        """The parameters :meth:`where` refers to."""
        return {
            "start": utc_text(self.window.start),
            "end": utc_text(self.window.end),
            "tenant": self.tenant,
            "service": self.service,
            "agent": self.agent,
        }


def pick_filters(
    *,
    values: Callable[[Window], Mapping[str, Sequence[str]]],
    forced_tenant: str | None,
) -> Filters:
    """Render the filters in the sidebar and return them.

    ``values(window)`` gives the menus' choices (``tenants``, ``services``, ``agents``) seen in
    the chosen window. ``forced_tenant`` is the tenant a logged-in viewer is confined to: it
    replaces the tenant choice entirely, whatever the URL says.
    """
    with st.sidebar:
        window = pick_window()
        seen = values(window)
        tenants, services, agents = seen["tenants"], seen["services"], seen["agents"]
        if forced_tenant is None:
            tenant = url_choice("Tenant", "tenant", tenants)
        else:
            st.caption(f"Tenant: **{forced_tenant}**")
            tenant = forced_tenant
            if st.query_params.get("tenant", forced_tenant) != forced_tenant:
                st.query_params["tenant"] = forced_tenant  # links and the URL show the real view
        service = url_choice("Service", "service", services)
        agent = url_choice("Agent", "agent", agents)
    return Filters(window, tenant, service, agent)


ANY = "(any)"


def url_choice(label: str, key: str, values: Sequence[str]) -> str:
    """A select bound to query parameter ``key``, returning "" for :data:`ANY`; a value from a
    link is kept even when it is not among ``values`` (no data for it yet in this window), so
    links never silently widen."""
    current = st.query_params.get(key, "")
    options = [ANY, *sorted({*values, current} - {""})]
    chosen = st.selectbox(label, options, key=key, bind="query-params")
    return "" if chosen in (None, ANY) else str(chosen)
