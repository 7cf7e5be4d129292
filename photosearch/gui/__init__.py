"""The window (PySide6). It talks to the library only through the worker client, and never
imports the core, torch or numpy (import contracts in pyproject.toml; tests/test_architecture.py)."""
