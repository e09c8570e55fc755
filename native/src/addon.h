/*
 * trgwd_native: shared declarations between the addon's parts.
 * Each part registers its exports on the module object; addon.c calls them in turn and holds the
 * small helpers every part uses to build its exports.
 */
#ifndef TRGWD_ADDON_H
#define TRGWD_ADDON_H

#include <stddef.h>
#include <stdint.h>

#include <node_api.h>

/* The parts: each adds one object to exports (`srtp`, `dtls`, `shm`); napi_ok or the failing status. */
napi_status trgwd_srtp_register(napi_env env, napi_value exports); /* srtp.c: libsrtp */
napi_status trgwd_dtls_register(napi_env env, napi_value exports); /* dtls.c: DTLS on Node's OpenSSL */
napi_status trgwd_shm_register(napi_env env, napi_value exports);  /* shm.c: memory shared with relay worker processes */

typedef struct {
  const char *name;
  napi_callback cb;
} trgwd_named_fn;

typedef struct {
  const char *name;
  int32_t value;
} trgwd_named_int;

#define TRGWD_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* obj[name] = v */
napi_status trgwd_set_int(napi_env env, napi_value obj, const char *name, int32_t v);
/* obj[fns[i].name] = a function calling fns[i].cb, for each i < n */
napi_status trgwd_set_fns(napi_env env, napi_value obj, const trgwd_named_fn *fns, size_t n);
/* obj[name] = { entries[i].name: entries[i].value }: a code table that TypeScript mirrors and checks */
napi_status trgwd_set_table(napi_env env, napi_value obj, const char *name, const trgwd_named_int *entries, size_t n);

#endif
