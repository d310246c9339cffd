"""``python -m certifia_enrolment`` serves the API (with its outbox relay and event consumer).

``python -m certifia_enrolment dead-letters list|replay ...`` lists the consumer's dead letters or replays chosen
ones after a fix (certifia_shared.deadletters).
"""

from __future__ import annotations

import sys

from certifia_enrolment.bootstrap import bootstrap
from certifia_enrolment.config import Settings
from certifia_shared import deadletters, serving

if __name__ == "__main__":
    settings = Settings()
    if sys.argv[1:2] == ["dead-letters"]:
        sys.exit(deadletters.cli(sys.argv[2:], settings, lambda s: bootstrap(s)))
    serving.serve(settings, "certifia_enrolment.bootstrap:create_application", database_name="enrolment")
