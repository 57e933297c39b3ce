"""Miner boards through pyasic, so every firmware pyasic supports works (LuxOS, Braiins, ...).

The bench address is a list or range of IP addresses (``10.0.0.11-10.0.0.40`` or comma
separated).  pyasic is asynchronous; this driver gives the checks a synchronous face and
queries all boards concurrently.  pyasic is the ``test`` extra's dependency on a dev box and
must be installed on a bench that uses this driver.
"""

from __future__ import annotations

import asyncio
import ipaddress

from hilbench.core.roles import BoardReading, SafeStateReport
from hilbench.spec.role_spec import RoleSpec
from hilbench.transports.errors import InstrumentConnectionError


def expand_addresses(address: str) -> list[str]:
    """'a-b' (IPv4 range) or 'a,b,c' into a list of addresses."""
    out: list[str] = []
    for part in (p.strip() for p in address.split(",") if p.strip()):
        if "-" in part:
            first, last = (ipaddress.IPv4Address(x.strip()) for x in part.split("-", 1))
            if last < first:
                raise ValueError(f"address range {part!r} runs backwards")
            out.extend(str(first + i) for i in range(int(last) - int(first) + 1))
        else:
            out.append(str(ipaddress.ip_address(part)))
    return out


class PyasicBoards:
    role = "boards"

    def __init__(self, addresses: list[str], *, name: str = "boards", max_concurrent: int = 32) -> None:
        """``max_concurrent`` bounds the boards asked at once (a site of hundreds of boards must not be
        dialled all in one burst: miners' API listeners and small switches drop such bursts)."""
        self.addresses, self.name = addresses, name
        self.max_concurrent = max_concurrent
        self._miners = None

    @classmethod
    def from_spec(cls, spec: RoleSpec) -> PyasicBoards:
        return cls(
            expand_addresses(spec.address), name=spec.role, max_concurrent=int(spec.settings.get("max_concurrent", 32))
        )

    async def _bounded(self, coroutines) -> list:
        """Gather with at most ``max_concurrent`` in flight, results in order."""
        gate = asyncio.Semaphore(self.max_concurrent)

        async def one(coroutine):
            async with gate:
                return await coroutine

        return await asyncio.gather(*(one(c) for c in coroutines))

    @staticmethod
    def _run(coro):
        return asyncio.run(coro)

    async def _find(self) -> tuple[list[tuple[str, object]], list[str]]:
        """(address, pyasic miner) of every board found, and the addresses not found: the safe state must reach
        every board it can even when one is dead."""
        import pyasic

        miners = await self._bounded([pyasic.get_miner(a) for a in self.addresses])
        found = [(a, m) for a, m in zip(self.addresses, miners, strict=True) if m is not None]
        return found, [a for a, m in zip(self.addresses, miners, strict=True) if m is None]

    async def _discover(self) -> list:
        """pyasic's miner objects, in address order; a board not found raises, naming it."""
        found, missing = await self._find()
        if missing:
            raise self._missing_error(missing, "detect")
        return [m for _, m in found]

    def _missing_error(self, missing: list[str], command: str) -> InstrumentConnectionError:
        return InstrumentConnectionError(
            self.name, ",".join(missing[:5]), command, f"{len(missing)} board(s) not found by pyasic"
        )

    def _all(self, method: str, *args):
        async def go():
            miners = await self._discover()
            return await self._bounded([getattr(m, method)(*args) for m in miners])

        return self._run(go())

    @staticmethod
    def _reading(address: str, miner, data) -> BoardReading:
        return BoardReading(
            address,
            str(miner.model),
            str(data.fw_ver),
            float(data.hashrate or 0) * 1e12,  # pyasic reports TH/s
            float(data.wattage or 0),
            None if data.wattage_limit is None else float(data.wattage_limit),
            None if data.uptime is None else float(data.uptime),
            sum(p.accepted or 0 for p in data.pools),
        )

    def read(self) -> list[BoardReading]:
        async def go():
            miners = await self._discover()
            data = await self._bounded([m.get_data() for m in miners])
            return [self._reading(a, m, d) for a, m, d in zip(self.addresses, miners, data, strict=True)]

        return self._run(go())

    def identify(self) -> str:
        readings = self.read()
        models = sorted({f"{r.model} ({r.firmware})" for r in readings})
        return f"{len(readings)} boards: {', '.join(models)}"

    def curtail(self) -> list[bool]:
        """Every board that answers is curtailed, even when some do not (then those are named in the error)."""

        async def go():
            found, missing = await self._find()
            done = await self._bounded([m.stop_mining() for _, m in found])
            return list(done), missing

        done, missing = self._run(go())
        if missing:
            raise self._missing_error(missing, "curtail")
        return done

    def resume(self) -> list[bool]:
        return list(self._all("resume_mining"))

    def set_power_limit(self, watts: float) -> list[bool]:
        return list(self._all("set_power_limit", int(watts)))

    def safe_state(self) -> None:
        self.curtail()

    def read_safe_state(self) -> SafeStateReport:
        """Every board reports no hash rate (curtailed); a board that does not answer cannot be confirmed."""

        async def go():
            found, missing = await self._find()
            data = await self._bounded([m.get_data() for _, m in found])
            return [self._reading(a, m, d) for (a, m), d in zip(found, data, strict=True)], missing

        readings, missing = self._run(go())
        hashing = [r.address for r in readings if r.hashrate_hs > 0]
        total_w = sum(r.power_w for r in readings)
        silent = f"; {len(missing)} not answering ({', '.join(missing[:3])})" if missing else ""
        if hashing:
            return SafeStateReport(
                False, f"{len(hashing)} of {len(readings)} boards still hashing ({hashing[0]}, ...){silent}"
            )
        return SafeStateReport(not missing, f"{len(readings)} boards curtailed, {total_w:.0f} W in all{silent}")

    def close(self) -> None:
        pass
