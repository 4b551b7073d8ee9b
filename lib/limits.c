#include "lmct-limits.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Digits, an optional '.' and fraction digits. The integer part goes to
 * *INT, up to FRAC_DIGITS fraction digits scaled to 10^FRAC_DIGITS go to
 * *FRAC (more digits are -EINVAL). Returns the number of bytes consumed. */
static int parse_decimal(const char *s, unsigned frac_digits, uint64_t *ip, uint64_t *fp, size_t *used) {
        uint64_t i = 0, f = 0;
        size_t n = 0, nf = 0;

        if (!is_digit(s[0]))
                return -EINVAL;
        for (; is_digit(s[n]); n++) {
                if (i > (UINT64_MAX - 9) / 10)
                        return -ERANGE;
                i = i * 10 + (uint64_t)(s[n] - '0');
        }
        if (s[n] == '.') {
                n++;
                if (!is_digit(s[n]))
                        return -EINVAL;
                for (; is_digit(s[n]); n++, nf++) {
                        if (nf >= frac_digits)
                                return -EINVAL;
                        f = f * 10 + (uint64_t)(s[n] - '0');
                }
        }
        for (; nf < frac_digits; nf++)
                f *= 10;
        *ip = i;
        *fp = f;
        *used = n;
        return 0;
}

int lmct_parse_size(const char *s, int allow_max, uint64_t *ret) {
        uint64_t i, f, mult = 1;
        unsigned shift = 0;
        size_t n;
        int r;

        if (!s)
                return -EINVAL;
        if (strcmp(s, "max") == 0) {
                if (!allow_max)
                        return -EINVAL;
                *ret = LMCT_MAX;
                return 0;
        }
        r = parse_decimal(s, 6, &i, &f, &n);
        if (r < 0)
                return r;
        switch (s[n]) {
        case '\0': break;
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        case 't': case 'T': shift = 40; break;
        default: return -EINVAL;
        }
        if (shift && s[n + 1] != '\0')
                return -EINVAL;
        if (!shift && f != 0)
                return -EINVAL; /* a fraction of a byte */
        mult = UINT64_C(1) << shift;
        if (i > UINT64_MAX / mult)
                return -ERANGE;
        i *= mult;
        /* f is in millionths: f * mult / 10^6 fits, since mult <= 2^40 and f < 2^20. */
        f = f * mult / 1000000;
        if (i > UINT64_MAX - f || i + f == LMCT_MAX)
                return -ERANGE;
        *ret = i + f;
        return 0;
}

int lmct_parse_cpu(const char *s, uint64_t *ret_millis) {
        uint64_t i, f;
        size_t n;
        int r;

        if (!s)
                return -EINVAL;
        if (strcmp(s, "max") == 0) {
                *ret_millis = LMCT_MAX;
                return 0;
        }
        r = parse_decimal(s, 3, &i, &f, &n);
        if (r < 0)
                return r;
        if (s[n] != '\0')
                return -EINVAL;
        if (i > (UINT64_MAX / 1000) - 1)
                return -ERANGE;
        if (i * 1000 + f == 0)
                return -EINVAL;
        *ret_millis = i * 1000 + f;
        return 0;
}

int lmct_parse_uint(const char *s, uint64_t min, uint64_t max, int allow_max, uint64_t *ret) {
        uint64_t i, f;
        size_t n;
        int r;

        if (!s)
                return -EINVAL;
        if (strcmp(s, "max") == 0) {
                if (!allow_max)
                        return -EINVAL;
                *ret = LMCT_MAX;
                return 0;
        }
        r = parse_decimal(s, 0, &i, &f, &n);
        if (r < 0)
                return r;
        if (s[n] != '\0')
                return -EINVAL;
        if (i < min || i > max)
                return -ERANGE;
        *ret = i;
        return 0;
}

int lmct_parse_cpuset(const char *s) {
        size_t n = 0;

        if (!s)
                return -EINVAL;
        if (*s == '\0')
                return 0;
        for (;;) {
                uint64_t a = 0, b;
                if (!is_digit(s[n]))
                        return -EINVAL;
                for (; is_digit(s[n]); n++) {
                        a = a * 10 + (uint64_t)(s[n] - '0');
                        if (a > 65535)
                                return -ERANGE;
                }
                if (s[n] == '-') {
                        n++;
                        if (!is_digit(s[n]))
                                return -EINVAL;
                        for (b = 0; is_digit(s[n]); n++) {
                                b = b * 10 + (uint64_t)(s[n] - '0');
                                if (b > 65535)
                                        return -ERANGE;
                        }
                        if (b < a)
                                return -EINVAL;
                }
                if (s[n] == '\0')
                        return 0;
                if (s[n++] != ',')
                        return -EINVAL;
        }
}

int lmct_parse_page_size(const char *s, uint64_t *ret) {
        uint64_t v = 0, unit;
        size_t n = 0;

        if (!s || !is_digit(s[0]))
                return -EINVAL;
        for (; is_digit(s[n]); n++) {
                v = v * 10 + (uint64_t)(s[n] - '0');
                if (v > 1u << 20)
                        return -ERANGE;
        }
        switch (s[n++]) {
        case 'k': case 'K': unit = UINT64_C(1) << 10; break;
        case 'm': case 'M': unit = UINT64_C(1) << 20; break;
        case 'g': case 'G': unit = UINT64_C(1) << 30; break;
        default: return -EINVAL;
        }
        if (s[n] == 'b' || s[n] == 'B')
                n++;
        if (s[n] != '\0')
                return -EINVAL;
        v *= unit;
        if (v < 4096 || (v & (v - 1)) != 0 || v > UINT64_C(1) << 40)
                return -EINVAL;
        *ret = v;
        return 0;
}

int lmct_parse_device_access(const char *s, unsigned *ret) {
        unsigned m = 0, bit;

        if (!s || !*s)
                return -EINVAL;
        for (; *s; s++) {
                bit = *s == 'r' ? LMCT_DEV_READ : *s == 'w' ? LMCT_DEV_WRITE : *s == 'm' ? LMCT_DEV_MKNOD : 0;
                if (!bit || (m & bit))
                        return -EINVAL;
                m |= bit;
        }
        *ret = m;
        return 0;
}

/* A device number or "*" (-1), up to MAX, ending at END. */
static int parse_devnum(const char *s, size_t n, int64_t max, int64_t *ret) {
        int64_t v = 0;

        if (n == 1 && s[0] == '*') {
                *ret = -1;
                return 0;
        }
        if (n == 0 || n > 7)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (!is_digit(s[i]))
                        return -EINVAL;
                v = v * 10 + (s[i] - '0');
        }
        if (v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int lmct_parse_device_rule(const char *s, lmct_device_rule *ret) {
        lmct_device_rule r = { 0, -1, -1, LMCT_DEV_READ | LMCT_DEV_WRITE | LMCT_DEV_MKNOD };
        const char *colon, *sp;
        int k;

        if (!s || (s[0] != 'a' && s[0] != 'b' && s[0] != 'c'))
                return -EINVAL;
        r.type = s[0];
        if (s[1] == '\0' && r.type == 'a') {
                *ret = r;
                return 0;
        }
        if (s[1] != ' ')
                return -EINVAL;
        s += 2;
        colon = strchr(s, ':');
        sp = strchr(s, ' ');
        if (!colon || !sp || colon > sp)
                return -EINVAL;
        if ((k = parse_devnum(s, (size_t)(colon - s), LMCT_DEV_MAJOR_MAX, &r.major)) < 0 ||
            (k = parse_devnum(colon + 1, (size_t)(sp - colon - 1), LMCT_DEV_MINOR_MAX, &r.minor)) < 0)
                return k;
        if (lmct_parse_device_access(sp + 1, &r.access) < 0)
                return -EINVAL;
        *ret = r;
        return 0;
}

char *lmct_format_device_rule(const lmct_device_rule *r, char *buf, size_t len) {
        char maj[24] = "*", min[24] = "*";

        if (r->major >= 0)
                snprintf(maj, sizeof maj, "%lld", (long long)r->major);
        if (r->minor >= 0)
                snprintf(min, sizeof min, "%lld", (long long)r->minor);
        snprintf(buf, len, "%c %s:%s %s%s%s", r->type, maj, min, r->access & LMCT_DEV_READ ? "r" : "",
                 r->access & LMCT_DEV_WRITE ? "w" : "", r->access & LMCT_DEV_MKNOD ? "m" : "");
        return buf;
}

char *lmct_format_page_size(uint64_t bytes, char *buf, size_t len) {
        if (bytes >= UINT64_C(1) << 30)
                snprintf(buf, len, "%lluGB", (unsigned long long)(bytes >> 30));
        else if (bytes >= UINT64_C(1) << 20)
                snprintf(buf, len, "%lluMB", (unsigned long long)(bytes >> 20));
        else
                snprintf(buf, len, "%lluKB", (unsigned long long)(bytes >> 10));
        return buf;
}

char *lmct_format_size(uint64_t v, char *buf, size_t len) {
        static const char units[] = "KMGT";
        int u;

        if (v == LMCT_MAX) {
                snprintf(buf, len, "max");
                return buf;
        }
        for (u = 3; u >= 0; u--) {
                uint64_t m = UINT64_C(1) << (10 * (u + 1));
                if (v < m)
                        continue;
                if (v % m == 0)
                        snprintf(buf, len, "%llu%c", (unsigned long long)(v / m), units[u]);
                else
                        /* Rounded down, in integers: a value near 2^64 must
                         * not print as one that no longer parses. */
                        snprintf(buf, len, "%llu.%llu%c", (unsigned long long)(v / m),
                                 (unsigned long long)((v % m) * 10 / m), units[u]);
                return buf;
        }
        snprintf(buf, len, "%llu", (unsigned long long)v);
        return buf;
}

char *lmct_format_cpu(uint64_t millis, char *buf, size_t len) {
        if (millis == LMCT_MAX)
                snprintf(buf, len, "max");
        else if (millis % 1000 == 0)
                snprintf(buf, len, "%llu", (unsigned long long)(millis / 1000));
        else if (millis % 100 == 0)
                snprintf(buf, len, "%llu.%01llu", (unsigned long long)(millis / 1000),
                         (unsigned long long)(millis % 1000 / 100));
        else if (millis % 10 == 0)
                snprintf(buf, len, "%llu.%02llu", (unsigned long long)(millis / 1000),
                         (unsigned long long)(millis % 1000 / 10));
        else
                snprintf(buf, len, "%llu.%03llu", (unsigned long long)(millis / 1000),
                         (unsigned long long)(millis % 1000));
        return buf;
}

uint64_t lmct_cpu_millis_from_quota(uint64_t quota_us, uint64_t period_us) {
        uint64_t m;

        if (quota_us == LMCT_MAX || period_us == 0)
                return LMCT_MAX;
        if (quota_us > UINT64_MAX / 1000)
                return quota_us / period_us * 1000;
        m = quota_us * 1000 / period_us;
        return m ? m : 1;
}

uint64_t lmct_cpu_quota_from_millis(uint64_t millis, uint64_t period_us) {
        if (millis == LMCT_MAX)
                return LMCT_MAX;
        if (millis > UINT64_MAX / period_us)
                return LMCT_MAX - 1;
        return millis * period_us / 1000;
}

int lmct_parse_duration_us(const char *s, uint64_t *ret) {
        uint64_t i, f, mult;
        size_t n;
        int r;

        if (!s)
                return -EINVAL;
        r = parse_decimal(s, 6, &i, &f, &n);
        if (r < 0)
                return r;
        if (strcmp(s + n, "us") == 0)
                mult = 1;
        else if (strcmp(s + n, "ms") == 0)
                mult = 1000;
        else if (strcmp(s + n, "s") == 0)
                mult = 1000000;
        else
                return -EINVAL;
        /* f is in millionths of the unit. */
        if (f * mult % 1000000)
                return -EINVAL; /* a fraction of a microsecond */
        if (i > (UINT64_MAX - 1000000) / mult)
                return -ERANGE;
        *ret = i * mult + f * mult / 1000000;
        return 0;
}

int lmct_parse_pressure(const char *s, const char **ret_resource, int *ret_full, uint64_t *ret_stall_us,
                        uint64_t *ret_window_us) {
        static const char *const resources[] = { "cpu", "memory", "io" };
        const char *p, *slash;
        char stall[32];
        int full = 0, r;
        size_t i;

        if (!s)
                return -EINVAL;
        for (i = 0; i < 3; i++) {
                size_t l = strlen(resources[i]);
                if (strncmp(s, resources[i], l) == 0 && s[l] == ':')
                        break;
        }
        if (i == 3)
                return -EINVAL;
        p = s + strlen(resources[i]) + 1;
        if (strncmp(p, "some:", 5) == 0)
                p += 5;
        else if (strncmp(p, "full:", 5) == 0) {
                full = 1;
                p += 5;
        }
        slash = strchr(p, '/');
        if (!slash || (size_t)(slash - p) >= sizeof stall)
                return -EINVAL;
        memcpy(stall, p, (size_t)(slash - p));
        stall[slash - p] = '\0';
        if ((r = lmct_parse_duration_us(stall, ret_stall_us)) < 0 ||
            (r = lmct_parse_duration_us(slash + 1, ret_window_us)) < 0)
                return r;
        *ret_resource = resources[i];
        *ret_full = full;
        return 0;
}
