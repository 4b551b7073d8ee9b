#include "peer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroup.h"
#include "util.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

/* Supplementary groups taken from a caller; more are not carried over
 * (fewer groups is never more access). */
#define GROUPS_MAX 1024

static const struct {
        const char *file;
        int flag;
} ns_files[_PEER_NS_MAX] = {
        [PEER_NS_MNT] = { "mnt", CLONE_NEWNS },       [PEER_NS_UTS] = { "uts", CLONE_NEWUTS },
        [PEER_NS_IPC] = { "ipc", CLONE_NEWIPC },      [PEER_NS_NET] = { "net", CLONE_NEWNET },
        [PEER_NS_PID] = { "pid", CLONE_NEWPID },      [PEER_NS_CGROUP] = { "cgroup", CLONE_NEWCGROUP },
        [PEER_NS_USER] = { "user", CLONE_NEWUSER },
};

int pidfd_open_(pid_t pid) {
        return (int)syscall(SYS_pidfd_open, pid, 0);
}

bool pidfd_alive(int pidfd) {
        struct pollfd p = { .fd = pidfd, .events = POLLIN };

        /* A pidfd polls readable once its process has exited. */
        return poll(&p, 1, 0) == 0;
}

const char *peer_cgroup_path(const char *text, size_t *ret_len) {
        const char *line = text;

        /* The cgroup v2 line: "0::PATH". */
        while (line && strncmp(line, "0::", 3) != 0) {
                line = strchr(line, '\n');
                if (line)
                        line++;
        }
        if (!line)
                return NULL;
        *ret_len = strcspn(line + 3, "\n");
        return line + 3;
}

int peer_position(const char *text, const char *root_cgpath, char *name, size_t len) {
        size_t rl = strlen(root_cgpath), used = 0, plen;
        const char *path = peer_cgroup_path(text, &plen), *p;

        if (!path)
                return -ENOENT;
        name[0] = '\0';
        if (plen <= rl || strncmp(path, root_cgpath, rl) != 0 || path[rl] != '/')
                return 0;
        /* The longest prefix of container names: it stops at the leaf. */
        path += rl + 1;
        plen -= rl + 1;
        for (p = path; p < path + plen;) {
                size_t l = strcspn(p, "/\n");
                if (lmct_name_check(p, l, 1, 0, NULL, NULL, 0) != 1)
                        break;
                used = (size_t)(p + l - path);
                p += l;
                if (*p == '/')
                        p++;
        }
        if (used >= len)
                return -ENAMETOOLONG;
        memcpy(name, path, used);
        name[used] = '\0';
        return 0;
}

int peer_read_ns(int procfd, uint64_t ns[_PEER_NS_MAX]) {
        for (int i = 0; i < _PEER_NS_MAX; i++) {
                char file[32];
                struct stat sb;
                snprintf(file, sizeof file, "ns/%s", ns_files[i].file);
                if (fstatat(procfd, file, &sb, 0) < 0)
                        return negerrno();
                ns[i] = (uint64_t)sb.st_ino;
        }
        return 0;
}

const uint64_t *peer_self_ns(void) {
        static uint64_t self[_PEER_NS_MAX];
        static bool done;

        if (!done) {
                _cleanup_close_ int fd = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                done = fd >= 0 && peer_read_ns(fd, self) == 0;
        }
        return self;
}

int caller_ns_differ(const caller *c) {
        const uint64_t *self = peer_self_ns();
        int flags = 0;

        for (int i = 0; i < _PEER_NS_MAX; i++)
                if (c->ns[i] && c->ns[i] != self[i])
                        flags |= ns_files[i].flag;
        return flags;
}

static uint64_t hex_field(const char *status, const char *key) {
        const char *p = strstr(status, key);

        return p ? strtoull(p + strlen(key), NULL, 16) : 0;
}

/* The security label of the process whose /proc directory is DIRFD ("" if
 * it has none). */
static void read_label(int dirfd, char *buf, size_t len) {
        _cleanup_free_ char *text = NULL;

        buf[0] = '\0';
        if (read_all_at(dirfd, "attr/current", 4096, &text, NULL) == 0)
                snprintf(buf, len, "%.*s", (int)strcspn(text, "\n"), text);
}

static const char *self_label(void) {
        static char label[256];
        static bool done;

        if (!done) {
                _cleanup_close_ int fd = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd >= 0)
                        read_label(fd, label, sizeof label);
                done = true;
        }
        return label;
}

int peer_read_creds(int procfd, peer_creds *cr) {
        _cleanup_free_ char *status = NULL;
        const char *u, *g, *gr;
        unsigned ru, eu, su, rg, eg, sg;
        char label[256];
        int r;

        *cr = (peer_creds){ 0 };
        r = read_all_at(procfd, "status", 1 << 20, &status, NULL);
        if (r < 0)
                return r;
        u = strstr(status, "\nUid:");
        g = strstr(status, "\nGid:");
        gr = strstr(status, "\nGroups:");
        if (!u || !g || sscanf(u + 5, "%u %u %u", &ru, &eu, &su) != 3 || sscanf(g + 5, "%u %u %u", &rg, &eg, &sg) != 3)
                return -EIO;
        cr->uid = eu;
        cr->gid = eg;
        if (gr) {
                const char *p = gr + 8, *end = p + strcspn(p, "\n");
                cr->groups = calloc(GROUPS_MAX, sizeof *cr->groups);
                if (!cr->groups)
                        return -ENOMEM;
                while (p < end && cr->n_groups < GROUPS_MAX) {
                        char *e;
                        unsigned long v = strtoul(p, &e, 10);
                        if (e == p)
                                break;
                        cr->groups[cr->n_groups++] = (gid_t)v;
                        p = e;
                }
        }
        cr->cap_inh = hex_field(status, "\nCapInh:");
        cr->cap_prm = hex_field(status, "\nCapPrm:");
        cr->cap_eff = hex_field(status, "\nCapEff:");
        cr->cap_bnd = hex_field(status, "\nCapBnd:");
        cr->cap_amb = hex_field(status, "\nCapAmb:");
        cr->no_new_privs = strstr(status, "\nNoNewPrivs:\t1") != NULL;
        cr->seccomp = hex_field(status, "\nSeccomp:") != 0;
        read_label(procfd, label, sizeof label);
        cr->foreign_label = strcmp(label, self_label()) != 0;
        return 0;
}

void peer_creds_done(peer_creds *cr) {
        free(cr->groups);
        *cr = (peer_creds){ 0 };
}

/* The pidfd of the peer of FD: the peer itself where the kernel can say
 * (SO_PEERPIDFD, Linux 6.5), and fails for a peer that has gone; on older
 * kernels the process that holds its pid now, checked by the caller. */
static int peer_pidfd(int fd, pid_t pid) {
        int pidfd = -1;
        socklen_t sl = sizeof pidfd;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &sl) == 0 && pidfd >= 0)
                return pidfd;
        if (errno != ENOPROTOOPT)
                return negerrno();
        pidfd = pidfd_open_(pid);
        return pidfd < 0 ? negerrno() : pidfd;
}

/* The peer of FD: its credentials, a pidfd of it and its /proc directory,
 * checked to be the same process. */
static int peer_open(int fd, caller *c, char *why, size_t len) {
        struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
        socklen_t cl = sizeof cred;
        char path[32];

        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
                snprintf(why, len, "its credentials cannot be read: %s", strerror(errno));
                return negerrno();
        }
        c->pid = cred.pid;
        c->uid = cred.uid;
        c->gid = cred.gid;
        if (cred.pid <= 0) {
                snprintf(why, len, "its process is not visible from lmctld's pid namespace");
                return -ESRCH;
        }
        c->pidfd = peer_pidfd(fd, cred.pid);
        if (c->pidfd == -EMFILE || c->pidfd == -ENFILE || c->pidfd == -ENOMEM) {
                snprintf(why, len, "lmctld has no descriptor left for it");
                return c->pidfd;
        }
        if (c->pidfd < 0) {
                snprintf(why, len, "its process %d has already gone", (int)cred.pid);
                return -ESRCH;
        }
        snprintf(path, sizeof path, "/proc/%d", (int)cred.pid);
        c->procfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (c->procfd < 0 && (errno == EMFILE || errno == ENFILE)) {
                snprintf(why, len, "lmctld has no descriptor left for it");
                return negerrno();
        }
        /* Alive after the directory was opened: the directory is the
         * pidfd's process, and so is all that is read through it. */
        if (c->procfd < 0 || !pidfd_alive(c->pidfd)) {
                snprintf(why, len, "its process %d has already gone", (int)cred.pid);
                return -ESRCH;
        }
        return 0;
}

int caller_from_socket(int fd, const char *root_cgpath, caller *c, char *why, size_t len) {
        _cleanup_free_ char *cgroup = NULL;
        int r;

        *c = (caller){ .pidfd = -1, .procfd = -1 };
        r = peer_open(fd, c, why, len);
        if (r < 0)
                return r;
        r = read_all_at(c->procfd, "cgroup", 64 << 10, &cgroup, NULL);
        if (r >= 0)
                r = peer_read_creds(c->procfd, &c->creds);
        if (r < 0) {
                snprintf(why, len, "the files of its process %d cannot be read: %s", (int)c->pid, strerror(-r));
                return r;
        }
        r = peer_position(cgroup, root_cgpath, c->view, sizeof c->view);
        if (r < 0) {
                snprintf(why, len, "its position in the cgroup tree cannot be established");
                return r == -ENOENT ? -EPERM : r;
        }
        /* Its effective ids must still be those it connected with. */
        if (c->creds.uid != c->uid || c->creds.gid != c->gid) {
                snprintf(why, len, "its credentials changed since it connected (uid %u, now %u)", (unsigned)c->uid,
                         (unsigned)c->creds.uid);
                return -EPERM;
        }
        r = peer_read_ns(c->procfd, c->ns);
        if (r < 0) {
                snprintf(why, len, "its namespaces cannot be read: %s", strerror(-r));
                return r;
        }
        /* Read, and still the same process: the answers are about it. */
        if (!pidfd_alive(c->pidfd)) {
                snprintf(why, len, "its process %d has gone", (int)c->pid);
                return -ESRCH;
        }
        c->privileged = c->uid == 0 && !c->view[0] && c->ns[PEER_NS_USER] == peer_self_ns()[PEER_NS_USER] &&
                        (c->creds.cap_eff & (UINT64_C(1) << CAP_SYS_ADMIN));
        return 0;
}

int caller_made_up(uid_t uid, gid_t gid, const char *view, bool privileged, caller *c) {
        *c = (caller){ .pid = getpid(), .uid = uid, .gid = gid, .pidfd = -1, .procfd = -1,
                       .privileged = privileged && uid == 0 && !*view };
        snprintf(c->view, sizeof c->view, "%s", view);
        return 0;
}

int caller_attach_quota(caller *c, const char *key) {
        c->q = quota_get(key, c->privileged);
        return c->q ? 0 : -ENOMEM;
}

bool caller_is_admin(const caller *c) {
        return c->privileged || (c->uid == 0 && c->view[0]);
}

void caller_done(caller *c) {
        if (c->pidfd >= 0)
                close(c->pidfd);
        if (c->procfd >= 0)
                close(c->procfd);
        peer_creds_done(&c->creds);
        quota_unref(c->q);
        *c = (caller){ .pidfd = -1, .procfd = -1 };
}
