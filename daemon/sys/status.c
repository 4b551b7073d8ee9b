#include "status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

int st_fail(status *st, Lmct__V1__Code code, int r, const char *fmt, ...) {
        va_list ap;

        st->code = code;
        va_start(ap, fmt);
        vsnprintf(st->msg, sizeof st->msg, fmt, ap);
        va_end(ap);
        return r < 0 ? r : -EIO;
}

Lmct__V1__Code st_code_from_errno(int r) {
        switch (-r) {
        case EINVAL: case ERANGE: case E2BIG: case ENAMETOOLONG: case ENOTDIR: case ELOOP:
                return LMCT__V1__CODE__INVALID_ARGUMENT;
        case ENOENT: case ESRCH:
                return LMCT__V1__CODE__NOT_FOUND;
        case EEXIST:
                return LMCT__V1__CODE__ALREADY_EXISTS;
        case EPERM: case EACCES:
                return LMCT__V1__CODE__PERMISSION_DENIED;
        case ENOSPC: case EAGAIN: case ENOMEM: case EMFILE: case ENFILE:
                return LMCT__V1__CODE__RESOURCE_EXHAUSTED;
        case EBUSY: case ENOTEMPTY: case EOPNOTSUPP:
                return LMCT__V1__CODE__FAILED_PRECONDITION;
        default:
                return LMCT__V1__CODE__INTERNAL;
        }
}
