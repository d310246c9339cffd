"""``python -m certifia_certification`` serves the API (with its event consumer and outbox relay)."""

from __future__ import annotations

import uvicorn

from certifia_certification.bootstrap import create_application
from certifia_certification.config import Settings

if __name__ == "__main__":
    settings = Settings()
    uvicorn.run(create_application(settings), host=settings.host, port=settings.port, log_config=None)
