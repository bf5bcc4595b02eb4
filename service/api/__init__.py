"""The HTTP service (FastAPI): ``create_app(settings)`` in service.api.app; `insight serve` runs it with uvicorn."""
