"""CBOR on the real embedded graph, as rosbridge_server sends it: ``cbor`` carries byte
sequences as CBOR byte strings and numeric sequences as little-endian typed arrays
(RFC 8746), ``cbor-raw`` the message's CDR bytes, which deserialize to what was sent."""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags')

import json
import struct

import cbor2
import pytest

from .test_embedded_graph import wait_for
from .test_lazy_path import _tracked, world  # noqa: F401  (fixture)

pytestmark = pytest.mark.integration
IMAGE, ARRAY = '/camera/front/image/compressed', '/mission/weights'


class BinaryClient:
    def __init__(self, name: str) -> None:
        self.peer, self.frames, self.control, self.closed = name, [], [], None

        class _Q:
            dropped = 0
        self.queue = _Q()

    def send_data(self, prepared):
        assert prepared.binary, 'a cbor subscriber got a text frame'
        self.frames.append(cbor2.loads(prepared.payload))

    def send_control(self, payload):
        self.control.append(payload)

    def close_with(self, code, reason):
        self.closed = (code, reason)


def test_cbor_and_cbor_raw_frames_on_the_embedded_graph(world):  # noqa: F811
    source, tier, _, reactor = world
    image = source.advertise(IMAGE, 'sensor_msgs/msg/CompressedImage')
    array = source.advertise(ARRAY, 'std_msgs/msg/Float64MultiArray')
    _tracked(tier, [image, array])
    packed, raw = BinaryClient('cbor'), BinaryClient('raw')
    with reactor.lock:
        for client, compression in ((packed, 'cbor'), (raw, 'cbor-raw')):
            assert tier.admit(client, None) == ''
            for topic in (IMAGE, ARRAY):
                tier.receive(client, json.dumps({'op': 'subscribe', 'topic': topic,
                                                 'compression': compression}).encode(), False)
    wait_for(lambda: {IMAGE, ARRAY} <= set(tier._graph_subs), 'the subscriptions')  # noqa: SLF001
    image.publish({'format': 'jpeg', 'data': 'AAEC/w=='})  # base64 of 00 01 02 ff
    array.publish({'data': [1.5, -2.0, float('inf')]})
    wait_for(lambda: len(packed.frames) == 2 and len(raw.frames) == 2, 'two frames each')
    by_topic = {f['topic']: f for f in packed.frames}
    assert by_topic[IMAGE]['msg']['data'] == b'\x00\x01\x02\xff'
    assert by_topic[IMAGE]['msg']['format'] == 'jpeg'
    weights = by_topic[ARRAY]['msg']['data']
    assert weights.tag == 86 and struct.unpack('<3d', weights.value) == (1.5, -2.0, float('inf'))
    for frame in raw.frames:
        assert set(frame['msg']) == {'secs', 'nsecs', 'bytes'}
        type_name = 'sensor_msgs/msg/CompressedImage' if frame['topic'] == IMAGE else \
            'std_msgs/msg/Float64MultiArray'
        msg = tier.graph.typestore.deserialize_cdr(frame['msg']['bytes'], type_name)
        if frame['topic'] == IMAGE:
            assert bytes(msg.data) == b'\x00\x01\x02\xff'
        else:
            assert list(msg.data) == [1.5, -2.0, float('inf')]
