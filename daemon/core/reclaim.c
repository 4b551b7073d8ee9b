/* reclaim: proactive reclaim through memory.reclaim.
 *
 * A write to memory.reclaim returns once the kernel has reclaimed what was
 * asked or found nothing more, which may take a while: it is done in a
 * thread (offload.h) while the request waits, never in the loop. The work
 * is bounded three ways: at most 2 reclaims per principal and 16 in all
 * (Q_RECLAIMS), and each asks for no more than the container's usage, so
 * that a tenant whose processes allocate as fast as the kernel reclaims
 * cannot keep a thread busy for ever. */
#include "manager-internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "list.h"
#include "lmct-limits.h"
#include "lmct-name.h"
#include "log.h"
#include "offload.h"
#include "quota.h"
#include "util.h"

struct reclaim {
        manager *m;
        quota *q;                /* given back in the loop; NULL once given */
        offload *load;
        int fd;                  /* the container's cgroup directory */
        uint64_t bytes, asked, before, after;
        int result;              /* of the write: 0 or a negative errno */
        bool has_after;
        char name[LMCT_NAME_MAX + 1];
        reclaim_done_fn done;
        void *userdata;
        LIST_FIELDS(reclaim, reclaims);
};

/* In the thread: touches nothing but RC. */
static void reclaim_work(void *p) {
        reclaim *rc = p;
        char value[24];

        snprintf(value, sizeof value, "%llu", (unsigned long long)rc->asked);
        rc->result = cg_write(rc->fd, "memory.reclaim", value);
        rc->has_after = cg_read_u64(rc->fd, "memory.current", &rc->after) >= 0;
}

/* In the thread once abandoned, or in the loop. */
static void reclaim_free(void *p) {
        reclaim *rc = p;

        if (rc->fd >= 0)
                close(rc->fd);
        free(rc);
}

/* Leaves the loop's side: the list and the principal's count. */
static void reclaim_detach(reclaim *rc) {
        LIST_REMOVE(reclaims, rc->m->reclaims, rc);
        quota_give(rc->q, Q_RECLAIMS, 1);
        quota_unref(rc->q);
        rc->q = NULL;
}

static void reclaim_done(void *p) {
        reclaim *rc = p;
        Lmct__V1__ReclaimResult *res = NULL;
        char a[32], b[32], c[32];
        status st = { 0 };
        int r = rc->result;

        reclaim_detach(rc);
        if (r == -EAGAIN)
                r = 0; /* the kernel found no more: a result, not a failure */
        if (r < 0)
                st_fail(&st, st_code_from_errno(r), r, "cannot reclaim memory of %s: memory.reclaim: %s", rc->name,
                        strerror(-r));
        else if (!(res = malloc(sizeof *res)))
                r = st_fail(&st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        else {
                lmct__v1__reclaim_result__init(res);
                res->has_requested = res->has_complete = res->has_memory_before = true;
                res->requested = rc->asked;
                res->complete = rc->result == 0 && rc->asked == rc->bytes;
                res->memory_before = rc->before;
                res->has_memory_after = rc->has_after;
                res->memory_after = rc->after;
                log_info("reclaim %s: asked %s, memory %s -> %s%s", rc->name, lmct_format_size(rc->asked, a, sizeof a),
                         lmct_format_size(rc->before, b, sizeof b),
                         rc->has_after ? lmct_format_size(rc->after, c, sizeof c) : "?",
                         res->complete ? "" : " (not all of it)");
        }
        rc->done(rc->userdata, r, &st, res);
        reclaim_free(rc);
}

int manager_reclaim(manager *m, const caller *who, const char *name, bool has_bytes, uint64_t bytes, status *st,
                    reclaim_done_fn done, void *userdata) {
        uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
        char path[LMCT_NAME_MAX + 1];
        _cleanup_close_ int fd = -1;
        reclaim *rc;
        node *n;
        int r;

        r = find_node(m, name, false, st, &n);
        if (r < 0)
                return r;
        tree_path(n, path, sizeof path);
        if (!has_bytes || bytes < page)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                               "reclaim: give the bytes to reclaim, at least one page (%llu bytes)",
                               (unsigned long long)page);
        /* The container's memory is accounted on its own once the
         * controller is on down to it, as for a limit. */
        r = ensure_controllers(m, n->parent, CG_MASK(CG_MEMORY), st);
        if (r < 0)
                return r;
        fd = open_node(m, n, st);
        if (fd < 0)
                return fd;
        rc = calloc(1, sizeof *rc);
        if (!rc)
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, -ENOMEM, "out of memory");
        *rc = (reclaim){ .m = m, .fd = -1, .bytes = bytes, .done = done, .userdata = userdata };
        snprintf(rc->name, sizeof rc->name, "%s", path);
        r = cg_read_u64(fd, "memory.current", &rc->before);
        if (r < 0) {
                free(rc);
                return st_fail(st, st_code_from_errno(r), r, "cannot read memory.current of %s: %s", path,
                               strerror(-r));
        }
        rc->asked = bytes < rc->before / page * page ? bytes : rc->before / page * page;
        r = quota_take(who->q, Q_RECLAIMS, 1);
        if (r < 0) {
                free(rc);
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, r,
                               "%s has %llu reclaims in progress already (at most %llu%s)", quota_key(who->q),
                               (unsigned long long)quota_used(who->q, Q_RECLAIMS),
                               (unsigned long long)(r == -EDQUOT ? quota_limit(who->q, Q_RECLAIMS)
                                                                 : quota_global_limit(Q_RECLAIMS)),
                               r == -EDQUOT ? "" : " in all, some kept for root");
        }
        rc->q = quota_ref(who->q);
        rc->fd = TAKE_FD(fd);
        LIST_PREPEND(reclaims, m->reclaims, rc);
        r = offload_start(m->base, reclaim_work, reclaim_done, reclaim_free, rc, &rc->load);
        if (r < 0) {
                reclaim_detach(rc);
                reclaim_free(rc);
                return st_fail(st, LMCT__V1__CODE__RESOURCE_EXHAUSTED, r, "cannot start a thread: %s", strerror(-r));
        }
        return MANAGER_PENDING;
}

void manager_reclaims_abandon(manager *m) {
        status st = { .code = LMCT__V1__CODE__UNAVAILABLE };

        snprintf(st.msg, sizeof st.msg, "lmctld is shutting down");
        while (m->reclaims) {
                reclaim *rc = m->reclaims;
                reclaim_done_fn done = rc->done;
                void *userdata = rc->userdata;

                reclaim_detach(rc);
                /* The thread frees RC once the kernel returns. */
                offload_abandon(rc->load);
                done(userdata, -ECANCELED, &st, NULL);
        }
}
