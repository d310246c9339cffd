"""Print the certification referential as JSON (``make -s referential``).

Reads ``contracts/referential/referential.yaml`` (or ``$CERTIFIA_REFERENTIAL``), checks it and prints
``Referential.to_public_dict()``; exits 1 with the list of problems when the data is invalid.
"""

from __future__ import annotations

import json
import os
import sys

from certifia_shared.referential import ReferentialError, load_referential


def main() -> int:
    try:
        referential = load_referential()
    except ReferentialError as exc:
        print(f"referential: {exc}", file=sys.stderr)
        return 1
    try:
        print(json.dumps(referential.to_public_dict(), ensure_ascii=False, indent=2))
        sys.stdout.flush()
    except BrokenPipeError:  # `... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
