"""The HTTP service (FastAPI): ``create_app(settings)`` in service.api.app; `insight serve` runs it with uvicorn."""


def create_app(*args, **kwargs):
    from service.api.app import create_app as _create_app

    return _create_app(*args, **kwargs)
