"""Client tests: the real app under uvicorn on 127.0.0.1 with Berlin (the browser tests' live_app fixture)."""

from tests.browser.conftest import live_app

__all__ = ["live_app"]
