/*
 * DTLS 1.2 for trgwd (UDPTL over DTLS, RFC 7345; fingerprints RFC 8122), plain C over N-API.
 *
 * OpenSSL: the one the node binary links statically and exports (DTLS_method, DTLSv1_listen,
 * SSL_export_keying_material ...). We compile against node's headers (<nodedir>/include/node/openssl,
 * on node-gyp's include path) and link no libssl/libcrypto: the symbols resolve from the process at
 * load time, so there is one OpenSSL in the process and it is node's.
 *
 * Model (JS owns the socket and the timers; this file never does I/O and never blocks):
 *   - A context (createContext) holds the SSL_CTX: our certificate and key, DTLS 1.2 only, peer
 *     certificate required, cookie callbacks, the retransmission timer's first interval.
 *   - One SSL per peer (a session handle). Its BIO is a datagram-preserving memory BIO: each
 *     datagram fed in is read whole by one BIO_read (OpenSSL's DTLS record layer reads one datagram at
 *     a time), and each BIO_write is one datagram queued for JS to send (takeOut). The queue grows as
 *     needed (bounded by OUTQ_MAX_BYTES, far above one flight); JS drains it after every call.
 *   - Stateless cookie check (RFC 6347 §4.2.1) before any per-peer state: listen() runs
 *     DTLSv1_listen on one shared listener SSL per context; a ClientHello without a valid cookie gets
 *     a HelloVerifyRequest and leaves nothing behind. Cookies are HMAC-SHA256(secret, time bucket ||
 *     peer address) truncated, valid for the current and the previous bucket. Only a ClientHello with a
 *     valid cookie turns the listener into a session (accept()).
 *   - The peer's leaf certificate is checked against the SDP fingerprints (pins) inside the verify
 *     callback (RFC 8122 §5: the pin, not a chain, authenticates; self-signed is normal). When no pin
 *     is known yet (a ClientHello can arrive before the SDP answer, RFC 5763 §5) the handshake
 *     completes in state VERIFY_WAIT and no application data passes until setPins() matched.
 *   - Timers: timeoutMs() says when DTLSv1_handle_timeout is due; JS arms a timer and calls
 *     handleTimeout(). The first interval is configurable (RFC 6347 §4.2.4.1 suggests 1 s), then
 *     doubling up to 60 s; OpenSSL gives up after 12 retransmissions (JS has its own deadline too).
 *
 * Calls on the packet path (feed, read, write, handleTimeout) return a number: negative codes
 * (ERR_*), or F_* flag bits in the low 8 bits with the length of the application record copied into
 * `out` in the bits above (r >>> 8). They never throw and allocate no JS object. takeOut() returns a
 * new Buffer per outgoing datagram (the socket keeps it until sent).
 *
 * A handle is a napi_external with a magic number; destroy() is idempotent and the finalizer frees
 * what JS forgot. A session keeps its context's memory alive (reference count) so cookie callbacks
 * never see a freed context.
 */
#include "addon.h"

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

/* Stable codes (mirrored in daemon/tls/dtls/binding.ts; never renumber). */
enum {
  DTLS_ERR_BAD_PARAM = -1, /* bad arguments */
  DTLS_ERR_CLOSED = -2,    /* handle destroyed */
  DTLS_ERR_STATE = -3,     /* not established (write), or not a state for this call */
  DTLS_ERR_WRITE = -4,     /* SSL_write failed */
  DTLS_ERR_TOO_BIG = -5,   /* plaintext larger than one DTLS record */
};

/* Result flags of the packet calls (mirrored in binding.ts). */
enum {
  F_OUT = 1,          /* datagrams are queued: takeOut() until undefined */
  F_ESTABLISHED = 2,  /* the session became established (pin verified) during this call */
  F_FAILED = 4,       /* the session failed during this call (info().reason says why) */
  F_CLOSED = 8,       /* the peer closed (close_notify) or a fatal alert ended an established session */
  F_MORE = 16,        /* more records are buffered: call read() again */
  F_DATA = 32,        /* an application record was copied into out; its length is r >>> 8 */
  F_VERIFY_WAIT = 64, /* handshake done, waiting for a pin (setPins) before anything passes */
};

/* Session states (mirrored in binding.ts). */
enum { ST_HANDSHAKE = 0, ST_VERIFY_WAIT = 1, ST_ESTABLISHED = 2, ST_FAILED = 3, ST_CLOSED = 4 };

/* Failure / close reasons (mirrored in binding.ts). */
enum {
  R_NONE = 0,
  R_FINGERPRINT = 1, /* the peer certificate matched no pin */
  R_HANDSHAKE = 2,   /* the handshake failed (alert, bad signature, no certificate, protocol) */
  R_TIMEOUT = 3,     /* too many retransmissions */
  R_PEER_CLOSE = 4,  /* close_notify from the peer */
  R_ALERT = 5,       /* fatal alert or record error after establishment */
  R_LOCAL = 6,       /* we closed it (shutdown) */
};

/* Hash functions of pins (mirrored in binding.ts). */
enum { H_SHA1 = 1, H_SHA256 = 2, H_SHA384 = 3, H_SHA512 = 4 };

enum { LISTEN_DROP = 0, LISTEN_HVR = 1, LISTEN_ACCEPT = 2 };

#define ENGINE_MAGIC 0x74724443u  /* "trDC" */
#define SESSION_MAGIC 0x74724453u /* "trDS" */
#define COOKIE_LEN 20u            /* HMAC-SHA256 truncated: 160 bits, RFC 6347 allows up to 255 */
#define OUTQ_MAX_BYTES (4u << 20) /* datagrams JS has not taken: a bound against a stuck caller only */
#define MAX_PEER_KEY 128u
#define MIN_MTU 256
#define MAX_MTU 65507
#define UDP_IP_OVERHEAD 28 /* IPv4 + UDP headers, what a dgram BIO would report */

/* ---- output queue: datagrams as [u32 length][bytes], growable ------------------------------- */

typedef struct {
  unsigned char *buf;
  size_t cap, head, tail, count;
  uint64_t dropped; /* datagrams refused because the queue hit OUTQ_MAX_BYTES */
} outq_t;

static int outq_push(outq_t *q, const void *data, size_t len)
{
  size_t need = 4 + len;
  if (q->tail + need > q->cap) {
    if (q->head > 0) { /* compact before growing */
      memmove(q->buf, q->buf + q->head, q->tail - q->head);
      q->tail -= q->head;
      q->head = 0;
    }
    if (q->tail + need > q->cap) {
      size_t ncap = q->cap ? q->cap : 4096;
      unsigned char *nb;
      while (ncap < q->tail + need) ncap *= 2;
      if (ncap > OUTQ_MAX_BYTES) {
        q->dropped++;
        return -1;
      }
      nb = (unsigned char *)realloc(q->buf, ncap);
      if (nb == NULL) {
        q->dropped++;
        return -1;
      }
      q->buf = nb;
      q->cap = ncap;
    }
  }
  {
    uint32_t l = (uint32_t)len;
    memcpy(q->buf + q->tail, &l, 4);
  }
  memcpy(q->buf + q->tail + 4, data, len);
  q->tail += need;
  q->count++;
  return 0;
}

/* Next queued datagram (pointer into the queue, valid until the next push), or 0 when empty. */
static int outq_pop(outq_t *q, const unsigned char **data, size_t *len)
{
  uint32_t l;
  if (q->count == 0) return 0;
  memcpy(&l, q->buf + q->head, 4);
  *data = q->buf + q->head + 4;
  *len = l;
  q->head += 4 + l;
  q->count--;
  if (q->count == 0) q->head = q->tail = 0;
  return 1;
}

static void outq_clear(outq_t *q)
{
  q->head = q->tail = q->count = 0;
}

static void outq_free(outq_t *q)
{
  free(q->buf);
  q->buf = NULL;
  q->cap = q->head = q->tail = q->count = 0;
}

/* ---- the datagram BIO ------------------------------------------------------------------------- */

typedef struct {
  const unsigned char *in; /* the datagram being fed; valid only during one call from JS */
  size_t in_len;
  int in_ready;
  outq_t out;
} io_t;

static int bio_write(BIO *b, const char *data, int len)
{
  io_t *io = (io_t *)BIO_get_data(b);
  BIO_clear_retry_flags(b);
  if (io == NULL || len < 0) return -1;
  /* A full queue loses the datagram, as a full socket buffer would: DTLS retransmits. */
  (void)outq_push(&io->out, data, (size_t)len);
  return len;
}

static int bio_read(BIO *b, char *out, int outl)
{
  io_t *io = (io_t *)BIO_get_data(b);
  size_t n;
  BIO_clear_retry_flags(b);
  if (io == NULL || !io->in_ready || outl <= 0) {
    BIO_set_retry_read(b);
    return -1;
  }
  n = io->in_len < (size_t)outl ? io->in_len : (size_t)outl;
  memcpy(out, io->in, n);
  io->in_ready = 0; /* one datagram per read, like recvfrom */
  return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
  io_t *io = (io_t *)BIO_get_data(b);
  (void)num;
  (void)ptr;
  switch (cmd) {
  case BIO_CTRL_FLUSH:
    return 1;
  case BIO_CTRL_PENDING:
    return io != NULL && io->in_ready ? (long)io->in_len : 0;
  case BIO_CTRL_WPENDING:
    return 0; /* every write is already its own datagram */
  case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
    return UDP_IP_OVERHEAD;
  default:
    return 0; /* MTU queries (SSL_OP_NO_QUERY_MTU), peer address, timeouts: not ours to answer */
  }
}

static int bio_create(BIO *b)
{
  BIO_set_init(b, 1);
  return 1;
}

static int bio_destroy(BIO *b)
{
  BIO_set_data(b, NULL);
  return 1;
}

/* ---- once per process ------------------------------------------------------------------------ */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static BIO_METHOD *dgram_method = NULL;
static int sess_idx = -1; /* SSL ex_data: session_t* */
static int eng_idx = -1;  /* SSL_CTX ex_data: engine_t* */
static long live_sessions = 0;
static long live_engines = 0;

static void init_process(void)
{
  BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "trgwd dtls datagram");
  if (m != NULL && BIO_meth_set_write(m, bio_write) && BIO_meth_set_read(m, bio_read) &&
      BIO_meth_set_ctrl(m, bio_ctrl) && BIO_meth_set_create(m, bio_create) && BIO_meth_set_destroy(m, bio_destroy))
    dgram_method = m;
  sess_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
  eng_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static void live_add(long *c, long d)
{
  __atomic_add_fetch(c, d, __ATOMIC_RELAXED);
}

/* ---- engine (context) and session ------------------------------------------------------------ */

typedef struct {
  int md; /* H_* */
  unsigned int len;
  unsigned char digest[EVP_MAX_MD_SIZE];
} pin_t;

typedef struct engine {
  uint32_t magic;
  SSL_CTX *ctx;          /* NULL once destroyed */
  SSL *listener;         /* shared DTLSv1_listen object, created on demand */
  io_t listen_io;
  const unsigned char *listen_peer; /* peer key during listen() only */
  size_t listen_peer_len;
  unsigned char secret[32];
  uint32_t cookie_lifetime_s;
  uint32_t retransmit_initial_us;
  int refs;   /* JS handle + one per session; freed at 0 */
  int closed; /* destroyContext(): no new sessions */
} engine_t;

typedef struct session {
  uint32_t magic;
  engine_t *eng; /* NULL once destroyed */
  SSL *ssl;      /* NULL once destroyed */
  io_t io;
  int role; /* 0 server, 1 client */
  int state;
  int reason;
  int pins_known;
  pin_t *pins;
  size_t npins;
  unsigned char peer[MAX_PEER_KEY];
  size_t peer_len;
  char err[192];
  uint64_t records_in, records_out, bytes_in, bytes_out, dropped_unverified;
} session_t;

static const EVP_MD *md_of(int h)
{
  switch (h) {
  case H_SHA1:
    return EVP_sha1();
  case H_SHA256:
    return EVP_sha256();
  case H_SHA384:
    return EVP_sha384();
  case H_SHA512:
    return EVP_sha512();
  default:
    return NULL;
  }
}

static void engine_unref(engine_t *e)
{
  if (e == NULL || --e->refs > 0) return;
  if (e->listener != NULL) SSL_free(e->listener);
  if (e->ctx != NULL) SSL_CTX_free(e->ctx);
  outq_free(&e->listen_io.out);
  OPENSSL_cleanse(e->secret, sizeof(e->secret));
  e->magic = 0;
  free(e);
  live_add(&live_engines, -1);
}

static void session_release(session_t *s)
{
  if (s->ssl != NULL) {
    SSL_set_ex_data(s->ssl, sess_idx, NULL);
    SSL_free(s->ssl); /* frees the BIO too */
    s->ssl = NULL;
    live_add(&live_sessions, -1);
  }
  outq_free(&s->io.out);
  free(s->pins);
  s->pins = NULL;
  s->npins = 0;
  if (s->eng != NULL) {
    engine_unref(s->eng);
    s->eng = NULL;
  }
}

/* Last OpenSSL error (or `fallback`) into s->err, for logs. */
static void record_error(session_t *s, const char *fallback)
{
  unsigned long e = ERR_peek_last_error();
  if (s->err[0] != '\0') return; /* keep the first, most specific one (the verify callback's) */
  if (e != 0)
    ERR_error_string_n(e, s->err, sizeof(s->err));
  else
    snprintf(s->err, sizeof(s->err), "%s", fallback);
}

static int cert_matches(session_t *s, X509 *cert)
{
  size_t i;
  for (i = 0; i < s->npins; i++) {
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    const EVP_MD *md = md_of(s->pins[i].md);
    if (md == NULL || !X509_digest(cert, md, d, &n)) continue;
    if (n == s->pins[i].len && CRYPTO_memcmp(d, s->pins[i].digest, n) == 0) return 1;
  }
  return 0;
}

/* Verify callback: the pin decides (RFC 8122 §5), at depth 0 only; a chain, if any, is not checked. */
static int verify_cb(int preverify_ok, X509_STORE_CTX *st)
{
  SSL *ssl = (SSL *)X509_STORE_CTX_get_ex_data(st, SSL_get_ex_data_X509_STORE_CTX_idx());
  session_t *s = ssl != NULL ? (session_t *)SSL_get_ex_data(ssl, sess_idx) : NULL;
  X509 *cert;
  (void)preverify_ok;
  if (s == NULL) return 0;
  if (X509_STORE_CTX_get_error_depth(st) > 0) return 1;
  cert = X509_STORE_CTX_get_current_cert(st);
  if (cert == NULL) return 0;
  if (!s->pins_known || cert_matches(s, cert)) {
    /* no pin yet: checked by setPins() before any application data passes */
    X509_STORE_CTX_set_error(st, X509_V_OK);
    return 1;
  }
  s->reason = R_FINGERPRINT;
  if (s->err[0] == '\0') snprintf(s->err, sizeof(s->err), "peer certificate does not match the SDP fingerprint");
  X509_STORE_CTX_set_error(st, X509_V_ERR_CERT_REJECTED); /* sent as bad_certificate(42) */
  return 0;
}

/* ---- cookies ---------------------------------------------------------------------------------- */

static void peer_of(SSL *ssl, engine_t *e, const unsigned char **p, size_t *n)
{
  session_t *s = (session_t *)SSL_get_ex_data(ssl, sess_idx);
  if (s != NULL) {
    *p = s->peer;
    *n = s->peer_len;
  } else {
    *p = e->listen_peer;
    *n = e->listen_peer_len;
  }
}

static int cookie_for(engine_t *e, uint64_t bucket, const unsigned char *peer, size_t peer_len, unsigned char *out)
{
  unsigned char msg[8 + MAX_PEER_KEY];
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t maclen = 0;
  int i;
  if (peer_len > MAX_PEER_KEY) return 0;
  for (i = 0; i < 8; i++) msg[i] = (unsigned char)(bucket >> (56 - 8 * i));
  if (peer_len > 0) memcpy(msg + 8, peer, peer_len);
  if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, e->secret, sizeof(e->secret), msg, 8 + peer_len, mac,
                sizeof(mac), &maclen) == NULL ||
      maclen < COOKIE_LEN)
    return 0;
  memcpy(out, mac, COOKIE_LEN);
  return 1;
}

static uint64_t cookie_bucket(engine_t *e)
{
  return (uint64_t)time(NULL) / (e->cookie_lifetime_s ? e->cookie_lifetime_s : 60);
}

static int cookie_gen(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
  engine_t *e = (engine_t *)SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), eng_idx);
  const unsigned char *p;
  size_t n;
  if (e == NULL) return 0;
  peer_of(ssl, e, &p, &n);
  if (!cookie_for(e, cookie_bucket(e), p, n, cookie)) return 0;
  *len = COOKIE_LEN;
  return 1;
}

static int cookie_verify(SSL *ssl, const unsigned char *cookie, unsigned int len)
{
  engine_t *e = (engine_t *)SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), eng_idx);
  unsigned char want[COOKIE_LEN];
  const unsigned char *p;
  size_t n;
  uint64_t b;
  if (e == NULL || len != COOKIE_LEN) return 0;
  peer_of(ssl, e, &p, &n);
  b = cookie_bucket(e);
  /* the current and the previous bucket: a cookie lives between one and two lifetimes */
  if (cookie_for(e, b, p, n, want) && CRYPTO_memcmp(want, cookie, COOKIE_LEN) == 0) return 1;
  if (b > 0 && cookie_for(e, b - 1, p, n, want) && CRYPTO_memcmp(want, cookie, COOKIE_LEN) == 0) return 1;
  return 0;
}

static unsigned int timer_cb(SSL *ssl, unsigned int prev_us)
{
  session_t *s = (session_t *)SSL_get_ex_data(ssl, sess_idx);
  uint64_t next;
  if (prev_us == 0) return s != NULL && s->eng != NULL ? s->eng->retransmit_initial_us : 1000000u;
  next = (uint64_t)prev_us * 2; /* RFC 6347 §4.2.4.1: double, up to 60 s */
  return next > 60000000u ? 60000000u : (unsigned int)next;
}

/* ---- N-API helpers ---------------------------------------------------------------------------- */

static napi_value make_int(napi_env env, int32_t v)
{
  napi_value out = NULL;
  napi_create_int32(env, v, &out);
  return out;
}

static napi_value undefined_value(napi_env env)
{
  napi_value u = NULL;
  napi_get_undefined(env, &u);
  return u;
}

static int get_bytes(napi_env env, napi_value v, unsigned char **data, size_t *len)
{
  bool is;
  if (napi_is_buffer(env, v, &is) == napi_ok && is) {
    void *p = NULL;
    if (napi_get_buffer_info(env, v, &p, len) != napi_ok) return -1;
    *data = (unsigned char *)p;
    return 0;
  }
  if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
    napi_typedarray_type t;
    size_t n, off;
    void *p = NULL;
    napi_value ab;
    if (napi_get_typedarray_info(env, v, &t, &n, &p, &ab, &off) != napi_ok || t != napi_uint8_array) return -1;
    *data = (unsigned char *)p;
    *len = n;
    return 0;
  }
  return -1;
}

static void throw_code(napi_env env, const char *code, const char *msg)
{
  napi_throw_error(env, code, msg);
}

/* Throws code with `what: <OpenSSL's last error>`. */
static void throw_ssl(napi_env env, const char *code, const char *what)
{
  char buf[320], e[200];
  unsigned long err = ERR_peek_last_error();
  if (err != 0) {
    ERR_error_string_n(err, e, sizeof(e));
    snprintf(buf, sizeof(buf), "%s: %s", what, e);
  } else {
    snprintf(buf, sizeof(buf), "%s", what);
  }
  ERR_clear_error();
  napi_throw_error(env, code, buf);
}

static int get_prop(napi_env env, napi_value obj, const char *name, napi_value *out)
{
  bool has = false;
  napi_valuetype t;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, name, out) != napi_ok) return -1;
  if (napi_typeof(env, *out, &t) != napi_ok) return -1;
  return t == napi_undefined || t == napi_null ? 0 : 1;
}

static int get_u32_prop(napi_env env, napi_value obj, const char *name, uint32_t *out, uint32_t lo, uint32_t hi)
{
  napi_value v;
  double d;
  int r = get_prop(env, obj, name, &v);
  if (r <= 0) return r;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= lo && d <= hi) || d != (double)(uint32_t)d) return -1;
  *out = (uint32_t)d;
  return 1;
}

static engine_t *handle_engine(napi_env env, napi_value v)
{
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) return NULL;
  return ((engine_t *)p)->magic == ENGINE_MAGIC ? (engine_t *)p : NULL;
}

static session_t *handle_session(napi_env env, napi_value v)
{
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) return NULL;
  return ((session_t *)p)->magic == SESSION_MAGIC ? (session_t *)p : NULL;
}

/* ---- createContext ---------------------------------------------------------------------------- */

static int is_pem(const unsigned char *d, size_t n)
{
  size_t i;
  for (i = 0; i + 10 < n && i < 64; i++)
    if (memcmp(d + i, "-----BEGIN", 10) == 0) return 1;
  return 0;
}

/* Our certificate (PEM: the first is ours, later ones are its chain; or one DER) and key. */
static int load_identity(napi_env env, SSL_CTX *ctx, unsigned char *cert, size_t certlen, unsigned char *key, size_t keylen)
{
  X509 *x = NULL;
  EVP_PKEY *pk = NULL;
  if (certlen > INT_MAX || keylen > INT_MAX) {
    throw_code(env, "ERR_DTLS_CONFIG", "certificate or key too large");
    return -1;
  }
  if (is_pem(cert, certlen)) {
    BIO *b = BIO_new_mem_buf(cert, (int)certlen);
    X509 *extra;
    if (b == NULL) goto cert_fail;
    x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    if (x != NULL) {
      while ((extra = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (!SSL_CTX_add1_chain_cert(ctx, extra)) {
          X509_free(extra);
          BIO_free(b);
          goto cert_fail;
        }
        X509_free(extra);
      }
    }
    BIO_free(b);
  } else {
    const unsigned char *p = cert;
    x = d2i_X509(NULL, &p, (long)certlen);
  }
  if (x == NULL) goto cert_fail;
  ERR_clear_error(); /* the PEM loop ends on a "no start line" error */
  if (!SSL_CTX_use_certificate(ctx, x)) goto cert_fail;
  X509_free(x);
  x = NULL;

  if (is_pem(key, keylen)) {
    BIO *b = BIO_new_mem_buf(key, (int)keylen);
    if (b != NULL) pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
  } else {
    const unsigned char *p = key;
    pk = d2i_AutoPrivateKey(NULL, &p, (long)keylen);
  }
  if (pk == NULL || !SSL_CTX_use_PrivateKey(ctx, pk)) {
    EVP_PKEY_free(pk);
    throw_ssl(env, "ERR_DTLS_CONFIG", "private key not usable");
    return -1;
  }
  EVP_PKEY_free(pk);
  if (!SSL_CTX_check_private_key(ctx)) {
    throw_ssl(env, "ERR_DTLS_CONFIG", "private key does not match the certificate");
    return -1;
  }
  return 0;
cert_fail:
  X509_free(x);
  throw_ssl(env, "ERR_DTLS_CONFIG", "certificate not usable");
  return -1;
}

static void engine_finalize(napi_env env, void *data, void *hint)
{
  (void)env;
  (void)hint;
  engine_unref((engine_t *)data);
}

/*
 * createContext({ cert, key, cookieSecret?, cookieLifetimeS?, retransmitInitialMs?, ciphers? }) -> handle.
 * Throws ERR_DTLS_CONFIG (bad certificate, key, ciphers) or ERR_DTLS_INIT.
 */
static napi_value create_context(napi_env env, napi_callback_info info)
{
  size_t argc = 1;
  napi_value argv[1], v, out;
  unsigned char *cert, *key;
  size_t certlen, keylen;
  engine_t *e;
  SSL_CTX *ctx;
  uint32_t u;
  int r;

  pthread_once(&init_once, init_process);
  if (dgram_method == NULL || sess_idx < 0 || eng_idx < 0) {
    throw_code(env, "ERR_DTLS_INIT", "DTLS part failed to initialise");
    return NULL;
  }
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) {
    throw_code(env, "ERR_DTLS_CONFIG", "createContext needs an options object");
    return NULL;
  }
  if (get_prop(env, argv[0], "cert", &v) != 1 || get_bytes(env, v, &cert, &certlen) != 0 || certlen == 0 ||
      get_prop(env, argv[0], "key", &v) != 1 || get_bytes(env, v, &key, &keylen) != 0 || keylen == 0) {
    throw_code(env, "ERR_DTLS_CONFIG", "createContext needs cert and key (PEM or DER bytes)");
    return NULL;
  }
  e = (engine_t *)calloc(1, sizeof(*e));
  if (e == NULL) {
    throw_code(env, "ERR_DTLS_INIT", "out of memory");
    return NULL;
  }
  e->magic = ENGINE_MAGIC;
  e->refs = 1;
  e->cookie_lifetime_s = 60;
  e->retransmit_initial_us = 1000000u;
  live_add(&live_engines, 1);

  if ((r = get_u32_prop(env, argv[0], "cookieLifetimeS", &u, 1, 86400)) < 0) goto bad_opt;
  if (r == 1) e->cookie_lifetime_s = u;
  if ((r = get_u32_prop(env, argv[0], "retransmitInitialMs", &u, 10, 60000)) < 0) goto bad_opt;
  if (r == 1) e->retransmit_initial_us = u * 1000u;
  if ((r = get_prop(env, argv[0], "cookieSecret", &v)) < 0) goto bad_opt;
  if (r == 1) {
    unsigned char *sec;
    size_t seclen;
    if (get_bytes(env, v, &sec, &seclen) != 0 || seclen < 16) goto bad_opt;
    memset(e->secret, 0, sizeof(e->secret));
    memcpy(e->secret, sec, seclen < sizeof(e->secret) ? seclen : sizeof(e->secret));
  } else if (RAND_bytes(e->secret, sizeof(e->secret)) != 1) {
    engine_unref(e);
    throw_ssl(env, "ERR_DTLS_INIT", "no randomness for the cookie secret");
    return NULL;
  }

  ERR_clear_error();
  ctx = SSL_CTX_new(DTLS_method());
  if (ctx == NULL) {
    engine_unref(e);
    throw_ssl(env, "ERR_DTLS_INIT", "SSL_CTX_new failed");
    return NULL;
  }
  e->ctx = ctx;
  /* DTLS 1.2 only (RFC 6347); 1.0 is obsolete (RFC 8996). */
  SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
  SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION);
  /* No renegotiation (a second handshake could swap the certificate under a live pin), no
     resumption (each association is a fresh, pinned handshake), no MTU probing (JS sets it). */
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET | SSL_OP_NO_QUERY_MTU |
                               SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_read_ahead(ctx, 1);
  /* both roles require the peer's certificate: it is what the SDP fingerprint pins */
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
  SSL_CTX_set_cookie_generate_cb(ctx, cookie_gen);
  SSL_CTX_set_cookie_verify_cb(ctx, cookie_verify);
  SSL_CTX_set_ex_data(ctx, eng_idx, e);

  if ((r = get_prop(env, argv[0], "ciphers", &v)) < 0) goto bad_opt;
  if (r == 1) {
    char list[1024];
    size_t n = 0;
    if (napi_get_value_string_utf8(env, v, list, sizeof(list), &n) != napi_ok || n == 0 || n >= sizeof(list) - 1)
      goto bad_opt;
    if (!SSL_CTX_set_cipher_list(ctx, list)) {
      engine_unref(e);
      throw_ssl(env, "ERR_DTLS_CONFIG", "no usable cipher in ciphers");
      return NULL;
    }
  }
  if (load_identity(env, ctx, cert, certlen, key, keylen) != 0) {
    engine_unref(e);
    return NULL;
  }
  if (napi_create_external(env, e, engine_finalize, NULL, &out) != napi_ok) {
    engine_unref(e);
    throw_code(env, "ERR_DTLS_INIT", "napi_create_external failed");
    return NULL;
  }
  return out;
bad_opt:
  engine_unref(e);
  throw_code(env, "ERR_DTLS_CONFIG", "bad createContext option (cookieLifetimeS, retransmitInitialMs, cookieSecret, ciphers)");
  return NULL;
}

/* destroyContext(ctx): idempotent; sessions keep what they need until they go. */
static napi_value destroy_context(napi_env env, napi_callback_info info)
{
  size_t argc = 1;
  napi_value argv[1];
  engine_t *e;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  e = handle_engine(env, argv[0]);
  if (e == NULL) return NULL;
  e->closed = 1;
  if (e->listener != NULL) SSL_free(e->listener);
  e->listener = NULL;
  return NULL;
}

/* ---- sessions --------------------------------------------------------------------------------- */

static SSL *new_ssl(engine_t *e, io_t *io)
{
  SSL *ssl = SSL_new(e->ctx);
  BIO *b;
  if (ssl == NULL) return NULL;
  b = BIO_new(dgram_method);
  if (b == NULL) {
    SSL_free(ssl);
    return NULL;
  }
  BIO_set_data(b, io);
  SSL_set_bio(ssl, b, b); /* one BIO both ways: SSL_set_bio takes the one reference */
  return ssl;
}

/* pins: array of { hash: H_*, digest: Uint8Array } or null/undefined (not known yet). */
static int parse_pins(napi_env env, napi_value v, pin_t **out, size_t *n, int *known)
{
  bool is = false;
  uint32_t len, i;
  pin_t *pins;
  napi_valuetype t;
  *out = NULL;
  *n = 0;
  *known = 0;
  if (napi_typeof(env, v, &t) != napi_ok) return -1;
  if (t == napi_undefined || t == napi_null) return 0;
  if (napi_is_array(env, v, &is) != napi_ok || !is || napi_get_array_length(env, v, &len) != napi_ok) return -1;
  if (len > 64) return -1;
  pins = (pin_t *)calloc(len > 0 ? len : 1, sizeof(pin_t));
  if (pins == NULL) return -1;
  for (i = 0; i < len; i++) {
    napi_value el, d;
    uint32_t h = 0;
    unsigned char *bytes;
    size_t blen;
    const EVP_MD *md;
    if (napi_get_element(env, v, i, &el) != napi_ok || get_u32_prop(env, el, "hash", &h, 1, 4) != 1 ||
        get_prop(env, el, "digest", &d) != 1 || get_bytes(env, d, &bytes, &blen) != 0)
      goto bad;
    md = md_of((int)h);
    if (md == NULL || blen != (size_t)EVP_MD_get_size(md)) goto bad;
    pins[i].md = (int)h;
    pins[i].len = (unsigned int)blen;
    memcpy(pins[i].digest, bytes, blen);
  }
  *out = pins;
  *n = len;
  *known = 1;
  return 0;
bad:
  free(pins);
  return -1;
}

static void session_finalize(napi_env env, void *data, void *hint)
{
  session_t *s = (session_t *)data;
  (void)env;
  (void)hint;
  session_release(s);
  s->magic = 0;
  free(s);
}

/* Common set-up of a session's SSL: ex_data, MTU, timer. opts: { mtu, pins, peer } */
static session_t *session_new(napi_env env, engine_t *e, napi_value opts, int role)
{
  session_t *s = (session_t *)calloc(1, sizeof(*s));
  napi_value v;
  uint32_t mtu = 1200;
  int r;
  if (s == NULL) return NULL;
  /* mtu is validated here and applied by session_attach() */
  s->magic = SESSION_MAGIC;
  s->role = role;
  s->state = ST_HANDSHAKE;
  if (get_u32_prop(env, opts, "mtu", &mtu, MIN_MTU, MAX_MTU) < 0) goto bad;
  if ((r = get_prop(env, opts, "pins", &v)) < 0) goto bad;
  if (r == 1 && parse_pins(env, v, &s->pins, &s->npins, &s->pins_known) != 0) goto bad;
  if ((r = get_prop(env, opts, "peer", &v)) < 0) goto bad;
  if (r == 1) {
    unsigned char *p;
    size_t n;
    if (get_bytes(env, v, &p, &n) != 0 || n > MAX_PEER_KEY) goto bad;
    memcpy(s->peer, p, n);
    s->peer_len = n;
  }
  s->eng = e;
  e->refs++;
  return s;
bad:
  free(s->pins);
  free(s);
  return NULL;
}

static int session_attach(session_t *s, SSL *ssl, uint32_t mtu)
{
  s->ssl = ssl;
  live_add(&live_sessions, 1);
  BIO_set_data(SSL_get_rbio(ssl), &s->io);
  SSL_set_ex_data(ssl, sess_idx, s);
  SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
  if (!SSL_set_mtu(ssl, (long)mtu)) return -1;
  DTLS_set_timer_cb(ssl, timer_cb);
  return 0;
}

static napi_value wrap_session(napi_env env, session_t *s)
{
  napi_value out;
  if (napi_create_external(env, s, session_finalize, NULL, &out) != napi_ok) {
    session_release(s);
    free(s);
    throw_code(env, "ERR_DTLS_INIT", "napi_create_external failed");
    return NULL;
  }
  return out;
}

static uint32_t opt_mtu(napi_env env, napi_value opts)
{
  uint32_t mtu = 1200;
  (void)get_u32_prop(env, opts, "mtu", &mtu, MIN_MTU, MAX_MTU);
  return mtu;
}

/* connect(ctx, { mtu, pins, peer }) -> client session handle (call handshake() to send the ClientHello). */
static napi_value session_connect(napi_env env, napi_callback_info info)
{
  size_t argc = 2;
  napi_value argv[2];
  engine_t *e;
  session_t *s;
  SSL *ssl;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      (e = handle_engine(env, argv[0])) == NULL || e->ctx == NULL || e->closed) {
    throw_code(env, "ERR_DTLS_PARAM", "connect(ctx, options) on a live context");
    return NULL;
  }
  if ((s = session_new(env, e, argv[1], 1)) == NULL) {
    throw_code(env, "ERR_DTLS_PARAM", "bad connect options (mtu, pins, peer)");
    return NULL;
  }
  ERR_clear_error();
  ssl = new_ssl(e, &s->io);
  if (ssl == NULL || session_attach(s, ssl, opt_mtu(env, argv[1])) != 0) {
    if (ssl != NULL && s->ssl == NULL) SSL_free(ssl);
    session_release(s);
    free(s);
    throw_ssl(env, "ERR_DTLS_INIT", "cannot create a DTLS client");
    return NULL;
  }
  SSL_set_connect_state(ssl);
  return wrap_session(env, s);
}

/*
 * listen(ctx, datagram, len, peerKey) -> LISTEN_DROP | LISTEN_HVR | LISTEN_ACCEPT.
 * Stateless: a HelloVerifyRequest is queued for listenTakeOut(); ACCEPT means the ClientHello had a
 * valid cookie and accept() must be called next (before any other listen()).
 */
static napi_value listen_call(napi_env env, napi_callback_info info)
{
  size_t argc = 4;
  napi_value argv[4];
  engine_t *e;
  unsigned char *data, *peer;
  size_t cap, peerlen;
  int32_t len;
  int r;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4) return make_int(env, DTLS_ERR_BAD_PARAM);
  e = handle_engine(env, argv[0]);
  if (e == NULL || get_bytes(env, argv[1], &data, &cap) != 0 || napi_get_value_int32(env, argv[2], &len) != napi_ok ||
      len <= 0 || (size_t)len > cap || get_bytes(env, argv[3], &peer, &peerlen) != 0 || peerlen > MAX_PEER_KEY)
    return make_int(env, DTLS_ERR_BAD_PARAM);
  if (e->ctx == NULL || e->closed) return make_int(env, DTLS_ERR_CLOSED);
  ERR_clear_error();
  if (e->listener == NULL) {
    e->listener = new_ssl(e, &e->listen_io);
    if (e->listener == NULL) return make_int(env, DTLS_ERR_CLOSED);
    SSL_set_options(e->listener, SSL_OP_NO_QUERY_MTU);
    SSL_set_accept_state(e->listener);
  }
  outq_clear(&e->listen_io.out);
  e->listen_io.in = data;
  e->listen_io.in_len = (size_t)len;
  e->listen_io.in_ready = 1;
  e->listen_peer = peer;
  e->listen_peer_len = peerlen;
  {
    BIO_ADDR *client = BIO_ADDR_new();
    r = client != NULL ? DTLSv1_listen(e->listener, client) : -1;
    BIO_ADDR_free(client);
  }
  e->listen_io.in = NULL;
  e->listen_io.in_ready = 0;
  e->listen_peer = NULL;
  e->listen_peer_len = 0;
  ERR_clear_error();
  if (r > 0) return make_int(env, LISTEN_ACCEPT);
  if (r < 0) {
    /* a fatal state on the listener: start over with a fresh one next time */
    SSL_free(e->listener);
    e->listener = NULL;
    return make_int(env, LISTEN_DROP);
  }
  return make_int(env, e->listen_io.out.count > 0 ? LISTEN_HVR : LISTEN_DROP);
}

/* listenTakeOut(ctx) -> Buffer | undefined: the HelloVerifyRequest of the last listen(). */
static napi_value listen_take_out(napi_env env, napi_callback_info info)
{
  size_t argc = 1;
  napi_value argv[1], out;
  engine_t *e;
  const unsigned char *d;
  size_t n;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return undefined_value(env);
  e = handle_engine(env, argv[0]);
  if (e == NULL || !outq_pop(&e->listen_io.out, &d, &n)) return undefined_value(env);
  if (napi_create_buffer_copy(env, n, d, NULL, &out) != napi_ok) return undefined_value(env);
  return out;
}

/* accept(ctx, { mtu, pins, peer }) -> server session from the listener (after LISTEN_ACCEPT). */
static napi_value session_accept(napi_env env, napi_callback_info info)
{
  size_t argc = 2;
  napi_value argv[2];
  engine_t *e;
  session_t *s;
  SSL *ssl;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      (e = handle_engine(env, argv[0])) == NULL || e->ctx == NULL || e->closed || e->listener == NULL) {
    throw_code(env, "ERR_DTLS_PARAM", "accept(ctx, options) after listen() returned ACCEPT");
    return NULL;
  }
  if ((s = session_new(env, e, argv[1], 0)) == NULL) {
    throw_code(env, "ERR_DTLS_PARAM", "bad accept options (mtu, pins, peer)");
    return NULL;
  }
  ssl = e->listener;
  e->listener = NULL; /* the listener became this peer's SSL; a new one is made on demand */
  outq_clear(&e->listen_io.out);
  if (session_attach(s, ssl, opt_mtu(env, argv[1])) != 0) {
    session_release(s);
    free(s);
    throw_ssl(env, "ERR_DTLS_INIT", "cannot set up the DTLS server session");
    return NULL;
  }
  return wrap_session(env, s);
}

static session_t *arg_session(napi_env env, napi_callback_info info, size_t want, napi_value *argv, size_t *argc_out)
{
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  if (argc_out != NULL) *argc_out = argc;
  return handle_session(env, argv[0]);
}

static void fail(session_t *s, int reason, const char *fallback)
{
  if (s->state == ST_FAILED || s->state == ST_CLOSED) return;
  record_error(s, fallback);
  if (s->reason == R_NONE) s->reason = reason; /* the verify callback may have said FINGERPRINT first */
  s->state = ST_FAILED;
}

/* The handshake just finished: established, or waiting for a pin. */
static int handshake_done(session_t *s)
{
  X509 *peer = SSL_get1_peer_certificate(s->ssl);
  int flags = 0;
  if (peer == NULL) {
    /* cannot happen with SSL_VERIFY_FAIL_IF_NO_PEER_CERT, but a pin needs a certificate */
    fail(s, R_HANDSHAKE, "peer sent no certificate");
    return F_FAILED;
  }
  if (!s->pins_known) {
    s->state = ST_VERIFY_WAIT;
    flags = F_VERIFY_WAIT;
  } else if (cert_matches(s, peer)) {
    s->state = ST_ESTABLISHED;
    flags = F_ESTABLISHED;
  } else {
    s->reason = R_FINGERPRINT;
    fail(s, R_FINGERPRINT, "peer certificate does not match the SDP fingerprint");
    SSL_shutdown(s->ssl);
    flags = F_FAILED;
  }
  X509_free(peer);
  return flags;
}

/* One application record (if any) into out; flags. */
static int32_t read_record(session_t *s, unsigned char *out, size_t outcap)
{
  int flags = 0, n, e;
  int32_t len = 0;
  if (s->state != ST_ESTABLISHED && s->state != ST_VERIFY_WAIT) return 0;
  n = SSL_read(s->ssl, out, outcap > INT_MAX ? INT_MAX : (int)outcap);
  if (n > 0) {
    if (s->state == ST_ESTABLISHED) {
      s->records_in++;
      s->bytes_in += (uint64_t)n;
      flags |= F_DATA;
      len = n;
    } else {
      s->dropped_unverified++; /* RFC 8122 §5: nothing passes before the pin matched */
    }
    if (SSL_has_pending(s->ssl)) flags |= F_MORE;
  } else {
    e = SSL_get_error(s->ssl, n);
    if (e == SSL_ERROR_ZERO_RETURN) {
      s->state = ST_CLOSED;
      s->reason = R_PEER_CLOSE;
      SSL_shutdown(s->ssl); /* our close_notify in answer */
      flags |= F_CLOSED;
    } else if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
      record_error(s, "fatal alert or record error");
      s->state = ST_CLOSED;
      s->reason = R_ALERT;
      flags |= F_CLOSED;
    }
  }
  return (int32_t)flags | (len << 8);
}

static int32_t drive(session_t *s, unsigned char *out, size_t outcap)
{
  int32_t flags = 0;
  if (s->state == ST_HANDSHAKE) {
    int r = SSL_do_handshake(s->ssl);
    if (r == 1) {
      flags |= handshake_done(s);
    } else {
      int e = SSL_get_error(s->ssl, r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        fail(s, R_HANDSHAKE, "handshake failed");
        flags |= F_FAILED;
      }
    }
  }
  if (out != NULL && (s->state == ST_ESTABLISHED || s->state == ST_VERIFY_WAIT)) flags |= read_record(s, out, outcap);
  if (s->io.out.count > 0) flags |= F_OUT;
  return flags;
}

/* handshake(s) -> flags: starts (client) or continues (server, buffered ClientHello) the handshake. */
static napi_value session_handshake(napi_env env, napi_callback_info info)
{
  napi_value argv[1];
  session_t *s = arg_session(env, info, 1, argv, NULL);
  if (s == NULL) return make_int(env, DTLS_ERR_BAD_PARAM);
  if (s->ssl == NULL) return make_int(env, DTLS_ERR_CLOSED);
  ERR_clear_error();
  {
    int32_t r = drive(s, NULL, 0) & ~F_MORE;
    ERR_clear_error(); /* node's own crypto shares this thread's error queue: leave it empty */
    return make_int(env, r);
  }
}

/*
 * feed(s, datagram, len, out) -> flags | (recordLength << 8), or a negative code.
 * Drives the handshake, then copies the first application record into `out` (F_DATA); F_MORE: call
 * read(s, out) for the next records of the same datagram.
 */
static napi_value session_feed(napi_env env, napi_callback_info info)
{
  size_t argc = 0;
  napi_value argv[4];
  session_t *s = arg_session(env, info, 4, argv, &argc);
  unsigned char *data, *out;
  size_t cap, outcap;
  int32_t len, r;
  if (s == NULL || argc < 4) return make_int(env, DTLS_ERR_BAD_PARAM);
  if (s->ssl == NULL) return make_int(env, DTLS_ERR_CLOSED);
  if (get_bytes(env, argv[1], &data, &cap) != 0 || napi_get_value_int32(env, argv[2], &len) != napi_ok || len <= 0 ||
      (size_t)len > cap || get_bytes(env, argv[3], &out, &outcap) != 0)
    return make_int(env, DTLS_ERR_BAD_PARAM);
  if (s->state == ST_FAILED || s->state == ST_CLOSED) return make_int(env, 0);
  ERR_clear_error();
  s->io.in = data;
  s->io.in_len = (size_t)len;
  s->io.in_ready = 1;
  r = drive(s, out, outcap);
  s->io.in = NULL; /* never keep a pointer into a JS buffer past the call */
  s->io.in_ready = 0;
  ERR_clear_error();
  return make_int(env, r);
}

/* read(s, out) -> flags | (length << 8): the next buffered record. */
static napi_value session_read(napi_env env, napi_callback_info info)
{
  size_t argc = 0;
  napi_value argv[2];
  session_t *s = arg_session(env, info, 2, argv, &argc);
  unsigned char *out;
  size_t outcap;
  int32_t r;
  if (s == NULL || argc < 2 || get_bytes(env, argv[1], &out, &outcap) != 0) return make_int(env, DTLS_ERR_BAD_PARAM);
  if (s->ssl == NULL) return make_int(env, DTLS_ERR_CLOSED);
  ERR_clear_error();
  r = read_record(s, out, outcap);
  if (s->io.out.count > 0) r |= F_OUT;
  ERR_clear_error();
  return make_int(env, r);
}

/* write(s, data, len) -> F_OUT (one record queued) | negative code. */
static napi_value session_write(napi_env env, napi_callback_info info)
{
  size_t argc = 0;
  napi_value argv[3];
  session_t *s = arg_session(env, info, 3, argv, &argc);
  unsigned char *data;
  size_t cap;
  int32_t len;
  int n;
  if (s == NULL || argc < 3) return make_int(env, DTLS_ERR_BAD_PARAM);
  if (s->ssl == NULL) return make_int(env, DTLS_ERR_CLOSED);
  if (get_bytes(env, argv[1], &data, &cap) != 0 || napi_get_value_int32(env, argv[2], &len) != napi_ok || len < 0 ||
      (size_t)len > cap)
    return make_int(env, DTLS_ERR_BAD_PARAM);
  if (s->state != ST_ESTABLISHED) return make_int(env, DTLS_ERR_STATE);
  if (len > SSL3_RT_MAX_PLAIN_LENGTH) return make_int(env, DTLS_ERR_TOO_BIG);
  ERR_clear_error();
  n = SSL_write(s->ssl, data, (int)len);
  if (n <= 0) {
    ERR_clear_error();
    return make_int(env, DTLS_ERR_WRITE);
  }
  s->records_out++;
  s->bytes_out += (uint64_t)n;
  return make_int(env, s->io.out.count > 0 ? F_OUT : 0);
}

/* takeOut(s) -> Buffer | undefined: the next datagram to send to the peer. */
static napi_value session_take_out(napi_env env, napi_callback_info info)
{
  napi_value argv[1], out;
  session_t *s = arg_session(env, info, 1, argv, NULL);
  const unsigned char *d;
  size_t n;
  if (s == NULL || !outq_pop(&s->io.out, &d, &n)) return undefined_value(env);
  if (napi_create_buffer_copy(env, n, d, NULL, &out) != napi_ok) return undefined_value(env);
  return out;
}

/* timeoutMs(s) -> ms until handleTimeout() is due (0: now), or -1 when no timer runs. */
static napi_value session_timeout(napi_env env, napi_callback_info info)
{
  napi_value argv[1];
  session_t *s = arg_session(env, info, 1, argv, NULL);
  struct timeval tv;
  int64_t ms;
  if (s == NULL || s->ssl == NULL || s->state == ST_FAILED || s->state == ST_CLOSED) return make_int(env, -1);
  if (DTLSv1_get_timeout(s->ssl, &tv) != 1) return make_int(env, -1);
  ms = (int64_t)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
  return make_int(env, ms > INT32_MAX ? INT32_MAX : (int32_t)ms);
}

/* handleTimeout(s) -> flags: retransmits the last flight when due; F_FAILED after too many. */
static napi_value session_handle_timeout(napi_env env, napi_callback_info info)
{
  napi_value argv[1];
  session_t *s = arg_session(env, info, 1, argv, NULL);
  int32_t flags = 0;
  if (s == NULL) return make_int(env, DTLS_ERR_BAD_PARAM);
  if (s->ssl == NULL) return make_int(env, DTLS_ERR_CLOSED);
  if (s->state == ST_FAILED || s->state == ST_CLOSED) return make_int(env, 0);
  ERR_clear_error();
  if (DTLSv1_handle_timeout(s->ssl) < 0) {
    if (s->state == ST_HANDSHAKE) {
      fail(s, R_TIMEOUT, "peer did not answer (retransmissions exhausted)");
      flags |= F_FAILED;
    }
  }
  if (s->io.out.count > 0) flags |= F_OUT;
  ERR_clear_error();
  return make_int(env, flags);
}

/*
 * setPins(s, pins) -> flags. Stores the pins; on a session waiting for them, checks the peer
 * certificate now (F_ESTABLISHED or F_FAILED); on an established one, a certificate that no longer
 * matches fails the session (RFC 8842: a new fingerprint needs a new association).
 */
static napi_value session_set_pins(napi_env env, napi_callback_info info)
{
  size_t argc = 0;
  napi_value argv[2];
  session_t *s = arg_session(env, info, 2, argv, &argc);
  pin_t *pins;
  size_t n;
  int known;
  int32_t flags = 0;
  if (s == NULL || argc < 2) return make_int(env, DTLS_ERR_BAD_PARAM);
  if (s->ssl == NULL) return make_int(env, DTLS_ERR_CLOSED);
  if (parse_pins(env, argv[1], &pins, &n, &known) != 0) return make_int(env, DTLS_ERR_BAD_PARAM);
  free(s->pins);
  s->pins = pins;
  s->npins = n;
  s->pins_known = known;
  ERR_clear_error();
  if (known && (s->state == ST_VERIFY_WAIT || s->state == ST_ESTABLISHED)) {
    X509 *peer = SSL_get1_peer_certificate(s->ssl);
    int ok = peer != NULL && cert_matches(s, peer);
    X509_free(peer);
    if (ok && s->state == ST_VERIFY_WAIT) {
      s->state = ST_ESTABLISHED;
      flags |= F_ESTABLISHED;
    } else if (!ok) {
      s->reason = R_FINGERPRINT;
      fail(s, R_FINGERPRINT, "peer certificate does not match the SDP fingerprint");
      SSL_shutdown(s->ssl);
      flags |= F_FAILED;
    }
  }
  if (s->io.out.count > 0) flags |= F_OUT;
  ERR_clear_error();
  return make_int(env, flags);
}

/* shutdown(s) -> flags: sends close_notify (F_OUT) on a session that got that far; state CLOSED. */
static napi_value session_shutdown(napi_env env, napi_callback_info info)
{
  napi_value argv[1];
  session_t *s = arg_session(env, info, 1, argv, NULL);
  if (s == NULL) return make_int(env, DTLS_ERR_BAD_PARAM);
  if (s->ssl == NULL) return make_int(env, DTLS_ERR_CLOSED);
  ERR_clear_error();
  if (s->state == ST_ESTABLISHED || s->state == ST_VERIFY_WAIT) {
    SSL_shutdown(s->ssl);
    s->state = ST_CLOSED;
    s->reason = R_LOCAL;
  } else if (s->state == ST_HANDSHAKE) {
    s->state = ST_CLOSED;
    s->reason = R_LOCAL;
  }
  ERR_clear_error();
  return make_int(env, s->io.out.count > 0 ? F_OUT : 0);
}

/* destroy(s): idempotent; frees the SSL at once. */
static napi_value session_destroy(napi_env env, napi_callback_info info)
{
  napi_value argv[1];
  session_t *s = arg_session(env, info, 1, argv, NULL);
  if (s != NULL) {
    if (s->state != ST_FAILED && s->state != ST_CLOSED) {
      s->state = ST_CLOSED;
      s->reason = R_LOCAL;
    }
    session_release(s);
  }
  return NULL;
}

static napi_status set_double(napi_env env, napi_value obj, const char *name, double v)
{
  napi_value x;
  napi_status st = napi_create_double(env, v, &x);
  if (st != napi_ok) return st;
  return napi_set_named_property(env, obj, name, x);
}

static napi_status set_str(napi_env env, napi_value obj, const char *name, const char *v)
{
  napi_value x;
  napi_status st;
  if (v == NULL) {
    st = napi_get_null(env, &x);
  } else {
    st = napi_create_string_utf8(env, v, NAPI_AUTO_LENGTH, &x);
  }
  if (st != napi_ok) return st;
  return napi_set_named_property(env, obj, name, x);
}

/* "AB:CD:..." of `len` bytes into out (3 * len chars). */
static void hex_colon(const unsigned char *d, unsigned int len, char *out)
{
  static const char hx[] = "0123456789ABCDEF";
  unsigned int i;
  for (i = 0; i < len; i++) {
    out[3 * i] = hx[d[i] >> 4];
    out[3 * i + 1] = hx[d[i] & 15];
    out[3 * i + 2] = i + 1 < len ? ':' : '\0';
  }
  if (len == 0) out[0] = '\0';
}

/* info(s) -> { state, role, reason, error, version, cipher, peerFingerprint, records..., bytes... } */
static napi_value session_info(napi_env env, napi_callback_info info)
{
  napi_value argv[1], o;
  session_t *s = arg_session(env, info, 1, argv, NULL);
  char fp[EVP_MAX_MD_SIZE * 3 + 1];
  const char *version = NULL, *cipher = NULL;
  int have_fp = 0;
  if (s == NULL || napi_create_object(env, &o) != napi_ok) return undefined_value(env);
  if (s->ssl != NULL && (s->state == ST_ESTABLISHED || s->state == ST_VERIFY_WAIT || s->state == ST_CLOSED ||
                         s->state == ST_FAILED)) {
    X509 *peer = SSL_get1_peer_certificate(s->ssl);
    if (peer != NULL) {
      unsigned char d[EVP_MAX_MD_SIZE];
      unsigned int n = 0;
      if (X509_digest(peer, EVP_sha256(), d, &n)) {
        hex_colon(d, n, fp);
        have_fp = 1;
      }
      X509_free(peer);
    }
    if (SSL_is_init_finished(s->ssl)) {
      const SSL_CIPHER *c = SSL_get_current_cipher(s->ssl);
      version = SSL_get_version(s->ssl);
      cipher = c != NULL ? SSL_CIPHER_get_name(c) : NULL;
    }
  }
  ERR_clear_error();
  trgwd_set_int(env, o, "state", s->state);
  trgwd_set_int(env, o, "role", s->role);
  trgwd_set_int(env, o, "reason", s->reason);
  set_str(env, o, "error", s->err[0] != '\0' ? s->err : NULL);
  set_str(env, o, "version", version);
  set_str(env, o, "cipher", cipher);
  set_str(env, o, "peerFingerprint", have_fp ? fp : NULL);
  set_double(env, o, "recordsIn", (double)s->records_in);
  set_double(env, o, "recordsOut", (double)s->records_out);
  set_double(env, o, "bytesIn", (double)s->bytes_in);
  set_double(env, o, "bytesOut", (double)s->bytes_out);
  set_double(env, o, "droppedUnverified", (double)s->dropped_unverified);
  set_double(env, o, "outQueueDropped", (double)s->io.out.dropped);
  trgwd_set_int(env, o, "destroyed", s->ssl == NULL);
  return o;
}

/* state(s) -> ST_* (cheap; -2 when destroyed). */
static napi_value session_state(napi_env env, napi_callback_info info)
{
  napi_value argv[1];
  session_t *s = arg_session(env, info, 1, argv, NULL);
  if (s == NULL) return make_int(env, DTLS_ERR_BAD_PARAM);
  if (s->ssl == NULL) return make_int(env, DTLS_ERR_CLOSED);
  return make_int(env, s->state);
}

/* exportKeyingMaterial(s, label, length, context?) -> Buffer | undefined (RFC 5705). */
static napi_value session_export(napi_env env, napi_callback_info info)
{
  size_t argc = 0;
  napi_value argv[4], out;
  session_t *s = arg_session(env, info, 4, argv, &argc);
  char label[256];
  size_t label_len = 0;
  uint32_t n;
  unsigned char *ctxb = NULL, *buf;
  size_t ctxlen = 0;
  double d;
  int ok;
  if (s == NULL || s->ssl == NULL || argc < 3 || s->state != ST_ESTABLISHED) return undefined_value(env);
  if (napi_get_value_string_utf8(env, argv[1], label, sizeof(label), &label_len) != napi_ok) return undefined_value(env);
  if (napi_get_value_double(env, argv[2], &d) != napi_ok || !(d >= 1 && d <= 4096)) return undefined_value(env);
  n = (uint32_t)d;
  if (argc >= 4) {
    napi_valuetype t;
    if (napi_typeof(env, argv[3], &t) == napi_ok && t != napi_undefined && t != napi_null &&
        get_bytes(env, argv[3], &ctxb, &ctxlen) != 0)
      return undefined_value(env);
  }
  if (napi_create_buffer(env, n, (void **)&buf, &out) != napi_ok) return undefined_value(env);
  ok = SSL_export_keying_material(s->ssl, buf, n, label, label_len, ctxb, ctxlen, ctxb != NULL);
  ERR_clear_error();
  return ok == 1 ? out : undefined_value(env);
}

/* stats() -> { liveSessions, liveContexts } (process-wide; leak checks in tests). */
static napi_value stats_call(napi_env env, napi_callback_info info)
{
  napi_value o;
  (void)info;
  if (napi_create_object(env, &o) != napi_ok) return undefined_value(env);
  set_double(env, o, "liveSessions", (double)__atomic_load_n(&live_sessions, __ATOMIC_RELAXED));
  set_double(env, o, "liveContexts", (double)__atomic_load_n(&live_engines, __ATOMIC_RELAXED));
  return o;
}

napi_status trgwd_dtls_register(napi_env env, napi_value exports)
{
  static const trgwd_named_fn fns[] = {
      {"createContext", create_context},
      {"destroyContext", destroy_context},
      {"listen", listen_call},
      {"listenTakeOut", listen_take_out},
      {"accept", session_accept},
      {"connect", session_connect},
      {"handshake", session_handshake},
      {"feed", session_feed},
      {"read", session_read},
      {"write", session_write},
      {"takeOut", session_take_out},
      {"timeoutMs", session_timeout},
      {"handleTimeout", session_handle_timeout},
      {"setPins", session_set_pins},
      {"shutdown", session_shutdown},
      {"destroy", session_destroy},
      {"info", session_info},
      {"state", session_state},
      {"exportKeyingMaterial", session_export},
      {"stats", stats_call},
  };
  /* mirrored in daemon/tls/dtls/binding.ts, which checks them at load */
  static const trgwd_named_int codes[] = {
      {"BAD_PARAM", DTLS_ERR_BAD_PARAM}, {"CLOSED", DTLS_ERR_CLOSED}, {"STATE", DTLS_ERR_STATE},
      {"WRITE", DTLS_ERR_WRITE},         {"TOO_BIG", DTLS_ERR_TOO_BIG},
  };
  static const trgwd_named_int flags[] = {
      {"OUT", F_OUT},   {"ESTABLISHED", F_ESTABLISHED}, {"FAILED", F_FAILED},           {"CLOSED", F_CLOSED},
      {"MORE", F_MORE}, {"DATA", F_DATA},               {"VERIFY_WAIT", F_VERIFY_WAIT},
  };
  static const trgwd_named_int states[] = {
      {"HANDSHAKE", ST_HANDSHAKE}, {"VERIFY_WAIT", ST_VERIFY_WAIT}, {"ESTABLISHED", ST_ESTABLISHED},
      {"FAILED", ST_FAILED},       {"CLOSED", ST_CLOSED},
  };
  static const trgwd_named_int reasons[] = {
      {"NONE", R_NONE},       {"FINGERPRINT", R_FINGERPRINT}, {"HANDSHAKE", R_HANDSHAKE}, {"TIMEOUT", R_TIMEOUT},
      {"PEER_CLOSE", R_PEER_CLOSE}, {"ALERT", R_ALERT},       {"LOCAL", R_LOCAL},
  };
  static const trgwd_named_int hashes[] = {
      {"SHA1", H_SHA1}, {"SHA256", H_SHA256}, {"SHA384", H_SHA384}, {"SHA512", H_SHA512},
  };
  static const trgwd_named_int listen_results[] = {
      {"DROP", LISTEN_DROP}, {"HVR", LISTEN_HVR}, {"ACCEPT", LISTEN_ACCEPT},
  };
  napi_value dtls;
  napi_status st;

  pthread_once(&init_once, init_process);
  if ((st = napi_create_object(env, &dtls)) != napi_ok) return st;
  if ((st = trgwd_set_fns(env, dtls, fns, TRGWD_COUNT(fns))) != napi_ok) return st;
  if ((st = trgwd_set_table(env, dtls, "codes", codes, TRGWD_COUNT(codes))) != napi_ok) return st;
  if ((st = trgwd_set_table(env, dtls, "flags", flags, TRGWD_COUNT(flags))) != napi_ok) return st;
  if ((st = trgwd_set_table(env, dtls, "states", states, TRGWD_COUNT(states))) != napi_ok) return st;
  if ((st = trgwd_set_table(env, dtls, "reasons", reasons, TRGWD_COUNT(reasons))) != napi_ok) return st;
  if ((st = trgwd_set_table(env, dtls, "hashes", hashes, TRGWD_COUNT(hashes))) != napi_ok) return st;
  if ((st = trgwd_set_table(env, dtls, "listenResults", listen_results, TRGWD_COUNT(listen_results))) != napi_ok) return st;


  if ((st = set_str(env, dtls, "opensslVersion", OpenSSL_version(OPENSSL_VERSION))) != napi_ok) return st;
  return napi_set_named_property(env, exports, "dtls", dtls);
}
