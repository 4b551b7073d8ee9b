/* OCI runtime bundles: config.json to a spawn_spec and container limits. */
#pragma once

#include "lmct.pb-c.h"
#include "spawn.h"
#include "status.h"

typedef struct oci_bundle oci_bundle;

/* Reads BUNDLE/config.json. Fields lmctld does not implement and that
 * matter for isolation are refused with INVALID_ARGUMENT naming the field
 * (never ignored). */
int oci_load(const char *bundle, oci_bundle **ret, status *st);
oci_bundle *oci_free(oci_bundle *b);

/* Fills the bundle's side of SP (argv, env, cwd, user, root, mounts, ...). */
void oci_spawn_spec(const oci_bundle *b, spawn_spec *sp);
/* The limits from linux.resources (NULL fields unset). */
const Lmct__V1__Limits *oci_limits(const oci_bundle *b);
