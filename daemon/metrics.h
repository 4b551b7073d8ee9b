/* lmctld --metrics-listen ADDR:PORT: /metrics for Prometheus. */
#pragma once

#include "manager.h"

struct event_base;
typedef struct metrics metrics;

int metrics_start(struct event_base *base, manager *m, const char *listen, metrics **ret);
metrics *metrics_free(metrics *mt);
