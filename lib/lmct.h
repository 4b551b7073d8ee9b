/* liblmct: everything an agent needs to talk to lmctld. */
#pragma once

#include "lmct-client.h"
#include "lmct-frame.h"
#include "lmct-limits.h"
#include "lmct-name.h"
