"""Analytics jobs: cost now; drift, lineage, KPI attribution and anomalies build on the same runner."""
