"""Which models exist (registry), how user weights come in (importer), how they run (embedder)."""
