"""``python -m certifia_grading`` serves the API (with its outbox relay)."""

from __future__ import annotations

import uvicorn

from certifia_grading.bootstrap import create_application
from certifia_grading.config import Settings

if __name__ == "__main__":
    settings = Settings()
    uvicorn.run(create_application(settings), host=settings.host, port=settings.port, log_config=None)
