#!/usr/bin/env python3
"""Distributed data-parallel training with PyTorch on CPU (gloo): a small MLP on synthetic
regression data, one process per rank, gradients averaged by DistributedDataParallel.

As a platform job (the executor starts every rank with MASTER_ADDR, MASTER_PORT, WORLD_SIZE,
RANK, LOCAL_RANK, and gives rank 0 the job's run in MLFLOW_RUN_ID):

    mlp job submit --name ddp --kind training --experiment ddp --replicas 2 --wait -- \
        .venv/bin/python examples/distributed_train.py --epochs 5

By hand, on one machine, with torchrun (which sets the same variables):

    MLFLOW_TRACKING_URI=http://127.0.0.1:8000 torchrun --nproc-per-node 2 examples/distributed_train.py

Rank 0 logs the params, the loss per epoch (averaged over all ranks), and the proof that every
rank took part: an all-reduce of each rank's contribution 2**rank (`allreduce_rank_mask`, which
is 2**world_size - 1 only when every rank added its own bit), the sum of the ranks and the
number of samples each rank trained on (`samples_rank_R`). Ranks above 0 log their own loss into
their child run when the job gives them one (replica_logging: child_runs), nothing otherwise.
The last line rank 0 prints is a JSON summary.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--samples", type=int, default=2048, help="size of the synthetic data set")
    ap.add_argument("--features", type=int, default=16)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--batch-size", type=int, default=64, help="per rank")
    ap.add_argument("--learning-rate", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--experiment", default="distributed-train",
                    help="experiment of the run created when MLFLOW_RUN_ID is not set")
    ap.add_argument("--max-final-loss", type=float, default=None,
                    help="exit with status 2 when the final loss is higher")
    return ap.parse_args(argv)


def synthetic_data(n: int, features: int, seed: int) -> TensorDataset:
    """y = sin(x·w) + noise: the same on every rank (same seed); the sampler splits it."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=g)
    w = torch.randn(features, 1, generator=g) / features**0.5
    y = torch.sin(x @ w) + 0.05 * torch.randn(n, 1, generator=g)
    return TensorDataset(x, y)


def mlflow_run(rank: int, args):
    """The MLflow run this rank logs into, or None. The platform sets MLFLOW_RUN_ID for rank 0
    (the job's run) and, with child runs, for the other ranks; by hand rank 0 creates one."""
    if not os.environ.get("MLFLOW_TRACKING_URI"):
        return None
    if rank != 0 and not os.environ.get("MLFLOW_RUN_ID"):
        return None
    import mlflow

    if not os.environ.get("MLFLOW_RUN_ID"):
        mlflow.set_experiment(args.experiment)
    return mlflow.start_run()


def main(argv=None) -> int:
    args = parse_args(argv)
    t0 = time.monotonic()
    # torchrun, the platform and Kubernetes all give the rendezvous in the environment.
    dist.init_process_group("gloo", init_method="env://", timeout=datetime.timedelta(seconds=120))
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(args.seed)  # the same initial weights on every rank (DDP also broadcasts them)

    # The proof that every rank is in the group: each adds its own bit and its rank.
    proof = torch.tensor([float(2**rank), float(rank)], dtype=torch.float64)
    dist.all_reduce(proof, op=dist.ReduceOp.SUM)
    mask, rank_sum = int(proof[0].item()), int(proof[1].item())

    data = synthetic_data(args.samples, args.features, args.seed)
    sampler = DistributedSampler(data, num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
    loader = DataLoader(data, batch_size=args.batch_size, sampler=sampler)
    model = DistributedDataParallel(nn.Sequential(
        nn.Linear(args.features, args.hidden), nn.Tanh(), nn.Linear(args.hidden, 1)))
    opt = torch.optim.SGD(model.parameters(), lr=args.learning_rate, momentum=0.9)
    loss_fn = nn.MSELoss()

    run = mlflow_run(rank, args)
    if run is not None:
        import mlflow

        if rank == 0:
            mlflow.log_params({"epochs": args.epochs, "samples": args.samples, "features": args.features,
                               "hidden": args.hidden, "batch_size_per_rank": args.batch_size,
                               "learning_rate": args.learning_rate, "world_size": world,
                               "backend": dist.get_backend(), "torch_version": torch.__version__})
            mlflow.log_metrics({"allreduce_rank_mask": mask, "allreduce_rank_sum": rank_sum})
        else:
            mlflow.log_params({"rank": rank, "world_size": world})

    samples_seen = 0
    loss_avg = float("nan")
    for epoch in range(args.epochs):
        sampler.set_epoch(epoch)
        model.train()
        total, count = 0.0, 0
        for x, y in loader:
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()  # DDP all-reduces the gradients here
            opt.step()
            total += loss.item() * len(x)
            count += len(x)
        samples_seen += count
        # The epoch's loss over every rank's samples.
        t = torch.tensor([total, float(count)], dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        loss_avg = t[0].item() / t[1].item()
        if run is not None:
            import mlflow

            mlflow.log_metric("train_loss" if rank == 0 else "rank_train_loss",
                              loss_avg if rank == 0 else total / max(count, 1), step=epoch)
        if rank == 0:
            print(f"epoch {epoch} loss {loss_avg:.5f}", flush=True)

    # How many samples each rank trained on, gathered on every rank.
    seen = [torch.zeros(1, dtype=torch.float64) for _ in range(world)]
    dist.all_gather(seen, torch.tensor([float(samples_seen)], dtype=torch.float64))
    # The weights are identical on every rank after DDP training: a checksum all-reduced with
    # MAX and MIN must agree.
    checksum = torch.tensor([sum(p.detach().double().sum().item() for p in model.parameters())],
                            dtype=torch.float64)
    hi, lo = checksum.clone(), checksum.clone()
    dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    dist.all_reduce(lo, op=dist.ReduceOp.MIN)
    in_sync = abs(hi.item() - lo.item()) < 1e-9

    if run is not None:
        import mlflow

        if rank == 0:
            mlflow.log_metrics({f"samples_rank_{r}": s.item() for r, s in enumerate(seen)})
            mlflow.log_metrics({"final_train_loss": loss_avg, "weights_in_sync": float(in_sync),
                                "train_seconds": time.monotonic() - t0})
        mlflow.end_run()
    dist.barrier()
    dist.destroy_process_group()

    if rank == 0:
        print(json.dumps({"world_size": world, "allreduce_rank_mask": mask, "allreduce_rank_sum": rank_sum,
                          "samples_per_rank": [int(s.item()) for s in seen], "final_train_loss": loss_avg,
                          "weights_in_sync": in_sync}), flush=True)
    if not in_sync or mask != 2**world - 1:
        return 3
    if args.max_final_loss is not None and loss_avg > args.max_final_loss:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
