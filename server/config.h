/* sio-server configuration: one table of options (name, type, default, help) read from the
 * command line and from a JSON file (docs/server.md lists them). A JSON key is the option's
 * name with underscores ("ping_interval"), a flag the same with dashes ("--ping-interval").
 * Flags win over the file. Errors name the key and, for a file, its line. */
#ifndef SIO_SERVER_CONFIG_H
#define SIO_SERVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

typedef struct srv_list {
  char **v;
  size_t n;
} srv_list;

typedef struct srv_config {
  char *config_file; /* --config (flag only) */
  /* listener */
  char *host;
  int64_t port;
  char *tls_cert, *tls_key;
  char *tls_key_passphrase_file; /* its first line is the passphrase of an encrypted tls_key */
  char *tls_ca;                  /* clients must present a certificate this CA signed */
  srv_list cors_origins;
  char *static_dir;
  /* Socket.IO */
  char *path;
  int64_t ping_interval, ping_timeout, connect_timeout, max_payload;
  srv_list namespaces; /* "*": any */
  int recovery;
  int64_t recovery_duration;
  int64_t workers;
  char *redis;
  int redis_sharded;
  char *redis_key;
  /* publish API */
  srv_list tokens;
  int64_t api_max_body, api_max_batch;
  double api_rate, api_burst;
  /* client auth */
  char *jwt_alg; /* HS256 or RS256 */
  char *jwt_secret, *jwt_key_file;
  char *jwt_rooms_claim;
  int jwt_optional;
  char *auth_hook;
  int64_t auth_hook_timeout;
  /* client events to the backend */
  char *webhook;
  int64_t webhook_batch, webhook_interval, webhook_queue, webhook_retries, webhook_timeout;
  /* operations */
  char *log_format; /* text or json */
  char *log_level;
} srv_config;

/* Defaults into c (frees nothing: call on a zeroed struct). */
void srv_config_defaults(srv_config *c);
void srv_config_free(srv_config *c);
/* Reads argv into c (the file named by --config first, then the flags over it). Sets *action:
 * 0 run, 1 --help printed, 2 --check-config (c holds that file), 3 --version. Returns 0, or
 * -1 with a message in err (size errlen). */
int srv_config_load(srv_config *c, int argc, char **argv, int *action, char *err, size_t errlen);
/* Reads a JSON file over c. 0, or -1 with "FILE:LINE: key \"k\": why" in err. */
int srv_config_file(srv_config *c, const char *path, char *err, size_t errlen);
/* Checks values that depend on each other (TLS pair, JWT key, URLs). 0 or -1 with err. */
int srv_config_validate(const srv_config *c, char *err, size_t errlen);
/* Prints every option with its default and help. */
void srv_config_help(const char *prog);

#endif
