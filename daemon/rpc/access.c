#include "access.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager.h"

/* NAME without its leading slashes, and whether it names the root. */
static const char *strip(const char *name, bool *root) {
        if (!name)
                name = "";
        while (*name == '/')
                name++;
        *root = !*name;
        return name;
}

const char *caller_resolve(const caller *c, const char *name, char *buf, size_t len) {
        bool root;
        const char *rel = strip(name, &root);

        if (!c->view[0])
                return name;
        /* "" and "/" are the caller's root: its own container. */
        if (root)
                snprintf(buf, len, "%s", c->view);
        else
                snprintf(buf, len, "%s/%s", c->view, rel);
        return buf;
}

const char *caller_relative(const caller *c, const char *name) {
        size_t l = strlen(c->view);

        if (!l)
                return name;
        if (strncmp(name, c->view, l) != 0)
                return NULL;
        if (name[l] == '\0')
                return "";
        if (name[l] != '/')
                return NULL;
        return name + l + 1;
}

/* Whether UID owns N or one of its ancestors (with SELF, N counts). */
static const node *owned_by(const node *n, uid_t uid, bool self) {
        for (const node *a = self ? n : n->parent; a; a = a->parent)
                if (a->has_owner && a->owner_uid == uid)
                        return a;
        return NULL;
}

int access_check(manager *m, const caller *c, const char *name, access_level level, status *st) {
        char q[100], err[8];
        node *deepest, *n;
        size_t missing, skip;

        if (caller_is_admin(c) || level == ACCESS_NONE)
                return 0;
        if (!name)
                name = "";
        /* An invalid name is the verb's to refuse, with its own message. */
        if (lmct_name_check(name, strlen(name), m->max_depth, true, &skip, err, sizeof err) < 0)
                return 0;
        name += skip;
        /* The root: only the verbs that look may name it (the others refuse
         * it as a name for everyone). */
        if (!*name)
                return level == ACCESS_READ
                               ? st_fail(st, LMCT__V1__CODE__PERMISSION_DENIED, -EACCES,
                                         "uid %u may look only at containers it owns", (unsigned)c->uid)
                               : 0;
        n = tree_lookup(m->root, name, &deepest, &missing);
        /* A container to create counts as below the deepest one that exists. */
        if (n ? owned_by(n, c->uid, level != ACCESS_CHANGE) : owned_by(deepest, c->uid, true))
                return 0;
        if (n && level == ACCESS_CHANGE && owned_by(n, c->uid, true))
                return st_fail(st, LMCT__V1__CODE__PERMISSION_DENIED, -EACCES,
                               "uid %u owns %s but may not change or destroy it, only what is below it",
                               (unsigned)c->uid, quote(caller_relative(c, name) ? caller_relative(c, name) : name,
                                                       q, sizeof q));
        return st_fail(st, LMCT__V1__CODE__PERMISSION_DENIED, -EACCES, "uid %u does not own %s or a container above it",
                       (unsigned)c->uid,
                       quote(caller_relative(c, name) ? caller_relative(c, name) : name, q, sizeof q));
}

bool access_visible(manager *m, const caller *c, const node *n) {
        (void)m;
        return caller_is_admin(c) || owned_by(n, c->uid, true);
}

void access_principal(manager *m, const caller *c, char *key, size_t len) {
        const node *n, *top = NULL;

        if (c->privileged) {
                snprintf(key, len, "root");
                return;
        }
        if (!c->view[0]) {
                snprintf(key, len, "uid %u", (unsigned)c->uid);
                return;
        }
        /* The nearest container handed to an owner, else the top-level one:
         * callers in two owners' subtrees never share a bound. */
        for (n = tree_lookup(m->root, c->view, NULL, NULL); n && n->parent; n = n->parent) {
                if (n->has_owner) {
                        top = n;
                        break;
                }
                top = n;
        }
        if (top) {
                char path[LMCT_NAME_MAX + 1];
                snprintf(key, len, "container %s", tree_path(top, path, sizeof path));
        } else
                snprintf(key, len, "container %.*s", (int)strcspn(c->view, "/"), c->view);
}
