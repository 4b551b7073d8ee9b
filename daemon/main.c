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

int main(int argc, char **argv) {
        static const struct option opts[] = {
                { "socket", required_argument, NULL, 's' },
                { "cgroup-root", required_argument, NULL, 'r' },
                { "max-depth", required_argument, NULL, 'd' },
                { "log-dir", required_argument, NULL, 'l' },
                { "scope", required_argument, NULL, 'S' },
                { "client-timeout", required_argument, NULL, 't' },
                { "metrics-listen", required_argument, NULL, 'M' },
                { "start-timeout", required_argument, NULL, 'T' },
                { "metrics-group", required_argument, NULL, 'G' },
                { "verbose", no_argument, NULL, 'v' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        const char *socket_path = NULL, *root = NULL, *log_dir = "/var/log/lmct", *scope = NULL;
        _cleanup_free_ char *scope_path = NULL;
        _cleanup_close_ int keeper_fd = -1;
        const char *metrics_listen = NULL, *metrics_group = NULL;
        metrics *mt = NULL;
        service sv = { 0 };
        bool activated = false;
        unsigned max_depth = LMCT_NAME_DEPTH_MAX, timeout_ms = 30000, start_timeout_ms = 10000;
        struct event_base *base = NULL;
        struct event *sigterm = NULL, *sigint = NULL;
        manager *m = NULL;
        server *srv = NULL;
        events *ev = NULL;
        int c, fd, r = 1;

        while ((c = getopt_long(argc, argv, "s:r:d:l:t:vqhV", opts, NULL)) >= 0) {
                switch (c) {
                case 's': socket_path = optarg; break;
                case 'r': root = optarg; break;
                case 'd': {
                        char *end;
                        unsigned long v = strtoul(optarg, &end, 10);
                        if (*end || v < 1 || v > LMCT_NAME_DEPTH_MAX) {
                                fprintf(stderr, "lmctld: --max-depth must be 1..%d\n", LMCT_NAME_DEPTH_MAX);
                                return 2;
                        }
                        max_depth = (unsigned)v;
                        break;
                }
                case 'l': log_dir = optarg; break;
                case 'S': scope = optarg; break;
                case 'M': metrics_listen = optarg; break;
                case 'G': metrics_group = optarg; break;
                case 't':
                case 'T': {
                        char *end;
                        double v = strtod(optarg, &end);
                        if (*end || !(v >= 0.1 && v <= 86400)) {
                                fprintf(stderr, "lmctld: --%s takes seconds, 0.1..86400\n",
                                        c == 't' ? "client-timeout" : "start-timeout");
                                return 2;
                        }
                        *(c == 't' ? &timeout_ms : &start_timeout_ms) = (unsigned)(v * 1000);
                        break;
                }
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
        if (scope && root) {
                fprintf(stderr, "lmctld: --scope and --cgroup-root exclude each other\n");
                return 2;
        }
        if (scope && (strlen(scope) < 7 || strcmp(scope + strlen(scope) - 6, ".scope") != 0 || strchr(scope, '/'))) {
                fprintf(stderr, "lmctld: --scope takes a unit name ending in .scope, such as lmct.scope\n");
                return 2;
        }
        log_open();
        if (!socket_path)
                socket_path = getenv(LMCT_SOCKET_ENV);
        if (!socket_path || !*socket_path)
                socket_path = LMCT_SOCKET_DEFAULT;

        signal(SIGPIPE, SIG_IGN);
        raise_nofile();
        base = event_base_new();
        if (!base)
                goto out;
        if (scope) {
                if (scope_setup(scope, &scope_path, &keeper_fd) < 0)
                        goto out;
                root = scope_path;
        }
        if (manager_new(base, root ? root : CGROUP_ROOT_DEFAULT, NULL, max_depth, &m) < 0)
                goto out;
        if (keeper_fd >= 0 && watch_events(m->watcher, keeper_fd, -1, keeper_changed, &keeper_fd, NULL, NULL) < 0)
                goto out;
        m->log_dir = strdup(log_dir);
        m->start_timeout_ms = start_timeout_ms;
        if (!m->log_dir || events_new(m, runs_waiting_in, &ev) < 0 || releaser_new(base, &m->releaser) < 0)
                goto out;
        fd = passed_socket();
        if (fd == -ENOENT)
                fd = listen_unix(socket_path, 0660, (gid_t)-1);
        else if (fd >= 0) {
                activated = true;
                socket_path = "the socket passed by systemd";
        }
        if (fd < 0)
                goto out;
        if (server_new(base, m, ev, fd, &srv) < 0) {
                close(fd);
                goto out;
        }
        server_set_timeout(srv, timeout_ms);
        if (metrics_listen && metrics_start(base, m, ev, metrics_listen, metrics_group, &mt) < 0)
                goto out;
        sigterm = evsignal_new(base, SIGTERM, on_signal, base);
        sigint = evsignal_new(base, SIGINT, on_signal, base);
        if (!sigterm || !sigint || evsignal_add(sigterm, NULL) < 0 || evsignal_add(sigint, NULL) < 0)
                goto out;
        log_info("lmctld %s serving %s for %s (%zu containers)", LMCT_VERSION, socket_path, m->root_path,
                 manager_count(m));
        /* Ready: the tree is adopted and the socket served. */
        (void)sd_notify(0, "READY=1");
        sv.m = m;
        sv.srv = srv;
        if (service_start(&sv, base) < 0)
                goto out;
        event_base_dispatch(base);
        (void)sd_notify(0, "STOPPING=1\nSTATUS=stopping");
        /* systemd keeps its socket; only a socket lmctld made is removed. */
        if (!activated)
                (void)unlink(socket_path);
        r = 0;
out:
        metrics_free(mt);
        if (sv.timer)
                event_free(sv.timer);
        if (sigterm)
                event_free(sigterm);
        if (sigint)
                event_free(sigint);
        if (m)
                runs_free_all(m);
        server_free(srv);
        events_free(ev);
        if (m)
                m->releaser = releaser_free(m->releaser);
        manager_free(m);
        if (base)
                event_base_free(base);
        libevent_global_shutdown();
        return r;
}
