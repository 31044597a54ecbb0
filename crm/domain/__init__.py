"""Domain rules as plain functions, importable without a request or database."""
