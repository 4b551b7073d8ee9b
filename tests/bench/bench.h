/* Timing helpers shared by lmct's benchmarks. */
#pragma once

#include <stdlib.h>
#include <time.h>

static inline double now_us(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static inline int cmp_d(const void *a, const void *b) {
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

/* Sorts V in place. */
static inline double median(double *v, size_t n) {
        qsort(v, n, sizeof *v, cmp_d);
        return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
