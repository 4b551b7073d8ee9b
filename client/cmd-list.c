/* list and version. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>

#include "lmctl.h"

/* Flags: -r and --json only. Returns the index of the first operand, or -1
 * after printing usage (with *RET set to the exit status). */
int parse_rj(ctx *c, int argc, char **argv, bool *rec, int *ret);
int parse_rj(ctx *c, int argc, char **argv, bool *rec, int *ret) {
        static const struct option opts[] = {
                { "recursive", no_argument, NULL, 'r' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int o;

        while ((o = getopt_long(argc, argv, rec ? "rjh" : "jh", opts, NULL)) >= 0) {
                if (o == 'r' && rec)
                        *rec = true;
                else if (o == 'j')
                        c->json = true;
                else {
                        cmd_usage(c->verb);
                        *ret = o == 'h' ? EXIT_OK : EXIT_USAGE;
                        return -1;
                }
        }
        return optind;
}

int cmd_list(ctx *c, int argc, char **argv) {
        static const struct option opts[] = {
                { "recursive", no_argument, NULL, 'r' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                { "label", required_argument, NULL, 'L' },
                {},
        };
        Lmct__V1__ListRequest q = LMCT__V1__LIST_REQUEST__INIT;
        lmct_response *resp = NULL;
        label_opts lo = { 0 };
        int o, r = -1;

        while (r < 0 && (o = getopt_long(argc, argv, "rjh", opts, NULL)) >= 0) {
                if (o == 'r')
                        q.has_recursive = q.recursive = true;
                else if (o == 'j')
                        c->json = true;
                else if (o == 'L') {
                        if ((r = label_opt(c, optarg, LABEL_SELECT, &lo)) == 0)
                                r = -1;
                } else {
                        cmd_usage(c->verb);
                        r = o == 'h' ? EXIT_OK : EXIT_USAGE;
                }
        }
        if (r >= 0)
                goto done;
        if (argc - optind > 1) {
                cmd_usage(c->verb);
                r = usage_error(c, "give at most one container name");
                goto done;
        }
        if ((r = connect_daemon(c)))
                goto done;
        q.name = optind < argc ? argv[optind] : "";
        q.selector = lo.p;
        q.n_selector = lo.n;
        r = lmct_list_request(c->client, &q, &resp);
        if (r < 0) {
                r = call_failed(c, q.name, r);
                goto done;
        }
        if (c->json) {
                struct json_object *a = json_object_new_array();
                for (size_t k = 0; resp->list && k < resp->list->n_names; k++)
                        json_object_array_add(a, json_object_new_string(resp->list->names[k]));
                puts(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(a);
        } else
                for (size_t k = 0; resp->list && k < resp->list->n_names; k++)
                        puts(resp->list->names[k]);
        lmct_response_free(resp);
        r = EXIT_OK;
done:
        label_opts_done(&lo);
        return r;
}

int cmd_version(ctx *c, int argc, char **argv) {
        lmct_response *resp = NULL;
        const Lmct__V1__VersionResult *v;
        int i, r;

        i = parse_rj(c, argc, argv, NULL, &r);
        if (i < 0)
                return r;
        if (i != argc)
                return usage_error(c, "takes no arguments");
        if ((r = connect_daemon(c)))
                return r;
        r = lmct_version(c->client, &resp);
        if (r < 0)
                return call_failed(c, "", r);
        v = resp->version;
        if (c->json) {
                struct json_object *o = json_object_new_object(), *a = json_object_new_array();
                json_object_object_add(o, "client", json_object_new_string(LMCT_VERSION));
                json_object_object_add(o, "daemon", json_object_new_string(v && v->daemon ? v->daemon : ""));
                json_object_object_add(o, "protocol", json_object_new_int(v ? (int)v->protocol : 0));
                json_object_object_add(o, "cgroup_root", json_object_new_string(v && v->cgroup_root ? v->cgroup_root : ""));
                for (size_t k = 0; v && k < v->n_controllers; k++)
                        json_object_array_add(a, json_object_new_string(v->controllers[k]));
                json_object_object_add(o, "controllers", a);
                puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
        } else {
                printf("client       %s\ndaemon       %s\nprotocol     %u\ncgroup root  %s\ncontrollers ",
                       LMCT_VERSION, v && v->daemon ? v->daemon : "?", v ? v->protocol : 0,
                       v && v->cgroup_root ? v->cgroup_root : "?");
                for (size_t k = 0; v && k < v->n_controllers; k++)
                        printf(" %s", v->controllers[k]);
                if (!v || !v->n_controllers)
                        printf(" (none)");
                printf("\n");
        }
        lmct_response_free(resp);
        return EXIT_OK;
}
