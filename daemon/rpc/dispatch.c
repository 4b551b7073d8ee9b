#include "dispatch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lmct-client.h"
#include "climits.h"
#include "events.h"
#include "labels.h"
#include "lmct-name.h"
#include "log.h"
#include "manager.h"
#include "runs.h"
#include "util.h"

/* A request being answered; outlives the call for operations that wait. */
typedef struct call {
        conn *c;
        Lmct__V1__Response *resp;
        const char *verb;
        log_context ctx;
        char *container;
        const caller *who;      /* lives with the connection, which the call holds */
        bool counted;           /* in the connection's requests in flight */
} call;

typedef int (*handler_fn)(manager *m, const Lmct__V1__Request *req, call *cl, status *st);

/* Containers allowed below one handed to an owner, unless it says. */
#define OWNER_DESCENDANTS_DEFAULT 1024

Lmct__V1__Response *response_new(uint64_t id, const status *st) {
        Lmct__V1__Response *resp = malloc(sizeof *resp);
        Lmct__V1__Status *s = malloc(sizeof *s);

        if (!resp || !s) {
                free(resp);
                free(s);
                return NULL;
        }
        lmct__v1__response__init(resp);
        lmct__v1__status__init(s);
        resp->has_id = true;
        resp->id = id;
        resp->status = s;
        s->has_code = true;
        s->code = st ? st->code : LMCT__V1__CODE__OK;
        if (st && st->code != LMCT__V1__CODE__OK) {
                s->message = strdup(st->msg);
                if (!s->message) {
                        lmct__v1__response__free_unpacked(resp, NULL);
                        return NULL;
                }
        }
        return resp;
}

static void call_free(call *cl) {
        if (cl->counted) {
                (void)conn_wait_count(cl->c, CONN_REQUESTS, -1);
                quota_give(cl->who->q, Q_WAITS, 1);
        }
        if (cl->resp)
                lmct__v1__response__free_unpacked(cl->resp, NULL);
        conn_unref(cl->c);
        free(cl->container);
        free(cl);
}

static bool name_char(char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
               ch == '-' || ch == '.' || ch == '/';
}

/* MSG as a confined caller sees it: names relative to its container
 * ("team1/sub/x" becomes "x", "team1/sub" itself "/"). */
static void relative_message(const caller *who, const char *msg, char *out, size_t len) {
        size_t vl = strlen(who->view), o = 0;

        for (const char *p = msg; *p && o + 1 < len;) {
                bool start = p == msg || !name_char(p[-1]);
                if (start && strncmp(p, who->view, vl) == 0 && (p[vl] == '/' || !name_char(p[vl]))) {
                        if (p[vl] == '/')
                                p += vl + 1;
                        else {
                                out[o++] = '/';
                                p += vl;
                        }
                        continue;
                }
                out[o++] = *p++;
        }
        out[o] = '\0';
}

/* Sends CL's response with the outcome R / ST and frees CL. */
static void call_finish(call *cl, int r, const status *st) {
        Lmct__V1__Response *resp = TAKE_PTR(cl->resp);
        status rel;

        if (r < 0 && cl->who && cl->who->view[0]) {
                rel.code = st->code;
                relative_message(cl->who, st->msg, rel.msg, sizeof rel.msg);
                st = &rel;
        }
        if (r < 0) {
                Lmct__V1__Response *err = response_new(resp->id, st);
                lmct__v1__response__free_unpacked(resp, NULL);
                resp = err;
                if (r != -ECANCELED)
                        log_info("%s: %s", cl->verb, st->msg);
        }
        if (resp)
                conn_send(cl->c, resp);
        call_free(cl);
}

static void on_done(void *userdata, int r, const status *st) {
        call *cl = userdata;

        log_set_context(&cl->ctx);
        call_finish(cl, r, st);
        log_set_context(NULL);
}

/* Where the container a request names is: the "name" field of its verb's
 * message. NULL if the verb has none. */
static char **request_name_field(const Lmct__V1__Request *req) {
        const ProtobufCFieldDescriptor *f, *nf;
        ProtobufCMessage *sub;

        f = protobuf_c_message_descriptor_get_field(&lmct__v1__request__descriptor, (unsigned)req->verb_case);
        if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
                return NULL;
        sub = *(ProtobufCMessage *const *)((const char *)req + f->offset);
        if (!sub)
                return NULL;
        nf = protobuf_c_message_descriptor_get_field_by_name(sub->descriptor, "name");
        if (!nf || nf->type != PROTOBUF_C_TYPE_STRING || nf->label == PROTOBUF_C_LABEL_REPEATED)
                return NULL;
        return (char **)((char *)sub + nf->offset);
}

static const char *request_container(const Lmct__V1__Request *req) {
        char **f = request_name_field(req);
        return f ? *f : NULL;
}

/* Rewrites a full name in a response as the caller sees it. */
static int make_relative(const caller *who, char **name) {
        const char *rel;
        char *n;

        if (!who->view[0] || !*name)
                return 0;
        rel = caller_relative(who, *name);
        n = strdup(rel ? (*rel ? rel : "/") : "/");
        if (!n)
                return -ENOMEM;
        free(*name);
        *name = n;
        return 0;
}

static int h_version(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        Lmct__V1__VersionResult *v = malloc(sizeof *v);
        size_t n = 0;

        (void)req;
        if (!v)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        lmct__v1__version_result__init(v);
        cl->resp->version = v;
        cl->resp->result_case = LMCT__V1__RESPONSE__RESULT_VERSION;
        v->has_protocol = true;
        v->protocol = LMCT_PROTOCOL_VERSION;
        v->daemon = strdup(LMCT_VERSION);
        v->cgroup_root = strdup(m->root_path);
        v->controllers = calloc(_CG_MAX, sizeof *v->controllers);
        if (!v->daemon || !v->cgroup_root || !v->controllers)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        for (int c = 0; c < _CG_MAX; c++)
                if (m->avail & CG_MASK(c)) {
                        v->controllers[n] = strdup(cg_controller_name(c));
                        if (!v->controllers[n])
                                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
                        v->n_controllers = ++n;
                }
        return 0;
}

#define NEED(field)                                                                                  \
        if (!req->field)                                                                             \
        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "empty " #field " request")

static int h_create(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        char labels[LABELS_TEXT_MAX] = "";
        owner_spec o;
        int r;

        NEED(create);
        if (req->create->has_owner_uid || req->create->has_owner_gid) {
                if (!caller_is_admin(cl->who))
                        return st_fail(st, LMCT__V1__CODE__PERMISSION_DENIED, -EPERM,
                                       "only root may hand a container to an owner");
                if (!req->create->has_owner_uid)
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "an owner gid without a uid");
                o.uid = req->create->owner_uid;
                o.gid = req->create->has_owner_gid ? req->create->owner_gid : o.uid;
                if (o.uid == (unsigned)-1 || o.gid == (unsigned)-1)
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "owner %u:%u is not a user",
                                       o.uid, o.gid);
        }
        if (req->create->n_labels) {
                label_change lc = { .set = req->create->labels, .n_set = req->create->n_labels };
                r = labels_edit("", &lc, labels, sizeof labels, st);
                if (r < 0)
                        return r;
        }
        /* A subtree handed to an owner is bounded unless root says otherwise:
         * each container costs lmctld memory, watches and work. */
        if (req->create->has_owner_uid && !(req->create->limits && req->create->limits->has_max_descendants)) {
                Lmct__V1__Limits l = LMCT__V1__LIMITS__INIT;
                if (req->create->limits)
                        l = *req->create->limits;
                l.has_max_descendants = true;
                l.max_descendants = OWNER_DESCENDANTS_DEFAULT;
                return manager_create(m, cl->who, req->create->name, &l, req->create->parents, &o, labels, st);
        }
        return manager_create(m, cl->who, req->create->name, req->create->limits, req->create->parents,
                              req->create->has_owner_uid ? &o : NULL, labels, st);
}

static int h_update(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        label_change lc;

        NEED(update);
        lc = (label_change){ req->update->labels, req->update->n_labels, req->update->remove_labels,
                             req->update->n_remove_labels };
        return manager_update(m, cl->who, req->update->name, req->update->limits, &lc, st);
}

static int h_destroy(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        NEED(destroy);
        return manager_destroy(m, cl->who, req->destroy->name, req->destroy->recursive, req->destroy->force, st, on_done, cl);
}

static bool visible_to(const node *n, void *userdata) {
        call *cl = userdata;
        return access_visible(conn_manager(cl->c), cl->who, n);
}

static int h_list(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        int r;

        NEED(list);
        r = labels_check_selector(req->list->selector, req->list->n_selector, st);
        if (r < 0)
                return r;
        r = manager_list(m, req->list->name, req->list->recursive, !caller_is_admin(cl->who) ? visible_to : NULL,
                         (void *)cl, req->list->selector, req->list->n_selector, conn_answer_max(cl->c),
                         &cl->resp->list, st);
        if (r < 0)
                return r;
        cl->resp->result_case = LMCT__V1__RESPONSE__RESULT_LIST;
        for (size_t i = 0; i < cl->resp->list->n_names; i++)
                if (make_relative(cl->who, &cl->resp->list->names[i]) < 0)
                        return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        return 0;
}

static int h_show(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        int r;

        NEED(show);
        r = manager_show(m, req->show->name, &cl->resp->show, st);
        if (r < 0)
                return r;
        cl->resp->result_case = LMCT__V1__RESPONSE__RESULT_SHOW;
        if (make_relative(cl->who, &cl->resp->show->name) < 0 ||
            make_relative(cl->who, &cl->resp->show->owner_from) < 0)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        return 0;
}

static int h_ps(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        int r;

        NEED(ps);
        r = manager_ps(m, req->ps->name, req->ps->recursive, conn_answer_max(cl->c), &cl->resp->ps, st);
        if (r < 0)
                return r;
        cl->resp->result_case = LMCT__V1__RESPONSE__RESULT_PS;
        for (size_t i = 0; i < cl->resp->ps->n_processes; i++)
                if (make_relative(cl->who, &cl->resp->ps->processes[i]->container) < 0)
                        return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        return 0;
}

/* A process of a caller without privilege may be taken from outside every
 * container, or from a container it may use. */
static int may_take(void *userdata, const char *from, status *st) {
        call *cl = userdata;
        char q[100];

        if (!from[0] || access_check(conn_manager(cl->c), cl->who, from, ACCESS_USE, st) >= 0)
                return 0;
        return st_fail(st, LMCT__V1__CODE__PERMISSION_DENIED, -EPERM,
                       "a process in %s, which uid %u does not own, stays there", quote(from, q, sizeof q),
                       (unsigned)cl->who->uid);
}

static int h_enter(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        /* A caller without privilege moves only its own processes, and
         * only from where it may act; one in a container only processes
         * already in its container. */
        bool admin = caller_is_admin(cl->who);
        enter_policy pol = { .check_uid = !admin, .uid = cl->who->uid,
                             .within = cl->who->view[0] ? cl->who->view : NULL,
                             .may_take = admin ? NULL : may_take, .userdata = cl };

        NEED(enter);
        return manager_enter(m, req->enter->name, req->enter->pids, req->enter->n_pids,
                             pol.check_uid || pol.within ? &pol : NULL, st);
}

static int h_pause(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        NEED(pause);
        return manager_pause(m, req->pause->name, st, on_done, cl);
}

static int h_resume(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        (void)cl;
        NEED(resume);
        return manager_resume(m, req->resume->name, st);
}

static int h_kill(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        (void)cl;
        NEED(kill);
        return manager_kill(m, req->kill->name, req->kill->signal, st);
}

static int h_detect(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        Lmct__V1__DetectResult *d;
        char *name = NULL;
        int r;

        NEED(detect);
        if (!req->detect->has_pid)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "no pid given");
        r = manager_detect(m, req->detect->pid, &name, st);
        if (r < 0 && cl->who->view[0])
                return st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ENOENT, "process %d is not in your container",
                               req->detect->pid);
        if (r < 0)
                return r;
        /* Only what the caller could name: inside its view, owned by it. */
        if (cl->who->view[0] && !caller_relative(cl->who, name)) {
                free(name);
                return st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ENOENT, "process %d is not in your container",
                               req->detect->pid);
        }
        r = access_check(m, cl->who, name, ACCESS_READ, st);
        if (r >= 0 && make_relative(cl->who, &name) < 0)
                r = st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        if (r < 0) {
                free(name);
                return r;
        }
        d = malloc(sizeof *d);
        if (!d) {
                free(name);
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        }
        lmct__v1__detect_result__init(d);
        d->name = name;
        cl->resp->detect = d;
        cl->resp->result_case = LMCT__V1__RESPONSE__RESULT_DETECT;
        return 0;
}

/* A run's answers: the first ends the request (the command started, or
 * could not); with a command that runs on, the last comes when it ended. */
typedef struct run_reply {
        call *first;
        conn *c;
        uint64_t id;
        bool counted;           /* among the commands C waits for */
} run_reply;

static void run_reply_report(void *userdata, const run_report *rep) {
        run_reply *rr = userdata;
        Lmct__V1__RunResult *res = NULL;
        const status *st = rep->st;
        status oom;
        int r = rep->r;

        if (r >= 0 && !(res = run_result_message(rep->rs, true, rep->error))) {
                r = st_fail(&oom, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
                st = &oom;
        }
        /* A run's answers say "exited" only once it did (show and events
         * say it either way). */
        if (res)
                res->has_exited = rep->rs->exited;
        if (rr->first) {
                call *cl = TAKE_PTR(rr->first);
                log_set_context(&cl->ctx);
                if (r >= 0) {
                        cl->resp->run = res;
                        cl->resp->result_case = LMCT__V1__RESPONSE__RESULT_RUN;
                }
                call_finish(cl, r, st);
                log_set_context(NULL);
                return;
        }
        {
                Lmct__V1__Response *resp = response_new(rr->id, r < 0 ? st : NULL);
                if (!resp) {
                        if (res)
                                lmct__v1__run_result__free_unpacked(res, NULL);
                        return;
                }
                if (r >= 0) {
                        resp->run = res;
                        resp->result_case = LMCT__V1__RESPONSE__RESULT_RUN;
                }
                conn_send(rr->c, resp);
        }
}

static void run_reply_free(void *userdata) {
        run_reply *rr = userdata;

        if (rr->first) {
                /* Its requester went away (or lmctld stops) before it started. */
                status st = { .code = LMCT__V1__CODE__UNAVAILABLE, .msg = "the request was given up" };
                call_finish(TAKE_PTR(rr->first), -ECANCELED, &st);
        }
        if (rr->counted)
                (void)conn_wait_count(rr->c, CONN_COMMANDS, -1);
        conn_unref(rr->c);
        free(rr);
}

/* Claims the caller's stdio (unless DETACH) and makes the sink whose
 * reports answer CL. */
static int run_prepare(call *cl, uint64_t id, bool detach, int fds[3], run_sink *sink, status *st) {
        run_reply *rr;

        fds[0] = fds[1] = fds[2] = -1;
        if (!detach && conn_take_fds(cl->c, fds, 3) < 0)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EBADF,
                               "the request did not carry stdin, stdout and stderr (3 descriptors with SCM_RIGHTS)");
        if (!detach && conn_wait_count(cl->c, CONN_COMMANDS, 1) < 0) {
                conn_release_fds(cl->c, fds, 3);
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -EBUSY, "this connection runs %u commands already",
                               conn_waiting(cl->c, CONN_COMMANDS));
        }
        rr = calloc(1, sizeof *rr);
        if (!rr) {
                if (!detach)
                        (void)conn_wait_count(cl->c, CONN_COMMANDS, -1);
                conn_release_fds(cl->c, fds, detach ? 0 : 3);
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        }
        *rr = (run_reply){ .first = cl, .c = conn_ref(cl->c), .id = id, .counted = !detach };
        *sink = (run_sink){ run_reply_report, run_reply_free, rr };
        return 0;
}

/* The sink was not taken: the request is answered by its handler. */
static void run_unprepare(run_sink *sink) {
        run_reply *rr = sink->userdata;

        rr->first = NULL;
        run_reply_free(rr);
}

static int h_run(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        run_origin o = { .who = cl->who, .owner = cl->c, .id = req->id };
        run_sink sink;
        int fds[3], r;

        NEED(run);
        r = run_prepare(cl, req->id, req->run->detach, fds, &sink, st);
        if (r < 0)
                return r;
        r = runs_start(m, &o, req->run, fds, &sink, st);
        if (r < 0)
                run_unprepare(&sink);
        return r;
}

static int h_exec(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        run_origin o = { .who = cl->who, .owner = cl->c, .id = req->id };
        run_sink sink;
        int fds[3], r;

        NEED(exec);
        r = run_prepare(cl, req->id, false, fds, &sink, st);
        if (r < 0)
                return r;
        r = runs_exec(m, &o, req->exec, fds, &sink, st);
        if (r < 0)
                run_unprepare(&sink);
        return r;
}

static int h_signal(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        NEED(signal);
        return runs_signal(m, cl->c, req->signal->run_id, req->signal->signal, st);
}

static void on_reclaimed(void *userdata, int r, const status *st, Lmct__V1__ReclaimResult *res) {
        call *cl = userdata;

        log_set_context(&cl->ctx);
        if (res) {
                cl->resp->result_case = LMCT__V1__RESPONSE__RESULT_RECLAIM;
                cl->resp->reclaim = res;
        }
        call_finish(cl, r, st);
        log_set_context(NULL);
}

static int h_reclaim(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        NEED(reclaim);
        return manager_reclaim(m, cl->who, req->reclaim->name, req->reclaim->has_bytes, req->reclaim->bytes, st,
                               on_reclaimed, cl);
}

static int h_stats(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        int r;

        NEED(stats);
        r = manager_stats(m, req->stats->name, req->stats->recursive, conn_answer_max(cl->c), &cl->resp->stats, st);
        if (r < 0)
                return r;
        cl->resp->result_case = LMCT__V1__RESPONSE__RESULT_STATS;
        for (size_t i = 0; i < cl->resp->stats->n_stats; i++)
                if (make_relative(cl->who, &cl->resp->stats->stats[i]->name) < 0)
                        return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        return 0;
}

/* A subscription's events, each an answer to its request. */
typedef struct event_reply {
        conn *c;
        uint64_t id;
} event_reply;

static int event_reply_send(void *userdata, Lmct__V1__Event *ev) {
        event_reply *er = userdata;
        Lmct__V1__Response *resp = response_new(er->id, NULL);

        if (!resp) {
                lmct__v1__event__free_unpacked(ev, NULL);
                return -ENOMEM;
        }
        resp->result_case = LMCT__V1__RESPONSE__RESULT_EVENT;
        resp->event = ev;
        conn_send(er->c, resp);
        return conn_alive(er->c) ? 0 : -EPIPE;
}

static size_t event_reply_pending(void *userdata) {
        return conn_output_pending(((event_reply *)userdata)->c);
}

static const char *event_reply_relative(void *userdata, const char *name) {
        return caller_relative(conn_caller(((event_reply *)userdata)->c), name);
}

static void event_reply_free(void *userdata) {
        event_reply *er = userdata;

        conn_unref(er->c);
        free(er);
}

static int h_events(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        char name[LMCT_NAME_MAX + 1];
        event_sink sink = { event_reply_send, event_reply_pending, event_reply_relative, event_reply_free, NULL };
        event_reply *er;
        int r;

        NEED(events);
        r = manager_resolve(m, req->events->name, true, name, sizeof name, st);
        if (r < 0)
                return r;
        er = malloc(sizeof *er);
        if (!er)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        *er = (event_reply){ conn_ref(cl->c), req->id };
        sink.userdata = er;
        r = events_subscribe(conn_events(cl->c), cl->c, cl->who->q, name, req->events, &sink, &cl->resp->event, st);
        if (r < 0) {
                event_reply_free(er);
                return r;
        }
        cl->resp->result_case = LMCT__V1__RESPONSE__RESULT_EVENT;
        return make_relative(cl->who, &cl->resp->event->name) < 0
                       ? st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory")
                       : 0;
}

void dispatch_conn_closed(conn *c) {
        runs_owner_gone(conn_manager(c), c);
        events_owner_gone(conn_events(c), c);
}

/* Counts CL among the requests in flight of its connection and of its
 * principal (released in call_free). */
static int count_in(call *cl, status *st) {
        char why[sizeof st->msg];
        int q;

        if (conn_wait_count(cl->c, CONN_REQUESTS, 1) < 0)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -EBUSY,
                               "too many requests of this connection are waiting for their answer");
        q = quota_take(cl->who->q, Q_WAITS, 1);
        if (q < 0) {
                (void)conn_wait_count(cl->c, CONN_REQUESTS, -1);
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, q, "%s",
                               quota_refusal(cl->who->q, Q_WAITS, q, "has", "requests waiting for their answer", why,
                                             sizeof why));
        }
        cl->counted = true;
        return 0;
}

/* LEVEL: what access to the named container the verb needs (access.h);
 * ROOT_OK: the root ("" or "/") is a valid name for it. */
static const struct verb {
        const char *name;
        handler_fn fn;
        access_level level;
        bool root_ok;
} verbs[] = {
#define V(c, n, f, l, r) [LMCT__V1__REQUEST__VERB_##c - LMCT__V1__REQUEST__VERB_VERSION] = { n, f, l, r }
        V(VERSION, "version", h_version, ACCESS_NONE, false),
        V(CREATE, "create", h_create, ACCESS_CHANGE, false),
        V(UPDATE, "update", h_update, ACCESS_CHANGE, false),
        V(DESTROY, "destroy", h_destroy, ACCESS_CHANGE, false),
        V(LIST, "list", h_list, ACCESS_READ, true),
        V(SHOW, "show", h_show, ACCESS_READ, true),
        V(PS, "ps", h_ps, ACCESS_READ, true),
        V(ENTER, "enter", h_enter, ACCESS_USE, false),
        V(PAUSE, "pause", h_pause, ACCESS_USE, false),
        V(RESUME, "resume", h_resume, ACCESS_USE, false),
        V(KILL, "kill", h_kill, ACCESS_USE, false),
        V(DETECT, "detect", h_detect, ACCESS_NONE, false), /* checked on the answer */
        V(RUN, "run", h_run, ACCESS_USE, false),
        V(EXEC, "exec", h_exec, ACCESS_USE, false),
        V(SIGNAL, "signal", h_signal, ACCESS_NONE, false), /* only this connection's commands */
        V(STATS, "stats", h_stats, ACCESS_READ, true),
        V(EVENTS, "events", h_events, ACCESS_READ, true),
        V(RECLAIM, "reclaim", h_reclaim, ACCESS_USE, false),
#undef V
};

/* The caller's position and ownership, before the verb runs: the name is
 * resolved below the caller's container, then checked. */
static int admit(manager *m, Lmct__V1__Request *req, const struct verb *v, call *cl, status *st) {
        char **field = request_name_field(req), buf[LMCT_NAME_MAX + 2];
        const char *name = field ? *field : NULL;
        access_level level = v->level;
        bool root = true;

        for (const char *p = name ? name : ""; *p; p++)
                if (*p != '/') {
                        root = false;
                        break;
                }
        /* The caller's root is the root for it: verbs that refuse the root
         * refuse it too, so it is left for them to refuse, as is a name
         * that is not valid as the caller wrote it. */
        if (field && cl->who->view[0] && (!root || v->root_ok) &&
            lmct_name_check(name ? name : "", name ? strlen(name) : 0, m->max_depth, true, NULL, NULL, 0) >= 0) {
                const char *full = caller_resolve(cl->who, name, buf, sizeof buf);
                char *copy = strdup(full);
                if (!copy)
                        return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
                free(*field);
                *field = copy;
                name = copy;
                free(cl->container);
                cl->container = strdup(copy);
                cl->ctx.container = cl->container;
                root = false;
        }
        if (!field || level == ACCESS_NONE || caller_is_admin(cl->who))
                return 0;
        /* A list of the root shows what the caller owns. */
        if (root && req->verb_case == LMCT__V1__REQUEST__VERB_LIST)
                return 0;
        /* A command that creates its container or sets limits changes it. */
        if (req->verb_case == LMCT__V1__REQUEST__VERB_RUN && req->run &&
            (req->run->remove || climits_any(req->run->limits)))
                level = ACCESS_CHANGE;
        return access_check(m, cl->who, name, level, st);
}

void dispatch(conn *c, manager *m, Lmct__V1__Request *req) {
        unsigned idx = (unsigned)req->verb_case - LMCT__V1__REQUEST__VERB_VERSION;
        status st = { .code = LMCT__V1__CODE__OK };
        call *cl;
        int r;

        cl = calloc(1, sizeof *cl);
        if (!cl)
                return;
        cl->c = conn_ref(c);
        cl->resp = response_new(req->id, NULL);
        cl->verb = idx < ELEMENTSOF(verbs) && verbs[idx].fn ? verbs[idx].name : "?";
        if (request_container(req))
                cl->container = strdup(request_container(req));
        cl->who = conn_caller(c);
        cl->ctx = (log_context){ .verb = cl->verb, .container = cl->container, .pid = cl->who->pid,
                                 .uid = cl->who->uid };
        if (!cl->resp) {
                call_free(cl);
                return;
        }
        log_set_context(&cl->ctx);
        if (idx >= ELEMENTSOF(verbs) || !verbs[idx].fn) {
                r = st_fail(&st, LMCT__V1__CODE__UNIMPLEMENTED, -EOPNOTSUPP,
                            "the request names no verb this daemon knows (protocol version %d)",
                            LMCT_PROTOCOL_VERSION);
                call_finish(cl, r, &st);
                log_set_context(NULL);
                return;
        }
        r = admit(m, req, &verbs[idx], cl, &st);
        if (r >= 0)
                r = count_in(cl, &st);
        if (r < 0) {
                call_finish(cl, r, &st);
                log_set_context(NULL);
                return;
        }
        if (log_max_level >= LOG_DEBUG) {
                struct timespec a, b;
                clock_gettime(CLOCK_MONOTONIC, &a);
                r = verbs[idx].fn(m, req, cl, &st);
                clock_gettime(CLOCK_MONOTONIC, &b);
                log_debug("%s (id %llu): %s in %.0f us", cl->verb, (unsigned long long)req->id,
                          r == MANAGER_PENDING ? "waiting" : r < 0 ? "failed" : "done",
                          (double)(b.tv_sec - a.tv_sec) * 1e6 + (double)(b.tv_nsec - a.tv_nsec) / 1e3);
        } else
                r = verbs[idx].fn(m, req, cl, &st);
        if (r != MANAGER_PENDING)
                call_finish(cl, r, &st);
        log_set_context(NULL);
}
