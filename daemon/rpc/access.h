/* Who may do what. The caller's identity comes from the kernel (SO_PEERCRED
 * at accept), never from a message, and so does its position: the cgroup
 * its process lives in.
 *
 * Position (confinement): a caller whose process lives inside container X
 * sees X as its root, whatever its uid, as a cgroup namespace would show
 * it. Its names resolve below X and the names it gets back are relative to
 * X; nothing it sends can name a container outside X, and X itself is its
 * root (which no verb may change or destroy).
 *
 * Ownership: root may do everything (within its position). Any other uid
 * may act only on subtrees handed to it with create --owner:
 *   read    list, show, ps, detect: the owned container and below
 *   use     run, exec, enter, pause, resume, kill: the owned container and below
 *   change  create, update, destroy (and run that creates or sets limits):
 *           strictly below the owned container, whose own limits stay the
 *           owner's ceiling. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "lmct-name.h"
#include "manager.h"
#include "peer.h"
#include "status.h"


typedef enum access_level {
        ACCESS_NONE,    /* version: anyone who reaches the socket */
        ACCESS_READ,
        ACCESS_USE,
        ACCESS_CHANGE,
} access_level;

/* NAME as the caller means it, as a name from lmctld's root, into BUF. */
const char *caller_resolve(const caller *c, const char *name, char *buf, size_t len);
/* A name from lmctld's root as the caller sees it: relative to its view.
 * NULL when the name is outside the view. */
const char *caller_relative(const caller *c, const char *name);

/* Whether C may act at LEVEL on container NAME (a name from lmctld's root,
 * valid or not: an invalid one is left to the verb to refuse). */
int access_check(manager *m, const caller *c, const char *name, access_level level, status *st);

/* Whether C owns (at any level) or sees the container named NAME: for
 * filtering lists. */
bool access_visible(manager *m, const caller *c, const node *n);

/* The principal C's bounds are counted against (quota.h), into KEY: "root"
 * for the privileged; "uid N" outside every container; inside one, the
 * nearest container handed to an owner, else the top-level container. */
void access_principal(manager *m, const caller *c, char *key, size_t len);
