/* Bounds per principal and in all, with room kept for the privileged. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "quota.h"
#include "test.h"

static void test_per_principal(void) {
        quota *a = quota_get("uid 1000", false), *a2 = quota_get("uid 1000", false), *b = quota_get("uid 1001", false);

        CHECK(a == a2); /* one entry per principal */
        CHECK(b != a);
        quota_set_limits(Q_TRIGGERS, 4, 10, 2);
        for (int i = 0; i < 4; i++)
                CHECK(quota_take(a, Q_TRIGGERS, 1) == 0);
        CHECK(quota_take(a, Q_TRIGGERS, 1) == -EDQUOT);
        CHECK(quota_used(a, Q_TRIGGERS) == 4);
        /* Another principal has its own, until the unprivileged share
         * (10 less 2 kept for root) is used up. */
        for (int i = 0; i < 4; i++)
                CHECK(quota_take(b, Q_TRIGGERS, 1) == 0);
        quota_give(a, Q_TRIGGERS, 4);
        CHECK(quota_used(a, Q_TRIGGERS) == 0);
        CHECK(quota_take(a, Q_TRIGGERS, 4) == 0);
        quota_give(a, Q_TRIGGERS, 4);
        quota_give(b, Q_TRIGGERS, 4);
        /* A give without its take never wraps around. */
        quota_give(a, Q_TRIGGERS, 3);
        CHECK(quota_used(a, Q_TRIGGERS) == 0);
        CHECK(quota_take(a, Q_TRIGGERS, 4) == 0);
        quota_give(a, Q_TRIGGERS, 4);
        quota_unref(a);
        quota_unref(a2);
        quota_unref(b);
}

static void test_reserve(void) {
        quota *u[3], *root = quota_get("root", true);

        quota_set_limits(Q_CONNS, 4, 10, 2);
        for (int i = 0; i < 3; i++) {
                char key[16];
                snprintf(key, sizeof key, "uid %d", 2000 + i);
                u[i] = quota_get(key, false);
        }
        CHECK(quota_take(u[0], Q_CONNS, 4) == 0);
        CHECK(quota_take(u[1], Q_CONNS, 4) == 0);
        /* 8 of the 10 are the unprivileged's: the last 2 are root's. */
        CHECK(quota_take(u[2], Q_CONNS, 1) == -ENFILE);
        CHECK(quota_take(root, Q_CONNS, 2) == 0);
        CHECK(quota_take(root, Q_CONNS, 1) == -ENFILE);
        /* Root may also use what the others leave. */
        quota_give(u[0], Q_CONNS, 4);
        CHECK(quota_take(root, Q_CONNS, 3) == 0);
        CHECK(quota_limit(root, Q_CONNS) == UINT64_MAX);
        CHECK(quota_privileged(root) && !quota_privileged(u[0]));
        quota_give(root, Q_CONNS, 5);
        quota_give(u[1], Q_CONNS, 4);
        for (int i = 0; i < 3; i++)
                quota_unref(u[i]);
        quota_unref(root);
}

static void test_over(void) {
        quota *a = quota_get("container team1", false);

        quota_set_limits(Q_OUTPUT, 100, 1000, 100);
        CHECK(!quota_over(a, Q_OUTPUT, false));
        /* Output already queued is counted even past the bound. */
        CHECK(quota_adjust(a, Q_OUTPUT, 150) == -EDQUOT);
        CHECK(quota_over(a, Q_OUTPUT, false));
        CHECK(quota_adjust(a, Q_OUTPUT, -100) == 0);
        CHECK(!quota_over(a, Q_OUTPUT, false));
        CHECK(quota_over(a, Q_OUTPUT, true)); /* 50 of 100: not yet below half */
        CHECK(quota_adjust(a, Q_OUTPUT, -1) == 0);
        CHECK(!quota_over(a, Q_OUTPUT, true));
        quota_adjust(a, Q_OUTPUT, -49);
        quota_unref(a);
}

static void test_scale(void) {
        uint64_t before = quota_descriptors_needed();

        quota_scale(1, 2);
        CHECK(quota_descriptors_needed() <= before / 2 + 8);
        CHECK(quota_global_limit(Q_FDS) > 0);
}

/* The sentence a refusal gives, its own bound and the global one. */
static void test_refusal(void) {
        quota *a = quota_get("uid 1000", false);
        char buf[160];

        quota_set_limits(Q_RECLAIMS, 2, 16, 2);
        CHECK(quota_take(a, Q_RECLAIMS, 2) == 0);
        CHECK_STR(quota_refusal(a, Q_RECLAIMS, -EDQUOT, "has", "reclaims in progress", buf, sizeof buf),
                  "uid 1000 has 2 reclaims in progress already (at most 2)");
        CHECK_STR(quota_refusal(a, Q_RECLAIMS, -ENFILE, "has", "reclaims in progress", buf, sizeof buf),
                  "uid 1000 has 2 reclaims in progress already (at most 16 in all, some kept for root)");
        quota_give(a, Q_RECLAIMS, 2);
        quota_unref(a);
}

TEST_MAIN(test_per_principal(); test_reserve(); test_over(); test_scale(); test_refusal())
