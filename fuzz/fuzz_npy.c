/* npy_parse_header on the buffer, then npy_read_header + npy_load_f32 on the
 * input as a file. */
#include "tensor/npy.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    npy_header h;
    (void)npy_parse_header("in.npy", data, size, (int64_t)size, &h);
    char path[512];
    fuzz_write(path, sizeof path, "in.npy", data, size);
    if (npy_read_header(path, &h) == MRNET_OK) {
        float *x = NULL;
        if (npy_load_f32(path, &h, &x) == MRNET_OK)
            free(x);
    }
    return 0;
}
