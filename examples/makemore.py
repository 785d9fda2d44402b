"""makemore: character-level language models that invent names, trained on minigrad.

The data are the 32,033 given names of ``examples/data/names.txt`` (the data
set of Andrej Karpathy's makemore exercises, MIT License, Copyright (c) 2022
Andrej Karpathy; the names come from the U.S. Social Security Administration's
baby-name lists; see ``examples/data/README.md``). Each name is a sequence of
the characters a-z ended by ``.`` (token 0), which also starts it. The names
are shuffled once (seed 42) and split 80 / 10 / 10 into train / validation /
test, as in makemore.

Two models predict the next character:

* ``mlp`` -- makemore's MLP (Bengio et al. 2003): the previous 3 characters,
  each embedded in 10 dimensions, through a 200-unit layer with BatchNorm and
  tanh, to 27 scores. About 2.1 nats of validation loss is what it reaches.
* ``transformer`` -- a tiny causal transformer: token and position embeddings
  (64), 2 pre-norm blocks of 4-head causal self-attention and a GELU MLP, a
  final LayerNorm and a linear head; it reads a whole name (context 16) and
  predicts every next character at once.

Both train with AdamW and a cosine learning-rate schedule, report the mean
cross-entropy per character (nats) on the train and validation splits, and
print sampled names (``*`` marks a name that is in the training data).
``--compile`` runs each training step through ``mg.compile``.

Run:  python examples/makemore.py [--model mlp|transformer|both] [--steps N] [--compile]
A tiny version (seconds): python examples/makemore.py --steps 50 --max-words 2000 --n-embd 16
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path
from typing import Any

# One BLAS thread: these matrices are small, and threads cost more than they give
# (10x slower steps on a busy 2-core machine). Set before NumPy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import minigrad as mg  # noqa: E402

nn = mg.nn
DATA = Path(__file__).resolve().parent / "data" / "names.txt"
CHARS = "abcdefghijklmnopqrstuvwxyz"
STOI = {c: i + 1 for i, c in enumerate(CHARS)} | {".": 0}
ITOS = {i: c for c, i in STOI.items()}
VOCAB = len(STOI)  # 27: '.' and a-z


def load_words(path: str | Path = DATA, max_words: int | None = None
               ) -> tuple[list[str], list[str], list[str]]:
    """The names, shuffled with seed 42 and split 80 / 10 / 10 (train, val, test)."""
    words = [w for w in Path(path).read_text().split() if w]
    bad = sorted({c for w in words for c in w} - set(CHARS))
    if bad:
        raise ValueError(f"makemore: {path} contains characters outside a-z: {bad}")
    random.Random(42).shuffle(words)
    words = words[:max_words]
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    return words[:n1], words[n1:n2], words[n2:]


def context_windows(words: list[str], block_size: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y) for the MLP: each character of each name (and the final '.') with the
    ``block_size`` characters before it ('.'-padded) as context."""
    X, Y = [], []
    for word in words:
        context = [0] * block_size
        for ch in word + ".":
            X.append(context)
            Y.append(STOI[ch])
            context = context[1:] + [STOI[ch]]
    return np.array(X, dtype=np.int64), np.array(Y, dtype=np.int64)


def sequences(words: list[str], block_size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """(X, Y) for the transformer: X = '.' + name, Y = name + '.', padded to
    ``block_size``; padded targets are -1 and count for nothing in the loss."""
    X = np.zeros((len(words), block_size), dtype=np.int64)
    Y = np.full((len(words), block_size), -1, dtype=np.int64)
    for i, word in enumerate(words):
        if len(word) >= block_size:
            raise ValueError(f"makemore: the name {word!r} has {len(word)} characters; "
                             f"--block-size must be at least {len(word) + 1}.")
        tokens = [STOI[c] for c in word]
        X[i, 1:len(tokens) + 1] = tokens
        Y[i, :len(tokens) + 1] = tokens + [0]
    return X, Y


# ---------------------------------------------------------------------------
# The two models
# ---------------------------------------------------------------------------


class MLP(nn.Module):
    """makemore's MLP: embed the context, Linear (no bias: BatchNorm's shift
    replaces it) -> BatchNorm1d -> tanh -> Linear to 27 scores."""

    def __init__(self, block_size: int = 3, n_embd: int = 10, n_hidden: int = 200,
                 rng: Any = None) -> None:
        rng = np.random.default_rng(rng)
        self.block_size = block_size
        self.embedding = nn.Embedding(VOCAB, n_embd, rng=rng)
        self.hidden = nn.Linear(block_size * n_embd, n_hidden, bias=False, rng=rng)
        self.norm = nn.BatchNorm1d(n_hidden)
        self.out = nn.Linear(n_hidden, VOCAB, rng=rng)
        with mg.no_grad():
            self.out.weight.data *= 0.1  # start near uniform: loss about log(27) = 3.3

    def forward(self, idx: Any) -> mg.Tensor:
        e = self.embedding(idx)                               # (N, block, n_embd)
        h = self.norm(self.hidden(e.reshape(e.shape[0], -1))).tanh()
        return self.out(h)                                    # (N, 27) scores

    def loss(self, X: Any, Y: Any, forward: Any = None) -> mg.Tensor:
        return mg.losses.cross_entropy((forward or self)(X), Y)


class Transformer(nn.Module):
    """A tiny GPT: token + position embeddings, causal TransformerBlocks,
    LayerNorm, a linear head; (N, T) indices -> (N, T, 27) scores."""

    def __init__(self, block_size: int = 16, n_embd: int = 64, n_head: int = 4,
                 n_layer: int = 2, rng: Any = None) -> None:
        rng = np.random.default_rng(rng)
        self.block_size = block_size
        self.token = nn.Embedding(VOCAB, n_embd, rng=rng)
        self.position = nn.Embedding(block_size, n_embd, rng=rng)
        self.blocks = nn.ModuleList([nn.TransformerBlock(n_embd, n_head, causal=True, rng=rng)
                                     for _ in range(n_layer)])
        self.norm = nn.LayerNorm(n_embd)
        self.head = nn.Linear(n_embd, VOCAB, rng=rng)

    def forward(self, idx: Any) -> mg.Tensor:
        T = np.shape(idx)[1]
        x = self.token(idx) + self.position(np.arange(T))
        for block in self.blocks:
            x = block(x)
        return self.head(self.norm(x))

    def loss(self, X: Any, Y: Any, forward: Any = None) -> mg.Tensor:
        """Mean cross-entropy over the real (not padded) positions; ``forward``
        (default: the model itself) computes the scores."""
        targets = np.asarray(Y).reshape(-1)
        keep = targets >= 0
        logits = (forward or self)(X).reshape(-1, VOCAB)
        return mg.losses.cross_entropy(logits[keep], targets[keep])


# ---------------------------------------------------------------------------
# Training, evaluation, sampling
# ---------------------------------------------------------------------------


def progress(iterable: Any, enabled: bool, **kwargs: Any) -> Any:
    """tqdm's bar when tqdm is installed (the ``progress`` extra), else the iterable."""
    if enabled:
        try:
            from tqdm import tqdm
        except ImportError:
            pass
        else:
            return tqdm(iterable, **kwargs)
    return iterable


def split_loss(model: nn.Module, X: np.ndarray, Y: np.ndarray, chunk: int = 8192) -> float:
    """Mean loss per character over a whole split, in evaluation mode."""
    model.eval()
    total = count = 0.0
    with mg.no_grad():
        for start in range(0, len(X), chunk):
            x, y = X[start:start + chunk], Y[start:start + chunk]
            n = float(np.sum(y >= 0))
            total += model.loss(x, y).item() * n
            count += n
    model.train()
    return total / count


def calibrate_batchnorm(model: nn.Module, X: np.ndarray, chunk: int = 16384) -> None:
    """Set every BatchNorm's running mean and variance to the training set's
    statistics (one pass, no gradients), as makemore does at the end of training.
    Needed after compiled training: mg.compile replays the arithmetic of a step,
    not the running-statistics update BatchNorm does on the side."""
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.running_mean.data[...] = 0
        m.running_var.data[...] = 1
        m.num_batches_tracked.data[...] = 0
        m.momentum = None  # a cumulative average over the chunks
    model.train()
    with mg.no_grad():
        for start in range(0, len(X), chunk):
            model(X[start:start + chunk])
    for m, momentum in zip(norms, saved):
        m.momentum = momentum


def train(model: nn.Module, X: np.ndarray, Y: np.ndarray, steps: int, batch_size: int,
          lr: float, weight_decay: float = 0.01, seed: int = 0, compile: bool = False,
          bar: bool = True, name: str = "") -> list[float]:
    """AdamW with a cosine schedule; returns the training loss of every step."""
    optimizer = mg.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = mg.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    # Compiled: the model's forward and backward run as generated NumPy code; the
    # loss (which selects the real, unpadded positions) stays eager.
    forward = mg.compile(model) if compile else model
    rng = np.random.default_rng(seed)
    losses = []
    steps_bar = progress(range(steps), bar, desc=name, unit="step", mininterval=0.5)
    for step in steps_bar:
        ix = rng.integers(0, len(X), batch_size)
        optimizer.zero_grad()
        loss = model.loss(X[ix], Y[ix], forward)
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if hasattr(steps_bar, "set_postfix") and (step % 100 == 0 or step == steps - 1):
            steps_bar.set_postfix(loss=f"{np.mean(losses[-100:]):.3f}")
    return losses


def sample(model: nn.Module, n: int = 20, seed: int = 0, max_length: int = 30) -> list[str]:
    """``n`` names drawn one character at a time from the model's softmax."""
    rng = np.random.default_rng(seed)
    model.eval()
    names = []
    with mg.no_grad():
        for _ in range(n):
            if isinstance(model, MLP):
                context, out = [0] * model.block_size, []
                while len(out) < max_length:
                    probs = mg.softmax(model(np.array([context])), axis=-1).data[0]
                    ix = int(rng.choice(VOCAB, p=probs / probs.sum()))
                    if ix == 0:
                        break
                    out.append(ix)
                    context = context[1:] + [ix]
            else:
                tokens, out = [0], []
                while len(out) < model.block_size - 1:
                    probs = mg.softmax(model(np.array([tokens])), axis=-1).data[0, -1]
                    ix = int(rng.choice(VOCAB, p=probs / probs.sum()))
                    if ix == 0:
                        break
                    out.append(ix)
                    tokens.append(ix)
            names.append("".join(ITOS[i] for i in out))
    model.train()
    return names


def run(kind: str, splits: tuple[list[str], list[str], list[str]], args: argparse.Namespace
        ) -> dict[str, Any]:
    train_words, val_words, _ = splits
    if kind == "mlp":
        model: nn.Module = MLP(args.context, args.n_embd or 10, args.hidden, rng=args.seed)
        make = context_windows
        size = args.context
    else:
        model = Transformer(args.block_size, args.n_embd or 64, args.n_head, args.n_layer,
                            rng=args.seed)
        make = sequences
        size = args.block_size
    X, Y = make(train_words, size)
    Xv, Yv = make(val_words, size)
    steps = args.steps or (20_000 if kind == "mlp" else 4_000)
    batch = args.batch_size or (256 if kind == "mlp" else 32)
    lr = args.lr or (5e-3 if kind == "mlp" else 3e-3)
    n_params = sum(p.size for p in model.parameters())
    print(f"{kind}: {n_params:,} parameters; {steps} steps of {batch} "
          f"{'contexts' if kind == 'mlp' else 'names'}, AdamW lr {lr:g} (cosine)"
          f"{', compiled' if args.compile else ''}")
    start = time.perf_counter()
    losses = train(model, X, Y, steps, batch, lr, weight_decay=0.0 if kind == "mlp" else 0.01,
                   seed=args.seed, compile=args.compile, bar=not args.quiet, name=kind)
    seconds = time.perf_counter() - start
    if args.compile:
        calibrate_batchnorm(model, X)
    result = {"model": model, "losses": losses, "seconds": seconds,
              "train_loss": split_loss(model, X, Y), "val_loss": split_loss(model, Xv, Yv)}
    print(f"{kind}: trained in {seconds:.1f} s ({1e3 * seconds / steps:.2f} ms/step); "
          f"loss per character: train {result['train_loss']:.4f}, "
          f"validation {result['val_loss']:.4f} nats")
    known = set(train_words)
    names = sample(model, args.samples, seed=args.seed)
    result["samples"] = names
    if names:
        print(f"{kind}: {len(names)} sampled names (* = in the training data):")
        print("  " + ", ".join(name + ("*" if name in known else "") for name in names))
    return result


def main(argv: list[str] | None = None) -> dict[str, dict[str, Any]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["mlp", "transformer", "both"], default="both")
    parser.add_argument("--steps", type=int, help="training steps (mlp 20,000; transformer "
                        "4,000)")
    parser.add_argument("--batch-size", type=int, help="mlp 256 contexts; transformer 32 names")
    parser.add_argument("--lr", type=float, help="peak learning rate (mlp 5e-3; transformer "
                        "3e-3)")
    parser.add_argument("--n-embd", type=int, help="embedding size (mlp 10; transformer 64)")
    parser.add_argument("--context", type=int, default=3, help="mlp: characters of context")
    parser.add_argument("--hidden", type=int, default=200, help="mlp: hidden units")
    parser.add_argument("--block-size", type=int, default=16, help="transformer: context")
    parser.add_argument("--n-head", type=int, default=4)
    parser.add_argument("--n-layer", type=int, default=2)
    parser.add_argument("--max-words", type=int, help="use only the first N shuffled names")
    parser.add_argument("--samples", type=int, default=20, help="names to sample")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compile", action="store_true", help="train through mg.compile")
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    splits = load_words(args.data, args.max_words)
    print(f"names: {len(splits[0])} train, {len(splits[1])} validation, {len(splits[2])} test")
    kinds = ["mlp", "transformer"] if args.model == "both" else [args.model]
    return {kind: run(kind, splits, args) for kind in kinds}


if __name__ == "__main__":
    main()
