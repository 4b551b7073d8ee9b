#include "lmctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* The verbs, in the order --help lists them: this table is the help text. */
static const cmd commands[] = {
        { "create", "NAME [-p] [--owner UID[:GID]] [--label KEY=VALUE]... [LIMITS]",
          "create a container (-p: and its missing parents)", cmd_create },
        { "update", "NAME [LIMITS] [--label KEY=VALUE | --label KEY-]...",
          "change some limits (max removes one) or labels (KEY- removes one) of a container", cmd_update },
        { "destroy", "NAME [-r] [-f]", "remove a container (-r: with subcontainers, -f: killing processes)", cmd_destroy },
        { "list", "[NAME] [-r] [--label KEY[=VALUE]]...",
          "list subcontainers (-r: the whole subtree; --label: only those carrying it)", cmd_list },
        { "show", "NAME", "configured and effective limits, usage now", cmd_show },
        { "ps", "NAME [-r]", "processes in a container (-r: and below)", cmd_ps },
        { "enter", "NAME PID...", "move running processes into a container", cmd_enter },
        { "pause", "NAME", "freeze a container's processes (answers once frozen)", cmd_pause },
        { "resume", "NAME", "thaw a paused container", cmd_resume },
        { "kill", "NAME [-s SIG]", "signal every process in a container and below (default KILL)", cmd_kill },
        { "reclaim", "NAME SIZE", "ask the kernel to reclaim SIZE of a container's memory now (memory.reclaim)",
          cmd_reclaim },
        { "detect", "PID", "tell which container a process is in", cmd_detect },
        { "stats", "NAME [-r]", "CPU, memory, pids, io and pressure counters (-r: a table of the subtree)", cmd_stats },
        { "top", "[NAME] [-d SECONDS] [-o COLUMN] [-b] [-n N]",
          "a live view of a subtree, refreshed every second (-b: plain frames, -n: that many)", cmd_top },
        { "events", "[NAME] [-r] [--memory-above SIZE] [--pressure RES[:some|:full]:STALL/WINDOW]...",
          "stream events (oom, empty, frozen, created, ...) until interrupted", cmd_events },
        { "run", "NAME [--rm] [-d] [--isolate LIST] [--hostname H] [--rootfs DIR | --bundle DIR] [-e K=V]... [--cwd DIR] [--user UID[:GID]] [LIMITS] [-- CMD [ARG...]]",
          "run a command in a container (--rm: in a new one, removed after), with the caller's stdio; exits with its status", cmd_run },
        { "exec", "NAME [-e K=V]... [--cwd DIR] -- CMD [ARG...]",
          "run a further command in the namespaces of a container's running command", cmd_exec },
        { "spec", "[DIR]", "write a default OCI config.json (runs under lmctl and crun)", cmd_spec },
        { "version", "", "client, daemon and protocol versions", cmd_version },
};

static void help(FILE *f) {
        fprintf(f, "Usage: lmctl [--socket PATH] [--json] VERB [ARGS]\n"
                   "Named, nested containers on cgroup v2, served by lmctld.\n\nVerbs:\n");
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
                if (strlen(commands[i].args) > 20)
                        fprintf(f, "  %-8s %s\n  %-8s %-20s %s\n", commands[i].name, commands[i].args, "", "",
                                commands[i].summary);
                else
                        fprintf(f, "  %-8s %-20s %s\n", commands[i].name, commands[i].args, commands[i].summary);
        fprintf(f, "\nLimits (create, update, run):\n" LIMIT_OPTS_HELP
                   "\nOptions:\n"
                   "  -s, --socket PATH  lmctld's socket (default $%s, else %s)\n"
                   "  -j, --json         machine-readable output\n"
                   "  -h, --help         this help\n"
                   "\nExit status: 0 success, 1 other failure, 2 usage error or invalid argument,\n"
                   "3 not found, 4 already exists, 5 permission denied, 6 lmctld unreachable,\n"
                   "7 refused in the current state (has children or processes, controller missing).\n",
                LMCT_SOCKET_ENV, LMCT_SOCKET_DEFAULT);
}

int json_help_options(ctx *c, int argc, char **argv, int npos, const char *missing) {
        static const struct option opts[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int o;

        while ((o = getopt_long(argc, argv, "jh", opts, NULL)) >= 0) {
                if (o == 'j')
                        c->json = true;
                else {
                        cmd_usage(c->verb);
                        return o == 'h' ? EXIT_OK : EXIT_USAGE;
                }
        }
        if (optind + npos != argc) {
                cmd_usage(c->verb);
                return usage_error(c, "%s", missing);
        }
        return -1;
}

void cmd_usage(const char *verb) {
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
                if (strcmp(commands[i].name, verb) == 0) {
                        fprintf(stderr, "Usage: lmctl %s %s\n", verb, commands[i].args);
                        if (strcmp(verb, "create") == 0 || strcmp(verb, "update") == 0 || strcmp(verb, "run") == 0)
                                fprintf(stderr, "Limits:\n" LIMIT_OPTS_HELP);
                }
}

int usage_error(ctx *c, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "lmctl: %s: ", c->verb ? c->verb : "usage");
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return EXIT_USAGE;
}

int connect_daemon(ctx *c) {
        const char *path = c->socket ? c->socket : getenv(LMCT_SOCKET_ENV);
        int r;

        if (!path || !*path)
                path = LMCT_SOCKET_DEFAULT;
        r = lmct_connect(path, &c->client);
        if (r < 0) {
                fprintf(stderr, "lmctl: %s: cannot reach lmctld at %s: %s\n", c->verb, path, strerror(-r));
                return EXIT_UNREACHABLE;
        }
        lmct_client_set_retry(c->client, true);
        return 0;
}

/* WHAT as typed, with bytes that would break the one-line message escaped. */
static const char *printable(const char *what, char *buf, size_t len) {
        size_t o = 0;

        for (; what && *what && o + 5 < len; what++) {
                unsigned char ch = (unsigned char)*what;
                if (ch < 0x20 || ch == 0x7f)
                        o += (size_t)snprintf(buf + o, len - o, "\\x%02x", ch);
                else
                        buf[o++] = (char)ch;
        }
        buf[o] = '\0';
        return buf;
}

int call_failed(ctx *c, const char *what, int r) {
        Lmct__V1__Code code = lmct_client_code(c->client);
        char buf[512];

        what = printable(what, buf, sizeof buf);
        fprintf(stderr, "lmctl: %s%s%s: %s%s\n", c->verb, *what ? " " : "", what,
                lmct_client_message(c->client)[0] ? lmct_client_message(c->client) : strerror(-r),
                lmct_client_retried(c->client) && (code == LMCT__V1__CODE__ALREADY_EXISTS ||
                                                   code == LMCT__V1__CODE__NOT_FOUND)
                        ? " (lmctld restarted during the request, which was sent again: the first attempt may "
                          "have done it)"
                        : "");
        switch (code) {
        case LMCT__V1__CODE__INVALID_ARGUMENT: return EXIT_USAGE;
        case LMCT__V1__CODE__NOT_FOUND: return EXIT_NOT_FOUND;
        case LMCT__V1__CODE__ALREADY_EXISTS: return EXIT_EXISTS;
        case LMCT__V1__CODE__PERMISSION_DENIED: return EXIT_DENIED;
        case LMCT__V1__CODE__UNAVAILABLE: return EXIT_UNREACHABLE;
        case LMCT__V1__CODE__FAILED_PRECONDITION: return EXIT_PRECONDITION;
        default: return EXIT_FAILURE_;
        }
}

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "socket", required_argument, NULL, 's' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        ctx c = { 0 };
        int o, r;

        while ((o = getopt_long(argc, argv, "+s:jh", opts, NULL)) >= 0) {
                switch (o) {
                case 's': c.socket = optarg; break;
                case 'j': c.json = true; break;
                case 'h': help(stdout); return EXIT_OK;
                default: help(stderr); return EXIT_USAGE;
                }
        }
        if (optind >= argc) {
                help(stderr);
                return EXIT_USAGE;
        }
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
                if (strcmp(commands[i].name, argv[optind]) != 0)
                        continue;
                c.verb = commands[i].name;
                argc -= optind;
                argv += optind;
                optind = 0; /* let each verb run getopt from its argv[1] */
                r = commands[i].run(&c, argc, argv);
                lmct_client_free(c.client);
                return r;
        }
        fprintf(stderr, "lmctl: unknown verb '%s' (lmctl --help lists them)\n", argv[optind]);
        return EXIT_USAGE;
}
