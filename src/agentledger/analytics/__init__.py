"""Analytics jobs that push their heavy work into ClickHouse and record every run."""
