"""The contract between stages: topic names, wire formats and the ClickHouse tables.

Ingest, processors and query_mcp import from here and never from each other.
"""
