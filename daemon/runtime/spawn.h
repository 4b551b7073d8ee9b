/* Starting a command inside a cgroup, in new or joined namespaces: clone3
 * with CLONE_INTO_CGROUP, so it never runs anywhere else.
 *
 * Starting never waits in lmctld: spawn_start returns once the child is
 * cloned, with a pipe the child reports a failure on before exec (and that
 * closes when it execs); the caller watches that pipe in its loop, with a
 * deadline, and reads the outcome with spawn_outcome. A child that is
 * frozen (a paused container) or stuck on a path someone named never
 * stalls lmctld: only its own start. */
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

/* A device node an OCI bundle asks for (linux.devices), made in the new
 * root with mknod. */
typedef struct spawn_device {
        char *path;             /* inside the new root */
        char type;              /* 'c', 'b' or 'p' (a FIFO) */
        unsigned major, minor;
        unsigned mode;          /* permission bits */
        uid_t uid;
        gid_t gid;
} spawn_device;

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
        const char *cwd;        /* NULL: "/"; entered last, as the command's user */
        bool set_user;
        uid_t uid;
        gid_t gid;
        int ns_flags;           /* new namespaces: CLONE_NEW{PID,NS,UTS,IPC,NET,CGROUP} */
        const char *hostname;   /* with CLONE_NEWUTS */
        const char *rootfs;     /* NULL: the host's root */
        int cgroup_fd;          /* the cgroup to start in */
        int stdio[3];
        /* Namespaces to join (exec: those of the container's command; a
         * caller without privilege: its own): JOIN_NS of the process behind
         * JOIN_PIDFD (CLONE_NEWPID: the command is born there), and the
         * root directory of the process whose /proc directory is
         * ROOT_PROCFD. -1 / 0: none. */
        int join_pidfd;
        int join_ns;
        int root_procfd;
        /* OCI bundles: with MOUNTS set, they replace the default /proc, /dev, /sys. */
        const spawn_mount *mounts;
        size_t n_mounts;
        const char *bundle_dir; /* relative bind sources are below it */
        const spawn_device *devices; /* made after /dev, before the masks */
        size_t n_devices;
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

/* Raises lmctld's own open-file limit to NEED (or as far as the hard limit
 * lets it), while commands it starts keep the limit lmctld was started
 * with. Returns the limit lmctld has now. Call once at start. */
unsigned long spawn_raise_nofile(unsigned long need);

/* Starts SP. A helper, sharing lmctld's memory and (at first) its
 * descriptor table while lmctld's thread waits for it (vfork-like), takes
 * exactly the descriptors the command needs (so that the command never
 * holds a copy of any other of lmctld's, whose close could wait on a
 * client), enters the pid namespace it is to be born in, clones it into
 * its cgroup as lmctld's own child, and exits: microseconds, and nothing
 * it does waits on a client. Returns 0 with the command's pid, a pidfd,
 * and its channel (non-blocking), which the caller watches to learn that
 * it executed; or a negative errno for a failure of lmctld's own, with
 * ERR naming the step. SP's descriptors may be closed once this returns. */
int spawn_start(const spawn_spec *sp, pid_t *ret_pid, int *ret_pidfd, int *ret_errfd, char *err, size_t errlen);
/* What was said on the channel ERRFD: 0 once the command executed (the
 * channel closed); a positive 126/127 when the command itself could not
 * be executed (as shells report it), with ERR saying why; a negative errno
 * when setting it up failed, with ERR naming the step; -EAGAIN when there
 * is nothing new. (SPAWN_TOOK and SPAWN_BORN are the helper's, read by
 * spawn_start.) */
#define SPAWN_TOOK 1000
#define SPAWN_BORN 1001
int spawn_outcome(int errfd, pid_t *ret_pid, int *ret_pidfd, char *err, size_t errlen);

/* How lmctld starts commands (the fuzzer puts a stand-in here). */
typedef int (*spawn_fn)(const spawn_spec *sp, pid_t *ret_pid, int *ret_pidfd, int *ret_errfd, char *err,
                        size_t errlen);

/* The root filesystem of a command (spawn-root.c), in the child: every
 * path below the root is resolved inside it (openat2 RESOLVE_IN_ROOT) and
 * mounted on by descriptor, so that a symlink in an image never leads a
 * mount or a mkdir outside. Returns 0 or -errno with STEP naming what
 * failed. */
int spawn_setup_root(const spawn_spec *sp, char *step, size_t steplen);
