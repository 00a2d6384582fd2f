/* Training with the paper's recipe on a feature store (data/featstore.h):
 * AdamW (amsgrad) with cosine warm restarts set per epoch, mini-batches of
 * random 6-second crops (wrap-padded), Gaussian noise per mini-batch, class
 * weights, dropout, validation on the first 6 seconds every epoch, best and
 * last checkpoints written atomically.
 *
 * Reproducibility: every random draw comes from a stream derived from the
 * seed and its position (epoch, batch, example), never from shared state,
 * so a run is the same for any thread count (up to float reordering) and a
 * resumed run continues exactly where the interrupted one stopped. */
#ifndef MRNET_TRAIN_TRAINER_H
#define MRNET_TRAIN_TRAINER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <mrnet/train.h>
#include "train/augment.h"

#endif
