"""Storage: migrations, the Store interface and its chDB and clickhouse-connect implementations."""

from agentledger.storage.store import Store, StoreError

__all__ = ["Store", "StoreError"]
