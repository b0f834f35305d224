"""Test instrumentation, run under torchrun by tests/test_stream.py: the trainer's command line
with the streaming data source wrapped so that each rank logs which training images (indices into
the folder's train listing) it reads at each step, and optionally kills itself (SIGKILL, no
clean-up) on reaching a step.

    torchrun ... tests/stream_ranks.py CONFIG RESULTS_DIR LOG_DIR [KILL_RANK KILL_STEP]
"""

import json
import os
import signal
import sys

from mnv2lab.data import stream
from mnv2lab.train.__main__ import main

config, results, log_dir = sys.argv[1:4]
kill_rank, kill_step = (int(v) for v in sys.argv[4:6]) if len(sys.argv) > 4 else (-1, -1)
rank = int(os.environ["RANK"])
log = open(os.path.join(log_dir, f"rank{rank}.jsonl"), "a")
served = stream.StreamSource.get


def logged_get(self, step):
    if rank == kill_rank and step == kill_step:
        os.kill(os.getpid(), signal.SIGKILL)
    log.write(json.dumps({"step": step, "indices": self.train.indices(step).tolist()}) + "\n")
    log.flush()
    return served(self, step)


stream.StreamSource.get = logged_get
sys.exit(main(["--config", config, "--results-dir", results, "--no-progress"]))
