"""Example third-party prunekit plugins (the template plugin authors copy)."""
