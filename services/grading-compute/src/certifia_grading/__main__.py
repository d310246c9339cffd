"""``python -m certifia_grading`` serves the API (with its outbox relay and event consumer).

``python -m certifia_grading dead-letters list|replay ...`` lists the consumer's dead letters or replays chosen
ones after a fix (certifia_shared.deadletters).
"""

from __future__ import annotations

import sys

from certifia_grading.bootstrap import bootstrap
from certifia_grading.config import Settings
from certifia_shared import deadletters, serving

if __name__ == "__main__":
    settings = Settings()
    if sys.argv[1:2] == ["dead-letters"]:
        sys.exit(deadletters.cli(sys.argv[2:], settings, bootstrap))
    serving.serve(settings, "certifia_grading.bootstrap:create_application", database_name="grading")
