"""Mutual integration: sources (other workspaces), flows and pulls (DESIGN.md section 5)."""
