"""Your own search space: a MobileNet-style macro space declared from a ConfigSpace, searched by
MetaNASSampler, every architecture trained for real.

Five blocks, each an inverted-residual ("mbconv") block with kernel 3 or 5 and expansion 3 or 6,
or a skip; the operation names (``mbconv_k3_e3``, ``mbconv_k5_e6``, ``skip``) are free text that
the meta-predictor reads through nas_meta_tune's operation grammar (``resolve_op`` for the token,
``describe_op`` for the kernel and expansion ratio that tell the four mbconv kinds apart). Each
architecture is a small CNN trained on scikit-learn's real 8x8 handwritten digits (1,797 images,
no download), scored by validation accuracy. The meta-predictor never saw this space.

    python examples/custom_space.py --trials 20
    python examples/custom_space.py --smoke-test
"""

from __future__ import annotations

import argparse

import optuna
import torch
from ConfigSpace import ConfigurationSpace
from torch import nn

from nas_meta_tune.samplers import MetaNASSampler
from nas_meta_tune.spaces import from_configspace

OPS = ["mbconv_k3_e3", "mbconv_k3_e6", "mbconv_k5_e3", "mbconv_k5_e6", "skip"]


class MBConv(nn.Module):
    """Inverted residual: 1x1 expand, depthwise kxk, 1x1 project, residual."""

    def __init__(self, channels: int, kernel: int, expand: int) -> None:
        super().__init__()
        hidden = channels * expand
        self.body = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, hidden, kernel, padding=kernel // 2, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU6(),
            nn.Conv2d(hidden, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def build(params: dict, channels: int = 16) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(1, channels, 3, padding=1), nn.ReLU()]
    for i in range(5):
        op = params[f"block{i}"]
        if op != "skip":
            _, k, e = op.split("_")
            layers.append(MBConv(channels, int(k[1:]), int(e[1:])))
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10)]
    return nn.Sequential(*layers)


def digits(seed: int = 0):
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    x = torch.tensor(x, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16.0
    y = torch.tensor(y)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    cut = int(0.7 * len(y))
    return (x[perm[:cut]], y[perm[:cut]]), (x[perm[cut:]], y[perm[cut:]])


def train(params: dict, data, epochs: int, seed: int = 0) -> float:
    (xt, yt), (xv, yv) = data
    torch.manual_seed(seed)
    net = build(params)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for _ in range(epochs):
        net.train()
        for i in range(0, len(yt), 64):
            opt.zero_grad()
            nn.functional.cross_entropy(net(xt[i : i + 64]), yt[i : i + 64]).backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        return 100.0 * float((net(xv).argmax(1) == yv).float().mean())


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--trials", type=int, default=20, help="architectures to train")
    p.add_argument("--epochs", type=int, default=6, help="training epochs per architecture")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--smoke-test", action="store_true", help="3 trials of 1 epoch")
    args = p.parse_args(argv)
    if args.smoke_test:
        args.trials, args.epochs = 3, 1
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.set_num_threads(2)

    # the whole declaration: a ConfigSpace of architecture choices, and a name
    cs = ConfigurationSpace({f"block{i}": OPS for i in range(5)}, seed=args.seed)
    space = from_configspace(cs, name="mobilenet_digits")

    data = digits(args.seed)

    def objective(trial: optuna.Trial) -> float:
        arch = space.suggest(trial)  # proposed by MetaNASSampler
        return train(arch.to_params(), data, args.epochs, seed=args.seed)

    sampler = MetaNASSampler(space, seed=args.seed)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=args.trials)
    print(f"space {space.name}: {len(space.enumerate())} architectures, ops {space.local_ops[2:]}")
    for t in study.trials:
        print(f"trial {t.number:2d}: {t.value:6.2f}%  {[t.params[f'block{i}'] for i in range(5)]}")
    print(f"best: {study.best_value:.2f}% with {study.best_params}")
    print(
        f"surrogate weights (transfer GP, target-only GP): {sampler.proposer.last_info.get('weights')}"
    )


if __name__ == "__main__":
    main()
