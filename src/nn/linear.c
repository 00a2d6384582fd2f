/* Linear layer as torch.nn.Linear: y = x W^T + b with W (out, in). All three
 * products are single GEMMs over the batch. */
#include "nn/nn.h"

#include <cblas.h>
#include <string.h>

// x (B,in) -> y (B,out) = x W^T + b
void linear_forward(const float *x, const float *weight, const float *bias, float *y, int B,
                    int in, int out)
{
    for (int b = 0; b < B; b++) {
        if (bias)
            memcpy(y + (size_t)b * out, bias, (size_t)out * sizeof(float));
        else
            memset(y + (size_t)b * out, 0, (size_t)out * sizeof(float));
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, out, in, 1.0f, x, in, weight, in,
                1.0f, y, out);
    nn_count_gemm(B, out, in);
}

// dy (B,out) -> dx (B,in) += (dx may be NULL), dweight (out,in) +=, dbias (out) +=
void linear_backward(const float *x, const float *weight, const float *dy, float *dx,
                     float *dweight, float *dbias, int B, int in, int out)
{
    if (dbias) {
        for (int o = 0; o < out; o++) {
            double acc = 0.0;
            for (int b = 0; b < B; b++)
                acc += dy[(size_t)b * out + o];
            dbias[o] += (float)acc;
        }
    }
    // dW (out,in) += dy^T (out,B) . x (B,in)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, B, 1.0f, dy, out, x, in, 1.0f,
                dweight, in);
    nn_count_gemm(out, in, B);
    // dx (B,in) += dy (B,out) . W (out,in)
    if (dx) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, in, out, 1.0f, dy, out, weight,
                    in, 1.0f, dx, in);
        nn_count_gemm(B, in, out);
    }
}
