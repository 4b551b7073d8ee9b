/* create and update: a container, its limits and its labels. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "lmctl.h"

/* --owner UID[:GID]. Returns 0, or prints a usage error and returns it. */
static int owner_opt(ctx *c, const char *arg, uint32_t *uid, uint32_t *gid) {
        char *end;
        unsigned long u = strtoul(arg, &end, 10), g;

        if (end == arg || (*end && *end != ':') || u >= UINT32_MAX)
                return usage_error(c, "--owner '%s': give UID or UID:GID (numbers)", arg);
        g = u;
        if (*end == ':') {
                const char *gs = end + 1;
                g = strtoul(gs, &end, 10);
                if (end == gs || *end || g >= UINT32_MAX)
                        return usage_error(c, "--owner '%s': give UID or UID:GID (numbers)", arg);
        }
        *uid = (uint32_t)u;
        *gid = (uint32_t)g;
        return 0;
}

/* What create and update were asked for. */
typedef struct change_args {
        Lmct__V1__Limits l;
        bool parents, any, owner;
        uint32_t owner_uid, owner_gid;
        label_opts lo;
} change_args;

/* The options of create (CREATE) or update into A: -1 to go on, or the
 * exit status. */
static int parse_change(ctx *c, int argc, char **argv, bool create, change_args *a) {
        struct option opts[32] = {
                { "parents", no_argument, NULL, 'p' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                { "owner", required_argument, NULL, 'o' },
                { "label", required_argument, NULL, 'L' },
        };
        int o, idx, r = -1;

        limit_options_copy(opts + 5, ELEMENTSOF(opts) - 5);
        while (r < 0 && (o = getopt_long(argc, argv, create ? "pjh" : "jh", opts, &idx)) >= 0) {
                if (o >= LIMIT_OPT_BASE) {
                        if ((r = limit_opt(c, opts[idx].name, optarg, &a->l)) == 0)
                                r = -1;
                        a->any = true;
                        continue;
                }
                switch (o) {
                case 'p':
                        if (!create)
                                r = usage_error(c, "--parents is for create");
                        a->parents = true;
                        break;
                case 'L':
                        if ((r = label_opt(c, optarg, create ? LABEL_SET : LABEL_EDIT, &a->lo)) == 0)
                                r = -1;
                        a->any = true;
                        break;
                case 'o':
                        if (!create)
                                r = usage_error(c, "--owner is for create");
                        else if ((r = owner_opt(c, optarg, &a->owner_uid, &a->owner_gid)) == 0)
                                r = -1;
                        a->owner = true;
                        break;
                case 'j': c->json = true; break;
                case 'h': cmd_usage(c->verb); r = EXIT_OK; break;
                default: cmd_usage(c->verb); r = EXIT_USAGE; break;
                }
        }
        if (r >= 0)
                return r;
        if (optind + 1 != argc) {
                cmd_usage(c->verb);
                return usage_error(c, "give exactly one container name");
        }
        if (!create && !a->any)
                return usage_error(c, "give at least one limit or label to change");
        return -1;
}

/* Sends A for container NAME: 0 or a negative errno. */
static int send_change(ctx *c, const char *name, bool create, change_args *a) {
        if (create) {
                Lmct__V1__CreateRequest q = LMCT__V1__CREATE_REQUEST__INIT;
                q.name = (char *)name;
                q.limits = &a->l;
                q.has_parents = q.parents = a->parents;
                q.has_owner_uid = q.has_owner_gid = a->owner;
                q.owner_uid = a->owner_uid;
                q.owner_gid = a->owner_gid;
                q.labels = a->lo.p;
                q.n_labels = a->lo.n;
                return lmct_create_request(c->client, &q);
        } else {
                Lmct__V1__UpdateRequest q = LMCT__V1__UPDATE_REQUEST__INIT;
                q.name = (char *)name;
                q.limits = &a->l;
                q.labels = a->lo.p;
                q.n_labels = a->lo.n;
                q.remove_labels = a->lo.remove;
                q.n_remove_labels = a->lo.n_remove;
                return lmct_update_request(c->client, &q);
        }
}

static int run(ctx *c, int argc, char **argv, bool create) {
        change_args a = { .l = LMCT__V1__LIMITS__INIT };
        int r = parse_change(c, argc, argv, create, &a);

        if (r < 0 && !(r = connect_daemon(c))) {
                r = send_change(c, argv[optind], create, &a);
                r = r < 0 ? call_failed(c, argv[optind], r) : EXIT_OK;
        }
        limits_clear(&a.l);
        label_opts_done(&a.lo);
        return r;
}

int cmd_create(ctx *c, int argc, char **argv) {
        return run(c, argc, argv, true);
}

int cmd_update(ctx *c, int argc, char **argv) {
        return run(c, argc, argv, false);
}
