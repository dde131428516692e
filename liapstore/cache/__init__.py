"""The optional Redis cache of a Store (leaderboards: ``leaderboards.py``)."""
