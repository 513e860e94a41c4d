"""The server store: a ClickHouse server or cluster, or our embedded endpoint, over HTTP."""

from __future__ import annotations

from typing import Any

import clickhouse_connect
import pyarrow as pa
from clickhouse_connect.driver.exceptions import ClickHouseError

from agentledger.config import mask_url
from agentledger.storage.store import Params, StoreError

TENANT_HEADER = "X-AgentLedger-Tenant"

__all__ = ["TENANT_HEADER", "HttpStore"]


class HttpStore:
    """A :class:`~agentledger.storage.store.Store` over clickhouse-connect.

    With ``tenant``, every request carries ``X-AgentLedger-Tenant``: the AgentLedger SQL endpoint
    then runs it read-only and shows only that tenant's rows (the dashboards query so for their
    logged-in users). A plain ClickHouse server ignores the header.
    """

    def __init__(
        self,
        url: str,
        database: str = "agentledger",
        tenant: str | None = None,
        **client_args: Any,
    ) -> None:
        self.database = database
        self.tenant = tenant
        if tenant is not None:
            if not tenant.strip() or not tenant.isascii() or not tenant.isprintable():
                raise ValueError(
                    f"tenant {tenant!r} cannot travel in an HTTP header: use printable ASCII"
                )
            client_args["headers"] = {**client_args.get("headers", {}), TENANT_HEADER: tenant}
        try:
            self._client = clickhouse_connect.get_client(
                dsn=url, database=database, autogenerate_session_id=False, **client_args
            )
        except ClickHouseError as exc:
            raise StoreError(f"cannot connect to ClickHouse at {mask_url(url)}: {exc}") from None

    def command(self, sql: str, params: Params | None = None) -> None:
        try:
            self._client.command(sql, parameters=dict(params or {}))
        except ClickHouseError as exc:
            raise StoreError(str(exc), _code(exc)) from None

    def query_arrow(self, sql: str, params: Params | None = None) -> pa.Table:
        try:
            table: pa.Table = self._client.query_arrow(sql, parameters=dict(params or {}))
        except ClickHouseError as exc:
            raise StoreError(str(exc), _code(exc)) from None
        return table

    def insert_arrow(self, table: str, data: pa.Table, dedup_token: str | None = None) -> None:
        if data.num_rows == 0:
            return
        settings = {"insert_deduplication_token": dedup_token} if dedup_token else None
        try:
            self._client.insert_arrow(table, data, settings=settings)
        except ClickHouseError as exc:
            raise StoreError(str(exc), _code(exc)) from None

    def close(self) -> None:
        self._client.close()


def _code(exc: ClickHouseError) -> int:
    code = getattr(exc, "code", None)
    return int(code) if isinstance(code, int) else 0
