/* Who is at the other end of a connection, taken from the kernel so that it
 * cannot change between the check and the use, and failing closed.
 *
 * At accept lmctld takes the peer's credentials (SO_PEERCRED) and a pidfd
 * of the peer process itself (SO_PEERPIDFD where the kernel has it, Linux
 * 6.5; before, pidfd_open of the peer's pid), opens its /proc directory,
 * and only then checks through the pidfd that the process is still alive:
 * what is read through that directory afterwards (its cgroup, groups,
 * capabilities, namespaces) is about the peer and no process that took
 * its pid since. A peer that has gone, whose credentials changed since it
 * connected, or whose files cannot be read, is refused. Both descriptors
 * are kept for the connection's life: a command started for the caller
 * enters its namespaces and root through them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lmct-name.h"
#include "quota.h"

/* The namespaces a caller's command may be started in (its own). */
enum { PEER_NS_MNT, PEER_NS_UTS, PEER_NS_IPC, PEER_NS_NET, PEER_NS_PID, PEER_NS_CGROUP, PEER_NS_USER, _PEER_NS_MAX };

/* What a process is allowed, from its /proc/PID/status (and attr/current):
 * what a command started in its name may have at most. */
typedef struct peer_creds {
        uid_t uid, gid;          /* effective */
        gid_t *groups;           /* supplementary groups */
        size_t n_groups;
        uint64_t cap_bnd, cap_prm, cap_eff, cap_inh, cap_amb;
        bool no_new_privs;
        /* Confined in ways a command could not carry over: a seccomp
         * filter (or strict mode), or a security label (AppArmor, SELinux)
         * other than lmctld's own. */
        bool seccomp, foreign_label;
} peer_creds;

/* Reads the credentials of the process whose /proc directory is PROCFD. */
int peer_read_creds(int procfd, peer_creds *cr);
void peer_creds_done(peer_creds *cr);

typedef struct caller {
        pid_t pid;
        uid_t uid;
        gid_t gid;
        /* The container the caller's process lives in ("a/b"), or "" when it
         * is outside lmctld's tree (unconfined). */
        char view[LMCT_NAME_MAX + 1];
        /* Root outside every container, in lmctld's user namespace, with
         * CAP_SYS_ADMIN: may give a command any option (another user, a
         * root filesystem, a bundle, namespaces of its own). */
        bool privileged;
        int pidfd, procfd;       /* -1 when made up (the fuzzer) */
        peer_creds creds;        /* as at accept */
        uint64_t ns[_PEER_NS_MAX];  /* inode of each namespace; 0 unknown */
        quota *q;                /* the principal its bounds are counted against */
} caller;

/* Fills C for the peer of connected socket FD, as seen from lmctld whose
 * cgroup tree is at ROOT_CGPATH (as /proc/PID/cgroup shows it). Returns 0,
 * or a negative errno with WHY saying what could not be established. */
int caller_from_socket(int fd, const char *root_cgpath, caller *c, char *why, size_t len);
/* A caller that connected from nowhere (the fuzzer): UID, at VIEW. */
int caller_made_up(uid_t uid, gid_t gid, const char *view, bool privileged, caller *c);
/* Sets C->q: the principal KEY its bounds are counted against (quota.h). */
int caller_attach_quota(caller *c, const char *key);
/* Whether C is root of what it sees: root on the host (privileged), or
 * uid 0 inside a container, whose view is its whole world. */
bool caller_is_admin(const caller *c);
void caller_done(caller *c);

/* The CLONE_NEW* flags of the namespaces in which C differs from lmctld. */
int caller_ns_differ(const caller *c);
/* The namespaces of the process whose /proc directory is PROCFD, into NS. */
int peer_read_ns(int procfd, uint64_t ns[_PEER_NS_MAX]);
/* lmctld's own namespaces (read once). */
const uint64_t *peer_self_ns(void);

/* The container a process is in, from the text of its /proc/PID/cgroup:
 * the longest prefix of container names below ROOT_CGPATH, into NAME
 * ("" when outside lmctld's tree). -ENOENT when the text has no cgroup v2
 * line. */
int peer_position(const char *cgroup_text, const char *root_cgpath, char *name, size_t len);
/* The cgroup v2 path in that text ("0::PATH"), LEN bytes; NULL if none. */
const char *peer_cgroup_path(const char *cgroup_text, size_t *ret_len);
/* Whether the process behind PIDFD is still alive (not yet reaped). */
bool pidfd_alive(int pidfd);
int pidfd_open_(pid_t pid);
