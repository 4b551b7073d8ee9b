#include "dispatch.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lmct-client.h"
#include "log.h"
#include "runs.h"
#include "util.h"

/* A request being answered; outlives the call for operations that wait. */
typedef struct call {
        conn *c;
        Lmct__V1__Response *resp;
        const char *verb;
        log_context ctx;
        char *container;
} call;

typedef int (*handler_fn)(manager *m, const Lmct__V1__Request *req, call *cl, status *st);

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
        if (cl->resp)
                lmct__v1__response__free_unpacked(cl->resp, NULL);
        conn_unref(cl->c);
        free(cl->container);
        free(cl);
}

/* Sends CL's response with the outcome R / ST and frees CL. */
static void call_finish(call *cl, int r, const status *st) {
        Lmct__V1__Response *resp = TAKE_PTR(cl->resp);

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

/* The container a request names: the "name" field of its verb's message. */
static const char *request_container(const Lmct__V1__Request *req) {
        const ProtobufCFieldDescriptor *f, *nf;
        const ProtobufCMessage *sub;

        f = protobuf_c_message_descriptor_get_field(&lmct__v1__request__descriptor, (unsigned)req->verb_case);
        if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
                return NULL;
        sub = *(const ProtobufCMessage *const *)((const char *)req + f->offset);
        if (!sub)
                return NULL;
        nf = protobuf_c_message_descriptor_get_field_by_name(sub->descriptor, "name");
        if (!nf || nf->type != PROTOBUF_C_TYPE_STRING || nf->label == PROTOBUF_C_LABEL_REPEATED)
                return NULL;
        return *(const char *const *)((const char *)sub + nf->offset);
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
        (void)cl;
        NEED(create);
        return manager_create(m, req->create->name, req->create->limits, req->create->parents, st);
}

static int h_update(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        (void)cl;
        NEED(update);
        return manager_update(m, req->update->name, req->update->limits, st);
}

static int h_destroy(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        NEED(destroy);
        return manager_destroy(m, req->destroy->name, req->destroy->recursive, req->destroy->force, st, on_done, cl);
}

static int h_list(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        int r;

        NEED(list);
        r = manager_list(m, req->list->name, req->list->recursive, &cl->resp->list, st);
        if (r >= 0)
                cl->resp->result_case = LMCT__V1__RESPONSE__RESULT_LIST;
        return r;
}

static int h_show(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        int r;

        NEED(show);
        r = manager_show(m, req->show->name, &cl->resp->show, st);
        if (r >= 0)
                cl->resp->result_case = LMCT__V1__RESPONSE__RESULT_SHOW;
        return r;
}

static int h_ps(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        int r;

        NEED(ps);
        r = manager_ps(m, req->ps->name, req->ps->recursive, &cl->resp->ps, st);
        if (r >= 0)
                cl->resp->result_case = LMCT__V1__RESPONSE__RESULT_PS;
        return r;
}

static int h_enter(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        (void)cl;
        NEED(enter);
        return manager_enter(m, req->enter->name, req->enter->pids, req->enter->n_pids, st);
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
        if (r < 0)
                return r;
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

static int h_run(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        int r;

        NEED(run);
        r = runs_start(m, cl->c, req->id, req->run, &cl->resp->run, st);
        if (r >= 0)
                cl->resp->result_case = LMCT__V1__RESPONSE__RESULT_RUN;
        return r;
}

static int h_exec(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        int r;

        NEED(exec);
        r = runs_exec(m, cl->c, req->id, req->exec, &cl->resp->run, st);
        if (r >= 0)
                cl->resp->result_case = LMCT__V1__RESPONSE__RESULT_RUN;
        return r;
}

static int h_signal(manager *m, const Lmct__V1__Request *req, call *cl, status *st) {
        NEED(signal);
        return runs_signal(m, cl->c, req->signal->run_id, req->signal->signal, st);
}

void dispatch_conn_closed(conn *c) {
        runs_conn_closed(conn_manager(c), c);
}

static const struct verb {
        const char *name;
        handler_fn fn;
} verbs[] = {
#define V(c, n, f) [LMCT__V1__REQUEST__VERB_##c - LMCT__V1__REQUEST__VERB_VERSION] = { n, f }
        V(VERSION, "version", h_version),
        V(CREATE, "create", h_create),
        V(UPDATE, "update", h_update),
        V(DESTROY, "destroy", h_destroy),
        V(LIST, "list", h_list),
        V(SHOW, "show", h_show),
        V(PS, "ps", h_ps),
        V(ENTER, "enter", h_enter),
        V(PAUSE, "pause", h_pause),
        V(RESUME, "resume", h_resume),
        V(KILL, "kill", h_kill),
        V(DETECT, "detect", h_detect),
        V(RUN, "run", h_run),
        V(EXEC, "exec", h_exec),
        V(SIGNAL, "signal", h_signal),
#undef V
};

void dispatch(conn *c, manager *m, const Lmct__V1__Request *req) {
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
        cl->ctx = (log_context){ .verb = cl->verb, .container = cl->container };
        conn_peer(c, &cl->ctx.pid, &cl->ctx.uid);
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
