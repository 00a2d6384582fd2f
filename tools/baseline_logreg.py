#!/usr/bin/python3
"""A simple baseline on a feature store (mrnet extract): multinomial logistic
regression on per-clip statistics of the log-mel bands.

    /usr/bin/python3 tools/baseline_logreg.py STORE [--l2 LIST] [--iters N] [--json FILE]
    /usr/bin/python3 tools/baseline_logreg.py STORE --predictions PRED.csv [--json FILE]

Features: for every clip the mean and the standard deviation over time of each
band (S x D bands; 48 log-mel bands give 96 numbers), standardised with the
training set's mean and std. Model: softmax regression trained by plain
full-batch gradient descent on the class-weighted cross entropy (weight of
class k = largest training class count / count of k, as mrnet train does) plus
L2 / 2 * |W|^2 (not on the bias). L2 is picked on the valid split (accuracy,
then macro-F1), then accuracy and macro-F1 are reported on valid and test,
per clip and per track: a track's clips (the file name part before "__") are
averaged in probability. Macro-F1 averages the classes that occur in the
split's labels or predictions (like mrnet's metrics). numpy only.

With --predictions, no model is trained: the per-clip class probabilities that
`mrnet predict CKPT FILES --format csv --top K` wrote are scored the same way,
so MRNet gets the same clip- and track-level figures.

Store format (docs/FEATURES.md): STORE/index.jsonl holds a header line, label
lines and one entry per source (the last record of a source wins; a torn last
line is ignored); an entry's "file" is its (S, D, T) .npy, relative to the
store unless "external" is true.
"""
import argparse
import json
import os
import sys

import numpy as np


def read_index(store):
    path = os.path.join(store, "index.jsonl")
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if not data.endswith(b"\n"):
        lines = lines[:-1]  # torn last line: ignored, as the C reader does
    labels, entries = [], {}
    for n, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        obj = json.loads(raw)
        if n == 1:
            if obj.get("format") != "mrnet-featstore":
                sys.exit(f"{path}: not a feature store index (first line lacks the format)")
        elif "labels" in obj:
            labels = list(obj["labels"])
        else:
            entries[obj["source"]] = obj
    return labels, list(entries.values())


def track_of(entry):
    """The track: the source's file name without extension, before "__"."""
    stem = os.path.splitext(os.path.basename(entry["source"]))[0]
    return entry["label"] + "/" + stem.split("__")[0]


def clip_features(store, entry):
    file = entry["file"] if entry.get("external") else os.path.join(store, entry["file"])
    x = np.load(file).astype(np.float64)  # (S, D, T)
    x = x.reshape(-1, x.shape[-1])
    return np.concatenate([x.mean(axis=1), x.std(axis=1)])


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def train_logreg(x, y, k, l2, iters, sample_weight):
    """Plain gradient descent on the weighted mean cross entropy + l2/2 |W|^2.
    Step 1/L with L = lambda_max(X^T diag(w) X) / (2 sum w) + l2, the Boehning
    bound on the softmax loss's Hessian: every step decreases the loss."""
    n, d = x.shape
    xb = np.hstack([x, np.ones((n, 1))])
    w = sample_weight / sample_weight.sum()
    lipschitz = 0.5 * np.linalg.eigvalsh((xb * w[:, None]).T @ xb)[-1] + l2
    step = 1.0 / lipschitz
    onehot = np.eye(k)[y]
    theta = np.zeros((d + 1, k))
    reg = np.ones((d + 1, 1))
    reg[-1] = 0  # no penalty on the bias
    for _ in range(iters):
        p = softmax(xb @ theta)
        grad = xb.T @ ((p - onehot) * w[:, None]) + l2 * reg * theta
        theta -= step * grad
    p = softmax(xb @ theta)
    loss = -(w * np.log(p[np.arange(n), y] + 1e-300)).sum() + 0.5 * l2 * ((reg * theta) ** 2).sum()
    return theta, loss


def predict_proba(theta, x):
    return softmax(np.hstack([x, np.ones((len(x), 1))]) @ theta)


def scores(y, pred, k):
    """Accuracy and macro-F1 over the classes present in y or pred."""
    acc = float((y == pred).mean()) if len(y) else float("nan")
    f1s = []
    for c in range(k):
        tp = int(((y == c) & (pred == c)).sum())
        support, predicted = int((y == c).sum()), int((pred == c).sum())
        if support == 0 and predicted == 0:
            continue
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1s.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return acc, float(np.mean(f1s)) if f1s else float("nan")


def evaluate(theta, x, y, tracks, k):
    return evaluate_proba(predict_proba(theta, x), y, tracks, k)


def evaluate_proba(p, y, tracks, k):
    """Clip-level and track-level (probabilities averaged over a track's clips) scores."""
    clip = scores(y, p.argmax(axis=1), k)
    names = sorted(set(tracks))
    index = {t: i for i, t in enumerate(names)}
    sums = np.zeros((len(names), k))
    ty = np.zeros(len(names), dtype=int)
    for i, t in enumerate(tracks):
        sums[index[t]] += p[i]
        ty[index[t]] = y[i]
    track = scores(ty, sums.argmax(axis=1), k)
    return {"clips": len(y), "tracks": len(names), "clip_accuracy": clip[0], "clip_macro_f1": clip[1],
            "track_accuracy": track[0], "track_macro_f1": track[1]}


def read_predictions(path, labels):
    """`mrnet predict --format csv --top K` rows -> {canonical path: probabilities (K)}.
    Classes missing from a row (top < K) get probability 0."""
    import csv
    out = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row.get("start"):
                continue  # a --timeline window row, not the file's prediction
            p = np.zeros(len(labels))
            j = 1
            while f"label{j}" in row and row[f"label{j}"]:
                p[labels.index(row[f"label{j}"])] = float(row[f"probability{j}"])
                j += 1
            out[os.path.realpath(row["path"])] = p
    return out


def print_table(results, names):
    print(f"{'split':6s} {'clips':>5s} {'tracks':>6s}  {'clip acc':>8s} {'clip F1':>8s}  {'track acc':>9s} {'track F1':>8s}")
    for name in names:
        if name in results:
            r = results[name]
            print(f"{name:6s} {r['clips']:5d} {r['tracks']:6d}  {r['clip_accuracy']:8.3f} {r['clip_macro_f1']:8.3f}  "
                  f"{r['track_accuracy']:9.3f} {r['track_macro_f1']:8.3f}")


def write_json(path, results):
    with open(path + ".tmp", "w") as f:
        json.dump(results, f, indent=1)
    os.replace(path + ".tmp", path)


def score_predictions(args, labels, split_rows):
    """--predictions: the same clip/track scores for another model's per-clip output."""
    pred = read_predictions(args.predictions, labels)
    results = {"predictions": args.predictions, "labels": labels}
    for name, rows in split_rows.items():
        rows = [e for e in rows if os.path.realpath(e["source"]) in pred]
        missing = len(split_rows[name]) - len(rows)
        if missing:
            print(f"{args.predictions}: {missing} {name} clips have no prediction", file=sys.stderr)
        if rows:
            p = np.array([pred[os.path.realpath(e["source"])] for e in rows])
            y = np.array([labels.index(e["label"]) for e in rows], dtype=int)
            results[name] = evaluate_proba(p, y, [track_of(e) for e in rows], len(labels))
    print(f"predictions {args.predictions} on store {args.store}")
    print_table(results, ("train", "valid", "test"))
    if args.json:
        write_json(args.json, results)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("store", help="feature store folder (mrnet extract -o STORE)")
    ap.add_argument("--l2", default="1e-4,3e-4,1e-3,3e-3,1e-2,3e-2,1e-1,3e-1,1",
                    help="L2 strengths to try (comma-separated)")
    ap.add_argument("--iters", type=int, default=3000, help="gradient descent steps (default 3000)")
    ap.add_argument("--no-class-weights", action="store_true", help="plain cross entropy")
    ap.add_argument("--json", help="also write the results to this JSON file")
    ap.add_argument("--predictions", metavar="CSV",
                    help="instead of training: score `mrnet predict --format csv --top K` output "
                         "(K = number of classes) on the store's labels and splits, per clip and per track")
    args = ap.parse_args()

    labels, entries = read_index(args.store)
    k = len(labels)
    split_rows = {"train": [], "valid": [], "test": []}
    for e in entries:
        if e["label"] not in labels:  # unlabelled
            continue
        if e["split"] in split_rows:
            split_rows[e["split"]].append(e)
    if args.predictions:
        return score_predictions(args, labels, split_rows)
    if not split_rows["train"] or not split_rows["valid"]:
        sys.exit(f"{args.store}: needs entries with split train and valid")

    data = {}
    for name, rows in split_rows.items():
        rows.sort(key=lambda e: e["source"])
        x = np.array([clip_features(args.store, e) for e in rows]) if rows else np.zeros((0, 1))
        y = np.array([labels.index(e["label"]) for e in rows], dtype=int)
        data[name] = (x, y, [track_of(e) for e in rows])

    xtr, ytr, _ = data["train"]
    mean, std = xtr.mean(axis=0), xtr.std(axis=0)
    std[std == 0] = 1
    norm = {n: ((x - mean) / std if len(x) else x, y, t) for n, (x, y, t) in data.items()}

    counts = np.bincount(ytr, minlength=k)
    class_weight = np.where(counts > 0, counts.max() / np.maximum(counts, 1), 1.0)
    if args.no_class_weights:
        class_weight[:] = 1
    sample_weight = class_weight[ytr]

    print(f"store {args.store}: {k} classes {labels}; clips train {len(ytr)}, "
          f"valid {len(data['valid'][1])}, test {len(data['test'][1])}; {xtr.shape[1]} features")
    best = None
    for l2 in [float(v) for v in args.l2.split(",")]:
        theta, loss = train_logreg(norm["train"][0], ytr, k, l2, args.iters, sample_weight)
        tr = evaluate(theta, *norm["train"], k)
        va = evaluate(theta, *norm["valid"], k)
        print(f"  l2 {l2:<7g} train loss {loss:.4f} acc {tr['clip_accuracy']:.3f} | "
              f"valid acc {va['clip_accuracy']:.3f} macro-F1 {va['clip_macro_f1']:.3f}")
        key = (va["clip_accuracy"], va["clip_macro_f1"])
        if best is None or key > best[0]:
            best = (key, l2, theta)
    _, l2, theta = best
    results = {"l2": l2, "iters": args.iters, "labels": labels}
    print(f"picked l2 {l2:g} on valid")
    for name in ("train", "valid", "test"):
        if len(norm[name][1]):
            results[name] = evaluate(theta, *norm[name], k)
    print_table(results, ("train", "valid", "test"))
    if args.json:
        write_json(args.json, results)


if __name__ == "__main__":
    main()
