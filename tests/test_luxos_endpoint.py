"""The LuxOS endpoint driven by unmodified pyasic and by raw sockets (real TCP, real client)."""

import asyncio
import json
import socket
from ipaddress import IPv4Address

import pyasic
import pytest

from hilbench.emulation.board import BoardState
from hilbench.emulation.site import BoardGroup, EmulatedSite, SiteConfig
from hilbench.hashing.sha256d import NONCE_SPACE, hash_value, sha256d
from hilbench.transports.tcp_json import exchange, query
from tests.conftest import loopback_block

BASE = loopback_block()  # this module's boards, on a block no other test (or xdist worker) uses
HOSTS = [BASE, str(IPv4Address(BASE) + 1)]


@pytest.fixture(scope="module")
def site():
    config = SiteConfig((BoardGroup(name="t", profile="s19j_pro", count=2, address_base=BASE),))
    with EmulatedSite(config, time_scale=20) as running:
        yield running


def run(coro):
    return asyncio.run(coro)


def raw(host: str, payload: bytes) -> dict:
    reply = exchange(host, 4028, payload)
    assert reply.endswith(b"\x00"), "cgminer replies end with a NUL byte"
    return json.loads(reply[:-1])


def test_pyasic_detects_and_reads_the_board(site):
    miner = run(pyasic.get_miner(HOSTS[0]))
    assert type(miner).__name__ == "LUXMinerS19jPro"
    data = run(miner.get_data())
    assert float(data.hashrate) == pytest.approx(100.0, rel=0.01)
    assert data.wattage == 3250 and data.wattage_limit == 3250
    assert len(data.hashboards) == 3 and all(b.chips == 126 for b in data.hashboards)
    assert len(data.fans) == 4 and all(f.speed > 0 for f in data.fans)
    assert data.uptime > 0
    assert data.pools and data.pools[0].alive and data.pools[0].user.startswith("hilbench.")


def test_pyasic_stops_resumes_and_limits_power(site):
    board = site.boards[1]
    miner = run(pyasic.get_miner(HOSTS[1]))
    assert run(miner.stop_mining()) is True
    site.clock.sleep(board.profile.curtail_latency_s + 0.5)
    assert board.model.snapshot().state is BoardState.CURTAILED
    assert run(miner.get_data()).wattage < 20
    assert run(miner.resume_mining()) is True
    site.clock.sleep(board.profile.wake_delay_s + 9)
    assert run(miner.get_data()).wattage == pytest.approx(3250, abs=2)
    assert run(miner.set_power_limit(1700)) is True
    site.clock.sleep(10)
    data = run(miner.get_data())
    assert 1600 <= data.wattage <= 1700 and data.wattage_limit == data.wattage
    assert run(miner.set_power_limit(100)) is False  # below every profile: refused, not clipped
    assert board.model.active_profile.watts == data.wattage_limit


def test_shares_reverify_with_hashlib_and_match_the_hash_rate(site):
    site.clock.sleep(60)
    reply = query(HOSTS[0], 4028, "hilshares")
    shares = reply["SHARES"]
    assert shares
    for share in shares:
        header = bytes.fromhex(share["header"])
        assert sha256d(header)[::-1].hex() == share["hash"]
        assert hash_value(sha256d(header)) <= int(share["target"], 16)
        assert int.from_bytes(header[76:80], "little") == int(share["nonce"], 16)
    summary = query(HOSTS[0], 4028, "summary")["SUMMARY"][0]
    assert summary["Accepted"] >= len(shares)
    assert summary["Difficulty Accepted"] == summary["Accepted"] * 131072


def test_multicommand_and_text_requests(site):
    reply = raw(HOSTS[0], b'{"command":"power+version"}')
    assert reply["power"][0]["POWER"][0]["Watts"] > 0
    assert reply["version"][0]["VERSION"][0]["LUXminer"]
    text = raw(HOSTS[0], b"version")
    assert text["STATUS"][0]["STATUS"] == "S"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (b'{"command": "summ', 23),  # truncated JSON (after the read timeout)
        (b"{not json at all}", 23),
        (b'{"parameter": "x"}', 24),
        (b'{"command": "frobnicate"}', 14),
        (b"\xff\xfe\x00garbage", 23),
        (b'{"command": "curtail", "parameter": "deadbeef,sleep"}', 317),
        (b'{"command": "curtail", "parameter": ""}', 317),
    ],
)
def test_bad_requests_get_status_e_and_change_nothing(site, payload, code):
    board = site.boards[0]
    before = (board.model.snapshot().state, board.model.active_profile.name)
    reply = raw(HOSTS[0], payload)
    assert reply["STATUS"][0]["STATUS"] == "E" and reply["STATUS"][0]["Code"] == code
    assert (board.model.snapshot().state, board.model.active_profile.name) == before
    assert query(HOSTS[0], 4028, "power")["POWER"][0]["Watts"] > 0  # still serving


def test_session_rules_and_out_of_range_profiles(site):
    host = HOSTS[0]
    board = site.boards[0]
    session = query(host, 4028, "session")["SESSION"][0]["SessionID"]
    sid = session or query(host, 4028, "logon")["SESSION"][0]["SessionID"]
    busy = raw(host, b'{"command":"logon"}')
    assert busy["STATUS"][0]["STATUS"] == "E"
    for bad in ("9999W", "+7", "-99", "abcTHs"):
        reply = raw(host, json.dumps({"command": "profileset", "parameter": f"{sid},{bad}"}).encode())
        assert reply["STATUS"][0]["STATUS"] == "E", bad
    atm_on = raw(host, json.dumps({"command": "profileset", "parameter": f"{sid},-2"}).encode())
    assert atm_on["STATUS"][0]["STATUS"] == "E" and board.model.active_profile.name == "default"
    query(host, 4028, "logoff", sid)
    stale = raw(host, json.dumps({"command": "curtail", "parameter": f"{sid},sleep"}).encode())
    assert stale["STATUS"][0]["Code"] == 317
    assert board.model.snapshot().state is BoardState.MINING


def test_a_stalled_client_does_not_block_others(site):
    with socket.create_connection((HOSTS[0], 4028)) as stalled:
        stalled.sendall(b'{"command": "ver')  # never finished
        assert query(HOSTS[0], 4028, "power")["POWER"][0]["Watts"] > 0
        assert query(HOSTS[1], 4028, "version")["VERSION"][0]["Type"] == "Antminer S19j Pro"


def test_share_target_scaling_is_documented_value(site):
    engine = site.boards[0].shares
    assert engine.target * engine.work_per_share // NONCE_SPACE == pytest.approx(0xFFFF << 208, rel=1e-9)
