/* Version and error strings (sio/core.h). */
#include "sio/core.h"

#include <uv.h>

const char *sio_version(void) {
  return "0.1.0";
}

const char *sio_strerror(int err) {
  switch (err) {
  case 0:
    return "success";
  case SIO_EPROTO_HTTP:
    return "malformed HTTP";
  case SIO_ETOOLARGE:
    return "size limit exceeded";
  case SIO_ECLOSED:
    return "connection closed";
  case SIO_ETIMEDOUT:
    return "operation timed out";
  case SIO_ENOTFOUND:
    return "not found";
  case SIO_EINVAL_PACKET:
    return "invalid packet";
  case SIO_ETLS_CERT:
    return "TLS certificate chain cannot be read";
  case SIO_ETLS_KEY:
    return "TLS private key cannot be read or does not match the certificate";
  case SIO_ETLS_CA:
    return "TLS client CA file cannot be read";
  case SIO_ETLS_CONFIG:
    return "bad TLS option";
  default:
    return uv_strerror(err);
  }
}
