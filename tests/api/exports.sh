#!/bin/sh
# libsio.so exports the public API and nothing else (issue 12, points 2 and 10):
#   - every symbol it exports is a function declared in a header under include/sio/,
#   - every function declared there is exported (the deprecated names too) and carries
#     SIO_EXTERN (the only way out of a library built with hidden visibility),
#   - no internal sio__ symbol is exported.
# The headers are read through the preprocessor, so that a declaration is whatever the compiler
# sees (SIO_EXTERN expands to the visibility attribute; static inline helpers and macros are
# not symbols and are left out).
# Usage: exports.sh path/to/libsio.so path/to/include
set -eu
lib=$1
inc=$2
CC=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Exported: defined dynamic symbols, minus what the toolchain adds (sanitizer runtimes).
nm -D --defined-only "$lib" | awk '{print $NF}' |
  grep -Ev '^(_init|_fini|_edata|_end|__bss_start|__(asan|odr_asan|sanitizer|ubsan|lsan)[A-Za-z0-9_.]*)$' |
  sort -u >"$tmp/exported"

# Declared: every function declaration of every public header, with or without the marker.
for h in "$inc"/sio/*.h; do echo "#include \"sio/$(basename "$h")\""; done >"$tmp/all.c"
flags=$(pkg-config --cflags libuv jansson 2>/dev/null || true)
# shellcheck disable=SC2086
"$CC" -std=gnu17 -E -P -I"$inc" $flags "$tmp/all.c" >"$tmp/pp.c"
python3 - "$tmp/pp.c" "$tmp" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
out = sys.argv[2]
# Top-level statements: brace blocks (bodies of structs, enums, inline functions) end one.
stmts, depth, cur = [], 0, []
for ch in text:
    if ch == '{':
        if depth == 0:
            stmts.append(''.join(cur)); cur = []
        depth += 1
    elif ch == '}':
        depth -= 1
    elif depth == 0:
        if ch == ';':
            stmts.append(''.join(cur)); cur = []
        else:
            cur.append(ch)
declared, marked = set(), set()
for s in stmts:
    s = ' '.join(s.split())
    m = re.search(r'\b(sio_\w+)\s*\(', s)
    if not m or re.search(r'\b(typedef|static|inline)\b', s[:m.start()]):
        continue  # a type, or a header-only helper: not a symbol
    declared.add(m.group(1))
    if 'visibility("default")' in s:
        marked.add(m.group(1))
open(out + '/declared', 'w').write(''.join(n + '\n' for n in sorted(declared)))
open(out + '/unmarked', 'w').write(''.join(n + '\n' for n in sorted(declared - marked)))
PY

fail=0
report() { # title file
  if [ -s "$2" ]; then
    echo "$1:"
    sed 's/^/  /' "$2"
    fail=1
  fi
}
grep '^sio__' "$tmp/exported" >"$tmp/internal" || true
comm -23 "$tmp/exported" "$tmp/declared" | grep -v '^sio__' >"$tmp/undeclared" || true
comm -13 "$tmp/exported" "$tmp/declared" >"$tmp/missing" || true
report "internal sio__ symbols exported by $lib" "$tmp/internal"
report "exported by $lib but declared in no header under $inc/sio" "$tmp/undeclared"
report "declared without SIO_EXTERN" "$tmp/unmarked"
report "declared under $inc/sio but not exported by $lib" "$tmp/missing"
[ "$fail" = 0 ] || exit 1
echo "ok: $(wc -l <"$tmp/exported") exported symbols, each declared under $inc/sio, all" \
  "$(wc -l <"$tmp/declared") declared functions exported"
