"""Print the grading packs as JSON (``make -s packs``): [{"id", "version", "interface", "criteria"}]."""

from __future__ import annotations

import json
import os
import sys

from certifia_grading.adapters.sandbox import BwrapSandbox
from certifia_grading.domain import Grader, PackError


def main() -> int:
    try:
        packs = Grader(sandbox=BwrapSandbox()).list_packs()
    except PackError as exc:
        print(f"packs: {exc}", file=sys.stderr)
        return 1
    rows = [
        {
            "id": p.id,
            "version": p.version,
            "interface": p.interface,
            "criteria": list(p.criteria),
            "evaluation_id": p.evaluation_id,
            "title": p.title,
        }
        for p in packs
    ]
    try:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        sys.stdout.flush()
    except BrokenPipeError:  # `... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main())
