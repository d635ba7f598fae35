"""OS-level virtualization: an OCI runtime (`vmstack-runc`) that applies a parsed config.json through
one module per concern: spec, namespaces, mounts, cgroups, seccomp, capabilities, process, hooks,
state, and runc's command line in runc_cli."""
