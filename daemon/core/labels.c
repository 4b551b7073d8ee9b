#include "labels.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "util.h"

typedef struct kv {
        const char *k, *v;
        size_t kl, vl;
} kv;

/* The lines of TEXT into OUT (at most MAX); a line without '=' is
 * skipped (the attribute is lmctld's, but root can write it). */
static size_t parse(const char *text, kv *out, size_t max) {
        size_t n = 0;

        for (const char *line = text; *line && n < max;) {
                const char *nl = strchr(line, '\n'), *end = nl ? nl : line + strlen(line);
                const char *eq = memchr(line, '=', (size_t)(end - line));
                if (eq && eq > line)
                        out[n++] = (kv){ line, eq + 1, (size_t)(eq - line), (size_t)(end - eq - 1) };
                line = nl ? nl + 1 : end;
        }
        return n;
}

static bool key_is(const kv *e, const char *key) {
        return e->kl == strlen(key) && memcmp(e->k, key, e->kl) == 0;
}

static int kv_cmp(const void *a, const void *b) {
        const kv *x = a, *y = b;
        int c = memcmp(x->k, y->k, x->kl < y->kl ? x->kl : y->kl);

        return c ? c : (x->kl > y->kl) - (x->kl < y->kl);
}

int labels_read(const manager *m, int fd, char *buf, size_t len) {
        ssize_t n;

        buf[0] = '\0';
        if (!m->labels_xattr)
                return 0;
        n = fgetxattr(fd, m->labels_xattr, buf, len - 1);
        if (n < 0)
                return errno == ENODATA || errno == ENOTSUP ? 0 : negerrno();
        buf[n] = '\0';
        return 0;
}

int labels_edit(const char *old, const label_change *lc, char *out, size_t len, status *st) {
        kv all[LMCT_LABELS_MAX * 2];
        size_t n = parse(old, all, LMCT_LABELS_MAX), used = 0;

        for (size_t i = 0; i < lc->n_remove; i++) {
                const char *why = lmct_label_problem(lc->remove[i], NULL);
                if (why)
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "label to remove %zu: %s", i + 1,
                                       why);
                for (size_t j = 0; j < n; j++)
                        if (key_is(&all[j], lc->remove[i])) {
                                all[j] = all[--n];
                                break;
                        }
        }
        for (size_t i = 0; i < lc->n_set; i++) {
                const Lmct__V1__Label *l = lc->set[i];
                const char *v = l->value ? l->value : "", *why = lmct_label_problem(l->key, v);
                size_t j;
                if (why)
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "label %zu: %s", i + 1, why);
                for (j = 0; j < i; j++)
                        if (strcmp(lc->set[j]->key, l->key) == 0)
                                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                                               "label key \"%s\" is given twice", l->key);
                for (j = 0; j < lc->n_remove; j++)
                        if (strcmp(lc->remove[j], l->key) == 0)
                                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL,
                                               "label key \"%s\" is both set and removed", l->key);
                for (j = 0; j < n && !key_is(&all[j], l->key); j++)
                        ;
                if (j == n) {
                        if (n == ELEMENTSOF(all))
                                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -E2BIG,
                                               "more than %d labels on one container", LMCT_LABELS_MAX);
                        n++;
                }
                all[j] = (kv){ l->key, v, strlen(l->key), strlen(v) };
        }
        if (n > LMCT_LABELS_MAX)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -E2BIG,
                               "%zu labels: at most %d on one container", n, LMCT_LABELS_MAX);
        qsort(all, n, sizeof *all, kv_cmp);
        for (size_t i = 0; i < n; i++)
                used += all[i].kl + all[i].vl + 2;
        if (used > LMCT_LABELS_BYTES_MAX || used >= len)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -E2BIG,
                               "the labels take %zu bytes: at most %d on one container", used,
                               LMCT_LABELS_BYTES_MAX);
        used = 0;
        for (size_t i = 0; i < n; i++) {
                memcpy(out + used, all[i].k, all[i].kl);
                used += all[i].kl;
                out[used++] = '=';
                memcpy(out + used, all[i].v, all[i].vl);
                used += all[i].vl;
                out[used++] = '\n';
        }
        out[used] = '\0';
        return 0;
}

int labels_write(const manager *m, int fd, const char *text) {
        if (!m->labels_xattr)
                return -EOPNOTSUPP;
        if (!*text)
                return fremovexattr(fd, m->labels_xattr) < 0 && errno != ENODATA ? negerrno() : 0;
        return fsetxattr(fd, m->labels_xattr, text, strlen(text), 0) < 0 ? negerrno() : 0;
}

int labels_to_proto(const char *text, Lmct__V1__Label ***ret, size_t *n_ret) {
        kv all[LMCT_LABELS_MAX];
        size_t n = parse(text, all, LMCT_LABELS_MAX);
        Lmct__V1__Label **v;

        *ret = NULL;
        *n_ret = 0;
        if (n == 0)
                return 0;
        v = calloc(n, sizeof *v);
        if (!v)
                return -ENOMEM;
        *ret = v;
        for (size_t i = 0; i < n; i++) {
                if (!(v[i] = malloc(sizeof *v[i])))
                        return -ENOMEM;
                lmct__v1__label__init(v[i]);
                *n_ret = i + 1;
                v[i]->key = strndup(all[i].k, all[i].kl);
                v[i]->value = strndup(all[i].v, all[i].vl);
                if (!v[i]->key || !v[i]->value)
                        return -ENOMEM;
        }
        return 0;
}

int labels_check_selector(Lmct__V1__Label *const *sel, size_t n, status *st) {
        if (n > LMCT_LABELS_MAX)
                return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -E2BIG, "%zu selectors: at most %d", n,
                               LMCT_LABELS_MAX);
        for (size_t i = 0; i < n; i++) {
                const char *why = lmct_label_problem(sel[i]->key, sel[i]->value);
                if (why)
                        return st_fail(st, LMCT__V1__CODE__INVALID_ARGUMENT, -EINVAL, "selector %zu: %s", i + 1, why);
        }
        return 0;
}

bool labels_match(const char *text, Lmct__V1__Label *const *sel, size_t n) {
        kv all[LMCT_LABELS_MAX];
        size_t have = parse(text, all, LMCT_LABELS_MAX);

        for (size_t i = 0; i < n; i++) {
                size_t j;
                for (j = 0; j < have && !key_is(&all[j], sel[i]->key); j++)
                        ;
                if (j == have)
                        return false;
                if (sel[i]->value && (all[j].vl != strlen(sel[i]->value) ||
                                      memcmp(all[j].v, sel[i]->value, all[j].vl) != 0))
                        return false;
        }
        return true;
}
