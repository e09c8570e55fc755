/*
 * trgwd_native: shared declarations between the addon's parts.
 * Each part registers its exports on the module object; addon.c calls them in turn.
 */
#ifndef TRGWD_ADDON_H
#define TRGWD_ADDON_H

#include <node_api.h>

/* SRTP/SRTCP over libsrtp2 (srtp.c): adds `srtp` to exports. Returns napi_ok or the failing status. */
napi_status trgwd_srtp_register(napi_env env, napi_value exports);

#endif
