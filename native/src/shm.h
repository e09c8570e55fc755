/*
 * trgwd_native, shared memory part (shm.c): memory shared between processes (memfd + mmap), for the
 * counters of relay worker processes (media.workerMode: process).
 */
#ifndef TRGWD_SHM_H
#define TRGWD_SHM_H

#include <node_api.h>

/* Adds `shm` to exports. Returns napi_ok or the failing status. */
napi_status trgwd_shm_register(napi_env env, napi_value exports);

#endif
