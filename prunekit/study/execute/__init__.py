"""Execute room: one run (load -> build -> train -> evaluate -> save), the shared dense trunk, executors."""
