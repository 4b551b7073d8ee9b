/* lmctld: owns a cgroup v2 subtree and serves lmct requests on a socket. */
#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "lmct-client.h"
#include "lmct-name.h"
#include "events.h"
#include "listen.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "quota.h"
#include "release.h"
#include "runs.h"
#include "scope.h"
#include "spawn.h"
#include "server.h"
#include "util.h"
#include "watch.h"

#define CGROUP_ROOT_DEFAULT "/sys/fs/cgroup/lmct"

static void usage(FILE *f) {
        fprintf(f,
                "Usage: lmctld [OPTIONS]\n"
                "Serve lmct requests: named, nested containers on a cgroup v2 subtree.\n\n"
                "  -s, --socket PATH       listen on PATH (default %s); a socket passed by\n"
                "                          systemd (socket activation) is used instead\n"
                "  -r, --cgroup-root DIR   own the cgroup v2 directory DIR (default %s);\n"
                "                          created if missing; containers are its subdirectories\n"
                "      --scope UNIT        on a systemd host: own the delegated scope UNIT\n"
                "                          (e.g. lmct.scope), created through systemd if missing\n"
                "  -d, --max-depth N       refuse names deeper than N (1..%d, default %d)\n"
                "  -t, --client-timeout S  cut off a client that takes longer than S seconds to\n"
                "                          finish a request it began or to read its answers (30)\n"
                "  -l, --log-dir DIR       output of detached commands when no journal runs\n"
                "                          (default /var/log/lmct)\n"
                "      --start-timeout S   a command must execute within S seconds of its\n"
                "                          start, or it is killed (10)\n"
                "      --reclaim-timeout S a reclaim (lmctl reclaim) is stopped after S seconds\n"
                "                          of the kernel's work (10)\n"
                "      --metrics-listen A:P  serve /metrics (Prometheus text) on address A, port P,\n"
                "                          or unix:PATH on a Unix socket (mode 0600, or 0660 with\n"
                "                          --metrics-group GROUP): who can connect reads every\n"
                "                          container's name, usage and limits\n"
                "                          (off by default; use a loopback address)\n"
                "  -v, --verbose           log debug messages too\n"
                "  -q, --quiet             log warnings and errors only\n"
                "  -h, --help              show this help\n"
                "  -V, --version           show the version\n",
                LMCT_SOCKET_DEFAULT, CGROUP_ROOT_DEFAULT, LMCT_NAME_DEPTH_MAX, LMCT_NAME_DEPTH_MAX);
}

/* What systemd shows: STATUS= for systemctl status, WATCHDOG=1 pings. */
typedef struct service {
        manager *m;
        server *srv;
        struct event *timer;
        bool watchdog;
        char last[128];  /* the STATUS= line last sent */
} service;

static void service_tick(evutil_socket_t fd, short what, void *arg) {
        service *sv = arg;
        char line[128];
        unsigned clients = server_connections(sv->srv);

        (void)fd;
        (void)what;
        snprintf(line, sizeof line, "STATUS=%zu containers managed, %u client%s connected",
                 manager_count(sv->m), clients, clients == 1 ? "" : "s");
        if (strcmp(line, sv->last) != 0) {
                snprintf(sv->last, sizeof sv->last, "%s", line);
                (void)sd_notify(0, line);
        }
        /* Pinged from the event loop: a loop that hangs stops the pings. */
        if (sv->watchdog)
                (void)sd_notify(0, "WATCHDOG=1");
}

static int service_start(service *sv, struct event_base *base) {
        uint64_t usec = 0;
        struct timeval tv = { 2, 0 };

        if (!getenv("NOTIFY_SOCKET"))
                return 0; /* not under systemd: nothing to tell */
        sv->watchdog = sd_watchdog_enabled(0, &usec) > 0 && usec > 0;
        if (sv->watchdog && usec / 2 < 2000000) {
                tv.tv_sec = (time_t)(usec / 2 / 1000000);
                tv.tv_usec = (suseconds_t)(usec / 2 % 1000000);
        }
        sv->timer = event_new(base, -1, EV_PERSIST, service_tick, sv);
        if (!sv->timer || event_add(sv->timer, &tv) < 0)
                return -ENOMEM;
        service_tick(-1, 0, sv);
        return 0;
}

/* The listening socket systemd passed, or -ENOENT if none. */
static int passed_socket(void) {
        int n = sd_listen_fds(1);

        if (n <= 0)
                return -ENOENT;
        if (n > 1) {
                log_error("systemd passed %d sockets; lmctld takes one", n);
                return -EINVAL;
        }
        if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0) <= 0) {
                log_error("the socket systemd passed is not a listening AF_UNIX stream socket");
                return -EINVAL;
        }
        if (fcntl(SD_LISTEN_FDS_START, F_SETFL, fcntl(SD_LISTEN_FDS_START, F_GETFL) | O_NONBLOCK) < 0 ||
            fcntl(SD_LISTEN_FDS_START, F_SETFD, FD_CLOEXEC) < 0)
                return log_error_errno(negerrno(), "cannot set up the passed socket");
        return SD_LISTEN_FDS_START;
}

/* The keeper's leaf emptied (someone killed it): a scope whose processes
 * all end is stopped by systemd, taking the containers with it. */
static bool keeper_changed(watch *w, bool timed_out, void *userdata) {
        int *kfd = userdata;

        (void)w;
        (void)timed_out;
        if (cg_populated(*kfd) == 0)
                (void)scope_keeper_ensure(*kfd);
        return false;
}

/* Descriptors, deliberately: enough for every bound lmctld keeps at once
 * (quota.h), raised to that; where the hard limit does not allow it, the
 * bounds shrink to what it does, so that the table never fills. */
static void raise_nofile(void) {
        unsigned long need = quota_descriptors_needed() + 512, have = spawn_raise_nofile(need);

        if (have < need) {
                quota_scale(have > 512 ? have - 512 : 1, need - 512);
                log_warning("lmctld may open %lu descriptors, less than the %lu its bounds need: the bounds are "
                            "scaled down to fit",
                            have, need);
        }
}

static void on_signal(evutil_socket_t sig, short what, void *arg) {
        (void)what;
        log_info("received signal %d, stopping", (int)sig);
        event_base_loopbreak(arg);
}

/* What the command line asks for. */
typedef struct options {
        const char *socket_path, *root, *log_dir, *scope, *metrics_listen, *metrics_group;
        unsigned max_depth, timeout_ms, start_timeout_ms, reclaim_timeout_ms;
} options;

/* Seconds 0.1..86400 into milliseconds. */
static int parse_seconds(const char *arg, const char *opt, unsigned *ret_ms) {
        char *end;
        double v = strtod(arg, &end);

        if (*end || !(v >= 0.1 && v <= 86400)) {
                fprintf(stderr, "lmctld: --%s takes seconds, 0.1..86400\n", opt);
                return -EINVAL;
        }
        *ret_ms = (unsigned)(v * 1000);
        return 0;
}

/* Fills O; returns -1 to go on, or the exit status. (One case per option:
 * its length is the option table's.) */
static int parse_options(int argc, char **argv, options *o) {
        static const struct option opts[] = {
                { "socket", required_argument, NULL, 's' },
                { "cgroup-root", required_argument, NULL, 'r' },
                { "max-depth", required_argument, NULL, 'd' },
                { "log-dir", required_argument, NULL, 'l' },
                { "scope", required_argument, NULL, 'S' },
                { "client-timeout", required_argument, NULL, 't' },
                { "metrics-listen", required_argument, NULL, 'M' },
                { "start-timeout", required_argument, NULL, 'T' },
                { "reclaim-timeout", required_argument, NULL, 'R' },
                { "metrics-group", required_argument, NULL, 'G' },
                { "verbose", no_argument, NULL, 'v' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "s:r:d:l:t:vqhV", opts, NULL)) >= 0) {
                switch (c) {
                case 's': o->socket_path = optarg; break;
                case 'r': o->root = optarg; break;
                case 'd': {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (*end || v < 1 || v > LMCT_NAME_DEPTH_MAX) {
                                fprintf(stderr, "lmctld: --max-depth must be 1..%d\n", LMCT_NAME_DEPTH_MAX);
                                return 2;
                        }
                        o->max_depth = (unsigned)v;
                        break;
                }
                case 'l': o->log_dir = optarg; break;
                case 'S': o->scope = optarg; break;
                case 'M': o->metrics_listen = optarg; break;
                case 'G': o->metrics_group = optarg; break;
                case 't':
                        if (parse_seconds(optarg, "client-timeout", &o->timeout_ms) < 0)
                                return 2;
                        break;
                case 'T':
                        if (parse_seconds(optarg, "start-timeout", &o->start_timeout_ms) < 0)
                                return 2;
                        break;
                case 'R':
                        if (parse_seconds(optarg, "reclaim-timeout", &o->reclaim_timeout_ms) < 0)
                                return 2;
                        break;
                case 'v': log_max_level = LOG_DEBUG; break;
                case 'q': log_max_level = LOG_WARNING; break;
                case 'h': usage(stdout); return 0;
                case 'V': printf("lmctld %s (protocol %d)\n", LMCT_VERSION, LMCT_PROTOCOL_VERSION); return 0;
                default: usage(stderr); return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "lmctld: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }
        if (o->scope && o->root) {
                fprintf(stderr, "lmctld: --scope and --cgroup-root exclude each other\n");
                return 2;
        }
        if (o->scope && (strlen(o->scope) < 7 || strcmp(o->scope + strlen(o->scope) - 6, ".scope") != 0 ||
                         strchr(o->scope, '/'))) {
                fprintf(stderr, "lmctld: --scope takes a unit name ending in .scope, such as lmct.scope\n");
                return 2;
        }
        return -1;
}

/* lmctld's parts, made in daemon_start and freed in the reverse order in
 * daemon_stop. */
typedef struct lmctld {
        struct event_base *base;
        char *scope_path;
        int keeper_fd;
        manager *m;
        events *ev;
        server *srv;
        metrics *mt;
        service sv;
        struct event *sigterm, *sigint;
        const char *socket_path;
        bool activated;          /* the socket is systemd's */
} lmctld;

/* The listening socket: systemd's, or one lmctld makes. */
static int open_socket(lmctld *d, const options *o) {
        int fd = passed_socket();

        d->socket_path = o->socket_path ? o->socket_path : getenv(LMCT_SOCKET_ENV);
        if (!d->socket_path || !*d->socket_path)
                d->socket_path = LMCT_SOCKET_DEFAULT;
        if (fd == -ENOENT)
                return listen_unix(d->socket_path, 0660, (gid_t)-1);
        if (fd >= 0) {
                d->activated = true;
                d->socket_path = "the socket passed by systemd";
        }
        return fd;
}

static int daemon_start(lmctld *d, const options *o) {
        const char *root = o->root;
        int fd;

        signal(SIGPIPE, SIG_IGN);
        raise_nofile();
        d->base = event_base_new();
        if (!d->base)
                return -ENOMEM;
        if (o->scope) {
                if (scope_setup(o->scope, &d->scope_path, &d->keeper_fd) < 0)
                        return -EIO;
                root = d->scope_path;
        }
        if (manager_new(d->base, root ? root : CGROUP_ROOT_DEFAULT, NULL, o->max_depth, &d->m) < 0)
                return -EIO;
        if (d->keeper_fd >= 0 &&
            watch_events(d->m->watcher, d->keeper_fd, -1, keeper_changed, &d->keeper_fd, NULL, NULL) < 0)
                return -ENOMEM;
        d->m->log_dir = strdup(o->log_dir);
        d->m->start_timeout_ms = o->start_timeout_ms;
        d->m->reclaim_timeout_ms = o->reclaim_timeout_ms;
        if (!d->m->log_dir || events_new(d->m, runs_waiting_in, &d->ev) < 0 ||
            releaser_new(d->base, &d->m->releaser) < 0)
                return -ENOMEM;
        fd = open_socket(d, o);
        if (fd < 0)
                return fd;
        if (server_new(d->base, d->m, d->ev, fd, &d->srv) < 0) {
                close(fd);
                return -ENOMEM;
        }
        server_set_timeout(d->srv, o->timeout_ms);
        if (o->metrics_listen && metrics_start(d->base, d->m, d->ev, o->metrics_listen, o->metrics_group, &d->mt) < 0)
                return -EIO;
        d->sigterm = evsignal_new(d->base, SIGTERM, on_signal, d->base);
        d->sigint = evsignal_new(d->base, SIGINT, on_signal, d->base);
        if (!d->sigterm || !d->sigint || evsignal_add(d->sigterm, NULL) < 0 || evsignal_add(d->sigint, NULL) < 0)
                return -ENOMEM;
        log_info("lmctld %s serving %s for %s (%zu containers)", LMCT_VERSION, d->socket_path, d->m->root_path,
                 manager_count(d->m));
        /* Ready: the tree is adopted and the socket served. */
        (void)sd_notify(0, "READY=1");
        d->sv.m = d->m;
        d->sv.srv = d->srv;
        return service_start(&d->sv, d->base);
}

/* Commands lmctld started keep running; connections, subscriptions and
 * listeners end, in the order that lets each part forget the next. */
static void daemon_stop(lmctld *d) {
        metrics_free(d->mt);
        if (d->sv.timer)
                event_free(d->sv.timer);
        if (d->sigterm)
                event_free(d->sigterm);
        if (d->sigint)
                event_free(d->sigint);
        if (d->m)
                runs_free_all(d->m);
        server_free(d->srv);
        events_free(d->ev);
        if (d->m)
                d->m->releaser = releaser_free(d->m->releaser);
        manager_free(d->m);
        if (d->base)
                event_base_free(d->base);
        libevent_global_shutdown();
        free(d->scope_path);
        if (d->keeper_fd >= 0)
                close(d->keeper_fd);
}

int main(int argc, char **argv) {
        options o = { .log_dir = "/var/log/lmct", .max_depth = LMCT_NAME_DEPTH_MAX, .timeout_ms = 30000,
                      .start_timeout_ms = 10000, .reclaim_timeout_ms = 10000 };
        lmctld d = { .keeper_fd = -1 };
        int r = parse_options(argc, argv, &o);

        if (r >= 0)
                return r;
        log_open();
        r = daemon_start(&d, &o) < 0 ? 1 : 0;
        if (r == 0) {
                event_base_dispatch(d.base);
                (void)sd_notify(0, "STOPPING=1\nSTATUS=stopping");
                /* systemd keeps its socket; only a socket lmctld made is removed. */
                if (!d.activated)
                        (void)unlink(d.socket_path);
        }
        daemon_stop(&d);
        return r;
}
