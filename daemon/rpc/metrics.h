/* lmctld --metrics-listen ADDR:PORT or unix:PATH: /metrics for Prometheus. */
#pragma once

#include "events.h"
#include "manager.h"

struct event_base;
typedef struct metrics metrics;

/* GROUP: with unix:PATH, the group that may read (mode 0660); NULL: root
 * only (0600). */
int metrics_start(struct event_base *base, manager *m, events *ev, const char *listen, const char *group,
                  metrics **ret);
metrics *metrics_free(metrics *mt);
