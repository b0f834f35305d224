"""Running the same trainer under ``torchrun``: one process per rank, DistributedDataParallel.

``torchrun`` sets WORLD_SIZE/RANK/LOCAL_RANK; :func:`setup` then joins the process group (gloo on
CPU, nccl on CUDA). Without torchrun everything degrades to a single process with rank 0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistContext:
    world_size: int = 1
    rank: int = 0
    local_rank: int = 0
    local_world_size: int = 1
    created_group: bool = False

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def teardown(self) -> None:
        if self.created_group and dist.is_initialized():
            dist.destroy_process_group()


def setup(device_type: str) -> DistContext:
    """Join the process group if launched by torchrun (or one is already initialized)."""
    if dist.is_available() and dist.is_initialized():
        return DistContext(
            dist.get_world_size(),
            dist.get_rank(),
            int(os.environ.get("LOCAL_RANK", 0)),
            int(os.environ.get("LOCAL_WORLD_SIZE", dist.get_world_size())),
        )
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    backend = "nccl" if device_type == "cuda" else "gloo"
    dist.init_process_group(backend=backend)
    return DistContext(
        world,
        dist.get_rank(),
        int(os.environ.get("LOCAL_RANK", 0)),
        int(os.environ.get("LOCAL_WORLD_SIZE", world)),
        created_group=True,
    )


def all_sum(values: list[float], ctx: DistContext, device: torch.device) -> list[float]:
    """Sum a few floats over all ranks (float64)."""
    if not ctx.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def broadcast_buffers(module: torch.nn.Module, ctx: DistContext) -> None:
    """Give every rank rank 0's buffers (BatchNorm running statistics), so evaluation and the
    saved model agree across ranks (DDP only syncs buffers at the start of each forward)."""
    if ctx.enabled:
        for b in module.buffers():
            dist.broadcast(b, 0)


def gather_objects(obj, ctx: DistContext) -> list:
    if not ctx.enabled:
        return [obj]
    out = [None] * ctx.world_size
    dist.all_gather_object(out, obj)
    return out
