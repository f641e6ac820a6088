"""Client-provided services in the rosbridge session (advertise_service, service_response,
unadvertise_service): frames and graph calls in, commands out; time is an argument."""
import json

import pytest

from websocket_redundancy.core import rosbridge_services as provided
from websocket_redundancy.core.commands import (
    AdvertiseService,
    AnswerCall,
    Refused,
    Reply,
    UnadvertiseService,
)
from websocket_redundancy.core.rosbridge import Session
from websocket_redundancy.core.settings import settings_from_dict

SETTINGS = settings_from_dict({
    'auth': {'roles': {'team': 'tok-team', 'viewer': 'tok-view'}},
    'limits': {'max_provided_services': 2, 'max_provided_calls': 2,
               'provided_call_timeout_s': 3},
    'tiers': {'primary': {'services': ['/websocket_redundancy/**', '/ops/**']},
              'emergency': {'port': 8083, 'priority': 3}}})
SET_BOOL = 'std_srvs/srv/SetBool'


def session(tier='primary', role='team'):
    return Session(SETTINGS.tier(tier), SETTINGS.limits, SETTINGS.roles, role=role)


def send(s, frame, now=0.0):
    return s.receive(json.dumps(frame).encode(), False, now)


def advertise(s, service='/ops/arm', type_name='std_srvs/SetBool', now=0.0):
    return send(s, {'op': 'advertise_service', 'service': service, 'type': type_name}, now)


def answer(s, call_id, service='/ops/arm', values=None, result=True, now=0.0):
    frame = {'op': 'service_response', 'service': service, 'id': call_id, 'result': result,
             'values': {'success': True, 'message': 'armed'} if values is None else values}
    return send(s, frame, now)


def test_when_a_client_advertises_a_service_in_scope_the_tier_serves_it():
    s = session()
    assert advertise(s) == [AdvertiseService('/ops/arm', SET_BOOL)]
    assert advertise(s) == []  # the same again: nothing new
    assert s.provider.services == {'/ops/arm': SET_BOOL}


def test_a_graph_call_becomes_call_service_and_the_response_answers_it():
    s = session()
    advertise(s)
    waiter = object()
    assert provided.request(s, '/ops/arm', {'data': True}, waiter, now=1.0) == [Reply(
        {'op': 'call_service', 'id': 'service_request:/ops/arm:1', 'service': '/ops/arm',
         'args': {'data': True}})]
    assert answer(s, 'service_request:/ops/arm:1') == [
        AnswerCall(waiter, True, {'success': True, 'message': 'armed'})]
    assert s.provider.calls == {}
    [refused] = answer(s, 'service_request:/ops/arm:1')  # answered already
    assert refused.kind == 'bad_field' and 'no call' in refused.detail


def test_call_ids_are_unique_per_client_and_follow_rosbridge():
    s = session()
    advertise(s)
    advertise(s, '/ops/stow')
    ids = [provided.request(s, name, {}, object(), 0.0)[0].frame['id']
           for name in ('/ops/arm', '/ops/stow')]
    assert ids == ['service_request:/ops/arm:1', 'service_request:/ops/stow:2']


@pytest.mark.parametrize('frame, kind, fragment', [
    ({'service': '/ops/arm'}, 'bad_field', "'type' must be a string"),
    ({'service': '/ops/arm', 'type': 'std_msgs/msg/Bool'}, 'bad_field', 'not a ROS service type'),
    ({'service': 'ops/arm', 'type': SET_BOOL}, 'bad_field', 'not a valid ROS name'),
    ({'service': 42, 'type': SET_BOOL}, 'bad_field', "'service' must be a string"),
    ({'service': '/cmd/arm', 'type': SET_BOOL}, 'scope', "outside the primary tier's service"),
    ({'service': '/websocket_redundancy/status', 'type': SET_BOOL}, 'scope',
     'belongs to the tiers and the coordinator'),
])
def test_a_malformed_or_out_of_scope_advertise_service_is_refused(frame, kind, fragment):
    s = session()
    [refused] = send(s, {'op': 'advertise_service', **frame})
    assert refused.kind == kind and fragment in refused.detail, refused
    assert s.provider.services == {}


def test_a_client_without_a_publishing_role_may_not_provide_a_service():
    for s in (session(role=None), session(role='viewer')):
        [refused] = advertise(s)
        assert refused.kind == 'auth' and 'may not provide /ops/arm' in refused.detail


def test_a_service_outside_the_default_scope_is_refused_with_the_key_to_change():
    [refused] = advertise(session('emergency'))
    assert 'tiers.emergency.services' in refused.detail


def test_a_client_provides_a_bounded_number_of_services():
    s = session()
    advertise(s, '/ops/a')
    advertise(s, '/ops/b')
    [refused] = advertise(s, '/ops/c')
    assert refused.kind == 'limit' and 'at most 2 services' in refused.detail
    assert set(s.provider.services) == {'/ops/a', '/ops/b'}


def test_advertising_a_provided_name_with_another_type_is_refused():
    s = session()
    advertise(s)
    [refused] = advertise(s, type_name='std_srvs/srv/Trigger')
    assert refused.kind == 'conflict' and 'unadvertise_service it' in refused.detail
    assert s.provider.services == {'/ops/arm': SET_BOOL}


def test_a_response_from_a_client_that_does_not_provide_the_service_answers_nothing():
    provider, other = session(), session()
    advertise(provider)
    waiter = object()
    provided.request(provider, '/ops/arm', {}, waiter, 0.0)
    [refused] = answer(other, 'service_request:/ops/arm:1')
    assert refused.kind == 'bad_field' and 'no call' in refused.detail
    [refused] = answer(provider, 'service_request:/ops/arm:1', service='/ops/other')
    assert refused.kind == 'bad_field'
    assert list(provider.provider.calls) == ['service_request:/ops/arm:1']  # still waiting


@pytest.mark.parametrize('change, fragment', [
    ({'result': 'yes'}, "'result' must be true or false"),
    ({'result': None}, "'result' must be true or false"),
    ({'values': 'armed'}, "'values' must be an object"),
])
def test_a_malformed_response_to_a_waiting_call_fails_that_call_at_once(change, fragment):
    s = session()
    advertise(s)
    waiter = object()
    provided.request(s, '/ops/arm', {}, waiter, 0.0)
    frame = {'op': 'service_response', 'service': '/ops/arm', 'id': 'service_request:/ops/arm:1',
             'result': True, 'values': {}, **change}
    refused, failed = send(s, frame)
    assert isinstance(refused, Refused) and fragment in refused.detail
    assert (failed.waiter, failed.ok) == (waiter, False)
    assert failed.values.startswith('the client providing /ops/arm sent a malformed '
                                    f'service_response: {fragment}')
    assert s.provider.calls == {}


def test_a_response_without_an_id_is_refused():
    s = session()
    [refused] = send(s, {'op': 'service_response', 'service': '/ops/arm', 'result': True})
    assert "'id' is missing" in refused.detail


def test_when_the_client_reports_a_failure_the_caller_gets_its_reason():
    s = session()
    advertise(s)
    waiter = object()
    provided.request(s, '/ops/arm', {}, waiter, 0.0)
    assert answer(s, 'service_request:/ops/arm:1', values='arm is stowed', result=False) == [
        AnswerCall(waiter, False, 'the client providing /ops/arm reported a failure: '
                   'arm is stowed')]


def test_a_failure_without_values_says_so_without_them():
    s = session()
    advertise(s)
    waiter = object()
    provided.request(s, '/ops/arm', {}, waiter, 0.0)
    assert send(s, {'op': 'service_response', 'service': '/ops/arm', 'result': False,
                    'id': 'service_request:/ops/arm:1'}) == [
        AnswerCall(waiter, False, 'the client providing /ops/arm reported a failure')]


def test_roslibjs_empty_values_are_an_empty_response():
    s = session()
    advertise(s)
    waiter = object()
    provided.request(s, '/ops/arm', {}, waiter, 0.0)
    assert answer(s, 'service_request:/ops/arm:1', values=[]) == [AnswerCall(waiter, True, {})]


def test_a_call_not_answered_by_its_deadline_fails():
    s = session()
    advertise(s)
    early, late = object(), object()
    provided.request(s, '/ops/arm', {}, early, now=10.0)
    provided.request(s, '/ops/arm', {}, late, now=11.0)
    assert s.provider.next_deadline() == 13.0
    assert provided.expire(s, 12.9) == []
    assert provided.expire(s, 13.0) == [
        AnswerCall(early, False, 'the client providing /ops/arm did not answer within 3 s')]
    assert s.provider.next_deadline() == 14.0
    [refused] = answer(s, 'service_request:/ops/arm:1', now=13.5)  # too late
    assert 'no call' in refused.detail


def test_calls_in_flight_are_bounded():
    s = session()
    advertise(s)
    provided.request(s, '/ops/arm', {}, object(), 0.0)
    provided.request(s, '/ops/arm', {}, object(), 0.0)
    third = object()
    assert provided.request(s, '/ops/arm', {}, third, 0.0) == [AnswerCall(
        third, False, 'the client providing /ops/arm already has 2 calls and goals waiting for its '
        'answers; try again later')]


def test_unadvertise_fails_that_services_calls_and_stops_serving_it():
    s = session()
    advertise(s)
    advertise(s, '/ops/stow')
    arm, stow = object(), object()
    provided.request(s, '/ops/arm', {}, arm, 0.0)
    provided.request(s, '/ops/stow', {}, stow, 0.0)
    assert send(s, {'op': 'unadvertise_service', 'service': '/ops/arm'}) == [
        AnswerCall(arm, False, 'the client providing /ops/arm unadvertised it'),
        UnadvertiseService('/ops/arm')]
    assert list(s.provider.calls) == ['service_request:/ops/stow:2']
    [refused] = send(s, {'op': 'unadvertise_service', 'service': '/ops/arm'})
    assert 'does not provide /ops/arm' in refused.detail
    late = object()
    assert provided.request(s, '/ops/arm', {}, late, 0.0) == [
        AnswerCall(late, False, 'the client providing /ops/arm unadvertised it')]


def test_when_the_client_disconnects_its_calls_fail_at_once_and_its_services_stop():
    s = session()
    advertise(s)
    waiter = object()
    provided.request(s, '/ops/arm', {}, waiter, 0.0)
    assert s.closed() == [AnswerCall(waiter, False, 'the client providing /ops/arm disconnected'),
                          UnadvertiseService('/ops/arm')]
    assert s.provider.services == {} and s.provider.calls == {}


def test_when_the_shell_cannot_serve_the_name_the_session_forgets_it():
    s = session()
    s.level = 'error'
    advertise(s)
    refused, reply = provided.refuse_advertise(s, '/ops/arm', 'conflict', '/ops/arm is taken')
    assert refused == Refused('conflict', 'advertise_service: /ops/arm is taken')
    assert reply.frame['op'] == 'status'
    assert s.provider.services == {}
