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

static int run(ctx *c, int argc, char **argv, bool create) {
        struct option opts[32] = {
                { "parents", no_argument, NULL, 'p' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                { "owner", required_argument, NULL, 'o' },
                { "label", required_argument, NULL, 'L' },
        };
        Lmct__V1__Limits l = LMCT__V1__LIMITS__INIT;
        bool parents = false, any = false, owner = false;
        uint32_t owner_uid = 0, owner_gid = 0;
        label_opts lo = { 0 };
        int o, idx, r = -1;

        limit_options_copy(opts + 5, ELEMENTSOF(opts) - 5);
        while (r < 0 && (o = getopt_long(argc, argv, create ? "pjh" : "jh", opts, &idx)) >= 0) {
                if (o >= LIMIT_OPT_BASE) {
                        if ((r = limit_opt(c, opts[idx].name, optarg, &l)) == 0)
                                r = -1;
                        any = true;
                        continue;
                }
                switch (o) {
                case 'p':
                        if (!create)
                                r = usage_error(c, "--parents is for create");
                        parents = true;
                        break;
                case 'L':
                        if ((r = label_opt(c, optarg, create ? LABEL_SET : LABEL_EDIT, &lo)) == 0)
                                r = -1;
                        any = true;
                        break;
                case 'o':
                        if (!create)
                                r = usage_error(c, "--owner is for create");
                        else if ((r = owner_opt(c, optarg, &owner_uid, &owner_gid)) == 0)
                                r = -1;
                        owner = true;
                        break;
                case 'j': c->json = true; break;
                case 'h': cmd_usage(c->verb); r = EXIT_OK; break;
                default: cmd_usage(c->verb); r = EXIT_USAGE; break;
                }
        }
        if (r >= 0)
                goto done;
        if (optind + 1 != argc) {
                cmd_usage(c->verb);
                r = usage_error(c, "give exactly one container name");
                goto done;
        }
        if (!create && !any) {
                r = usage_error(c, "give at least one limit or label to change");
                goto done;
        }
        if ((r = connect_daemon(c)))
                goto done;
        if (create) {
                Lmct__V1__CreateRequest q = LMCT__V1__CREATE_REQUEST__INIT;
                q.name = argv[optind];
                q.limits = &l;
                q.has_parents = q.parents = parents;
                q.has_owner_uid = q.has_owner_gid = owner;
                q.owner_uid = owner_uid;
                q.owner_gid = owner_gid;
                q.labels = lo.p;
                q.n_labels = lo.n;
                r = lmct_create_request(c->client, &q);
        } else {
                Lmct__V1__UpdateRequest q = LMCT__V1__UPDATE_REQUEST__INIT;
                q.name = argv[optind];
                q.limits = &l;
                q.labels = lo.p;
                q.n_labels = lo.n;
                q.remove_labels = lo.remove;
                q.n_remove_labels = lo.n_remove;
                r = lmct_update_request(c->client, &q);
        }
        r = r < 0 ? call_failed(c, argv[optind], r) : EXIT_OK;
done:
        free(l.cpuset_cpus);
        label_opts_done(&lo);
        return r;
}

int cmd_create(ctx *c, int argc, char **argv) {
        return run(c, argc, argv, true);
}

int cmd_update(ctx *c, int argc, char **argv) {
        return run(c, argc, argv, false);
}
