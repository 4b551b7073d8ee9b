#include "server.h"

#include <errno.h>
#include <stdarg.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
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

struct conn {
        server *srv;
        struct bufferevent *bev;
        conn *prev, *next;
        unsigned refs;
        bool dead;
        bool closing;
        pid_t pid;
        uid_t uid;
};

struct server {
        struct event_base *base;
        manager *m;
        struct evconnlistener *listener;
        conn *conns;
        unsigned n_conns;
};

conn *conn_ref(conn *c) {
        c->refs++;
        return c;
}

void conn_unref(conn *c) {
        if (--c->refs == 0)
                free(c);
}

void conn_peer(const conn *c, pid_t *pid, uid_t *uid) {
        *pid = c->pid;
        *uid = c->uid;
}

static void conn_close(conn *c) {
        server *srv = c->srv;

        if (c->dead)
                return;
        c->dead = true;
        bufferevent_free(c->bev);
        c->bev = NULL;
        if (c->prev)
                c->prev->next = c->next;
        else
                srv->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        srv->n_conns--;
        conn_unref(c);
}

void conn_send(conn *c, Lmct__V1__Response *resp) {
        uint8_t hdr[LMCT_VARINT_MAX];
        struct evbuffer *out;
        struct evbuffer_iovec v;
        size_t len, h;

        if (c->dead) {
                lmct__v1__response__free_unpacked(resp, NULL);
                return;
        }
        out = bufferevent_get_output(c->bev);
        len = lmct__v1__response__get_packed_size(resp);
        h = lmct_varint_encode(len, hdr);
        if (evbuffer_reserve_space(out, (ev_ssize_t)(h + len), &v, 1) < 1) {
                log_error("client pid %d: out of memory for an answer, closing", c->pid);
                lmct__v1__response__free_unpacked(resp, NULL);
                conn_close(c);
                return;
        }
        memcpy(v.iov_base, hdr, h);
        lmct__v1__response__pack(resp, (uint8_t *)v.iov_base + h);
        v.iov_len = h + len;
        evbuffer_commit_space(out, &v, 1);
        lmct__v1__response__free_unpacked(resp, NULL);
        if (evbuffer_get_length(out) > OUTPUT_HIGH)
                bufferevent_disable(c->bev, EV_READ);
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
        bufferevent_disable(c->bev, EV_READ);
        if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
                conn_close(c);
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

static void on_read(struct bufferevent *bev, void *arg) {
        conn *c = arg;
        struct evbuffer *in = bufferevent_get_input(bev);

        conn_ref(c);
        while (!c->dead && !c->closing) {
                size_t avail = evbuffer_get_length(in);
                uint8_t hdr[LMCT_VARINT_MAX], *data;
                uint64_t len;
                ev_ssize_t n;
                int h;

                if (avail == 0)
                        break;
                n = evbuffer_copyout(in, hdr, avail < sizeof hdr ? avail : sizeof hdr);
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
                evbuffer_drain(in, (size_t)h);
                data = evbuffer_pullup(in, (ev_ssize_t)len);
                if (!data && len > 0) {
                        protocol_error(c, "out of memory");
                        break;
                }
                handle_frame(c, data, (size_t)len);
                if (!c->dead)
                        evbuffer_drain(in, (size_t)len);
                if (!c->dead && evbuffer_get_length(bufferevent_get_output(bev)) > OUTPUT_HIGH)
                        break;
        }
        conn_unref(c);
}

static void on_write(struct bufferevent *bev, void *arg) {
        conn *c = arg;
        size_t pending = evbuffer_get_length(bufferevent_get_output(bev));

        if (c->closing) {
                if (pending == 0)
                        conn_close(c);
                return;
        }
        if (pending <= OUTPUT_HIGH / 2 && !(bufferevent_get_enabled(bev) & EV_READ)) {
                bufferevent_enable(bev, EV_READ);
                on_read(bev, c); /* frames may be waiting in the input already */
        }
}

static void on_event(struct bufferevent *bev, short what, void *arg) {
        conn *c = arg;

        (void)bev;
        if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
                struct evbuffer *in = bufferevent_get_input(c->bev);
                if (evbuffer_get_length(in) > 0)
                        log_notice("client pid %d uid %u: connection ended inside a frame (%zu bytes unread)",
                                   c->pid, c->uid, evbuffer_get_length(in));
                conn_close(c);
        }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen, void *arg) {
        server *srv = arg;
        struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
        socklen_t cl = sizeof cred;
        conn *c;

        (void)l;
        (void)sa;
        (void)salen;
        if (srv->n_conns >= CONNECTIONS_MAX) {
                log_warning("refusing a connection: %d connections are open", CONNECTIONS_MAX);
                close(fd);
                return;
        }
        (void)getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl);
        c = calloc(1, sizeof *c);
        if (!c) {
                close(fd);
                return;
        }
        c->srv = srv;
        c->refs = 1;
        c->pid = cred.pid;
        c->uid = cred.uid;
        c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
        if (!c->bev) {
                close(fd);
                free(c);
                return;
        }
        bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
        bufferevent_enable(c->bev, EV_READ | EV_WRITE);
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
