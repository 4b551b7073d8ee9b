#include "status.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

const char *quote(const char *s, char *buf, size_t len) {
        size_t o = 0;

        if (len < 8)
                return "";
        buf[o++] = '"';
        for (; *s && o < len - 6; s++) {
                unsigned char c = (unsigned char)*s;
                if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
                        buf[o++] = (char)c;
                else
                        o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
        }
        if (*s && o < len - 4) {
                memcpy(buf + o, "...", 3);
                o += 3;
        }
        buf[o++] = '"';
        buf[o] = '\0';
        return buf;
}
