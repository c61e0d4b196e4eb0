// Copied from the team baseline kit (bench/tools/crr.c of the shared baselines) for bench/traffic/datapath.sh.
// crr: TCP connect/request/response/close rate (like netperf TCP_CRR) and persistent RR.
//   crr server IP PORT                      (sequential accept loop, echoes MSG bytes until EOF)
//   crr crr|rr IP PORT SECONDS [MSGSIZE]    -> one JSON line: rate/s and latency percentiles (us)
// Bounded: the client stops after SECONDS (max 60) or 5,000,000 transactions.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static int cmp(const void *a, const void *b) { float x = *(const float *)a, y = *(const float *)b; return (x > y) - (x < y); }
static int rdall(int fd, char *b, int n) { int g = 0; while (g < n) { int r = read(fd, b + g, n - g); if (r <= 0) return -1; g += r; } return g; }
#define MAXN 5000000

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: crr server IP PORT | crr crr|rr IP PORT SECONDS [MSGSIZE]\n"); return 2; }
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
  inet_pton(AF_INET, argv[2], &sa.sin_addr);
  int one = 1, msg = argc > 5 ? atoi(argv[5]) : 1; char buf[65536];
  if (msg < 1 || msg > 65536) msg = 1;
  if (!strcmp(argv[1], "server")) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(l, (void *)&sa, sizeof sa) || listen(l, 1024)) { perror("bind/listen"); return 1; }
    for (;;) {
      int c = accept(l, 0, 0); if (c < 0) continue;
      setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      int r; while ((r = read(c, buf, sizeof buf)) > 0) if (write(c, buf, r) != r) break;
      close(c);
    }
  }
  int crr = !strcmp(argv[1], "crr"); double secs = atof(argv[4]); if (secs > 60) secs = 60;
  float *lat = malloc(sizeof(float) * MAXN); long n = 0, fails = 0;
  memset(buf, 'x', msg);
  int fd = -1;
  double t0 = now(), end = t0 + secs;
  while (n < MAXN) {
    double a = now(); if (a >= end) break;
    if (fd < 0) {
      fd = socket(AF_INET, SOCK_STREAM, 0);
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (connect(fd, (void *)&sa, sizeof sa)) { close(fd); fd = -1; fails++; if (fails > 1000) break; continue; }
    }
    if (write(fd, buf, msg) != msg || rdall(fd, buf, msg) != msg) { close(fd); fd = -1; fails++; if (fails > 1000) break; continue; }
    if (crr) { close(fd); fd = -1; }
    lat[n++] = (now() - a) * 1e6;
  }
  double el = now() - t0;
  if (fd >= 0) close(fd);
  qsort(lat, n, sizeof(float), cmp);
#define P(q) (n ? lat[(long)((q) / 100.0 * (n - 1))] : 0)
  printf("{\"mode\":\"%s\",\"n\":%ld,\"fails\":%ld,\"secs\":%.3f,\"rate\":%.1f,\"p50_us\":%.2f,\"p90_us\":%.2f,\"p99_us\":%.2f,\"p999_us\":%.2f,\"max_us\":%.2f}\n",
         argv[1], n, fails, el, n / el, P(50), P(90), P(99), P(99.9), n ? lat[n - 1] : 0);
  return 0;
}
