"""The `photosearch` command line: thin commands over the library facade and the worker client."""
