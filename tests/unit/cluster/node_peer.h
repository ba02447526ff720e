/* Runs a Node script of tests/unit/cluster/ as a peer that asks questions on its stdout, one
 * line each, and reads the answers on its stdin, until it exits with its verdict. The
 * differential tests against the npm packages use it. */
#ifndef SIO_TESTS_CLUSTER_NODE_PEER_H
#define SIO_TESTS_CLUSTER_NODE_PEER_H
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

typedef void (*node_peer_answer)(FILE *out, char *line, size_t n);

/* The script's exit code (127: no Node), or -1 when it could not be started. */
static inline int node_peer_run(const char *script_name, node_peer_answer answer) {
  const char *src = getenv("SIO_SOURCE_DIR");
  char script[4096];
  int to_node[2], from_node[2];
  if (!src) return 127;
  snprintf(script, sizeof script, "%s/tests/unit/cluster/%s", src, script_name);
  signal(SIGPIPE, SIG_IGN); /* the peer may stop reading once it has its verdict */
  if (pipe(to_node) || pipe(from_node)) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(to_node[0], 0), dup2(from_node[1], 1);
    close(to_node[1]), close(from_node[0]);
    execlp("node", "node", script, (char *)NULL);
    _exit(127);
  }
  close(to_node[0]), close(from_node[1]);
  FILE *in = fdopen(from_node[0], "r"), *out = fdopen(to_node[1], "w");
  char *line = NULL;
  size_t cap = 0;
  ssize_t n;
  while ((n = getline(&line, &cap, in)) > 0) {
    if (line[n - 1] == '\n') line[--n] = 0;
    if (n >= 2) answer(out, line, (size_t)n);
    fflush(out);
  }
  free(line);
  fclose(in), fclose(out);
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Decodes the hex after "K " into a new buffer (free it); *len gets its size. */
static inline unsigned char *node_peer_unhex(const char *line, size_t n, size_t *len) {
  *len = (n - 2) / 2;
  unsigned char *raw = malloc(*len + 1);
  for (size_t i = 0; i < *len; i++) {
    char h = line[2 + 2 * i], l = line[3 + 2 * i];
    int hv = h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10,
        lv = l <= '9' ? l - '0' : (l | 0x20) - 'a' + 10;
    raw[i] = (unsigned char)(hv << 4 | lv);
  }
  return raw;
}

/* Writes the answer: the bytes in hex, or ERR and the code. */
static inline void node_peer_reply(FILE *out, int rc, const void *data, size_t len) {
  const unsigned char *d = data;
  if (rc) {
    fprintf(out, "ERR %d\n", rc);
    return;
  }
  for (size_t i = 0; i < len; i++) fprintf(out, "%02x", d[i]);
  fputc('\n', out);
}
#endif
