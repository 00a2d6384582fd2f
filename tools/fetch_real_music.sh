#!/usr/bin/env bash
# Builds a small real-music data set from freely licensed game soundtracks in
# Debian 12 packages (docs/REAL_MUSIC.md): downloads the .deb files with
# `apt-get download` (nothing is installed), extracts them, and cuts every
# track into 30-second clips, 16 kHz mono 16-bit WAV:
#
#   DEST/clips/<class>/<track>__<k>.wav    clip k = seconds [30k, 30k + 30)
#   DEST/manifest.csv                      path,label,split,group (for mrnet extract;
#                                          group: the clip's track, CLASS/TRACK)
#   DEST/tracks.csv                        class,track,group,split,clips,package,source
#
# The label is the source package (one game's soundtrack per class); the class
# names say the style. The split is per track group (all clips of a track, and
# of its variants such as foo/foo2/foo_old/foo_remix, land in one split),
# seeded and stratified per class, ~70/15/15 train/valid/test by tracks.
#
# usage: tools/fetch_real_music.sh DEST
# environment: SEED (default 1), MAX_CLIPS (clips per track, default 8),
#              MIN_RMS (skip quieter clips, default 0.003 = -50 dBFS)
# Idempotent: downloads, extractions and finished tracks are kept and skipped
# (the clips are redone when MAX_CLIPS or MIN_RMS change).
# Needs apt-get, dpkg-deb, python3 and sox (installed from Debian if missing).
set -euo pipefail

if [ $# -ne 1 ] || [ "${1:0:1}" = "-" ]; then
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
    exit 2
fi
DEST=$1
SEED=${SEED:-1}
MAX_CLIPS=${MAX_CLIPS:-8}
MIN_RMS=${MIN_RMS:-0.003}
CLIP_SECONDS=30

# class|package|archive inside the package ("-" for none)|folder with the tracks|exclude (regex on the file name)
SOURCES=(
    "orchestral|wesnoth-1.16-music|-|usr/share/games/wesnoth/1.16/data/core/music|^$"
    "electronic|nexuiz-music|usr/share/games/nexuiz/data/music.pk3|sound/cdtracks|^$"
    "platformer|supertux-data|-|usr/share/games/supertux2/music|^$"
    "scifi|ufoai-music|usr/share/games/ufoai/base/0music.pk3|music|^dynamictest"
    "adventure|drascula-music|-|usr/share/scummvm/drascula/audio|^$"
)

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
need_sox() {
    command -v sox >/dev/null && command -v soxi >/dev/null && grep -qw vorbis <<<"$(sox -h 2>/dev/null || true)" && return
    echo "fetch_real_music: installing sox (Ogg Vorbis support)" >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends sox libsox-fmt-base >&2
}
need_sox
command -v python3 >/dev/null || { echo "fetch_real_music: needs python3" >&2; exit 1; }

mkdir -p "$DEST"/debs "$DEST"/pkg "$DEST"/clips "$DEST"/work/done
DEST=$(cd "$DEST" && pwd)
settings="clip_seconds=$CLIP_SECONDS max_clips=$MAX_CLIPS min_rms=$MIN_RMS rate=16000 mono peak=-1dB"
if [ -e "$DEST/work/settings" ] && [ "$(cat "$DEST/work/settings")" != "$settings" ]; then
    echo "fetch_real_music: clip settings changed: cutting the clips again" >&2
    rm -rf "$DEST/clips" "$DEST/work/done"
    mkdir -p "$DEST/clips" "$DEST/work/done"
fi
echo "$settings" >"$DEST/work/settings"

# ---- download and extract -----------------------------------------------------
fetch_package() { # package -> DEST/pkg/<package>/ (stamp .extracted)
    local pkg=$1 deb
    if [ -e "$DEST/pkg/$pkg/.extracted" ]; then
        return
    fi
    deb=$(ls "$DEST"/debs/"${pkg}"_*.deb 2>/dev/null | head -n 1 || true)
    if [ -z "$deb" ]; then
        echo "fetch_real_music: downloading $pkg" >&2
        (cd "$DEST/debs" && apt-get download -q "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2 || true)
        deb=$(ls "$DEST"/debs/"${pkg}"_*.deb 2>/dev/null | head -n 1 || true)
        [ -n "$deb" ] || { echo "fetch_real_music: apt-get download $pkg failed (apt-get update?)" >&2; exit 1; }
    fi
    echo "fetch_real_music: extracting $(basename "$deb")" >&2
    rm -rf "$DEST/pkg/$pkg"
    mkdir -p "$DEST/pkg/$pkg"
    dpkg-deb -x "$deb" "$DEST/pkg/$pkg"
    touch "$DEST/pkg/$pkg/.extracted"
}

tracks_root() { # package archive folder -> the folder holding the tracks
    local pkg=$1 archive=$2 folder=$3
    if [ "$archive" = "-" ]; then
        echo "$DEST/pkg/$pkg/$folder"
        return
    fi
    # .pk3 files are zip archives
    if [ ! -e "$DEST/pkg/$pkg/.unzipped" ]; then
        rm -rf "$DEST/pkg/$pkg/unzipped"
        python3 -m zipfile -e "$DEST/pkg/$pkg/$archive" "$DEST/pkg/$pkg/unzipped"
        touch "$DEST/pkg/$pkg/.unzipped"
    fi
    echo "$DEST/pkg/$pkg/unzipped/$folder"
}

# ---- one track -> clips ----------------------------------------------------------
sanitize() { # a file name without extension -> [A-Za-z0-9._-], no "__"
    printf '%s' "$1" | tr -c 'A-Za-z0-9._-' '_' | tr -s '_'
}

clip_track() { # class track source
    local class=$1 track=$2 src=$3 stamp tmp full dur n k clip rms
    stamp="$DEST/work/done/$class/$track"
    [ -e "$stamp" ] && return
    mkdir -p "$DEST/clips/$class" "$DEST/work/done/$class"
    tmp="$DEST/work/tmp"
    rm -rf "$tmp" && mkdir -p "$tmp"
    full="$tmp/full.wav"
    # Mono, 16 kHz, peak-normalised to -1 dBFS per track (mastering levels
    # differ between the games: no loudness shortcut for the classifier).
    if ! sox -q "$src" -b 16 "$full" channels 1 rate -v 16000 gain -n -1 2>"$tmp/err"; then
        echo "fetch_real_music: $src: sox failed: $(head -c 300 "$tmp/err")" >&2
        : >"$stamp"
        return
    fi
    dur=$(soxi -D "$full")
    n=$(python3 -c "import sys; print(min(int(float(sys.argv[1]) // $CLIP_SECONDS), $MAX_CLIPS))" "$dur")
    : >"$tmp/list"
    for ((k = 0; k < n; k++)); do
        clip="$DEST/clips/$class/${track}__${k}.wav"
        sox -q "$full" "$tmp/clip.wav" trim $((k * CLIP_SECONDS)) $CLIP_SECONDS
        rms=$(sox "$tmp/clip.wav" -n stat 2>&1 | awk '/^RMS +amplitude/ {print $3}')
        if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= float(sys.argv[2]) else 1)" "$rms" "$MIN_RMS"; then
            mv "$tmp/clip.wav" "$clip"
            echo "${track}__${k}.wav" >>"$tmp/list"
        else
            echo "fetch_real_music: $class/${track}__${k}: RMS $rms below $MIN_RMS, skipped" >&2
        fi
    done
    # The stamp lists the clips and records the source: the manifest is built from it.
    { echo "# $src"; cat "$tmp/list"; } >"$stamp.tmp" && mv "$stamp.tmp" "$stamp"
    rm -rf "$tmp"
}

for entry in "${SOURCES[@]}"; do
    IFS='|' read -r class pkg archive folder exclude <<<"$entry"
    fetch_package "$pkg"
    root=$(tracks_root "$pkg" "$archive" "$folder")
    [ -d "$root" ] || { echo "fetch_real_music: $pkg: no folder $folder" >&2; exit 1; }
    declare -A seen=()
    count=0
    while IFS= read -r src; do
        base=$(basename "${src%.*}")
        [[ $base =~ $exclude ]] && continue
        dur=$(soxi -D "$src" 2>/dev/null || echo 0)
        # at least one whole clip
        python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) >= $CLIP_SECONDS else 1)" "$dur" || continue
        track=$(sanitize "$base")
        if [ -n "${seen[$track]:-}" ]; then # same name in two sub-folders
            track=$(sanitize "$(basename "$(dirname "$src")")-$base")
        fi
        seen[$track]=1
        clip_track "$class" "$track" "$src"
        count=$((count + 1))
    done < <(find "$root" -type f -iname '*.ogg' | LC_ALL=C sort)
    unset seen
    echo "fetch_real_music: $class ($pkg): $count tracks" >&2
done

# ---- track-level split and the manifest ---------------------------------------------
python3 - "$DEST" "$SEED" "${SOURCES[@]}" <<'PY'
import os, random, re, sys

dest, seed, sources = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
package = {s.split('|')[0]: s.split('|')[1] for s in sources}
FRACTIONS = (('test', 0.15), ('valid', 0.15))

def group_of(track):
    """Variants of one piece share a group: foo, foo2, foo_old, foo_remix,
    foo-epic, foo_map, Composer-Series01..06; drascula's trackN stay apart."""
    s = track.lower()
    if re.fullmatch(r'track\d+', s):
        return s
    s = re.sub(r'([_-](old|remix|revisited|epic|map))+$', '', s)
    s = re.sub(r'[_-]?\d+$', '', s)
    return s.strip('_-') or track.lower()

rows, tracks = [], []
for cls in package:
    done = os.path.join(dest, 'work', 'done', cls)
    if not os.path.isdir(done):
        continue
    clips_of, source_of = {}, {}
    for track in sorted(os.listdir(done)):
        if track.endswith('.tmp'):
            continue
        with open(os.path.join(done, track)) as f:
            lines = f.read().splitlines()
        source_of[track] = lines[0][2:] if lines and lines[0].startswith('# ') else ''
        clips = [l for l in lines[1:] if l and os.path.exists(os.path.join(dest, 'clips', cls, l))]
        if clips:
            clips_of[track] = clips
    groups = {}
    for track in sorted(clips_of):
        groups.setdefault(group_of(track), []).append(track)
    order = sorted(groups)
    random.Random(f'{seed}:{cls}').shuffle(order)
    n = len(clips_of)
    target = {name: max(1, round(frac * n)) for name, frac in FRACTIONS}
    count = {'train': 0, 'valid': 0, 'test': 0}
    split_of = {}
    for g in order:
        size = len(groups[g])
        split = next((name for name, _ in FRACTIONS if count[name] + size <= target[name]), 'train')
        split_of[g] = split
        count[split] += size
    # A split left empty (every group too large for it): give it the smallest train group.
    for name, _ in FRACTIONS:
        if count[name] == 0:
            g = min((g for g in order if split_of[g] == 'train'), key=lambda g: (len(groups[g]), g), default=None)
            if g is not None:
                split_of[g] = name
                count[name] += len(groups[g])
                count['train'] -= len(groups[g])
    for g in sorted(groups):
        for track in groups[g]:
            split = split_of[g]
            tracks.append((cls, track, g, split, len(clips_of[track]), package[cls], source_of[track]))
            for clip in clips_of[track]:
                rows.append((f'clips/{cls}/{clip}', cls, split, f'{cls}/{track}'))

def write(path, header, lines):
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(header + '\n')
        for l in lines:
            f.write(','.join(str(x) for x in l) + '\n')
    os.replace(tmp, path)

write(os.path.join(dest, 'manifest.csv'), 'path,label,split,group', sorted(rows))
rel = lambda p: os.path.relpath(p, dest) if p.startswith(dest) else p
write(os.path.join(dest, 'tracks.csv'), 'class,track,group,split,clips,package,source',
      [t[:6] + (rel(t[6]),) for t in tracks])

# summary
print(f'{"class":12s} {"package":20s} ' + ' '.join(f'{s:>13s}' for s in ('train', 'valid', 'test', 'all')) +
      '   (tracks/clips)')
tot = {}
for cls in package:
    cells = []
    for split in ('train', 'valid', 'test', None):
        sel = [t for t in tracks if t[0] == cls and (split is None or t[3] == split)]
        cells.append(f'{len(sel):5d}/{sum(t[4] for t in sel):<7d}')
        a = tot.setdefault(split, [0, 0])
        a[0] += len(sel); a[1] += sum(t[4] for t in sel)
    print(f'{cls:12s} {package[cls]:20s} ' + ' '.join(f'{c:>13s}' for c in cells))
print(f'{"total":12s} {"":20s} ' + ' '.join(f'{tot[s][0]:5d}/{tot[s][1]:<7d}'.rjust(13) for s in ('train', 'valid', 'test', None)))
print(f'wrote {os.path.join(dest, "manifest.csv")} ({len(rows)} clips)')
PY
