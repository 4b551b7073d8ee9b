/* ps, enter, detect: processes and containers. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "lmctl.h"

int parse_rj(ctx *c, int argc, char **argv, bool *rec, int *ret);

static int parse_pid(const char *s, int32_t *ret) {
        char *end;
        long v = strtol(s, &end, 10);

        if (!*s || *end || v <= 0 || v > INT32_MAX)
                return -1;
        *ret = (int32_t)v;
        return 0;
}

int cmd_ps(ctx *c, int argc, char **argv) {
        lmct_response *resp = NULL;
        bool rec = false;
        int i, r;

        i = parse_rj(c, argc, argv, &rec, &r);
        if (i < 0)
                return r;
        if (argc - i != 1) {
                cmd_usage(c->verb);
                return usage_error(c, "give exactly one container name");
        }
        if ((r = connect_daemon(c)))
                return r;
        r = lmct_ps(c->client, argv[i], rec, &resp);
        if (r < 0)
                return call_failed(c, argv[i], r);
        if (c->json) {
                struct json_object *a = json_object_new_array();
                for (size_t k = 0; resp->ps && k < resp->ps->n_processes; k++) {
                        struct json_object *o = json_object_new_object();
                        json_object_object_add(o, "pid", json_object_new_int(resp->ps->processes[k]->pid));
                        json_object_object_add(o, "container", json_object_new_string(resp->ps->processes[k]->container));
                        json_object_array_add(a, o);
                }
                puts(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(a);
        } else {
                if (rec)
                        printf("%-8s %s\n", "PID", "CONTAINER");
                for (size_t k = 0; resp->ps && k < resp->ps->n_processes; k++)
                        if (rec)
                                printf("%-8d %s\n", resp->ps->processes[k]->pid, resp->ps->processes[k]->container);
                        else
                                printf("%d\n", resp->ps->processes[k]->pid);
        }
        lmct_response_free(resp);
        return EXIT_OK;
}

int cmd_enter(ctx *c, int argc, char **argv) {
        int32_t *pids;
        int i, r;

        i = parse_rj(c, argc, argv, NULL, &r);
        if (i < 0)
                return r;
        if (argc - i < 2) {
                cmd_usage(c->verb);
                return usage_error(c, "give a container name and at least one pid");
        }
        pids = calloc((size_t)(argc - i - 1), sizeof *pids);
        if (!pids)
                return EXIT_FAILURE_;
        for (int k = i + 1; k < argc; k++)
                if (parse_pid(argv[k], &pids[k - i - 1]) < 0) {
                        free(pids);
                        return usage_error(c, "'%s' is not a process id", argv[k]);
                }
        r = connect_daemon(c);
        if (r == 0) {
                r = lmct_enter(c->client, argv[i], pids, (size_t)(argc - i - 1));
                r = r < 0 ? call_failed(c, argv[i], r) : EXIT_OK;
        }
        free(pids);
        return r;
}

int cmd_detect(ctx *c, int argc, char **argv) {
        char *name = NULL;
        int32_t pid;
        int i, r;

        i = parse_rj(c, argc, argv, NULL, &r);
        if (i < 0)
                return r;
        if (argc - i != 1 || parse_pid(argv[i], &pid) < 0) {
                cmd_usage(c->verb);
                return usage_error(c, "give one process id");
        }
        if ((r = connect_daemon(c)))
                return r;
        r = lmct_detect(c->client, pid, &name);
        if (r < 0)
                return call_failed(c, argv[i], r);
        if (c->json) {
                struct json_object *o = json_object_new_object();
                json_object_object_add(o, "pid", json_object_new_int(pid));
                json_object_object_add(o, "container", json_object_new_string(name));
                puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
        } else
                puts(name);
        free(name);
        return EXIT_OK;
}
