"""CPU latency of the models, measured with ``torch.utils.benchmark`` and cached under
``results/latency/`` with provenance.

What is measured (:func:`measure`): one forward pass of a freshly built model (random weights,
seed 0) on one ``batch x 3 x resolution x resolution`` fp32 image, through an inference path of
:mod:`mnv2lab.inference` ("practitioner" by default) or the memory-efficient executor of
:mod:`mnv2lab.memory_efficient` ("sliced"), with ``threads`` intra-op threads set explicitly
(``torch.utils.benchmark.Timer`` defaults to ONE thread). After a warm-up, ``blocked_autorange``
runs the call until ``min_run_time`` seconds are spent; we keep the median and the interquartile
range (IQR) of the per-call times.

The cache: one JSON file per configuration, ``results/latency/<config key>.json``. An entry is used
only when its SHA-256 matches its content, its configuration matches, and its *code fingerprint*
(:func:`config_fingerprint`: the files the measured model is built from, the inference code,
plus the executor for "sliced", with docstrings and comments stripped, :data:`MEASURE_VERSION`
and the torch version) equals the current one, and it was timed under the OpenMP default wait
policy (every timing runs in a child process that keeps it: :mod:`.child`). Otherwise, or on
``remeasure=True``, the configuration is measured again and the file replaced atomically. Every
entry carries its provenance: CPU model, torch version, threads, git commit, timestamp and the
machine's load average before and after measuring (latency on a shared machine is only as good as
its load).

Modules, one job each: :mod:`.config` (what a measurement is, its code fingerprint),
:mod:`.timing` (timing on a shared machine), :mod:`.cache` (the verified cache and tables),
:mod:`.breakdown` (where the time goes), :mod:`.child` (every timing runs in a child process under
the OpenMP default wait policy), :mod:`.quiet` (re-measuring in quiet moments, and the
conditions in words).
"""

from .config import (
    FORMAT,
    MEASURE_VERSION,
    PACKAGE,
    PATH_FILES,
    PATHS,
    builder_name,
    code_fingerprint,
    config_fingerprint,
    fingerprint_files,
    LatencyConfig,
    model_files,
    source_without_docs,
)
from .timing import (
    MAX_FOREIGN,
    OMP_WAIT_POLICY,
    build_forward,
    contaminated,
    foreign_cpu,
    ForeignCpu,
    load_average,
    measure,
    measure_interleaved,
    measurement_provenance,
    summarize,
    torch_threads,
)
from .cache import (
    cached,
    entry_path,
    latency_dir,
    LatencyCacheWarning,
    measure_all,
    measure_or_load,
    read_entry,
    read_latency_entry,
    series_groups,
    series_or_load,
    series_table,
    write_entry,
)
from .child import TIMING_WAIT_POLICY, time_in_child
from .breakdown import TIMED_MODULES, breakdown_or_load, conv_kind, op_breakdown
from .quiet import (
    cpu_label,
    describe_conditions,
    excluded_text,
    machine_text,
    measure_quietly,
    usable,
)

__all__ = [
    "FORMAT",
    "MEASURE_VERSION",
    "PACKAGE",
    "PATH_FILES",
    "PATHS",
    "builder_name",
    "code_fingerprint",
    "config_fingerprint",
    "fingerprint_files",
    "LatencyConfig",
    "model_files",
    "source_without_docs",
    "MAX_FOREIGN",
    "OMP_WAIT_POLICY",
    "build_forward",
    "contaminated",
    "foreign_cpu",
    "ForeignCpu",
    "load_average",
    "measure",
    "measure_interleaved",
    "measurement_provenance",
    "summarize",
    "torch_threads",
    "cached",
    "entry_path",
    "latency_dir",
    "LatencyCacheWarning",
    "measure_all",
    "measure_or_load",
    "read_entry",
    "read_latency_entry",
    "TIMING_WAIT_POLICY",
    "time_in_child",
    "series_groups",
    "series_or_load",
    "series_table",
    "write_entry",
    "TIMED_MODULES",
    "breakdown_or_load",
    "conv_kind",
    "op_breakdown",
    "cpu_label",
    "describe_conditions",
    "excluded_text",
    "machine_text",
    "measure_quietly",
    "usable",
]
