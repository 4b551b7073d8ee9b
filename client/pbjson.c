/* Any protobuf-c message as JSON, through its descriptor: field names as
 * in the .proto, absent optional fields left out, enums by name. */
#include <json-c/json.h>
#include <string.h>

#include "lmctl.h"

static struct json_object *scalar(const ProtobufCFieldDescriptor *f, const void *p) {
        switch (f->type) {
        case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_SFIXED32:
                return json_object_new_int(*(const int32_t *)p);
        case PROTOBUF_C_TYPE_UINT32: case PROTOBUF_C_TYPE_FIXED32:
                return json_object_new_int64(*(const uint32_t *)p);
        case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
                return json_object_new_int64(*(const int64_t *)p);
        case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64:
                return json_object_new_uint64(*(const uint64_t *)p);
        case PROTOBUF_C_TYPE_FLOAT:
                return json_object_new_double(*(const float *)p);
        case PROTOBUF_C_TYPE_DOUBLE:
                return json_object_new_double(*(const double *)p);
        case PROTOBUF_C_TYPE_BOOL:
                return json_object_new_boolean(*(const protobuf_c_boolean *)p);
        case PROTOBUF_C_TYPE_ENUM: {
                const ProtobufCEnumValue *v =
                        protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)p);
                return v ? json_object_new_string(v->name) : json_object_new_int(*(const int *)p);
        }
        case PROTOBUF_C_TYPE_STRING:
                return *(char *const *)p ? json_object_new_string(*(char *const *)p) : NULL;
        case PROTOBUF_C_TYPE_MESSAGE:
                return *(ProtobufCMessage *const *)p ? pb_to_json(*(ProtobufCMessage *const *)p) : NULL;
        default:
                return NULL;
        }
}

static size_t type_size(const ProtobufCFieldDescriptor *f) {
        switch (f->type) {
        case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_SFIXED64:
        case PROTOBUF_C_TYPE_UINT64: case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_DOUBLE:
                return 8;
        case PROTOBUF_C_TYPE_BOOL:
                return sizeof(protobuf_c_boolean);
        case PROTOBUF_C_TYPE_STRING: case PROTOBUF_C_TYPE_MESSAGE: case PROTOBUF_C_TYPE_BYTES:
                return sizeof(void *);
        default:
                return 4;
        }
}

struct json_object *pb_to_json(const ProtobufCMessage *m) {
        const ProtobufCMessageDescriptor *d = m->descriptor;
        struct json_object *o = json_object_new_object();

        for (unsigned i = 0; i < d->n_fields; i++) {
                const ProtobufCFieldDescriptor *f = &d->fields[i];
                const char *base = (const char *)m;
                struct json_object *v = NULL;

                if (f->label == PROTOBUF_C_LABEL_REPEATED) {
                        size_t n = *(const size_t *)(base + f->quantifier_offset);
                        const char *arr = *(const char *const *)(base + f->offset);
                        v = json_object_new_array();
                        for (size_t k = 0; k < n; k++) {
                                struct json_object *e = scalar(f, arr + k * type_size(f));
                                if (e)
                                        json_object_array_add(v, e);
                        }
                } else {
                        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
                                if (*(const uint32_t *)(base + f->quantifier_offset) != f->id)
                                        continue;
                        } else if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
                                   f->type != PROTOBUF_C_TYPE_MESSAGE && f->quantifier_offset &&
                                   !*(const protobuf_c_boolean *)(base + f->quantifier_offset))
                                continue;
                        v = scalar(f, base + f->offset);
                }
                if (v)
                        json_object_object_add(o, f->name, v);
        }
        return o;
}
