/* Cosine annealing with warm restarts (torch CosineAnnealingWarmRestarts),
 * stepped once per epoch as the recipe does: epoch e (1-based) runs at the lr
 * after e scheduler steps. Cycle i has length T0 * T_mult^i. */
#include <limits.h>
#include <math.h>

#include "mrnet/mrnet.h"

double mrnet_cosine_restart_lr(long epoch, double lr_max, double lr_min, long T0, long T_mult)
{
    if (T0 < 1)
        T0 = 1;
    long t_cur = epoch < 0 ? 0 : epoch, t_i = T0;
    if (T_mult <= 1) { /* cycles of one length: no loop over them */
        t_cur %= t_i;
    } else {
        while (t_cur >= t_i) { /* the restart at the cycle's end starts the next one */
            t_cur -= t_i;
            /* past LONG_MAX the cycle is so long that its start is all that counts */
            t_i = t_i > LONG_MAX / T_mult ? LONG_MAX : t_i * T_mult;
        }
    }
    return lr_min + (lr_max - lr_min) * (1.0 + cos(M_PI * (double)t_cur / (double)t_i)) / 2.0;
}
