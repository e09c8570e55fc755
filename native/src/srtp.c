/*
 * SRTP/SRTCP sessions for trgwd over libsrtp 2.5.0 (plain C, N-API).
 *
 * libsrtp is vendored in native/deps/libsrtp and built into this addon as a static library (target
 * "libsrtp" in binding.gyp, symbols hidden) with its OpenSSL crypto backend: AES-ICM, AES-GCM and
 * HMAC-SHA1 run on Node's own OpenSSL, whose symbols resolve from the node binary as dtls.c's do.
 * No libsrtp2.so and no NSS in the process: Debian's libsrtp2 does its crypto with NSS, whose cost
 * per packet grows with the number of live crypto contexts (see native/README.md).
 *
 * A session is one libsrtp session for one direction of one media stream, held by JS as an
 * opaque handle (a napi_external) that every call takes first:
 *   inbound  = the key the peer sends with; only unprotectRtp/unprotectRtcp are allowed;
 *   outbound = the key we send with;       only protectRtp/protectRtcp are allowed.
 * (A handle rather than a wrapped class instance because napi_unwrap costs ~40 ns per call, a
 * private-symbol lookup, while reading an external is a pointer load; daemon/tls/srtp/session.ts
 * gives the typed object API on top.)
 *
 * Packet calls work in place on a Uint8Array (a Buffer) and return a number: the new length
 * (>= 0) or one of the negative TRGWD_SRTP_* codes below. They never throw and never allocate a
 * JS object other than the returned number. The buffer must have tail room for the trailer
 * (tag, MKI, SRTCP index): rtpTrailerLength()/rtcpTrailerLength() say how much.
 *
 * create() and update() read a parameter object and throw an Error with a `code` property
 * (ERR_SRTP_PARAM, ERR_SRTP_INIT) on bad input; that is not the packet path.
 *
 * Memory: destroy() frees the libsrtp session and is idempotent; if JS drops the handle without
 * destroy(), the external's finalizer frees it. Key bytes copied from JS are wiped after libsrtp
 * has expanded them.
 */
#include "addon.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libsrtp's public headers, from native/deps/libsrtp (include/, crypto/include/) */
#include "cipher.h"
#include "crypto_types.h"
#include "srtp.h"

/* libsrtp's crypto kernel (crypto/include/crypto_kernel.h, not a public header; it would need
 * libsrtp's config.h): the cipher registered for an id, NULL when none is. */
const srtp_cipher_type_t *srtp_crypto_kernel_get_cipher_type(srtp_cipher_type_id_t id);

/* Stable result codes (mirrored in daemon/tls/srtp/binding.ts; never renumber). */
enum {
  TRGWD_SRTP_ERR_AUTH_FAIL = -1,   /* authentication tag did not verify */
  TRGWD_SRTP_ERR_REPLAY_FAIL = -2, /* index already seen (replayed packet) */
  TRGWD_SRTP_ERR_REPLAY_OLD = -3,  /* index older than the replay window */
  TRGWD_SRTP_ERR_BAD_PARAM = -4,   /* bad arguments or malformed packet */
  TRGWD_SRTP_ERR_OTHER = -5,       /* any other libsrtp2 failure */
  TRGWD_SRTP_ERR_NO_ROOM = -6,     /* buffer lacks tail room for the trailer */
  TRGWD_SRTP_ERR_CLOSED = -7,      /* session destroyed */
  TRGWD_SRTP_ERR_BAD_MKI = -8,     /* MKI in the packet matches no key */
  TRGWD_SRTP_ERR_KEY_EXPIRED = -9, /* libsrtp2's hard key-usage limit reached */
  TRGWD_SRTP_ERR_NO_STREAM = -10,  /* no stream for that SSRC in this session */
  TRGWD_SRTP_ERR_DIRECTION = -11,  /* protect on an inbound session or unprotect on an outbound one */
};

/* Suite numbers (mirrored in binding.ts). */
enum {
  TRGWD_SUITE_AES_CM_128_HMAC_SHA1_80 = 1,
  TRGWD_SUITE_AES_CM_128_HMAC_SHA1_32 = 2,
  TRGWD_SUITE_AEAD_AES_128_GCM = 3,
  TRGWD_SUITE_AEAD_AES_256_GCM = 4,
};

/* SDES session parameters (RFC 4568 §6.3) as flag bits (mirrored in binding.ts). */
enum {
  TRGWD_FLAG_UNENCRYPTED_SRTP = 1,
  TRGWD_FLAG_UNENCRYPTED_SRTCP = 2,
  TRGWD_FLAG_UNAUTHENTICATED_SRTP = 4,
};

#define SESSION_MAGIC 0x74725354u /* "trST" */
#define MIN_WINDOW 128u           /* PROFILE §4: replay window 128 at least */
#define MAX_WINDOW 0x7fffu        /* libsrtp2 refuses >= 0x8000 */
#define KEY_SALT_MAX 46u          /* 32-byte key + 14-byte salt is the largest libsrtp2 takes */
#define STACK_COPY 2048u          /* unaligned packets up to this size are copied on the stack */

typedef struct {
  uint32_t magic;
  srtp_t ctx;      /* NULL once destroyed */
  srtp_t rtcp_ctx; /* SRTCP-only context, see needs_rtcp_ctx(); NULL when ctx serves SRTCP too */
  int outbound;
  int suite;
  int flags;
  unsigned int use_mki;
  unsigned int send_key_index;
  uint32_t rtp_trailer;
  uint32_t rtcp_trailer;
  uint64_t rtp_ok;
  uint64_t rtcp_ok;
} trgwd_srtp_session;

/* ---- once per process ---------------------------------------------------------------------- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static srtp_err_status_t init_status = srtp_err_status_init_fail;

/* libsrtp2 sessions alive in the process (all threads): a leak check for tests and a gauge. */
static long live_sessions = 0;

static void live_add(long d)
{
  __atomic_add_fetch(&live_sessions, d, __ATOMIC_RELAXED);
}


/*
 * libsrtp2's own reporting: by default it prints events and errors on stderr, which would break the
 * daemon's JSON log stream. We count them instead (process-wide, read with srtp.events()).
 */
static long event_counts[4];   /* ssrc collision, key soft limit, key hard limit, packet index limit */
static long log_error_count;   /* libsrtp2 log lines at error level */
static long log_warning_count; /* ... at warning level */

static void on_srtp_event(srtp_event_data_t *data)
{
  if (data != NULL && (unsigned)data->event < 4) __atomic_add_fetch(&event_counts[data->event], 1, __ATOMIC_RELAXED);
}

static void on_srtp_log(srtp_log_level_t level, const char *msg, void *data)
{
  if (level == srtp_log_level_error) __atomic_add_fetch(&log_error_count, 1, __ATOMIC_RELAXED);
  if (level == srtp_log_level_warning) __atomic_add_fetch(&log_warning_count, 1, __ATOMIC_RELAXED);
}

/*
 * The crypto library libsrtp was built on, from libsrtp's own cipher descriptions ("AES-128 counter
 * mode using openssl", "... using NSS", "... using mbedtls"; the builtin one names none): "openssl"
 * here, as binding.gyp builds it. libsrtp 2.x has no global OpenSSL init of its own (no
 * OPENSSL_init_*, no config, no RAND or locking callbacks): srtp_init() registers its cipher and
 * auth types and runs their self-tests through the EVP API on Node's default library context.
 */
static const char *crypto_backend = "unknown";

static void find_crypto_backend(void)
{
  const srtp_cipher_type_t *ct = srtp_crypto_kernel_get_cipher_type(SRTP_AES_ICM_128);
  const char *d = ct != NULL ? ct->description : NULL;
  if (d == NULL) return;
  if (strstr(d, "openssl") != NULL) crypto_backend = "openssl";
  else if (strstr(d, "NSS") != NULL) crypto_backend = "nss";
  else if (strstr(d, "mbedtls") != NULL) crypto_backend = "mbedtls";
  else crypto_backend = "builtin";
}

static void init_libsrtp(void)
{
  init_status = srtp_init();
  if (init_status != srtp_err_status_ok) return;
  find_crypto_backend();
  srtp_install_event_handler(on_srtp_event);
  srtp_install_log_handler(on_srtp_log, NULL);
}

/* ---- small helpers --------------------------------------------------------------------------- */

static void wipe(void *p, size_t n)
{
  volatile unsigned char *v = (volatile unsigned char *)p;
  while (n--) *v++ = 0;
}

static int32_t map_status(srtp_err_status_t s)
{
  switch (s) {
  case srtp_err_status_auth_fail:
    return TRGWD_SRTP_ERR_AUTH_FAIL;
  case srtp_err_status_replay_fail:
    return TRGWD_SRTP_ERR_REPLAY_FAIL;
  case srtp_err_status_replay_old:
  case srtp_err_status_pkt_idx_old:
    return TRGWD_SRTP_ERR_REPLAY_OLD;
  case srtp_err_status_bad_param:
  case srtp_err_status_parse_err:
    return TRGWD_SRTP_ERR_BAD_PARAM;
  case srtp_err_status_bad_mki:
    return TRGWD_SRTP_ERR_BAD_MKI;
  case srtp_err_status_key_expired:
    return TRGWD_SRTP_ERR_KEY_EXPIRED;
  case srtp_err_status_no_ctx:
    return TRGWD_SRTP_ERR_NO_STREAM;
  default:
    return TRGWD_SRTP_ERR_OTHER;
  }
}

static napi_value make_int(napi_env env, int32_t v)
{
  napi_value out = NULL;
  napi_create_int32(env, v, &out);
  return out;
}

static napi_value make_double(napi_env env, double v)
{
  napi_value out = NULL;
  napi_create_double(env, v, &out);
  return out;
}

static napi_value throw_code(napi_env env, const char *code, const char *msg)
{
  napi_throw_error(env, code, msg);
  return NULL;
}

/* The session behind a handle, or NULL (never throws). */
static trgwd_srtp_session *handle_session(napi_env env, napi_value handle)
{
  void *p = NULL;
  if (handle == NULL || napi_get_value_external(env, handle, &p) != napi_ok || p == NULL) return NULL;
  trgwd_srtp_session *s = (trgwd_srtp_session *)p;
  return s->magic == SESSION_MAGIC ? s : NULL;
}

/* Reads a Uint8Array's bytes; returns 0 on success. */
static int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len)
{
  napi_typedarray_type type;
  size_t length = 0;
  void *ptr = NULL;
  if (napi_get_typedarray_info(env, v, &type, &length, &ptr, NULL, NULL) != napi_ok) return -1;
  if (type != napi_uint8_array) return -1;
  *data = (uint8_t *)ptr;
  *len = length;
  return 0;
}

/* Named property lookups for the parameter object: 1 = present, 0 = absent, -1 = wrong type. */
static int prop(napi_env env, napi_value obj, const char *name, napi_value *out)
{
  bool has = false;
  napi_valuetype t;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, name, out) != napi_ok) return -1;
  if (napi_typeof(env, *out, &t) != napi_ok) return -1;
  return (t == napi_undefined || t == napi_null) ? 0 : 1;
}

static int prop_uint(napi_env env, napi_value obj, const char *name, double max, uint32_t *out)
{
  napi_value v;
  double d;
  int r = prop(env, obj, name, &v);
  if (r <= 0) return r;
  if (napi_get_value_double(env, v, &d) != napi_ok) return -1;
  if (!(d >= 0 && d <= max) || d != (double)(uint32_t)d) return -1;
  *out = (uint32_t)d;
  return 1;
}

static int prop_bool(napi_env env, napi_value obj, const char *name, bool *out)
{
  napi_value v;
  int r = prop(env, obj, name, &v);
  if (r <= 0) return r;
  return napi_get_value_bool(env, v, out) == napi_ok ? 1 : -1;
}

/* ---- policy ---------------------------------------------------------------------------------- */

typedef struct {
  srtp_policy_t policy;
  uint8_t key_salt[SRTP_MAX_NUM_MASTER_KEYS][KEY_SALT_MAX];
  uint8_t mki[SRTP_MAX_NUM_MASTER_KEYS][SRTP_MAX_MKI_LEN];
  srtp_master_key_t master[SRTP_MAX_NUM_MASTER_KEYS];
  srtp_master_key_t *master_ptr[SRTP_MAX_NUM_MASTER_KEYS];
  int outbound;
  int suite;
  int flags;
  unsigned int use_mki;
  unsigned int send_key_index;
  int has_ssrc;
  uint32_t ssrc;
  int has_roc;
  uint32_t roc;
} policy_build;

static void policy_wipe(policy_build *b)
{
  wipe(b, sizeof(*b));
}

static size_t suite_key_salt_len(int suite)
{
  switch (suite) {
  case TRGWD_SUITE_AES_CM_128_HMAC_SHA1_80:
  case TRGWD_SUITE_AES_CM_128_HMAC_SHA1_32:
    return SRTP_AES_ICM_128_KEY_LEN_WSALT; /* 16 + 14 */
  case TRGWD_SUITE_AEAD_AES_128_GCM:
    return SRTP_AES_GCM_128_KEY_LEN_WSALT; /* 16 + 12 */
  case TRGWD_SUITE_AEAD_AES_256_GCM:
    return SRTP_AES_GCM_256_KEY_LEN_WSALT; /* 32 + 12 */
  default:
    return 0;
  }
}

/*
 * Fills b from the JS parameter object. Returns NULL on success, else a message for ERR_SRTP_PARAM.
 * Shape: { direction: 0|1, suite, flags?, keys: [{ key: Uint8Array(key||salt), mki?: Uint8Array }],
 *          windowSize?, allowRepeatTx?, ssrc?, roc?, sendKeyIndex? }
 */
static const char *build_policy(napi_env env, napi_value obj, policy_build *b)
{
  uint32_t u = 0;
  bool flag = false;
  napi_value keys, item, v;
  uint32_t nkeys = 0, i;
  size_t want, mki_len = 0;
  int r;

  memset(b, 0, sizeof(*b));
  {
    napi_valuetype t;
    if (napi_typeof(env, obj, &t) != napi_ok || t != napi_object) return "parameters must be an object";
  }

  if (prop_uint(env, obj, "direction", 1, &u) != 1) return "direction must be 0 (inbound) or 1 (outbound)";
  b->outbound = (int)u;

  if (prop_uint(env, obj, "suite", 4, &u) != 1 || u == 0) return "unknown SRTP suite";
  b->suite = (int)u;
  want = suite_key_salt_len(b->suite);

  u = 0;
  if (prop_uint(env, obj, "flags", 7, &u) < 0) return "flags must be a combination of 1, 2 and 4";
  b->flags = (int)u;
  if (b->flags != 0 &&
      (b->suite == TRGWD_SUITE_AEAD_AES_128_GCM || b->suite == TRGWD_SUITE_AEAD_AES_256_GCM))
    return "UNENCRYPTED_SRTP, UNENCRYPTED_SRTCP and UNAUTHENTICATED_SRTP are not supported with AEAD suites";

  u = MIN_WINDOW;
  if (prop_uint(env, obj, "windowSize", MAX_WINDOW, &u) < 0 || u < MIN_WINDOW)
    return "windowSize must be an integer from 128 to 32767";
  b->policy.window_size = u;

  if (prop_bool(env, obj, "allowRepeatTx", &flag) < 0) return "allowRepeatTx must be a boolean";
  b->policy.allow_repeat_tx = flag ? 1 : 0;

  r = prop_uint(env, obj, "ssrc", 4294967295.0, &u);
  if (r < 0) return "ssrc must be an integer from 0 to 2^32-1";
  b->has_ssrc = r == 1;
  b->ssrc = u;

  r = prop_uint(env, obj, "roc", 4294967295.0, &u);
  if (r < 0) return "roc must be an integer from 0 to 2^32-1";
  b->has_roc = r == 1;
  b->roc = u;
  if (b->has_roc && !b->has_ssrc) return "roc needs ssrc (libsrtp2 keeps the ROC per stream)";

  u = 0;
  if (prop_uint(env, obj, "sendKeyIndex", SRTP_MAX_NUM_MASTER_KEYS - 1, &u) < 0)
    return "sendKeyIndex must be an index into keys";
  b->send_key_index = u;

  /* keys */
  {
    bool is_array = false;
    if (prop(env, obj, "keys", &keys) != 1 || napi_is_array(env, keys, &is_array) != napi_ok || !is_array)
      return "keys must be an array";
    if (napi_get_array_length(env, keys, &nkeys) != napi_ok || nkeys == 0 ||
        nkeys > SRTP_MAX_NUM_MASTER_KEYS)
      return "keys must hold 1 to 16 master keys";
  }
  if (b->send_key_index >= nkeys) return "sendKeyIndex must be an index into keys";

  for (i = 0; i < nkeys; i++) {
    uint8_t *data;
    size_t len;
    if (napi_get_element(env, keys, i, &item) != napi_ok) return "keys: cannot read element";
    if (prop(env, item, "key", &v) != 1 || get_bytes(env, v, &data, &len) != 0)
      return "keys[].key must be a Uint8Array (master key || master salt)";
    if (len != want) return "keys[].key has the wrong length for the suite (key || salt)";
    memcpy(b->key_salt[i], data, len);
    b->master[i].key = b->key_salt[i];

    r = prop(env, item, "mki", &v);
    if (r < 0) return "keys[].mki must be a Uint8Array";
    if (r == 1) {
      if (get_bytes(env, v, &data, &len) != 0 || len == 0 || len > SRTP_MAX_MKI_LEN)
        return "keys[].mki must be 1 to 128 bytes";
      if (i > 0 && len != mki_len) return "every key's MKI must have the same length";
      if (i > 0 && mki_len == 0) return "either every key has an MKI or none has";
      mki_len = len;
      memcpy(b->mki[i], data, len);
      b->master[i].mki_id = b->mki[i];
      b->master[i].mki_size = (unsigned int)len;
    } else if (mki_len != 0) {
      return "either every key has an MKI or none has";
    }
    b->master_ptr[i] = &b->master[i];
  }
  if (nkeys > 1 && mki_len == 0) return "several master keys need an MKI each";
  for (i = 0; mki_len != 0 && i < nkeys; i++) {
    uint32_t j;
    for (j = i + 1; j < nkeys; j++)
      if (memcmp(b->mki[i], b->mki[j], mki_len) == 0) return "two keys share one MKI value";
  }
  b->use_mki = mki_len != 0;

  /* crypto policies per suite (RFC 4568 §6.2, RFC 7714 §14.2) */
  switch (b->suite) {
  case TRGWD_SUITE_AES_CM_128_HMAC_SHA1_80:
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&b->policy.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&b->policy.rtcp);
    break;
  case TRGWD_SUITE_AES_CM_128_HMAC_SHA1_32:
    /* RFC 4568 §6.2.2: the 32-bit tag is for SRTP only; SRTCP keeps the 80-bit tag. */
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&b->policy.rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&b->policy.rtcp);
    break;
  case TRGWD_SUITE_AEAD_AES_128_GCM:
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&b->policy.rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&b->policy.rtcp);
    break;
  case TRGWD_SUITE_AEAD_AES_256_GCM:
    srtp_crypto_policy_set_aes_gcm_256_16_auth(&b->policy.rtp);
    srtp_crypto_policy_set_aes_gcm_256_16_auth(&b->policy.rtcp);
    break;
  default:
    return "unknown SRTP suite";
  }
  /*
   * Session parameters keep the AES-CM cipher type (so the key derivation is unchanged) and drop
   * the service: libsrtp2 then skips the keystream (UNENCRYPTED_*) or writes and checks no tag
   * (UNAUTHENTICATED_SRTP, where the auth function becomes the null one with a 0-byte tag).
   */
  if (b->flags & TRGWD_FLAG_UNENCRYPTED_SRTP)
    b->policy.rtp.sec_serv = (srtp_sec_serv_t)(b->policy.rtp.sec_serv & ~sec_serv_conf);
  if (b->flags & TRGWD_FLAG_UNENCRYPTED_SRTCP)
    b->policy.rtcp.sec_serv = (srtp_sec_serv_t)(b->policy.rtcp.sec_serv & ~sec_serv_conf);
  if (b->flags & TRGWD_FLAG_UNAUTHENTICATED_SRTP) {
    b->policy.rtp.auth_type = SRTP_NULL_AUTH;
    b->policy.rtp.auth_key_len = 0;
    b->policy.rtp.auth_tag_len = 0;
    b->policy.rtp.sec_serv = (srtp_sec_serv_t)(b->policy.rtp.sec_serv & ~sec_serv_auth);
  }

  if (b->has_ssrc) {
    b->policy.ssrc.type = ssrc_specific;
    b->policy.ssrc.value = b->ssrc;
  } else {
    b->policy.ssrc.type = b->outbound ? ssrc_any_outbound : ssrc_any_inbound;
  }
  if (b->use_mki) {
    b->policy.key = NULL;
    b->policy.keys = b->master_ptr;
    b->policy.num_master_keys = nkeys;
  } else {
    b->policy.key = b->key_salt[0];
  }
  b->policy.next = NULL;
  return NULL;
}

/*
 * libsrtp2 before the fix of cisco/libsrtp#733 (Dec 2024; Debian's 2.5.0 has the bug) looks for the
 * MKI of an incoming SRTCP packet one RTP tag length before the end, not one SRTCP tag length. With
 * AES_CM_128_HMAC_SHA1_32 (4-octet SRTP tag, 10-octet SRTCP tag) and an MKI, every SRTCP packet then
 * fails with bad_mki. Such sessions get a second libsrtp2 context for SRTCP whose (unused) SRTP policy
 * has the 10-octet tag, so the lookup lands on the MKI. SRTCP keys, index and replay list are
 * separate from SRTP's anyway, so nothing is shared between the two contexts.
 */
static int needs_rtcp_ctx(const policy_build *b)
{
  return b->suite == TRGWD_SUITE_AES_CM_128_HMAC_SHA1_32 && b->use_mki;
}

static srtp_err_status_t create_rtcp_ctx(policy_build *b, srtp_t *out)
{
  srtp_policy_t p = b->policy;
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
  return srtp_create(out, &p);
}

static srtp_err_status_t update_rtcp_ctx(policy_build *b, srtp_t ctx)
{
  srtp_policy_t p = b->policy;
  srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p.rtp);
  return srtp_update(ctx, &p);
}

static srtp_err_status_t read_trailers(trgwd_srtp_session *s)
{
  uint32_t rtp = 0, rtcp = 0;
  srtp_err_status_t st = srtp_get_protect_trailer_length(s->ctx, s->use_mki, s->send_key_index, &rtp);
  if (st == srtp_err_status_ok)
    st = srtp_get_protect_rtcp_trailer_length(s->ctx, s->use_mki, s->send_key_index, &rtcp);
  if (st == srtp_err_status_ok) {
    s->rtp_trailer = rtp;
    s->rtcp_trailer = rtcp;
  }
  return st;
}

/* ---- sessions -------------------------------------------------------------------------------- */

/* Frees the libsrtp2 session once (destroy() and the finalizer both come here). */
static void session_free_ctx(trgwd_srtp_session *s)
{
  if (s->ctx == NULL) return;
  srtp_dealloc(s->ctx);
  s->ctx = NULL;
  if (s->rtcp_ctx != NULL) srtp_dealloc(s->rtcp_ctx);
  s->rtcp_ctx = NULL;
  live_add(-1);
}

static void session_finalize(napi_env env, void *data, void *hint)
{
  trgwd_srtp_session *s = (trgwd_srtp_session *)data;
  if (s == NULL) return;
  session_free_ctx(s);
  wipe(s, sizeof(*s));
  free(s);
}

/* create(params) -> handle */
static napi_value session_create(napi_env env, napi_callback_info info)
{
  size_t argc = 1;
  napi_value argv[1], handle;
  policy_build *b;
  const char *err;
  srtp_err_status_t st;
  trgwd_srtp_session *s;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1)
    return throw_code(env, "ERR_SRTP_PARAM", "create needs a parameter object");

  pthread_once(&init_once, init_libsrtp);
  if (init_status != srtp_err_status_ok) return throw_code(env, "ERR_SRTP_INIT", "srtp_init() failed");

  b = (policy_build *)malloc(sizeof(*b));
  if (b == NULL) return throw_code(env, "ERR_SRTP_INIT", "out of memory");
  err = build_policy(env, argv[0], b);
  if (err != NULL) {
    policy_wipe(b);
    free(b);
    return throw_code(env, "ERR_SRTP_PARAM", err);
  }

  s = (trgwd_srtp_session *)calloc(1, sizeof(*s));
  if (s == NULL) {
    policy_wipe(b);
    free(b);
    return throw_code(env, "ERR_SRTP_INIT", "out of memory");
  }
  s->magic = SESSION_MAGIC;
  s->outbound = b->outbound;
  s->suite = b->suite;
  s->flags = b->flags;
  s->use_mki = b->use_mki;
  s->send_key_index = b->send_key_index;

  st = srtp_create(&s->ctx, &b->policy);
  if (st == srtp_err_status_ok && needs_rtcp_ctx(b)) st = create_rtcp_ctx(b, &s->rtcp_ctx);
  if (st == srtp_err_status_ok && b->has_roc) st = srtp_set_stream_roc(s->ctx, b->ssrc, b->roc);
  if (st == srtp_err_status_ok) st = read_trailers(s);
  policy_wipe(b);
  free(b);
  if (st != srtp_err_status_ok) {
    char msg[80];
    if (s->ctx != NULL) srtp_dealloc(s->ctx);
    if (s->rtcp_ctx != NULL) srtp_dealloc(s->rtcp_ctx);
    free(s);
    snprintf(msg, sizeof(msg), "libsrtp2 refused the session (srtp_err_status %d)", (int)st);
    return throw_code(env, st == srtp_err_status_bad_param ? "ERR_SRTP_PARAM" : "ERR_SRTP_INIT", msg);
  }

  live_add(1);
  if (napi_create_external(env, s, session_finalize, NULL, &handle) != napi_ok) {
    session_free_ctx(s);
    free(s);
    return throw_code(env, "ERR_SRTP_INIT", "napi_create_external failed");
  }
  return handle;
}

/* update(handle, params): new keys/MKIs for the same direction; libsrtp2 keeps ROC and replay state. */
static napi_value session_update(napi_env env, napi_callback_info info)
{
  size_t argc = 2;
  napi_value argv[2];
  trgwd_srtp_session *s;
  policy_build *b;
  const char *err;
  srtp_err_status_t st;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2)
    return throw_code(env, "ERR_SRTP_PARAM", "update needs a session and a parameter object");
  s = handle_session(env, argv[0]);
  if (s == NULL) return throw_code(env, "ERR_SRTP_PARAM", "not an SRTP session handle");
  if (s->ctx == NULL) return throw_code(env, "ERR_SRTP_CLOSED", "session destroyed");

  b = (policy_build *)malloc(sizeof(*b));
  if (b == NULL) return throw_code(env, "ERR_SRTP_INIT", "out of memory");
  err = build_policy(env, argv[1], b);
  if (err == NULL && b->outbound != s->outbound) err = "update cannot change the direction";
  if (err == NULL && b->suite != s->suite) err = "update cannot change the suite (create a new session)";
  if (err == NULL && b->flags != s->flags) err = "update cannot change session parameters (create a new session)";
  if (err == NULL && b->has_roc) err = "update keeps the ROC; set it with setRoc()";
  if (err == NULL && needs_rtcp_ctx(b) != (s->rtcp_ctx != NULL))
    err = "update cannot add or remove the MKI of an AES_CM_128_HMAC_SHA1_32 session (create a new session)";
  if (err != NULL) {
    policy_wipe(b);
    free(b);
    return throw_code(env, "ERR_SRTP_PARAM", err);
  }
  st = srtp_update(s->ctx, &b->policy);
  if (st == srtp_err_status_ok && s->rtcp_ctx != NULL) st = update_rtcp_ctx(b, s->rtcp_ctx);
  if (st == srtp_err_status_ok) {
    s->use_mki = b->use_mki;
    s->send_key_index = b->send_key_index;
    st = read_trailers(s);
  }
  policy_wipe(b);
  free(b);
  if (st != srtp_err_status_ok) {
    char msg[80];
    snprintf(msg, sizeof(msg), "libsrtp2 refused the update (srtp_err_status %d)", (int)st);
    return throw_code(env, "ERR_SRTP_PARAM", msg);
  }
  return NULL;
}

/* Reads the handle of a one-argument call; NULL if absent or not a session. */
static trgwd_srtp_session *arg_session(napi_env env, napi_callback_info info, size_t want, napi_value *argv)
{
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) return NULL;
  return handle_session(env, argv[0]);
}

/* destroy(handle): idempotent. */
static napi_value session_destroy(napi_env env, napi_callback_info info)
{
  napi_value argv[1];
  trgwd_srtp_session *s = arg_session(env, info, 1, argv);
  if (s != NULL) session_free_ctx(s);
  return NULL;
}

enum { OP_PROTECT_RTP, OP_UNPROTECT_RTP, OP_PROTECT_RTCP, OP_UNPROTECT_RTCP };

static srtp_err_status_t run_op(trgwd_srtp_session *s, int op, uint8_t *p, int *len)
{
  srtp_t rtcp = s->rtcp_ctx != NULL ? s->rtcp_ctx : s->ctx;
  switch (op) {
  case OP_PROTECT_RTP:
    return srtp_protect_mki(s->ctx, p, len, s->use_mki, s->send_key_index);
  case OP_UNPROTECT_RTP:
    return srtp_unprotect_mki(s->ctx, p, len, s->use_mki);
  case OP_PROTECT_RTCP:
    return srtp_protect_rtcp_mki(rtcp, p, len, s->use_mki, s->send_key_index);
  default:
    return srtp_unprotect_rtcp_mki(rtcp, p, len, s->use_mki);
  }
}

/* The packet path: (handle, buf: Uint8Array, len: number) -> new length | negative code. Never throws. */
static int32_t packet_op(napi_env env, napi_callback_info info, int op)
{
  size_t argc = 3;
  napi_value argv[3];
  trgwd_srtp_session *s;
  uint8_t *data;
  size_t cap, need;
  int32_t len32;
  int len;
  int protect = op == OP_PROTECT_RTP || op == OP_PROTECT_RTCP;
  srtp_err_status_t st;

  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3) return TRGWD_SRTP_ERR_BAD_PARAM;
  s = handle_session(env, argv[0]);
  if (s == NULL) return TRGWD_SRTP_ERR_BAD_PARAM;
  if (s->ctx == NULL) return TRGWD_SRTP_ERR_CLOSED;
  if (protect != s->outbound) return TRGWD_SRTP_ERR_DIRECTION;
  if (get_bytes(env, argv[1], &data, &cap) != 0) return TRGWD_SRTP_ERR_BAD_PARAM;
  if (napi_get_value_int32(env, argv[2], &len32) != napi_ok || len32 <= 0 || (size_t)len32 > cap)
    return TRGWD_SRTP_ERR_BAD_PARAM;

  need = (size_t)len32;
  if (protect) {
    need += op == OP_PROTECT_RTP ? s->rtp_trailer : s->rtcp_trailer;
    if (need > cap) return TRGWD_SRTP_ERR_NO_ROOM;
  }
  len = (int)len32;

  if (((uintptr_t)data & 3u) == 0) {
    st = run_op(s, op, data, &len);
  } else {
    /* libsrtp2 reads the header as 32-bit words: work on an aligned copy. */
    uint64_t stack[STACK_COPY / 8];
    uint8_t *tmp = need <= sizeof(stack) ? (uint8_t *)stack : (uint8_t *)malloc(need);
    if (tmp == NULL) return TRGWD_SRTP_ERR_OTHER;
    memcpy(tmp, data, (size_t)len32);
    st = run_op(s, op, tmp, &len);
    if (st == srtp_err_status_ok) memcpy(data, tmp, (size_t)len);
    if (tmp != (uint8_t *)stack) free(tmp);
  }
  if (st != srtp_err_status_ok) return map_status(st);
  if (op == OP_PROTECT_RTP || op == OP_UNPROTECT_RTP)
    s->rtp_ok++;
  else
    s->rtcp_ok++;
  return (int32_t)len;
}

static napi_value protect_rtp(napi_env env, napi_callback_info info)
{
  return make_int(env, packet_op(env, info, OP_PROTECT_RTP));
}

static napi_value unprotect_rtp(napi_env env, napi_callback_info info)
{
  return make_int(env, packet_op(env, info, OP_UNPROTECT_RTP));
}

static napi_value protect_rtcp(napi_env env, napi_callback_info info)
{
  return make_int(env, packet_op(env, info, OP_PROTECT_RTCP));
}

static napi_value unprotect_rtcp(napi_env env, napi_callback_info info)
{
  return make_int(env, packet_op(env, info, OP_UNPROTECT_RTCP));
}

static int arg_u32(napi_env env, napi_value v, uint32_t *out)
{
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return -1;
  if (!(d >= 0 && d <= 4294967295.0) || d != (double)(uint32_t)d) return -1;
  *out = (uint32_t)d;
  return 0;
}

/* getRoc(handle, ssrc) -> ROC (0..2^32-1) | negative code */
static napi_value get_roc(napi_env env, napi_callback_info info)
{
  napi_value argv[2];
  trgwd_srtp_session *s = arg_session(env, info, 2, argv);
  uint32_t ssrc, roc = 0;
  srtp_err_status_t st;
  if (s == NULL || arg_u32(env, argv[1], &ssrc) != 0) return make_int(env, TRGWD_SRTP_ERR_BAD_PARAM);
  if (s->ctx == NULL) return make_int(env, TRGWD_SRTP_ERR_CLOSED);
  st = srtp_get_stream_roc(s->ctx, ssrc, &roc);
  if (st == srtp_err_status_bad_param) return make_int(env, TRGWD_SRTP_ERR_NO_STREAM);
  if (st != srtp_err_status_ok) return make_int(env, map_status(st));
  return make_double(env, (double)roc);
}

/* setRoc(handle, ssrc, roc) -> 0 | negative code */
static napi_value set_roc(napi_env env, napi_callback_info info)
{
  napi_value argv[3];
  trgwd_srtp_session *s = arg_session(env, info, 3, argv);
  uint32_t ssrc, roc;
  srtp_err_status_t st;
  if (s == NULL || arg_u32(env, argv[1], &ssrc) != 0 || arg_u32(env, argv[2], &roc) != 0)
    return make_int(env, TRGWD_SRTP_ERR_BAD_PARAM);
  if (s->ctx == NULL) return make_int(env, TRGWD_SRTP_ERR_CLOSED);
  st = srtp_set_stream_roc(s->ctx, ssrc, roc);
  if (st == srtp_err_status_bad_param) return make_int(env, TRGWD_SRTP_ERR_NO_STREAM);
  return make_int(env, st == srtp_err_status_ok ? 0 : map_status(st));
}

/* info(handle) -> { closed, outbound, rtpTrailer, rtcpTrailer, rtpPackets, rtcpPackets } (off the packet path) */
static napi_value session_info(napi_env env, napi_callback_info info)
{
  napi_value argv[1], o, v;
  trgwd_srtp_session *s = arg_session(env, info, 1, argv);
  if (s == NULL) return throw_code(env, "ERR_SRTP_PARAM", "not an SRTP session handle");
  if (napi_create_object(env, &o) != napi_ok) return NULL;
  napi_get_boolean(env, s->ctx == NULL, &v);
  napi_set_named_property(env, o, "closed", v);
  napi_get_boolean(env, s->outbound != 0, &v);
  napi_set_named_property(env, o, "outbound", v);
  napi_set_named_property(env, o, "rtpTrailer", make_int(env, (int32_t)s->rtp_trailer));
  napi_set_named_property(env, o, "rtcpTrailer", make_int(env, (int32_t)s->rtcp_trailer));
  napi_set_named_property(env, o, "rtpPackets", make_double(env, (double)s->rtp_ok));
  napi_set_named_property(env, o, "rtcpPackets", make_double(env, (double)s->rtcp_ok));
  return o;
}

/* liveSessions(): libsrtp2 sessions not yet freed, process-wide. */
static napi_value live_sessions_fn(napi_env env, napi_callback_info info)
{
  return make_double(env, (double)__atomic_load_n(&live_sessions, __ATOMIC_RELAXED));
}

/* events(): counts of libsrtp2 events and log lines since the process started. */
static napi_value events_fn(napi_env env, napi_callback_info info)
{
  napi_value o;
  static const char *names[4] = { "ssrcCollision", "keySoftLimit", "keyHardLimit", "packetIndexLimit" };
  int i;
  if (napi_create_object(env, &o) != napi_ok) return NULL;
  for (i = 0; i < 4; i++)
    napi_set_named_property(env, o, names[i],
                            make_double(env, (double)__atomic_load_n(&event_counts[i], __ATOMIC_RELAXED)));
  napi_set_named_property(env, o, "logErrors", make_double(env, (double)__atomic_load_n(&log_error_count, __ATOMIC_RELAXED)));
  napi_set_named_property(env, o, "logWarnings",
                          make_double(env, (double)__atomic_load_n(&log_warning_count, __ATOMIC_RELAXED)));
  return o;
}

/* ---- registration ---------------------------------------------------------------------------- */

napi_status trgwd_srtp_register(napi_env env, napi_value exports)
{
  napi_status st;
  napi_value srtp, version, backend;
  static const trgwd_named_fn fns[] = {
    { "create", session_create },
    { "update", session_update },
    { "destroy", session_destroy },
    { "protectRtp", protect_rtp },
    { "unprotectRtp", unprotect_rtp },
    { "protectRtcp", protect_rtcp },
    { "unprotectRtcp", unprotect_rtcp },
    { "getRoc", get_roc },
    { "setRoc", set_roc },
    { "info", session_info },
    { "liveSessions", live_sessions_fn },
    { "events", events_fn },
  };
  /* mirrored in daemon/tls/srtp/binding.ts, which checks them at load */
  static const trgwd_named_int codes[] = {
    { "AUTH_FAIL", TRGWD_SRTP_ERR_AUTH_FAIL },     { "REPLAY_FAIL", TRGWD_SRTP_ERR_REPLAY_FAIL },
    { "REPLAY_OLD", TRGWD_SRTP_ERR_REPLAY_OLD },   { "BAD_PARAM", TRGWD_SRTP_ERR_BAD_PARAM },
    { "OTHER", TRGWD_SRTP_ERR_OTHER },             { "NO_ROOM", TRGWD_SRTP_ERR_NO_ROOM },
    { "CLOSED", TRGWD_SRTP_ERR_CLOSED },           { "BAD_MKI", TRGWD_SRTP_ERR_BAD_MKI },
    { "KEY_EXPIRED", TRGWD_SRTP_ERR_KEY_EXPIRED }, { "NO_STREAM", TRGWD_SRTP_ERR_NO_STREAM },
    { "DIRECTION", TRGWD_SRTP_ERR_DIRECTION },
  };
  static const trgwd_named_int suites[] = {
    { "AES_CM_128_HMAC_SHA1_80", TRGWD_SUITE_AES_CM_128_HMAC_SHA1_80 },
    { "AES_CM_128_HMAC_SHA1_32", TRGWD_SUITE_AES_CM_128_HMAC_SHA1_32 },
    { "AEAD_AES_128_GCM", TRGWD_SUITE_AEAD_AES_128_GCM },
    { "AEAD_AES_256_GCM", TRGWD_SUITE_AEAD_AES_256_GCM },
  };
  static const trgwd_named_int flags[] = {
    { "UNENCRYPTED_SRTP", TRGWD_FLAG_UNENCRYPTED_SRTP },
    { "UNENCRYPTED_SRTCP", TRGWD_FLAG_UNENCRYPTED_SRTCP },
    { "UNAUTHENTICATED_SRTP", TRGWD_FLAG_UNAUTHENTICATED_SRTP },
  };

  pthread_once(&init_once, init_libsrtp);

  if ((st = napi_create_object(env, &srtp)) != napi_ok) return st;
  if ((st = trgwd_set_fns(env, srtp, fns, TRGWD_COUNT(fns))) != napi_ok) return st;
  if ((st = trgwd_set_table(env, srtp, "codes", codes, TRGWD_COUNT(codes))) != napi_ok) return st;
  if ((st = trgwd_set_table(env, srtp, "suites", suites, TRGWD_COUNT(suites))) != napi_ok) return st;
  if ((st = trgwd_set_table(env, srtp, "flags", flags, TRGWD_COUNT(flags))) != napi_ok) return st;

  if ((st = napi_create_string_utf8(env, srtp_get_version_string(), NAPI_AUTO_LENGTH, &version)) != napi_ok)
    return st;
  if ((st = napi_set_named_property(env, srtp, "libsrtpVersion", version)) != napi_ok) return st;
  if ((st = trgwd_set_int(env, srtp, "initStatus", (int32_t)init_status)) != napi_ok) return st;
  /* "openssl": the crypto library under libsrtp (see find_crypto_backend) */
  if ((st = napi_create_string_utf8(env, crypto_backend, NAPI_AUTO_LENGTH, &backend)) != napi_ok) return st;
  if ((st = napi_set_named_property(env, srtp, "cryptoBackend", backend)) != napi_ok) return st;

  return napi_set_named_property(env, exports, "srtp", srtp);
}
