/* The answer to a request being built: a canonical code and one sentence. */
#pragma once

#include "lmct.pb-c.h"

typedef struct status {
        Lmct__V1__Code code;
        char msg[512];
} status;

/* Sets ST's code and message; returns R (a negative errno) for chaining:
 * return st_fail(st, LMCT__V1__CODE__NOT_FOUND, -ENOENT, "%s does not exist", n); */
int st_fail(status *st, Lmct__V1__Code code, int r, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Printable, quoted, shortened form of an untrusted string, for messages. */
const char *quote(const char *s, char *buf, size_t len);

/* The code for a kernel errno that no caller mapped more precisely. */
Lmct__V1__Code st_code_from_errno(int r);
