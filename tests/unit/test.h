/* A tiny unit-test harness: CHECK records a failure and goes on; main
 * returns 1 if any check failed. */
#pragma once

#include <stdio.h>
#include <string.h>

static int test_failures, test_checks;

#define CHECK(cond)                                                                              \
        do {                                                                                     \
                test_checks++;                                                                   \
                if (!(cond)) {                                                                   \
                        test_failures++;                                                         \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
                }                                                                                \
        } while (0)

#define CHECK_STR(a, b)                                                                          \
        do {                                                                                     \
                const char *_a = (a), *_b = (b);                                                 \
                test_checks++;                                                                   \
                if (strcmp(_a, _b) != 0) {                                                       \
                        test_failures++;                                                         \
                        fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__, _a, _b); \
                }                                                                                \
        } while (0)

#define TEST_MAIN(...)                                                                           \
        int main(void) {                                                                         \
                __VA_ARGS__;                                                                     \
                printf("%d checks, %d failed\n", test_checks, test_failures);                    \
                return test_failures ? 1 : 0;                                                    \
        }
