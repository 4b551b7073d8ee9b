#include "lmct-name.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int is_alnum(unsigned char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static const char *describe_byte(unsigned char c, char *buf, size_t len) {
        if (c == 0)
                return "a NUL byte";
        if (c == '\n')
                return "a newline";
        if (c == '.')
                return "a dot";
        if (c >= 0x80)
                return "a non-ASCII byte";
        if (c < 0x20 || c == 0x7f) {
                snprintf(buf, len, "control byte 0x%02x", c);
                return buf;
        }
        snprintf(buf, len, "'%c'", c);
        return buf;
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
        if (err && errlen) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(err, errlen, fmt, ap);
                va_end(ap);
        }
        return -EINVAL;
}

int lmct_name_check(const char *name, size_t len, unsigned max_depth, int allow_root,
                    size_t *ret_skip, char *err, size_t errlen) {
        size_t skip = 0, i, start;
        unsigned depth = 0;
        char b[32];

        if (len > 0 && name[0] == '/')
                skip = 1;
        if (len == skip) {
                if (!allow_root)
                        return fail(err, errlen, "empty name");
                if (ret_skip)
                        *ret_skip = skip;
                return 0;
        }
        if (len > LMCT_NAME_MAX + 1)
                return fail(err, errlen, "name is %zu bytes long, more than %d", len, LMCT_NAME_MAX);

        for (start = i = skip; i <= len; i++) {
                if (i < len && name[i] != '/') {
                        unsigned char c = (unsigned char)name[i];
                        if (is_alnum(c))
                                continue;
                        if ((c == '_' || c == '-') && i > start)
                                continue;
                        return fail(err, errlen, "%s at byte %zu of component %u: %s",
                                    describe_byte(c, b, sizeof b), i - start + 1, depth + 1,
                                    (c == '_' || c == '-') ? "a component must start with a letter or digit"
                                                           : "components hold only A-Z a-z 0-9 _ -");
                }
                /* End of a component. */
                if (i == start)
                        return fail(err, errlen, "empty component %u (a '/' at the end, or '//')", depth + 1);
                if (i - start > LMCT_COMPONENT_MAX)
                        return fail(err, errlen, "component %u is %zu bytes long, more than %d",
                                    depth + 1, i - start, LMCT_COMPONENT_MAX);
                if (++depth > max_depth)
                        return fail(err, errlen, "name is more than %u levels deep", max_depth);
                start = i + 1;
        }
        if (ret_skip)
                *ret_skip = skip;
        return (int)depth;
}

const char *lmct_name_last(const char *name) {
        const char *p = strrchr(name, '/');
        return p ? p + 1 : name;
}

const char *lmct_label_problem(const char *key, const char *value) {
        size_t k;

        if (!key || !*key)
                return "a label key must not be empty";
        k = strlen(key);
        if (k > LMCT_LABEL_KEY_MAX)
                return "a label key must be at most 128 characters";
        for (size_t i = 0; i < k; i++)
                if (!is_alnum((unsigned char)key[i]) && !strchr("._/-", key[i]))
                        return "a label key takes only letters, digits and . _ / -";
        if (!is_alnum((unsigned char)key[0]) || !is_alnum((unsigned char)key[k - 1]))
                return "a label key must begin and end with a letter or digit";
        if (!value)
                return NULL;
        if (strlen(value) > LMCT_LABEL_VALUE_MAX)
                return "a label value must be at most 255 bytes";
        for (const unsigned char *p = (const unsigned char *)value; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                        return "a label value must not hold control characters";
        return NULL;
}
