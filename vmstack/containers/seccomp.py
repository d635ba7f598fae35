"""The spec's linux.seccomp profile compiled and loaded through libseccomp (ctypes on libseccomp.so.2):
default action, architectures, per-syscall rules with argument comparisons, errnoRet, and flags."""

from __future__ import annotations

import ctypes
import errno as errnos

TYPE_CHECKING = False  # typing costs more than a whole `start`: annotations only
if TYPE_CHECKING:
    from typing import Any

ACTIONS = {
    "SCMP_ACT_KILL": 0x00000000, "SCMP_ACT_KILL_THREAD": 0x00000000, "SCMP_ACT_KILL_PROCESS": 0x80000000,
    "SCMP_ACT_TRAP": 0x00030000, "SCMP_ACT_ERRNO": 0x00050000, "SCMP_ACT_TRACE": 0x7FF00000,
    "SCMP_ACT_LOG": 0x7FFC0000, "SCMP_ACT_ALLOW": 0x7FFF0000, "SCMP_ACT_NOTIFY": 0x7FC00000,
}
OPERATORS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4, "SCMP_CMP_GE": 5,
             "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
ARCHES = {"SCMP_ARCH_X86": 0x40000003, "SCMP_ARCH_X86_64": 0xC000003E, "SCMP_ARCH_X32": 0x4000003E,
          "SCMP_ARCH_ARM": 0x40000028, "SCMP_ARCH_AARCH64": 0xC00000B7, "SCMP_ARCH_RISCV64": 0xC00000F3}
FLAG_ATTRIBUTES = {"SECCOMP_FILTER_FLAG_LOG": 6, "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 7}
LIBSECCOMP = "libseccomp.so.2"  # its soname (ctypes.util.find_library would import subprocess and more)
SCMP_FLTATR_CTL_NNP = 3
SCMP_FLTATR_CTL_TSYNC = 4
NR_SCMP_ERROR = -1


class SeccompError(Exception):
    """The profile cannot be compiled or loaded."""


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


def _library() -> ctypes.CDLL:
    try:
        lib = ctypes.CDLL("libseccomp.so.2")
    except OSError:  # another soname: ask the (slower) library search
        lib = ctypes.CDLL(LIBSECCOMP)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_arch_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(_ArgCmp)]
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


def _action(name: str, errno_ret: int | None, default_errno: int = errnos.EPERM) -> int:
    if name not in ACTIONS:
        raise SeccompError(f"invalid seccomp action {name!r}")
    value = ACTIONS[name]
    if name == "SCMP_ACT_ERRNO":
        value |= (errno_ret if errno_ret is not None else default_errno) & 0xFFFF
    elif name == "SCMP_ACT_TRACE":
        value |= (errno_ret if errno_ret is not None else errnos.EPERM) & 0xFFFF
    return value


class Filter:
    """A compiled profile, ready to load as the very last step before execve."""

    def __init__(self, profile: dict[str, Any], no_new_privileges: bool):
        if profile.get("listenerPath") or any(s.get("action") == "SCMP_ACT_NOTIFY"
                                              for s in profile.get("syscalls") or []):
            raise SeccompError("seccomp notify (SCMP_ACT_NOTIFY, listenerPath) is not supported by vmstack-runc")
        self.lib = _library()
        default_errno = profile.get("defaultErrnoRet")
        self.ctx = self.lib.seccomp_init(_action(profile.get("defaultAction", ""), default_errno))
        if not self.ctx:
            raise SeccompError("seccomp_init failed")
        self._check(self.lib.seccomp_attr_set(self.ctx, SCMP_FLTATR_CTL_NNP, int(no_new_privileges)), "attr")
        for flag in profile.get("flags") or []:
            if flag not in FLAG_ATTRIBUTES:
                raise SeccompError(f"seccomp flag {flag!r} is not supported")
            self._check(self.lib.seccomp_attr_set(self.ctx, FLAG_ATTRIBUTES[flag], 1), f"flag {flag}")
        for arch in profile.get("architectures") or []:
            if arch not in ARCHES:
                raise SeccompError(f"invalid seccomp architecture {arch!r}")
            result = self.lib.seccomp_arch_add(self.ctx, ARCHES[arch])
            if result not in (0, -errnos.EEXIST):
                self._check(result, f"adding architecture {arch}")
        for rule in profile.get("syscalls") or []:
            self._add_rule(rule)

    def _check(self, result: int, what: str) -> None:
        if result < 0:
            raise SeccompError(f"seccomp {what}: {errnos.errorcode.get(-result, -result)}")

    def _add_rule(self, rule: dict[str, Any]) -> None:
        action = _action(rule.get("action", ""), rule.get("errnoRet"))
        args = rule.get("args") or []
        for name in rule.get("names") or []:
            number = self.lib.seccomp_syscall_resolve_name(name.encode())
            if number == NR_SCMP_ERROR:
                continue  # unknown to this architecture: ignored, as runc does
            indices = [a.get("index", 0) for a in args]
            # libseccomp wants one comparison per argument index in a rule; repeated indices become
            # separate rules (any of them matching applies the action).
            groups = [args] if len(set(indices)) == len(indices) else [[a] for a in args]
            for group in groups or [[]]:
                cmps = (_ArgCmp * max(len(group), 1))()
                for i, arg in enumerate(group):
                    if arg.get("op") not in OPERATORS:
                        raise SeccompError(f"invalid seccomp operator {arg.get('op')!r}")
                    cmps[i] = _ArgCmp(arg.get("index", 0), OPERATORS[arg["op"]], arg.get("value", 0),
                                      arg.get("valueTwo", 0))
                result = self.lib.seccomp_rule_add_array(self.ctx, action, number, len(group), cmps)
                if result == -errnos.EACCES:
                    continue  # the rule's action equals the default action: redundant, as runc allows
                self._check(result, f"rule for {name}")

    def load(self) -> None:
        self._check(self.lib.seccomp_load(self.ctx), "load")
        self.lib.seccomp_release(self.ctx)
