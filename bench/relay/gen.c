/*
 * RTP load generator and receiver for bench/relay.ts and bench/scale.ts (built with `cc -O2 -pthread`
 * at bench time by bench/relay/gen.ts). Written in C because it shares the machine with the relay
 * under test: Node.js dgram costs ~8.5 us of CPU per packet sent and received (measured on the
 * 2-core VM), this ~5 us, which leaves more of the machine to the relay.
 *
 * Endpoints: K UDP sockets bound on 127.0.0.1 (port 0). Each is a "phone": it sends RTP from the very
 * port it receives on, so latching relays (trgwd ipnapt/latch, rtpengine's symmetric RTP) and
 * non-latching ones both send back to it. A flow is one direction of one call leg: (socket, relay
 * address:port); its packets carry (magic, run, flow, seq, send time) after a 12-byte RTP header.
 *
 * Protocol (stdin lines in, one JSON line out per command):
 *   start: gen [SOCKETS [BUFBYTES [RX_POLL_US [HEADER_ONLY]]]]  -> {"ports":[p0,...]}
 *     RX_POLL_US (default 500): the receiver polls every that many us instead of blocking (0: blocks)
 *     HEADER_ONLY (default 0): 1 = everything the receiver needs is in the RTP header (flow + 1 in the
 *     SSRC, send time in µs in the timestamp), so the payload may arrive encrypted (SRTP out of the
 *     relay); the receiver takes the send time's high bits from its own clock, and a packet of an
 *     earlier run falls outside the measurement window (counted `outside`, not received).
 *   flows N   then N lines "S P"   -> {"flows":total}      flows appended: socket index S, dest port P
 *   run FIRST COUNT INTERVAL_US WARMUP_MS DURATION_MS DRAIN_MS SIZE PID WINDOW_MS TICK_US
 *                                  -> {"sent":...,"received":...,...}
 *     flows FIRST..FIRST+COUNT-1, each sending every INTERVAL_US, spread evenly over the interval;
 *     counted only while the send time is in [warm-up end, warm-up end + duration); the CPU time of
 *     process PID (utime+stime, /proc/PID/stat) is sampled at both ends of that window (PID 0: none).
 *   quit
 *
 * Latency = kernel receive timestamp on our socket (SO_TIMESTAMPNS) - send time taken just before
 * sendto(), both CLOCK_REALTIME: it is the relay's added latency plus two loopback hops, and excludes
 * how long our own receiver thread took to get to the packet.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define MAGIC 0x74726777u /* "trgw" */
#define HIST_US 200000    /* 1 us buckets up to 200 ms; beyond: overflow bucket */
#define WHIST 20000       /* window histograms: 10 us buckets up to 200 ms */
#define MAX_WINDOWS 128
#define BATCH 64
#define MAX_SIZE 1500

struct flow {
  int sock;
  struct sockaddr_in dst;
  uint32_t seq;
};

static int nsock;
static int *socks;
static struct flow *flows;
static uint32_t nflows, capflows;
/* Per-flow counters of the current run (sender writes sent, receiver writes recv). */
static uint32_t *sent_flow, *recv_flow;

static _Atomic uint32_t cur_run; /* 0: count nothing */
static int64_t m_start, m_end;   /* measurement window (send time, ns realtime) */
static int64_t window_ns;
static uint32_t *hist;      /* HIST_US + 1 */
static uint32_t *whist;     /* MAX_WINDOWS * (WHIST + 1) */
static _Atomic uint64_t r_received, r_stale, r_bad, r_outside, r_nots;
static int64_t r_max_ns;
static int rx_poll_us = 500; /* receiver: poll period (0: block in epoll_wait) */
static int header_only = 0; /* identity and send time in the RTP header only (payload may be SRTP) */

static int64_t now_real(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
static int64_t now_mono(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "gen: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* ---------------------------------------------------------------- receiver thread */

/* HEADER_ONLY: flow from the SSRC, send time (µs, low 32 bits) from the RTP timestamp. */
static int header_fields(const uint8_t *p, ssize_t n, int64_t rx, uint32_t *flow, int64_t *tx) {
  if (n < 12) return 0;
  uint32_t ssrc, ts;
  memcpy(&ssrc, p + 8, 4);
  memcpy(&ts, p + 4, 4);
  ssrc = ntohl(ssrc);
  ts = ntohl(ts);
  if (ssrc == 0) return 0;
  *flow = ssrc - 1;
  int64_t rx_us = rx / 1000;
  uint32_t back = (uint32_t)rx_us - ts; /* how long ago, mod 2^32 µs (~71 min) */
  *tx = (rx_us - (int64_t)back) * 1000;
  return 1;
}

/* A packet of flow `flow` sent at `tx`, received at `rx` (ns): into the histograms, if in the window. */
static void record(uint32_t flow, int64_t tx, int64_t rx) {
  if (tx < m_start || tx >= m_end) {
    atomic_fetch_add_explicit(&r_outside, 1, memory_order_relaxed);
    return;
  }
  int64_t d = rx - tx;
  if (d < 0) d = 0;
  int64_t us = d / 1000;
  hist[us < HIST_US ? us : HIST_US]++;
  int64_t w = (tx - m_start) / window_ns;
  if (w >= 0 && w < MAX_WINDOWS) {
    int64_t b = us / 10;
    whist[w * (WHIST + 1) + (b < WHIST ? b : WHIST)]++;
  }
  if (d > r_max_ns) r_max_ns = d;
  recv_flow[flow]++;
  atomic_fetch_add_explicit(&r_received, 1, memory_order_relaxed);
}

static void account(const uint8_t *p, ssize_t n, int64_t rx) {
  if (header_only) {
    uint32_t flow;
    int64_t tx;
    if (!header_fields(p, n, rx, &flow, &tx) || flow >= nflows) {
      atomic_fetch_add_explicit(&r_bad, 1, memory_order_relaxed);
      return;
    }
    record(flow, tx, rx);
    return;
  }
  if (n < 36) {
    atomic_fetch_add_explicit(&r_bad, 1, memory_order_relaxed);
    return;
  }
  uint32_t magic, run, flow;
  int64_t tx;
  memcpy(&magic, p + 12, 4);
  memcpy(&run, p + 16, 4);
  memcpy(&flow, p + 20, 4);
  memcpy(&tx, p + 28, 8);
  if (magic != MAGIC || flow >= nflows) {
    atomic_fetch_add_explicit(&r_bad, 1, memory_order_relaxed);
    return;
  }
  if (run != atomic_load_explicit(&cur_run, memory_order_acquire)) {
    atomic_fetch_add_explicit(&r_stale, 1, memory_order_relaxed);
    return;
  }
  record(flow, tx, rx);
}

static void *receiver(void *arg) {
  (void)arg;
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  for (int i = 0; i < nsock; i++) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, socks[i], &ev) < 0) die("epoll_ctl");
  }
  static uint8_t bufs[BATCH][MAX_SIZE];
  static uint8_t ctrl[BATCH][64];
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  struct epoll_event evs[256];
  for (;;) {
    /* Polling (rx_poll_us > 0): sleep, then take what is ready without blocking. Nobody waits in
       epoll_wait then, so a relay's sendto() into our sockets wakes no thread: on loopback that
       wake-up (an IPI on a VM) would be charged to the relay, although a relay sending to remote
       hosts never pays it. Latency is unaffected: it is taken from kernel receive timestamps. */
    if (rx_poll_us > 0) usleep((useconds_t)rx_poll_us);
    int n = epoll_wait(ep, evs, 256, rx_poll_us > 0 ? 0 : 200);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int e = 0; e < n; e++) {
      int fd = socks[evs[e].data.u32];
      for (;;) {
        for (int i = 0; i < BATCH; i++) {
          iov[i].iov_base = bufs[i];
          iov[i].iov_len = MAX_SIZE;
          memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
          msgs[i].msg_hdr.msg_iov = &iov[i];
          msgs[i].msg_hdr.msg_iovlen = 1;
          msgs[i].msg_hdr.msg_control = ctrl[i];
          msgs[i].msg_hdr.msg_controllen = sizeof ctrl[i];
        }
        int got = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (got <= 0) break;
        int64_t fallback = now_real();
        for (int i = 0; i < got; i++) {
          int64_t rx = 0;
          for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c != NULL; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
              struct timespec ts;
              memcpy(&ts, CMSG_DATA(c), sizeof ts);
              rx = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
            }
          }
          if (rx == 0) {
            rx = fallback;
            atomic_fetch_add_explicit(&r_nots, 1, memory_order_relaxed);
          }
          account(bufs[i], msgs[i].msg_len, rx);
        }
        if (got < BATCH) break;
      }
    }
  }
  return NULL;
}

/* ---------------------------------------------------------------- measurements */

/* utime and stime (seconds) of one process; false when it cannot be read. */
static int one_proc_cpu(int pid, double *user, double *sys) {
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (f == NULL) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (p == NULL) return 0;
  /* after ") ": state(3) ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime(14) stime(15) */
  unsigned long long ut = 0, st = 0;
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return 0;
  double hz = (double)sysconf(_SC_CLK_TCK);
  *user = (double)ut / hz;
  *sys = (double)st / hz;
  return 1;
}

/* utime and stime (seconds) of process PID and of its child processes (a daemon's relay worker
   processes: media.workerMode=process); both -1 when PID cannot be read. */
static void proc_cpu(int pid, double *user, double *sys) {
  *user = *sys = -1;
  if (pid <= 0 || !one_proc_cpu(pid, user, sys)) return;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task", pid);
  DIR *tasks = opendir(path);
  if (tasks == NULL) return;
  struct dirent *t;
  while ((t = readdir(tasks)) != NULL) {
    if (t->d_name[0] == '.') continue;
    char cpath[300];
    snprintf(cpath, sizeof cpath, "/proc/%d/task/%s/children", pid, t->d_name);
    FILE *f = fopen(cpath, "r");
    if (f == NULL) continue;
    int child;
    while (fscanf(f, "%d", &child) == 1) {
      double u, s;
      if (one_proc_cpu(child, &u, &s)) {
        *user += u;
        *sys += s;
      }
    }
    fclose(f);
  }
  closedir(tasks);
}

/* Busy, softirq and total jiffies of the whole host (/proc/stat "cpu" line). Softirq time (here: the
   loopback delivery of every datagram) is accounted apart from processes where the kernel has
   IRQ_TIME_ACCOUNTING, so it is reported on its own. */
static void host_cpu(unsigned long long *busy, unsigned long long *softirq, unsigned long long *total) {
  *busy = *softirq = *total = 0;
  FILE *f = fopen("/proc/stat", "r");
  if (f == NULL) return;
  unsigned long long v[10] = {0};
  if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
             &v[8], &v[9]) >= 8) {
    for (int i = 0; i < 8; i++) *total += v[i];
    *busy = *total - v[3] - v[4]; /* minus idle and iowait */
    *softirq = v[6];
  }
  fclose(f);
}

static double self_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Udp: InErrors and RcvbufErrors of the whole host (from /proc/net/snmp). */
static void udp_errors(uint64_t *in_errors, uint64_t *rcvbuf) {
  *in_errors = *rcvbuf = 0;
  FILE *f = fopen("/proc/net/snmp", "r");
  if (f == NULL) return;
  char head[1024], vals[1024];
  while (fgets(head, sizeof head, f) != NULL) {
    if (strncmp(head, "Udp: ", 5) != 0) continue;
    if (fgets(vals, sizeof vals, f) == NULL) break;
    char *hs, *vs;
    char *h = strtok_r(head + 5, " \n", &hs);
    char *v = strtok_r(vals + 5, " \n", &vs);
    while (h != NULL && v != NULL) {
      if (strcmp(h, "InErrors") == 0) *in_errors = strtoull(v, NULL, 10);
      if (strcmp(h, "RcvbufErrors") == 0) *rcvbuf = strtoull(v, NULL, 10);
      h = strtok_r(NULL, " \n", &hs);
      v = strtok_r(NULL, " \n", &vs);
    }
    break;
  }
  fclose(f);
}

/* Datagrams our own sockets dropped for lack of receive buffer (SO_MEMINFO). */
static uint64_t own_drops(void) {
  uint64_t total = 0;
  for (int i = 0; i < nsock; i++) {
    uint32_t mi[SK_MEMINFO_VARS];
    socklen_t len = sizeof mi;
    if (getsockopt(socks[i], SOL_SOCKET, SO_MEMINFO, mi, &len) == 0) total += mi[SK_MEMINFO_DROPS];
  }
  return total;
}

static double pct(const uint32_t *h, int n, uint64_t total, double q, double unit) {
  if (total == 0) return -1;
  uint64_t want = (uint64_t)(q * (double)total);
  if (want >= total) want = total - 1;
  uint64_t acc = 0;
  for (int i = 0; i <= n; i++) {
    acc += h[i];
    if (acc > want) return i * unit;
  }
  return n * unit;
}

/* ---------------------------------------------------------------- sender (main thread) */

static void sleep_until_mono(int64_t t) {
  struct timespec ts = {.tv_sec = t / 1000000000, .tv_nsec = t % 1000000000};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
  }
}

static uint32_t run_counter;

static void run(uint32_t first, uint32_t count, int64_t interval_us, int64_t warmup_ms, int64_t duration_ms, int64_t drain_ms,
                int size, int pid, int64_t window_ms, int64_t tick_us) {
  if (count == 0 || first + count > nflows || size < 36 || size > MAX_SIZE) {
    printf("{\"error\":\"bad run arguments\"}\n");
    fflush(stdout);
    return;
  }
  /* Quiesce the receiver, reset, then open the new run. */
  atomic_store_explicit(&cur_run, 0, memory_order_release);
  usleep(5000);
  memset(hist, 0, sizeof(uint32_t) * (HIST_US + 1));
  memset(whist, 0, sizeof(uint32_t) * MAX_WINDOWS * (WHIST + 1));
  memset(sent_flow, 0, sizeof(uint32_t) * nflows);
  memset(recv_flow, 0, sizeof(uint32_t) * nflows);
  atomic_store(&r_received, 0);
  atomic_store(&r_stale, 0);
  atomic_store(&r_bad, 0);
  atomic_store(&r_outside, 0);
  atomic_store(&r_nots, 0);
  r_max_ns = 0;
  uint32_t runid = ++run_counter;

  int64_t gap = interval_us * 1000 / count; /* ns between consecutive packets of the aggregate */
  if (gap <= 0) gap = 1;
  int64_t t0m = now_mono() + 2000000;
  int64_t t0r = now_real() + 2000000;
  m_start = t0r + warmup_ms * 1000000;
  m_end = m_start + duration_ms * 1000000;
  window_ns = window_ms * 1000000;
  int64_t end_m = t0m + (warmup_ms + duration_ms) * 1000000;
  atomic_store_explicit(&cur_run, runid, memory_order_release);

  uint8_t pkt[MAX_SIZE];
  memset(pkt, 0, sizeof pkt);
  pkt[0] = 0x80; /* RTP v2 */
  pkt[1] = 0;    /* PT 0 (PCMU) */
  memcpy(pkt + 12, &(uint32_t){MAGIC}, 4);
  memcpy(pkt + 16, &runid, 4);

  uint64_t k = 0, sent = 0, send_errors = 0;
  int64_t max_lag = 0;
  int started = 0;
  double u0 = 0, s0 = 0, u1 = 0, s1 = 0, g0 = 0, g1 = 0;
  unsigned long long hb0 = 0, hs0 = 0, ht0 = 0, hb1 = 0, hs1 = 0, ht1 = 0;
  uint64_t ie0 = 0, rb0 = 0, ie1 = 0, rb1 = 0, od0 = 0, od1 = 0;
  int64_t real_start = 0, real_end = 0;
  sleep_until_mono(t0m);
  for (;;) {
    int64_t now = now_mono();
    if (now >= end_m) break;
    if (!started && now >= t0m + warmup_ms * 1000000) {
      started = 1;
      proc_cpu(pid, &u0, &s0);
      host_cpu(&hb0, &hs0, &ht0);
      g0 = self_cpu_s();
      udp_errors(&ie0, &rb0);
      od0 = own_drops();
      real_start = now;
    }
    uint64_t due = (uint64_t)((now - t0m) / gap) + 1; /* now >= t0m here */
    if (due > k) {
      int64_t lag = now - (t0m + (int64_t)k * gap);
      if (lag > max_lag) max_lag = lag;
    }
    for (; k < due; k++) {
      uint32_t f = first + (uint32_t)(k % count);
      struct flow *fl = &flows[f];
      uint16_t seq16 = htons((uint16_t)fl->seq);
      uint32_t ts32 = htonl(fl->seq * 160);
      uint32_t ssrc = htonl(f + 1);
      memcpy(pkt + 2, &seq16, 2);
      memcpy(pkt + 4, &ts32, 4);
      memcpy(pkt + 8, &ssrc, 4);
      memcpy(pkt + 20, &f, 4);
      memcpy(pkt + 24, &fl->seq, 4);
      int64_t tx = now_real();
      memcpy(pkt + 28, &tx, 8);
      if (header_only) {
        uint32_t us32 = htonl((uint32_t)(tx / 1000));
        memcpy(pkt + 4, &us32, 4);
      }
      fl->seq++;
      if (sendto(socks[fl->sock], pkt, (size_t)size, 0, (struct sockaddr *)&fl->dst, sizeof fl->dst) < 0) {
        send_errors++;
        continue;
      }
      if (tx >= m_start && tx < m_end) {
        sent++;
        sent_flow[f]++;
      }
    }
    int64_t next = t0m + (int64_t)k * gap;
    int64_t min_next = now_mono() + tick_us * 1000;
    sleep_until_mono(next > min_next ? next : min_next);
  }
  real_end = now_mono();
  proc_cpu(pid, &u1, &s1);
  host_cpu(&hb1, &hs1, &ht1);
  g1 = self_cpu_s();
  sleep_until_mono(now_mono() + drain_ms * 1000000);
  udp_errors(&ie1, &rb1);
  od1 = own_drops();
  atomic_store_explicit(&cur_run, 0, memory_order_release);
  usleep(2000);

  uint64_t received = atomic_load(&r_received);
  double secs = (double)duration_ms / 1000.0;
  double wall = (double)(real_end - real_start) / 1e9;
  uint32_t silent = 0, silent_ids[8];
  for (uint32_t f = first; f < first + count; f++)
    if (sent_flow[f] > 0 && recv_flow[f] == 0) {
      if (silent < 8) silent_ids[silent] = f - first;
      silent++;
    }
  printf("{\"sent\":%" PRIu64 ",\"received\":%" PRIu64 ",\"seconds\":%.3f,\"sent_pps\":%.0f,\"received_pps\":%.0f,"
         "\"loss\":%.6f,\"p50_us\":%.0f,\"p90_us\":%.0f,\"p99_us\":%.0f,\"p999_us\":%.0f,\"max_us\":%.0f,"
         "\"target_cpu_s\":%.3f,\"target_user_s\":%.3f,\"target_sys_s\":%.3f,\"host_busy\":%.3f,\"host_softirq\":%.3f,\"gen_cpu_s\":%.3f,\"wall_s\":%.3f,\"send_errors\":%" PRIu64 ",\"max_send_lag_us\":%.0f,"
         "\"udp_in_errors\":%" PRIu64 ",\"udp_rcvbuf_errors\":%" PRIu64 ",\"gen_rcvbuf_drops\":%" PRIu64 ","
         "\"stale\":%" PRIu64 ",\"bad\":%" PRIu64 ",\"outside\":%" PRIu64 ",\"no_timestamp\":%" PRIu64 ",\"silent_flows\":%u,\"silent_first\":[",
         sent, received, secs, sent / secs, received / secs, sent > 0 ? 1.0 - (double)received / (double)sent : 0.0,
         pct(hist, HIST_US, received, 0.5, 1), pct(hist, HIST_US, received, 0.9, 1), pct(hist, HIST_US, received, 0.99, 1),
         pct(hist, HIST_US, received, 0.999, 1), r_max_ns / 1000.0, pid > 0 && u0 >= 0 && u1 >= 0 ? (u1 + s1) - (u0 + s0) : -1.0, pid > 0 ? u1 - u0 : -1.0, pid > 0 ? s1 - s0 : -1.0,
         ht1 > ht0 ? (double)(hb1 - hb0) / (double)(ht1 - ht0) : -1.0,
         ht1 > ht0 ? (double)(hs1 - hs0) / (double)(ht1 - ht0) : -1.0, g1 - g0, wall, send_errors,
         max_lag / 1000.0, ie1 - ie0, rb1 - rb0, od1 - od0, atomic_load(&r_stale), atomic_load(&r_bad), atomic_load(&r_outside),
         atomic_load(&r_nots), silent);
  for (uint32_t i = 0; i < silent && i < 8; i++) printf("%s%u", i > 0 ? "," : "", silent_ids[i]);
  printf("],\"windows\":[");
  int64_t nw = window_ns > 0 ? (duration_ms * 1000000 + window_ns - 1) / window_ns : 0;
  if (nw > MAX_WINDOWS) nw = MAX_WINDOWS;
  for (int64_t w = 0; w < nw; w++) {
    const uint32_t *h = whist + w * (WHIST + 1);
    uint64_t n = 0;
    for (int i = 0; i <= WHIST; i++) n += h[i];
    printf("%s{\"n\":%" PRIu64 ",\"p50_us\":%.0f,\"p99_us\":%.0f}", w > 0 ? "," : "", n, pct(h, WHIST, n, 0.5, 10),
           pct(h, WHIST, n, 0.99, 10));
  }
  printf("]}\n");
  fflush(stdout);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
  nsock = argc > 1 ? atoi(argv[1]) : 64;
  int bufbytes = argc > 2 ? atoi(argv[2]) : 4 << 20;
  if (argc > 3) rx_poll_us = atoi(argv[3]);
  if (argc > 4) header_only = atoi(argv[4]) != 0;
  if (nsock < 1 || nsock > 60000) {
    fprintf(stderr, "usage: gen [sockets] [bufbytes] [rx_poll_us] [header_only]\n");
    return 2;
  }
  prctl(PR_SET_TIMERSLACK, 1UL); /* wake-ups on time: pacing precision */
  socks = calloc((size_t)nsock, sizeof(int));
  hist = calloc(HIST_US + 1, sizeof(uint32_t));
  whist = calloc((size_t)MAX_WINDOWS * (WHIST + 1), sizeof(uint32_t));
  capflows = 1024;
  flows = calloc(capflows, sizeof(struct flow));
  sent_flow = calloc(capflows, sizeof(uint32_t));
  recv_flow = calloc(capflows, sizeof(uint32_t));
  printf("{\"ports\":[");
  for (int i = 0; i < nsock; i++) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (s < 0) die("socket");
    int one = 1;
    /* FORCE variants: beyond rmem_max/wmem_max when we may (CAP_NET_ADMIN), else the plain ones. */
    if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &bufbytes, sizeof bufbytes) < 0)
      setsockopt(s, SOL_SOCKET, SO_RCVBUF, &bufbytes, sizeof bufbytes);
    if (setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &bufbytes, sizeof bufbytes) < 0)
      setsockopt(s, SOL_SOCKET, SO_SNDBUF, &bufbytes, sizeof bufbytes);
    setsockopt(s, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    socklen_t len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    socks[i] = s;
    printf("%s%u", i > 0 ? "," : "", ntohs(a.sin_port));
  }
  printf("]}\n");
  fflush(stdout);
  pthread_t th;
  /* Flows are only appended while no run is going: the receiver reads nflows, never reallocated
     arrays under its feet (it is idle then, and the arrays are swapped before nflows grows). */
  if (pthread_create(&th, NULL, receiver, NULL) != 0) die("pthread_create");

  char line[512];
  while (fgets(line, sizeof line, stdin) != NULL) {
    if (strncmp(line, "flows ", 6) == 0) {
      uint32_t n = (uint32_t)strtoul(line + 6, NULL, 10);
      if (nflows + n > capflows) {
        uint32_t cap = capflows;
        while (nflows + n > cap) cap *= 2;
        struct flow *nf = calloc(cap, sizeof *nf);
        uint32_t *ns = calloc(cap, sizeof(uint32_t)), *nr = calloc(cap, sizeof(uint32_t));
        memcpy(nf, flows, nflows * sizeof *nf);
        /* Old arrays are leaked on purpose: the receiver may still hold a pointer for a moment. */
        flows = nf;
        sent_flow = ns;
        recv_flow = nr;
        capflows = cap;
      }
      for (uint32_t i = 0; i < n; i++) {
        if (fgets(line, sizeof line, stdin) == NULL) return 1;
        int s = 0, port = 0;
        if (sscanf(line, "%d %d", &s, &port) != 2 || s < 0 || s >= nsock || port <= 0 || port > 65535) {
          fprintf(stderr, "gen: bad flow line: %s", line);
          return 1;
        }
        struct flow *f = &flows[nflows + i];
        f->sock = s;
        f->dst.sin_family = AF_INET;
        f->dst.sin_port = htons((uint16_t)port);
        f->dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        f->seq = 0;
      }
      nflows += n;
      printf("{\"flows\":%u}\n", nflows);
      fflush(stdout);
    } else if (strncmp(line, "run ", 4) == 0) {
      unsigned long first, count;
      long long interval, warmup, duration, drain, window, tick;
      int size, pid;
      if (sscanf(line + 4, "%lu %lu %lld %lld %lld %lld %d %d %lld %lld", &first, &count, &interval, &warmup, &duration, &drain,
                 &size, &pid, &window, &tick) != 10) {
        printf("{\"error\":\"bad run line\"}\n");
        fflush(stdout);
        continue;
      }
      run((uint32_t)first, (uint32_t)count, interval, warmup, duration, drain, size, pid, window, tick);
    } else if (strncmp(line, "quit", 4) == 0) {
      break;
    }
  }
  return 0;
}
