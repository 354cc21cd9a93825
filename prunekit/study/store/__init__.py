"""Store room: the work directory (run directories, atomic writes), resume, results.jsonl."""
