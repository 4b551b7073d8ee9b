/* create and update: a container and its limits. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "lmctl.h"

static int run(ctx *c, int argc, char **argv, bool create) {
        struct option opts[32] = {
                { "parents", no_argument, NULL, 'p' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                { "owner", required_argument, NULL, 'o' },
        };
        Lmct__V1__Limits l = LMCT__V1__LIMITS__INIT;
        bool parents = false, any = false, owner = false;
        uint32_t owner_uid = 0, owner_gid = 0;
        int o, idx, r;

        limit_options_copy(opts + 4, ELEMENTSOF(opts) - 4);
        while ((o = getopt_long(argc, argv, create ? "pjh" : "jh", opts, &idx)) >= 0) {
                if (o >= LIMIT_OPT_BASE) {
                        r = limit_opt(c, opts[idx].name, optarg, &l);
                        if (r) {
                                free(l.cpuset_cpus);
                                return r;
                        }
                        any = true;
                        continue;
                }
                switch (o) {
                case 'p': parents = true; break;
                case 'o': {
                        char *end;
                        unsigned long u = strtoul(optarg, &end, 10), g;
                        if (!create || end == optarg || (*end && *end != ':') || u >= UINT32_MAX) {
                                free(l.cpuset_cpus);
                                return usage_error(c, create ? "--owner '%s': give UID or UID:GID (numbers)"
                                                             : "--owner is for create", optarg);
                        }
                        g = u;
                        if (*end == ':') {
                                const char *gs = end + 1;
                                g = strtoul(gs, &end, 10);
                                if (end == gs || *end || g >= UINT32_MAX) {
                                        free(l.cpuset_cpus);
                                        return usage_error(c, "--owner '%s': give UID or UID:GID (numbers)", optarg);
                                }
                        }
                        owner = true;
                        owner_uid = (uint32_t)u;
                        owner_gid = (uint32_t)g;
                        break;
                }
                case 'j': c->json = true; break;
                case 'h': cmd_usage(c->verb); free(l.cpuset_cpus); return EXIT_OK;
                default: cmd_usage(c->verb); free(l.cpuset_cpus); return EXIT_USAGE;
                }
        }
        if (optind + 1 != argc) {
                free(l.cpuset_cpus);
                cmd_usage(c->verb);
                return usage_error(c, "give exactly one container name");
        }
        if (!create && !any) {
                free(l.cpuset_cpus);
                return usage_error(c, "give at least one limit to change");
        }
        r = connect_daemon(c);
        if (r == 0) {
                r = create ? lmct_create_owned(c->client, argv[optind], &l, parents, owner ? &owner_uid : NULL,
                                               owner ? &owner_gid : NULL)
                           : lmct_update(c->client, argv[optind], &l);
                r = r < 0 ? call_failed(c, argv[optind], r) : EXIT_OK;
        }
        free(l.cpuset_cpus);
        return r;
}

int cmd_create(ctx *c, int argc, char **argv) {
        return run(c, argc, argv, true);
}

int cmd_update(ctx *c, int argc, char **argv) {
        return run(c, argc, argv, false);
}
