"""The trainer's scale-out mode (DDP ranks) driven one step at a time from a parent process.

A benchmark harness, not part of the package: ``benchmarks/train_throughput.py`` times what
``torchrun --nproc_per_node N -m mnv2lab.train`` runs, interleaved step by step with
single-process sides, so that every side sees the same machine load. Each rank is a child process
that builds exactly what ``train()`` builds under torchrun (``load_training_data``,
``BatchSource`` for its rank, ``build_for_training``, ``wrap_for_training`` =
DistributedDataParallel over gloo, ``train_step``) and then blocks on a pipe (idle, not spinning)
until the parent asks for steps; it answers with its wall and CPU seconds and losses.

    with LockstepRanks(config, world_size=2) as ranks:     # config.threads: threads per rank
        timing = ranks.run(1)          # one global step; timing.wall_s is the parent's round trip
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import socket
import time
import traceback
from dataclasses import dataclass

import numpy as np

from mnv2lab.params import ParameterError
from mnv2lab.train import distributed
from mnv2lab.train.config import TrainConfig
from mnv2lab.train.engine import (
    BatchSource,
    build_for_training,
    execution_settings,
    load_training_data,
    resolve_device,
    train_step,
    wrap_for_training,
)
from mnv2lab.train.schedule import lr_at


@dataclass
class StepTiming:
    """One command's steps: the parent's wall clock from sending the command to the last rank's
    answer, the summed process CPU seconds of all ranks, each rank's own wall seconds and losses."""

    wall_s: float
    cpu_s: float
    rank_wall_s: list[float]
    losses: list[list[float]]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (for the process group's rendezvous)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(config: TrainConfig, rank: int, world_size: int, port: int, conn) -> None:
    """One rank: join the process group, build the trainer's objects, then serve commands:
    ("step", n) -> ("done", wall_s, cpu_s, losses); ("parameters",) -> ("parameters", {name:
    array}); ("stop",) -> exit. Errors are sent back as ("error", rank, traceback)."""
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        WORLD_SIZE=str(world_size),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        LOCAL_WORLD_SIZE=str(world_size),
    )
    ctx = None
    try:
        device = resolve_device(config.device)
        ctx = distributed.setup(device.type)
        threads = config.threads or max(1, (os.cpu_count() or 1) // ctx.local_world_size)
        with execution_settings(device, threads):
            ds = load_training_data(config, ctx)
            batches = BatchSource(ds, config, device, ctx.rank, ctx.world_size)
            model, optimizer, criterion = build_for_training(
                config, ds.num_classes, device, ctx.rank
            )
            net = wrap_for_training(model, config, ctx, device)
            net.train()
            per_epoch = batches.steps_per_epoch
            total = config.epochs * per_epoch
            step = 0
            conn.send(("ready", threads))
            while True:
                cmd = conn.recv()
                if cmd[0] == "stop":
                    break
                if cmd[0] == "parameters":
                    conn.send(
                        (
                            "parameters",
                            {
                                k: v.detach().cpu().numpy().copy()
                                for k, v in model.named_parameters()
                            },
                        )
                    )
                    continue
                if cmd[0] != "step":
                    raise ValueError(f"unknown command {cmd!r}")
                wall, cpu, losses = time.perf_counter(), time.process_time(), []
                for _ in range(cmd[1]):
                    x, y = batches.get(step)
                    lr = lr_at(config, min(step, total - 1), per_epoch, total)
                    losses.append(float(train_step(net, optimizer, criterion, x, y, lr)))
                    step += 1
                conn.send(("done", time.perf_counter() - wall, time.process_time() - cpu, losses))
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        pass  # Ctrl-C reaches every process of the terminal; EOF: the parent went away
    except BaseException:
        try:
            conn.send(("error", rank, traceback.format_exc()))
        except OSError:
            pass
    finally:
        if ctx is not None:
            ctx.teardown()
        conn.close()


class LockstepRanks:
    """``world_size`` DDP ranks (CPU, gloo) in child processes, stepping on command.

    ``config.threads`` is the thread count of each rank (None: cores / ranks, as under torchrun).
    The ranks shut down on :meth:`close` (also when leaving a ``with`` block by an exception or
    Ctrl-C); a rank that fails or dies makes the parent raise ``RuntimeError`` with its traceback,
    after the other ranks have been stopped.
    """

    def __init__(self, config: TrainConfig, world_size: int = 2, timeout_s: float = 900.0) -> None:
        config.validate()
        if world_size < 2:
            raise ParameterError(f"parameter 'world_size': got {world_size}, allowed: >= 2")
        if resolve_device(config.device).type != "cpu":
            raise ParameterError(
                f"parameter 'device': got {config.device!r}, allowed: 'cpu' (the ranks use gloo)"
            )
        if config.batch_size % world_size:
            raise ParameterError(
                f"parameter 'batch_size': got {config.batch_size}, which does not "
                f"split evenly over {world_size} ranks"
            )
        self.config, self.world_size, self.timeout_s = config, world_size, timeout_s
        self._procs: list = []
        self._conns: list = []
        self.threads_per_rank: int | None = None

    def __enter__(self) -> "LockstepRanks":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        """Spawn the ranks and wait until each has built its model (data loaded, DDP wrapped)."""
        ctx = mp.get_context("spawn")  # fork after OpenMP started is unsafe
        port = free_port()
        try:
            for rank in range(self.world_size):
                parent_end, child_end = ctx.Pipe()
                p = ctx.Process(
                    target=_rank_main,
                    name=f"lockstep-rank{rank}",
                    daemon=True,
                    args=(self.config, rank, self.world_size, port, child_end),
                )
                p.start()
                child_end.close()
                self._procs.append(p)
                self._conns.append(parent_end)
            self.threads_per_rank = self._collect("ready")[0][1]
        except BaseException:
            self.close(grace_s=1.0)
            raise

    def run(self, steps: int = 1) -> StepTiming:
        """Run ``steps`` global steps on every rank; blocks until all ranks have answered."""
        t = time.perf_counter()
        self._send(("step", steps))
        answers = self._collect("done")
        wall = time.perf_counter() - t
        return StepTiming(
            wall, sum(a[2] for a in answers), [a[1] for a in answers], [a[3] for a in answers]
        )

    def parameters(self) -> list[dict[str, np.ndarray]]:
        """Each rank's model parameters (to check that the replicas agree)."""
        self._send(("parameters",))
        return [a[1] for a in self._collect("parameters")]

    def close(self, grace_s: float = 10.0) -> None:
        """Ask the ranks to stop, then end any that have not within ``grace_s`` seconds."""
        for conn in self._conns:
            try:
                conn.send(("stop",))
            except OSError:
                pass
        for p in self._procs:
            p.join(timeout=grace_s)
            if p.is_alive():
                p.terminate()
                p.join(timeout=5)
        for conn in self._conns:
            conn.close()
        self._procs, self._conns = [], []

    def _send(self, msg: tuple) -> None:
        if not self._procs:
            raise RuntimeError("the ranks are not running (call start() or use a with block)")
        for conn in self._conns:
            conn.send(msg)

    def _collect(self, kind: str) -> list[tuple]:
        """One answer per rank, in rank order; a failed or dead rank stops all and raises."""
        answers: dict[int, tuple] = {}
        deadline = time.monotonic() + self.timeout_s
        while len(answers) < self.world_size:
            waiting = {c: r for r, c in enumerate(self._conns) if r not in answers}
            sentinels = {self._procs[r].sentinel: r for r in waiting.values()}
            left = deadline - time.monotonic()
            ready = mpc.wait(list(waiting) + list(sentinels), timeout=max(0.0, left))
            if not ready:
                self.close(grace_s=1.0)
                raise RuntimeError(
                    f"DDP ranks {sorted(waiting.values())} did not answer "
                    f"{kind!r} within {self.timeout_s:.0f} s"
                )
            for obj in ready:
                r = waiting[obj] if obj in waiting else sentinels[obj]
                if r in answers:
                    continue
                msg = None
                if self._conns[r].poll():
                    try:
                        msg = self._conns[r].recv()
                    except EOFError:  # the rank closed its end: it is gone
                        pass
                elif obj not in sentinels:
                    continue
                if msg is None:
                    self._procs[r].join(timeout=5)
                    code = self._procs[r].exitcode
                    self.close(grace_s=1.0)
                    raise RuntimeError(
                        f"DDP rank {r} exited (code {code}) before answering {kind!r}"
                    )
                if msg[0] == "error":
                    self.close(grace_s=1.0)
                    raise RuntimeError(f"DDP rank {msg[1]} failed:\n{msg[2]}")
                answers[r] = msg
        return [answers[r] for r in range(self.world_size)]
