"""ASGI entry point: `uvicorn sextant.asgi:app`."""

from sextant.app import create_app

app = create_app()
