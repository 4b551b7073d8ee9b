/* What a hostile tenant does to lmctld, for t-tenant.sh: each subcommand
 * is one attack, prints what it got (one line a check can match), and
 * where the attack is holding something, keeps holding it until killed.
 *
 *   lmct-attack linger SOCK version|run|queued
 *       a TCP socket whose close() waits (SO_LINGER, unsent data) sent
 *       to lmctld with a request that takes no descriptors, as the stdio
 *       of a run that fails, or queued behind a frame that ends the
 *       connection; lmctld holds the last reference
 *   lmct-attack orphan SOCK GO READY OUT
 *       once file GO exists, a child connects and exits (the test has
 *       stopped lmctld, so it is gone before lmctld accepts); READY says
 *       so, and the parent asks "list -r /" over that connection, writing
 *       what came back to OUT
 *   lmct-attack hold SOCK N                 N connections, each answered once, held
 *   lmct-attack connect SOCK N              N connections, never used, held
 *   lmct-attack triggers SOCK NAME N        up to N PSI triggers on NAME
 *   lmct-attack thresholds SOCK NAME N      up to N memory thresholds on NAME
 *   lmct-attack detach SOCK NAME N          up to N detached commands in NAME
 *   lmct-attack nonreader SOCK NAME CONNS REQS
 *       CONNS connections sending REQS "list -r NAME" each, never reading
 *   lmct-attack uaf SOCK NAME
 *       a subscriber (NAME and its children) with a PSI trigger on NAME
 *       whose queue overflowed with the events of children made and
 *       destroyed, was drained, and whose reading side is then shut: the
 *       next event, the trigger's, fails to send its "dropped" notice
 *   lmct-attack fill SOCK NAME N            creates NAME/c0..c(N-1), pipelined
 *   lmct-attack seccomp CMD [ARG...]
 *       CMD under a seccomp filter (one that allows everything)
 *   lmct-attack freeze CGDIR
 *       freezes the cgroup CGDIR the moment a process enters it (as a pause
 *       that lands between lmctld's check and the command's exec)
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lmct.h"
#include "lmct-frame.h"

static void hold_forever(void) {
        for (;;)
                pause();
}

static int unix_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
                perror("connect");
                exit(1);
        }
        return fd;
}

/* REQ framed into BUF; returns its length. */
static size_t frame(Lmct__V1__Request *req, uint8_t *buf, size_t len) {
        size_t n = lmct__v1__request__get_packed_size(req), h;

        if (n + LMCT_VARINT_MAX > len)
                exit(1);
        h = lmct_varint_encode(n, buf);
        lmct__v1__request__pack(req, buf + h);
        return h + n;
}

static void send_with_fds(int sock, const void *data, size_t len, const int *fds, size_t n) {
        char cbuf[CMSG_SPACE(sizeof(int) * 3)] = { 0 };
        struct iovec iov = { (void *)data, len };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

        if (n) {
                struct cmsghdr *cm;
                mh.msg_control = cbuf;
                mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
                cm = CMSG_FIRSTHDR(&mh);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
                memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
        }
        if (sendmsg(sock, &mh, MSG_NOSIGNAL) != (ssize_t)len) {
                perror("sendmsg");
                exit(1);
        }
}

/* A connected TCP socket whose peer never reads, its send queue full, and
 * SO_LINGER on: its last close() waits up to a minute. The peer is
 * returned in *PEER, to be kept open. */
static int lingering_socket(int *peer) {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t sl = sizeof sa;
        struct linger lg = { 1, 60 };
        int l = socket(AF_INET, SOCK_STREAM, 0), c = socket(AF_INET, SOCK_STREAM, 0), small = 4096;
        char junk[65536] = { 0 };

        if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(l, 1) < 0 ||
            getsockname(l, (struct sockaddr *)&sa, &sl) < 0) {
                perror("tcp listener");
                exit(1);
        }
        setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        if (connect(c, (struct sockaddr *)&sa, sizeof sa) < 0 || (*peer = accept(l, NULL, NULL)) < 0) {
                perror("tcp connect");
                exit(1);
        }
        setsockopt(*peer, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        fcntl(c, F_SETFL, O_NONBLOCK);
        while (write(c, junk, sizeof junk) > 0)
                ;
        setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(l);
        return c;
}

static int cmd_linger(const char *sock, const char *mode) {
        Lmct__V1__Request req = LMCT__V1__REQUEST__INIT;
        Lmct__V1__VersionRequest v = LMCT__V1__VERSION_REQUEST__INIT;
        Lmct__V1__RunRequest run = LMCT__V1__RUN_REQUEST__INIT;
        char *args[] = { "true" };
        uint8_t buf[4096];
        int peer, t = lingering_socket(&peer), s = unix_connect(sock);
        int fds[3] = { t, t, t };
        size_t n;

        req.has_id = 1;
        req.id = 1;
        if (strcmp(mode, "run") == 0) {
                req.verb_case = LMCT__V1__REQUEST__VERB_RUN;
                req.run = &run;
                run.name = "no-such-container";
                run.args = args;
                run.n_args = 1;
        } else {
                req.verb_case = LMCT__V1__REQUEST__VERB_VERSION;
                req.version = &v;
        }
        n = frame(&req, buf, sizeof buf);
        if (strcmp(mode, "queued") == 0) {
                /* A length over the limit: lmctld answers, stops reading and
                 * hangs up; the descriptors sent next are still queued. */
                static const uint8_t huge[] = { 0xff, 0xff, 0xff, 0x7f };
                send_with_fds(s, huge, sizeof huge, NULL, 0);
                usleep(300000);
                send_with_fds(s, buf, n, fds, 3);
        } else
                send_with_fds(s, buf, n, fds, 3);
        close(t);
        usleep(200000);
        close(s); /* lmctld now holds the socket's only references */
        printf("sent\n");
        fflush(stdout);
        hold_forever();
        return 0;
}

static bool exists(const char *p) {
        return access(p, F_OK) == 0;
}

static void wait_for(const char *p) {
        while (!exists(p))
                usleep(20000);
}

/* One answer read from FD, or NULL if the connection ended first. */
static lmct_response *read_answer(int fd) {
        static uint8_t in[1 << 20];
        size_t got = 0;
        uint64_t len;
        ssize_t k;
        int h;

        while ((k = read(fd, in + got, sizeof in - got)) > 0) {
                got += (size_t)k;
                h = lmct_frame_header(in, got, &len);
                if (h > 0 && got >= h + len)
                        return lmct__v1__response__unpack(NULL, len, in + h);
        }
        return NULL;
}

static int cmd_orphan(const char *sock, const char *go, const char *ready, const char *out) {
        Lmct__V1__Request req = LMCT__V1__REQUEST__INIT;
        Lmct__V1__ListRequest l = LMCT__V1__LIST_REQUEST__INIT;
        char cbuf[CMSG_SPACE(sizeof(int))], c;
        struct iovec iov = { &c, 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf };
        lmct_response *resp;
        uint8_t buf[4096];
        int sv[2], fd;
        size_t n;
        pid_t pid;
        FILE *f;

        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
                return 1;
        wait_for(go);
        /* The child connects, hands the connection over and exits. */
        pid = fork();
        if (pid == 0) {
                fd = unix_connect(sock);
                send_with_fds(sv[1], "x", 1, &fd, 1);
                _exit(0);
        }
        if (recvmsg(sv[0], &mh, 0) != 1)
                return 1;
        memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof fd);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        close(creat(ready, 0644));
        /* Then asks, over the connection its dead child made, for the tree. */
        req.has_id = 1;
        req.id = 5;
        req.verb_case = LMCT__V1__REQUEST__VERB_LIST;
        req.list = &l;
        l.name = "/";
        l.has_recursive = l.recursive = 1;
        n = frame(&req, buf, sizeof buf);
        resp = write(fd, buf, n) == (ssize_t)n ? read_answer(fd) : NULL;
        f = fopen(out, "w");
        if (!f)
                return 1;
        if (!resp)
                fprintf(f, "closed: no answer\n");
        else if (resp->status && resp->status->code != LMCT__V1__CODE__OK)
                fprintf(f, "refused: %s\n", resp->status->message ? resp->status->message : "?");
        else {
                fprintf(f, "answered:");
                for (size_t i = 0; resp->list && i < resp->list->n_names; i++)
                        fprintf(f, " %s", resp->list->names[i]);
                fprintf(f, "\n");
        }
        fclose(f);
        if (resp)
                lmct__v1__response__free_unpacked(resp, NULL);
        return 0;
}

static lmct_client *connect_or_die(const char *sock) {
        lmct_client *c;

        if (lmct_connect(sock, &c) < 0) {
                perror("lmct_connect");
                exit(1);
        }
        return c;
}

/* N connections: how many lmctld serves, and why it refused the first it did. */
static int cmd_hold(const char *sock, int n) {
        int held = 0;
        char why[512] = "";

        for (int i = 0; i < n; i++) {
                lmct_client *c;
                lmct_response *resp = NULL;
                if (lmct_connect(sock, &c) < 0)
                        break;
                if (lmct_version(c, &resp) < 0) {
                        if (!why[0])
                                snprintf(why, sizeof why, "%s", lmct_client_message(c));
                        lmct_client_free(c);
                        continue;
                }
                lmct_response_free(resp);
                held++; /* leaked on purpose: held until killed */
        }
        printf("held %d refused: %s\n", held, why[0] ? why : "none");
        fflush(stdout);
        hold_forever();
        return 0;
}

/* Subscriptions with a trigger or a threshold each, on as many
 * connections as it takes. */
static int cmd_subscribe(const char *sock, const char *name, int n, bool triggers) {
        static const char *const res[] = { "cpu", "memory", "io" };
        Lmct__V1__PressureTrigger t[6], *tp[6];
        int held = 0, on_conn = 16;
        lmct_client *c = NULL;
        char why[512] = "";

        for (int i = 0; i < 6; i++) {
                lmct__v1__pressure_trigger__init(&t[i]);
                t[i].resource = (char *)res[i / 2];
                t[i].has_full = 1;
                t[i].full = i % 2;
                t[i].has_stall_us = t[i].has_window_us = 1;
                t[i].stall_us = 500000;
                t[i].window_us = 2000000;
                tp[i] = &t[i];
        }
        while (held < n) {
                Lmct__V1__EventsRequest ev = LMCT__V1__EVENTS_REQUEST__INIT;
                lmct_response *resp = NULL;
                int want = 1;
                if (on_conn == 16) {
                        c = connect_or_die(sock);
                        on_conn = 0;
                }
                ev.name = (char *)name;
                if (triggers) {
                        ev.pressure = tp;
                        ev.n_pressure = (size_t)want;
                } else {
                        ev.has_memory_above = 1;
                        ev.memory_above = 1 << 30;
                }
                if (lmct_events_request(c, &ev, &resp) < 0) {
                        snprintf(why, sizeof why, "%s", lmct_client_message(c));
                        break;
                }
                lmct_response_free(resp);
                held += want;
                on_conn++;
        }
        printf("held %d refused: %s\n", held, why[0] ? why : "none");
        fflush(stdout);
        hold_forever();
        return 0;
}

static int cmd_connect(const char *sock, int n) {
        int made = 0;

        for (int i = 0; i < n; i++) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
                if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
                        break;
                made++;
        }
        printf("connected %d\n", made);
        fflush(stdout);
        hold_forever();
        return 0;
}

/* Detached commands (sleep) in NAME until N run or lmctld refuses. */
static int cmd_detach(const char *sock, const char *name, int n) {
        lmct_client *c = connect_or_die(sock);
        char *args[] = { "sleep", "1000" };
        int ran = 0;
        char why[512] = "";

        for (int i = 0; i < n; i++) {
                Lmct__V1__Request req = LMCT__V1__REQUEST__INIT;
                Lmct__V1__RunRequest run = LMCT__V1__RUN_REQUEST__INIT;
                lmct_response *resp = NULL;
                req.verb_case = LMCT__V1__REQUEST__VERB_RUN;
                req.run = &run;
                run.name = (char *)name;
                run.args = args;
                run.n_args = 2;
                run.has_detach = run.detach = 1;
                run.cwd = "/";
                if (lmct_call(c, &req, &resp) < 0) {
                        snprintf(why, sizeof why, "%s", lmct_client_message(c));
                        break;
                }
                lmct_response_free(resp);
                ran++;
        }
        printf("ran %d refused: %s\n", ran, why[0] ? why : "none");
        fflush(stdout);
        lmct_client_free(c);
        return 0;
}

static int cmd_nonreader(const char *sock, const char *name, int conns, int reqs) {
        Lmct__V1__Request req = LMCT__V1__REQUEST__INIT;
        Lmct__V1__ListRequest l = LMCT__V1__LIST_REQUEST__INIT;
        uint8_t buf[4096];
        size_t n;
        int opened = 0;

        req.verb_case = LMCT__V1__REQUEST__VERB_LIST;
        req.list = &l;
        l.name = (char *)name;
        l.has_recursive = l.recursive = 1;
        for (int i = 0; i < conns; i++) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), small = 4096;
                snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
                setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
                if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
                        close(fd);
                        continue;
                }
                opened++;
                fcntl(fd, F_SETFL, O_NONBLOCK);
                for (int k = 0; k < reqs; k++) {
                        req.has_id = 1;
                        req.id = (uint64_t)k + 1;
                        n = frame(&req, buf, sizeof buf);
                        if (write(fd, buf, n) != (ssize_t)n)
                                break;
                }
        }
        printf("opened %d\n", opened);
        fflush(stdout);
        hold_forever();
        return 0;
}

static int cmd_fill(const char *sock, const char *name, int n) {
        lmct_client *c = connect_or_die(sock);
        char child[256];
        int made = 0;

        for (int i = 0; i < n; i++) {
                Lmct__V1__Request req = LMCT__V1__REQUEST__INIT;
                Lmct__V1__CreateRequest cr = LMCT__V1__CREATE_REQUEST__INIT;
                snprintf(child, sizeof child, "%s/c%05d-padding-to-make-the-listing-of-this-subtree-longer", name, i);
                req.verb_case = LMCT__V1__REQUEST__VERB_CREATE;
                req.create = &cr;
                cr.name = child;
                if (lmct_send(c, &req) < 0)
                        break;
        }
        for (int i = 0; i < n; i++) {
                lmct_response *resp = NULL;
                if (lmct_recv(c, &resp) < 0)
                        break;
                made += resp->status && resp->status->code == LMCT__V1__CODE__OK;
                lmct_response_free(resp);
        }
        printf("made %d\n", made);
        lmct_client_free(c);
        return 0;
}

/* The use-after-free of a subscriber whose "dropped" notice fails to send
 * from a PSI trigger's event. */
static int cmd_uaf(const char *sock, const char *name) {
        Lmct__V1__EventsRequest ev = LMCT__V1__EVENTS_REQUEST__INIT;
        Lmct__V1__PressureTrigger t = LMCT__V1__PRESSURE_TRIGGER__INIT, *tp = &t;
        lmct_client *sub = connect_or_die(sock), *gen = connect_or_die(sock);
        lmct_response *resp = NULL;
        char child[256], junk[65536];
        int fd = lmct_client_fd(sub), quiet = 0;

        t.resource = "cpu";
        t.has_stall_us = t.has_window_us = 1;
        t.stall_us = 100000;
        t.window_us = 1000000;
        ev.name = (char *)name;
        ev.pressure = &tp;
        ev.n_pressure = 1;
        if (lmct_events_request(sub, &ev, &resp) < 0) {
                printf("cannot subscribe: %s\n", lmct_client_message(sub));
                return 1;
        }
        lmct_response_free(resp);
        /* Events the subscriber does not read, past its 256 KiB: dropped. */
        for (int round = 0; round < 4; round++) {
                for (int i = 0; i < 1000; i++) {
                        Lmct__V1__Request req = LMCT__V1__REQUEST__INIT;
                        Lmct__V1__CreateRequest cr = LMCT__V1__CREATE_REQUEST__INIT;
                        Lmct__V1__DestroyRequest dr = LMCT__V1__DESTROY_REQUEST__INIT;
                        snprintf(child, sizeof child, "%s/a-rather-long-name-for-a-bigger-event-%d", name, i);
                        req.verb_case = LMCT__V1__REQUEST__VERB_CREATE;
                        req.create = &cr;
                        cr.name = child;
                        (void)lmct_send(gen, &req);
                        req.verb_case = LMCT__V1__REQUEST__VERB_DESTROY;
                        req.destroy = &dr;
                        dr.name = child;
                        (void)lmct_send(gen, &req);
                }
                for (int i = 0; i < 2000; i++) {
                        if (lmct_recv(gen, &resp) < 0)
                                return 1;
                        lmct_response_free(resp);
                }
        }
        /* Read it all: lmctld's queue for it empties, "dropped" still owed. */
        fcntl(fd, F_SETFL, O_NONBLOCK);
        while (quiet < 10) {
                struct pollfd p = { fd, POLLIN, 0 };
                if (poll(&p, 1, 100) > 0 && read(fd, junk, sizeof junk) > 0)
                        quiet = 0;
                else
                        quiet++;
        }
        shutdown(fd, SHUT_RD);
        printf("armed\n");
        fflush(stdout);
        hold_forever();
        return 0;
}

static int populated(const char *dir) {
        char path[4096], buf[256];
        int fd;
        ssize_t n;

        snprintf(path, sizeof path, "%s/cgroup.events", dir);
        fd = open(path, O_RDONLY);
        n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
                close(fd);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        return strstr(buf, "populated 1") != NULL;
}

static int cmd_freeze(const char *dir) {
        char path[4096], buf[4096];
        int ifd = inotify_init1(IN_CLOEXEC), fd;

        snprintf(path, sizeof path, "%s/cgroup.events", dir);
        if (ifd < 0 || inotify_add_watch(ifd, path, IN_MODIFY) < 0) {
                perror(path);
                return 1;
        }
        printf("watching\n");
        fflush(stdout);
        while (populated(dir) != 1)
                if (read(ifd, buf, sizeof buf) < 0 && errno != EINTR)
                        return 1;
        snprintf(path, sizeof path, "%s/cgroup.freeze", dir);
        fd = open(path, O_WRONLY);
        if (fd < 0 || write(fd, "1", 1) != 1) {
                perror(path);
                return 1;
        }
        printf("froze\n");
        return 0;
}

static int cmd_seccomp(char **argv) {
        struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        struct sock_fprog prog = { 1, &allow };

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
                perror("seccomp");
                return 1;
        }
        execvp(argv[0], argv);
        perror(argv[0]);
        return 127;
}

int main(int argc, char **argv) {
        signal(SIGPIPE, SIG_IGN);
        if (argc >= 3 && strcmp(argv[1], "seccomp") == 0)
                return cmd_seccomp(argv + 2);
        if (argc == 4 && strcmp(argv[1], "linger") == 0)
                return cmd_linger(argv[2], argv[3]);
        if (argc == 6 && strcmp(argv[1], "orphan") == 0)
                return cmd_orphan(argv[2], argv[3], argv[4], argv[5]);
        if (argc == 4 && strcmp(argv[1], "hold") == 0)
                return cmd_hold(argv[2], atoi(argv[3]));
        if (argc == 4 && strcmp(argv[1], "connect") == 0)
                return cmd_connect(argv[2], atoi(argv[3]));
        if (argc == 5 && strcmp(argv[1], "triggers") == 0)
                return cmd_subscribe(argv[2], argv[3], atoi(argv[4]), true);
        if (argc == 5 && strcmp(argv[1], "thresholds") == 0)
                return cmd_subscribe(argv[2], argv[3], atoi(argv[4]), false);
        if (argc == 5 && strcmp(argv[1], "detach") == 0)
                return cmd_detach(argv[2], argv[3], atoi(argv[4]));
        if (argc == 6 && strcmp(argv[1], "nonreader") == 0)
                return cmd_nonreader(argv[2], argv[3], atoi(argv[4]), atoi(argv[5]));
        if (argc == 5 && strcmp(argv[1], "fill") == 0)
                return cmd_fill(argv[2], argv[3], atoi(argv[4]));
        if (argc == 3 && strcmp(argv[1], "freeze") == 0)
                return cmd_freeze(argv[2]);
        if (argc == 4 && strcmp(argv[1], "uaf") == 0)
                return cmd_uaf(argv[2], argv[3]);
        fprintf(stderr, "usage: see the comment at the top of attack.c\n");
        return 2;
}
