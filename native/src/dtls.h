/*
 * trgwd_native, DTLS part (dtls.c): DTLS 1.2 sessions over the OpenSSL the node binary exports.
 * See dtls.c for the model (one SSL per peer, datagram-preserving memory BIO, JS owns socket and timers).
 */
#ifndef TRGWD_DTLS_H
#define TRGWD_DTLS_H

#include <node_api.h>

/* Adds `dtls` to exports. Returns napi_ok or the failing status. */
napi_status trgwd_dtls_register(napi_env env, napi_value exports);

#endif
