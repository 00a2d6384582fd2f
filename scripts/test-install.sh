#!/usr/bin/env bash
# Installs a build into a temporary prefix and builds the examples against it
# the ways a user would, then runs them on a golden checkpoint:
#   pkg-config, shared (libmrnet.so)     make -C examples
#   pkg-config, static (libmrnet.a)      make -C examples static
#   CMake find_package, shared / static  mrnet::mrnet [MRNET_USE_STATIC_LIBS]
# classify (examples/classify.c) runs on a tiny demo model and must agree
# with `mrnet predict`. Also links a program that defines internal names of the library (parse_int,
# path_join, rng_next) against libmrnet.a: they must not collide.
#
#   bash scripts/test-install.sh [BUILD_DIR]     (default build/, already built)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${1:-build}
ckpt=$root/tests/golden/tiny_a.ckpt.safetensors

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
pc=$(find "$prefix" -name mrnet.pc)
[ -n "$pc" ] || { echo "test-install: no mrnet.pc installed" >&2; exit 1; }
pcdir=$(dirname "$pc")
libdir=$(dirname "$pcdir")
for f in libmrnet.a libmrnet.so libmrnet.so.0 cmake/mrnet/mrnetConfig.cmake cmake/mrnet/mrnetConfigVersion.cmake; do
  [ -e "$libdir/$f" ] || { echo "test-install: $libdir/$f not installed" >&2; exit 1; }
done
for h in "$root"/include/mrnet/*.h; do
  cmp -s "$h" "$prefix/include/mrnet/$(basename "$h")" ||
    { echo "test-install: include/mrnet/$(basename "$h") not installed" >&2; exit 1; }
done
export PKG_CONFIG_PATH=$pcdir
version=$(pkg-config --modversion mrnet)

# The expected output of model_info on tiny_a (values from `mrnet info`).
cat > "$tmp/expected" <<EOF
library     $version (headers $version)
checkpoint  $ckpt
config      {"in_dim":6,"in_channels":2,"n_layers":3,"channels":32,"embed":8,"classes":4,"dilations":[2,3,4],"scale":8,"se_groups":3}
parameters  79842 (79886 with the classifier head)
labels      c0 c1 c2 c3
routes      L1=0.75844 L2=0.82216 L3=1.03778 H=0.81124 M1=1.01647 M2=0.85620 M3=0.70674
EOF

check() { # name program: runs it on the checkpoint and on a missing file
  local name=$1 prog=$2
  "$prog" "$ckpt" > "$tmp/out.txt"
  if ! diff -u "$tmp/expected" "$tmp/out.txt"; then
    echo "test-install: $name: unexpected output" >&2
    exit 1
  fi
  local rc=0
  "$prog" "$tmp/missing.safetensors" > /dev/null 2> "$tmp/err.txt" || rc=$?
  if [ "$rc" -ne 1 ] || ! grep -q "missing.safetensors" "$tmp/err.txt"; then
    echo "test-install: $name: a missing checkpoint gave status $rc and: $(cat "$tmp/err.txt")" >&2
    exit 1
  fi
  echo "ok  $name"
}
links_shared() { # program: does it load libmrnet.so?
  local deps  # not a pipe into grep -q: ldd would die of SIGPIPE under pipefail
  deps=$(LD_LIBRARY_PATH=$libdir ldd "$1")
  grep -q "libmrnet\.so\.0 => $libdir/" <<<"$deps"
}

# A mel checkpoint with recorded feature settings and audio to classify: a
# tiny run of the installed tool's demo (under a second).
"$prefix/bin/mrnet" demo -o "$tmp/demo" --clips 4 --epochs 2 --channels 16 --embed 8 --batch 4 \
  --quiet > /dev/null
mel_ckpt=$tmp/demo/run/best.safetensors
wavs=("$tmp/demo/data/techno/techno.001.wav" "$tmp/demo/data/waltz/waltz.002.wav")
# classify must agree with `mrnet predict` (labels, probabilities to 4 places).
"$prefix/bin/mrnet" predict "$mel_ckpt" "${wavs[@]}" --top 2 --format csv |
  awk -F, 'NR > 1 { printf "%s\t%s %.4f\t%s %.4f\n", $1, $4, $5, $6, $7 }' > "$tmp/classify.expected"
[ "$(wc -l < "$tmp/classify.expected")" -eq 2 ] || { echo "test-install: mrnet predict gave no rows" >&2; exit 1; }
check_classify() { # name program
  local name=$1 prog=$2
  "$prog" "$mel_ckpt" "${wavs[@]}" --top 2 > "$tmp/classify.out"
  if ! diff -u "$tmp/classify.expected" "$tmp/classify.out"; then
    echo "test-install: $name: classify differs from mrnet predict" >&2
    exit 1
  fi
  local rc=0
  "$prog" "$mel_ckpt" "$tmp/missing.wav" > /dev/null 2> "$tmp/err.txt" || rc=$?
  if [ "$rc" -ne 1 ] || ! grep -q "missing.wav" "$tmp/err.txt"; then
    echo "test-install: $name: a missing file gave status $rc and: $(cat "$tmp/err.txt")" >&2
    exit 1
  fi
  echo "ok  $name classify"
}

# Copies, so that nothing is built inside the checkout.
cp -r "$root/examples" "$tmp/src"

make -s -C "$tmp/src" all static
links_shared "$tmp/src/model_info" || { echo "test-install: model_info does not load $libdir/libmrnet.so.0" >&2; exit 1; }
! links_shared "$tmp/src/model_info-static" || { echo "test-install: model_info-static loads libmrnet.so" >&2; exit 1; }
LD_LIBRARY_PATH=$libdir check "pkg-config shared" "$tmp/src/model_info"
check "pkg-config static" "$tmp/src/model_info-static"
LD_LIBRARY_PATH=$libdir check_classify "pkg-config shared" "$tmp/src/classify"
check_classify "pkg-config static" "$tmp/src/classify-static"

for kind in shared static; do
  use_static=OFF
  [ "$kind" = static ] && use_static=ON
  cmake -S "$tmp/src" -B "$tmp/cmake-$kind" -DCMAKE_PREFIX_PATH="$prefix" \
        -DMRNET_USE_STATIC_LIBS=$use_static -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$tmp/cmake-$kind" >/dev/null
  if [ "$kind" = shared ]; then
    links_shared "$tmp/cmake-$kind/model_info" || { echo "test-install: CMake shared build does not load libmrnet.so" >&2; exit 1; }
  else
    ! links_shared "$tmp/cmake-$kind/model_info" || { echo "test-install: CMake static build loads libmrnet.so" >&2; exit 1; }
  fi
  # The shared one runs through the RPATH CMake sets for imported libraries.
  check "cmake find_package $kind" "$tmp/cmake-$kind/model_info"
  check_classify "cmake find_package $kind" "$tmp/cmake-$kind/classify"
done

# A user's own parse_int, path_join and rng_next next to libmrnet.a: with the
# internal symbols still global, this is a "multiple definition" link error.
cat > "$tmp/collide.c" <<'EOF'
#include <stdio.h>
#include <mrnet/mrnet.h>
int parse_int(void) { return 1; }
int path_join(void) { return 2; }
int rng_next(void) { return 3; }
int main(void)
{
    printf("%s %d\n", mrnet_version(), parse_int() + path_join() + rng_next());
    return 0;
}
EOF
# shellcheck disable=SC2046  # pkg-config output is a list of words
cc -o "$tmp/collide" "$tmp/collide.c" $(pkg-config --cflags mrnet) "$libdir/libmrnet.a" \
   $(pkg-config --static --libs mrnet | sed 's/-lmrnet//')
[ "$("$tmp/collide")" = "$version 6" ] || { echo "test-install: collide: wrong output" >&2; exit 1; }
echo "ok  user symbols named like internal ones link next to libmrnet.a"
echo "test-install: all passed (prefix $prefix, removed)"
