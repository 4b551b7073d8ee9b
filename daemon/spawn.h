/* Starting a command inside a cgroup, in new namespaces if asked: clone3
 * with CLONE_INTO_CGROUP, so it never runs anywhere else. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The PATH a command gets when its environment has none. */
#define SPAWN_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef struct spawn_mount {
        char *destination;      /* inside the new root */
        char *type;
        char *source;
        unsigned long flags;    /* MS_* */
        char *data;             /* the options that are not flags */
        bool bind, readonly;
} spawn_mount;

typedef struct spawn_rlimit {
        int resource;
        unsigned long long soft, hard;
} spawn_rlimit;

typedef struct spawn_caps {
        uint64_t bounding, effective, permitted, inheritable, ambient;
} spawn_caps;

typedef struct spawn_spec {
        char *const *argv;      /* NULL-terminated; argv[0] is looked up in PATH */
        char *const *envp;      /* NULL-terminated */
        const char *cwd;        /* NULL: "/" */
        bool set_user;
        uid_t uid;
        gid_t gid;
        int ns_flags;           /* CLONE_NEW{PID,NS,UTS,IPC,NET,CGROUP} */
        const char *hostname;   /* with CLONE_NEWUTS */
        const char *rootfs;     /* NULL: the host's root */
        int cgroup_fd;          /* the cgroup to start in */
        int stdio[3];
        int join_pidfd;         /* -1, or a process whose namespaces to join (exec) */
        pid_t join_pid;         /* that process, for its root directory */
        /* OCI bundles: with MOUNTS set, they replace the default /proc, /dev, /sys. */
        const spawn_mount *mounts;
        size_t n_mounts;
        char *const *masked;
        size_t n_masked;
        char *const *readonly_paths;
        size_t n_readonly;
        bool root_readonly;
        bool no_new_privs;
        const spawn_rlimit *rlimits;
        size_t n_rlimits;
        const gid_t *groups;
        size_t n_groups;
        const spawn_caps *caps;  /* NULL: keep lmctld's */
        int oom_score_adj;
        bool set_oom_score_adj;
} spawn_spec;

/* Starts SP. Returns 0 with the pid and a pidfd once the command was
 * executed; or a negative errno for a failure of lmctld's own, with ERR
 * naming the step; or a positive 126/127 when the command itself could
 * not be executed (as shells report it), with ERR saying why. */
/* Raises lmctld's own open-file limit to its hard limit (1024 clients and
 * their descriptors need more than the usual soft 1024), while commands it
 * starts keep the limit lmctld was started with. Call once at start. */
void spawn_raise_nofile(void);

int spawn_process(const spawn_spec *sp, pid_t *ret_pid, int *ret_pidfd, char *err, size_t errlen);
