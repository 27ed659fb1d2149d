"""Video clips as stimuli: decoding, frame sampling, and what a clip is.

Clips are decoded with PyAV (its wheels bundle FFmpeg; ``pip install 'crossalign[video]'``).
A clip is any of: a video file (``.mp4``, ``.mkv``, ``.webm``, ``.avi``, ``.mov``), a folder of
frame images (sorted by name), or an array (T, H, W, 3). :func:`load_video` returns the
sampled frames as a :class:`Frames` array, uint8 (T, H, W, 3), which also records the source
frame rate, the duration and the indices of the frames kept.

Frame sampling
--------------
``frames=N`` keeps N frames spread uniformly over the clip (or its window): the frames at
``floor(linspace(0, T - 1, N))``, as torchvision's ``UniformTemporalSubsample`` does.
``fps=f`` keeps one frame every ``1 / f`` seconds from the window's start: frame
``floor(k * source_fps / f)`` for k = 0, 1, ... while inside the window. ``start`` and ``end``
(seconds) cut a window out of the clip first.

``fps_mode="blend"`` instead converts the frame rate with FFmpeg's ``framerate`` filter, which
blends neighbouring frames (what Hoefling et al. 2026 did with BOLD Moments: ``fps=4``), and
``size`` resizes with FFmpeg's ``scale`` filter; both run in PyAV's filter graph on the
decoded frames, and the result equals
``imageio.v3.imread(path, plugin="pyav", filter_sequence=[("framerate", "fps=4"), ("scale",
"w=256:h=256")])`` pixel for pixel. ``max_frames`` keeps the first frames of the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from crossalign._validation import check_option
from crossalign.errors import InputError, MissingFileError

__all__ = ["VIDEO_SUFFIXES", "Frames", "frame_files", "is_clip", "load_video", "sample_indices"]

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".mpg", ".mpeg")
#: Pixel formats that keep RGB frames exactly, per lossless codec.
_LOSSLESS_FORMATS = {"ffv1": "bgr0", "rawvideo": "rgb24"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


class Frames(np.ndarray):
    """Decoded frames, uint8 (T, H, W, 3), with ``source_fps``, ``duration`` (seconds) and
    ``indices`` (the source frame numbers kept).

    Parameters
    ----------
    frames : numpy.ndarray
    source_fps : float, optional
    duration : float, optional
    indices : numpy.ndarray, optional
    """

    source_fps: float | None
    duration: float | None
    indices: np.ndarray | None

    def __new__(
        cls,
        frames: np.ndarray,
        source_fps: float | None = None,
        duration: float | None = None,
        indices: np.ndarray | None = None,
    ) -> Frames:
        obj = np.asarray(frames).view(cls)
        obj.source_fps, obj.duration, obj.indices = source_fps, duration, indices
        return obj

    def __array_finalize__(self, obj: Any) -> None:
        self.source_fps = getattr(obj, "source_fps", None)
        self.duration = getattr(obj, "duration", None)
        self.indices = getattr(obj, "indices", None)


def is_clip(item: Any) -> bool:
    """A video file, a folder of frames, or an array (T, H, W, 3).

    Parameters
    ----------
    item : object

    Returns
    -------
    bool
    """
    if isinstance(item, str | Path):
        path = Path(item)
        return path.suffix.lower() in VIDEO_SUFFIXES or path.is_dir()
    return isinstance(item, np.ndarray) and item.ndim == 4 and item.shape[-1] in (1, 3)


def sample_indices(
    n_frames: int,
    *,
    frames: int | None = None,
    fps: float | None = None,
    source_fps: float | None = None,
    start: float | None = None,
    end: float | None = None,
) -> np.ndarray:
    """The source frame numbers to keep (see the module docstring).

    Parameters
    ----------
    n_frames : int
        Frames in the clip.
    frames : int, optional
        Keep this many, uniformly.
    fps : float, optional
        Keep this many per second (needs ``source_fps``).
    source_fps : float, optional
        The clip's frame rate (needed for ``fps``, ``start`` and ``end``).
    start, end : float, optional
        A window in seconds.

    Returns
    -------
    numpy.ndarray of int
    """
    if n_frames < 1:
        raise InputError(f"The clip has no frame to sample (got {n_frames} frames).")
    if frames is not None and fps is not None:
        raise InputError("Give 'frames' (a count) or 'fps' (a rate), not both.")
    if (fps is not None or start is not None or end is not None) and not source_fps:
        raise InputError("Sampling by 'fps' or a 'start'/'end' window needs the clip's frame rate.")
    rate = float(source_fps or 0.0)  # checked above wherever it is needed
    first, last = 0, n_frames  # window [first, last)
    if start is not None:
        first = int(np.ceil(start * rate - 1e-9))
    if end is not None:
        last = min(n_frames, int(np.ceil(end * rate - 1e-9)))
    if not 0 <= first < last:
        raise InputError(
            f"The window start={start!r} s, end={end!r} s holds no frame of a clip with "
            f"{n_frames} frames at {source_fps} fps."
        )
    if frames is not None:
        if not isinstance(frames, int | np.integer) or frames < 1:
            raise InputError(f"The 'frames' argument must be a positive integer. Got {frames!r}.")
        return first + np.linspace(0, last - first - 1, frames).astype(int)
    if fps is not None:
        if fps <= 0:
            raise InputError(f"The 'fps' argument must be positive. Got {fps!r}.")
        steps = np.arange(int(np.ceil((last - first) * fps / rate)) + 1)
        idx = first + np.floor(steps * rate / fps + 1e-9).astype(int)
        return idx[idx < last]
    return np.arange(first, last)


def load_video(
    source: str | Path | np.ndarray,
    *,
    frames: int | None = None,
    fps: float | None = None,
    start: float | None = None,
    end: float | None = None,
    size: int | tuple[int, int] | None = None,
    max_frames: int | None = None,
    fps_mode: str = "select",
) -> Frames:
    """Decode a clip and sample its frames.

    Parameters
    ----------
    source : str, Path or numpy.ndarray
        A video file, a folder of frame images, or frames (T, H, W, 3).
    frames : int, optional
        Keep this many frames, uniformly over the clip (or its window).
    fps : float, optional
        Keep this many frames per second.
    start, end : float, optional
        A window of the clip, in seconds.
    size : int or (width, height), optional
        Resize every frame with FFmpeg's ``scale`` filter (an int: a square); video files
        only.
    max_frames : int, optional
        Keep at most this many frames (the first ones after sampling).
    fps_mode : {"select", "blend"}
        ``select`` keeps source frames by index (see the module docstring); ``blend``
        converts the frame rate with FFmpeg's ``framerate`` filter (needs ``fps``; video files
        only; no ``frames``, ``start`` or ``end``).

    Returns
    -------
    Frames
        uint8 (T, H, W, 3) with ``source_fps``, ``duration`` and ``indices``.

    Raises
    ------
    MissingFileError
        The file or folder does not exist.
    InputError
        The file cannot be decoded or holds no frame (the message names it).

    Examples
    --------
    >>> clip = ca.load_video("clip.mp4", frames=16)       # doctest: +SKIP
    >>> clip.shape, clip.source_fps
    ((16, 268, 268, 3), 30.0)
    """
    check_option(fps_mode, "fps_mode", list(FPS_MODES), "load_video")
    check_sampling(frames=frames, fps=fps, start=start, end=end, size=size, max_frames=max_frames)
    if size is not None or fps_mode == "blend":
        return _filtered(source, frames, fps, start, end, size, max_frames, fps_mode)
    if isinstance(source, np.ndarray):
        arr = _as_frames(source, "the clip array")
        fps_src = getattr(source, "source_fps", None)
        idx = sample_indices(
            len(arr), frames=frames, fps=fps, source_fps=fps_src, start=start, end=end
        )
        return Frames(arr[idx], fps_src, getattr(source, "duration", None), idx)
    path = Path(source)
    if not path.exists():
        raise MissingFileError(f"The clip '{path}' does not exist.")
    if path.is_dir():
        all_frames, fps_src, duration = _read_folder(path), None, None
    else:
        all_frames, fps_src, duration = _decode(path)
    idx = sample_indices(
        len(all_frames), frames=frames, fps=fps, source_fps=fps_src, start=start, end=end
    )
    idx = idx[: _limit(max_frames)]
    return Frames(np.stack([all_frames[i] for i in idx]), fps_src, duration, idx)


def check_sampling(**arguments: Any) -> None:
    """Refuse a sampling argument that is not what :func:`load_video` takes, naming it, before
    any clip is decoded (so that a bad argument is never reported as a damaged clip).

    Parameters
    ----------
    **arguments
        ``frames``, ``max_frames`` (positive integers), ``fps`` (a positive finite number),
        ``start``, ``end`` (finite seconds >= 0, start before end) and ``size`` (a positive
        integer or a (width, height) pair of them); None for any means "not given".
    """
    given = {k: v for k, v in arguments.items() if v is not None}

    def bad(name: str, expected: str) -> InputError:
        return InputError(f"The '{name}' argument must be {expected}. Got {given[name]!r}.")

    def number(value: Any) -> bool:
        return (
            isinstance(value, int | float | np.integer | np.floating)
            and not isinstance(value, bool)
            and bool(np.isfinite(value))
        )

    def count(value: Any) -> bool:
        return bool(
            isinstance(value, int | np.integer) and not isinstance(value, bool) and value > 0
        )

    for name in ("frames", "max_frames"):
        if name in given and not count(given[name]):
            raise bad(name, "a positive integer")
    if "fps" in given and not (number(given["fps"]) and given["fps"] > 0):
        raise bad("fps", "a positive finite number (frames per second)")
    for name in ("start", "end"):
        if name in given and not (number(given[name]) and given[name] >= 0):
            raise bad(name, "a finite time in seconds >= 0")
    if "start" in given and "end" in given and given["end"] <= given["start"]:
        raise bad("end", f"after start={given['start']!r}")
    if "size" in given:
        size = given["size"]
        pair = size if isinstance(size, list | tuple) else (size, size)
        if len(pair) != 2 or not all(count(v) for v in pair):
            raise bad("size", "a positive integer or a (width, height) pair of them")


#: How ``fps`` is reached: keep source frames (``select``) or blend them (``blend``).
FPS_MODES = ("select", "blend")


def _limit(max_frames: int | None) -> int | None:
    if max_frames is None:
        return None
    if not isinstance(max_frames, int | np.integer) or max_frames < 1:
        raise InputError(
            f"The 'max_frames' argument must be a positive integer. Got {max_frames!r}."
        )
    return int(max_frames)


def _filtered(
    source: Any,
    frames: int | None,
    fps: float | None,
    start: float | None,
    end: float | None,
    size: int | tuple[int, int] | None,
    max_frames: int | None,
    fps_mode: str,
) -> Frames:
    """A clip decoded through FFmpeg filters (``framerate`` for ``blend``, ``scale`` for
    ``size``), then sampled by index where ``select`` asks for it."""
    if isinstance(source, np.ndarray) or not Path(source).is_file():
        if not isinstance(source, np.ndarray) and not Path(source).exists():
            raise MissingFileError(f"The clip '{source}' does not exist.")
        raise InputError(
            "Resizing (size=) and frame blending (fps_mode='blend') run FFmpeg filters on a "
            f"video file. Got {'an array' if isinstance(source, np.ndarray) else 'a folder'}."
        )
    filters: list[tuple[str, str]] = []
    if fps_mode == "blend":
        if fps is None or frames is not None or start is not None or end is not None:
            raise InputError(
                "fps_mode='blend' needs fps= (the output frame rate) and takes no frames=, "
                "start= or end=; use max_frames= to keep the first frames."
            )
        filters.append(("framerate", f"fps={fps:g}"))
    if size is not None:
        width, height = (size, size) if isinstance(size, int | np.integer) else size
        if int(width) < 1 or int(height) < 1:
            raise InputError(f"The 'size' argument must be positive. Got {size!r}.")
        filters.append(("scale", f"w={int(width)}:h={int(height)}"))
    decoded, rate, duration = _decode(Path(source), filters)
    if fps_mode == "blend":
        idx, rate = np.arange(len(decoded)), float(fps or 0) or rate
    else:
        idx = sample_indices(
            len(decoded), frames=frames, fps=fps, source_fps=rate, start=start, end=end
        )
    idx = idx[: _limit(max_frames)]
    return Frames(np.stack([decoded[i] for i in idx]), rate, duration, idx)


def _as_frames(arr: np.ndarray, what: str) -> np.ndarray:
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3) or len(arr) == 0:
        raise InputError(
            f"Expected {what} as frames (T, H, W, 3) with T >= 1. Got shape {arr.shape}."
        )
    if arr.dtype != np.uint8:
        scaled = arr * (255.0 if np.nanmax(arr) <= 1.0 else 1.0)
        arr = np.clip(scaled, 0, 255).astype(np.uint8)
    return np.repeat(arr, 3, axis=-1) if arr.shape[-1] == 1 else arr


def frame_files(folder: Path) -> list[Path]:
    """The frames of a clip folder, in name order: its visible image files. Hidden entries
    (``.ipynb_checkpoints/``, ``.DS_Store``) and subfolders are ignored, the same way when
    decoding and in the activation cache's key.

    Parameters
    ----------
    folder : Path

    Returns
    -------
    list of Path
    """
    return sorted(
        p
        for p in Path(folder).iterdir()
        if not p.name.startswith(".") and p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )


def _read_folder(folder: Path) -> list[np.ndarray]:
    from PIL import Image

    files = frame_files(folder)
    if not files:
        raise InputError(
            f"The clip folder '{folder}' holds no frame images ({', '.join(IMAGE_SUFFIXES)})."
        )
    out = []
    for f in files:
        try:
            with Image.open(f) as img:
                out.append(np.asarray(img.convert("RGB")))
        except Exception as exc:  # PIL raises several types on a damaged image
            raise InputError(f"The frame '{f}' could not be read: {exc}") from None
    if len({a.shape for a in out}) != 1:
        raise InputError(f"The frames in '{folder}' differ in size; expected one size.")
    return out


def _av() -> Any:
    try:
        import av
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Decoding video needs PyAV: pip install 'crossalign[video]'") from exc
    return av


def _decode(
    path: Path, filters: Sequence[tuple[str, str]] = ()
) -> tuple[list[np.ndarray], float | None, float | None]:
    """Every frame of the first video stream as RGB uint8 (through ``filters``, an FFmpeg
    filter chain, where given), its frame rate and duration."""
    av = _av()
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise InputError(f"The file '{path}' has no video stream.")
            stream = container.streams.video[0]
            rate = float(stream.average_rate) if stream.average_rate else None
            decoded = container.decode(stream)
            if filters:
                decoded = _through(av, stream, filters, decoded)
            frames = [f.reformat(format="rgb24").to_ndarray() for f in decoded]
            duration = (
                float(stream.duration * stream.time_base)
                if stream.duration is not None and stream.time_base is not None
                else (len(frames) / rate if rate else None)
            )
    except InputError:
        raise
    except Exception as exc:  # FFmpeg errors come as av.error.* of many kinds
        raise InputError(
            f"The clip '{path}' could not be decoded ({type(exc).__name__}: {exc}); it is not a "
            f"video or is damaged. Expected one of {', '.join(VIDEO_SUFFIXES)}."
        ) from None
    if not frames:
        raise InputError(f"The clip '{path}' holds no frame.")
    return frames, rate, duration


def _through(av: Any, stream: Any, filters: Sequence[tuple[str, str]], decoded: Any) -> Any:
    """The decoded frames through a filter chain (buffer -> filters -> buffersink), every
    frame pushed in order and every output pulled, then the chain flushed at the end."""
    graph = av.filter.Graph()
    node = graph.add_buffer(template=stream)
    for name, arguments in filters:
        nxt = graph.add(name, arguments)
        node.link_to(nxt)
        node = nxt
    node.link_to(graph.add("buffersink"))
    graph.configure()

    def drain() -> Any:
        while True:
            try:
                yield graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return

    for frame in decoded:
        graph.push(frame)
        yield from drain()
    graph.push(None)
    yield from drain()


def write_video(
    path: str | Path, frames: Sequence[np.ndarray] | np.ndarray, fps: int = 30, codec: str = "ffv1"
) -> Path:
    """Write frames (T, H, W, 3) uint8 to a video file (lossless ``ffv1`` in ``.mkv`` by
    default, so decoding gives back the exact pixels); for tests and examples."""
    av = _av()
    arr = np.asarray(frames, dtype=np.uint8)
    path = Path(path)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height = arr.shape[2], arr.shape[1]
        stream.pix_fmt = _LOSSLESS_FORMATS.get(codec, "yuv420p")
        for frame in arr:
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
