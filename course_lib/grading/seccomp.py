"""The sandbox's system-call filter: a classic-BPF program for ``bwrap --seccomp FD``.

Namespaces, an unprivileged uid and rlimits already keep student code away
from the host; the filter removes kernel interfaces that a numpy solution
never needs and that would reach *across* those walls or widen the kernel's
attack surface. A refused call fails with ``EPERM`` (the process goes on):

- the kernel keyrings (``add_key``, ``request_key``, ``keyctl``): a uid's
  user keyring outlives its processes, so two sandboxes that lease the same
  uid one after the other could pass bytes through it;
- other processes' memory (``ptrace``, ``process_vm_readv``/``writev``,
  ``kcmp``, ``pidfd_getfd``, ``process_madvise``);
- new namespaces (``unshare``, ``setns``, ``clone`` with a ``CLONE_NEW*``
  flag; ``clone3`` answers ``ENOSYS``, so the C library falls back to
  ``clone``, whose flags the filter can read), mounts of every kind
  (``mount``, ``umount2``, ``pivot_root``, ``chroot``, the new mount API);
- kernel interfaces with a history of privilege escalations or that see
  beyond the sandbox: ``bpf``, ``perf_event_open``, ``userfaultfd``,
  ``io_uring_*`` (whose operations bypass this filter), ``fanotify_init``,
  ``open_by_handle_at``, ``syslog``, NUMA page moves;
- what only an administrator does (modules, ``kexec``, ``reboot``, swap,
  clocks, quotas, ``acct``, host and domain names, ``iopl``/``ioperm``).

Calls of another architecture's ABI (32-bit ``int 0x80`` on x86-64, or the
x32 ABI) kill the process: the filter only knows the native numbers.
Numbers are from the kernel's ``uapi`` headers (``asm/unistd_64.h`` for
x86-64, ``asm-generic/unistd.h`` for arm64); on another architecture
:func:`program` returns ``None`` and the sandbox runs without the filter
(the run summary says so).
"""
import errno
import platform
import struct

__all__ = ["program", "BLOCKED", "supported"]

_BLOCKED_NAMES = (
    "add_key", "request_key", "keyctl",
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "process_madvise",
    "unshare", "setns", "mount", "umount2", "pivot_root", "chroot", "open_tree",
    "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter",
    "io_uring_register", "fanotify_init", "name_to_handle_at", "open_by_handle_at",
    "syslog", "migrate_pages", "move_pages", "lookup_dcookie",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "reboot", "swapon", "swapoff", "settimeofday", "clock_settime", "clock_adjtime",
    "adjtimex", "quotactl", "quotactl_fd", "acct", "sethostname", "setdomainname",
    "vhangup", "iopl", "ioperm", "uselib", "_sysctl", "nfsservctl",
)

# name -> number; (audit arch, x32 bit or 0)
_TABLES = {
    "x86_64": (0xC000003E, 0x40000000, {
        "ptrace": 101, "syslog": 103, "uselib": 134, "vhangup": 153, "pivot_root": 155,
        "_sysctl": 156, "adjtimex": 159, "chroot": 161, "acct": 163, "settimeofday": 164,
        "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168, "reboot": 169,
        "sethostname": 170, "setdomainname": 171, "iopl": 172, "ioperm": 173,
        "init_module": 175, "delete_module": 176, "quotactl": 179, "nfsservctl": 180,
        "lookup_dcookie": 212, "clock_settime": 227, "kexec_load": 246, "add_key": 248,
        "request_key": 249, "keyctl": 250, "migrate_pages": 256, "unshare": 272,
        "move_pages": 279, "perf_event_open": 298, "fanotify_init": 300,
        "name_to_handle_at": 303, "open_by_handle_at": 304, "clock_adjtime": 305,
        "setns": 308, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
        "finit_module": 313, "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
        "fsmount": 432, "fspick": 433, "pidfd_getfd": 438, "process_madvise": 440,
        "mount_setattr": 442, "quotactl_fd": 443,
        "clone": 56, "clone3": 435}),
    "aarch64": (0xC00000B7, 0, {
        "lookup_dcookie": 18, "umount2": 39, "mount": 40, "pivot_root": 41,
        "nfsservctl": 42, "chroot": 51, "vhangup": 58, "quotactl": 60, "acct": 89,
        "unshare": 97, "kexec_load": 104, "init_module": 105, "delete_module": 106,
        "clock_settime": 112, "syslog": 116, "ptrace": 117, "reboot": 142,
        "sethostname": 161, "setdomainname": 162, "settimeofday": 170, "adjtimex": 171,
        "add_key": 217, "request_key": 218, "keyctl": 219, "swapon": 224, "swapoff": 225,
        "migrate_pages": 238, "move_pages": 239, "perf_event_open": 241,
        "fanotify_init": 262, "name_to_handle_at": 264, "open_by_handle_at": 265,
        "clock_adjtime": 266, "setns": 268, "process_vm_readv": 270,
        "process_vm_writev": 271, "kcmp": 272, "finit_module": 273, "bpf": 280,
        "userfaultfd": 282, "kexec_file_load": 294, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
        "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
        "pidfd_getfd": 438, "process_madvise": 440, "mount_setattr": 442,
        "quotactl_fd": 443,
        "clone": 220, "clone3": 435}),
}
_MACHINES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}

BLOCKED = _BLOCKED_NAMES

# CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
# CLONE_NEWPID | CLONE_NEWNET (CLONE_NEWTIME's bit is part of clone()'s exit signal)
_CLONE_NEW = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 \
    | 0x40000000

# classic BPF opcodes and seccomp return values (linux/filter.h, linux/seccomp.h)
_LD_ABS_W, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06
_ALLOW, _KILL_PROCESS, _ERRNO = 0x7FFF0000, 0x80000000, 0x00050000
_NR, _ARCH, _ARG0 = 0, 4, 16  # offsets in struct seccomp_data (arg0: its low 32 bits)


def supported(machine=None):
    """Whether a filter exists for this machine's architecture."""
    return _MACHINES.get((machine or platform.machine()).lower()) is not None


def program(machine=None):
    """The filter as bytes (``struct sock_filter`` entries in native byte
    order), or ``None`` for an architecture without a table."""
    arch = _MACHINES.get((machine or platform.machine()).lower())
    if arch is None:
        return None
    audit, x32_bit, numbers = _TABLES[arch]
    code = []  # (opcode, jump-if-true label or 0, jump-if-false label or 0, k)

    def emit(op, k, jt=0, jf=0):
        code.append([op, jt, jf, k])

    emit(_LD_ABS_W, _ARCH)
    emit(_JEQ, audit, jf="kill")
    emit(_LD_ABS_W, _NR)
    if x32_bit:
        emit(_JGE, x32_bit, jt="kill")
    for name in _BLOCKED_NAMES:
        if name in numbers:
            emit(_JEQ, numbers[name], jt="deny")
    emit(_JEQ, numbers["clone3"], jt="enosys")
    emit(_JEQ, numbers["clone"], jt="clone")
    emit(_RET, _ALLOW)
    labels = {"clone": len(code)}
    emit(_LD_ABS_W, _ARG0)
    emit(_JSET, _CLONE_NEW, jt="deny")
    emit(_RET, _ALLOW)
    labels["deny"] = len(code)
    emit(_RET, _ERRNO | errno.EPERM)
    labels["enosys"] = len(code)
    emit(_RET, _ERRNO | errno.ENOSYS)
    labels["kill"] = len(code)
    emit(_RET, _KILL_PROCESS)
    out = bytearray()
    for index, (op, jt, jf, k) in enumerate(code):
        # BPF jumps are forward offsets from the next instruction, at most 255
        jt = labels[jt] - index - 1 if jt else 0
        jf = labels[jf] - index - 1 if jf else 0
        assert 0 <= jt < 256 and 0 <= jf < 256
        out += struct.pack("=HBBI", op, jt, jf, k)
    return bytes(out)
