"""The vector index (hnswlib behind one lock), its crash-safe snapshots and its memory pages."""
