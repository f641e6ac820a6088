"""Outgoing frames in the forms rosbridge clients may ask for: CBOR, PNG, fragments and
the resume key, checked with independent decoders (cbor2, Pillow) and on the tier over
the in-memory graph. A standard client of the same topic keeps the standard frame."""
import base64
import io
import json
import math

import cbor2
import pytest
from PIL import Image

from websocket_redundancy.core.encodings import Tagged, cbor, fragments, png_frame

from .test_tier_service import connect, send, world  # noqa: F401  (fixture)

ODOM = {'pose': {'pose': {'position': {'x': 1.5, 'y': -2.0}}}}


@pytest.mark.parametrize('value', [
    0, 23, 24, 255, 256, 65535, 65536, 2**32, 2**64 - 1, -1, -24, -25, -2**63,
    1.5, -0.0, 1e300, '', 'é ö', 'x' * 300, b'', b'\x00\x01' * 200, True, False, None,
    [], [1, [2, 3]], {}, {'a': {'b': [1.0, 'c']}}, list(range(30)),
])
def test_cbor_items_decode_to_what_was_encoded(value):
    assert cbor2.loads(cbor(value)) == value


def test_cbor_keeps_nan_and_infinities_and_tags():
    decoded = cbor2.loads(cbor({'n': math.nan, 'i': -math.inf, 't': Tagged(86, b'\x00' * 8)}))
    assert math.isnan(decoded['n']) and decoded['i'] == -math.inf
    assert decoded['t'] == cbor2.CBORTag(86, b'\x00' * 8)


def test_cbor_refuses_what_it_cannot_encode():
    with pytest.raises(TypeError, match='set'):
        cbor({1, 2})


@pytest.mark.parametrize('size', [1, 2, 3, 4, 100, 1001, 30000])
def test_a_png_frame_holds_the_json_text_in_its_pixels(size):
    text = json.dumps({'op': 'publish', 'topic': '/t', 'msg': {'data': 'é' + 'x' * size}}).encode()
    frame = json.loads(png_frame(text))
    assert frame['op'] == 'png'
    image = Image.open(io.BytesIO(base64.b64decode(frame['data'])), formats=('png',))
    assert image.convert('RGB').tobytes().rstrip(b'\n') == text


def test_fragments_join_to_the_frame_and_a_short_frame_stays_whole():
    text = json.dumps({'op': 'publish', 'topic': '/t', 'msg': {'data': 'aé' * 100}}).encode()
    pieces = [json.loads(p) for p in fragments(text, 64, 'f1')]
    assert {p['op'] for p in pieces} == {'fragment'} and {p['id'] for p in pieces} == {'f1'}
    assert [p['num'] for p in pieces] == list(range(len(pieces))) == list(range(pieces[0]['total']))
    assert all(len(p['data']) <= 64 for p in pieces)
    assert ''.join(p['data'] for p in pieces).encode() == text
    assert fragments(text, len(text.decode()), 'f1') == [text]


def _binary(proto):
    return [cbor2.loads(p.payload) for p in proto.data if p.binary]


def test_a_cbor_subscriber_gets_one_binary_frame_and_others_keep_json(world):  # noqa: F811
    """When one client asks for CBOR (with the resume key) and another for nothing, the
    first gets binary CBOR frames, the second the standard JSON frame."""
    graph, tiers, _ = world
    tier = tiers['primary']
    packed, plain = connect(tier, 'c'), connect(tier, 'p')
    send(tier, packed, {'op': 'subscribe', 'topic': '/odom', 'compression': 'cbor',
                        'resume_keys': True})
    send(tier, plain, {'op': 'subscribe', 'topic': '/odom'})
    pub = graph.advertise('/odom', 'nav_msgs/msg/Odometry')
    pub.publish(ODOM)
    [frame] = _binary(packed)
    assert frame == {'op': 'publish', 'topic': '/odom', 'msg': ODOM, 'epoch': pub.epoch, 'seq': 1}
    assert plain.frames() == [{'op': 'publish', 'topic': '/odom', 'msg': ODOM}]
    assert not any(p.binary for p in plain.data)


def test_cbor_raw_without_graph_bytes_falls_back_to_cbor(world):  # noqa: F811
    graph, tiers, _ = world
    tier = tiers['primary']
    client = connect(tier, 'c')
    send(tier, client, {'op': 'subscribe', 'topic': '/odom', 'compression': 'cbor-raw'})
    graph.advertise('/odom', 'nav_msgs/msg/Odometry').publish(ODOM)
    assert _binary(client) == [{'op': 'publish', 'topic': '/odom', 'msg': ODOM}]


def test_png_and_fragment_size_give_what_roslibjs_reassembles(world):  # noqa: F811
    """When a client asks for png and a fragment_size, each sample arrives as fragments
    that join to a png frame whose pixels hold the standard frame; a service reply
    longer than fragment_size is fragmented too."""
    graph, tiers, _ = world
    tier = tiers['primary']
    client = connect(tier, 'c')
    send(tier, client, {'op': 'subscribe', 'topic': '/odom', 'compression': 'png',
                        'fragment_size': 40})
    graph.advertise('/odom', 'nav_msgs/msg/Odometry').publish(ODOM)
    pieces = client.frames()
    assert len(pieces) > 1 and {p['op'] for p in pieces} == {'fragment'}
    png = json.loads(''.join(p['data'] for p in pieces))
    pixels = Image.open(io.BytesIO(base64.b64decode(png['data']))).convert('RGB').tobytes()
    assert json.loads(pixels) == {'op': 'publish', 'topic': '/odom', 'msg': ODOM}
    client.control.clear()
    send(tier, client, {'op': 'call_service', 'service': '/out/of/scope', 'id': 'call1'})
    assert {c['op'] for c in client.control} == {'fragment'}
    reply = json.loads(''.join(c['data'] for c in client.control))
    assert reply['op'] == 'service_response' and reply['result'] is False
    assert 'outside the primary tier' in reply['values']


@pytest.mark.parametrize('frame, detail', [
    ({'compression': 'zip'}, "'compression' must be one of none, png, cbor, cbor-raw"),
    ({'fragment_size': 0}, "'fragment_size' must be a positive number"),
    ({'fragment_size': '10'}, "'fragment_size' must be a positive number"),
])
def test_bad_forms_are_refused_and_nothing_is_subscribed(world, frame, detail, caplog):  # noqa: F811
    graph, tiers, _ = world
    tier = tiers['primary']
    client = connect(tier, 'c')
    send(tier, client, {'op': 'subscribe', 'topic': '/odom', **frame})
    assert tier.health()['refused'] == {'bad_field': 1}
    assert detail in caplog.text
    assert tier.hub.topics() == []


def test_a_lazy_frame_builds_each_form_once_and_only_when_asked():
    """When clients take a sample standard and keyed, each form is built once; a form no
    client takes is never built; a sample that cannot be built is tried once."""
    from websocket_redundancy.core.fanout import LazyFrame
    built = []

    def build(key):
        built.append(key)
        return b'{"k":%s}' % (b'1' if key else b'0')
    lazy = LazyFrame(build, 'e1', 7)
    assert lazy.keyed() == lazy.keyed() == b'{"k":1}' and built == [('e1', 7)]
    assert lazy.get() == lazy.get() == b'{"k":0}' and built == [('e1', 7), None]
    failing = []
    broken = LazyFrame(lambda key: failing.append(key), 'e1', 8)
    assert broken.get() is None and broken.keyed() is None and failing == [None]


def test_a_client_that_asks_for_another_form_later_gets_it_from_then_on(world):  # noqa: F811
    """When a client first subscribes plainly and then (another id) with CBOR, the
    frames after the second subscribe are CBOR; unsubscribing that id brings JSON back;
    the hub forgets the client's groups when it leaves."""
    graph, tiers, _ = world
    tier = tiers['primary']
    client = connect(tier, 'c')
    send(tier, client, {'op': 'subscribe', 'topic': '/odom', 'id': 'a'})
    pub = graph.advertise('/odom', 'nav_msgs/msg/Odometry')
    pub.publish(ODOM)
    send(tier, client, {'op': 'subscribe', 'topic': '/odom', 'id': 'b', 'compression': 'cbor'})
    pub.publish(ODOM)
    send(tier, client, {'op': 'unsubscribe', 'topic': '/odom', 'id': 'b'})
    pub.publish(ODOM)
    assert [p.binary for p in client.data] == [False, True, False]
    tier.drop(client)
    assert tier.hub.groups('/odom') == {} and tier.hub._form_of == {}  # noqa: SLF001
