/* The container tree's home on a systemd host.
 *
 * systemd's delegation contract: one writer per cgroup, no cgroups of our
 * own at the root of the hierarchy, no processes in inner nodes. lmctld
 * lives in its service (lmctld.service, never written to); the containers
 * live in a scope of their own, created through systemd's D-Bus API with
 * Delegate=yes, so it is lmctld's to write and outlives any restart of the
 * service. A scope ends when its last process does, so a keeper process
 * (which does nothing but exist) holds it, in a leaf of its own:
 *
 *   /sys/fs/cgroup/system.slice/
 *   ├── lmctld.service/          lmctld (systemd's)
 *   └── lmct.scope/              Delegate=yes: lmctld's root
 *       ├── _keeper/             the keeper
 *       └── containerA/
 *           ├── _self/           containerA's processes
 *           └── sub1/
 *
 * Unlike a subgroup of the service itself, this works on systemd 252 (no
 * DelegateSubgroup=): the service's cgroup never becomes an inner node, so
 * the kernel can always start the next lmctld in it. */
#pragma once

/* Finds or creates scope UNIT and makes sure its keeper runs. On success
 * *RET_PATH is the scope's directory under the cgroup2 mount and
 * *RET_KEEPER_FD the keeper's leaf. Logs its errors. */
int scope_setup(const char *unit, char **ret_path, int *ret_keeper_fd);

/* Starts a new keeper in the leaf KFD if none runs there. */
int scope_keeper_ensure(int kfd);
