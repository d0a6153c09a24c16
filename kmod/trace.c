// SPDX-License-Identifier: GPL-2.0
/*
 * trace: instantiates the tracepoints declared in mars_trace.h (the only file that
 * defines CREATE_TRACE_POINTS).
 */
#define CREATE_TRACE_POINTS
#include "mars_trace.h"
