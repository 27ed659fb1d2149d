"""The exceptions crossalign raises for problems a user can cause and fix.

Every error about input (arguments, files, configs, databases, resources) is a
:class:`CrossalignError`. The command line prints these as one ``error:`` line and exits with
code 2; any other exception is a bug and keeps its traceback. The subclasses also derive from
the matching built-in exception (``InputError`` is a ``ValueError``), so code that catches
``ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "BusyError",
    "CrossalignError",
    "DataWarning",
    "InputError",
    "InputTypeError",
    "LongRunWarning",
    "MissingFileError",
    "PlanError",
    "PluginWarning",
    "ReliabilityWarning",
    "ResumeError",
]


class CrossalignError(Exception):
    """Base class of every error a user can cause (bad input, config, file or resource)."""


class InputError(CrossalignError, ValueError):
    """An argument, file or config value is not what was expected (the message says what)."""


class InputTypeError(CrossalignError, TypeError):
    """An argument has the wrong type (the message names it and what was expected)."""


class MissingFileError(CrossalignError, FileNotFoundError):
    """A file or folder named by the user does not exist."""


class PlanError(InputError):
    """A run cannot fit the memory budget or would take unreasonably long; refused before it
    starts, naming the parameter that makes it so."""


class ResumeError(InputError):
    """``--resume`` was asked for, but what would be resumed differs from the stored run."""


class OutputExistsError(InputError):
    """A file or folder where crossalign would write exists and crossalign did not write it
    (replace it explicitly: ``overwrite=True``; ``--overwrite`` on the commands that take
    it)."""


class BusyError(InputError):
    """Another crossalign process holds the output folder or the database."""


class ProtocolOverrideWarning(UserWarning):
    """A study sets a choice against the protocol it names (e.g. another metric); the run
    goes on with the study's choice, and the report lists the override."""


class ReliabilityWarning(UserWarning):
    """A statistic is computed but unreliable: a degenerate bootstrap interval, too few
    resamples kept, too few bootstrap resamples, or a noise ceiling whose interval holds 0."""


class LongRunWarning(UserWarning):
    """An analysis is planned to run over an hour on this machine (said before it starts,
    with the estimate, and where to run it faster: a Dask cluster or a GPU backend)."""


class PluginWarning(UserWarning):
    """An installed plugin (a ``crossalign.models``, ``crossalign.metrics`` or
    ``crossalign.datasets`` entry point) could not be loaded; crossalign goes on without it."""


class DataWarning(UserWarning):
    """A loader left part of the data out by a documented rule (a parcel that a threshold
    emptied, a subject's missing cell); the warning names what, and ``attrs`` records it."""
