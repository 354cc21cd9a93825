"""Analysis room: summary over seeds and population metrics (PIEs, overlaps, difficulty)."""
