"""The core: decoding, the catalog, the vector index, scanning, indexing, queries, models.

No Qt and no multiprocessing here; torch and open_clip only behind `models.embedder`. Everything
outside the core enters it through `library.Library`, the one door.
"""
