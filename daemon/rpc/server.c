#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "cleanup.h"
#include "dispatch.h"
#include "list.h"
#include "lmct-frame.h"
#include "log.h"
#include "release.h"
#include "util.h"

/* Past this much unsent output, stop reading the client's requests. */
#define OUTPUT_HIGH (4u << 20)
/* Requests of one connection still waiting for their answer (destroy -f,
 * pause) or commands it runs. */
#define CONN_WAIT_MAX 64
/* Descriptors a connection may have received and not yet handed to a
 * request (run and exec take three). */
#define CONN_FDS_MAX 12
/* The most a message can carry (the kernel's SCM_MAX_FD): a control
 * buffer this large is never truncated, since a truncation makes the
 * kernel close the rest here, in the loop. */
#define SCM_FDS_MAX 253
/* Connections' sockets and descriptors waiting to be closed (their close()
 * may wait as long as a client likes): past this many, no connection is
 * accepted until they come down to half, so that they never fill lmctld's
 * descriptor table. */
#define RELEASE_BACKLOG_MAX 512
/* After accept() failed for want of descriptors: wait before trying again. */
#define ACCEPT_BACKOFF_MIN_MS 50
#define ACCEPT_BACKOFF_MAX_MS 2000

/* A descriptor received, and the stream offset of the bytes it came with:
 * it belongs to the frame those bytes are part of. */
typedef struct rx_fd {
        int fd;
        uint64_t at;
} rx_fd;

struct conn {
        server *srv;
        int fd;
        struct event *ev_read, *ev_write;
        /* Deadlines: a frame begun must be whole, and pending output must
         * move, within the server's timeout, or the client is cut off. */
        struct event *ev_frame, *ev_stall;
        unsigned waiting[_CONN_WAIT_MAX];
        struct evbuffer *in, *out;
        LIST_FIELDS(conn, conns);
        unsigned refs;
        bool dead;
        bool closing;      /* hang up once the output is flushed */
        bool reading;      /* inside on_readable: answers are flushed at its end */
        bool paused;       /* reading stopped until answers are read */
        caller who;
        uint64_t rx, consumed;   /* bytes received, bytes of frames handled */
        rx_fd fds[CONN_FDS_MAX]; /* received, not yet handed to a frame */
        size_t n_fds;
        int frame_fds[CONN_FDS_MAX]; /* came with the frame being handled */
        size_t n_frame_fds;
        size_t accounted;        /* output counted in the principal's Q_OUTPUT */
};

struct server {
        struct event_base *base;
        manager *m;
        events *events;
        struct evconnlistener *listener;
        conn *conns;
        unsigned n_conns;
        unsigned n_paused;       /* paused for their principal's (or everyone's) output */
        struct timeval timeout;
        struct event *ev_backoff;
        unsigned backoff_ms;
        bool backlogged;         /* accepting stopped for the release backlog */
        quota *unidentified;     /* callers refused before they could be placed */
};

conn *conn_ref(conn *c) {
        c->refs++;
        return c;
}

void conn_unref(conn *c) {
        if (--c->refs > 0)
                return;
        caller_done(&c->who);
        free(c);
}

size_t conn_output_pending(const conn *c) {
        return c->dead ? 0 : evbuffer_get_length(c->out);
}

const caller *conn_caller(const conn *c) {
        return &c->who;
}

manager *conn_manager(const conn *c) {
        return c->srv->m;
}

events *conn_events(const conn *c) {
        return c->srv->events;
}

bool conn_alive(const conn *c) {
        return !c->dead;
}

int conn_take_fds(conn *c, int *fds, size_t n) {
        if (c->n_frame_fds < n)
                return -EBADF;
        memcpy(fds, c->frame_fds, n * sizeof *fds);
        memmove(c->frame_fds, c->frame_fds + n, (c->n_frame_fds - n) * sizeof *fds);
        c->n_frame_fds -= n;
        return 0;
}

void conn_release_fds(conn *c, const int *fds, size_t n) {
        release_fds(c->srv->m->releaser, c->who.q, fds, n, 0, (unsigned)n);
}

size_t conn_answer_max(const conn *c) {
        if (quota_privileged(c->who.q))
                return LMCT_RESPONSE_MAX;
        return quota_limit(c->who.q, Q_OUTPUT) < LMCT_RESPONSE_MAX ? quota_limit(c->who.q, Q_OUTPUT)
                                                                    : LMCT_RESPONSE_MAX;
}

/* Counts C's queued output against its principal. */
static void account(conn *c) {
        size_t now = c->dead ? 0 : evbuffer_get_length(c->out);

        if (now == c->accounted)
                return;
        (void)quota_adjust(c->who.q, Q_OUTPUT, (int64_t)now - (int64_t)c->accounted);
        c->accounted = now;
}

/* Whether C must wait for answers to be read before it is served more. */
static bool must_wait(const conn *c) {
        return evbuffer_get_length(c->out) > OUTPUT_HIGH || quota_over(c->who.q, Q_OUTPUT, false);
}

/* Whether C, paused, may be served again: its answers read down to half,
 * and its principal's answers and unreleased descriptors too. */
static bool may_resume(const conn *c) {
        return evbuffer_get_length(c->out) <= OUTPUT_HIGH / 2 && !quota_over(c->who.q, Q_OUTPUT, true) &&
               !quota_over(c->who.q, Q_FDS, true);
}

static void pause_reading(conn *c) {
        if (c->paused)
                return;
        c->paused = true;
        c->srv->n_paused++;
        event_del(c->ev_read);
        event_del(c->ev_frame);
}

static void process_input(conn *c);
static void conn_flush(conn *c);

/* Serves C again once its own and its principal's answers have been read
 * down to half their bounds. The caller holds a reference to C. */
static void maybe_resume(conn *c) {
        if (c->dead || !c->paused || !may_resume(c))
                return;
        c->paused = false;
        c->srv->n_paused--;
        event_add(c->ev_read, NULL);
        c->reading = true;
        process_input(c); /* frames may be waiting in the input already */
        c->reading = false;
        conn_flush(c);
}

/* Output went down somewhere: connections paused for their principal's or
 * everyone's output may go on. Each is woken through its write event (and
 * goes on in on_writable), so that nothing here recurses or changes the
 * list it walks. */
static void resume_others(server *srv) {
        conn *c;

        if (srv->n_paused == 0)
                return;
        LIST_FOREACH(conns, c, srv->conns)
                if (c->paused && may_resume(c))
                        event_active(c->ev_write, EV_WRITE, 1);
}

/* Stops accepting while too much waits to be closed. */
static void check_backlog(server *srv) {
        size_t pending = releaser_pending(srv->m->releaser);

        if (!srv->backlogged && pending > RELEASE_BACKLOG_MAX) {
                log_warning("%zu clients' sockets and descriptors wait to be closed: accepting no connection until "
                            "they are",
                            pending);
                srv->backlogged = true;
                evconnlistener_disable(srv->listener);
        } else if (srv->backlogged && pending <= RELEASE_BACKLOG_MAX / 2) {
                srv->backlogged = false;
                if (!event_pending(srv->ev_backoff, EV_TIMEOUT, NULL))
                        evconnlistener_enable(srv->listener);
        }
}

/* The releaser closed some: principals may take more, accepting may go on. */
static void on_released(void *userdata) {
        server *srv = userdata;

        resume_others(srv);
        check_backlog(srv);
}

/* Hands every descriptor C still holds, and its socket, to the releaser. */
static void release_conn(conn *c) {
        int fds[2 * CONN_FDS_MAX + 1];
        size_t n = 0;

        for (size_t i = 0; i < c->n_fds; i++)
                fds[n++] = c->fds[i].fd;
        for (size_t i = 0; i < c->n_frame_fds; i++)
                fds[n++] = c->frame_fds[i];
        fds[n++] = c->fd;
        release_fds(c->srv->m->releaser, c->who.q, fds, n, 1, (unsigned)(n - 1));
        c->n_fds = c->n_frame_fds = 0;
        check_backlog(c->srv);
}

static void conn_close(conn *c) {
        server *srv = c->srv;

        if (c->dead)
                return;
        c->dead = true;
        if (c->paused)
                srv->n_paused--;
        dispatch_conn_closed(c);
        event_free(c->ev_read);
        event_free(c->ev_write);
        event_free(c->ev_frame);
        event_free(c->ev_stall);
        evbuffer_free(c->in);
        evbuffer_free(c->out);
        account(c);
        release_conn(c);
        LIST_REMOVE(conns, srv->conns, c);
        srv->n_conns--;
        conn_unref(c);
        resume_others(srv);
}

/* Writes what is pending now; leaves the rest to the write event. */
static void conn_flush(conn *c) {
        size_t pending;
        int w = 0;

        if (c->dead)
                return;
        pending = evbuffer_get_length(c->out);
        if (pending > 0) {
                w = evbuffer_write(c->out, c->fd);
                if (w < 0 && errno != EAGAIN && errno != EINTR) {
                        conn_close(c); /* the peer has gone */
                        return;
                }
                /* Output that moves resets the deadline; output that does
                 * not keeps the one already running. */
                if (w > 0 || !event_pending(c->ev_stall, EV_TIMEOUT, NULL))
                        event_add(c->ev_stall, &c->srv->timeout);
        }
        account(c);
        pending = evbuffer_get_length(c->out);
        if (pending == 0) {
                event_del(c->ev_write);
                event_del(c->ev_stall);
                if (c->closing) {
                        conn_close(c);
                        return;
                }
        } else
                event_add(c->ev_write, NULL);
        if (must_wait(c))
                pause_reading(c);
        if (w > 0 && !c->reading)
                resume_others(c->srv);
}

void conn_send(conn *c, Lmct__V1__Response *resp) {
        uint8_t hdr[LMCT_VARINT_MAX];
        struct evbuffer_iovec v;
        size_t len, h;

        if (c->dead) {
                lmct__v1__response__free_unpacked(resp, NULL);
                return;
        }
        len = lmct__v1__response__get_packed_size(resp);
        h = lmct_varint_encode(len, hdr);
        if (evbuffer_reserve_space(c->out, (ev_ssize_t)(h + len), &v, 1) < 1) {
                log_error("client pid %d: out of memory for an answer, closing", c->who.pid);
                lmct__v1__response__free_unpacked(resp, NULL);
                conn_close(c);
                return;
        }
        memcpy(v.iov_base, hdr, h);
        lmct__v1__response__pack(resp, (uint8_t *)v.iov_base + h);
        v.iov_len = h + len;
        evbuffer_commit_space(c->out, &v, 1);
        lmct__v1__response__free_unpacked(resp, NULL);
        account(c);
        if (!c->reading)
                conn_flush(c);
}

static void send_status(conn *c, uint64_t id, Lmct__V1__Code code, const char *msg) {
        status st = { .code = code };
        Lmct__V1__Response *resp;

        snprintf(st.msg, sizeof st.msg, "%s", msg);
        resp = response_new(id, &st);
        if (resp)
                conn_send(c, resp);
}

/* A frame that cannot be read as a request: answer once, then hang up. */
static void protocol_error(conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void protocol_error(conn *c, const char *fmt, ...) {
        char msg[512];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        log_notice("client pid %d uid %u: %s; closing the connection", c->who.pid, c->who.uid, msg);
        send_status(c, 0, LMCT__V1__CODE__INVALID_ARGUMENT, msg);
        c->closing = true;
        event_del(c->ev_read);
}

/* Whether REQ is a request that takes the caller's stdio with it. */
static bool takes_stdio(const Lmct__V1__Request *req) {
        return (req->verb_case == LMCT__V1__REQUEST__VERB_RUN && req->run && !req->run->detach) ||
               (req->verb_case == LMCT__V1__REQUEST__VERB_EXEC && req->exec);
}

/* Why descriptor FD cannot be a command's stdin, stdout or stderr, or
 * NULL: files, pipes, sockets and terminals may; a directory (a way out of
 * any root), a path-only descriptor or anything else may not. */
static const char *not_stdio(int fd) {
        struct statx sx;
        int fl = fcntl(fd, F_GETFL);

        /* The type as the kernel holds it, never asked of a filesystem (a
         * FUSE server need not answer). */
        if (fl < 0 || statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE, &sx) < 0 ||
            !(sx.stx_mask & STATX_TYPE))
                return "cannot be examined";
        if (fl & O_PATH)
                return "is a path-only descriptor (O_PATH)";
        if (S_ISDIR(sx.stx_mode))
                return "is a directory";
        if (!S_ISREG(sx.stx_mode) && !S_ISCHR(sx.stx_mode) && !S_ISFIFO(sx.stx_mode) && !S_ISSOCK(sx.stx_mode))
                return "is neither a file, a pipe, a socket nor a terminal";
        return NULL;
}

/* Moves the descriptors that came with the frame ending at offset END to
 * the frame, and checks they are what REQ takes. */
static int claim_frame_fds(conn *c, const Lmct__V1__Request *req, uint64_t end, char *err, size_t len) {
        static const char *const names[] = { "stdin", "stdout", "stderr" };
        size_t n = 0;

        while (n < c->n_fds && c->fds[n].at < end) {
                c->frame_fds[n] = c->fds[n].fd;
                n++;
        }
        memmove(c->fds, c->fds + n, (c->n_fds - n) * sizeof *c->fds);
        c->n_fds -= n;
        c->n_frame_fds = n;
        if (n == 0)
                return 0;
        if (n != 3 || !takes_stdio(req)) {
                snprintf(err, len,
                         "%zu descriptor%s came with this request; only run and exec take descriptors (three: "
                         "stdin, stdout, stderr)",
                         n, n == 1 ? "" : "s");
                return -EBADF;
        }
        for (size_t i = 0; i < n; i++) {
                const char *why = not_stdio(c->frame_fds[i]);
                if (why) {
                        snprintf(err, len, "descriptor %zu (%s) %s: stdio takes files, pipes, sockets and terminals",
                                 i + 1, names[i], why);
                        return -EBADF;
                }
        }
        return 0;
}

static void handle_frame(conn *c, const uint8_t *data, size_t len, uint64_t end) {
        Lmct__V1__Request *req;
        char err[256];

        req = lmct__v1__request__unpack(NULL, len, data);
        if (!req) {
                protocol_error(c, "the frame is not a valid lmct.v1.Request message");
                return;
        }
        if (claim_frame_fds(c, req, end, err, sizeof err) < 0 ||
            lmct_check_strings(&lmct__v1__request__descriptor, data, len, err, sizeof err) < 0)
                send_status(c, req->id, LMCT__V1__CODE__INVALID_ARGUMENT, err);
        else
                dispatch(c, c->srv->m, req);
        lmct__v1__request__free_unpacked(req, NULL);
        /* What came with the frame and nothing took goes. */
        if (!c->dead && c->n_frame_fds) {
                conn_release_fds(c, c->frame_fds, c->n_frame_fds);
                c->n_frame_fds = 0;
        }
}

/* Answers every whole frame in the input, unless answers pile up. */
static void process_input(conn *c) {
        while (!c->dead && !c->closing && !c->paused) {
                size_t avail = evbuffer_get_length(c->in);
                uint8_t hdr[LMCT_VARINT_MAX], *data;
                uint64_t len;
                ev_ssize_t n;
                int h;

                if (avail == 0)
                        break;
                if (must_wait(c)) {
                        pause_reading(c);
                        break;
                }
                n = evbuffer_copyout(c->in, hdr, avail < sizeof hdr ? avail : sizeof hdr);
                h = lmct_frame_header(hdr, (size_t)n, &len);
                if (h < 0) {
                        protocol_error(c, "malformed frame length (a varint over 10 bytes)");
                        break;
                }
                if (h == 0)
                        break;
                if (len > LMCT_REQUEST_MAX) {
                        protocol_error(c, "request frame of %llu bytes is over the limit of %u bytes",
                                       (unsigned long long)len, LMCT_REQUEST_MAX);
                        break;
                }
                if (avail < (size_t)h + len)
                        break;
                evbuffer_drain(c->in, (size_t)h);
                data = evbuffer_pullup(c->in, (ev_ssize_t)len);
                if (!data && len > 0) {
                        protocol_error(c, "out of memory");
                        break;
                }
                c->consumed += (uint64_t)h + len;
                handle_frame(c, data, (size_t)len, c->consumed);
                if (c->dead)
                        break;
                evbuffer_drain(c->in, (size_t)len);
        }
}

/* Keeps the descriptors that came with the bytes, each counted against the
 * principal; more than a connection may hold is a protocol error. */
static int take_rights(conn *c, struct msghdr *mh, uint64_t at) {
        int r = 0;

        for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
                size_t n;
                int *fds;
                if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                        continue;
                n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                fds = (int *)CMSG_DATA(cm);
                for (size_t i = 0; i < n; i++) {
                        int q = c->n_fds < CONN_FDS_MAX ? quota_take(c->who.q, Q_FDS, 1) : -EMFILE;
                        if (q == 0) {
                                c->fds[c->n_fds++] = (rx_fd){ fds[i], at };
                                continue;
                        }
                        /* Refused, and counted until closed all the same. */
                        (void)quota_adjust(c->who.q, Q_FDS, 1);
                        release_fds(c->srv->m->releaser, c->who.q, &fds[i], 1, 0, 1);
                        r = r < 0 ? r : q;
                }
        }
        return (mh->msg_flags & MSG_CTRUNC) ? -EMFILE : r;
}

/* What came with a frame could not be taken (R from take_rights). */
static void rights_refused(conn *c, int r) {
        if (r == -EMFILE)
                protocol_error(c, "more than %d file descriptors sent at once", CONN_FDS_MAX);
        else
                protocol_error(c, "%s holds too many descriptors sent to lmctld (%s, at most %llu)",
                               quota_key(c->who.q), quota_kind_name(Q_FDS),
                               (unsigned long long)(r == -EDQUOT ? quota_limit(c->who.q, Q_FDS)
                                                                 : quota_global_limit(Q_FDS)));
        conn_flush(c);
}

/* After input was handled: a frame begun and not yet whole must be within
 * the deadline, however slowly its bytes come (one a minute is still too
 * slow); at the end of input (EOF), answers already made still go out. */
static void after_input(conn *c, bool eof) {
        if (c->dead)
                return;
        if (evbuffer_get_length(c->in) == 0 || c->paused)
                event_del(c->ev_frame);
        else if (!event_pending(c->ev_frame, EV_TIMEOUT, NULL))
                event_add(c->ev_frame, &c->srv->timeout);
        if (eof) {
                if (evbuffer_get_length(c->in) > 0)
                        log_notice("client pid %d uid %u: connection ended inside a frame (%zu bytes unread)",
                                   c->who.pid, c->who.uid, evbuffer_get_length(c->in));
                c->closing = true;
                event_del(c->ev_read);
        }
}

static void on_readable(evutil_socket_t fd, short what, void *arg) {
        conn *c = arg;
        struct evbuffer_iovec v;
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * SCM_FDS_MAX)];
        } control;
        struct iovec iov;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof control };
        ssize_t n;
        int r;

        (void)what;
        /* Its principal has too many descriptors not yet closed: what it
         * sends waits in the kernel, in no table of lmctld's. */
        if (quota_over(c->who.q, Q_FDS, false)) {
                pause_reading(c);
                return;
        }
        if (evbuffer_reserve_space(c->in, 65536, &v, 1) < 1) {
                conn_close(c);
                return;
        }
        iov.iov_base = v.iov_base;
        iov.iov_len = v.iov_len;
        n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return;
                conn_close(c);
                return;
        }
        r = take_rights(c, &mh, c->rx);
        if (r < 0) {
                rights_refused(c, r);
                return;
        }
        v.iov_len = (size_t)n;
        evbuffer_commit_space(c->in, &v, 1);
        c->rx += (uint64_t)n;
        conn_ref(c);
        c->reading = true;
        process_input(c);
        c->reading = false;
        after_input(c, n == 0);
        conn_flush(c);
        conn_unref(c);
}

static void on_writable(evutil_socket_t fd, short what, void *arg) {
        conn *c = arg;

        (void)fd;
        (void)what;
        conn_ref(c);
        conn_flush(c);
        maybe_resume(c);
        conn_unref(c);
}

static void cut_off(conn *c, const char *why) {
        log_notice("client pid %d uid %u: %s for %ld.%03ld s; closing the connection", c->who.pid, c->who.uid, why,
                   (long)c->srv->timeout.tv_sec, (long)c->srv->timeout.tv_usec / 1000);
        conn_close(c);
}

static void on_frame_deadline(evutil_socket_t fd, short what, void *arg) {
        (void)fd;
        (void)what;
        cut_off(arg, "a request frame left unfinished");
}

static void on_stall_deadline(evutil_socket_t fd, short what, void *arg) {
        (void)fd;
        (void)what;
        cut_off(arg, "answers left unread");
}

int conn_wait_count(conn *c, conn_wait k, int delta) {
        if (delta > 0 && c->waiting[k] >= CONN_WAIT_MAX)
                return -EBUSY;
        c->waiting[k] = (unsigned)((int)c->waiting[k] + delta);
        return 0;
}

unsigned conn_waiting(const conn *c, conn_wait k) {
        return c->waiting[k];
}

void server_set_timeout(server *srv, unsigned ms) {
        srv->timeout = (struct timeval){ ms / 1000, (ms % 1000) * 1000 };
}

/* Refuses connection FD with one answer saying why, and lets it go. */
static void refuse(server *srv, int fd, quota *q, Lmct__V1__Code code, const char *why) {
        status st = { .code = code };
        Lmct__V1__Response *resp;
        uint8_t buf[1024];

        snprintf(st.msg, sizeof st.msg, "lmctld refused the connection: %s", why);
        resp = response_new(0, &st);
        if (resp) {
                size_t len = lmct__v1__response__get_packed_size(resp);
                if (len + LMCT_VARINT_MAX <= sizeof buf) {
                        size_t h = lmct_varint_encode(len, buf);
                        lmct__v1__response__pack(resp, buf + h);
                        (void)!send(fd, buf, h + len, MSG_DONTWAIT | MSG_NOSIGNAL);
                }
                lmct__v1__response__free_unpacked(resp, NULL);
        }
        /* Counted until closed: its queue may hold what a client sent. */
        (void)quota_adjust(q, Q_CONNS, 1);
        release_fds(srv->m->releaser, q, &fd, 1, 1, 0);
        check_backlog(srv);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg) {
        server *srv = arg;
        char why[256], key[LMCT_NAME_MAX + 32];
        _cleanup_(caller_done) caller who = { .pidfd = -1, .procfd = -1 };
        int r;

        (void)l;
        (void)sa;
        (void)salen;
        srv->backoff_ms = 0;
        /* Who the caller is and where it lives come from the kernel, never
         * from a message; a caller whose position cannot be established is
         * refused (fail closed). */
        r = caller_from_socket(fd, srv->m->root_cgpath, &who, why, sizeof why);
        if (r >= 0)
                access_principal(srv->m, &who, key, sizeof key);
        if (r >= 0 && caller_attach_quota(&who, key) < 0) {
                r = -ENOMEM;
                snprintf(why, sizeof why, "out of memory");
        }
        if (r < 0) {
                log_warning("refusing a connection from pid %d uid %u: %s", (int)who.pid, (unsigned)who.uid, why);
                refuse(srv, fd, who.q ? who.q : srv->unidentified, LMCT__V1__CODE__PERMISSION_DENIED, why);
                return;
        }
        r = quota_take(who.q, Q_CONNS, 1);
        if (r < 0) {
                quota_refusal(who.q, Q_CONNS, r, "holds", "connections", why, sizeof why);
                log_warning("refusing a connection from pid %d uid %u: %s", (int)who.pid, (unsigned)who.uid, why);
                refuse(srv, fd, who.q, LMCT__V1__CODE__RESOURCE_EXHAUSTED, why);
                return;
        }
        server_add_conn(srv, fd, &who);
}

/* accept() failed, most likely for want of descriptors: stop accepting
 * for a while instead of being woken again at once, forever. */
static void on_accept_error(struct evconnlistener *l, void *arg) {
        server *srv = arg;
        int e = EVUTIL_SOCKET_ERROR();
        struct timeval tv;

        if (e == EAGAIN || e == EINTR || e == ECONNABORTED)
                return;
        if (srv->backoff_ms == 0)
                log_warning("cannot accept connections: %s; trying again in a while", strerror(e));
        srv->backoff_ms = srv->backoff_ms ? srv->backoff_ms * 2 : ACCEPT_BACKOFF_MIN_MS;
        if (srv->backoff_ms > ACCEPT_BACKOFF_MAX_MS)
                srv->backoff_ms = ACCEPT_BACKOFF_MAX_MS;
        tv = (struct timeval){ srv->backoff_ms / 1000, (srv->backoff_ms % 1000) * 1000 };
        evconnlistener_disable(l);
        event_add(srv->ev_backoff, &tv);
}

static void on_backoff(evutil_socket_t fd, short what, void *arg) {
        server *srv = arg;

        (void)fd;
        (void)what;
        if (!srv->backlogged)
                evconnlistener_enable(srv->listener);
}

void server_add_conn(server *srv, int fd, caller *who) {
        conn *c = calloc(1, sizeof *c);

        if (c) {
                c->srv = srv;
                c->fd = fd;
                c->refs = 1;
                c->who = *who;
                *who = (caller){ .pidfd = -1, .procfd = -1 };
                c->in = evbuffer_new();
                c->out = evbuffer_new();
                c->ev_read = event_new(srv->base, fd, EV_READ | EV_PERSIST, on_readable, c);
                c->ev_write = event_new(srv->base, fd, EV_WRITE | EV_PERSIST, on_writable, c);
                c->ev_frame = evtimer_new(srv->base, on_frame_deadline, c);
                c->ev_stall = evtimer_new(srv->base, on_stall_deadline, c);
        }
        if (!c || !c->in || !c->out || !c->ev_read || !c->ev_write || !c->ev_frame || !c->ev_stall ||
            event_add(c->ev_read, NULL) < 0) {
                quota *q = c ? c->who.q : who->q;
                log_error("cannot serve a connection: out of memory");
                if (c) {
                        evbuffer_free_each((struct evbuffer *[]){ c->in, c->out }, 2);
                        event_free_each((struct event *[]){ c->ev_read, c->ev_write, c->ev_frame, c->ev_stall }, 4);
                }
                release_fds(srv->m->releaser, q, &fd, 1, 1, 0);
                if (c)
                        conn_unref(c);
                else
                        caller_done(who);
                return;
        }
        LIST_PREPEND(conns, srv->conns, c);
        srv->n_conns++;
}

int server_new(struct event_base *base, manager *m, events *ev, int listen_fd, server **ret) {
        server *srv = calloc(1, sizeof *srv);

        if (!srv)
                return -ENOMEM;
        srv->base = base;
        srv->m = m;
        srv->events = ev;
        srv->timeout = (struct timeval){ 30, 0 };
        srv->ev_backoff = evtimer_new(base, on_backoff, srv);
        srv->listener = evconnlistener_new(base, on_accept, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
                                           listen_fd);
        if (!srv->listener || !srv->ev_backoff) {
                if (srv->ev_backoff)
                        event_free(srv->ev_backoff);
                free(srv);
                return -ENOMEM;
        }
        evconnlistener_set_error_cb(srv->listener, on_accept_error);
        srv->unidentified = quota_get("callers that could not be placed", false);
        if (!srv->unidentified) {
                server_free(srv);
                return -ENOMEM;
        }
        if (m->releaser)
                releaser_set_notify(m->releaser, on_released, srv);
        *ret = srv;
        return 0;
}

server *server_free(server *srv) {
        if (!srv)
                return NULL;
        srv->n_paused = 0;
        while (srv->conns) {
                srv->conns->paused = false;
                conn_close(srv->conns);
        }
        if (srv->m->releaser)
                releaser_set_notify(srv->m->releaser, NULL, NULL);
        evconnlistener_free(srv->listener);
        event_free(srv->ev_backoff);
        quota_unref(srv->unidentified);
        free(srv);
        return NULL;
}

unsigned server_connections(const server *srv) {
        return srv->n_conns;
}
