"""Actions on the embedded graph over real Zenoh on 127.0.0.1: the ROS 2 action protocol
(``<action>/_action/send_goal|get_result|cancel_goal|feedback|status``) between two graphs.

Every wait has a deadline and says what it was waiting for; nothing asserts on time.
"""
from __future__ import annotations

from needs import needs

needs('zenoh', 'rosbags')

import threading  # noqa: E402

import pytest  # noqa: E402

from websocket_redundancy.graph.embedded.graph import EmbeddedGraph  # noqa: E402
from websocket_redundancy.graph.port import GOAL_CANCELED, GOAL_SUCCEEDED, GraphError  # noqa: E402

from .test_embedded_graph import ep, free_ports, wait_for  # noqa: E402

pytestmark = pytest.mark.integration
FIB = 'example_interfaces/action/Fibonacci'


@pytest.fixture
def pair():
    ports = free_ports(2)
    graphs = [EmbeddedGraph(listen=[ep(p)], connect=[ep(q) for q in ports if q != p],
                            name=f'g{i}') for i, p in enumerate(ports)]
    yield graphs
    for graph in graphs:
        graph.close()


def test_a_goal_gets_feedback_and_its_result_across_graphs(pair):
    """When a client in one graph sends a goal to a server in the other, the server
    gets the goal, its feedback reaches the client, and the result ends the goal."""
    server_graph, client_graph = pair
    goals = []
    server_graph.serve_action('/fib', FIB, goals.append)
    wait_for(lambda: '/fib/_action/send_goal' in client_graph.services(),
             'the action server to be discovered')
    assert '/fib/_action/status' in client_graph.topics()
    feedback, lock = [], threading.Lock()

    def on_feedback(values):
        with lock:
            feedback.append(values)

    handle = client_graph.send_goal('/fib', FIB, {'order': 3}, on_feedback, 5.0)
    wait_for(lambda: goals, 'the server to get the goal')
    assert goals[0].request == {'order': 3} and goals[0].goal_id == handle.goal_id

    def feedback_arrived():
        goals[0].publish_feedback({'sequence': [0, 1]})
        return feedback
    wait_for(feedback_arrived, 'feedback at the client')
    assert feedback[0] == {'sequence': [0, 1]}
    assert not handle.result.done()
    goals[0].finish(GOAL_SUCCEEDED, {'sequence': [0, 1, 1, 2]})
    result = handle.result.result(timeout=10)
    assert (result.status, result.result) == (GOAL_SUCCEEDED, {'sequence': [0, 1, 1, 2]})


def test_a_cancel_reaches_the_server_and_the_result_says_canceled(pair):
    server_graph, client_graph = pair
    goals = []
    server_graph.serve_action('/fib', FIB, goals.append)
    wait_for(lambda: '/fib/_action/send_goal' in client_graph.services(), 'the server')
    handle = client_graph.send_goal('/fib', FIB, {'order': 9}, None, 5.0)
    wait_for(lambda: goals, 'the server to get the goal')
    canceled = threading.Event()
    goals[0].on_cancel = canceled.set
    handle.cancel()
    assert canceled.wait(10), 'the cancel did not reach the server'
    goals[0].finish(GOAL_CANCELED)
    assert handle.result.result(timeout=10).status == GOAL_CANCELED


def test_a_goal_without_a_server_fails_and_a_dead_server_ends_a_waiting_goal(pair):
    """When nothing serves the action the goal fails naming it; when the server's graph
    closes while a goal runs, the client's result fails instead of waiting forever."""
    server_graph, client_graph = pair
    missing = client_graph.send_goal('/nowhere', FIB, {}, None, 1.0)
    with pytest.raises(GraphError, match='no action server for /nowhere'):
        missing.result.result(timeout=10)
    unknown = client_graph.send_goal('/fib', 'rover_msgs/action/Dig', {}, None, 1.0)
    with pytest.raises(GraphError, match="unknown action type 'rover_msgs/action/Dig'"):
        unknown.result.result(timeout=10)
    goals = []
    server_graph.serve_action('/fib', FIB, goals.append)
    wait_for(lambda: '/fib/_action/send_goal' in client_graph.services(), 'the server')
    handle = client_graph.send_goal('/fib', FIB, {'order': 9}, None, 5.0)
    wait_for(lambda: goals, 'the server to get the goal')
    server_graph.close()
    with pytest.raises(GraphError):
        handle.result.result(timeout=20)
