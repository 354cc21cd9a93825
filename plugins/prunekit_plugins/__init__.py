"""prunekit's built-in plugins, one per file, registered through entry points in pyproject.toml."""
