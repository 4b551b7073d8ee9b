#include "quota.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "list.h"

struct quota {
        char *key;
        bool privileged;
        unsigned refs;
        uint64_t used[_Q_MAX];
        LIST_FIELDS(quota, all);
};

/* Per principal, in all, and kept for the privileged out of "in all". */
static struct bound {
        const char *name;
        uint64_t per, global, reserve;
        unsigned fds_each;      /* descriptors lmctld holds for one */
} bounds[_Q_MAX] = {
        [Q_CONNS] = { "connections", 64, 1024, 64, 3 },
        [Q_FDS] = { "descriptors sent and not yet released", 256, 4096, 256, 1 },
        [Q_RUNS] = { "commands", 256, 4096, 256, 2 },
        [Q_SUBS] = { "event subscriptions", 256, 4096, 256, 0 },
        [Q_TRIGGERS] = { "pressure triggers", 64, 1024, 64, 1 },
        [Q_THRESHOLDS] = { "memory thresholds", 64, 1024, 64, 2 },
        [Q_WAITS] = { "requests in flight", 256, 4096, 256, 1 },
        [Q_OUTPUT] = { "bytes of answers not yet read", 16u << 20, 256u << 20, 32u << 20, 0 },
        [Q_RECLAIMS] = { "reclaims in progress", 2, 16, 2, 3 },
};

static quota *principals;
/* In all, and by the unprivileged principals together. */
static uint64_t total[_Q_MAX], unprivileged[_Q_MAX];

quota *quota_get(const char *key, bool privileged) {
        quota *q;

        LIST_FOREACH(all, q, principals)
                if (q->privileged == privileged && strcmp(q->key, key) == 0)
                        return quota_ref(q);
        q = calloc(1, sizeof *q);
        if (!q || !(q->key = strdup(key))) {
                free(q);
                return NULL;
        }
        q->privileged = privileged;
        q->refs = 1;
        LIST_PREPEND(all, principals, q);
        return q;
}

quota *quota_ref(quota *q) {
        if (q)
                q->refs++;
        return q;
}

void quota_unref(quota *q) {
        if (!q || --q->refs > 0)
                return;
        LIST_REMOVE(all, principals, q);
        free(q->key);
        free(q);
}

static int check(const quota *q, quota_kind k, uint64_t n) {
        const struct bound *b = &bounds[k];

        if (q->privileged)
                return total[k] + n > b->global ? -ENFILE : 0;
        if (q->used[k] + n > b->per)
                return -EDQUOT;
        if (unprivileged[k] + n > b->global - b->reserve)
                return -ENFILE;
        return 0;
}

static void add(quota *q, quota_kind k, int64_t delta) {
        uint64_t d = delta < 0 ? (uint64_t)-delta : (uint64_t)delta;

        if (delta < 0) {
                /* Never below zero: a give without its take is a bug, not a
                 * reason to wrap around and lock everyone out. */
                d = d > q->used[k] ? q->used[k] : d;
                q->used[k] -= d;
                total[k] -= d;
                if (!q->privileged)
                        unprivileged[k] -= d;
                return;
        }
        q->used[k] += d;
        total[k] += d;
        if (!q->privileged)
                unprivileged[k] += d;
}

int quota_take(quota *q, quota_kind k, uint64_t n) {
        int r = check(q, k, n);

        if (r < 0)
                return r;
        add(q, k, (int64_t)n);
        return 0;
}

void quota_give(quota *q, quota_kind k, uint64_t n) {
        add(q, k, -(int64_t)n);
}

int quota_adjust(quota *q, quota_kind k, int64_t delta) {
        add(q, k, delta);
        return check(q, k, 0);
}

bool quota_over(const quota *q, quota_kind k, bool half) {
        const struct bound *b = &bounds[k];
        uint64_t div = half ? 2 : 1;

        if (q->privileged)
                return total[k] >= b->global / div;
        return q->used[k] >= b->per / div || unprivileged[k] >= (b->global - b->reserve) / div;
}

uint64_t quota_used(const quota *q, quota_kind k) {
        return q->used[k];
}

const char *quota_key(const quota *q) {
        return q->key;
}

bool quota_privileged(const quota *q) {
        return q->privileged;
}

uint64_t quota_limit(const quota *q, quota_kind k) {
        return q->privileged ? UINT64_MAX : bounds[k].per;
}

uint64_t quota_global_limit(quota_kind k) {
        return bounds[k].global;
}

const char *quota_refusal(const quota *q, quota_kind k, int r, const char *verb, const char *what, char *buf,
                          size_t len) {
        snprintf(buf, len, "%s %s %llu %s already (at most %llu%s)", quota_key(q), verb,
                 (unsigned long long)quota_used(q, k), what,
                 (unsigned long long)(r == -EDQUOT ? quota_limit(q, k) : quota_global_limit(k)),
                 r == -EDQUOT ? "" : " in all, some kept for root");
        return buf;
}

const char *quota_kind_name(quota_kind k) {
        return bounds[k].name;
}

uint64_t quota_descriptors_needed(void) {
        uint64_t n = 0;

        for (int k = 0; k < _Q_MAX; k++)
                n += bounds[k].global * bounds[k].fds_each;
        return n;
}

void quota_scale(uint64_t num, uint64_t den) {
        for (int k = 0; k < _Q_MAX; k++) {
                struct bound *b = &bounds[k];
                if (!b->fds_each)
                        continue;
                b->global = b->global * num / den;
                b->reserve = b->reserve * num / den;
                if (b->global < 2)
                        b->global = 2;
                if (b->reserve >= b->global)
                        b->reserve = b->global / 2;
                if (b->per > b->global - b->reserve)
                        b->per = b->global - b->reserve;
        }
}

void quota_set_limits(quota_kind k, uint64_t per_principal, uint64_t global, uint64_t reserve) {
        bounds[k].per = per_principal;
        bounds[k].global = global;
        bounds[k].reserve = reserve < global ? reserve : global;
}
