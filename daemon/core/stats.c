/* stats: a container's counters, as the kernel keeps them. */
#include "manager-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "climits.h"
#include "lmct-name.h"
#include "util.h"

/* The "key value" lines of FILE as counters. */
static int read_counters(int fd, const char *file, Lmct__V1__Counter ***ret, size_t *n_ret) {
        _cleanup_free_ char *buf = NULL;
        Lmct__V1__Counter **v = NULL;
        size_t n = 0, alloc = 0;
        char *line, *save = NULL;

        if (cg_read_all(fd, file, &buf, NULL) < 0)
                return 0; /* absent: the controller is not enabled here */
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char key[64];
                unsigned long long val;
                Lmct__V1__Counter *c;

                if (sscanf(line, "%63s %llu", key, &val) != 2)
                        continue;
                if (n == alloc) {
                        size_t na = alloc ? alloc * 2 : 16;
                        Lmct__V1__Counter **nv = realloc(v, na * sizeof *nv);
                        if (!nv)
                                goto oom;
                        v = nv;
                        alloc = na;
                }
                c = malloc(sizeof *c);
                if (!c)
                        goto oom;
                lmct__v1__counter__init(c);
                c->key = strdup(key);
                c->has_value = true;
                c->value = val;
                v[n++] = c;
                if (!c->key)
                        goto oom;
        }
        *ret = v;
        *n_ret = n;
        return 0;
oom:
        for (size_t i = 0; i < n; i++)
                lmct__v1__counter__free_unpacked(v[i], NULL);
        free(v);
        return -ENOMEM;
}

Lmct__V1__Pressure *pressure_message(const cg_pressure *c) {
        Lmct__V1__Pressure *p = malloc(sizeof *p);

        if (!p)
                return NULL;
        lmct__v1__pressure__init(p);
        p->has_avg10 = p->has_avg60 = p->has_avg300 = p->has_total_us = true;
        p->avg10 = c->avg10;
        p->avg60 = c->avg60;
        p->avg300 = c->avg300;
        p->total_us = c->total_us;
        return p;
}

/* The "some" and "full" lines of FILE ("cpu.pressure"). */
static int read_pressure(int fd, const char *file, Lmct__V1__Pressure **some, Lmct__V1__Pressure **full) {
        char buf[512];
        cg_pressure p;

        if (cg_read(fd, file, buf, sizeof buf) < 0)
                return 0;
        if (cg_parse_pressure(buf, "some", &p) == 0 && !(*some = pressure_message(&p)))
                return -ENOMEM;
        if (cg_parse_pressure(buf, "full", &p) == 0 && !(*full = pressure_message(&p)))
                return -ENOMEM;
        return 0;
}

/* "MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.. dbytes=.. dios=.." lines. */
static int read_io(int fd, Lmct__V1__IoStat ***ret, size_t *n_ret) {
        _cleanup_free_ char *buf = NULL;
        char *line, *save = NULL;
        size_t n = 0;

        if (cg_read_all(fd, "io.stat", &buf, NULL) < 0)
                return 0;
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char dev[32];
                unsigned long long rb = 0, wb = 0, ri = 0, wi = 0;
                Lmct__V1__IoStat **nv, *io;

                if (sscanf(line, "%31s rbytes=%llu wbytes=%llu rios=%llu wios=%llu", dev, &rb, &wb, &ri, &wi) != 5)
                        continue;
                nv = realloc(*ret, (n + 1) * sizeof *nv);
                if (!nv)
                        return -ENOMEM;
                *ret = nv;
                io = malloc(sizeof *io);
                if (!io)
                        return -ENOMEM;
                lmct__v1__io_stat__init(io);
                io->device = strdup(dev);
                io->has_rbytes = io->has_wbytes = io->has_rios = io->has_wios = true;
                io->rbytes = rb;
                io->wbytes = wb;
                io->rios = ri;
                io->wios = wi;
                nv[n++] = io;
                *n_ret = n;
                if (!io->device)
                        return -ENOMEM;
        }
        return 0;
}

/* Each page size's huge pages, where the controller is enabled. */
static int read_hugetlb(int fd, Lmct__V1__Stats *s) {
        char names[CG_PAGE_SIZES_MAX][16];
        size_t n = cg_page_sizes(names);
        cg_hugetlb hs;

        for (size_t i = 0; i < n; i++) {
                Lmct__V1__HugetlbStat **nv, *h;

                if (cg_read_hugetlb(fd, names[i], &hs) < 0)
                        continue;
                nv = realloc(s->hugetlb, (s->n_hugetlb + 1) * sizeof *nv);
                if (!nv)
                        return -ENOMEM;
                s->hugetlb = nv;
                h = malloc(sizeof *h);
                if (!h)
                        return -ENOMEM;
                lmct__v1__hugetlb_stat__init(h);
                nv[s->n_hugetlb++] = h;
                h->page_size = strdup(names[i]);
                h->has_current = true;
                h->current = hs.current;
                h->has_max = hs.has_max;
                h->max = hs.max;
                h->has_limit_hits = hs.has_hits;
                h->limit_hits = hs.limit_hits;
                if (!h->page_size)
                        return -ENOMEM;
        }
        return 0;
}

static int stats_of(manager *m, node *n, Lmct__V1__Stats **ret) {
        char path[LMCT_NAME_MAX + 1];
        _cleanup_pb_ Lmct__V1__Limits *own = NULL;
        Lmct__V1__Stats *s;
        status ignored;
        _cleanup_close_ int owned = -1;
        int fd, r;

        fd = node_fd(m, n, &ignored, &owned);
        if (fd < 0)
                return fd;
        s = malloc(sizeof *s);
        if (!s)
                return -ENOMEM;
        lmct__v1__stats__init(s);
        *ret = s;
        s->name = strdup(n->parent ? tree_path(n, path, sizeof path) : "/");
        s->usage = malloc(sizeof *s->usage);
        if (!s->name || !s->usage)
                return -ENOMEM;
        lmct__v1__usage__init(s->usage);
        r = read_usage(fd, s->usage);
        if (r >= 0)
                r = read_counters(fd, "memory.stat", &s->memory_stat, &s->n_memory_stat);
        if (r >= 0)
                r = read_counters(fd, "memory.events", &s->memory_events, &s->n_memory_events);
        if (r >= 0)
                r = read_counters(fd, "pids.events", &s->pids_events, &s->n_pids_events);
        for (size_t i = 0; r >= 0 && i < s->n_pids_events; i++)
                if (strcmp(s->pids_events[i]->key, "max") == 0) {
                        s->has_pids_limit_hits = true;
                        s->pids_limit_hits = s->pids_events[i]->value;
                }
        if (r >= 0)
                r = read_io(fd, &s->io, &s->n_io);
        if (r >= 0)
                r = read_hugetlb(fd, s);
        if (r >= 0)
                r = read_pressure(fd, "cpu.pressure", &s->cpu_some, &s->cpu_full);
        if (r >= 0)
                r = read_pressure(fd, "memory.pressure", &s->memory_some, &s->memory_full);
        if (r >= 0)
                r = read_pressure(fd, "io.pressure", &s->io_some, &s->io_full);
        if (r >= 0 && n->parent && (r = climits_read(fd, &own)) >= 0)
                r = effective_limits(m, n, own, fd, &s->effective);
        return r;
}

static int stats_walk(manager *m, node *n, bool recursive, Lmct__V1__StatsResult *res, size_t *room) {
        Lmct__V1__Stats **nv = realloc(res->stats, (res->n_stats + 1) * sizeof *nv);
        int r;

        if (!nv)
                return -ENOMEM;
        res->stats = nv;
        nv[res->n_stats] = NULL;
        r = stats_of(m, n, &nv[res->n_stats]);
        if (nv[res->n_stats]) {
                size_t sz = lmct__v1__stats__get_packed_size(nv[res->n_stats]) + 8;
                res->n_stats++;
                if (r >= 0 && sz > *room)
                        return -EMSGSIZE;
                *room -= r >= 0 ? sz : 0;
        }
        if (r < 0)
                return r;
        for (size_t i = 0; recursive && i < n->n_children; i++) {
                r = stats_walk(m, n->children[i], true, res, room);
                if (r < 0)
                        return r;
        }
        return 0;
}

int manager_stats(manager *m, const char *name, bool recursive, size_t max_bytes, Lmct__V1__StatsResult **ret,
                  status *st) {
        _cleanup_pb_ Lmct__V1__StatsResult *res = NULL;
        size_t room = max_bytes;
        node *n;
        int r;

        r = find_node(m, name, true, st, &n);
        if (r < 0)
                return r;
        res = malloc(sizeof *res);
        if (!res)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        lmct__v1__stats_result__init(res);
        r = stats_walk(m, n, recursive, res, &room);
        if (r < 0) {
                char path[LMCT_NAME_MAX + 1];
                if (r == -EMSGSIZE)
                        return answer_too_big(st, max_bytes);
                return st_fail(st, st_code_from_errno(r), r, "cannot read the statistics of %s: %s", NODE_NAME(n, path),
                               strerror(-r));
        }
        *ret = TAKE_PTR(res);
        return 0;
}
