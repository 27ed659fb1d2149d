"""Peak memory of the benchmark process, for benchmarks that report it per step."""

from __future__ import annotations

import resource

__all__ = ["peak_rss_mb", "reset_peak_rss"]


def peak_rss_mb() -> float:
    """The process's peak resident set size since start or the last :func:`reset_peak_rss`.

    Returns
    -------
    float
        Megabytes (Linux ``VmHWM``; elsewhere ``ru_maxrss``, which cannot be reset).
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def reset_peak_rss() -> None:
    """Start a new peak measurement (Linux: ``VmHWM`` reset through ``/proc/self/clear_refs``;
    a no-op elsewhere)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
