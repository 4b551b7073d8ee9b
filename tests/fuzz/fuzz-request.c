/* libFuzzer: a client's bytes through lmctld itself: the server (frames,
 * buffers, connection state) and dispatch (every verb, the manager, limit
 * planning, OCI bundle parsing, runs), against a throwaway directory tree
 * that stands in for cgroupfs, never the host's cgroups. Commands are
 * "started" by a stand-in put in manager->spawn: a child that exits at
 * once, so that a run's whole life (its start, its exit, --rm, signals,
 * its requester hanging up) is exercised without clone3 into a cgroup.
 *
 * The first byte of an input picks the caller: bit 0, root or another uid;
 * bit 2, outside every container or confined to container "fz"; bit 3,
 * privileged (root outside, with its capabilities) or not; and bit 1
 * whether three descriptors (/dev/null) travel with the first bytes, as
 * lmctl run sends its stdio. The rest is the stream the client sends
 * before it hangs up. */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "access.h"
#include "cgroup.h"
#include "events.h"
#include "log.h"
#include "manager.h"
#include "release.h"
#include "runs.h"
#include "server.h"
#include "spawn.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct event_base *base;
static manager *m;
static server *srv;
static events *ev;
static char root[64];
static int null_fd;

/* A command that exits at once: its channel closes empty ("executed"). */
static int fuzz_spawn(const spawn_spec *sp, pid_t *ret_pid, int *ret_pidfd, int *ret_errfd, char *err, size_t errlen) {
        int p[2], pidfd;
        pid_t pid;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) < 0) {
                snprintf(err, errlen, "socketpair: %m");
                return -errno;
        }
        pid = fork();
        if (pid == 0)
                _exit(sp->argv && sp->argv[0] ? (unsigned char)sp->argv[0][0] % 4 : 0);
        close(p[1]);
        pidfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
        if (pidfd < 0) {
                close(p[0]);
                snprintf(err, errlen, "fork: %m");
                return -EAGAIN;
        }
        fcntl(p[0], F_SETFL, O_NONBLOCK);
        *ret_pid = pid;
        *ret_pidfd = pidfd;
        *ret_errfd = p[0];
        return 0;
}

static void write_file(const char *name, const char *value) {
        char path[128];
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", root, name);
        f = fopen(path, "we");
        if (!f)
                abort();
        fputs(value, f);
        fclose(f);
}

static void start(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int lfd;

        int r = manager_new(base, root, "/lmct-fuzz", 8, &m);

        if (r < 0) {
                fprintf(stderr, "fuzz-request: cannot set up a manager on %s: %s\n", root, strerror(-r));
                abort();
        }
        m->log_dir = strdup(root);
        m->spawn = fuzz_spawn;
        if (events_new(m, runs_waiting_in, &ev) < 0 || releaser_new(base, &m->releaser) < 0)
                abort();
        /* The container a confined caller lives in. */
        {
                status st;
                if (manager_create(m, NULL, "fz", NULL, false, NULL, NULL, &st) < 0)
                        abort();
        }
        /* The listener (an autobound abstract address) is never connected
         * to: connections are added directly. */
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa_family_t)) < 0 || listen(lfd, 1) < 0)
                abort();
        if (server_new(base, m, ev, lfd, &srv) < 0)
                abort();
}

static void stop(void) {
        runs_free_all(m);
        srv = server_free(srv);
        ev = events_free(ev);
        m->releaser = releaser_free(m->releaser);
        m = manager_free(m);
        while (waitpid(-1, NULL, WNOHANG) > 0)
                ;
}

static int rm_child(int dirfd, const char *name, void *userdata) {
        (void)userdata;
        return cg_rmtree(dirfd, name, NULL, 0) < 0 ? 0 : 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void)argc;
        (void)argv;
        log_max_level = getenv("LMCT_FUZZ_LOG") ? LOG_DEBUG : -1;
        signal(SIGPIPE, SIG_IGN);
        snprintf(root, sizeof root, "/tmp/lmct-fuzz-XXXXXX");
        if (!mkdtemp(root))
                abort();
        write_file("cgroup.controllers", "cpuset cpu io memory pids\n");
        write_file("cgroup.subtree_control", "\n");
        base = event_base_new();
        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (!base || null_fd < 0)
                abort();
        start();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        caller who;
        char key[LMCT_NAME_MAX + 32];
        status ignored;
        uid_t uid = 0;
        char sink[65536];
        size_t off = 1;
        int sv[2], done = 0;

        if (size < 1)
                return 0;
        if (data[0] & 1)
                uid = 1000 + (data[0] >> 4);
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
                abort();
        caller_made_up(uid, uid, (data[0] & 4) ? "fz" : "", (data[0] & 8) != 0, &who);
        access_principal(m, &who, key, sizeof key);
        if (caller_attach_quota(&who, key) < 0 || quota_take(who.q, Q_CONNS, 1) < 0)
                abort();
        server_add_conn(srv, sv[0], &who);
        /* Send, serve, read answers; then hang up and let the server see it. */
        if ((data[0] & 2) && size > 1) {
                int fds[3] = { null_fd, null_fd, null_fd };
                char cbuf[CMSG_SPACE(sizeof fds)] = { 0 };
                struct iovec iov = { (void *)(data + 1), 1 };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
                                     .msg_controllen = sizeof cbuf };
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof fds);
                memcpy(CMSG_DATA(cm), fds, sizeof fds);
                if (sendmsg(sv[1], &mh, 0) == 1)
                        off = 2;
        }
        for (int round = 0; round < 10000 && !done; round++) {
                if (off < size) {
                        ssize_t n = write(sv[1], data + off, size - off);
                        if (n > 0)
                                off += (size_t)n;
                        if (off == size)
                                shutdown(sv[1], SHUT_WR);
                } else if (size == 1)
                        shutdown(sv[1], SHUT_WR);
                event_base_loop(base, EVLOOP_NONBLOCK);
                for (;;) {
                        ssize_t n = read(sv[1], sink, sizeof sink);
                        if (n == 0)
                                done = 1;
                        if (n <= 0)
                                break;
                }
                if (off == size && server_connections(srv) == 0)
                        done = 1;
        }
        close(sv[1]);
        for (int i = 0; i < 4; i++)
                event_base_loop(base, EVLOOP_NONBLOCK);
        /* Start every input from a tree with "fz" alone. */
        if (manager_count(m) != 1 || manager_exists(m, "fz", &ignored) != 1 || server_connections(srv) > 0) {
                int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                stop();
                if (fd < 0 || cg_for_each_child(fd, rm_child, NULL) < 0)
                        abort();
                close(fd);
                write_file("cgroup.subtree_control", "\n");
                start();
        }
        return 0;
}
