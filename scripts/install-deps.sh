#!/usr/bin/env bash
# Installs the Debian 12 packages mrnet builds and tests with (needs root or sudo).
set -euo pipefail
packages=(
  build-essential cmake pkg-config
  libopenblas-dev libopenblas-openmp-dev libcmocka-dev libsndfile1-dev libsoxr-dev libfftw3-dev
  libcjson-dev libcsv-dev
  # FFmpeg decoding: m4a/AAC/ALAC, WMA, Matroska... (CMake: MRNET_FFMPEG=AUTO finds it)
  libavformat-dev libavcodec-dev libavutil-dev libswresample-dev
  # the collection index (mrnet index/query/similar): SQLite, and xxHash for content hashes
  libsqlite3-dev libxxhash-dev
  # mrnet serve (libmicrohttpd), and its test in headless Chromium
  libmicrohttpd-dev chromium
  # runs over several processes (mpirun -np N mrnet train/cv/extract; CMake MRNET_MPI=AUTO)
  libopenmpi-dev openmpi-bin
  # PNG pictures (deflate, CRC-32)
  zlib1g-dev
  # the baseline's RBF-SVM (mrnet baseline)
  libsvm-dev
  libxml2-utils
  # tools/fuzz.sh and the fuzz smoke of scripts/test.sh: clang with libFuzzer
  clang libclang-rt-14-dev
  # scripts/test-tsan.sh: LLVM's OpenMP runtime and its Archer tool (TSan),
  # and OpenBLAS's pthread build (the OpenMP one would bring libgomp)
  libomp-14-dev libopenblas0-pthread
  # sndfile.pc names -lmp3lame for static links (pkg-config --static mrnet),
  # but libsndfile1-dev does not pull in libmp3lame-dev.
  libmp3lame-dev
  # tools/: the PyTorch references and converters (tools/test_convert_wavlm.sh
  # runs in the suite); Debian's torch, PyPI is not needed.
  python3-torch python3-torchaudio python3-numpy
)
missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)  # no pipe into grep -q under pipefail
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
