/* stats and events: what happens inside containers. */
#include <getopt.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lmct-limits.h"
#include "lmctl.h"

static uint64_t counter(Lmct__V1__Counter *const *v, size_t n, const char *key) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i]->key, key) == 0)
                        return v[i]->value;
        return 0;
}

static const char *size_or_dash(bool has, uint64_t v, char *buf, size_t len) {
        return has ? lmct_format_size(v, buf, len) : "-";
}

static void print_one(const Lmct__V1__Stats *s) {
        const Lmct__V1__Usage *u = s->usage;
        char a[32], b[32];

        printf("name          %s\n", s->name);
        if (u && u->has_cpu_usage_us)
                printf("cpu           %.3f s (user %.3f s, system %.3f s); throttled %llu of %llu periods, %.3f s\n",
                       (double)u->cpu_usage_us / 1e6, (double)u->cpu_user_us / 1e6, (double)u->cpu_system_us / 1e6,
                       (unsigned long long)u->cpu_nr_throttled, (unsigned long long)u->cpu_nr_periods,
                       (double)u->cpu_throttled_us / 1e6);
        if (u && u->has_memory_current) {
                char an[32], fi[32], ke[32];
                printf("memory        %s (peak %s); anon %s, file %s, kernel %s\n",
                       lmct_format_size(u->memory_current, a, sizeof a),
                       size_or_dash(u->has_memory_peak, u->memory_peak, b, sizeof b),
                       lmct_format_size(counter(s->memory_stat, s->n_memory_stat, "anon"), an, sizeof an),
                       lmct_format_size(counter(s->memory_stat, s->n_memory_stat, "file"), fi, sizeof fi),
                       lmct_format_size(counter(s->memory_stat, s->n_memory_stat, "kernel"), ke, sizeof ke));
        }
        if (s->n_memory_events) {
                printf("memory events");
                for (size_t i = 0; i < s->n_memory_events; i++)
                        printf(" %s %llu", s->memory_events[i]->key, (unsigned long long)s->memory_events[i]->value);
                printf("\n");
        }
        if (u && u->has_pids_current)
                printf("pids          %llu (limit hits %llu)\n", (unsigned long long)u->pids_current,
                       (unsigned long long)s->pids_limit_hits);
        for (size_t i = 0; i < s->n_io; i++)
                printf("io %-10s read %s in %llu ops, written %s in %llu ops\n", s->io[i]->device,
                       lmct_format_size(s->io[i]->rbytes, a, sizeof a), (unsigned long long)s->io[i]->rios,
                       lmct_format_size(s->io[i]->wbytes, b, sizeof b), (unsigned long long)s->io[i]->wios);
        for (size_t i = 0; i < s->n_hugetlb; i++) {
                const Lmct__V1__HugetlbStat *h = s->hugetlb[i];
                char hits[24] = "-";
                if (h->has_limit_hits)
                        snprintf(hits, sizeof hits, "%llu", (unsigned long long)h->limit_hits);
                printf("hugetlb %-5s %s in use, limit %s (limit hits %s)\n", h->page_size,
                       lmct_format_size(h->current, a, sizeof a),
                       !h->has_max || h->max == LMCT_MAX ? "max" : lmct_format_size(h->max, b, sizeof b), hits);
        }
#define PSI(label, p) \
        if (p)        \
                printf("%-13s avg10 %.2f avg60 %.2f avg300 %.2f total %.3f s\n", label, p->avg10, p->avg60, p->avg300, \
                       (double)p->total_us / 1e6)
        PSI("cpu some", s->cpu_some);
        PSI("memory some", s->memory_some);
        PSI("memory full", s->memory_full);
        PSI("io some", s->io_some);
        PSI("io full", s->io_full);
#undef PSI
        if (s->effective) {
                const Lmct__V1__Limits *l = s->effective;
                char p[24] = "-";
                if (l->has_pids_max && l->pids_max == LMCT_MAX)
                        snprintf(p, sizeof p, "max");
                else if (l->has_pids_max)
                        snprintf(p, sizeof p, "%llu", (unsigned long long)l->pids_max);
                printf("limits        cpu %s, memory %s, pids %s (effective)\n",
                       l->has_cpu_millis ? lmct_format_cpu(l->cpu_millis, a, sizeof a) : "-",
                       size_or_dash(l->has_memory_max, l->memory_max, b, sizeof b), p);
        }
}

static void print_table(const Lmct__V1__StatsResult *res) {
        char a[32], b[32];

        printf("%-32s %10s %10s %9s %9s %6s %8s\n", "NAME", "CPU_S", "THROTTLED", "MEMORY", "PEAK", "PIDS", "OOM_KILL");
        for (size_t i = 0; i < res->n_stats; i++) {
                const Lmct__V1__Stats *s = res->stats[i];
                const Lmct__V1__Usage *u = s->usage;
                printf("%-32s %10.3f %10llu %9s %9s %6llu %8llu\n", s->name, u ? (double)u->cpu_usage_us / 1e6 : 0.0,
                       u ? (unsigned long long)u->cpu_nr_throttled : 0ull,
                       size_or_dash(u && u->has_memory_current, u ? u->memory_current : 0, a, sizeof a),
                       size_or_dash(u && u->has_memory_peak, u ? u->memory_peak : 0, b, sizeof b),
                       u ? (unsigned long long)u->pids_current : 0ull,
                       (unsigned long long)counter(s->memory_events, s->n_memory_events, "oom_kill"));
        }
}

#define PRESSURE_ARGS_MAX 16

/* Options of events beyond -r and --json. */
typedef struct events_opts {
        Lmct__V1__EventsRequest req;
        Lmct__V1__PressureTrigger trig[PRESSURE_ARGS_MAX], *trig_ptr[PRESSURE_ARGS_MAX];
} events_opts;

/* -r, --json and --help, shared by stats and events, and with EO (events)
 * --memory-above and --pressure. Returns -1 to go on, or the exit status. */
static int parse_options(ctx *c, int argc, char **argv, bool *recursive, events_opts *eo) {
        static const struct option opts[] = {
                { "recursive", no_argument, NULL, 'r' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                { "memory-above", required_argument, NULL, 'M' },
                { "pressure", required_argument, NULL, 'P' },
                {},
        };
        /* stats knows the first three only. */
        static const struct option stats_opts[] = {
                { "recursive", no_argument, NULL, 'r' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int o;

        while ((o = getopt_long(argc, argv, "rjh", eo ? opts : stats_opts, NULL)) >= 0) {
                if (o == 'r')
                        *recursive = true;
                else if (o == 'j')
                        c->json = true;
                else if (o == 'M') {
                        if (lmct_parse_size(optarg, 0, &eo->req.memory_above) < 0 || eo->req.memory_above == 0)
                                return usage_error(c, "--memory-above: \"%s\" is not a size above 0 (512M, 1G)",
                                                   optarg);
                        eo->req.has_memory_above = true;
                } else if (o == 'P') {
                        Lmct__V1__PressureTrigger *t;
                        const char *res;
                        int full;
                        if (eo->req.n_pressure == PRESSURE_ARGS_MAX)
                                return usage_error(c, "--pressure: more than %d triggers", PRESSURE_ARGS_MAX);
                        t = &eo->trig[eo->req.n_pressure];
                        lmct__v1__pressure_trigger__init(t);
                        if (lmct_parse_pressure(optarg, &res, &full, &t->stall_us, &t->window_us) < 0)
                                return usage_error(c,
                                                   "--pressure: \"%s\" is not RESOURCE[:some|:full]:STALL/WINDOW "
                                                   "(memory:150ms/1s)",
                                                   optarg);
                        t->resource = (char *)res;
                        t->has_full = t->has_stall_us = t->has_window_us = true;
                        t->full = full;
                        eo->trig_ptr[eo->req.n_pressure++] = t;
                } else {
                        cmd_usage(c->verb);
                        return o == 'h' ? EXIT_OK : EXIT_USAGE;
                }
        }
        return -1;
}

int cmd_stats(ctx *c, int argc, char **argv) {
        lmct_response *resp = NULL;
        bool recursive = false;
        int r;

        if ((r = parse_options(c, argc, argv, &recursive, NULL)) >= 0)
                return r;
        if (optind + 1 != argc) {
                cmd_usage(c->verb);
                return usage_error(c, "give exactly one container name");
        }
        if ((r = connect_daemon(c)))
                return r;
        r = lmct_stats(c->client, argv[optind], recursive, &resp);
        if (r < 0)
                return call_failed(c, argv[optind], r);
        if (c->json) {
                struct json_object *o2 = pb_to_json(&resp->stats->base);
                puts(json_object_to_json_string_ext(o2, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o2);
        } else if (recursive)
                print_table(resp->stats);
        else if (resp->stats->n_stats)
                print_one(resp->stats->stats[0]);
        lmct_response_free(resp);
        return EXIT_OK;
}

int cmd_events(ctx *c, int argc, char **argv) {
        const char *name = "/";
        bool recursive = false;
        events_opts eo;
        int r;

        lmct__v1__events_request__init(&eo.req);
        eo.req.pressure = eo.trig_ptr;
        if ((r = parse_options(c, argc, argv, &recursive, &eo)) >= 0)
                return r;
        if (optind + 1 < argc) {
                cmd_usage(c->verb);
                return usage_error(c, "give at most one container name");
        }
        if (optind < argc)
                name = argv[optind];
        if ((r = connect_daemon(c)))
                return r;
        lmct_response *resp = NULL;
        eo.req.name = (char *)name;
        eo.req.has_recursive = recursive;
        eo.req.recursive = recursive;
        r = lmct_events_request(c->client, &eo.req, &resp);
        if (r < 0)
                return call_failed(c, name, r);
        /* Until lmctld or the user ends it; one line per event, flushed. The
         * first is the "subscribed" answer. */
        for (;;) {
                const Lmct__V1__Event *ev;

                if (!resp && lmct_recv(c->client, &resp) < 0) {
                        fprintf(stderr, "lmctl: events: %s\n", lmct_client_message(c->client));
                        return EXIT_UNREACHABLE;
                }
                ev = resp->event;
                if (ev && c->json) {
                        struct json_object *o2 = pb_to_json(&ev->base);
                        puts(json_object_to_json_string_ext(o2, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                        json_object_put(o2);
                } else if (ev) {
                        time_t sec = (time_t)(ev->time_ns / 1000000000u);
                        struct tm tm;
                        char when[32], a[32], b[32];
                        localtime_r(&sec, &tm);
                        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
                        printf("%s.%03u %-11s %s", when, (unsigned)(ev->time_ns / 1000000u % 1000u), ev->kind,
                               ev->name && *ev->name ? ev->name : "/");
                        if (ev->has_count)
                                printf(" count=%llu", (unsigned long long)ev->count);
                        if (ev->has_uid)
                                printf(" uid=%u pid=%d", ev->uid, ev->pid);
                        if (ev->has_memory_bytes)
                                printf(" memory=%s threshold=%s", lmct_format_size(ev->memory_bytes, a, sizeof a),
                                       lmct_format_size(ev->threshold, b, sizeof b));
                        if (ev->trigger && ev->pressure)
                                printf(" trigger=%s:%s:%lluus/%lluus avg10=%.2f total_us=%llu", ev->trigger->resource,
                                       ev->trigger->full ? "full" : "some", (unsigned long long)ev->trigger->stall_us,
                                       (unsigned long long)ev->trigger->window_us, ev->pressure->avg10,
                                       (unsigned long long)ev->pressure->total_us);
                        if (ev->last_run && ev->last_run->exited)
                                printf(ev->last_run->has_signal ? " last_run_signal=%d" : " last_run_exit=%d",
                                       ev->last_run->has_signal ? ev->last_run->signal : ev->last_run->exit_code);
                        printf("\n");
                }
                fflush(stdout);
                resp = lmct_response_free(resp);
        }
}
