#!/usr/bin/env bash
# A tree built without node_modules/socket.io-client (a fresh clone before scripts/deps, or a
# machine with no Node): `make`, `make install` and `cmake --build` must work, cmake must warn
# once, and a program built against the installed library must answer the bundle's URL with a
# 404 whose body says how to get it, while Socket.IO itself works.
#
# Usage: no-bundle.sh SOURCE_DIR. Builds in a temporary folder, removed at the end.
set -euo pipefail
src=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

flags="-DSIO_CLIENT_DIST=$tmp/no-client -DCMAKE_INSTALL_PREFIX=$tmp/prefix"
echo "# make (no bundle)"
make -C "$src" --no-print-directory BUILD="$tmp/build" JOBS=2 CMAKE_FLAGS="$flags" build \
  >"$tmp/make.log" 2>&1 || { tail -40 "$tmp/make.log"; fail "make without the bundle"; }
warnings=$(grep -c "socket.io-client is not installed" "$tmp/make.log" || true)
[ "$warnings" = 1 ] || { cat "$tmp/make.log"; fail "cmake warned $warnings times, not once"; }

echo "# cmake --build again: no second warning"
cmake -S "$src" -B "$tmp/build" >"$tmp/reconf.log" 2>&1 && cmake --build "$tmp/build" -j 2 \
  >>"$tmp/reconf.log" 2>&1 || { tail -40 "$tmp/reconf.log"; fail "cmake --build"; }
! grep -q "socket.io-client is not installed" "$tmp/reconf.log" || fail "warned again"

echo "# make install"
make -C "$src" --no-print-directory BUILD="$tmp/build" install >"$tmp/install.log" 2>&1 ||
  { tail -20 "$tmp/install.log"; fail "make install"; }
[ -f "$tmp/prefix/include/sio/io.h" ] || fail "headers not installed"
ls "$tmp/prefix"/lib*/libsio.so >/dev/null 2>&1 || fail "libsio.so not installed"
pcdir=$(dirname "$(ls "$tmp/prefix"/lib*/pkgconfig/sio.pc)")
libdir=$(dirname "$(ls "$tmp/prefix"/lib*/libsio.so)")

echo "# a program built against the installed library"
cat >"$tmp/app.c" <<'C'
#include <stdio.h>
#include <sio/sio.h>
#include <uv.h>
int main(void) {
  uv_loop_t *loop = uv_default_loop();
  sio_app_opts ao = sio_app_opts_default();
  ao.host = "127.0.0.1";
  ao.port_any = 1;
  ao.handle_signals = 1;
  sio_app *app = sio_app_new(loop, &ao);
  if (!app || !sio_io_attach(app, NULL) || sio_app_listen(app) != 0) return 1;
  printf("%d\n", sio_app_port(app));
  fflush(stdout);
  return uv_run(loop, UV_RUN_DEFAULT);
}
C
# shellcheck disable=SC2046
cc -Wall -Werror -o "$tmp/app" "$tmp/app.c" \
  $(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs sio) || fail "compile against the install"
LD_LIBRARY_PATH="$libdir" "$tmp/app" >"$tmp/port" &
server_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(cat "$tmp/port")
[ -n "$port" ] || fail "the program did not start"

code=$(curl -s -o "$tmp/body" -w '%{http_code}' "http://127.0.0.1:$port/socket.io/socket.io.js")
[ "$code" = 404 ] || fail "socket.io.js answered $code, not 404"
grep -q "scripts/deps" "$tmp/body" || fail "the 404 body does not say how to get the bundle"
code=$(curl -s -o "$tmp/open" -w '%{http_code}' \
  "http://127.0.0.1:$port/socket.io/?EIO=4&transport=polling")
[ "$code" = 200 ] && grep -q '"sid"' "$tmp/open" || fail "Socket.IO handshake: $code"
echo "ok: built, installed and served without the bundle (404: $(head -c 60 "$tmp/body")...)"
