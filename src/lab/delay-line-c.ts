// The C delay line's source, kept as text so that the compiled package carries it (dist/) and
// `ntss lab up` can build it on any machine with a C compiler (delay-line-build.ts).
export const DELAY_LINE_C = String.raw`// ntss lab: the Internet core's delay line, for kernels without netem (CONFIG_NET_SCH_NETEM
// unset, as on the CI's VMs). Inside the core namespace every routed packet leaves through a TUN
// device; this process reads it, keeps it for --delay-us and writes it back into the same device,
// from where the kernel routes it on (netns.ts routeThroughDelayLine). Each crossing of the core
// thus costs the delay, as netem on the segments' bridges would.
//
// Why C: the first delay line (delay-core.ts: TUN -> socat -> UDP -> Node timer -> UDP -> socat
// -> TUN) cost six system calls and three process wake-ups per packet; in a capacity burst it took
// more CPU than the system under test. Here a packet costs one read and one write, and a wake-up
// serves every packet due. The lab compiles it with the system's cc at 'ntss lab up'
// (src/lab/delay-line-build.ts; the text lives in delay-line-c.ts) and falls back to delay-core.ts where there is no compiler.
//
//   delay-line --dev dly0 --delay-us 10000 [--loss-pct 0] [--seed 1]
// Prints one "listening" line when the device is up, counters on SIGTERM/SIGINT.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

// Packets in flight: at 20 ms and ~50k packets/s about 1000; a full ring drops (counted).
#define SLOTS 16384
// The TUN's MTU is 1500 and it has no offloads, so the kernel segments before writing to it.
#define SLOT_BYTES 2048
// At most this many packets read per wake-up, so due packets are not starved by a flood.
#define READ_BATCH 256

struct slot {
  uint64_t due_ns;
  uint32_t len;
  unsigned char data[SLOT_BYTES];
};

static struct slot ring[SLOTS];
static unsigned head, count;
static volatile sig_atomic_t stop;
static uint64_t forwarded, lost, overflow, oversize, write_errors;
static uint64_t rng;

static void on_signal(int sig) { (void)sig; stop = 1; }

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

// xorshift64*: a seeded, repeatable loss pattern.
static double uniform(void) {
  rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
  return (double)((rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static void die(const char *what) {
  fprintf(stderr, "delay-line: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int open_tun(const char *name) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) die("open /dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) die("TUNSETIFF");
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die("SIOCGIFFLAGS");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("SIOCSIFFLAGS");
  close(s);
  return fd;
}

// Writes every packet that is due; returns the first remaining packet's due time (0: none).
static uint64_t flush_due(int fd, uint64_t now) {
  while (count > 0) {
    struct slot *p = &ring[head];
    if (p->due_ns > now) return p->due_ns;
    if (write(fd, p->data, p->len) < 0) write_errors++;
    else forwarded++;
    head = (head + 1) % SLOTS;
    count--;
  }
  return 0;
}

static void read_some(int fd, uint64_t delay_ns, double loss) {
  static unsigned char big[65536];
  for (int i = 0; i < READ_BATCH; i++) {
    unsigned char *dst = count < SLOTS ? ring[(head + count) % SLOTS].data : big;
    ssize_t n = read(fd, dst, count < SLOTS ? SLOT_BYTES : sizeof big);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) return;
      die("read");
    }
    if (count >= SLOTS) { overflow++; continue; }
    if ((size_t)n >= SLOT_BYTES) { oversize++; continue; }  // cannot happen at MTU 1500: counted if it does
    if (loss > 0 && uniform() < loss) { lost++; continue; }
    struct slot *p = &ring[(head + count) % SLOTS];
    p->len = (uint32_t)n;
    // Stamped after the read: a fixed delay keeps the ring in due order, so nothing is reordered.
    p->due_ns = now_ns() + delay_ns;
    count++;
  }
}

int main(int argc, char **argv) {
  const char *dev = NULL;
  long delay_us = -1;
  double loss_pct = 0;
  rng = 0x9e3779b97f4a7c15ull;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--dev")) dev = argv[i + 1];
    else if (!strcmp(argv[i], "--delay-us")) delay_us = strtol(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--loss-pct")) loss_pct = strtod(argv[i + 1], NULL);
    else if (!strcmp(argv[i], "--seed")) rng ^= strtoull(argv[i + 1], NULL, 10) * 0xbf58476d1ce4e5b9ull;
    else { fprintf(stderr, "delay-line: unknown option %s\n", argv[i]); return 2; }
  }
  if (!dev || delay_us < 0 || loss_pct < 0 || loss_pct > 100) {
    fprintf(stderr, "usage: delay-line --dev NAME --delay-us N [--loss-pct 0..100] [--seed N]\n");
    return 2;
  }
  if (rng == 0) rng = 1;
  int fd = open_tun(dev);

  // Signals only interrupt ppoll, so a stop is never lost between the check and the wait.
  sigset_t block, during;
  sigemptyset(&block);
  sigaddset(&block, SIGTERM);
  sigaddset(&block, SIGINT);
  sigprocmask(SIG_BLOCK, &block, &during);
  sigdelset(&during, SIGTERM);
  sigdelset(&during, SIGINT);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  printf("delay-line: listening on %s, delay %.3f ms, loss %g%%\n", dev, delay_us / 1000.0, loss_pct);
  fflush(stdout);
  const uint64_t delay_ns = (uint64_t)delay_us * 1000ull;
  const double loss = loss_pct / 100;
  struct pollfd pfd = { .fd = fd, .events = POLLIN };
  while (!stop) {
    uint64_t next = flush_due(fd, now_ns());
    struct timespec ts, *tp = NULL;
    if (next) {
      uint64_t now = now_ns();
      uint64_t wait = next > now ? next - now : 0;
      ts.tv_sec = (time_t)(wait / 1000000000ull);
      ts.tv_nsec = (long)(wait % 1000000000ull);
      tp = &ts;
    }
    int r = ppoll(&pfd, 1, tp, &during);
    if (r < 0 && errno != EINTR) die("ppoll");
    if (r > 0 && (pfd.revents & POLLIN)) read_some(fd, delay_ns, loss);
  }
  printf("delay-line: forwarded %llu, lost %llu, ring full %llu, oversize %llu, write errors %llu, in flight %u\n",
         (unsigned long long)forwarded, (unsigned long long)lost, (unsigned long long)overflow,
         (unsigned long long)oversize, (unsigned long long)write_errors, count);
  return 0;
}
`;
