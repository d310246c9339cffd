"""``python -m certifia_thesis`` serves the API (with its outbox relay and its event consumer)."""

from __future__ import annotations

import uvicorn

from certifia_thesis.bootstrap import create_application
from certifia_thesis.config import Settings

if __name__ == "__main__":
    settings = Settings()
    uvicorn.run(create_application(settings), host=settings.host, port=settings.port, log_config=None)
