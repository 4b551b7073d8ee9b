#include "tree.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

node *tree_new_root(void) {
        node *n = calloc(1, sizeof *n);

        if (!n)
                return NULL;
        n->name = strdup("");
        if (!n->name) {
                free(n);
                return NULL;
        }
        n->max_desc = n->max_depth = UINT_MAX;
        return n;
}

node *tree_free(node *n) {
        if (!n)
                return NULL;
        for (size_t i = 0; i < n->n_children; i++)
                tree_free(n->children[i]);
        free(n->children);
        free(n->name);
        free(n->last_run);
        free(n);
        return NULL;
}

static int cmp_name(const char *a, size_t alen, const char *b) {
        int c = strncmp(a, b, alen);
        if (c != 0)
                return c;
        return b[alen] == '\0' ? 0 : -1;
}

/* Binary search: index of NAME, or where it would go (and *FOUND false). */
static size_t find(const node *parent, const char *name, size_t len, bool *found) {
        size_t lo = 0, hi = parent->n_children;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = cmp_name(name, len, parent->children[mid]->name);
                if (c == 0) {
                        *found = true;
                        return mid;
                }
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        *found = false;
        return lo;
}

node *tree_child(const node *parent, const char *name, size_t len) {
        bool found;
        size_t i = find(parent, name, len, &found);

        return found ? parent->children[i] : NULL;
}

int tree_add(node *parent, const char *name, node **ret) {
        bool found;
        size_t i = find(parent, name, strlen(name), &found);
        node *n;

        if (found)
                return -EEXIST;
        if (parent->n_children == parent->n_alloc) {
                size_t na = parent->n_alloc ? parent->n_alloc * 2 : 4;
                node **nc = realloc(parent->children, na * sizeof *nc);
                if (!nc)
                        return -ENOMEM;
                parent->children = nc;
                parent->n_alloc = na;
        }
        n = calloc(1, sizeof *n);
        if (!n)
                return -ENOMEM;
        n->name = strdup(name);
        if (!n->name) {
                free(n);
                return -ENOMEM;
        }
        n->parent = parent;
        n->depth = parent->depth + 1;
        n->max_desc = n->max_depth = UINT_MAX;
        memmove(parent->children + i + 1, parent->children + i, (parent->n_children - i) * sizeof *parent->children);
        parent->children[i] = n;
        parent->n_children++;
        if (ret)
                *ret = n;
        return 0;
}

void tree_remove(node *n) {
        node *p = n->parent;

        if (p) {
                bool found;
                size_t i = find(p, n->name, strlen(n->name), &found);
                if (found) {
                        memmove(p->children + i, p->children + i + 1, (p->n_children - i - 1) * sizeof *p->children);
                        p->n_children--;
                }
        }
        tree_free(n);
}

node *tree_lookup(node *root, const char *name, node **ret_deepest, size_t *ret_missing) {
        node *cur = root;
        const char *p = name;

        while (*p) {
                size_t len = strcspn(p, "/");
                node *next = tree_child(cur, p, len);
                if (!next) {
                        if (ret_deepest)
                                *ret_deepest = cur;
                        if (ret_missing)
                                *ret_missing = (size_t)(p - name);
                        return NULL;
                }
                cur = next;
                p += len;
                if (*p == '/')
                        p++;
        }
        if (ret_deepest)
                *ret_deepest = cur;
        if (ret_missing)
                *ret_missing = (size_t)(p - name);
        return cur;
}

char *tree_path(const node *n, char *buf, size_t len) {
        const node *chain[64];
        size_t depth = 0, off = 0;

        for (const node *c = n; c && c->parent && depth < ELEMENTSOF(chain); c = c->parent)
                chain[depth++] = c;
        buf[0] = '\0';
        while (depth > 0) {
                const node *c = chain[--depth];
                size_t l = strlen(c->name);
                if (off + l + 2 > len)
                        break;
                if (off)
                        buf[off++] = '/';
                memcpy(buf + off, c->name, l + 1);
                off += l;
        }
        return buf;
}

size_t tree_count(const node *n) {
        size_t c = n->n_children;

        for (size_t i = 0; i < n->n_children; i++)
                c += tree_count(n->children[i]);
        return c;
}
