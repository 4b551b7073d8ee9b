/* lmctld: owns a cgroup v2 subtree and serves lmct requests on a socket. */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "lmct-client.h"
#include "lmct-name.h"
#include "log.h"
#include "manager.h"
#include "runs.h"
#include "server.h"
#include "util.h"

#define CGROUP_ROOT_DEFAULT "/sys/fs/cgroup/lmct"

static void usage(FILE *f) {
        fprintf(f,
                "Usage: lmctld [OPTIONS]\n"
                "Serve lmct requests: named, nested containers on a cgroup v2 subtree.\n\n"
                "  -s, --socket PATH       listen on PATH (default %s)\n"
                "  -r, --cgroup-root DIR   own the cgroup v2 directory DIR (default %s);\n"
                "                          created if missing; containers are its subdirectories\n"
                "  -d, --max-depth N       refuse names deeper than N (1..%d, default %d)\n"
                "  -l, --log-dir DIR       output of detached commands when no journal runs\n"
                "                          (default /var/log/lmct)\n"
                "  -v, --verbose           log debug messages too\n"
                "  -q, --quiet             log warnings and errors only\n"
                "  -h, --help              show this help\n"
                "  -V, --version           show the version\n",
                LMCT_SOCKET_DEFAULT, CGROUP_ROOT_DEFAULT, LMCT_NAME_DEPTH_MAX, LMCT_NAME_DEPTH_MAX);
}

/* Binds PATH, replacing a stale socket but never a live daemon's. */
static int listen_on(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        char dir[sizeof sa.sun_path];
        char *slash;

        if (strlen(path) >= sizeof sa.sun_path) {
                log_error("socket path %s is too long", path);
                return -ENAMETOOLONG;
        }
        strcpy(sa.sun_path, path);
        snprintf(dir, sizeof dir, "%s", path);
        slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                        return log_error_errno(negerrno(), "cannot create %s", dir);
        }
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(negerrno(), "socket");
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
                int probe, live;
                if (errno != EADDRINUSE)
                        return log_error_errno(negerrno(), "cannot bind %s", path);
                probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
                if (probe >= 0)
                        close(probe);
                if (live) {
                        log_error("another lmctld is serving %s", path);
                        return -EADDRINUSE;
                }
                (void)unlink(path);
                if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
                        return log_error_errno(negerrno(), "cannot bind %s", path);
        }
        if (chmod(path, 0660) < 0 || listen(fd, SOMAXCONN) < 0)
                return log_error_errno(negerrno(), "cannot listen on %s", path);
        return TAKE_FD(fd);
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
                { "verbose", no_argument, NULL, 'v' },
                { "quiet", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {},
        };
        const char *socket_path = NULL, *root = CGROUP_ROOT_DEFAULT, *log_dir = "/var/log/lmct";
        unsigned max_depth = LMCT_NAME_DEPTH_MAX;
        struct event_base *base = NULL;
        struct event *sigterm = NULL, *sigint = NULL;
        manager *m = NULL;
        server *srv = NULL;
        int c, fd, r = 1;

        while ((c = getopt_long(argc, argv, "s:r:d:l:vqhV", opts, NULL)) >= 0) {
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
        if (!socket_path)
                socket_path = getenv(LMCT_SOCKET_ENV);
        if (!socket_path || !*socket_path)
                socket_path = LMCT_SOCKET_DEFAULT;

        signal(SIGPIPE, SIG_IGN);
        base = event_base_new();
        if (!base)
                goto out;
        if (manager_new(base, root, max_depth, &m) < 0)
                goto out;
        m->log_dir = strdup(log_dir);
        if (!m->log_dir)
                goto out;
        fd = listen_on(socket_path);
        if (fd < 0)
                goto out;
        if (server_new(base, m, fd, &srv) < 0) {
                close(fd);
                goto out;
        }
        sigterm = evsignal_new(base, SIGTERM, on_signal, base);
        sigint = evsignal_new(base, SIGINT, on_signal, base);
        if (!sigterm || !sigint || evsignal_add(sigterm, NULL) < 0 || evsignal_add(sigint, NULL) < 0)
                goto out;
        log_info("lmctld %s serving %s for %s (%zu containers)", LMCT_VERSION, socket_path, root, manager_count(m));
        (void)sd_notify(0, "READY=1");
        event_base_dispatch(base);
        (void)sd_notify(0, "STOPPING=1");
        (void)unlink(socket_path);
        r = 0;
out:
        if (sigterm)
                event_free(sigterm);
        if (sigint)
                event_free(sigint);
        if (m)
                runs_free_all(m);
        server_free(srv);
        manager_free(m);
        if (base)
                event_base_free(base);
        libevent_global_shutdown();
        return r;
}
