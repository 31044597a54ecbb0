"""Workflows and rules that touch the database: no request, no templates."""
