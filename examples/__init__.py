"""Examples of liapstore in use (``python -m examples.server`` runs the example game server)."""
