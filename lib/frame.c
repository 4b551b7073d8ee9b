#include "lmct-frame.h"

#include <errno.h>
#include <stdio.h>

size_t lmct_varint_encode(uint64_t v, uint8_t out[LMCT_VARINT_MAX]) {
        size_t n = 0;

        while (v >= 0x80) {
                out[n++] = (uint8_t)(v | 0x80);
                v >>= 7;
        }
        out[n++] = (uint8_t)v;
        return n;
}

int lmct_frame_header(const uint8_t *buf, size_t avail, uint64_t *ret_len) {
        uint64_t v = 0;
        size_t i;

        for (i = 0; i < LMCT_VARINT_MAX; i++) {
                if (i >= avail)
                        return 0;
                if (i == 9 && buf[i] > 1)
                        return -EBADMSG; /* more than 64 bits */
                v |= (uint64_t)(buf[i] & 0x7f) << (7 * i);
                if (!(buf[i] & 0x80)) {
                        *ret_len = v;
                        return (int)(i + 1);
                }
        }
        return -EBADMSG;
}

static int read_varint(const uint8_t *d, size_t len, size_t *pos, uint64_t *ret) {
        int n = lmct_frame_header(d + *pos, len - *pos, ret);
        if (n <= 0)
                return -EBADMSG;
        *pos += (size_t)n;
        return 0;
}

static int utf8_ok(const uint8_t *s, size_t len) {
        size_t i = 0;

        while (i < len) {
                uint8_t c = s[i];
                size_t n, k;
                uint32_t cp;

                if (c == 0)
                        return 0;
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if ((c & 0xe0) == 0xc0)
                        n = 1, cp = c & 0x1f;
                else if ((c & 0xf0) == 0xe0)
                        n = 2, cp = c & 0x0f;
                else if ((c & 0xf8) == 0xf0)
                        n = 3, cp = c & 0x07;
                else
                        return 0;
                if (n >= len - i)
                        return 0;
                for (k = 1; k <= n; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return 0;
                        cp = (cp << 6) | (s[i + k] & 0x3f);
                }
                if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
                    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return 0;
                i += n + 1;
        }
        return 1;
}

static int check(const ProtobufCMessageDescriptor *desc, const uint8_t *d, size_t len, unsigned depth,
                 char *err, size_t errlen) {
        size_t pos = 0;

        if (depth > 32) {
                snprintf(err, errlen, "messages nested too deep");
                return -EBADMSG;
        }
        while (pos < len) {
                uint64_t key, l;
                const ProtobufCFieldDescriptor *f;
                if (read_varint(d, len, &pos, &key) < 0)
                        return -EBADMSG; /* the decoder reports it */
                switch (key & 7) {
                case 0:
                        if (read_varint(d, len, &pos, &l) < 0)
                                return -EBADMSG;
                        continue;
                case 1:
                        pos += 8;
                        continue;
                case 5:
                        pos += 4;
                        continue;
                case 2:
                        break;
                default:
                        return -EBADMSG;
                }
                if (read_varint(d, len, &pos, &l) < 0 || l > len - pos)
                        return -EBADMSG;
                f = key >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(desc, (unsigned)(key >> 3)) : NULL;
                if (f && f->type == PROTOBUF_C_TYPE_STRING && !utf8_ok(d + pos, (size_t)l)) {
                        snprintf(err, errlen, "field %s holds a NUL byte or is not UTF-8", f->name);
                        return -EBADMSG;
                }
                if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                        int r = check(f->descriptor, d + pos, (size_t)l, depth + 1, err, errlen);
                        if (r < 0) {
                                if (err[0] && depth == 0) {
                                        char tmp[256];
                                        snprintf(tmp, sizeof tmp, "%s: %s", f->name, err);
                                        snprintf(err, errlen, "%s", tmp);
                                }
                                return r;
                        }
                }
                pos += (size_t)l;
        }
        return pos == len ? 0 : -EBADMSG;
}

int lmct_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                       char *err, size_t errlen) {
        if (errlen)
                err[0] = '\0';
        return check(desc, data, len, 0, err, errlen);
}
