#include "audio/encode.h"

#include <sndfile.h>
#include <stdio.h>
#include <string.h>

#include "tensor/error.h"
#include "tensor/fileio.h"

mrnet_status audio_write_wav16(const char *path, const float *x, int channels, int64_t frames, int rate)
{
    mrnet_atomic_file af;
    MRNET_TRY(mrnet_atomic_open(&af, path));
    /* libsndfile writes (and seeks to patch the header) through the
     * temporary's descriptor; the atomic file then syncs and renames it. */
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    fflush(af.f);
    SNDFILE *snd = sf_open_fd(fileno(af.f), SFM_WRITE, &info, 0);
    if (!snd) {
        mrnet_atomic_abort(&af);
        return mrnet_fail(MRNET_ERR_IO, "%s: cannot write WAV: %s", path, sf_strerror(NULL));
    }
    sf_count_t w = sf_writef_float(snd, x, (sf_count_t)frames);
    int rc = sf_close(snd);
    if (w != (sf_count_t)frames || rc != 0) {
        mrnet_atomic_abort(&af);
        return mrnet_fail(MRNET_ERR_IO, "%s: short write (disk full?)", path);
    }
    return mrnet_atomic_commit(&af);
}

bool audio_wav_matches(const char *path, int rate, int channels, int64_t frames)
{
    SF_INFO info;
    memset(&info, 0, sizeof info);
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    if (!f)
        return false;
    sf_close(f);
    return info.samplerate == rate && info.channels == channels && (int64_t)info.frames == frames;
}
