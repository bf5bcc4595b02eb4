"""`python -m service.cli`: the `insight` command line run from a checkout."""

from service.cli import app

if __name__ == "__main__":  # pragma: no cover
    app()
