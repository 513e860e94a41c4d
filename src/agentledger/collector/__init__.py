"""The OTLP collector: receive, authenticate, decode to columns, route, store."""
