/*
 * trgwd_native: the addon's entry point. One addon holds every native part of trgwd (SRTP, DTLS)
 * so the process loads one .node file; both parts use Node's own OpenSSL.
 *
 * NAPI_MODULE_INIT makes the addon context-aware: it may be loaded by the main thread and by
 * worker threads; per-process library set-up (srtp_init) is guarded inside each part.
 */
#include "addon.h"
#include "dtls.h"
#include "shm.h"

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */)
{
  if (trgwd_srtp_register(env, exports) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, "ERR_NATIVE_INIT", "trgwd_native: SRTP part failed to register");
    return NULL;
  }
  /* DTLS over the OpenSSL node exports (dtls.c): adds `dtls` */
  if (trgwd_dtls_register(env, exports) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, "ERR_NATIVE_INIT", "trgwd_native: DTLS part failed to register");
    return NULL;
  }
  /* memory shared with relay worker processes (shm.c): adds `shm` */
  if (trgwd_shm_register(env, exports) != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, "ERR_NATIVE_INIT", "trgwd_native: shared memory part failed to register");
    return NULL;
  }
  return exports;
}
