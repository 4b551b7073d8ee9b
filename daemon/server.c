#include "server.h"

#include <errno.h>
#include <stdarg.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "dispatch.h"
#include "lmct-frame.h"
#include "log.h"
#include "util.h"

/* Past this much unsent output, stop reading the client's requests. */
#define OUTPUT_HIGH (4u << 20)
#define CONNECTIONS_MAX 1024
/* Connections one uid other than root may hold: no user fills the table. */
#define CONNECTIONS_PER_UID_MAX 64
/* Requests of one connection still waiting for their answer (destroy -f,
 * pause) or commands it runs. */
#define CONN_INFLIGHT_MAX 64
/* Descriptors a client may have in flight (run passes three). */
#define CONN_FDS_MAX 12

struct conn {
        server *srv;
        int fd;
        struct event *ev_read, *ev_write;
        /* Deadlines: a frame begun must be whole, and pending output must
         * move, within the server's timeout, or the client is cut off. */
        struct event *ev_frame, *ev_stall;
        unsigned inflight;
        struct evbuffer *in, *out;
        conn *prev, *next;
        unsigned refs;
        bool dead;
        bool closing;      /* hang up once the output is flushed */
        bool reading;      /* inside on_readable: answers are flushed at its end */
        bool paused;       /* reading stopped until the client reads its answers */
        pid_t pid;
        uid_t uid;
        gid_t gid;
        caller who;
        int fds[CONN_FDS_MAX];   /* received with SCM_RIGHTS, not yet claimed */
        size_t n_fds;
};

struct server {
        struct event_base *base;
        manager *m;
        struct evconnlistener *listener;
        conn *conns;
        unsigned n_conns;
        struct timeval timeout;
};

conn *conn_ref(conn *c) {
        c->refs++;
        return c;
}

void conn_unref(conn *c) {
        if (--c->refs == 0)
                free(c);
}

size_t conn_output_pending(const conn *c) {
        return c->dead ? 0 : evbuffer_get_length(c->out);
}

const caller *conn_caller(const conn *c) {
        return &c->who;
}

void conn_peer(const conn *c, pid_t *pid, uid_t *uid) {
        *pid = c->pid;
        *uid = c->uid;
}

int conn_take_fds(conn *c, int *fds, size_t n) {
        if (c->n_fds < n)
                return -EBADF;
        memcpy(fds, c->fds, n * sizeof *fds);
        memmove(c->fds, c->fds + n, (c->n_fds - n) * sizeof *fds);
        c->n_fds -= n;
        return 0;
}

manager *conn_manager(const conn *c) {
        return c->srv->m;
}

bool conn_alive(const conn *c) {
        return !c->dead;
}

static void conn_close(conn *c) {
        server *srv = c->srv;

        if (c->dead)
                return;
        c->dead = true;
        while (c->n_fds > 0)
                close(c->fds[--c->n_fds]);
        dispatch_conn_closed(c);
        event_free(c->ev_read);
        event_free(c->ev_write);
        event_free(c->ev_frame);
        event_free(c->ev_stall);
        evbuffer_free(c->in);
        evbuffer_free(c->out);
        close(c->fd);
        if (c->prev)
                c->prev->next = c->next;
        else
                srv->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        srv->n_conns--;
        conn_unref(c);
}

/* Writes what is pending now; leaves the rest to the write event. */
static void conn_flush(conn *c) {
        size_t pending;

        if (c->dead)
                return;
        pending = evbuffer_get_length(c->out);
        if (pending > 0) {
                int w = evbuffer_write(c->out, c->fd);
                if (w < 0 && errno != EAGAIN && errno != EINTR) {
                        conn_close(c); /* the peer has gone */
                        return;
                }
                /* Output that moves resets the deadline; output that does
                 * not keeps the one already running. */
                if (w > 0 || !event_pending(c->ev_stall, EV_TIMEOUT, NULL))
                        event_add(c->ev_stall, &c->srv->timeout);
        }
        pending = evbuffer_get_length(c->out);
        if (pending == 0) {
                event_del(c->ev_write);
                event_del(c->ev_stall);
                if (c->closing)
                        conn_close(c);
                return;
        }
        event_add(c->ev_write, NULL);
        if (pending > OUTPUT_HIGH && !c->paused) {
                c->paused = true;
                event_del(c->ev_read);
        }
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
                log_error("client pid %d: out of memory for an answer, closing", c->pid);
                lmct__v1__response__free_unpacked(resp, NULL);
                conn_close(c);
                return;
        }
        memcpy(v.iov_base, hdr, h);
        lmct__v1__response__pack(resp, (uint8_t *)v.iov_base + h);
        v.iov_len = h + len;
        evbuffer_commit_space(c->out, &v, 1);
        lmct__v1__response__free_unpacked(resp, NULL);
        if (!c->reading)
                conn_flush(c);
}

/* A frame that cannot be read as a request: answer once, then hang up. */
static void protocol_error(conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void protocol_error(conn *c, const char *fmt, ...) {
        Lmct__V1__Response *resp;
        status st = { .code = LMCT__V1__CODE__INVALID_ARGUMENT };
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(st.msg, sizeof st.msg, fmt, ap);
        va_end(ap);
        log_notice("client pid %d uid %u: %s; closing the connection", c->pid, c->uid, st.msg);
        resp = response_new(0, &st);
        if (resp)
                conn_send(c, resp);
        c->closing = true;
        event_del(c->ev_read);
}

static void handle_frame(conn *c, const uint8_t *data, size_t len) {
        Lmct__V1__Request *req;
        char err[256];

        req = lmct__v1__request__unpack(NULL, len, data);
        if (!req) {
                protocol_error(c, "the frame is not a valid lmct.v1.Request message");
                return;
        }
        if (lmct_check_strings(&lmct__v1__request__descriptor, data, len, err, sizeof err) < 0) {
                status st = { .code = LMCT__V1__CODE__INVALID_ARGUMENT };
                Lmct__V1__Response *resp;
                snprintf(st.msg, sizeof st.msg, "%s", err);
                resp = response_new(req->id, &st);
                if (resp)
                        conn_send(c, resp);
        } else
                dispatch(c, c->srv->m, req);
        lmct__v1__request__free_unpacked(req, NULL);
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
                handle_frame(c, data, (size_t)len);
                if (c->dead)
                        break;
                evbuffer_drain(c->in, (size_t)len);
                if (evbuffer_get_length(c->out) > OUTPUT_HIGH)
                        break;
        }
}

/* Keeps descriptors that came with the bytes; too many closes the client. */
static int take_rights(conn *c, struct msghdr *mh) {
        int r = 0;

        for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
                size_t n;
                int *fds;
                if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                        continue;
                n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                fds = (int *)CMSG_DATA(cm);
                for (size_t i = 0; i < n; i++) {
                        if (c->n_fds < CONN_FDS_MAX)
                                c->fds[c->n_fds++] = fds[i];
                        else {
                                close(fds[i]);
                                r = -EMFILE;
                        }
                }
        }
        return (mh->msg_flags & MSG_CTRUNC) ? -EMFILE : r;
}

static void on_readable(evutil_socket_t fd, short what, void *arg) {
        conn *c = arg;
        struct evbuffer_iovec v;
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * CONN_FDS_MAX)];
        } control;
        struct iovec iov;
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                             .msg_controllen = sizeof control };
        ssize_t n;

        (void)what;
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
        if (take_rights(c, &mh) < 0) {
                protocol_error(c, "more than %d file descriptors sent at once", CONN_FDS_MAX);
                conn_flush(c);
                return;
        }
        v.iov_len = (size_t)n;
        evbuffer_commit_space(c->in, &v, 1);
        conn_ref(c);
        c->reading = true;
        process_input(c);
        c->reading = false;
        /* A frame begun and not yet whole must be within the deadline,
         * however slowly its bytes come (one a minute is still too slow). */
        if (!c->dead) {
                if (evbuffer_get_length(c->in) == 0 || c->paused)
                        event_del(c->ev_frame);
                else if (!event_pending(c->ev_frame, EV_TIMEOUT, NULL))
                        event_add(c->ev_frame, &c->srv->timeout);
        }
        if (!c->dead && n == 0) {
                if (evbuffer_get_length(c->in) > 0)
                        log_notice("client pid %d uid %u: connection ended inside a frame (%zu bytes unread)",
                                   c->pid, c->uid, evbuffer_get_length(c->in));
                /* Answers already made still go out; nothing more comes in. */
                c->closing = true;
                event_del(c->ev_read);
        }
        conn_flush(c);
        conn_unref(c);
}

static void on_writable(evutil_socket_t fd, short what, void *arg) {
        conn *c = arg;

        (void)fd;
        (void)what;
        conn_ref(c);
        conn_flush(c);
        if (!c->dead && c->paused && evbuffer_get_length(c->out) <= OUTPUT_HIGH / 2) {
                c->paused = false;
                event_add(c->ev_read, NULL);
                c->reading = true;
                process_input(c); /* frames may be waiting in the input already */
                c->reading = false;
                conn_flush(c);
        }
        conn_unref(c);
}

static void cut_off(conn *c, const char *why) {
        log_notice("client pid %d uid %u: %s for %ld.%03ld s; closing the connection", c->pid, c->uid, why,
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

int conn_inflight(conn *c, int delta) {
        if (delta > 0 && c->inflight >= CONN_INFLIGHT_MAX)
                return -EBUSY;
        c->inflight = (unsigned)((int)c->inflight + delta);
        return 0;
}

void server_set_timeout(server *srv, unsigned ms) {
        srv->timeout = (struct timeval){ ms / 1000, (ms % 1000) * 1000 };
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg) {
        server *srv = arg;
        struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
        socklen_t cl = sizeof cred;

        (void)l;
        (void)sa;
        (void)salen;
        if (srv->n_conns >= CONNECTIONS_MAX) {
                log_warning("refusing a connection: %d connections are open", CONNECTIONS_MAX);
                close(fd);
                return;
        }
        /* Who the caller is comes from the kernel, never from a message. */
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0) {
                log_warning("refusing a connection whose credentials cannot be read: %m");
                close(fd);
                return;
        }
        if (cred.uid != 0) {
                unsigned same = 0;
                for (conn *o = srv->conns; o; o = o->next)
                        same += o->uid == cred.uid;
                if (same >= CONNECTIONS_PER_UID_MAX) {
                        log_warning("refusing a connection from uid %u: it holds %u connections already",
                                    (unsigned)cred.uid, same);
                        close(fd);
                        return;
                }
        }
        server_add_conn(srv, fd, &cred);
}

void server_add_conn(server *srv, int fd, const struct ucred *cred) {
        conn *c;

        c = calloc(1, sizeof *c);
        if (!c) {
                close(fd);
                return;
        }
        c->srv = srv;
        c->fd = fd;
        c->refs = 1;
        c->pid = cred->pid;
        c->uid = cred->uid;
        c->gid = cred->gid;
        caller_init(srv->m, &c->who, cred->pid, cred->uid, cred->gid);
        c->in = evbuffer_new();
        c->out = evbuffer_new();
        c->ev_read = event_new(srv->base, fd, EV_READ | EV_PERSIST, on_readable, c);
        c->ev_write = event_new(srv->base, fd, EV_WRITE | EV_PERSIST, on_writable, c);
        c->ev_frame = evtimer_new(srv->base, on_frame_deadline, c);
        c->ev_stall = evtimer_new(srv->base, on_stall_deadline, c);
        if (!c->in || !c->out || !c->ev_read || !c->ev_write || !c->ev_frame || !c->ev_stall ||
            event_add(c->ev_read, NULL) < 0) {
                if (c->in)
                        evbuffer_free(c->in);
                if (c->out)
                        evbuffer_free(c->out);
                if (c->ev_read)
                        event_free(c->ev_read);
                if (c->ev_write)
                        event_free(c->ev_write);
                if (c->ev_frame)
                        event_free(c->ev_frame);
                if (c->ev_stall)
                        event_free(c->ev_stall);
                close(fd);
                free(c);
                return;
        }
        c->next = srv->conns;
        if (srv->conns)
                srv->conns->prev = c;
        srv->conns = c;
        srv->n_conns++;
}

int server_new(struct event_base *base, manager *m, int listen_fd, server **ret) {
        server *srv = calloc(1, sizeof *srv);

        if (!srv)
                return -ENOMEM;
        srv->base = base;
        srv->m = m;
        srv->timeout = (struct timeval){ 30, 0 };
        srv->listener = evconnlistener_new(base, on_accept, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
                                           listen_fd);
        if (!srv->listener) {
                free(srv);
                return -ENOMEM;
        }
        *ret = srv;
        return 0;
}

server *server_free(server *srv) {
        if (!srv)
                return NULL;
        while (srv->conns)
                conn_close(srv->conns);
        evconnlistener_free(srv->listener);
        free(srv);
        return NULL;
}

unsigned server_connections(const server *srv) {
        return srv->n_conns;
}
