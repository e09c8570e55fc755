/*
 * trgwd_native: the addon's entry point. One addon holds every native part of trgwd (SRTP, DTLS,
 * shared memory) so the process loads one .node file; SRTP and DTLS use Node's own OpenSSL.
 *
 * NAPI_MODULE_INIT makes the addon context-aware: it may be loaded by the main thread and by
 * worker threads; per-process library set-up (srtp_init) is guarded inside each part.
 */
#include "addon.h"

#include <stdbool.h>
#include <stdio.h>

napi_status trgwd_set_int(napi_env env, napi_value obj, const char *name, int32_t v)
{
  napi_value x;
  napi_status st = napi_create_int32(env, v, &x);
  return st != napi_ok ? st : napi_set_named_property(env, obj, name, x);
}

napi_status trgwd_set_fns(napi_env env, napi_value obj, const trgwd_named_fn *fns, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    napi_value fn;
    napi_status st = napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn);
    if (st == napi_ok) st = napi_set_named_property(env, obj, fns[i].name, fn);
    if (st != napi_ok) return st;
  }
  return napi_ok;
}

napi_status trgwd_set_table(napi_env env, napi_value obj, const char *name, const trgwd_named_int *entries, size_t n)
{
  napi_value table;
  napi_status st = napi_create_object(env, &table);
  for (size_t i = 0; st == napi_ok && i < n; i++) st = trgwd_set_int(env, table, entries[i].name, entries[i].value);
  return st != napi_ok ? st : napi_set_named_property(env, obj, name, table);
}

static const struct {
  const char *what;
  napi_status (*reg)(napi_env, napi_value);
} parts[] = {
  { "SRTP", trgwd_srtp_register },
  { "DTLS", trgwd_dtls_register },
  { "shared memory", trgwd_shm_register },
};

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */)
{
  for (size_t i = 0; i < TRGWD_COUNT(parts); i++) {
    if (parts[i].reg(env, exports) == napi_ok) continue;
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) {
      char msg[96];
      snprintf(msg, sizeof msg, "trgwd_native: %s part failed to register", parts[i].what);
      napi_throw_error(env, "ERR_NATIVE_INIT", msg);
    }
    return NULL;
  }
  return exports;
}
