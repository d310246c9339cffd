"""``python -m certifia_certification`` serves the API (with its outbox relay and event consumer).

``python -m certifia_certification dead-letters list|replay ...`` lists the consumer's dead letters or replays chosen
ones after a fix (certifia_shared.deadletters).
"""

from __future__ import annotations

import sys

from certifia_certification.bootstrap import bootstrap
from certifia_certification.config import Settings
from certifia_shared import deadletters, serving

if __name__ == "__main__":
    settings = Settings()
    if sys.argv[1:2] == ["dead-letters"]:
        sys.exit(deadletters.cli(sys.argv[2:], settings, bootstrap))
    serving.serve(
        settings, "certifia_certification.bootstrap:create_application", database_name="certification"
    )
