/* lmct-load: concurrent clients sending mixed requests to lmctld, with
 * optional abusive neighbours, for the load and leak checks.
 *
 *   lmct-load SOCKET CLIENTS REQUESTS PREFIX [--abuse]
 *
 * Each of CLIENTS processes opens one connection and sends REQUESTS
 * requests, cycling through create, show, list, create of a child, ps -r,
 * pause, resume and destroy -r of a container of its own (PREFIX-N-K). With
 * --abuse, two neighbours run meanwhile: a slow-loris client that sends a
 * request frame one byte every 200 ms, and one that sends requests until
 * lmctld stops reading them and never reads an answer; each reports when
 * lmctld cut it off.
 *
 * Prints:
 *   load: C clients x R requests: N ok, E errors; median U us, p99 P us
 *   slow-loris: cut off after S s (B bytes sent)
 *   non-reader: cut off after S s
 * Exit status 0 if every request succeeded. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lmct-client.h"
#include "lmct-frame.h"

static double now_us(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

/* One client: writes its latencies (doubles) and error count to FD. */
static void client(const char *sock, int id, int requests, const char *prefix, int out) {
        lmct_client *c = NULL;
        double *lat = calloc((size_t)requests, sizeof *lat);
        int errors = 0;

        if (!lat || lmct_connect(sock, &c) < 0) {
                errors = requests;
                goto done;
        }
        for (int k = 0; k < requests; k++) {
                char name[128], child[160];
                lmct_response *resp = NULL;
                double t0 = now_us();
                int r;

                snprintf(name, sizeof name, "%s-%d-%d", prefix, id, k / 8);
                snprintf(child, sizeof child, "%s/c", name);
                switch (k % 8) {
                case 0: r = lmct_create(c, name, NULL, false); break;
                case 1: r = lmct_show(c, name, &resp); break;
                case 2: r = lmct_list(c, name, true, &resp); break;
                case 3: r = lmct_create(c, child, NULL, false); break;
                case 4: r = lmct_ps(c, name, true, &resp); break;
                case 5: r = lmct_pause(c, name); break;
                case 6: r = lmct_resume(c, name); break;
                default: r = lmct_destroy(c, name, true, false); break;
                }
                lat[k] = now_us() - t0;
                lmct_response_free(resp);
                if (r < 0) {
                        if (errors < 5)
                                fprintf(stderr, "client %d request %d: %s\n", id, k, lmct_client_message(c));
                        errors++;
                }
        }
done:
        if (write(out, &errors, sizeof errors) != sizeof errors ||
            write(out, lat, (size_t)requests * sizeof *lat) != (ssize_t)((size_t)requests * sizeof *lat))
                _exit(3);
        lmct_client_free(c);
        _exit(0);
}

static int raw_connect(const char *sock) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
                return -1;
        return fd;
}

/* Sends a frame of 200 bytes one byte at a time until lmctld hangs up. */
static void slowloris(const char *sock) {
        int fd = raw_connect(sock), sent = 0;
        double t0 = now_us();
        unsigned char b = 200;

        signal(SIGPIPE, SIG_IGN);
        while (fd >= 0 && sent < 600) {
                char tmp;
                if (send(fd, &b, 1, MSG_NOSIGNAL) != 1)
                        break;
                sent++;
                b = 0x08;
                usleep(200000);
                if (recv(fd, &tmp, 1, MSG_DONTWAIT) == 0)
                        break;
        }
        printf("slow-loris: cut off after %.1f s (%d bytes sent)\n", (now_us() - t0) / 1e6, sent);
        fflush(stdout);
        _exit(sent < 600 ? 0 : 1);
}

/* Sends version requests and never reads, until lmctld hangs up: the
 * sending goes on (when there is room) so that the hang-up is seen. */
static void nonreader(const char *sock) {
        uint8_t frame[32];
        Lmct__V1__Request req = LMCT__V1__REQUEST__INIT;
        Lmct__V1__VersionRequest v = LMCT__V1__VERSION_REQUEST__INIT;
        int fd = raw_connect(sock), n = 0;
        size_t len, h;
        double t0 = now_us();

        req.verb_case = LMCT__V1__REQUEST__VERB_VERSION;
        req.version = &v;
        len = lmct__v1__request__get_packed_size(&req);
        h = lmct_varint_encode(len, frame);
        lmct__v1__request__pack(&req, frame + h);
        signal(SIGPIPE, SIG_IGN);
        /* Non-blocking: once lmctld stops reading, keep checking for the hang-up. */
        fcntl(fd, F_SETFL, O_NONBLOCK);
        while (fd >= 0 && now_us() - t0 < 120e6) {
                ssize_t k = send(fd, frame, h + len, MSG_NOSIGNAL);
                if (k > 0)
                        n++;
                else if (k < 0 && errno != EAGAIN)
                        break;
                else
                        usleep(50000);
        }
        printf("non-reader: cut off after %.1f s (%d requests sent)\n", (now_us() - t0) / 1e6, n);
        fflush(stdout);
        _exit(0);
}

int main(int argc, char **argv) {
        int clients, requests, total_err = 0, pipes[256][2];
        pid_t kids[256], abusers[2] = { 0, 0 };
        double *all;
        size_t n_all = 0;
        bool abuse;

        if (argc < 5 || (argc == 6 && strcmp(argv[5], "--abuse") != 0) || argc > 6) {
                fprintf(stderr, "usage: lmct-load SOCKET CLIENTS REQUESTS PREFIX [--abuse]\n");
                return 2;
        }
        clients = atoi(argv[2]);
        requests = atoi(argv[3]);
        abuse = argc == 6;
        if (clients < 1 || clients > 256 || requests < 1)
                return 2;
        all = calloc((size_t)clients * (size_t)requests, sizeof *all);
        if (!all)
                return 1;
        if (abuse) {
                if ((abusers[0] = fork()) == 0)
                        slowloris(argv[1]);
                if ((abusers[1] = fork()) == 0)
                        nonreader(argv[1]);
                usleep(300000); /* let them settle in first */
        }
        for (int i = 0; i < clients; i++) {
                if (pipe(pipes[i]) < 0)
                        return 1;
                kids[i] = fork();
                if (kids[i] == 0) {
                        close(pipes[i][0]);
                        client(argv[1], i, requests, argv[4], pipes[i][1]);
                }
                close(pipes[i][1]);
        }
        for (int i = 0; i < clients; i++) {
                int errors = requests;
                size_t want = (size_t)requests * sizeof *all, got = 0;
                if (read(pipes[i][0], &errors, sizeof errors) != sizeof errors)
                        errors = requests;
                while (got < want) {
                        ssize_t k = read(pipes[i][0], (char *)(all + n_all) + got, want - got);
                        if (k <= 0)
                                break;
                        got += (size_t)k;
                }
                n_all += got / sizeof *all;
                total_err += errors;
                close(pipes[i][0]);
                waitpid(kids[i], NULL, 0);
        }
        qsort(all, n_all, sizeof *all, cmp_double);
        printf("load: %d clients x %d requests: %d ok, %d errors; median %.0f us, p99 %.0f us\n", clients, requests,
               clients * requests - total_err, total_err, n_all ? all[n_all / 2] : 0.0,
               n_all ? all[n_all * 99 / 100] : 0.0);
        fflush(stdout);
        for (int i = 0; i < 2; i++)
                if (abusers[i] > 0)
                        waitpid(abusers[i], NULL, 0);
        free(all);
        return total_err ? 1 : 0;
}
