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


def logged_get(self, step):
    """StreamSource.get, logging this rank's indices and killing it at (KILL_RANK, KILL_STEP)."""
    if RANK == KILL[0] and step == KILL[1]:
        os.kill(os.getpid(), signal.SIGKILL)
    LOG.write(json.dumps({"step": step, "indices": self.train.indices(step).tolist()}) + "\n")
    LOG.flush()
    return SERVED(self, step)


if __name__ == "__main__":  # decoding workers start from a fork server and import this file
    config, results, log_dir = sys.argv[1:4]
    KILL = tuple(int(v) for v in sys.argv[4:6]) if len(sys.argv) > 4 else (-1, -1)
    RANK = int(os.environ["RANK"])
    LOG = open(os.path.join(log_dir, f"rank{RANK}.jsonl"), "a")
    SERVED = stream.StreamSource.get
    stream.StreamSource.get = logged_get
    sys.exit(main(["--config", config, "--results-dir", results, "--no-progress"]))
