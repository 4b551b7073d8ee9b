/* top: a live view of a subtree, in the manner of systemd-cgtop. Each
 * refresh is one stats request for the whole subtree; rates (CPU, I/O,
 * throttling) are the difference between two such answers over the time
 * between them. On a terminal it redraws in place and reads keys; with
 * --batch (or when stdout is not a terminal) it prints plain frames. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "lmct-limits.h"
#include "lmctl.h"

enum { C_NAME, C_CPU, C_MEM, C_PIDS, C_READ, C_WRITE, C_THROTTLED, C_PSI_CPU, C_PSI_MEM, C_PSI_IO, _C_MAX };

/* Each column: its heading, its --order name and the key that sorts by it. */
static const struct column {
        const char *title, *order;
        char key;
} columns[_C_MAX] = {
        [C_NAME] = { "NAME", "name", 'n' },
        [C_CPU] = { "CPU%", "cpu", 'c' },
        [C_MEM] = { "MEMORY", "memory", 'm' },
        [C_PIDS] = { "PIDS", "pids", 'p' },
        [C_READ] = { "READ/s", "read", 'r' },
        [C_WRITE] = { "WRITE/s", "write", 'w' },
        [C_THROTTLED] = { "THR%", "throttled", 't' },
        [C_PSI_CPU] = { "PSI-CPU", "psi-cpu", 'u' },
        [C_PSI_MEM] = { "PSI-MEM", "psi-memory", 'e' },
        [C_PSI_IO] = { "PSI-IO", "psi-io", 'i' },
};

/* The counters of one container that rates are made of. */
typedef struct sample {
        char *name;
        uint64_t cpu_us, periods, throttled, rbytes, wbytes;
} sample;

typedef struct row {
        const char *name;
        double v[_C_MAX];        /* NAN: not known */
} row;

typedef struct top {
        ctx *c;
        const char *name;
        lmct_response *resp;     /* the last answer; rows point into it */
        sample *prev;            /* the answer before, by name */
        size_t n_prev;
        double prev_t;
        row total, *rows;
        size_t n_rows;
        int order;
        double delay;
        bool tty;
} top;

static volatile sig_atomic_t stop_requested;
static struct termios saved_tio;
static bool tio_saved;

static void on_stop(int sig) {
        (void)sig;
        stop_requested = 1;
}

static void restore_terminal(void) {
        if (tio_saved)
                tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
        tio_saved = false;
}

static double now_s(void) {
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int by_name(const void *a, const void *b) {
        return strcmp(((const sample *)a)->name, ((const sample *)b)->name);
}

static sample sample_of(const Lmct__V1__Stats *s) {
        sample x = { .name = s->name };

        if (s->usage) {
                x.cpu_us = s->usage->cpu_usage_us;
                x.periods = s->usage->cpu_nr_periods;
                x.throttled = s->usage->cpu_nr_throttled;
        }
        for (size_t i = 0; i < s->n_io; i++) {
                x.rbytes += s->io[i]->rbytes;
                x.wbytes += s->io[i]->wbytes;
        }
        return x;
}

static double psi(const Lmct__V1__Pressure *p) {
        return p && p->has_avg10 ? p->avg10 : NAN;
}

/* Rates of S (whose counters are NOW) against what it was DT seconds ago
 * (PREV), into R. */
static void row_of(const Lmct__V1__Stats *s, sample now, const sample *prev, double dt, row *r) {
        const Lmct__V1__Usage *u = s->usage;

        r->name = s->name;
        for (int k = 0; k < _C_MAX; k++)
                r->v[k] = NAN;
        r->v[C_MEM] = u && u->has_memory_current ? (double)u->memory_current : NAN;
        r->v[C_PIDS] = u && u->has_pids_current ? (double)u->pids_current : NAN;
        r->v[C_PSI_CPU] = psi(s->cpu_some);
        r->v[C_PSI_MEM] = psi(s->memory_some);
        r->v[C_PSI_IO] = psi(s->io_some);
        if (!prev || dt <= 0 || now.cpu_us < prev->cpu_us)
                return; /* new, or made anew since: no rate yet */
        r->v[C_CPU] = (double)(now.cpu_us - prev->cpu_us) / (dt * 1e4);
        if (now.rbytes >= prev->rbytes && now.wbytes >= prev->wbytes) {
                r->v[C_READ] = (double)(now.rbytes - prev->rbytes) / dt;
                r->v[C_WRITE] = (double)(now.wbytes - prev->wbytes) / dt;
        }
        if (now.periods > prev->periods && now.throttled >= prev->throttled)
                r->v[C_THROTTLED] =
                        100.0 * (double)(now.throttled - prev->throttled) / (double)(now.periods - prev->periods);
}

static void forget_samples(top *t) {
        for (size_t i = 0; i < t->n_prev; i++)
                free(t->prev[i].name);
        free(t->prev);
        t->prev = NULL;
        t->n_prev = 0;
}

/* Keeps V (N samples, taken, names copied) for the next answer's rates. */
static void keep_samples(top *t, sample *v, size_t n, double when) {
        forget_samples(t);
        t->prev = v;
        t->n_prev = n;
        qsort(t->prev, t->n_prev, sizeof *t->prev, by_name);
        t->prev_t = when;
}

static int compare_rows(const void *a, const void *b, void *arg) {
        const row *x = a, *y = b;
        int k = *(const int *)arg;

        if (k == C_NAME)
                return strcmp(x->name, y->name);
        /* Descending; what is not known goes last; ties by name. */
        if (isnan(x->v[k]) != isnan(y->v[k]))
                return isnan(x->v[k]) ? 1 : -1;
        if (!isnan(x->v[k]) && x->v[k] != y->v[k])
                return x->v[k] > y->v[k] ? -1 : 1;
        return strcmp(x->name, y->name);
}

/* One refresh: a stats request for the subtree, and its rows. */
static int refresh(top *t) {
        lmct_response *resp = NULL;
        const Lmct__V1__StatsResult *res;
        double when, dt;
        sample *now;
        row *rows;
        int r = lmct_stats(t->c->client, t->name, true, &resp);

        if (r < 0)
                return r;
        when = now_s();
        res = resp->stats;
        dt = t->prev ? when - t->prev_t : 0;
        rows = calloc(res->n_stats ? res->n_stats : 1, sizeof *rows);
        now = calloc(res->n_stats ? res->n_stats : 1, sizeof *now);
        r = rows && now ? 0 : -ENOMEM;
        for (size_t i = 0; r >= 0 && i < res->n_stats; i++) {
                sample key = { .name = res->stats[i]->name ? res->stats[i]->name : "" };
                const sample *prev = t->n_prev ? bsearch(&key, t->prev, t->n_prev, sizeof *t->prev, by_name) : NULL;
                now[i] = sample_of(res->stats[i]);
                row_of(res->stats[i], now[i], prev, dt, i == 0 ? &t->total : &rows[i - 1]);
                if (!(now[i].name = strdup(key.name)))
                        r = -ENOMEM;
        }
        if (r < 0) {
                for (size_t i = 0; now && i < res->n_stats; i++)
                        free(now[i].name);
                free(now);
                free(rows);
                lmct_response_free(resp);
                return r;
        }
        keep_samples(t, now, res->n_stats, when);
        free(t->rows);
        lmct_response_free(t->resp);
        t->rows = rows;
        t->n_rows = res->n_stats ? res->n_stats - 1 : 0;
        t->resp = resp;
        return 0;
}

/* V in column K as shown. */
static const char *cell(int k, double v, char *buf, size_t len) {
        if (isnan(v))
                return "-";
        switch (k) {
        case C_MEM:
        case C_READ:
        case C_WRITE: return lmct_format_size((uint64_t)v, buf, len);
        case C_PIDS: snprintf(buf, len, "%.0f", v); return buf;
        default: snprintf(buf, len, "%.1f", v); return buf;
        }
}

static void print_row(const row *r, int width) {
        char b[_C_MAX][32];

        printf("%-*.*s", width, width, r->name);
        for (int k = 1; k < _C_MAX; k++)
                printf(" %8s", cell(k, r->v[k], b[k], sizeof b[k]));
        printf("\n");
}

/* One frame: a title, the container's own totals, and its subtree sorted.
 * On a terminal, as many rows as fit, redrawn in place. */
static void draw(top *t) {
        char b[3][32];
        int width = 32, height = 0;
        size_t shown = t->n_rows;
        struct winsize ws;

        qsort_r(t->rows, t->n_rows, sizeof *t->rows, compare_rows, &t->order);
        if (t->tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
                width = ws.ws_col > 10 * 9 + 12 ? ws.ws_col - 10 * 9 + 8 : 12;
                width = width > 48 ? 48 : width;
                height = ws.ws_row;
                printf("\033[H\033[2J");
        }
        printf("lmctl top %s: every %.1f s, by %s%s\n", *t->total.name ? t->total.name : "/", t->delay,
               columns[t->order].order, t->tty ? " (keys: c m p r w t u e i n sort, q quits)" : "");
        printf("total: CPU %s%%, memory %s, pids %s\n", cell(C_CPU, t->total.v[C_CPU], b[0], sizeof b[0]),
               cell(C_MEM, t->total.v[C_MEM], b[1], sizeof b[1]), cell(C_PIDS, t->total.v[C_PIDS], b[2], sizeof b[2]));
        printf("%-*s", width, columns[C_NAME].title);
        for (int k = 1; k < _C_MAX; k++)
                printf(" %8s", columns[k].title);
        printf("\n");
        if (height > 4 && shown > (size_t)(height - 4))
                shown = (size_t)(height - 4);
        for (size_t i = 0; i < shown; i++)
                print_row(&t->rows[i], width);
        if (!t->tty)
                printf("\n");
        fflush(stdout);
}

/* Waits until the next refresh is due, reading keys on a terminal: a
 * column's key sorts by it at once, q ends. Returns false to end. */
static bool wait_next(top *t, double due) {
        for (;;) {
                double left = due - now_s();
                struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
                char ch;

                if (stop_requested)
                        return false;
                if (left <= 0)
                        return true;
                if (!t->tty) {
                        struct timespec ts = { (time_t)left, (long)((left - (double)(time_t)left) * 1e9) };
                        nanosleep(&ts, NULL);
                        continue;
                }
                if (poll(&p, 1, (int)(left * 1000) + 1) <= 0 || read(STDIN_FILENO, &ch, 1) != 1)
                        continue;
                if (ch == 'q' || ch == 'Q')
                        return false;
                for (int k = 0; k < _C_MAX; k++)
                        if (ch == columns[k].key) {
                                t->order = k;
                                draw(t);
                        }
        }
}

/* Terminal mode: keys without Enter, no echo; put back at the end. */
static void enter_terminal(void) {
        struct termios tio;

        if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
                return;
        tio = saved_tio;
        tio.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
        tio.c_cc[VMIN] = 1;
        tio.c_cc[VTIME] = 0;
        if (tcsetattr(STDIN_FILENO, TCSANOW, &tio) == 0)
                tio_saved = true;
}

/* The options into T and *ITERATIONS: -1 to go on, or the exit status. */
static int parse_top(ctx *c, int argc, char **argv, top *t, bool *batch, long *iterations) {
        static const struct option opts[] = {
                { "delay", required_argument, NULL, 'd' },
                { "batch", no_argument, NULL, 'b' },
                { "iterations", required_argument, NULL, 'n' },
                { "order", required_argument, NULL, 'o' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        char *end;
        int o, k;

        while ((o = getopt_long(argc, argv, "d:bn:o:h", opts, NULL)) >= 0) {
                switch (o) {
                case 'd':
                        t->delay = strtod(optarg, &end);
                        if (*end || !(t->delay >= 0.1 && t->delay <= 3600))
                                return usage_error(c, "-d '%s': give seconds, 0.1..3600", optarg);
                        break;
                case 'b': *batch = true; break;
                case 'n':
                        *iterations = strtol(optarg, &end, 10);
                        if (*end || *iterations < 1)
                                return usage_error(c, "-n '%s': give a number of refreshes, 1 or more", optarg);
                        break;
                case 'o':
                        for (k = 0; k < _C_MAX && strcmp(optarg, columns[k].order) != 0; k++)
                                ;
                        if (k == _C_MAX)
                                return usage_error(c, "-o '%s': give cpu, memory, pids, read, write, throttled, "
                                                      "psi-cpu, psi-memory, psi-io or name", optarg);
                        t->order = k;
                        break;
                case 'h': cmd_usage(c->verb); return EXIT_OK;
                default: cmd_usage(c->verb); return EXIT_USAGE;
                }
        }
        if (optind + 1 < argc) {
                cmd_usage(c->verb);
                return usage_error(c, "give at most one container name");
        }
        t->name = optind < argc ? argv[optind] : "/";
        return -1;
}

int cmd_top(ctx *c, int argc, char **argv) {
        top t = { .c = c, .order = C_CPU, .delay = 1.0 };
        struct sigaction sa = { .sa_handler = on_stop };
        bool batch = false;
        long iterations = -1;
        double due;
        int r;

        if ((r = parse_top(c, argc, argv, &t, &batch, &iterations)) >= 0)
                return r;
        if ((r = connect_daemon(c)))
                return r;
        t.tty = !batch && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        if (t.tty)
                enter_terminal();
        /* A first answer to measure the rates of the first frame against. */
        r = refresh(&t);
        due = now_s() + t.delay;
        while (r >= 0 && iterations != 0 && wait_next(&t, due)) {
                due += t.delay;
                if ((r = refresh(&t)) < 0)
                        break;
                draw(&t);
                if (iterations > 0)
                        iterations--;
        }
        restore_terminal();
        free(t.rows);
        forget_samples(&t);
        lmct_response_free(t.resp);
        return r < 0 ? call_failed(c, t.name, r) : EXIT_OK;
}
