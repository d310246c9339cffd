"""``python -m certifia_grading`` serves the API (with its outbox relay and event consumer).

``python -m certifia_grading dead-letters list|replay ...`` lists the consumer's dead letters or replays chosen
ones after a fix (certifia_shared.deadletters).
"""

from __future__ import annotations

import sys

import uvicorn

from certifia_grading.bootstrap import bootstrap, create_application
from certifia_grading.config import Settings
from certifia_shared import deadletters

if __name__ == "__main__":
    settings = Settings()
    if sys.argv[1:2] == ["dead-letters"]:
        sys.exit(deadletters.cli(sys.argv[2:], settings, bootstrap))
    uvicorn.run(create_application(settings), host=settings.host, port=settings.port, log_config=None)
