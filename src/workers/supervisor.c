/* The primary of sio_workers_run (sio/workers.h): forks the workers, restarts those that die,
 * and shuts them all down on SIGTERM or SIGINT.
 *
 * The primary runs no libuv loop: libuv's signal handling is process-wide and a child forked
 * from a process with a running loop would share its signal pipe. It blocks the signals it
 * cares for and waits for them with sigtimedwait, which also times restarts and the shutdown
 * deadline. Children get the signal mask and dispositions back before the worker's main runs.
 *
 * Each worker has its own process group, so that Ctrl-C in a terminal (SIGINT to the
 * foreground group) reaches the primary only, which then sends one SIGTERM to each: a worker
 * that got both would take the second signal as "skip the shutdown deadline". PDEATHSIG gives
 * a worker SIGTERM if the primary itself dies (SIGKILL), so none is left behind.
 *
 * The Unix socketpairs between workers (net/worker.h) are made here, one per pair, before the
 * first fork, and the primary keeps every end: a restarted worker inherits its ends again. */
#include "net/worker.h"

#include "core/alloc.h"
#include "core/log.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS      4096
#define FIRST_RUN_MS     1000 /* a first run that exits non-zero sooner failed to start */
#define STABLE_MS        1000 /* a worker that lived this long is restarted at once */
#define BACKOFF_START_MS 100
#define BACKOFF_MAX_MS   5000
#define KILL_MARGIN_MS   1000

typedef struct slot {
  pid_t pid;           /* 0: not running */
  uint64_t started_ms; /* when it was forked */
  uint64_t restart_at; /* when a dead one is forked again (0: not due) */
  uint32_t backoff_ms; /* the wait before the next restart after a quick death */
  int runs;            /* how many times it was forked */
} slot;

typedef struct primary {
  int count;
  int *fds; /* fds[i * count + j]: worker i's end toward j (-1 when i == j) */
  slot *slots;
  sigset_t waited, old_mask;
  pid_t pid;
  sio_worker_main_fn main;
  void *user;
  int shutting_down, killed, startup_failed;
  uint64_t deadline;
  uint32_t shutdown_ms;
} primary;

sio_workers_opts sio_workers_opts_default(void) {
  sio_workers_opts o;
  memset(&o, 0, sizeof o);
  o.shutdown_timeout_ms = 5000;
  return o;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int make_pairs(primary *p) {
  int n = p->count;
  for (int i = 0; i < n * n; i++) p->fds[i] = -1;
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      int sv[2];
      if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        return -errno;
      p->fds[i * n + j] = sv[0];
      p->fds[j * n + i] = sv[1];
    }
  return 0;
}

static void close_pairs(primary *p) {
  for (int i = 0; i < p->count * p->count; i++)
    if (p->fds[i] >= 0) close(p->fds[i]);
}

/* In the child: everything back as a fresh process would have it, then the worker's main. */
static void run_child(primary *p, int i) {
  static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD};
  for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) signal(sigs[k], SIG_DFL);
  sigprocmask(SIG_SETMASK, &p->old_mask, NULL);
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != p->pid) _exit(1); /* the primary died before the line above */
  int n = p->count;
  for (int a = 0; a < n; a++)
    if (a != i)
      for (int b = 0; b < n; b++)
        if (p->fds[a * n + b] >= 0) close(p->fds[a * n + b]);
  sio_worker *w = sio__worker_new(i, n, &p->fds[i * n]);
  if (!w) _exit(1);
  int rc = p->main(w, p->user);
  sio__worker_free(w);
  exit(rc);
}

static int spawn(primary *p, int i) {
  fflush(NULL); /* the child must not write the primary's buffered output again */
  pid_t pid = fork();
  if (pid < 0) return -errno;
  if (pid == 0) run_child(p, i);
  slot *s = &p->slots[i];
  s->pid = pid;
  s->started_ms = now_ms();
  s->restart_at = 0;
  s->runs++;
  return 0;
}

static void describe_exit(int status, char *out, size_t n) {
  if (WIFEXITED(status))
    snprintf(out, n, "exited with status %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    snprintf(out, n, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
  else
    snprintf(out, n, "ended (status %#x)", status);
}

static void begin_shutdown(primary *p, const char *why) {
  p->shutting_down = 1;
  p->deadline = now_ms() + p->shutdown_ms + KILL_MARGIN_MS;
  sio__info("workers: %s: shutting down %d workers (deadline %u ms)", why, p->count,
            p->shutdown_ms);
  for (int i = 0; i < p->count; i++)
    if (p->slots[i].pid > 0) kill(p->slots[i].pid, SIGTERM);
}

/* A worker ended: outside a shutdown it is restarted, at once if it had run a while, else after
 * a growing wait (a crash at startup must not spin). */
static void on_worker_exit(primary *p, int i, int status) {
  slot *s = &p->slots[i];
  uint64_t now = now_ms(), lived = now - s->started_ms;
  long pid = (long)s->pid;
  s->pid = 0;
  char how[96];
  describe_exit(status, how, sizeof how);
  if (p->shutting_down) {
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) &&
        !(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM))
      sio__warn("workers: worker %d %s during shutdown", i, how);
    return;
  }
  if (s->runs == 1 && lived < FIRST_RUN_MS && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    sio__error("workers: worker %d %s at startup: stopping", i, how);
    p->startup_failed = 1;
    begin_shutdown(p, "a worker could not start");
    return;
  }
  if (lived >= STABLE_MS) {
    s->backoff_ms = 0;
    s->restart_at = now;
  } else {
    s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : BACKOFF_START_MS;
    if (s->backoff_ms > BACKOFF_MAX_MS) s->backoff_ms = BACKOFF_MAX_MS;
    s->restart_at = now + s->backoff_ms;
  }
  sio__warn("workers: worker %d (pid %ld) %s after %llu ms; restarting it%s", i, pid, how,
            (unsigned long long)lived, s->backoff_ms ? " after a pause" : "");
}

static void reap(primary *p) {
  for (;;) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    for (int i = 0; i < p->count; i++)
      if (p->slots[i].pid == pid) {
        on_worker_exit(p, i, status);
        break;
      }
  }
}

static int alive(const primary *p) {
  int n = 0;
  for (int i = 0; i < p->count; i++) n += p->slots[i].pid > 0;
  return n;
}

static void restart_due(primary *p) {
  uint64_t now = now_ms();
  for (int i = 0; i < p->count; i++) {
    slot *s = &p->slots[i];
    if (s->pid || !s->restart_at || s->restart_at > now) continue;
    int r = spawn(p, i);
    if (r < 0) {
      sio__warn("workers: cannot fork worker %d: %s; trying again", i, strerror(-r));
      s->restart_at = now + BACKOFF_MAX_MS;
      continue;
    }
    sio__info("workers: worker %d restarted (pid %ld)", i, (long)s->pid);
  }
}

/* The next time something is due (a restart, the shutdown deadline), UINT64_MAX if none. */
static uint64_t next_due(const primary *p) {
  uint64_t due = p->shutting_down ? p->deadline : UINT64_MAX;
  if (!p->shutting_down)
    for (int i = 0; i < p->count; i++)
      if (!p->slots[i].pid && p->slots[i].restart_at && p->slots[i].restart_at < due)
        due = p->slots[i].restart_at;
  return due;
}

static void supervise(primary *p) {
  for (;;) {
    if (p->shutting_down && alive(p) == 0) return;
    uint64_t due = next_due(p), now = now_ms();
    siginfo_t info;
    int sig;
    if (due == UINT64_MAX) {
      sig = sigwaitinfo(&p->waited, &info);
    } else {
      uint64_t wait = due > now ? due - now : 0;
      struct timespec ts = {(time_t)(wait / 1000), (long)(wait % 1000) * 1000000};
      sig = sigtimedwait(&p->waited, &info, &ts);
    }
    if (sig == SIGCHLD) {
      reap(p);
    } else if (sig == SIGTERM || sig == SIGINT) {
      if (!p->shutting_down) {
        begin_shutdown(p, sig == SIGTERM ? "SIGTERM" : "SIGINT");
      } else { /* a second signal: the workers skip their deadline too */
        for (int i = 0; i < p->count; i++)
          if (p->slots[i].pid > 0) kill(p->slots[i].pid, SIGTERM);
      }
    } else if (sig == SIGHUP) { /* reloads are the workers' business (certificates, config) */
      for (int i = 0; i < p->count; i++)
        if (p->slots[i].pid > 0) kill(p->slots[i].pid, SIGHUP);
    }
    reap(p); /* a SIGCHLD merged with another may have been missed */
    if (p->shutting_down && alive(p) && now_ms() >= p->deadline) {
      for (int i = 0; i < p->count; i++)
        if (p->slots[i].pid > 0) {
          sio__warn("workers: worker %d (pid %ld) still running past the deadline: killed", i,
                    (long)p->slots[i].pid);
          kill(p->slots[i].pid, SIGKILL);
        }
      p->killed = 1;
      p->deadline = UINT64_MAX - 1; /* wait for them to be reaped */
    }
    if (!p->shutting_down) restart_due(p);
  }
}

static int default_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

int sio_workers_run(const sio_workers_opts *opts, sio_worker_main_fn main, void *user) {
  sio_workers_opts o = opts ? *opts : sio_workers_opts_default();
  if (!main) return -EINVAL;
  primary p;
  memset(&p, 0, sizeof p);
  p.count = o.count > 0 ? o.count : default_count();
  if (p.count > MAX_WORKERS) return -EINVAL;
  p.shutdown_ms = o.shutdown_timeout_ms ? o.shutdown_timeout_ms : 5000;
  p.main = main;
  p.user = user;
  p.pid = getpid();
  p.fds = sio__malloc((size_t)p.count * (size_t)p.count * sizeof(int));
  p.slots = sio__calloc((size_t)p.count, sizeof(slot));
  if (!p.fds || !p.slots) {
    sio__free(p.fds);
    sio__free(p.slots);
    return -ENOMEM;
  }
  int r = make_pairs(&p);
  if (r < 0) {
    sio__error("workers: cannot make the sockets between %d workers: %s", p.count, strerror(-r));
    close_pairs(&p);
    sio__free(p.fds);
    sio__free(p.slots);
    return r;
  }
  sigemptyset(&p.waited);
  sigaddset(&p.waited, SIGCHLD);
  sigaddset(&p.waited, SIGTERM);
  sigaddset(&p.waited, SIGINT);
  sigaddset(&p.waited, SIGHUP);
  sigprocmask(SIG_BLOCK, &p.waited, &p.old_mask);
  for (int i = 0; i < p.count && r == 0; i++) r = spawn(&p, i);
  if (r < 0) {
    sio__error("workers: cannot fork: %s", strerror(-r));
    begin_shutdown(&p, "fork failed");
  } else {
    sio__info("workers: primary (pid %ld) started %d workers", (long)p.pid, p.count);
  }
  supervise(&p);
  sigprocmask(SIG_SETMASK, &p.old_mask, NULL);
  close_pairs(&p);
  sio__free(p.fds);
  sio__free(p.slots);
  if (r < 0) return r;
  if (p.startup_failed) return 1;
  sio__info("workers: all workers stopped%s", p.killed ? " (some killed at the deadline)" : "");
  return p.killed ? 1 : 0;
}
