#!/usr/bin/env bash
# tools/fuzz.sh TARGET SECONDS [libFuzzer options...]
#
# Builds fuzz/fuzz_TARGET.c with clang (ASan + UBSan + libFuzzer, -O1) in
# build-fuzz/, seeds fuzz/corpus/TARGET/ (not committed) from
# fuzz/seeds/TARGET/, tests/golden/ and small files written here, and runs the
# target for SECONDS (-max_total_time). Crashes land in fuzz/artifacts/TARGET/.
# Exit status: libFuzzer's (0: nothing found); 77 where clang cannot link
# libFuzzer (install libclang-rt-14-dev: scripts/install-deps.sh).
#
#   tools/fuzz.sh list                 # the targets
#   tools/fuzz.sh safetensors 60
#   tools/fuzz.sh npy 3600 -jobs=2 -workers=2
#   MRNET_FUZZ_NO_BUILD=1 tools/fuzz.sh ...   # build-fuzz/ already built
set -euo pipefail
cd "$(dirname "$0")/.."
targets=$(ls fuzz/fuzz_*.c | sed 's|fuzz/fuzz_||; s|\.c$||')
if [ "${1:-}" = list ]; then
  echo "$targets"
  exit 0
fi
if [ $# -lt 2 ]; then
  echo "usage: tools/fuzz.sh TARGET SECONDS [libFuzzer options]   (tools/fuzz.sh list: the targets)" >&2
  exit 2
fi
target=${1#fuzz_}
seconds=$2
shift 2
# A here-string, not a pipe: under pipefail, grep -q quitting early kills echo
# with SIGPIPE and the pipeline fails at random (CI, 3 Dec).
if ! grep -qx -- "$target" <<<"$targets"; then
  echo "tools/fuzz.sh: no target '$target' (one of: $(echo $targets))" >&2
  exit 2
fi
CC=${FUZZ_CC:-clang}

# libFuzzer ships in clang's compiler-rt (Debian: libclang-rt-14-dev).
fuzz_check_clang() {
  local d
  d=$(mktemp -d)
  echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' >"$d/t.c"
  if ! "$CC" -fsanitize=fuzzer,address,undefined "$d/t.c" -o "$d/t" >/dev/null 2>&1; then
    rm -rf "$d"
    return 1
  fi
  rm -rf "$d"
}

if [ -z "${MRNET_FUZZ_NO_BUILD:-}" ]; then
  if ! fuzz_check_clang; then
    echo "tools/fuzz.sh: $CC cannot link libFuzzer (-fsanitize=fuzzer); install clang and libclang-rt-14-dev" >&2
    exit 77
  fi
  cmake -S . -B build-fuzz -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-g -O1" \
        -DMRNET_FUZZ=ON -DMRNET_TESTS=OFF >/dev/null
  log=$(mktemp)
  if ! cmake --build build-fuzz -j"$(nproc)" --target "fuzz_$target" >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
fi
bin=build-fuzz/fuzz_$target
[ -x "$bin" ] || { echo "tools/fuzz.sh: $bin was not built" >&2; exit 1; }

# ---- seeds -----------------------------------------------------------------
corpus=fuzz/corpus/$target
artifacts=fuzz/artifacts/$target
mkdir -p "$corpus" "$artifacts"
[ -d "fuzz/seeds/$target" ] && cp -n fuzz/seeds/"$target"/* "$corpus"/ 2>/dev/null || true
make_state_seed() {
  [ -e "$corpus/state.safetensors" ] ||
    MRNET_FUZZ_MAKE_SEED="$corpus/state.safetensors" build-fuzz/fuzz_train_state >/dev/null 2>&1 ||
    MRNET_FUZZ_MAKE_SEED="$corpus/state.safetensors" "$bin" >/dev/null 2>&1 || true
}
case $target in
  safetensors)
    for f in adamw schedule ops tiny_a.release; do cp -n tests/golden/$f.safetensors "$corpus"/ ; done
    make_state_seed ;;
  checkpoint)
    cp -n tests/golden/tiny_a.ckpt.safetensors tests/golden/tiny_a.release.safetensors "$corpus"/
    make_state_seed ;;
  train_state) make_state_seed ;;
  wavlm) cp -n tests/golden/wavlm_tiny.safetensors "$corpus"/ ;;
  npy)
    for f in mel_melon mel_librosa; do cp -n tests/golden/$f.npy "$corpus"/ ; done
    python3 - "$corpus" <<'PY' 2>/dev/null || true
import struct, sys
def npy(name, descr, shape, data, fortran=False, version=1):
    h = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    pre = 10 if version == 1 else 12
    h += " " * ((64 - (pre + len(h) + 1) % 64) % 64) + "\n"
    n = struct.pack("<H", len(h)) if version == 1 else struct.pack("<I", len(h))
    open(sys.argv[1] + "/" + name, "wb").write(b"\x93NUMPY" + bytes([version, 0]) + n + h.encode() + data)
npy("f4.npy", "<f4", "(2, 3)", struct.pack("<6f", *range(6)))
npy("f2_fortran.npy", "<f2", "(3, 2)", struct.pack("<6e", *range(6)), fortran=True)
npy("i8_v2.npy", "|i1", "(4,)", bytes([1, 255, 3, 128]), version=2)
npy("f8_be.npy", ">f8", "(2,)", struct.pack(">2d", 1.5, -2))
npy("u8_0d.npy", "|u1", "()", b"\x07")
PY
    ;;
  audio)
    python3 - "$corpus" <<'PY' 2>/dev/null || true
import math, struct, sys, wave
d = sys.argv[1]
def wav(name, rate, ch, width, n):
    w = wave.open(d + "/" + name, "wb")
    w.setnchannels(ch); w.setsampwidth(width); w.setframerate(rate)
    fr = bytearray()
    for i in range(n):
        v = int(100 * math.sin(i * 0.3)) % 256 if width == 1 else int(8000 * math.sin(i * 0.3))
        for _ in range(ch):
            fr += bytes([v]) if width == 1 else struct.pack("<h", v)
    w.writeframes(bytes(fr)); w.close()
wav("mono16k.wav", 16000, 1, 2, 400)
wav("stereo44k.wav", 44100, 2, 2, 300)
wav("u8_8k.wav", 8000, 1, 1, 200)
# Sun .au, 16-bit big-endian PCM
data = b"".join(struct.pack(">h", int(8000 * math.sin(i * 0.2))) for i in range(200))
open(d + "/tone.au", "wb").write(struct.pack(">4sIIIII", b".snd", 24, len(data), 3, 22050, 1) + data)
PY
    ;;
esac

echo "== fuzz_$target: ${seconds}s, corpus $corpus ($(ls "$corpus" | wc -l) files)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OMP_NUM_THREADS=1
exec "$bin" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=3072 -print_final_stats=1 \
     -artifact_prefix="$artifacts/" "$@" "$corpus"
