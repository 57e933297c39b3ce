"""LuxOS flavour of the cgminer RPC for one emulated board: request bytes in, reply bytes out.

Answers the command set unmodified pyasic 0.79.0 uses (detection, get_data, curtail
sleep/wakeup with sessions, set_power_limit through profiles and ATM), with the reply
shapes of docs/references/miner_protocols.md A.3-A.4.  Privileged commands take the
session id as their first parameter.  Any rejected command gets a STATUS "E" reply and
leaves the board untouched.  ``hilshares`` is a hilbench extension (not LuxOS) that
returns the board's recent shares so a test can re-verify them with hashlib.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable

from hilbench.emulation.board import BoardCommandError, BoardSnapshot, BoardState
from hilbench.emulation.emulated_board import EmulatedBoard
from hilbench.protocols import cgminer
from hilbench.protocols.cgminer import RequestError

FIRMWARE = "2024.10.15.190209-hilbench"
API_VERSION = "3.7"
DESCRIPTION = "LUXminer 2024.10.15"
#: Sessions expire after one minute without use (LuxOS api/sessions); measured in plant time,
#: but never shorter than this many wall seconds, so a fast clock cannot expire a live client.
SESSION_IDLE_PLANT_S = 60.0
SESSION_IDLE_MIN_WALL_S = 5.0

PRIVILEGED = {"curtail", "profileset", "atmset", "logoff"}
NOT_JOINABLE = PRIVILEGED | {"logon", "session", "kill"}


class _Session:
    def __init__(self, sid: str, plant: float) -> None:
        self.sid = sid
        self.plant_used = plant
        self.wall_used = time.monotonic()


class LuxOSResponder:
    """The LuxOS API of one board: it holds the session (one at a time, expiring when idle) and the ATM setting, and
    forwards commands to the board model; thread-safe."""

    def __init__(self, board: EmulatedBoard, *, session_idle_min_wall_s: float = SESSION_IDLE_MIN_WALL_S) -> None:
        self.board = board
        self.atm_enabled = True
        self.session_idle_min_wall_s = session_idle_min_wall_s
        self._session: _Session | None = None
        self._lock = threading.Lock()
        self._commands: dict[str, Callable[[list[str]], dict]] = {
            "version": self._version,
            "devdetails": self._devdetails,
            "summary": self._summary,
            "stats": self._stats,
            "devs": self._devs,
            "pools": self._pools,
            "groups": self._groups,
            "power": self._power,
            "profiles": self._profiles,
            "fans": self._fans,
            "config": self._config,
            "tempctrl": self._tempctrl,
            "atm": self._atm,
            "session": self._session_info,
            "logon": self._logon,
            "logoff": self._logoff,
            "kill": self._kill,
            "curtail": self._curtail,
            "profileset": self._profileset,
            "atmset": self._atmset,
            "hilshares": self._hilshares,
        }

    # ----- framing --------------------------------------------------------------------
    def _when(self) -> int:
        return int(self.board.clock.epoch())

    def _ok(self, code: int, message: str, **sections) -> dict:
        return {"STATUS": cgminer.status("S", code, message, self._when(), DESCRIPTION), **sections, "id": 1}

    def _error(self, code: int, message: str) -> dict:
        return cgminer.error_reply(code, message, self._when(), DESCRIPTION)

    def handle(self, raw: bytes) -> bytes:
        """One request's bytes to one reply's bytes (NUL-terminated JSON)."""
        try:
            request = cgminer.parse_request(raw)
        except RequestError as exc:
            return cgminer.encode_reply(self._error(exc.code, exc.message))
        commands = request.commands
        self.board.touch()  # once per request: the plant catches up before any command reads the board
        if not commands:
            return cgminer.encode_reply(self._error(cgminer.MISSING_COMMAND, "Missing JSON 'command'"))
        if len(commands) == 1:
            return cgminer.encode_reply(self._dispatch(commands[0], request.parameters))
        replies = {}
        for name in commands:
            if name in NOT_JOINABLE:
                replies[name] = self._error(cgminer.ACCESS_DENIED, f"Command '{name}' cannot be joined")
            else:
                replies[name] = self._dispatch(name, request.parameters)
        return cgminer.encode_reply(cgminer.join_replies(replies))

    def _dispatch(self, name: str, params: list[str]) -> dict:
        handler = self._commands.get(name)
        if handler is None:
            return self._error(cgminer.INVALID_COMMAND, f"Invalid command '{name}'")
        with self._lock:
            try:
                if name in PRIVILEGED:
                    self._check_session(params)
                return handler(params)
            except RequestError as exc:
                return self._error(exc.code, exc.message)
            except BoardCommandError as exc:
                return self._error(cgminer.BAD_PARAMETER, str(exc))

    # ----- sessions -------------------------------------------------------------------
    def _live_session(self) -> _Session | None:
        s = self._session
        if s is None:
            return None
        plant_idle = self.board.clock.now() - s.plant_used
        wall_idle = time.monotonic() - s.wall_used
        if plant_idle > SESSION_IDLE_PLANT_S and wall_idle >= self.session_idle_min_wall_s:
            self._session = None
        return self._session

    def _check_session(self, params: list[str]) -> None:
        session = self._live_session()
        if not params or not params[0]:
            raise RequestError(cgminer.SESSION_INVALID, "Missing session id")
        if session is None or not secrets.compare_digest(params[0].encode(), session.sid.encode()):
            raise RequestError(cgminer.SESSION_INVALID, "Invalid session id (expired or never issued)")
        session.plant_used = self.board.clock.now()
        session.wall_used = time.monotonic()

    def _session_info(self, params: list[str]) -> dict:
        session = self._live_session()
        return self._ok(
            cgminer.SESSION_CREATED, "Session info", SESSION=[{"SessionID": session.sid if session else ""}]
        )

    def _logon(self, params: list[str]) -> dict:
        if self._live_session() is not None:
            raise RequestError(cgminer.SESSION_BUSY, "Another session is active")
        self._session = _Session(secrets.token_hex(4), self.board.clock.now())
        return self._ok(cgminer.SESSION_CREATED, "Session created", SESSION=[{"SessionID": self._session.sid}])

    def _logoff(self, params: list[str]) -> dict:
        self._session = None
        return self._ok(cgminer.SESSION_CREATED, "Session closed", SESSION=[{"SessionID": ""}])

    def _kill(self, params: list[str]) -> dict:
        self._session = None
        return self._ok(cgminer.SESSION_CREATED, "Session killed", SESSION=[{"SessionID": ""}])

    # ----- privileged -----------------------------------------------------------------
    def _curtail(self, params: list[str]) -> dict:
        action = params[1].lower() if len(params) > 1 else ""
        if action == "sleep":
            self.board.model.operator_sleep()  # held asleep: the container's controller does not wake it
        elif action == "wakeup":
            self.board.model.operator_wakeup()
        else:
            raise RequestError(cgminer.BAD_PARAMETER, f"Invalid curtail action {action!r}: use sleep or wakeup")
        return self._ok(cgminer.CURTAIL_SENT, "Curtailment command sent", CURTAIL=[{"Action": action, "Status": "OK"}])

    def _select_profile(self, selector: str) -> str:
        """A profile name, or LuxOS selectors '<n>W', '<n>kW', '<n>THs' (highest profile not above)."""
        ladder = self.board.model.power.ladder
        names = {p.name for p in ladder}
        if selector in names:
            return selector
        units = (("kW", lambda p: p.watts / 1000), ("W", lambda p: p.watts), ("THs", lambda p: p.hashrate_ths))
        for suffix, measure in units:
            if selector.endswith(suffix):
                try:
                    limit = float(selector[: -len(suffix)])
                except ValueError:
                    break
                fitting = [p for p in ladder if measure(p) <= limit]
                if not fitting:
                    raise RequestError(cgminer.BAD_PARAMETER, f"No profile at or below {selector}")
                return max(fitting, key=measure).name
        raise RequestError(cgminer.BAD_PARAMETER, f"Unknown profile {selector!r}")

    def _profileset(self, params: list[str]) -> dict:
        if len(params) < 2 or not params[1]:
            raise RequestError(cgminer.BAD_PARAMETER, "Missing profile")
        if self.atm_enabled:
            raise RequestError(cgminer.BAD_PARAMETER, "Cannot set profile while ATM is enabled")
        name = self._select_profile(params[1])
        self.board.model.set_profile(name)
        return self._ok(cgminer.PROFILE_SET, "Profile Set", PROFILE=[{"Profile": name}])

    def _atmset(self, params: list[str]) -> dict:
        enabled = None
        for item in params[1:]:
            key, _, value = item.partition("=")
            if key == "enabled":
                if value.lower() not in ("true", "false"):
                    raise RequestError(cgminer.BAD_PARAMETER, f"Invalid ATM value {value!r}")
                enabled = value.lower() == "true"
        if enabled is None:
            raise RequestError(cgminer.BAD_PARAMETER, "atmset needs enabled=true|false")
        self.atm_enabled = enabled
        return self._ok(cgminer.ATM_SET, "ATM configuration updated", ATM=[{"Enabled": enabled}])

    # ----- read-only ------------------------------------------------------------------
    def _snapshot(self) -> BoardSnapshot:
        self.board.shares.collect()
        return self.board.model.snapshot()

    def _version(self, params: list[str]) -> dict:
        return self._ok(
            cgminer.VERSION,
            "LUXminer versions",
            VERSION=[
                {
                    "LUXminer": FIRMWARE,
                    "API": API_VERSION,
                    "Type": self.board.profile.model,
                    "Miner": FIRMWARE,
                    "CompileTime": "2024-10-15",
                }
            ],
        )

    def _devdetails(self, params: list[str]) -> dict:
        p = self.board.profile
        return self._ok(
            cgminer.DEV_DETAILS,
            "Device Details",
            DEVDETAILS=[
                {
                    "DEVDETAILS": i,
                    "Name": "luxminer",
                    "ID": i,
                    "Driver": "luxminer",
                    "Kernel": "",
                    "Model": p.model,
                    "Device Path": "",
                    "Chips": p.chips_per_hashboard,
                }
                for i in range(p.hashboards)
            ],
        )

    def _board_rates_ghs(self, snap: BoardSnapshot) -> list[float]:
        per_board = snap.hashrate_ths * 1000 / self.board.profile.hashboards
        return [round(per_board, 2)] * self.board.profile.hashboards

    def _summary(self, params: list[str]) -> dict:
        snap = self._snapshot()
        s = self.board.shares
        ghs = round(snap.hashrate_ths * 1000, 2)
        elapsed = int(snap.uptime_s)
        avg = s.difficulty_accepted * 2**32 / 1e9 / elapsed if elapsed else 0.0
        return self._ok(
            cgminer.SUMMARY,
            "Summary",
            SUMMARY=[
                {
                    "Elapsed": elapsed,
                    "GHS 5s": ghs,
                    "GHS av": round(avg, 2),
                    "GHS 30m": ghs,
                    "Found Blocks": 0,
                    "Getworks": s.accepted,
                    "Accepted": s.accepted,
                    "Rejected": 0,
                    "Hardware Errors": 0,
                    "Utility": round(s.accepted / elapsed * 60, 3) if elapsed else 0.0,
                    "Discarded": 0,
                    "Stale": 0,
                    "Get Failures": 0,
                    "Local Work": s.accepted,
                    "Remote Failures": 0,
                    "Network Blocks": 0,
                    "Total MH": round(snap.total_hashes / 1e6),
                    "Work Utility": 0.0,
                    "Difficulty Accepted": s.difficulty_accepted,
                    "Difficulty Rejected": 0.0,
                    "Difficulty Stale": 0.0,
                    "Best Share": s.best_share,
                    "Device Hardware%": 0.0,
                    "Device Rejected%": 0.0,
                    "Pool Rejected%": 0.0,
                    "Pool Stale%": 0.0,
                    "Last getwork": int(self.board.clock.epoch()),
                }
            ],
        )

    def _stats(self, params: list[str]) -> dict:
        snap = self._snapshot()
        p = self.board.profile
        chip = round(snap.chip_temp_c) if snap.state is not BoardState.OFF else 0
        pcb = round(snap.board_temp_c) if snap.state is not BoardState.OFF else 0
        rates = self._board_rates_ghs(snap)
        detail: dict = {
            "STATS": 1,
            "ID": "luxminer",
            "Elapsed": int(snap.uptime_s),
            "total_rateideal": round(self.board.model.active_profile.hashrate_ths * 1000, 2),
            "rate_unit": "GH",
            "GHS 5s": round(snap.hashrate_ths * 1000, 2),
            "miner_count": p.hashboards,
            "fan_num": p.fans,
        }
        for i in range(1, p.hashboards + 1):
            detail[f"chain_rate{i}"] = f"{rates[i - 1]:.2f}"
            detail[f"chain_acn{i}"] = p.chips_per_hashboard
            detail[f"chain_acs{i}"] = "o" * min(p.chips_per_hashboard, 8)
            detail[f"temp_chip{i}"] = "-".join(str(chip + d) for d in (0, 1, 1, 0))
            detail[f"temp_pcb{i}"] = "-".join(str(pcb + d) for d in (0, 1, 1, 0))
        for i in range(1, p.fans + 1):
            detail[f"fan{i}"] = snap.fan_rpm
        return self._ok(
            cgminer.MINE_STATS,
            "CGMiner stats",
            STATS=[
                {
                    "STATS": 0,
                    "ID": "luxminer",
                    "Elapsed": int(snap.uptime_s),
                    "Calls": 0,
                    "Wait": 0.0,
                    "Max": 0.0,
                    "Min": 0.0,
                    "Type": p.model,
                },
                detail,
            ],
        )

    def _devs(self, params: list[str]) -> dict:
        snap = self._snapshot()
        rates = self._board_rates_ghs(snap)
        return self._ok(
            cgminer.DEVS,
            "Devs",
            DEVS=[
                {
                    "ASC": i,
                    "Name": "luxminer",
                    "ID": i,
                    "Enabled": "Y",
                    "Status": "Alive" if rates[i] > 0 else "Sleeping",
                    "Temperature": round(snap.chip_temp_c, 1),
                    "MHS 5s": rates[i] * 1000,
                    "MHS av": rates[i] * 1000,
                    "Accepted": 0,
                    "Rejected": 0,
                    "Hardware Errors": 0,
                    "Device Elapsed": int(snap.uptime_s),
                }
                for i in range(len(rates))
            ],
        )

    def _pools(self, params: list[str]) -> dict:
        self.board.shares.collect()
        s = self.board.shares
        ident = self.board.identity
        return self._ok(
            cgminer.POOL,
            "1 Pool(s)",
            POOLS=[
                {
                    "POOL": 0,
                    "URL": ident.pool_url,
                    "Status": "Alive",
                    "Priority": 0,
                    "Quota": 1,
                    "Long Poll": "N",
                    "Getworks": s.accepted,
                    "Accepted": s.accepted,
                    "Rejected": 0,
                    "Works": s.accepted,
                    "Discarded": 0,
                    "Stale": 0,
                    "Get Failures": 0,
                    "Remote Failures": 0,
                    "User": ident.pool_user,
                    "Last Share Time": int(s.last_share_time),
                    "Diff1 Shares": 0,
                    "Proxy Type": "",
                    "Proxy": "",
                    "Difficulty Accepted": s.difficulty_accepted,
                    "Difficulty Rejected": 0.0,
                    "Difficulty Stale": 0.0,
                    "Last Share Difficulty": s.pool_difficulty,
                    "Work Difficulty": s.pool_difficulty,
                    "Has Stratum": True,
                    "Stratum Active": True,
                    "Stratum URL": ident.pool_url,
                    "Stratum Difficulty": s.pool_difficulty,
                    "Has Vmask": True,
                    "Has GBT": False,
                    "Best Share": s.best_share,
                    "Pool Rejected%": 0.0,
                    "Pool Stale%": 0.0,
                    "Bad Work": 0,
                    "Current Block Height": 0,
                    "Current Block Version": s.job.version,
                    "GROUP": 0,
                }
            ],
        )

    def _groups(self, params: list[str]) -> dict:
        return self._ok(cgminer.POOL, "1 Group(s)", GROUPS=[{"GROUP": 0, "Name": "Default", "Quota": 1}])

    def _power(self, params: list[str]) -> dict:
        snap = self._snapshot()
        return self._ok(cgminer.LUXOS_INFO, "Power", POWER=[{"Watts": round(snap.wall_w), "PSU": True}])

    def _profiles(self, params: list[str]) -> dict:
        return self._ok(
            cgminer.LUXOS_INFO,
            "Profiles",
            PROFILES=[
                {
                    "Profile Name": p.name,
                    "Frequency": round(p.frequency_mhz),
                    "Voltage": p.voltage_v,
                    "Watts": p.watts,
                    "Hashrate": p.hashrate_ths,
                    "IsTuned": False,
                    "IsDynamic": False,
                    "Step": p.name,
                }
                for p in self.board.model.power.ladder
            ],
        )

    def _fans(self, params: list[str]) -> dict:
        snap = self._snapshot()
        return self._ok(
            cgminer.LUXOS_INFO,
            "Fans",
            FANS=[
                {"FAN": i, "RPM": snap.fan_rpm, "Speed": round(snap.fan_duty_pct)}
                for i in range(self.board.profile.fans)
            ],
            FANCTRL=[{"MinFans": self.board.profile.fans, "Mode": "Auto"}],
        )

    def _config(self, params: list[str]) -> dict:
        p = self.board.profile
        return self._ok(
            cgminer.MINE_CONFIG,
            "LUXminer config",
            CONFIG=[
                {
                    "ASC Count": p.hashboards,
                    "PGA Count": 0,
                    "Pool Count": 1,
                    "Strategy": "Failover",
                    "Log Interval": 5,
                    "Device Code": "",
                    "OS": "Linux",
                    "Hotplug": "None",
                    "Profile": self.board.model.active_profile.name,
                    "MACAddr": self.board.identity.mac,
                    "RedLed": "off",
                    "SerialNumber": self.board.identity.serial,
                    "IsAtmEnabled": self.atm_enabled,
                }
            ],
        )

    def _tempctrl(self, params: list[str]) -> dict:
        return self._ok(
            cgminer.LUXOS_INFO,
            "Temperature control",
            TEMPCTRL=[{"Mode": "Auto", "Target": 70, "Hot": 80, "Dangerous": 90}],
        )

    def _atm(self, params: list[str]) -> dict:
        return self._ok(cgminer.ATM_INFO, "ATM configuration values", ATM=[{"Enabled": self.atm_enabled}])

    def _hilshares(self, params: list[str]) -> dict:
        self.board.shares.collect()
        return self._ok(
            cgminer.LUXOS_INFO,
            "hilbench shares (extension, not LuxOS)",
            SHARES=[s.as_dict() for s in self.board.shares.recent],
        )
