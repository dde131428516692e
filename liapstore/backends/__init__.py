"""The store backends. Each is imported only when a URL names it (see urls.py)."""
