"""``python -m certifia_enrolment`` serves the API (with its outbox relay)."""

from __future__ import annotations

import uvicorn

from certifia_enrolment.bootstrap import create_application
from certifia_enrolment.config import Settings

if __name__ == "__main__":
    settings = Settings()
    uvicorn.run(create_application(settings), host=settings.host, port=settings.port, log_config=None)
