"""How ``gateway serve`` takes Ctrl-C: uvicorn stops the server, and the echo of that signal lets the cleanup finish."""

from __future__ import annotations

import signal

import pytest

from gateway.cli import EchoedInterrupt


def test_ctrl_c_before_the_server_is_up_interrupts() -> None:
    interrupts = EchoedInterrupt()
    with pytest.raises(KeyboardInterrupt):
        interrupts(signal.SIGINT, None)


def test_the_echo_of_the_ctrl_c_that_stopped_the_server_is_absorbed() -> None:
    interrupts = EchoedInterrupt()
    interrupts.serving = True
    interrupts(signal.SIGINT, None)


def test_a_second_ctrl_c_during_the_cleanup_interrupts() -> None:
    interrupts = EchoedInterrupt()
    interrupts.serving = True
    interrupts(signal.SIGINT, None)
    with pytest.raises(KeyboardInterrupt):
        interrupts(signal.SIGINT, None)
