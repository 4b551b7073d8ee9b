#include "lmct-client.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "lmct-frame.h"
#include "util.h"

#define RBUF_SIZE 65536

struct lmct_client {
        int fd;
        uint64_t next_id;
        uint8_t *rbuf;          /* bytes received and not yet consumed */
        size_t rstart, rend;
        Lmct__V1__Code code;
        char message[512];
        char path[108];         /* sizeof sun_path: for a reconnect */
        bool retry, retried;
};

static int set_error(lmct_client *c, Lmct__V1__Code code, int r, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int set_error(lmct_client *c, Lmct__V1__Code code, int r, const char *fmt, ...) {
        va_list ap;

        c->code = code;
        va_start(ap, fmt);
        vsnprintf(c->message, sizeof c->message, fmt, ap);
        va_end(ap);
        return r;
}

static int connect_to(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return negerrno();
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
                return negerrno();
        return TAKE_FD(fd);
}

int lmct_connect(const char *path, lmct_client **ret) {
        _cleanup_close_ int fd = -1;
        lmct_client *c;

        if (!path)
                path = getenv(LMCT_SOCKET_ENV);
        if (!path || !*path)
                path = LMCT_SOCKET_DEFAULT;
        fd = connect_to(path);
        if (fd < 0)
                return fd;
        c = calloc(1, sizeof *c);
        if (!c)
                return -ENOMEM;
        c->rbuf = malloc(RBUF_SIZE);
        if (!c->rbuf) {
                free(c);
                return -ENOMEM;
        }
        c->fd = TAKE_FD(fd);
        c->next_id = 1;
        snprintf(c->path, sizeof c->path, "%s", path);
        *ret = c;
        return 0;
}

void lmct_client_set_retry(lmct_client *c, bool on) { c->retry = on; }
bool lmct_client_retried(const lmct_client *c) { return c->retried; }

lmct_client *lmct_client_free(lmct_client *c) {
        if (c) {
                if (c->fd >= 0)
                        close(c->fd);
                free(c->rbuf);
                free(c);
        }
        return NULL;
}

Lmct__V1__Code lmct_client_code(const lmct_client *c) { return c->code; }
const char *lmct_client_message(const lmct_client *c) { return c->message; }

int lmct_code_to_errno(Lmct__V1__Code code) {
        switch (code) {
        case LMCT__V1__CODE__OK: return 0;
        case LMCT__V1__CODE__INVALID_ARGUMENT: return -EINVAL;
        case LMCT__V1__CODE__NOT_FOUND: return -ENOENT;
        case LMCT__V1__CODE__ALREADY_EXISTS: return -EEXIST;
        case LMCT__V1__CODE__PERMISSION_DENIED: return -EACCES;
        case LMCT__V1__CODE__RESOURCE_EXHAUSTED: return -ENOSPC;
        case LMCT__V1__CODE__FAILED_PRECONDITION: return -EBUSY;
        case LMCT__V1__CODE__UNIMPLEMENTED: return -EOPNOTSUPP;
        case LMCT__V1__CODE__UNAVAILABLE: return -EAGAIN;
        default: return -EIO;
        }
}

const char *lmct_code_name(Lmct__V1__Code code) {
        const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&lmct__v1__code__descriptor, (int)code);
        return v ? v->name : "UNKNOWN";
}

/* Makes at least WANT bytes available in the receive buffer (WANT <= RBUF_SIZE). */
static int fill(lmct_client *c, size_t want) {
        if (c->rend - c->rstart >= want)
                return 0;
        if (c->rstart > 0) {
                memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
                c->rend -= c->rstart;
                c->rstart = 0;
        }
        while (c->rend < want) {
                ssize_t k = read(c->fd, c->rbuf + c->rend, RBUF_SIZE - c->rend);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return negerrno();
                }
                if (k == 0)
                        return -ECONNRESET;
                c->rend += (size_t)k;
        }
        return 0;
}

/* Copies N bytes of the stream into P, through the buffer. */
static int read_all(lmct_client *c, uint8_t *p, size_t n) {
        while (n > 0) {
                size_t take;
                int r = fill(c, 1);
                if (r < 0)
                        return r;
                take = c->rend - c->rstart < n ? c->rend - c->rstart : n;
                memcpy(p, c->rbuf + c->rstart, take);
                c->rstart += take;
                p += take;
                n -= take;
        }
        return 0;
}

int lmct_send_fds(lmct_client *c, Lmct__V1__Request *req, const int *fds, size_t n_fds) {
        uint8_t hdr[LMCT_VARINT_MAX];
        _cleanup_free_ uint8_t *buf = NULL;
        union {
                struct cmsghdr align;
                char buf[CMSG_SPACE(sizeof(int) * 8)];
        } control;
        size_t len, h, off = 0;

        if (n_fds > 8)
                return -EINVAL;
        if (!req->has_id || req->id == 0) {
                req->has_id = true;
                req->id = c->next_id++;
        }
        len = lmct__v1__request__get_packed_size(req);
        if (len > LMCT_REQUEST_MAX)
                return set_error(c, LMCT__V1__CODE__INVALID_ARGUMENT, -EMSGSIZE,
                                 "request of %zu bytes is over the %u-byte limit", len, LMCT_REQUEST_MAX);
        h = lmct_varint_encode(len, hdr);
        buf = malloc(h + len);
        if (!buf)
                return -ENOMEM;
        memcpy(buf, hdr, h);
        lmct__v1__request__pack(req, buf + h);
        while (off < h + len) {
                struct iovec iov = { buf + off, h + len - off };
                struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
                ssize_t k;

                if (off == 0 && n_fds > 0) {
                        struct cmsghdr *cm;
                        memset(&control, 0, sizeof control);
                        mh.msg_control = &control;
                        mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
                        cm = CMSG_FIRSTHDR(&mh);
                        cm->cmsg_level = SOL_SOCKET;
                        cm->cmsg_type = SCM_RIGHTS;
                        cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
                        memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
                }
                k = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
                if (k < 0) {
                        int r = negerrno();
                        if (r == -EINTR)
                                continue;
                        return set_error(c, LMCT__V1__CODE__UNAVAILABLE, r, "sending to lmctld: %s", strerror(-r));
                }
                off += (size_t)k;
        }
        return 0;
}

int lmct_send(lmct_client *c, Lmct__V1__Request *req) {
        return lmct_send_fds(c, req, NULL, 0);
}

int lmct_client_fd(const lmct_client *c) {
        return c->fd;
}

bool lmct_client_buffered(const lmct_client *c) {
        return c->rend > c->rstart;
}

int lmct_recv(lmct_client *c, lmct_response **ret) {
        _cleanup_free_ uint8_t *big = NULL;
        const uint8_t *body;
        uint64_t len;
        lmct_response *resp;
        size_t want = 1;
        int r, h;

        for (;;) {
                r = fill(c, want);
                if (r < 0)
                        return set_error(c, LMCT__V1__CODE__UNAVAILABLE, r, "reading from lmctld: %s",
                                         r == -ECONNRESET ? "connection closed" : strerror(-r));
                h = lmct_frame_header(c->rbuf + c->rstart, c->rend - c->rstart, &len);
                if (h > 0)
                        break;
                if (h < 0)
                        return set_error(c, LMCT__V1__CODE__INTERNAL, -EBADMSG, "bad frame from lmctld");
                want = c->rend - c->rstart + 1;
        }
        if (len > LMCT_RESPONSE_MAX)
                return set_error(c, LMCT__V1__CODE__INTERNAL, -EMSGSIZE, "response of %llu bytes is too large",
                                 (unsigned long long)len);
        c->rstart += (size_t)h;
        if (len <= RBUF_SIZE) {
                r = fill(c, len);
                body = c->rbuf + c->rstart;
        } else {
                big = malloc(len);
                if (!big)
                        return -ENOMEM;
                r = read_all(c, big, len);
                body = big;
        }
        if (r < 0)
                return set_error(c, LMCT__V1__CODE__UNAVAILABLE, r, "reading from lmctld: %s",
                                 r == -ECONNRESET ? "connection closed" : strerror(-r));
        resp = lmct__v1__response__unpack(NULL, len, body);
        if (!big)
                c->rstart += len;
        if (!resp)
                return set_error(c, LMCT__V1__CODE__INTERNAL, -EBADMSG, "undecodable response from lmctld");
        *ret = resp;
        return 0;
}

lmct_response *lmct_response_free(lmct_response *r) {
        if (r)
                lmct__v1__response__free_unpacked(r, NULL);
        return NULL;
}

int lmct_call(lmct_client *c, Lmct__V1__Request *req, lmct_response **ret) {
        lmct_response *resp = NULL;
        int r;

        for (int attempt = 0;; attempt++) {
                int fd;

                r = lmct_send(c, req);
                if (r >= 0)
                        r = lmct_recv(c, &resp);
                if (r >= 0)
                        break;
                /* Closed before any byte of the answer: lmctld went away. A
                 * socket systemd holds open queues the new connection for
                 * the next lmctld. */
                if (!c->retry || attempt > 0 || (r != -ECONNRESET && r != -EPIPE) || c->rend != c->rstart)
                        return r;
                fd = connect_to(c->path);
                if (fd < 0)
                        return r;
                close(c->fd);
                c->fd = fd;
                c->rstart = c->rend = 0;
                c->retried = true;
        }
        /* Id 0 with an error: about the connection (lmctld refused it, or
         * a frame it could not read), not about another request. */
        if (resp->id != req->id && !(resp->id == 0 && resp->status && resp->status->code != LMCT__V1__CODE__OK)) {
                lmct_response_free(resp);
                return set_error(c, LMCT__V1__CODE__INTERNAL, -EPROTO, "answer for another request");
        }
        if (resp->status && resp->status->code != LMCT__V1__CODE__OK) {
                set_error(c, resp->status->code, 0, "%s", resp->status->message ? resp->status->message : "");
                r = lmct_code_to_errno(resp->status->code);
                lmct_response_free(resp);
                return r;
        }
        c->code = LMCT__V1__CODE__OK;
        c->message[0] = '\0';
        if (ret)
                *ret = resp;
        else
                lmct_response_free(resp);
        return 0;
}

#define REQUEST(var, vc, field, type, init)                                \
        type var##_v = init;                                               \
        Lmct__V1__Request var = LMCT__V1__REQUEST__INIT;                   \
        var.verb_case = LMCT__V1__REQUEST__VERB_##vc;                      \
        var.field = &var##_v

/* One request carrying MSG, a verb's message the caller filled (the
 * *_request calls: every field of it). */
#define CALL_WITH(vc, field, msg, ret)                                     \
        do {                                                               \
                Lmct__V1__Request req_ = LMCT__V1__REQUEST__INIT;          \
                req_.verb_case = LMCT__V1__REQUEST__VERB_##vc;             \
                req_.field = (void *)(msg);                                \
                return lmct_call(c, &req_, ret);                           \
        } while (0)

int lmct_version(lmct_client *c, lmct_response **ret) {
        REQUEST(req, VERSION, version, Lmct__V1__VersionRequest, LMCT__V1__VERSION_REQUEST__INIT);
        return lmct_call(c, &req, ret);
}

int lmct_create(lmct_client *c, const char *name, const lmct_limits *limits, bool parents) {
        return lmct_create_owned(c, name, limits, parents, NULL, NULL);
}

int lmct_create_owned(lmct_client *c, const char *name, const lmct_limits *limits, bool parents,
                      const uint32_t *owner_uid, const uint32_t *owner_gid) {
        REQUEST(req, CREATE, create, Lmct__V1__CreateRequest, LMCT__V1__CREATE_REQUEST__INIT);
        req_v.name = (char *)name;
        req_v.limits = (lmct_limits *)limits;
        req_v.has_parents = parents;
        req_v.parents = parents;
        if (owner_uid) {
                req_v.has_owner_uid = true;
                req_v.owner_uid = *owner_uid;
        }
        if (owner_gid) {
                req_v.has_owner_gid = true;
                req_v.owner_gid = *owner_gid;
        }
        return lmct_call(c, &req, NULL);
}

int lmct_update(lmct_client *c, const char *name, const lmct_limits *limits) {
        REQUEST(req, UPDATE, update, Lmct__V1__UpdateRequest, LMCT__V1__UPDATE_REQUEST__INIT);
        req_v.name = (char *)name;
        req_v.limits = (lmct_limits *)limits;
        return lmct_call(c, &req, NULL);
}

int lmct_create_request(lmct_client *c, const Lmct__V1__CreateRequest *create) {
        CALL_WITH(CREATE, create, create, NULL);
}

int lmct_update_request(lmct_client *c, const Lmct__V1__UpdateRequest *update) {
        CALL_WITH(UPDATE, update, update, NULL);
}

int lmct_list_request(lmct_client *c, const Lmct__V1__ListRequest *list, lmct_response **ret) {
        CALL_WITH(LIST, list, list, ret);
}

int lmct_destroy(lmct_client *c, const char *name, bool recursive, bool force) {
        REQUEST(req, DESTROY, destroy, Lmct__V1__DestroyRequest, LMCT__V1__DESTROY_REQUEST__INIT);
        req_v.name = (char *)name;
        req_v.has_recursive = req_v.recursive = recursive;
        req_v.has_force = req_v.force = force;
        return lmct_call(c, &req, NULL);
}

int lmct_list(lmct_client *c, const char *name, bool recursive, lmct_response **ret) {
        REQUEST(req, LIST, list, Lmct__V1__ListRequest, LMCT__V1__LIST_REQUEST__INIT);
        req_v.name = (char *)name;
        req_v.has_recursive = req_v.recursive = recursive;
        return lmct_call(c, &req, ret);
}

int lmct_show(lmct_client *c, const char *name, lmct_response **ret) {
        REQUEST(req, SHOW, show, Lmct__V1__ShowRequest, LMCT__V1__SHOW_REQUEST__INIT);
        req_v.name = (char *)name;
        return lmct_call(c, &req, ret);
}

int lmct_ps(lmct_client *c, const char *name, bool recursive, lmct_response **ret) {
        REQUEST(req, PS, ps, Lmct__V1__PsRequest, LMCT__V1__PS_REQUEST__INIT);
        req_v.name = (char *)name;
        req_v.has_recursive = req_v.recursive = recursive;
        return lmct_call(c, &req, ret);
}

int lmct_enter(lmct_client *c, const char *name, const int32_t *pids, size_t n_pids) {
        REQUEST(req, ENTER, enter, Lmct__V1__EnterRequest, LMCT__V1__ENTER_REQUEST__INIT);
        req_v.name = (char *)name;
        req_v.pids = (int32_t *)pids;
        req_v.n_pids = n_pids;
        return lmct_call(c, &req, NULL);
}

int lmct_pause(lmct_client *c, const char *name) {
        REQUEST(req, PAUSE, pause, Lmct__V1__PauseRequest, LMCT__V1__PAUSE_REQUEST__INIT);
        req_v.name = (char *)name;
        return lmct_call(c, &req, NULL);
}

int lmct_resume(lmct_client *c, const char *name) {
        REQUEST(req, RESUME, resume, Lmct__V1__ResumeRequest, LMCT__V1__RESUME_REQUEST__INIT);
        req_v.name = (char *)name;
        return lmct_call(c, &req, NULL);
}

int lmct_kill(lmct_client *c, const char *name, int signal) {
        REQUEST(req, KILL, kill, Lmct__V1__KillRequest, LMCT__V1__KILL_REQUEST__INIT);
        req_v.name = (char *)name;
        req_v.has_signal = true;
        req_v.signal = signal;
        return lmct_call(c, &req, NULL);
}

int lmct_detect(lmct_client *c, int32_t pid, char **ret_name) {
        REQUEST(req, DETECT, detect, Lmct__V1__DetectRequest, LMCT__V1__DETECT_REQUEST__INIT);
        lmct_response *resp = NULL;
        char *name;
        int r;

        req_v.has_pid = true;
        req_v.pid = pid;
        r = lmct_call(c, &req, &resp);
        if (r < 0)
                return r;
        name = strdup(resp->detect && resp->detect->name ? resp->detect->name : "");
        lmct_response_free(resp);
        if (!name)
                return -ENOMEM;
        *ret_name = name;
        return 0;
}

int lmct_stats(lmct_client *c, const char *name, bool recursive, lmct_response **ret) {
        REQUEST(req, STATS, stats, Lmct__V1__StatsRequest, LMCT__V1__STATS_REQUEST__INIT);
        req_v.name = (char *)name;
        req_v.has_recursive = recursive;
        req_v.recursive = recursive;
        return lmct_call(c, &req, ret);
}

int lmct_reclaim(lmct_client *c, const char *name, uint64_t bytes, lmct_response **ret) {
        REQUEST(req, RECLAIM, reclaim, Lmct__V1__ReclaimRequest, LMCT__V1__RECLAIM_REQUEST__INIT);
        req_v.name = (char *)name;
        req_v.has_bytes = true;
        req_v.bytes = bytes;
        return lmct_call(c, &req, ret);
}

int lmct_events(lmct_client *c, const char *name, bool recursive, lmct_response **ret) {
        Lmct__V1__EventsRequest er = LMCT__V1__EVENTS_REQUEST__INIT;

        er.name = (char *)name;
        er.has_recursive = recursive;
        er.recursive = recursive;
        return lmct_events_request(c, &er, ret);
}

int lmct_events_request(lmct_client *c, const Lmct__V1__EventsRequest *events, lmct_response **ret) {
        CALL_WITH(EVENTS, events, events, ret);
}
