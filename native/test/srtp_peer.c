/*
 * srtp_peer: a small C program over libsrtp2, the reference peer for trgwd's SRTP binding.
 * Built by test/interop/srtp-libsrtp.test.ts and bench/srtp.ts into a temp dir:
 *   cc -O2 -o srtp_peer native/test/srtp_peer.c $(pkg-config --cflags --libs libsrtp2)
 *
 * Filter mode: srtp_peer --suite S --key HEX [--mki HEX] [--ssrc N] [--roc N] [--window N]
 *                        [--unencrypted-srtp] [--unencrypted-srtcp] [--unauthenticated-srtp]
 *                        protect|unprotect
 *   reads lines "rtp HEX" / "rtcp HEX" on stdin; writes per line the processed packet as HEX, or
 *   "ERR <srtp_err_status_t>"; flushes after each line.
 * Bench mode:  srtp_peer --suite S --key HEX [--mki HEX] --bench N [--payload BYTES]
 *   protects N RTP packets in place in a loop, then unprotects N (protected beforehand, untimed, in
 *   batches), and prints one JSON line with packets per second for each.
 * UDP mode:    srtp_peer --suite S --key HEX [--mki HEX] [--rx-key HEX [--rx-mki HEX]] [--window N]
 *                        [session flags] udp [--bind ADDR:PORT] [--to ADDR:PORT] [--rtcp-to PORT]
 *                        [--rtcp-mux]
 *   the program is the UE on the wire (test/interop/srtp-e2ae-libsrtp.test.ts): it sends SRTP/SRTCP
 *   protected with --key and unprotects what it receives with --rx-key. IPv4. It binds an RTP socket
 *   and, unless --rtcp-mux, an RTCP socket on the next port (--bind ...:0, the default: an even
 *   ephemeral port whose successor is free), prints "PORTS <rtp> <rtcp>", then reads commands on stdin,
 *   one answer line each (recv: one per datagram), flushed:
 *     to ADDR PORT [RTCPPORT]   where to send (RTCP: RTCPPORT, else PORT+1; the RTP port with mux)
 *                               -> OK
 *     rx-key HEX [MKIHEX]       the key (and MKI) to unprotect with from now on -> OK
 *     send rtp|rtcp HEX         protect with --key and send -> SENT <protected length> | ERR <status>
 *     recv N TIMEOUT_MS         receive N datagrams within TIMEOUT_MS in all; per datagram
 *                               "rtp|rtcp <source port> <length on the wire> HEX" (unprotected) or
 *                               "rtp|rtcp <source port> <length on the wire> ERR <status>";
 *                               "TIMEOUT <received>" when time ran out first
 *     quit
 *   With --rtcp-mux, RTCP goes to and comes from the RTP port (RFC 5761: second octet 192..223).
 *   Errors that are not a libsrtp2 status are words: "ERR no-destination", "ERR bad-line", ...
 *
 * Suites: AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32 (SRTCP keeps the 80-bit tag, RFC 4568
 * §6.2.2), AEAD_AES_128_GCM, AEAD_AES_256_GCM. KEY is master key || master salt in hex.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <srtp2/crypto_types.h>
#include <srtp2/srtp.h>

#define MAX_PKT 8192
#define BATCH 1024

static int hexval(int c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int from_hex(const char *s, uint8_t *out, size_t cap)
{
  size_t n = 0;
  while (s[0] != '\0' && s[0] != '\n' && s[0] != '\r') {
    int hi = hexval((unsigned char)s[0]), lo = s[1] ? hexval((unsigned char)s[1]) : -1;
    if (hi < 0 || lo < 0 || n >= cap) return -1;
    out[n++] = (uint8_t)(hi << 4 | lo);
    s += 2;
  }
  return (int)n;
}

static void print_hex(const uint8_t *p, int n)
{
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < n; i++) {
    putchar(digits[p[i] >> 4]);
    putchar(digits[p[i] & 15]);
  }
  putchar('\n');
}

static void usage(void)
{
  fprintf(stderr, "usage: srtp_peer --suite S --key HEX [--mki HEX] [--ssrc N] [--roc N] [--window N]\n"
                  "                 [--unencrypted-srtp] [--unencrypted-srtcp] [--unauthenticated-srtp]\n"
                  "                 [--rx-key HEX [--rx-mki HEX]]\n"
                  "                 (protect|unprotect | --bench N [--payload BYTES]\n"
                  "                  | udp [--bind ADDR:PORT] [--to ADDR:PORT] [--rtcp-to PORT] [--rtcp-mux])\n");
  exit(2);
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
  srtp_policy_t policy;
  srtp_master_key_t mk;
  srtp_master_key_t *mkp[1];
  uint8_t key[64];
  uint8_t mki[SRTP_MAX_MKI_LEN];
  int key_len;
  int mki_len;
} peer_policy;

static int set_suite(peer_policy *pp, const char *suite)
{
  srtp_policy_t *p = &pp->policy;
  int want;
  if (strcmp(suite, "AES_CM_128_HMAC_SHA1_80") == 0) {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
    want = 30;
  } else if (strcmp(suite, "AES_CM_128_HMAC_SHA1_32") == 0) {
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&p->rtp);
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p->rtcp);
    want = 30;
  } else if (strcmp(suite, "AEAD_AES_128_GCM") == 0) {
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtp);
    srtp_crypto_policy_set_aes_gcm_128_16_auth(&p->rtcp);
    want = 28;
  } else if (strcmp(suite, "AEAD_AES_256_GCM") == 0) {
    srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtp);
    srtp_crypto_policy_set_aes_gcm_256_16_auth(&p->rtcp);
    want = 44;
  } else {
    return -1;
  }
  return want;
}

static void make_rtp(uint8_t *b, uint16_t seq, uint32_t ssrc, int payload)
{
  b[0] = 0x80;
  b[1] = 0x00; /* PT 0 */
  b[2] = (uint8_t)(seq >> 8);
  b[3] = (uint8_t)seq;
  b[4] = 0x00;
  b[5] = 0x01;
  b[6] = 0x02;
  b[7] = 0x03; /* timestamp */
  b[8] = (uint8_t)(ssrc >> 24);
  b[9] = (uint8_t)(ssrc >> 16);
  b[10] = (uint8_t)(ssrc >> 8);
  b[11] = (uint8_t)ssrc;
  memset(b + 12, 0xd5, (size_t)payload);
}

static int bench(peer_policy *pp, const char *suite, long n, int payload)
{
  srtp_t tx, rx;
  srtp_policy_t p = pp->policy;
  int use_mki = pp->mki_len > 0;
  uint8_t *pkt = malloc(MAX_PKT); /* malloc: aligned for any type; C99 has no aligned_alloc */
  uint8_t *batch = malloc((size_t)BATCH * 256);
  int lens[BATCH];
  uint32_t ssrc = 0x11223344;
  long i, done;
  double t0, protect_s, unprotect_s = 0;
  int len;

  if (pkt == NULL || batch == NULL || payload + 12 + 64 > 256) return 1;
  p.ssrc.type = ssrc_any_outbound;
  if (srtp_create(&tx, &p) != srtp_err_status_ok) return 1;
  p.ssrc.type = ssrc_any_inbound;
  if (srtp_create(&rx, &p) != srtp_err_status_ok) return 1;

  /* protect: the same buffer, a new sequence number each time */
  make_rtp(pkt, 0, ssrc, payload);
  t0 = now_s();
  for (i = 0; i < n; i++) {
    pkt[2] = (uint8_t)(i >> 8);
    pkt[3] = (uint8_t)i;
    len = 12 + payload;
    if (srtp_protect_mki(tx, pkt, &len, use_mki, 0) != srtp_err_status_ok) return 1;
  }
  protect_s = now_s() - t0;
  srtp_dealloc(tx);

  /* unprotect: batches protected beforehand (untimed) by a fresh sender, then verified (timed) */
  p.ssrc.type = ssrc_any_outbound;
  if (srtp_create(&tx, &p) != srtp_err_status_ok) return 1;
  for (done = 0; done < n; done += BATCH) {
    long k = n - done < BATCH ? n - done : BATCH;
    for (i = 0; i < k; i++) {
      uint8_t *b = batch + i * 256;
      make_rtp(b, (uint16_t)(done + i), ssrc, payload);
      lens[i] = 12 + payload;
      if (srtp_protect_mki(tx, b, &lens[i], use_mki, 0) != srtp_err_status_ok) return 1;
    }
    t0 = now_s();
    for (i = 0; i < k; i++) {
      if (srtp_unprotect_mki(rx, batch + i * 256, &lens[i], use_mki) != srtp_err_status_ok) return 1;
    }
    unprotect_s += now_s() - t0;
  }
  srtp_dealloc(tx);
  srtp_dealloc(rx);
  printf("{\"impl\":\"c-libsrtp2\",\"suite\":\"%s\",\"packets\":%ld,\"payload\":%d,\"protect_pps\":%.0f,"
         "\"unprotect_pps\":%.0f}\n",
         suite, n, payload, (double)n / protect_s, (double)n / unprotect_s);
  free(pkt);
  free(batch);
  return 0;
}

typedef struct {
  unsigned long window;
  int unenc_srtp, unenc_srtcp, unauth;
} session_flags;

/* Completes a policy whose key (and MKI) are set: suite, session parameters, master key. 0 or -1. */
static int finish_policy(peer_policy *pp, const char *suite, const session_flags *f)
{
  int want = set_suite(pp, suite);
  if (want < 0 || pp->key_len != want || pp->mki_len < 0) return -1;
  pp->policy.window_size = f->window;
  if (f->unenc_srtp) pp->policy.rtp.sec_serv &= ~sec_serv_conf;
  if (f->unenc_srtcp) pp->policy.rtcp.sec_serv &= ~sec_serv_conf;
  if (f->unauth) {
    pp->policy.rtp.auth_type = SRTP_NULL_AUTH;
    pp->policy.rtp.auth_key_len = 0;
    pp->policy.rtp.auth_tag_len = 0;
    pp->policy.rtp.sec_serv &= ~sec_serv_auth;
  }
  if (pp->mki_len > 0) {
    pp->mk.key = pp->key;
    pp->mk.mki_id = pp->mki;
    pp->mk.mki_size = (unsigned int)pp->mki_len;
    pp->mkp[0] = &pp->mk;
    pp->policy.keys = pp->mkp;
    pp->policy.num_master_keys = 1;
  } else {
    pp->policy.key = pp->key;
  }
  return 0;
}

/*
 * srtp_create, and the context SRTCP runs on: libsrtp2 < the fix of cisco/libsrtp#733 finds an SRTCP
 * packet's MKI one *SRTP* tag length from the end: with AES_CM_128_HMAC_SHA1_32 (4 vs 10 octets) and an
 * MKI, SRTCP unprotect fails with bad_mki. As in trgwd's binding, SRTCP then runs on a context whose
 * SRTP tag is 10 octets too.
 */
static srtp_err_status_t create_ctx(peer_policy *pp, const char *suite, srtp_t *ctx, srtp_t *rtcp_ctx)
{
  srtp_err_status_t st = srtp_create(ctx, &pp->policy);
  if (st != srtp_err_status_ok) return st;
  *rtcp_ctx = *ctx;
  if (pp->mki_len > 0 && strcmp(suite, "AES_CM_128_HMAC_SHA1_32") == 0) {
    srtp_policy_t p2 = pp->policy;
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p2.rtp);
    st = srtp_create(rtcp_ctx, &p2);
    if (st != srtp_err_status_ok) {
      srtp_dealloc(*ctx);
      return st;
    }
  }
  return srtp_err_status_ok;
}

static void free_ctx(srtp_t ctx, srtp_t rtcp_ctx)
{
  if (rtcp_ctx != ctx) srtp_dealloc(rtcp_ctx);
  srtp_dealloc(ctx);
}

/* ---- UDP mode: the UE on the wire ---------------------------------------------------------- */

typedef struct {
  int rtp_fd, rtcp_fd; /* the same socket with --rtcp-mux */
  int mux;
  struct sockaddr_in to_rtp, to_rtcp;
  int have_to;
  srtp_t tx, tx_rtcp, rx, rx_rtcp;
  int tx_mki, rx_mki;
  int have_rx;
  peer_policy rxp; /* the last rx-key */
} udp_peer;

/* "A.B.C.D:PORT" */
static int parse_addr(const char *s, struct sockaddr_in *out)
{
  char host[64], *end;
  const char *colon = strrchr(s, ':');
  long port;
  if (colon == NULL || (size_t)(colon - s) >= sizeof(host)) return -1;
  memcpy(host, s, (size_t)(colon - s));
  host[colon - s] = '\0';
  memset(out, 0, sizeof(*out));
  out->sin_family = AF_INET;
  if (inet_pton(AF_INET, host, &out->sin_addr) != 1) return -1;
  port = strtol(colon + 1, &end, 10);
  if (*end != '\0' || end == colon + 1 || port < 0 || port > 65535) return -1;
  out->sin_port = htons((uint16_t)port);
  return 0;
}

static int bind_fd(const struct sockaddr_in *at, unsigned port)
{
  struct sockaddr_in a = *at;
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return -1;
  a.sin_port = htons((uint16_t)port);
  if (bind(fd, (const struct sockaddr *)&a, sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static unsigned port_of(int fd)
{
  struct sockaddr_in a;
  socklen_t l = sizeof(a);
  if (getsockname(fd, (struct sockaddr *)&a, &l) != 0) return 0;
  return ntohs(a.sin_port);
}

/* RTP socket, and RTCP on the next port unless mux. Port 0: an even ephemeral port whose successor is free. */
static int bind_pair(udp_peer *u, const struct sockaddr_in *at)
{
  unsigned want = ntohs(at->sin_port);
  int attempt;
  for (attempt = 0; attempt < 500; attempt++) {
    int fd = bind_fd(at, want), fd2;
    unsigned p;
    if (fd < 0) return -1;
    if (u->mux) {
      u->rtp_fd = u->rtcp_fd = fd;
      return 0;
    }
    p = port_of(fd);
    if (want == 0 && ((p & 1) != 0 || p >= 65535)) {
      close(fd);
      continue;
    }
    fd2 = p < 65535 ? bind_fd(at, p + 1) : -1;
    if (fd2 >= 0) {
      u->rtp_fd = fd;
      u->rtcp_fd = fd2;
      return 0;
    }
    close(fd);
    if (want != 0) return -1;
  }
  return -1;
}

static long now_ms(void)
{
  return (long)(now_s() * 1000.0);
}

/* rtp|rtcp HEX: protect and send. */
static void udp_send(udp_peer *u, const char *args, uint8_t *pkt)
{
  int rtcp, len;
  srtp_err_status_t st;
  ssize_t sent;
  if (strncmp(args, "rtp ", 4) == 0) {
    rtcp = 0;
    args += 4;
  } else if (strncmp(args, "rtcp ", 5) == 0) {
    rtcp = 1;
    args += 5;
  } else {
    printf("ERR bad-line\n");
    return;
  }
  len = from_hex(args, pkt, MAX_PKT);
  if (len <= 0) {
    printf("ERR bad-hex\n");
    return;
  }
  if (!u->have_to) {
    printf("ERR no-destination\n");
    return;
  }
  st = rtcp ? srtp_protect_rtcp_mki(u->tx_rtcp, pkt, &len, (unsigned)u->tx_mki, 0)
            : srtp_protect_mki(u->tx, pkt, &len, (unsigned)u->tx_mki, 0);
  if (st != srtp_err_status_ok) {
    printf("ERR %d\n", (int)st);
    return;
  }
  sent = rtcp ? sendto(u->rtcp_fd, pkt, (size_t)len, 0, (const struct sockaddr *)&u->to_rtcp, sizeof(u->to_rtcp))
              : sendto(u->rtp_fd, pkt, (size_t)len, 0, (const struct sockaddr *)&u->to_rtp, sizeof(u->to_rtp));
  if (sent != len)
    printf("ERR send-%d\n", errno);
  else
    printf("SENT %d\n", len);
}

/* N TIMEOUT_MS: receive and unprotect N datagrams (RTP and RTCP sockets together). */
static void udp_recv(udp_peer *u, const char *args, uint8_t *pkt)
{
  long n = 0, timeout = 0, got = 0, deadline;
  struct pollfd fds[2];
  int nfds = u->mux ? 1 : 2, i;
  if (sscanf(args, "%ld %ld", &n, &timeout) != 2 || n < 0 || timeout < 0) {
    printf("ERR bad-line\n");
    return;
  }
  deadline = now_ms() + timeout;
  fds[0].fd = u->rtp_fd;
  fds[1].fd = u->rtcp_fd;
  while (got < n) {
    long left = deadline - now_ms();
    int r;
    if (left <= 0) break;
    fds[0].events = fds[1].events = POLLIN;
    fds[0].revents = fds[1].revents = 0;
    r = poll(fds, (nfds_t)nfds, (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    for (i = 0; i < nfds && got < n; i++) {
      struct sockaddr_in from;
      socklen_t fl = sizeof(from);
      ssize_t k;
      int len, rtcp;
      srtp_err_status_t st;
      if ((fds[i].revents & POLLIN) == 0) continue;
      k = recvfrom(fds[i].fd, pkt, MAX_PKT, 0, (struct sockaddr *)&from, &fl);
      if (k < 0) continue;
      len = (int)k;
      rtcp = u->mux ? (len >= 2 && pkt[1] >= 192 && pkt[1] <= 223) : i == 1;
      printf("%s %u %d ", rtcp ? "rtcp" : "rtp", (unsigned)ntohs(from.sin_port), len);
      got++;
      if (!u->have_rx) {
        printf("ERR no-key\n");
        continue;
      }
      st = rtcp ? srtp_unprotect_rtcp_mki(u->rx_rtcp, pkt, &len, (unsigned)u->rx_mki)
                : srtp_unprotect_mki(u->rx, pkt, &len, (unsigned)u->rx_mki);
      if (st == srtp_err_status_ok)
        print_hex(pkt, len);
      else
        printf("ERR %d\n", (int)st);
    }
  }
  if (got < n) printf("TIMEOUT %ld\n", got);
}

/* ADDR PORT [RTCPPORT] */
static void udp_to(udp_peer *u, const char *args)
{
  char host[64];
  long port = -1, rport = -1;
  int k = sscanf(args, "%63s %ld %ld", host, &port, &rport);
  struct sockaddr_in a;
  char spec[80];
  if (k < 2 || port < 1 || port > 65535 || (k == 3 && (rport < 1 || rport > 65535))) {
    printf("ERR bad-line\n");
    return;
  }
  snprintf(spec, sizeof(spec), "%s:%ld", host, port);
  if (parse_addr(spec, &a) != 0) {
    printf("ERR bad-address\n");
    return;
  }
  u->to_rtp = a;
  u->to_rtcp = a;
  if (!u->mux) u->to_rtcp.sin_port = htons((uint16_t)(k == 3 ? rport : port + 1));
  u->have_to = 1;
  printf("OK\n");
}

/* Replaces the receive key. 0, or the failure printed. */
static int udp_rx_key(udp_peer *u, const char *suite, const session_flags *f, const char *key, const char *mki)
{
  srtp_t ctx, rtcp_ctx;
  srtp_err_status_t st;
  peer_policy *pp = &u->rxp;
  memset(pp, 0, sizeof(*pp));
  pp->key_len = from_hex(key, pp->key, sizeof(pp->key));
  if (mki != NULL) pp->mki_len = from_hex(mki, pp->mki, sizeof(pp->mki));
  if (finish_policy(pp, suite, f) != 0) {
    printf("ERR bad-key\n");
    return -1;
  }
  pp->policy.ssrc.type = ssrc_any_inbound;
  st = create_ctx(pp, suite, &ctx, &rtcp_ctx);
  if (st != srtp_err_status_ok) {
    printf("ERR %d\n", (int)st);
    return -1;
  }
  if (u->have_rx) free_ctx(u->rx, u->rx_rtcp);
  u->rx = ctx;
  u->rx_rtcp = rtcp_ctx;
  u->rx_mki = pp->mki_len > 0;
  u->have_rx = 1;
  return 0;
}

static int udp_mode(udp_peer *u, const char *suite, const session_flags *f)
{
  static char line[2 * MAX_PKT + 64];
  static uint8_t pkt[MAX_PKT + 256];
  printf("PORTS %u %u\n", port_of(u->rtp_fd), port_of(u->rtcp_fd));
  fflush(stdout);
  while (fgets(line, sizeof(line), stdin) != NULL) {
    line[strcspn(line, "\r\n")] = '\0';
    if (strncmp(line, "send ", 5) == 0) {
      udp_send(u, line + 5, pkt);
    } else if (strncmp(line, "recv ", 5) == 0) {
      udp_recv(u, line + 5, pkt);
    } else if (strncmp(line, "to ", 3) == 0) {
      udp_to(u, line + 3);
    } else if (strncmp(line, "rx-key ", 7) == 0) {
      char *key = strtok(line + 7, " "), *mki = strtok(NULL, " ");
      if (key != NULL && udp_rx_key(u, suite, f, key, mki) == 0) printf("OK\n");
      else if (key == NULL) printf("ERR bad-line\n");
    } else if (strcmp(line, "quit") == 0) {
      break;
    } else {
      printf("ERR bad-line\n");
    }
    fflush(stdout);
  }
  return 0;
}

int main(int argc, char **argv)
{
  peer_policy pp;
  const char *suite = NULL, *mode = NULL;
  const char *rx_key = NULL, *rx_mki = NULL, *bind_at = "127.0.0.1:0", *to = NULL;
  long bench_n = 0, rtcp_to = -1;
  int payload = 160, i, rtcp_mux = 0;
  session_flags flags = {128, 0, 0, 0};
  srtp_t ctx, rtcp_ctx;
  srtp_err_status_t st;
  char line[2 * MAX_PKT + 16];
  static uint8_t pkt[MAX_PKT + 256];

  memset(&pp, 0, sizeof(pp));
  pp.policy.ssrc.type = ssrc_undefined;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--suite") == 0 && v) {
      suite = v;
      i++;
    } else if (strcmp(a, "--key") == 0 && v) {
      pp.key_len = from_hex(v, pp.key, sizeof(pp.key));
      i++;
    } else if (strcmp(a, "--mki") == 0 && v) {
      pp.mki_len = from_hex(v, pp.mki, sizeof(pp.mki));
      i++;
    } else if (strcmp(a, "--rx-key") == 0 && v) {
      rx_key = v;
      i++;
    } else if (strcmp(a, "--rx-mki") == 0 && v) {
      rx_mki = v;
      i++;
    } else if (strcmp(a, "--ssrc") == 0 && v) {
      pp.policy.ssrc.type = ssrc_specific;
      pp.policy.ssrc.value = (unsigned int)strtoul(v, NULL, 0);
      i++;
    } else if (strcmp(a, "--roc") == 0 && v) {
      /* applied after srtp_create, below */
      i++;
    } else if (strcmp(a, "--window") == 0 && v) {
      flags.window = strtoul(v, NULL, 0);
      i++;
    } else if (strcmp(a, "--bench") == 0 && v) {
      bench_n = strtol(v, NULL, 0);
      i++;
    } else if (strcmp(a, "--payload") == 0 && v) {
      payload = atoi(v);
      i++;
    } else if (strcmp(a, "--bind") == 0 && v) {
      bind_at = v;
      i++;
    } else if (strcmp(a, "--to") == 0 && v) {
      to = v;
      i++;
    } else if (strcmp(a, "--rtcp-to") == 0 && v) {
      rtcp_to = strtol(v, NULL, 10);
      i++;
    } else if (strcmp(a, "--rtcp-mux") == 0) {
      rtcp_mux = 1;
    } else if (strcmp(a, "--unencrypted-srtp") == 0) {
      flags.unenc_srtp = 1;
    } else if (strcmp(a, "--unencrypted-srtcp") == 0) {
      flags.unenc_srtcp = 1;
    } else if (strcmp(a, "--unauthenticated-srtp") == 0) {
      flags.unauth = 1;
    } else if (strcmp(a, "protect") == 0 || strcmp(a, "unprotect") == 0 || strcmp(a, "udp") == 0) {
      mode = a;
    } else {
      usage();
    }
  }
  if (suite == NULL || (mode == NULL && bench_n <= 0)) usage();
  if (srtp_init() != srtp_err_status_ok) {
    fprintf(stderr, "srtp_init failed\n");
    return 1;
  }
  if (finish_policy(&pp, suite, &flags) != 0) {
    fprintf(stderr, "bad suite, key length or MKI\n");
    return 2;
  }

  if (bench_n > 0) return bench(&pp, suite, bench_n, payload);

  if (strcmp(mode, "udp") == 0) {
    static udp_peer u;
    struct sockaddr_in at;
    u.mux = rtcp_mux;
    if (parse_addr(bind_at, &at) != 0) {
      fprintf(stderr, "bad --bind %s (A.B.C.D:PORT)\n", bind_at);
      return 2;
    }
    if (to != NULL) {
      if (parse_addr(to, &u.to_rtp) != 0 || rtcp_to == 0 || rtcp_to > 65535) {
        fprintf(stderr, "bad --to %s (A.B.C.D:PORT) or --rtcp-to\n", to);
        return 2;
      }
      u.to_rtcp = u.to_rtp;
      if (!u.mux)
        u.to_rtcp.sin_port = htons((uint16_t)(rtcp_to > 0 ? rtcp_to : ntohs(u.to_rtp.sin_port) + 1));
      u.have_to = 1;
    }
    pp.policy.ssrc.type = ssrc_any_outbound;
    st = create_ctx(&pp, suite, &u.tx, &u.tx_rtcp);
    if (st != srtp_err_status_ok) {
      fprintf(stderr, "srtp_create failed: %d\n", (int)st);
      return 1;
    }
    u.tx_mki = pp.mki_len > 0;
    if (rx_key != NULL && udp_rx_key(&u, suite, &flags, rx_key, rx_mki) != 0) {
      fprintf(stderr, "bad --rx-key / --rx-mki\n");
      return 2;
    }
    if (bind_pair(&u, &at) != 0) {
      fprintf(stderr, "cannot bind %s: %s\n", bind_at, strerror(errno));
      return 1;
    }
    i = udp_mode(&u, suite, &flags);
    if (u.have_rx) free_ctx(u.rx, u.rx_rtcp);
    free_ctx(u.tx, u.tx_rtcp);
    return i;
  }

  int outbound = strcmp(mode, "protect") == 0;
  if (pp.policy.ssrc.type == ssrc_undefined) pp.policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
  st = create_ctx(&pp, suite, &ctx, &rtcp_ctx);
  if (st != srtp_err_status_ok) {
    fprintf(stderr, "srtp_create failed: %d\n", (int)st);
    return 1;
  }
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--roc") == 0 && i + 1 < argc) {
      st = srtp_set_stream_roc(ctx, pp.policy.ssrc.value, (uint32_t)strtoul(argv[i + 1], NULL, 0));
      if (st != srtp_err_status_ok) {
        fprintf(stderr, "srtp_set_stream_roc failed: %d\n", (int)st);
        return 1;
      }
    }
  }

  while (fgets(line, sizeof(line), stdin) != NULL) {
    int rtcp, len;
    const char *hex;
    if (strncmp(line, "rtp ", 4) == 0) {
      rtcp = 0;
      hex = line + 4;
    } else if (strncmp(line, "rtcp ", 5) == 0) {
      rtcp = 1;
      hex = line + 5;
    } else {
      printf("ERR bad-line\n");
      fflush(stdout);
      continue;
    }
    len = from_hex(hex, pkt, MAX_PKT);
    if (len < 0) {
      printf("ERR bad-hex\n");
    } else {
      unsigned int use_mki = pp.mki_len > 0;
      if (outbound)
        st = rtcp ? srtp_protect_rtcp_mki(rtcp_ctx, pkt, &len, use_mki, 0) : srtp_protect_mki(ctx, pkt, &len, use_mki, 0);
      else
        st = rtcp ? srtp_unprotect_rtcp_mki(rtcp_ctx, pkt, &len, use_mki) : srtp_unprotect_mki(ctx, pkt, &len, use_mki);
      if (st == srtp_err_status_ok)
        print_hex(pkt, len);
      else
        printf("ERR %d\n", (int)st);
    }
    fflush(stdout);
  }
  free_ctx(ctx, rtcp_ctx);
  return 0;
}
