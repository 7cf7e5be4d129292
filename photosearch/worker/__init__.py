"""The live library: a worker process that owns the model, catalog, index and folder watchers,
the typed protocol it speaks, and the client that the window and `photosearch watch` use.

The client and protocol run in the caller's process and never import the core, torch or Qt.
"""
