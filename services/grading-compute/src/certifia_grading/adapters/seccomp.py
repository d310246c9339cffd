"""The seccomp filter of the sandbox: the kernel surface candidate code has no use for, denied.

Measured before: ``unshare -Ur``, io_uring, bpf, perf_event_open and keyctl all reached the kernel from
inside the sandbox. The filter is built with libseccomp (through ``pyseccomp``, ctypes over
``libseccomp.so.2``), exported as a classic BPF program and handed to bubblewrap (``--seccomp FD``),
which loads it in the sandbox right before it execs the command (``setpriv`` first: it only needs
setresuid/setgroups/capset/prctl, none denied).

Everything is allowed except, with ``EPERM``: namespace creation (``unshare``, ``setns``, ``clone`` with
any ``CLONE_NEW*`` flag), io_uring, bpf, perf_event_open, userfaultfd, the key-management calls, ptrace
and cross-process memory access, every mount call, module loading, kexec and the host-administration
calls. ``clone3`` passes its flags in memory, out of a filter's reach: it fails with ``ENOSYS``, as on an
older kernel, and glibc falls back to ``clone``, whose flags are checked. Other architectures' system
calls (i386, x32) kill the process: libseccomp's default for a foreign architecture.
"""

from __future__ import annotations

import errno
import functools
import os
import tempfile

__all__ = ["DENIED", "NAMESPACE_FLAGS", "SeccompUnavailable", "filter_fd", "filter_program"]

DENIED = (
    # namespaces (clone is filtered by its flags below)
    "unshare",
    "setns",
    # kernel interfaces with a long record of privilege escalations
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    # other processes
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "kcmp",
    # file systems
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "open_by_handle_at",
    "name_to_handle_at",
    "fanotify_init",
    "quotactl",
    "quotactl_fd",
    "swapon",
    "swapoff",
    # the kernel itself and the host
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "acct",
    "syslog",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
    "iopl",
    "ioperm",
    "uselib",
    "vhangup",
    "lookup_dcookie",
    "nfsservctl",
    "_sysctl",
)
NAMESPACE_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}


class SeccompUnavailable(RuntimeError):
    """libseccomp (or its Python binding) is missing: the sandbox refuses to run without the filter."""


@functools.lru_cache(maxsize=1)
def filter_program() -> bytes:
    """The filter as a BPF program (built once per process)."""
    try:
        import pyseccomp as sc
    except Exception as exc:  # ImportError, or AttributeError when libseccomp.so.2 is absent
        raise SeccompUnavailable(f"cannot load pyseccomp over libseccomp.so.2: {exc!r}") from None
    flt = sc.SyscallFilter(sc.ALLOW)
    flt.set_attr(sc.Attr.ACT_BADARCH, sc.KILL_PROCESS)
    deny = sc.ERRNO(errno.EPERM)
    for name in DENIED:
        try:
            flt.add_rule(deny, name)
        except (OSError, ValueError):  # a name this libseccomp or architecture does not know
            continue
    for flag in NAMESPACE_FLAGS.values():
        flt.add_rule(deny, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    flt.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.TemporaryFile() as fh:
        flt.export_bpf(fh)
        fh.seek(0)
        program = fh.read()
    if not program or len(program) % 8:
        raise SeccompUnavailable("libseccomp exported an empty or malformed BPF program")
    return program


def filter_fd() -> int:
    """A fresh file descriptor holding the program, at offset 0, for ``bwrap --seccomp FD`` (caller closes)."""
    program = filter_program()
    fd = os.memfd_create("certifia-seccomp", os.MFD_CLOEXEC)
    try:
        os.write(fd, program)
        os.lseek(fd, 0, os.SEEK_SET)
    except OSError:
        os.close(fd)
        raise
    return fd
