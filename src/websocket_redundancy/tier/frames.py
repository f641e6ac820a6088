"""The forms of a sample's frame other than the plain JSON one, as prepared WebSocket
frames: with the resume key, CBOR and CBOR-raw (binary), PNG, and fragments.

The hub groups clients by the form they take (``core.fanout``) and ``LazyFrame.shaped``
makes each form at most once per sample; this module only builds one.
"""
from __future__ import annotations

from typing import Any

from ..core.encodings import Form, cbor, fragments, png_frame
from ..core.fanout import LazyFrame
from ..graph.port import GraphError, Sample


class FrameShaper:
    """``shaper(lazy, form)``: the prepared frame(s) of ``lazy`` in ``form``."""

    def __init__(self, factory):
        self.prepare = factory.prepareMessage

    def __call__(self, lazy: LazyFrame, form: Form) -> list:
        """[] if the sample cannot be sent (the tier logged why, once per topic)."""
        if form.binary:
            frame = cbor_frame(lazy.source, form)
            return [] if frame is None else [self.prepare(frame, isBinary=True)]
        frame = lazy.keyed() if form.keyed else lazy.get()
        if frame is None:
            return []
        if form.compression == 'png':
            frame = png_frame(frame)
        pieces = fragments(frame, form.fragment_size, f'{lazy.epoch}:{lazy.seq}') \
            if form.fragment_size else [frame]
        return [self.prepare(piece) for piece in pieces]


def cbor_frame(sample: Sample, form: Form) -> bytes | None:
    """rosbridge's ``cbor`` (the message with byte strings and typed arrays) or
    ``cbor-raw`` (its serialized bytes and the source time; ``cbor`` for samples the
    graph gave no bytes for) as one binary CBOR frame; None if the sample does not
    decode."""
    frame: dict[str, Any] = {'op': 'publish', 'topic': sample.topic}
    if form.compression == 'cbor-raw' and sample.raw is not None:
        secs, frac = divmod(sample.source_time, 1.0)
        frame['msg'] = {'secs': int(secs), 'nsecs': int(frac * 1e9), 'bytes': sample.raw}
    else:
        try:
            frame['msg'] = sample.cbor_msg()
        except GraphError:
            return None  # the JSON form says why, once per topic
    if form.keyed:
        frame['epoch'], frame['seq'] = sample.epoch, sample.seq
    return cbor(frame)
