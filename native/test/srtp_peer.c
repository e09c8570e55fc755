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
 *
 * Suites: AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32 (SRTCP keeps the 80-bit tag, RFC 4568
 * §6.2.2), AEAD_AES_128_GCM, AEAD_AES_256_GCM. KEY is master key || master salt in hex.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
                  "                 (protect|unprotect | --bench N [--payload BYTES])\n");
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
  uint8_t *pkt = aligned_alloc(8, MAX_PKT);
  uint8_t *batch = aligned_alloc(8, (size_t)BATCH * 256);
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

int main(int argc, char **argv)
{
  peer_policy pp;
  const char *suite = NULL, *mode = NULL;
  long bench_n = 0;
  int payload = 160, want, i;
  int flag_unenc_srtp = 0, flag_unenc_srtcp = 0, flag_unauth = 0;
  srtp_t ctx, rtcp_ctx;
  srtp_err_status_t st;
  char line[2 * MAX_PKT + 16];
  static uint8_t pkt[MAX_PKT + 256];

  memset(&pp, 0, sizeof(pp));
  pp.policy.window_size = 128;
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
    } else if (strcmp(a, "--ssrc") == 0 && v) {
      pp.policy.ssrc.type = ssrc_specific;
      pp.policy.ssrc.value = (unsigned int)strtoul(v, NULL, 0);
      i++;
    } else if (strcmp(a, "--roc") == 0 && v) {
      /* applied after srtp_create, below */
      i++;
    } else if (strcmp(a, "--window") == 0 && v) {
      pp.policy.window_size = strtoul(v, NULL, 0);
      i++;
    } else if (strcmp(a, "--bench") == 0 && v) {
      bench_n = strtol(v, NULL, 0);
      i++;
    } else if (strcmp(a, "--payload") == 0 && v) {
      payload = atoi(v);
      i++;
    } else if (strcmp(a, "--unencrypted-srtp") == 0) {
      flag_unenc_srtp = 1;
    } else if (strcmp(a, "--unencrypted-srtcp") == 0) {
      flag_unenc_srtcp = 1;
    } else if (strcmp(a, "--unauthenticated-srtp") == 0) {
      flag_unauth = 1;
    } else if (strcmp(a, "protect") == 0 || strcmp(a, "unprotect") == 0) {
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
  want = set_suite(&pp, suite);
  if (want < 0 || pp.key_len != want || pp.mki_len < 0) {
    fprintf(stderr, "bad suite, key length or MKI\n");
    return 2;
  }
  if (flag_unenc_srtp) pp.policy.rtp.sec_serv &= ~sec_serv_conf;
  if (flag_unenc_srtcp) pp.policy.rtcp.sec_serv &= ~sec_serv_conf;
  if (flag_unauth) {
    pp.policy.rtp.auth_type = SRTP_NULL_AUTH;
    pp.policy.rtp.auth_key_len = 0;
    pp.policy.rtp.auth_tag_len = 0;
    pp.policy.rtp.sec_serv &= ~sec_serv_auth;
  }
  if (pp.mki_len > 0) {
    pp.mk.key = pp.key;
    pp.mk.mki_id = pp.mki;
    pp.mk.mki_size = (unsigned int)pp.mki_len;
    pp.mkp[0] = &pp.mk;
    pp.policy.keys = pp.mkp;
    pp.policy.num_master_keys = 1;
  } else {
    pp.policy.key = pp.key;
  }

  if (bench_n > 0) return bench(&pp, suite, bench_n, payload);

  int outbound = strcmp(mode, "protect") == 0;
  if (pp.policy.ssrc.type == ssrc_undefined) pp.policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
  st = srtp_create(&ctx, &pp.policy);
  if (st != srtp_err_status_ok) {
    fprintf(stderr, "srtp_create failed: %d\n", (int)st);
    return 1;
  }
  /*
   * libsrtp2 < the fix of cisco/libsrtp#733 finds an SRTCP packet's MKI one *SRTP* tag length from
   * the end: with AES_CM_128_HMAC_SHA1_32 (4 vs 10 octets) and an MKI, SRTCP unprotect fails with
   * bad_mki. As in trgwd's binding, SRTCP then runs on a context whose SRTP tag is 10 octets too.
   */
  rtcp_ctx = ctx;
  if (pp.mki_len > 0 && strcmp(suite, "AES_CM_128_HMAC_SHA1_32") == 0) {
    srtp_policy_t p2 = pp.policy;
    srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&p2.rtp);
    st = srtp_create(&rtcp_ctx, &p2);
    if (st != srtp_err_status_ok) {
      fprintf(stderr, "srtp_create (SRTCP) failed: %d\n", (int)st);
      return 1;
    }
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
  if (rtcp_ctx != ctx) srtp_dealloc(rtcp_ctx);
  srtp_dealloc(ctx);
  return 0;
}
