/* mrnet_st_open on the input as a file, then what loaders do with it: read
 * metadata, convert every tensor to float32 (up to 1 M elements), look up
 * tensors by name with a wildcard shape. */
#include <mrnet/io.h>
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512];
    fuzz_write(path, sizeof path, "in.safetensors", data, size);
    mrnet_st_file *f = NULL;
    if (mrnet_st_open(path, &f) != MRNET_OK)
        return 0;
    (void)mrnet_st_meta(f, "mrnet.format");
    for (int i = 0; i < f->n_tensors; i++) {
        const mrnet_st_tensor *t = &f->tensors[i];
        if (mrnet_st_find(f, t->name) == NULL)
            abort();
        if (t->numel <= (1 << 20)) {
            float *buf = malloc((size_t)(t->numel > 0 ? t->numel : 1) * sizeof(float));
            if (buf)
                (void)mrnet_st_copy_to_f32(f, t, buf, t->numel);
            free(buf);
        }
        int64_t shape[MRNET_ST_MAX_DIMS];
        for (int d = 0; d < MRNET_ST_MAX_DIMS; d++)
            shape[d] = -1;
        const float *p = NULL;
        (void)mrnet_st_get_f32(f, t->name, t->ndim, shape, &p);
        char buf[256];
        (void)mrnet_shape_string(t->ndim, t->shape, buf, sizeof buf);
    }
    mrnet_st_close(f);
    return 0;
}
