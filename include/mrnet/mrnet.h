/* mrnet: the MRNet music classifier as a C library.
 *
 * This header includes every public header:
 *   mrnet/common.h   status codes, errors, version
 *   mrnet/model.h    the network, checkpoints, optimizer, schedule
 *   mrnet/audio.h    decoding audio files and PCM, resampling
 *   mrnet/frontend.h WavLM Base+: hidden states of 16 kHz audio
 *   mrnet/features.h log-mel, waveform and WavLM features of files and PCM
 *   mrnet/data.h     datasets: folders, manifests, GTZAN, FMA, Melon, folds
 *   mrnet/store.h    feature stores: extraction and reading
 *   mrnet/infer.h    classifying and embedding files, PCM and features
 *   mrnet/eval.h     metrics and evaluation on a store
 *   mrnet/train.h    training with the recipe, cross-validation
 *   mrnet/baseline.h an RBF-SVM on clip statistics: the baseline to beat
 *   mrnet/plot.h     SVG charts, spectrogram images
 *   mrnet/io.h       safetensors, .npy, float16, atomic files, paths
 *
 * Every function that can fail returns an mrnet_status; on failure
 * mrnet_last_error() gives a sentence naming the file, tensor or option and
 * the problem. The library never exits or aborts on bad input. */
#ifndef MRNET_MRNET_H
#define MRNET_MRNET_H

#include <mrnet/common.h>
#include <mrnet/model.h>
#include <mrnet/audio.h>
#include <mrnet/frontend.h>
#include <mrnet/features.h>
#include <mrnet/data.h>
#include <mrnet/store.h>
#include <mrnet/infer.h>
#include <mrnet/eval.h>
#include <mrnet/train.h>
#include <mrnet/baseline.h>
#include <mrnet/plot.h>
#include <mrnet/io.h>
#include <mrnet/collection.h>
#include <mrnet/bench.h>
#include <mrnet/serve.h>
#include <mrnet/parallel.h>

#endif
