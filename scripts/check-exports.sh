#!/usr/bin/env bash
# Checks what the installed libraries export (run by ctest as test_exports):
#
#   check-exports.sh NM CC INCLUDE_DIR LIBMRNET_SO LIBMRNET_A LIBMRNET_INTERNAL_A
#
# Fails unless
#   - every global defined symbol of libmrnet.so (dynamic table, nm -D, and
#     symbol table, nm -g) and of libmrnet.a (nm -g) starts with mrnet_, apart
#     from the toolchain symbols allowed below;
#   - none of those lists is empty, and the shared and static lists are equal;
#   - the exported names are exactly the functions declared in
#     INCLUDE_DIR/mrnet/*.h (a missing one is a link error for users, an extra
#     one an accidental export);
#   - the same listing of the internal library does find its unprefixed
#     symbols (rng_next, ...): proof that the listing works and sees what it
#     must reject, so an empty list of offenders means something.
set -euo pipefail
if [ $# -ne 6 ]; then
  echo "usage: $0 NM CC INCLUDE_DIR LIBMRNET_SO LIBMRNET_A LIBMRNET_INTERNAL_A" >&2
  exit 2
fi
nm=$1 cc=$2 include=$3 so=$4 static=$5 internal=$6

# Symbols the toolchain adds, not our code:
#   .gomp_critical_user_NAME  GCC's lock for `#pragma omp critical(NAME)`
#                             (src/data/synth_demo.c). OpenMP shares a named
#                             critical program-wide by design, so GCC makes it
#                             a global common; the leading dot keeps it out of
#                             any C program's namespace.
allowed='^\.gomp_critical_user_[A-Za-z0-9_]+$'

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# Defined global names, one per line, sorted; nm's own failure (missing or
# unreadable file) fails the script through pipefail.
list() { # out_name nm_args... file
  local out=$1; shift
  "$nm" "$@" | awk 'NF >= 3 { print $NF }' | sort -u > "$tmp/$out"
}
list so_dynamic -D --defined-only "$so"
list so_symtab -g --defined-only "$so"
list static -g --defined-only "$static"
list internal -g --defined-only "$internal"

for l in so_dynamic so_symtab static; do
  grep -Ev "$allowed" "$tmp/$l" > "$tmp/$l.checked" || true
  n=$(wc -l < "$tmp/$l.checked")
  if [ "$n" -eq 0 ]; then
    echo "FAIL $l: no exported symbol at all"
    fail=1
  fi
  if grep -v '^mrnet_' "$tmp/$l.checked" > "$tmp/$l.bad"; then
    echo "FAIL $l: $(wc -l < "$tmp/$l.bad") global symbols without the mrnet_ prefix:"
    head -50 "$tmp/$l.bad" | sed 's/^/    /'  # head first: no SIGPIPE under pipefail
    fail=1
  fi
  echo "$l: $n exported symbols"
done

if ! diff -u "$tmp/so_dynamic.checked" "$tmp/static.checked" > "$tmp/diff"; then
  echo "FAIL: libmrnet.so and libmrnet.a export different symbols:"
  cat "$tmp/diff"
  fail=1
fi

# Declared functions: the preprocessed headers (no comments, no macros), every
# identifier mrnet_* directly followed by '('.
for h in "$include"/mrnet/*.h; do
  "$cc" -E -P -I"$include" "$h"
done | grep -oP '\bmrnet_\w+(?=\s*\((?!\s*\*))' | sort -u > "$tmp/declared"
if [ ! -s "$tmp/declared" ]; then
  echo "FAIL: no function declared in $include/mrnet/*.h"
  fail=1
fi
if ! diff -u "$tmp/declared" "$tmp/so_dynamic.checked" > "$tmp/diff"; then
  echo "FAIL: exported symbols (+) differ from the functions declared in the public headers (-):"
  grep -E '^[-+][^-+]' "$tmp/diff"
  fail=1
fi

# The control: the internal library's unprefixed globals must show up.
n_internal=$(grep -Evc "$allowed|^mrnet_" "$tmp/internal" || true)
if [ "$n_internal" -lt 100 ] || ! grep -qx 'rng_next' "$tmp/internal"; then
  echo "FAIL control: listing $internal found only $n_internal unprefixed globals (rng_next among them?)"
  fail=1
else
  echo "control: the internal library has $n_internal unprefixed globals, as expected"
fi

[ "$fail" -eq 0 ] && echo "exports OK"
exit "$fail"
