/* Crops and sliding windows of a track (mrnet/infer.h). */
#include <mrnet/infer.h>

#include <string.h>

void mrnet_crop_wrap(const float *src, int channels, int64_t T, int64_t t0, int64_t len, float *dst)
{
    if (T <= 0 || len <= 0)
        return;
    for (int c = 0; c < channels; c++) {
        const float *s = src + (size_t)c * (size_t)T;
        float *d = dst + (size_t)c * (size_t)len;
        int64_t pos = t0 % T, k = 0;
        while (k < len) {
            int64_t run = T - pos < len - k ? T - pos : len - k;
            memcpy(d + k, s + pos, sizeof(float) * (size_t)run);
            k += run;
            pos = 0;
        }
    }
}

int64_t mrnet_window_count(int64_t T, int64_t len, int64_t hop)
{
    if (T <= len || hop <= 0)
        return 1;
    return 1 + (T - len + hop - 1) / hop;
}

int64_t mrnet_window_start(int64_t T, int64_t len, int64_t hop, int64_t index)
{
    if (T <= len || hop <= 0)
        return 0;
    int64_t start = index * hop;
    return start > T - len ? T - len : start;
}
