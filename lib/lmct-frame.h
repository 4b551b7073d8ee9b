/* Size-delimited protobuf framing: a varint length, then the message. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Largest request frame the daemon accepts. */
#define LMCT_REQUEST_MAX (1u << 20)
/* Largest response a client accepts (a list of many containers). */
#define LMCT_RESPONSE_MAX (64u << 20)
#define LMCT_VARINT_MAX 10

/* Writes V as a varint into OUT, returns the bytes written (1..10). */
size_t lmct_varint_encode(uint64_t v, uint8_t out[LMCT_VARINT_MAX]);

/* Reads a frame header from the AVAIL bytes at BUF. Returns the header's
 * size and stores the body length in *RET_LEN; 0 when more bytes are
 * needed; -EBADMSG for a varint longer than 10 bytes. */
int lmct_frame_header(const uint8_t *buf, size_t avail, uint64_t *ret_len);

/* Walks the wire encoding of a message of type DESC and refuses string
 * fields (at any depth) that hold a NUL byte or are not UTF-8, which the
 * generated decoder would silently truncate or accept. Returns 0, or
 * -EBADMSG and the dotted field name in ERR. */
int lmct_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                       char *err, size_t errlen);
