/*
 * wirehub bench load generator: one native, single-threaded, epoll-driven WebSocket client
 * process that drives one or more servers on loopback. Built at bench time with the machine's
 * `cc` (bench/build.sh); tooling, not part of the product.
 *
 * Why native: the JavaScript runtimes' own WebSocket clients saturate a core at ~100k round
 * trips/s, below what a Bun server does; a generator must be faster than any server it drives.
 *
 * Protocols (--proto):
 *   raw  no subprotocol; the payload is the whole frame
 *   env  Sec-WebSocket-Protocol: wirehub.v1; waits for the `hello` frame; events
 *        {"t":"evt","e":"echo","d":"…"}, requests {"t":"req","id":N,"m":"echo","d":"…"}
 *   sio  Socket.IO v4 over Engine.IO v4 on WebSocket: waits for `0{…}`, sends `40`, waits for
 *        `40…`; events 42["echo","…"], acks 42N["rpc","…"] -> 43N["…"]; answers pings `2` with `3`
 *
 * Scenarios (--scenario):
 *   echo    --conns N, --inflight K per connection, --size S bytes: each reply sends the next
 *           message; replies come back in order, so each connection keeps a ring of send times.
 *   rpc     the same with request frames (env: req/res, sio: acks).
 *   fanout  --conns N, connection 0 publishes --broadcasts B (payload "B" + 8-digit sequence),
 *           at most --window W unfinished at a time; every other connection should get each one.
 *           With --rounds R it measures R such rounds (100 ms apart) and reports the median
 *           round by rate, whole (every figure from that one window), with all round rates.
 *   idle    open --conns N sessions, print {"event":"ready",…}, hold them until stdin closes
 *           or says anything (or --hold seconds pass), then report how many are still open.
 *   ramp    open up to --conns N sessions with at most --pending handshakes at a time, stop
 *           at the first failure, hold --hold seconds, report how many are still open.
 *
 * Output: progress on stderr, one JSON object on stdout at the end (for idle also a `ready`
 * line). CPU time of this process (getrusage) and of --server-pid (from /proc) over the
 * measured window are part of it, so the caller can tell which side was saturated.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum { P_RAW, P_ENV, P_SIO };
enum { S_ECHO, S_RPC, S_FANOUT, S_IDLE, S_RAMP };
enum { C_CONNECTING, C_HANDSHAKE, C_OPENING, C_SIO_WAIT40, C_READY, C_CLOSED };

typedef struct {
  int fd;
  int state;
  int port_idx;
  char *rbuf;
  size_t rlen, rcap;
  char *wbuf;
  size_t wlen, wcap;
  int want_out;
  uint64_t *ring; /* send times (ns) of messages in flight, in order */
  int rhead, rcount;
  uint64_t started_ns;
} conn_t;

/* ---- options ---- */
static const char *opt_host = "127.0.0.1";
static int opt_ports[16];
static int opt_nports = 0;
static const char *opt_path = "/";
static int opt_proto = P_RAW;
static int opt_scenario = S_ECHO;
static int opt_conns = 64;
static int opt_inflight = 16;
static int opt_size = 64;
static double opt_duration = 5.0;
static double opt_warmup = 1.0;
static int opt_broadcasts = 200;
static int opt_window = 200;
static int opt_warm_broadcasts = 20;
static int opt_rounds = 1;        /* fan-out: measured rounds of --broadcasts each; the median round is reported */
static int opt_srcs = 1;
static int opt_pending = 256;
static double opt_hold = 2.0;
static double opt_timeout = 60.0;
static int opt_server_pid = 0;
static const char *opt_query = "";

/* ---- state ---- */
static int ep;
static conn_t *conns;
static int n_open = 0, n_ready = 0, n_failed = 0, n_closed_by_peer = 0, n_started = 0;
static char fail_reason[256] = "";
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static int measuring = 0;
static uint64_t completed = 0;      /* round trips completed inside the window */
static uint64_t completed_all = 0;
static int sending = 1;
static uint64_t seq_counter = 1;   /* request ids */
static uint64_t st_waits = 0, st_events = 0, st_recvs = 0, st_sends = 0; /* syscall counts in the window */

/* latency histogram: 64 sub-buckets per power of two, in ns */
#define HB 64
static uint64_t hist[64 * HB];
static uint64_t hist_n = 0;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void hist_add(uint64_t v) {
  if (v < 1) v = 1;
  int msb = 63 - __builtin_clzll(v);
  int idx;
  if (msb < 6) idx = (int)v; /* exact below 64 ns */
  else idx = msb * HB + (int)((v >> (msb - 6)) & (HB - 1));
  hist[idx]++;
  hist_n++;
}

static double hist_q(double q) {
  if (hist_n == 0) return 0;
  uint64_t want = (uint64_t)(q * (double)hist_n);
  if (want >= hist_n) want = hist_n - 1;
  uint64_t acc = 0;
  for (int i = 0; i < 64 * HB; i++) {
    acc += hist[i];
    if (acc > want) {
      if (i < 6 * HB) return (double)i; /* tiny values: approximate */
      int msb = i / HB, sub = i % HB;
      uint64_t lo = ((uint64_t)HB + sub) << (msb - 6);
      uint64_t hi = ((uint64_t)HB + sub + 1) << (msb - 6);
      return (double)(lo + hi) / 2.0;
    }
  }
  return 0;
}

static double cpu_self(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double cpu_pid(int pid) {
  if (pid <= 0) return -1;
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  /* fields after ')': state(3) ... utime(14) stime(15) */
  unsigned long ut = 0, st = 0;
  int field = 2;
  for (char *q = p + 1; *q; q++) {
    if (*q == ' ') {
      field++;
      if (field == 14) ut = strtoul(q + 1, NULL, 10);
      if (field == 15) { st = strtoul(q + 1, NULL, 10); break; }
    }
  }
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Busy CPU seconds of the whole machine (all cores), from /proc/stat. */
static double cpu_machine(void) {
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return -1;
  unsigned long long v[8] = {0};
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  if (n < 4) return -1;
  /* user, nice, system, steal: irq and softirq are left out, since loopback TCP work of the
     bench itself is accounted there rather than to its processes */
  unsigned long long busy = v[0] + v[1] + v[2] + v[7];
  return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

static long rss_pid(int pid) {
  if (pid <= 0) return -1;
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long kb = -1;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "VmRSS:", 6) == 0) { kb = strtol(line + 6, NULL, 10); break; }
  }
  fclose(f);
  return kb;
}

static uint32_t xrand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)rng;
}

/* ---- buffers ---- */
static void wreserve(conn_t *c, size_t extra) {
  if (c->wlen + extra <= c->wcap) return;
  size_t cap = c->wcap ? c->wcap : 1024;
  while (cap < c->wlen + extra) cap *= 2;
  c->wbuf = realloc(c->wbuf, cap);
  c->wcap = cap;
}

static void rreserve(conn_t *c, size_t extra) {
  if (c->rlen + extra <= c->rcap) return;
  size_t cap = c->rcap ? c->rcap : 4096;
  while (cap < c->rlen + extra) cap *= 2;
  c->rbuf = realloc(c->rbuf, cap);
  c->rcap = cap;
}

/* Append one masked client frame (RFC 6455 §5.3) to the connection's output buffer. */
static void put_frame(conn_t *c, int opcode, const char *data, size_t len) {
  wreserve(c, len + 14);
  unsigned char *p = (unsigned char *)c->wbuf + c->wlen;
  size_t h = 0;
  p[h++] = 0x80 | (unsigned char)opcode;
  if (len < 126) p[h++] = 0x80 | (unsigned char)len;
  else if (len < 65536) { p[h++] = 0x80 | 126; p[h++] = (unsigned char)(len >> 8); p[h++] = (unsigned char)len; }
  else { p[h++] = 0x80 | 127; for (int i = 7; i >= 0; i--) p[h++] = (unsigned char)((uint64_t)len >> (8 * i)); }
  uint32_t m = xrand();
  unsigned char mask[4] = {(unsigned char)m, (unsigned char)(m >> 8), (unsigned char)(m >> 16), (unsigned char)(m >> 24)};
  memcpy(p + h, mask, 4);
  h += 4;
  for (size_t i = 0; i < len; i++) p[h + i] = (unsigned char)data[i] ^ mask[i & 3];
  c->wlen += h + len;
}

static void set_events(conn_t *c, int out) {
  if (c->want_out == out) return;
  struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.u32 = (uint32_t)(c - conns)};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
  c->want_out = out;
}

static void conn_fail(conn_t *c, const char *why, int by_peer);

static void flush(conn_t *c) {
  while (c->wlen > 0) {
    ssize_t n = send(c->fd, c->wbuf, c->wlen, MSG_NOSIGNAL);
    st_sends++;
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) { set_events(c, 1); return; }
      if (errno == EINTR) continue;
      conn_fail(c, strerror(errno), 1);
      return;
    }
    memmove(c->wbuf, c->wbuf + n, c->wlen - (size_t)n);
    c->wlen -= (size_t)n;
  }
  set_events(c, 0);
}

/* ---- messages ---- */
static char *payload;       /* echo payload: 'x' * size */
static char *msgbuf;        /* scratch for frames */

static void send_request(conn_t *c, uint64_t t) {
  size_t len;
  if (opt_scenario == S_RPC) {
    uint64_t id = seq_counter++;
    if (opt_proto == P_ENV) len = (size_t)sprintf(msgbuf, "{\"t\":\"req\",\"id\":%llu,\"m\":\"echo\",\"d\":\"%s\"}", (unsigned long long)id, payload);
    else if (opt_proto == P_SIO) len = (size_t)sprintf(msgbuf, "42%llu[\"rpc\",\"%s\"]", (unsigned long long)id, payload);
    else { memcpy(msgbuf, payload, (size_t)opt_size); len = (size_t)opt_size; }
  } else {
    if (opt_proto == P_ENV) len = (size_t)sprintf(msgbuf, "{\"t\":\"evt\",\"e\":\"echo\",\"d\":\"%s\"}", payload);
    else if (opt_proto == P_SIO) len = (size_t)sprintf(msgbuf, "42[\"echo\",\"%s\"]", payload);
    else { memcpy(msgbuf, payload, (size_t)opt_size); len = (size_t)opt_size; }
  }
  put_frame(c, 1, msgbuf, len);
  int slot = (c->rhead + c->rcount) % opt_inflight;
  c->ring[slot] = t;
  c->rcount++;
}

static void send_broadcast(conn_t *c, uint64_t seq) {
  char body[64];
  int bl = snprintf(body, sizeof body, "B%08llu", (unsigned long long)seq);
  /* pad to --size with 'x' */
  static char *pl;
  if (!pl) pl = malloc((size_t)opt_size + 64);
  memcpy(pl, body, (size_t)bl);
  int total = opt_size > bl ? opt_size : bl;
  memset(pl + bl, 'x', (size_t)(total - bl));
  pl[total] = 0;
  size_t len;
  if (opt_proto == P_ENV) len = (size_t)sprintf(msgbuf, "{\"t\":\"evt\",\"e\":\"bcast\",\"d\":\"%s\"}", pl);
  else if (opt_proto == P_SIO) len = (size_t)sprintf(msgbuf, "42[\"bcast\",\"%s\"]", pl);
  else { memcpy(msgbuf, pl, (size_t)total); len = (size_t)total; }
  put_frame(c, 1, msgbuf, len);
}

/* fan-out bookkeeping */
static int fan_total = 0;          /* broadcasts to send in this phase */
static int fan_sent = 0, fan_done = 0;
static uint64_t *fan_sent_at;      /* per sequence number */
static int *fan_count;             /* deliveries per sequence number */
static uint64_t fan_deliveries = 0;
static uint64_t fan_first_send = 0, fan_last_done = 0;
static int fan_base = 0;           /* first sequence number of the phase */
static int fan_expected = 0;       /* deliveries per broadcast */

static void fan_pump(uint64_t t) {
  conn_t *pub = &conns[0];
  while (fan_sent < fan_total && fan_sent - fan_done < opt_window) {
    int seq = fan_base + fan_sent;
    fan_sent_at[seq] = t;
    if (fan_sent == 0) fan_first_send = t;
    send_broadcast(pub, (uint64_t)seq);
    fan_sent++;
  }
  flush(pub);
}

static void on_delivery(int seq, uint64_t t) {
  if (seq < fan_base || seq >= fan_base + fan_total) return;
  fan_count[seq]++;
  fan_deliveries++;
  if (fan_count[seq] == fan_expected) {
    fan_done++;
    hist_add(t - fan_sent_at[seq]);
    fan_last_done = t;
  }
}

/* One complete data message arrived on a ready connection. */
static void on_message(conn_t *c, const char *d, size_t len, uint64_t t) {
  if (opt_proto == P_SIO) {
    if (len == 1 && d[0] == '2') { put_frame(c, 1, "3", 1); return; } /* Engine.IO ping */
    if (len >= 1 && d[0] != '4') return;
  }
  if (opt_proto == P_ENV && len >= 11 && memcmp(d, "{\"t\":\"ping\"", 11) == 0) { /* app-level ping (Deno) */
    char pong[256];
    size_t pl = len < sizeof pong ? len : sizeof pong;
    memcpy(pong, d, pl);
    memcpy(pong + 6, "pong", 4);
    put_frame(c, 1, pong, pl);
    return;
  }
  if (opt_scenario == S_FANOUT) {
    const char *b = memchr(d, 'B', len);
    if (b && (size_t)(d + len - b) >= 9) {
      int seq = 0;
      for (int i = 1; i <= 8; i++) seq = seq * 10 + (b[i] - '0');
      on_delivery(seq, t);
    }
    return;
  }
  if (opt_scenario == S_ECHO || opt_scenario == S_RPC) {
    if (opt_proto == P_ENV && len > 6 && memcmp(d, "{\"t\":\"err", 9 < len ? 9 : len) == 0) {
      fprintf(stderr, "loadgen: server error frame: %.*s\n", (int)(len > 200 ? 200 : len), d);
    }
    if (c->rcount == 0) return; /* not a reply */
    uint64_t sent = c->ring[c->rhead];
    c->rhead = (c->rhead + 1) % opt_inflight;
    c->rcount--;
    completed_all++;
    if (measuring) {
      completed++;
      hist_add(t - sent);
    }
    if (sending) send_request(c, t);
  }
}

static void became_ready(conn_t *c) {
  c->state = C_READY;
  n_ready++;
}

static void handle_frame(conn_t *c, int opcode, const char *d, size_t len, uint64_t t) {
  if (opcode == 0x8) { conn_fail(c, "closed by server", 1); return; }
  if (opcode == 0x9) { put_frame(c, 0xA, d, len); return; }
  if (opcode == 0xA) return;
  switch (c->state) {
    case C_OPENING: /* waiting for the first frame: hello (env) or the Engine.IO open packet (sio) */
      if (opt_proto == P_ENV) {
        if (len >= 11 && memcmp(d, "{\"t\":\"hello", 11) == 0) became_ready(c);
        else { conn_fail(c, "expected hello", 0); }
      } else if (opt_proto == P_SIO) {
        if (len >= 1 && d[0] == '0') { put_frame(c, 1, "40", 2); c->state = C_SIO_WAIT40; }
        else conn_fail(c, "expected engine.io open", 0);
      }
      return;
    case C_SIO_WAIT40:
      if (len >= 2 && d[0] == '4' && d[1] == '0') became_ready(c);
      else if (len == 1 && d[0] == '2') put_frame(c, 1, "3", 1);
      return;
    case C_READY:
      on_message(c, d, len, t);
      return;
  }
}

/* Parse every complete server frame in the read buffer. Server frames are not masked. */
static void parse_frames(conn_t *c, uint64_t t) {
  size_t off = 0;
  while (c->state != C_CLOSED) {
    size_t avail = c->rlen - off;
    if (avail < 2) break;
    unsigned char *p = (unsigned char *)c->rbuf + off;
    int opcode = p[0] & 0x0F;
    int masked = p[1] & 0x80;
    uint64_t len = p[1] & 0x7F;
    size_t h = 2;
    if (len == 126) { if (avail < 4) break; len = ((uint64_t)p[2] << 8) | p[3]; h = 4; }
    else if (len == 127) { if (avail < 10) break; len = 0; for (int i = 0; i < 8; i++) len = (len << 8) | p[2 + i]; h = 10; }
    if (masked) h += 4;
    if (avail < h + len) break;
    handle_frame(c, opcode, (const char *)p + h, (size_t)len, t);
    off += h + (size_t)len;
  }
  if (c->state == C_CLOSED) return;
  if (off > 0) {
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
  }
}

static char handshake_req[1024];
static size_t handshake_len[16];
static char handshake_reqs[16][1024];

static void parse_handshake(conn_t *c, uint64_t t) {
  char *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
  if (!end) {
    if (c->rlen > 16384) conn_fail(c, "handshake response too long", 0);
    return;
  }
  if (c->rlen < 12 || memcmp(c->rbuf, "HTTP/1.1 101", 12) != 0) {
    char line[128];
    size_t l = 0;
    while (l < c->rlen && l < sizeof line - 1 && c->rbuf[l] != '\r') { line[l] = c->rbuf[l]; l++; }
    line[l] = 0;
    conn_fail(c, line, 0);
    return;
  }
  size_t hl = (size_t)(end - c->rbuf) + 4;
  memmove(c->rbuf, c->rbuf + hl, c->rlen - hl);
  c->rlen -= hl;
  if (opt_proto == P_RAW) became_ready(c);
  else c->state = C_OPENING;
  parse_frames(c, t);
}

static void conn_fail(conn_t *c, const char *why, int by_peer) {
  if (c->state == C_CLOSED) return;
  int was_ready = c->state == C_READY;
  if (was_ready) n_ready--;
  if (c->state != C_CONNECTING) n_open--; else n_open--;
  if (was_ready && by_peer) n_closed_by_peer++;
  if (!was_ready) {
    n_failed++;
    if (!fail_reason[0]) snprintf(fail_reason, sizeof fail_reason, "%s", why);
  } else if (!fail_reason[0]) {
    snprintf(fail_reason, sizeof fail_reason, "session closed: %s", why);
  }
  c->state = C_CLOSED;
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  struct linger lg = {1, 0};
  setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(c->fd);
  c->fd = -1;
}

static void on_readable(conn_t *c, uint64_t t) {
  for (;;) {
    rreserve(c, 65536);
    ssize_t n = recv(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen, 0);
    st_recvs++;
    if (n > 0) {
      c->rlen += (size_t)n;
      if (c->state == C_HANDSHAKE) parse_handshake(c, t);
      else parse_frames(c, t);
      if (c->state == C_CLOSED) return;
      if ((size_t)n < 65536) break; /* probably drained; epoll is level-triggered anyway */
      continue;
    }
    if (n == 0) { conn_fail(c, "connection closed", 1); return; }
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    if (errno == EINTR) continue;
    conn_fail(c, strerror(errno), 1);
    return;
  }
  if (c->wlen) flush(c);
  if (c->rcap > 262144 && c->rlen < 4096) { /* give back a buffer a burst grew */
    c->rbuf = realloc(c->rbuf, 4096 > c->rlen ? 4096 : c->rlen);
    c->rcap = 4096;
  }
}

static void on_connected(conn_t *c) {
  int err = 0;
  socklen_t el = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
  if (err) { conn_fail(c, strerror(err), 0); return; }
  c->state = C_HANDSHAKE;
  wreserve(c, handshake_len[c->port_idx]);
  memcpy(c->wbuf + c->wlen, handshake_reqs[c->port_idx], handshake_len[c->port_idx]);
  c->wlen += handshake_len[c->port_idx];
  flush(c);
}

static int start_conn(int i) {
  conn_t *c = &conns[i];
  memset(c, 0, sizeof *c);
  c->port_idx = i % opt_nports;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0) {
    c->state = C_CLOSED;
    n_failed++;
    if (!fail_reason[0]) snprintf(fail_reason, sizeof fail_reason, "socket: %s", strerror(errno));
    return -1;
  }
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  if (opt_srcs > 1) {
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sa.sin_addr.s_addr = htonl(0x7F000001u + 1u + (uint32_t)(i % opt_srcs)); /* 127.0.0.2, .3, … */
    if (bind(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
      close(c->fd);
      c->state = C_CLOSED;
      n_failed++;
      if (!fail_reason[0]) snprintf(fail_reason, sizeof fail_reason, "bind: %s", strerror(errno));
      return -1;
    }
  }
  struct sockaddr_in da = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt_ports[c->port_idx])};
  inet_pton(AF_INET, opt_host, &da.sin_addr);
  c->state = C_CONNECTING;
  c->started_ns = now_ns();
  n_open++;
  n_started++;
  if (opt_inflight > 0 && (opt_scenario == S_ECHO || opt_scenario == S_RPC)) c->ring = calloc((size_t)opt_inflight, sizeof(uint64_t));
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u32 = (uint32_t)i};
  c->want_out = 1;
  epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  int r = connect(c->fd, (struct sockaddr *)&da, sizeof da);
  if (r < 0 && errno != EINPROGRESS) {
    conn_fail(c, strerror(errno), 0);
    return -1;
  }
  return 0;
}

/* ---- event loop ---- */
static struct epoll_event events[4096];

static void poll_once(int timeout_ms) {
  int n = epoll_wait(ep, events, 4096, timeout_ms);
  st_waits++;
  if (n <= 0) return;
  st_events += (uint64_t)n;
  uint64_t t = now_ns();
  for (int k = 0; k < n; k++) {
    conn_t *c = &conns[events[k].data.u32];
    if (c->state == C_CLOSED) continue;
    uint32_t e = events[k].events;
    if (c->state == C_CONNECTING) {
      if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_connected(c);
      continue;
    }
    if (e & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c, t);
    if (c->state != C_CLOSED && (e & EPOLLOUT) && c->wlen) flush(c);
  }
}

static volatile sig_atomic_t stop_flag = 0;
static void on_sig(int s) { (void)s; stop_flag = 1; }

static double secs(uint64_t ns) { return (double)ns / 1e9; }

/* Open `target` connections (all at once, but at most --pending unfinished handshakes). */
static int open_all(int target, int stop_on_fail, double timeout) {
  uint64_t deadline = now_ns() + (uint64_t)(timeout * 1e9);
  int next = n_started;
  uint64_t last_report = now_ns();
  while (!stop_flag) {
    while (next < target && (n_open - n_ready) < opt_pending && !(stop_on_fail && n_failed > 0)) start_conn(next++);
    if (n_ready + n_failed + n_closed_by_peer >= target || (stop_on_fail && n_failed > 0)) break;
    if (now_ns() > deadline) {
      if (!fail_reason[0]) snprintf(fail_reason, sizeof fail_reason, "timed out opening sessions");
      break;
    }
    poll_once(50);
    if (now_ns() - last_report > 2000000000ull) {
      /* a handshake pending for 10 s counts as a failure (a server out of file descriptors
         leaves connections in its accept queue without ever answering) */
      uint64_t old = now_ns() - 10000000000ull;
      for (int i = 0; i < next; i++) {
        conn_t *c = &conns[i];
        if (c->state != C_CLOSED && c->state != C_READY && c->started_ns < old) conn_fail(c, "handshake timed out (10 s)", 0);
      }
      fprintf(stderr, "loadgen: %d ready, %d pending, %d failed\n", n_ready, n_open - n_ready, n_failed);
      last_report = now_ns();
    }
  }
  /* Give up on handshakes still pending (ramp stops at the first failure). */
  for (int i = 0; i < next; i++) {
    conn_t *c = &conns[i];
    if (c->state != C_CLOSED && c->state != C_READY) conn_fail(c, "abandoned", 0);
  }
  return n_ready;
}

static void close_all(void) {
  for (int i = 0; i < n_started; i++) {
    conn_t *c = &conns[i];
    if (c->state == C_CLOSED || c->fd < 0) continue;
    struct linger lg = {1, 0}; /* RST: no TIME_WAIT left behind on the source ports */
    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(c->fd);
    c->fd = -1;
    c->state = C_CLOSED;
  }
}

static double m0_cpu = 0, m1_cpu = 0; /* machine busy seconds at the window's start and end */
static void print_common(FILE *f, double wall, double gen_cpu, double srv_cpu) {
  double other = (m1_cpu - m0_cpu) - gen_cpu - (srv_cpu > 0 ? srv_cpu : 0);
  fprintf(f, "\"other_util\":%.3f,", wall > 0 ? other / wall : 0);
  fprintf(f, "\"gen_waits\":%llu,\"gen_events\":%llu,\"gen_recvs\":%llu,\"gen_sends\":%llu,",
         (unsigned long long)st_waits, (unsigned long long)st_events, (unsigned long long)st_recvs, (unsigned long long)st_sends);
  fprintf(f, "\"wall_s\":%.4f,\"gen_cpu_s\":%.4f,\"server_cpu_s\":%.4f,\"gen_util\":%.3f,\"server_util\":%.3f,",
         wall, gen_cpu, srv_cpu, wall > 0 ? gen_cpu / wall : 0, wall > 0 && srv_cpu >= 0 ? srv_cpu / wall : -1);
}

static void usage(void) {
  fprintf(stderr, "usage: loadgen --port P[,P2] [--proto raw|env|sio] [--scenario echo|rpc|fanout|idle|ramp] [--conns N] ...\n");
  exit(2);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define OPT(name) (strcmp(a, name) == 0 && v && ++i)
    if (OPT("--host")) opt_host = v;
    else if (OPT("--port")) {
      char *s = strdup(v), *tok = strtok(s, ",");
      while (tok && opt_nports < 16) { opt_ports[opt_nports++] = atoi(tok); tok = strtok(NULL, ","); }
    } else if (OPT("--path")) opt_path = v;
    else if (OPT("--query")) opt_query = v;
    else if (OPT("--proto")) opt_proto = strcmp(v, "env") == 0 ? P_ENV : strcmp(v, "sio") == 0 ? P_SIO : P_RAW;
    else if (OPT("--scenario")) opt_scenario = strcmp(v, "rpc") == 0 ? S_RPC : strcmp(v, "fanout") == 0 ? S_FANOUT : strcmp(v, "idle") == 0 ? S_IDLE : strcmp(v, "ramp") == 0 ? S_RAMP : S_ECHO;
    else if (OPT("--conns")) opt_conns = atoi(v);
    else if (OPT("--inflight")) opt_inflight = atoi(v);
    else if (OPT("--size")) opt_size = atoi(v);
    else if (OPT("--duration")) opt_duration = atof(v);
    else if (OPT("--warmup")) opt_warmup = atof(v);
    else if (OPT("--broadcasts")) opt_broadcasts = atoi(v);
    else if (OPT("--window")) opt_window = atoi(v);
    else if (OPT("--warm-broadcasts")) opt_warm_broadcasts = atoi(v);
    else if (OPT("--rounds")) opt_rounds = atoi(v) > 64 ? 64 : atoi(v);
    else if (OPT("--srcs")) opt_srcs = atoi(v);
    else if (OPT("--pending")) opt_pending = atoi(v);
    else if (OPT("--hold")) opt_hold = atof(v);
    else if (OPT("--timeout")) opt_timeout = atof(v);
    else if (OPT("--server-pid")) opt_server_pid = atoi(v);
    else usage();
  }
  if (opt_nports == 0 || opt_conns < 1 || opt_size < 1 || opt_size > 60000 || opt_inflight < 1) usage();
  signal(SIGPIPE, SIG_IGN);
  signal(SIGTERM, on_sig);
  signal(SIGINT, on_sig);

  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < (rlim_t)opt_conns + 64) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < (rlim_t)opt_conns + 64) fprintf(stderr, "loadgen: warning: open file limit %llu is below --conns\n", (unsigned long long)rl.rlim_cur);
  }

  payload = malloc((size_t)opt_size + 1);
  memset(payload, 'x', (size_t)opt_size);
  payload[opt_size] = 0;
  msgbuf = malloc((size_t)opt_size * 2 + 8192);
  conns = calloc((size_t)opt_conns, sizeof(conn_t));
  ep = epoll_create1(0);
  for (int p = 0; p < opt_nports; p++) {
    const char *proto_hdr = opt_proto == P_ENV ? "Sec-WebSocket-Protocol: wirehub.v1\r\n" : "";
    handshake_len[p] = (size_t)snprintf(handshake_reqs[p], sizeof handshake_reqs[p],
      "GET %s%s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
      opt_path, opt_query, opt_host, opt_ports[p], proto_hdr);
  }
  (void)handshake_req;

  uint64_t t0 = now_ns();
  if (opt_scenario == S_RAMP) {
    int held = open_all(opt_conns, 1, opt_timeout);
    double open_s = secs(now_ns() - t0);
    long rss = rss_pid(opt_server_pid);
    fprintf(stderr, "loadgen: ramp opened %d (failed %d: %s) in %.1fs; holding %.1fs\n", held, n_failed, fail_reason, open_s, opt_hold);
    uint64_t hold_end = now_ns() + (uint64_t)(opt_hold * 1e9);
    while (!stop_flag && now_ns() < hold_end) poll_once(50);
    int still = n_ready;
    long rss2 = rss_pid(opt_server_pid);
    printf("{\"scenario\":\"ramp\",\"attempted\":%d,\"opened\":%d,\"held\":%d,\"failed\":%d,\"closed_by_peer\":%d,\"open_s\":%.3f,\"server_rss_kb\":%ld,\"fail_reason\":\"",
           n_started, held, still, n_failed, n_closed_by_peer, open_s, rss2 > rss ? rss2 : rss);
    for (const char *q = fail_reason; *q; q++) if (*q != '"' && *q != '\\') putchar(*q);
    printf("\"}\n");
    fflush(stdout);
    close_all();
    return 0;
  }

  if (opt_scenario == S_IDLE) {
    open_all(opt_conns, 0, opt_timeout);
    printf("{\"event\":\"ready\",\"ready\":%d,\"failed\":%d,\"open_s\":%.3f}\n", n_ready, n_failed, secs(now_ns() - t0));
    fflush(stdout);
    uint64_t hold_end = now_ns() + (uint64_t)(opt_hold * 1e9);
    struct epoll_event sev = {.events = EPOLLIN, .data.u32 = 0xFFFFFFFFu};
    int fl = fcntl(0, F_GETFL);
    fcntl(0, F_SETFL, fl | O_NONBLOCK);
    int stdin_ep = epoll_create1(0);
    epoll_ctl(stdin_ep, EPOLL_CTL_ADD, 0, &sev);
    while (!stop_flag && now_ns() < hold_end) {
      poll_once(20);
      struct epoll_event se;
      if (epoll_wait(stdin_ep, &se, 1, 0) > 0) break; /* any input or EOF: done */
    }
    printf("{\"scenario\":\"idle\",\"ready\":%d,\"held\":%d,\"failed\":%d,\"closed_by_peer\":%d,\"fail_reason\":\"", n_started - n_failed, n_ready, n_failed, n_closed_by_peer);
    for (const char *q = fail_reason; *q; q++) if (*q != '"' && *q != '\\') putchar(*q);
    printf("\"}\n");
    fflush(stdout);
    close_all();
    return 0;
  }

  int ready = open_all(opt_conns, 0, opt_timeout);
  if (ready < opt_conns) {
    printf("{\"error\":\"only %d of %d sessions opened: ", ready, opt_conns);
    for (const char *q = fail_reason; *q; q++) if (*q != '"' && *q != '\\') putchar(*q);
    printf("\"}\n");
    close_all();
    return 1;
  }
  fprintf(stderr, "loadgen: %d sessions open in %.2fs\n", ready, secs(now_ns() - t0));

  if (opt_scenario == S_ECHO || opt_scenario == S_RPC) {
    uint64_t t = now_ns();
    for (int i = 0; i < opt_conns; i++) {
      for (int k = 0; k < opt_inflight; k++) send_request(&conns[i], t);
      flush(&conns[i]);
    }
    uint64_t warm_end = t + (uint64_t)(opt_warmup * 1e9);
    while (!stop_flag && now_ns() < warm_end && n_closed_by_peer == 0) poll_once(10);
    double g0 = cpu_self(), s0 = cpu_pid(opt_server_pid);
    m0_cpu = cpu_machine();
    uint64_t w0 = now_ns();
    st_waits = st_events = st_recvs = st_sends = 0;
    measuring = 1;
    uint64_t w_end = w0 + (uint64_t)(opt_duration * 1e9);
    while (!stop_flag && now_ns() < w_end && n_closed_by_peer == 0) poll_once(10);
    measuring = 0;
    uint64_t w1 = now_ns();
    double g1 = cpu_self(), s1 = cpu_pid(opt_server_pid);
    m1_cpu = cpu_machine();
    sending = 0;
    double wall = secs(w1 - w0);
    printf("{\"scenario\":\"%s\",\"conns\":%d,\"inflight\":%d,\"size\":%d,\"completed\":%llu,\"rate\":%.1f,",
           opt_scenario == S_RPC ? "rpc" : "echo", opt_conns, opt_inflight, opt_size, (unsigned long long)completed, completed / wall);
    print_common(stdout, wall, g1 - g0, s0 >= 0 && s1 >= 0 ? s1 - s0 : -1);
    printf("\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"closed_by_peer\":%d}\n",
           hist_q(0.50) / 1e3, hist_q(0.99) / 1e3, hist_q(0.99999) / 1e3, n_closed_by_peer);
    fflush(stdout);
    close_all();
    return n_closed_by_peer ? 1 : 0;
  }

  /* fan-out */
  fan_expected = opt_conns - 1;
  int rounds = opt_rounds < 1 ? 1 : opt_rounds;
  int total_seq = opt_warm_broadcasts + opt_broadcasts * rounds;
  fan_sent_at = calloc((size_t)total_seq + 1, sizeof(uint64_t));
  fan_count = calloc((size_t)total_seq + 1, sizeof(int));
  char **lines = calloc((size_t)rounds, sizeof(char *));
  double *rates = calloc((size_t)rounds, sizeof(double));
  /* A raw client is ready at the 101, but some hosts run the server's open handler (where the
     session joins the group) a little later: give them a moment before broadcasting. */
  { uint64_t settle = now_ns() + 300000000ull; while (!stop_flag && now_ns() < settle) poll_once(10); }
  /* a warm-up phase (bounded: at most 10 s), then the measured rounds of --broadcasts each */
  for (int phase = 0; phase <= rounds; phase++) {
    fan_base = phase == 0 ? 0 : opt_warm_broadcasts + (phase - 1) * opt_broadcasts;
    fan_total = phase == 0 ? opt_warm_broadcasts : opt_broadcasts;
    if (fan_total == 0) continue;
    fan_sent = fan_done = 0;
    fan_deliveries = 0;
    st_waits = st_events = st_recvs = st_sends = 0;
    memset(hist, 0, sizeof hist);
    hist_n = 0;
    double g0 = cpu_self(), s0 = cpu_pid(opt_server_pid);
    m0_cpu = cpu_machine();
    uint64_t w0 = now_ns();
    uint64_t deadline = w0 + (uint64_t)((phase == 0 && opt_timeout > 10 ? 10 : opt_timeout) * 1e9);
    fan_pump(w0);
    while (!stop_flag && fan_done < fan_total && now_ns() < deadline && n_closed_by_peer == 0) {
      poll_once(10);
      if (fan_sent < fan_total) fan_pump(now_ns());
    }
    uint64_t w1 = now_ns();
    double g1 = cpu_self(), s1 = cpu_pid(opt_server_pid);
    m1_cpu = cpu_machine();
    if (phase > 0) {
      double span = secs((fan_done == fan_total ? fan_last_done : w1) - fan_first_send);
      size_t cap = 0;
      FILE *out = open_memstream(&lines[phase - 1], &cap);
      fprintf(out, "{\"scenario\":\"fanout\",\"conns\":%d,\"broadcasts\":%d,\"window\":%d,\"size\":%d,\"complete\":%s,\"deliveries\":%llu,\"expected\":%llu,"
             "\"rate\":%.1f,\"full_delivery_ms\":%.3f,",
             opt_conns, opt_broadcasts, opt_window, opt_size, fan_done == fan_total ? "true" : "false",
             (unsigned long long)fan_deliveries, (unsigned long long)fan_expected * (unsigned long long)opt_broadcasts,
             span > 0 ? fan_deliveries / span : 0, span * 1e3);
      print_common(out, secs(w1 - w0), g1 - g0, s0 >= 0 && s1 >= 0 ? s1 - s0 : -1);
      fprintf(out, "\"bcast_p50_ms\":%.3f,\"bcast_p99_ms\":%.3f,\"closed_by_peer\":%d", hist_q(0.5) / 1e6, hist_q(0.99) / 1e6, n_closed_by_peer);
      fclose(out);
      rates[phase - 1] = fan_done == fan_total && span > 0 ? fan_deliveries / span : -1; /* an incomplete round ranks lowest */
      if (fan_done < fan_total || n_closed_by_peer) { rounds = phase; break; }
    } else {
      fprintf(stderr, "loadgen: warm-up %d broadcasts done=%d in %.3fs\n", fan_total, fan_done, secs(w1 - w0));
    }
    /* let stragglers drain before the next round */
    uint64_t q = now_ns() + 100000000ull;
    while (now_ns() < q) poll_once(10);
  }
  /* The result is the median round (by rate), whole: all its figures come from the same window.
     An incomplete round ends the measurement and is reported itself. */
  int pick = rounds - 1;
  if (rates[pick] >= 0) {
    int order[64], n = rounds < 64 ? rounds : 64;
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 1; i < n; i++) for (int j = i; j > 0 && rates[order[j]] < rates[order[j - 1]]; j--) { int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t; }
    pick = order[n / 2];
  }
  printf("%s,\"rounds\":%d,\"round_rates\":[", lines[pick] ? lines[pick] : "{", rounds);
  for (int i = 0; i < rounds; i++) printf("%s%.1f", i ? "," : "", rates[i]);
  printf("]}\n");
  fflush(stdout);
  close_all();
  return 0;
}
