"""The agent console: server-rendered pages beside the API (see routes.py)."""
