"""Operating a deployment: copying a store to another backend, backing it up
and restoring it (``liapstore copy``, ``backup``, ``restore``; see cli_ops.py).

Every operation reads and writes the tables of ``schema.models.MODELS``, in
that (foreign-key) order, through the backend contract, so any backend, a
third party's too, is a source or a target, and a table added by a migration
is copied as soon as its model is in ``MODELS``.
"""
