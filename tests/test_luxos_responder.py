"""Pure logic of the LuxOS responder (no sockets): sessions expire on plant time."""

import json

from hilbench.emulation.board import BoardState
from hilbench.emulation.board_profiles import S19J_PRO
from hilbench.emulation.clock import ManualClock
from hilbench.emulation.emulated_board import EmulatedBoard
from hilbench.emulation.luxos import SESSION_IDLE_PLANT_S, LuxOSResponder


def ask(responder, command, parameter=""):
    raw = responder.handle(json.dumps({"command": command, "parameter": parameter}).encode())
    assert raw.endswith(b"\x00")
    return json.loads(raw[:-1])


def test_session_expires_after_a_plant_minute_idle_and_then_refuses():
    clock = ManualClock()
    board = EmulatedBoard(S19J_PRO, clock, 0)
    responder = LuxOSResponder(board, session_idle_min_wall_s=0)
    sid = ask(responder, "logon")["SESSION"][0]["SessionID"]
    clock.advance(SESSION_IDLE_PLANT_S - 1)
    assert ask(responder, "session")["SESSION"][0]["SessionID"] == sid
    assert ask(responder, "atmset", f"{sid},enabled=false")["STATUS"][0]["STATUS"] == "S"  # use refreshes it
    clock.advance(SESSION_IDLE_PLANT_S + 1)
    expired = ask(responder, "curtail", f"{sid},sleep")
    assert expired["STATUS"][0]["STATUS"] == "E" and expired["STATUS"][0]["Code"] == 317
    clock.advance(5)
    assert board.model.snapshot().state is BoardState.MINING
    assert ask(responder, "session")["SESSION"][0]["SessionID"] == ""
    fresh = ask(responder, "logon")["SESSION"][0]["SessionID"]
    assert fresh and fresh != sid


def test_privileged_commands_cannot_hide_in_a_multicommand():
    clock = ManualClock()
    board = EmulatedBoard(S19J_PRO, clock, 0)
    responder = LuxOSResponder(board)
    sid = ask(responder, "logon")["SESSION"][0]["SessionID"]
    reply = ask(responder, "power+curtail", f"{sid},sleep")
    assert reply["curtail"][0]["STATUS"][0]["STATUS"] == "E"
    assert reply["power"][0]["STATUS"][0]["STATUS"] == "S"
    clock.advance(10)
    assert board.model.snapshot().state is BoardState.MINING


def test_power_selectors_pick_the_highest_profile_not_above():
    clock = ManualClock()
    board = EmulatedBoard(S19J_PRO, clock, 0)
    responder = LuxOSResponder(board)
    sid = ask(responder, "logon")["SESSION"][0]["SessionID"]
    ask(responder, "atmset", f"{sid},enabled=false")
    assert ask(responder, "profileset", f"{sid},2kW")["PROFILE"][0]["Profile"] == "-8"  # 1950 W
    assert ask(responder, "profileset", f"{sid},50THs")["PROFILE"][0]["Profile"] == "-12"  # 45.1 TH/s
    lowest = board.model.power.ladder[-1]
    assert ask(responder, "profileset", f"{sid},{lowest.watts}W")["PROFILE"][0]["Profile"] == lowest.name
    refused = ask(responder, "profileset", f"{sid},{lowest.watts - 1}W")
    assert refused["STATUS"][0]["STATUS"] == "E" and board.model.active_profile == lowest
