"""deploy/compose/seccomp-bubblewrap.json: Docker's default seccomp profile plus what bubblewrap needs to
build the candidate sandbox inside a container, and nothing else.

Docker's default profile (github.com/moby/profiles/seccomp, default.json) allows namespace creation and
mounts only to a container holding CAP_SYS_ADMIN, which grading-compute must not hold. bubblewrap, run
unprivileged, needs: clone with namespace flags, unshare, mount/umount2 and pivot_root inside its new user
and mount namespaces, sethostname for its UTS namespace. The rest of the CAP_SYS_ADMIN group stays denied
(bpf, perf_event_open, fanotify, the new mount API, quotactl, setns, syslog...), clone3 still answers
ENOSYS (glibc falls back to clone, which the rule below filters as Docker's does not), and the sandbox's
own seccomp filter (adapters/seccomp.py) still denies namespace creation to candidate code.

    python scripts/seccomp_profile.py /path/to/moby/profiles/seccomp/default.json > deploy/compose/seccomp-bubblewrap.json

The default.json used: github.com/moby/profiles/seccomp v0.3.0 from the Go module proxy
(`go mod download -json github.com/moby/profiles/seccomp@v0.3.0` prints its folder).
"""

from __future__ import annotations

import json
import sys

BUBBLEWRAP = ["clone", "unshare", "mount", "umount2", "pivot_root", "sethostname"]


def profile(default: dict) -> dict:  # type: ignore[type-arg]
    out = json.loads(json.dumps(default))
    out["syscalls"].append(
        {
            "names": BUBBLEWRAP,
            "action": "SCMP_ACT_ALLOW",
            "comment": "certifia: bubblewrap builds the candidate sandbox without CAP_SYS_ADMIN",
        }
    )
    return out


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        json.dump(profile(json.load(f)), sys.stdout, indent=1)
    sys.stdout.write("\n")
