/* Weighted cross entropy, the release's CCE head loss:
 *   loss = sum_b wt[y_b] * (logsumexp(z_b) - z_b[y_b]) / sum_b wt[y_b],
 * PyTorch's F.cross_entropy(weight=wt, reduction='mean'). Rows are tiny (K
 * classes), so everything runs serially in double. */
#include "nn/nn.h"

#include <math.h>

/* log(sum_k exp(z_k)) of one row, the maximum subtracted: no overflow in exp. */
static double row_logsumexp(const float *z, int K)
{
    double mx = z[0];
    for (int k = 1; k < K; k++)
        mx = z[k] > mx ? z[k] : mx;
    double sum = 0.0;
    for (int k = 0; k < K; k++)
        sum += exp(z[k] - mx);
    return mx + log(sum);
}

// logits (B,K), labels (B) -> loss, dlogits (B,K) = wt[y_b] (softmax(z_b) - onehot(y_b)) / W
// with W = sum_b wt[y_b]. An all-zero weight sum gives NaN, as PyTorch does.
double cross_entropy_forward_backward(const float *logits, const int *labels,
                                      const float *class_weight, float *dlogits, int B, int K)
{
    double wsum = 0.0;
    for (int b = 0; b < B; b++)
        wsum += class_weight ? class_weight[labels[b]] : 1.0;
    return cross_entropy_partial(logits, labels, class_weight, dlogits, B, K, wsum);
}

double cross_entropy_partial(const float *logits, const int *labels, const float *class_weight,
                             float *dlogits, int B, int K, double wsum)
{
    double loss = 0.0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K;
        float *dz = dlogits + (size_t)b * K;
        const int y = labels[b];
        const double wt = class_weight ? class_weight[y] : 1.0, scale = wt / wsum;
        const double lse = row_logsumexp(z, K);
        loss += wt * (lse - z[y]);
        for (int k = 0; k < K; k++)
            dz[k] = (float)(scale * (exp(z[k] - lse) - (k == y ? 1.0 : 0.0)));
    }
    return loss / wsum;
}

/* Soft targets (mixup, label smoothing): with q_b a distribution over the K
 * classes and w the class weights,
 *   loss = sum_b sum_k q_bk w_k (lse_b - z_bk) / W,   W = sum_b sum_k q_bk w_k,
 * a weighted mean of the rows' cross entropies, each row weighted by its
 * target's expected class weight. One-hot rows give the hard loss above
 * exactly; a mixup pair (lambda q_i + (1 - lambda) q_j) gives lambda times
 * the loss of q_i plus (1 - lambda) times that of q_j over the batch.
 * dlogits_bj = (sum_k q_bk w_k softmax(z_b)_j - q_bj w_j) / W. */
double cross_entropy_soft_forward_backward(const float *logits, const float *targets,
                                           const float *class_weight, float *dlogits, int B,
                                           int K)
{
    double wsum = 0.0;
    for (int b = 0; b < B; b++)
        for (int k = 0; k < K; k++)
            wsum += (double)targets[(size_t)b * K + k] * (class_weight ? class_weight[k] : 1.0);
    return cross_entropy_soft_partial(logits, targets, class_weight, dlogits, B, K, wsum);
}

double cross_entropy_soft_partial(const float *logits, const float *targets,
                                  const float *class_weight, float *dlogits, int B, int K,
                                  double wsum)
{
    double loss = 0.0;
    for (int b = 0; b < B; b++) {
        const float *z = logits + (size_t)b * K, *q = targets + (size_t)b * K;
        float *dz = dlogits + (size_t)b * K;
        const double lse = row_logsumexp(z, K);
        double row_weight = 0.0; /* sum_k q_bk w_k */
        for (int k = 0; k < K; k++) {
            const double qw = (double)q[k] * (class_weight ? class_weight[k] : 1.0);
            row_weight += qw;
            loss += qw * (lse - z[k]);
        }
        for (int k = 0; k < K; k++) {
            const double qw = (double)q[k] * (class_weight ? class_weight[k] : 1.0);
            dz[k] = (float)((row_weight * exp(z[k] - lse) - qw) / wsum);
        }
    }
    return loss / wsum;
}
