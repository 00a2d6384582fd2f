#!/usr/bin/env bash
# tools/gen_m4a_fixtures.sh: the small m4a files tests/test_audio.c decodes
# when mrnet is built with FFmpeg (committed; needs the ffmpeg program,
# Debian's ffmpeg, only to make them again).
#   tone.wav       0.5 s, 16 kHz, mono, 16-bit: two sines
#   tone_alac.m4a  the same samples, ALAC (lossless): must decode bit-exact
#   tone_aac.m4a   the same at 64 kb/s AAC-LC: must decode close to it
set -euo pipefail
cd "$(dirname "$0")/../tests/media"
ffmpeg -loglevel error -y -f lavfi -i "aevalsrc=0.3*sin(2*PI*440*t)+0.1*sin(2*PI*1330*t):s=16000:d=0.5" \
       -c:a pcm_s16le tone.wav
ffmpeg -loglevel error -y -i tone.wav -c:a alac tone_alac.m4a
ffmpeg -loglevel error -y -i tone.wav -c:a aac -b:a 64k tone_aac.m4a
ls -l tone.wav tone_alac.m4a tone_aac.m4a
