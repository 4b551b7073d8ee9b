/* create and update: a container and its limits. */
#include <getopt.h>
#include <string.h>

#include "lmctl.h"

static int run(ctx *c, int argc, char **argv, bool create) {
        struct option opts[32] = {
                { "parents", no_argument, NULL, 'p' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
        };
        Lmct__V1__Limits l = LMCT__V1__LIMITS__INIT;
        bool parents = false, any = false;
        int o, idx, r;

        memcpy(opts + 3, limit_options, 12 * sizeof *opts);
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
                r = create ? lmct_create(c->client, argv[optind], &l, parents)
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
