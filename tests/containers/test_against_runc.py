"""The same bundle run by Debian's runc and by vmstack-runc: what the process sees of itself must be
the same (capability sets, no_new_privs, seccomp mode, ids, groups, umask, rlimits, hostname,
mounts, namespaces present, cwd and environment)."""

from __future__ import annotations

import pytest

PROBE = ("grep -E '^(Cap|NoNewPrivs|Seccomp:|Uid|Gid|Groups)' /proc/self/status; umask; ulimit -n; ulimit -Hn; "
         "hostname; pwd; env | sort; awk '{print $2, $3}' /proc/self/mounts | sort; ls /proc/self/ns | sort; "
         "ls -la /dev | awk '{print $1, $NF}' | sort")


def seccomp_profile(config: dict) -> None:
    config["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                                  "syscalls": [{"names": ["swapon"], "action": "SCMP_ACT_ERRNO"}]}


def non_root_user(config: dict) -> None:
    config["process"]["user"] = {"uid": 1000, "gid": 1000, "umask": 0o27, "additionalGids": [5, 100]}
    config["process"]["cwd"] = "/tmp"
    config["process"]["env"].append("EXTRA=1")


def more_caps(config: dict) -> None:
    caps = ["CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_ADMIN", "CAP_KILL"]
    config["process"]["capabilities"] = {"bounding": caps, "effective": caps[:2], "permitted": caps,
                                         "inheritable": caps[:1], "ambient": caps[:1]}
    config["process"]["noNewPrivileges"] = False
    config["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 768}]


VARIANTS = {"default": None, "seccomp": seccomp_profile, "non-root user": non_root_user, "capabilities": more_caps}


@pytest.mark.parametrize("variant", VARIANTS)
def test_process_sees_the_same(variant, bundle, vmstack_runc, runc):
    def edit(config: dict) -> None:
        config["process"]["args"] = ["sh", "-c", PROBE]
        if VARIANTS[variant]:
            VARIANTS[variant](config)
    path = bundle(edit)
    ours = vmstack_runc("run", "--bundle", str(path), "same1")
    theirs = runc("run", "--bundle", str(path), "same1")
    assert theirs.returncode == 0, theirs.stderr
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout
