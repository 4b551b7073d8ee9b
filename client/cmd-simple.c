/* The verbs that take a name and a flag or two: destroy, pause, resume,
 * kill, and reclaim. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "lmct-limits.h"
#include "lmctl.h"

/* Parses "-r -f -s SIG" style flags given in FLAGS; returns the name. */
static int parse(ctx *c, int argc, char **argv, const char *flags, bool *r_flag, bool *f_flag, int *sig,
                 const char **ret_name) {
        static const struct option opts[] = {
                { "recursive", no_argument, NULL, 'r' },
                { "force", no_argument, NULL, 'f' },
                { "signal", required_argument, NULL, 's' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int o, idx = -1;

        while ((o = getopt_long(argc, argv, flags, opts, &idx)) >= 0) {
                /* The table is shared: a long option of another verb is refused. */
                if (o != '?' && !strchr(flags, o))
                        return usage_error(c, "--%s is not an option of %s", opts[idx].name, c->verb);
                idx = -1;
                switch (o) {
                case 'r': *r_flag = true; break;
                case 'f': *f_flag = true; break;
                case 'j': c->json = true; break;
                case 's': {
                        char *end;
                        long v = strtol(optarg, &end, 10);
                        const char *n = optarg;
                        if (*end == '\0' && end != optarg && v > 0 && v <= SIGRTMAX) {
                                *sig = (int)v;
                                break;
                        }
                        if (strncmp(n, "SIG", 3) == 0)
                                n += 3;
                        for (v = 1; v < NSIG; v++) {
                                const char *a = sigabbrev_np((int)v);
                                if (a && strcasecmp(a, n) == 0)
                                        break;
                        }
                        if (v >= NSIG)
                                return usage_error(c, "-s '%s': not a signal (give KILL, TERM, 15, ...)", optarg);
                        *sig = (int)v;
                        break;
                }
                case 'h': cmd_usage(c->verb); return -1;
                default: cmd_usage(c->verb); return EXIT_USAGE;
                }
        }
        if (optind + 1 != argc) {
                cmd_usage(c->verb);
                return usage_error(c, "give exactly one container name");
        }
        *ret_name = argv[optind];
        return 0;
}

static int finish(ctx *c, const char *name, int r) {
        return r < 0 ? call_failed(c, name, r) : EXIT_OK;
}

int cmd_destroy(ctx *c, int argc, char **argv) {
        bool rec = false, force = false;
        const char *name;
        int sig = 0, r;

        r = parse(c, argc, argv, "rfjh", &rec, &force, &sig, &name);
        if (r)
                return r < 0 ? EXIT_OK : r;
        if ((r = connect_daemon(c)))
                return r;
        return finish(c, name, lmct_destroy(c->client, name, rec, force));
}

static int run_paused(ctx *c, int argc, char **argv, bool pause) {
        bool unused = false;
        const char *name;
        int sig = 0, r;

        r = parse(c, argc, argv, "jh", &unused, &unused, &sig, &name);
        if (r)
                return r < 0 ? EXIT_OK : r;
        if ((r = connect_daemon(c)))
                return r;
        return finish(c, name, pause ? lmct_pause(c->client, name) : lmct_resume(c->client, name));
}

int cmd_pause(ctx *c, int argc, char **argv) {
        return run_paused(c, argc, argv, true);
}

int cmd_resume(ctx *c, int argc, char **argv) {
        return run_paused(c, argc, argv, false);
}

int cmd_kill(ctx *c, int argc, char **argv) {
        bool unused = false;
        const char *name;
        int sig = SIGKILL, r;

        r = parse(c, argc, argv, "s:jh", &unused, &unused, &sig, &name);
        if (r)
                return r < 0 ? EXIT_OK : r;
        if ((r = connect_daemon(c)))
                return r;
        return finish(c, name, lmct_kill(c->client, name, sig));
}

int cmd_reclaim(ctx *c, int argc, char **argv) {
        const Lmct__V1__ReclaimResult *res;
        lmct_response *resp = NULL;
        char a[32], b[32], d[32], g[32];
        uint64_t bytes, back;
        int r;

        if ((r = json_help_options(c, argc, argv, 2, "give a container name and the size to reclaim")) >= 0)
                return r;
        if (lmct_parse_size(argv[optind + 1], 0, &bytes) < 0 || bytes == 0)
                return usage_error(c, "'%s': not a size (give bytes, or a number with K, M, G or T)", argv[optind + 1]);
        if ((r = connect_daemon(c)))
                return r;
        r = lmct_reclaim(c->client, argv[optind], bytes, &resp);
        if (r < 0)
                return call_failed(c, argv[optind], r);
        res = resp->reclaim;
        if (!res) {
                lmct_response_free(resp);
                fprintf(stderr, "lmctl: reclaim %s: lmctld's answer has no result\n", argv[optind]);
                return EXIT_FAILURE_;
        }
        back = res->has_memory_after && res->memory_before > res->memory_after ? res->memory_before - res->memory_after
                                                                               : 0;
        if (c->json) {
                struct json_object *j = pb_to_json(&res->base);
                puts(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(j);
        } else
                printf("%s: asked %s, memory %s -> %s (%s less)\n", argv[optind],
                       lmct_format_size(res->requested, a, sizeof a), lmct_format_size(res->memory_before, b, sizeof b),
                       res->has_memory_after ? lmct_format_size(res->memory_after, d, sizeof d) : "?",
                       lmct_format_size(back, g, sizeof g));
        r = EXIT_OK;
        if (!res->complete) {
                if (res->requested < bytes)
                        fprintf(stderr, "lmctl: reclaim %s: it used %s, less than the %s asked\n", argv[optind],
                                lmct_format_size(res->memory_before, b, sizeof b), lmct_format_size(bytes, a, sizeof a));
                else
                        fprintf(stderr, "lmctl: reclaim %s: the kernel found less than %s to reclaim "
                                        "(memory.reclaim: Resource temporarily unavailable)\n",
                                argv[optind], lmct_format_size(bytes, a, sizeof a));
                r = EXIT_FAILURE_;
        }
        lmct_response_free(resp);
        return r;
}
