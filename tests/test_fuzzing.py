"""Property-based fuzzing (hypothesis) of every parser that reads bytes from outside: SCPI replies (through the
drivers), SCPI program messages (emulator side), Modbus responses (through the drivers), LuxOS/cgminer JSON
requests, BM13xx frames both ways, and plan and bench YAML.  Property: no exception other than the documented
one (HilbenchError on the driver side, RequestError for cgminer requests, PlanError/BenchFileError for files,
none at all where the protocol says garbage is dropped or queued as an error), and no hang (each call is
time-boxed).  ``HILBENCH_FUZZ_EXAMPLES`` sets the number of examples per parser (default 400)."""

import json
import os
import threading
from collections import Counter

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymodbus.exceptions import ModbusIOException
from pyvisa.constants import StatusCode
from pyvisa.errors import VisaIOError
from pyvisa.util import from_ieee_block

from hilbench.core.errors import HilbenchError
from hilbench.drivers.analyser.yokogawa_wt5000 import YokogawaWT5000
from hilbench.drivers.boards.bm13xx_serial import BM13xxSerialBoard
from hilbench.drivers.controller.modbus_map import ModbusMapController
from hilbench.drivers.grid.ametek_sequoia import AmetekSequoia
from hilbench.drivers.grid.keysight_ac6900 import KeysightAC6900
from hilbench.drivers.load.chroma_63800 import Chroma63800
from hilbench.drivers.meter.eastron_sdm630 import EastronSDM630
from hilbench.drivers.recorder.tektronix_mso5 import TektronixMSO5
from hilbench.emulation.board_profiles import board_profile
from hilbench.emulation.clock import ManualClock
from hilbench.emulation.emulated_board import EmulatedBoard
from hilbench.emulation.luxos import LuxOSResponder
from hilbench.emulation.scpi_server import ScpiInstrument
from hilbench.plans.plan import PlanError, load_plan
from hilbench.protocols.bm13xx import PREAMBLE, FrameParser, split_responses
from hilbench.protocols.cgminer import Request, RequestError, parse_request, request_complete
from hilbench.protocols.register_map import RegisterMap
from hilbench.spec.bench_file import BenchFileError, load_bench, parse_bench
from hilbench.transports.modbus import ModbusTransport
from hilbench.transports.serial_line import SerialTransport
from hilbench.transports.visa import VisaTransport

EXAMPLES = int(os.environ.get("HILBENCH_FUZZ_EXAMPLES", "400"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
RUNS: Counter = Counter()  # examples run per parser, printed at the end (the closing note quotes them)
CALL_TIMEOUT_S = 10.0


def bounded(call, *args):
    """Run ``call`` with a time box: a parser that loops on garbage fails the property instead of the suite."""
    result: dict = {}

    def work():
        try:
            result["value"] = call(*args)
        except BaseException as exc:  # judged by the caller
            result["error"] = exc

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(CALL_TIMEOUT_S)
    assert not thread.is_alive(), f"{getattr(call, '__qualname__', call)} did not return within {CALL_TIMEOUT_S} s"
    if "error" in result:
        raise result["error"]
    return result.get("value")


# ----- SCPI replies into the drivers ----------------------------------------------------------------
SCPI_TEXT = st.one_of(
    st.text(alphabet="0123456789+-.,eE ;:\"'#NAInf", max_size=80),
    st.builds(lambda xs: ",".join(repr(x) for x in xs), st.lists(st.floats(allow_nan=True), max_size=40)),
    st.text(max_size=40),
)


_UNDECODABLE = object()  # a reply whose bytes are not text (pyvisa-py raises UnicodeDecodeError)
SCPI_REPLIES = st.lists(
    st.one_of(
        SCPI_TEXT, st.just(_UNDECODABLE), st.binary(max_size=64), st.binary(max_size=99).map(lambda b: b"#2" + b)
    ),
    max_size=60,
)


class _FuzzVisa:
    """A pyvisa resource answering from a list hypothesis drew (text, undecodable bytes, binary blocks); when the
    list runs out the instrument falls silent (a VISA timeout), so every driver loop meets an end."""

    def __init__(self, replies: list) -> None:
        self.replies = list(replies)
        self.timeout, self.read_termination, self.write_termination = 5000, "\n", "\n"

    def _next(self):
        if not self.replies:
            raise VisaIOError(StatusCode.error_timeout)
        return self.replies.pop(0)

    def write(self, command: str) -> None:
        pass

    def query(self, command: str) -> str:
        reply = self._next()
        if reply is _UNDECODABLE:
            raise UnicodeDecodeError("ascii", b"\xff", 0, 1, "ordinal not in range(128)")
        return reply.decode("latin-1") if isinstance(reply, bytes) else reply

    read = query

    def query_binary_values(self, command: str, datatype="f", is_big_endian=False, container=list):
        reply = self._next()
        raw = reply if isinstance(reply, bytes) else str(reply).encode("latin-1", "replace")
        return from_ieee_block(raw, datatype, is_big_endian, container)

    def clear(self) -> None:
        pass

    def close(self) -> None:
        pass


GRID_LIMITS = {"min_voltage_v": 180.0, "max_voltage_v": 265.0, "min_frequency_hz": 45.0, "max_frequency_hz": 65.0}
SCPI_DRIVERS = {
    "keysight-ac6900": lambda t: KeysightAC6900(t, limits=GRID_LIMITS, nominal_v=230.0, nominal_hz=50.0),
    "ametek-sequoia": lambda t: AmetekSequoia(t, limits=GRID_LIMITS, nominal_v=230.0, nominal_hz=50.0),
    "chroma-63800": lambda t: Chroma63800(t, limits={"max_power_w": 4500.0}),
    "yokogawa-wt5000": lambda t: YokogawaWT5000(t, update_rate_s=0.05),
    "tektronix-mso5": lambda t: TektronixMSO5(t, channels={"U1": 1, "I1": 4}, sample_rate_hz=1000.0),
}


@pytest.mark.parametrize("model", sorted(SCPI_DRIVERS))
@FUZZ
@given(replies=SCPI_REPLIES)
def test_scpi_replies_of_any_shape_give_a_result_or_an_instrument_error(model, replies):
    RUNS[f"SCPI replies -> {model} driver"] += 1
    transport = VisaTransport(model, "TCPIP::fuzz::5025::SOCKET", retries=0, opened=_FuzzVisa(replies))
    driver = SCPI_DRIVERS[model](transport)
    for method in ("identify", "read", "read_safe_state"):
        if not callable(getattr(driver, method, None)):
            continue
        try:
            bounded(getattr(driver, method))
        except HilbenchError:
            pass


# ----- Modbus responses into the drivers --------------------------------------------------------------
class _Response:
    def __init__(self, registers=None, bits=None, exception_code=None) -> None:
        self.registers, self.bits, self.exception_code = registers or [], bits or [], exception_code

    def isError(self) -> bool:
        return self.exception_code is not None


MODBUS_ANSWERS = st.lists(st.one_of(st.integers(1, 255), st.lists(st.integers(0, 0xFFFF), max_size=130)), max_size=40)


class _FuzzModbus:
    """A pymodbus client answering from a drawn list: an exception code (int) or register values (any count; too few
    or too many is what a confused device sends); when the list runs out the device falls silent."""

    def __init__(self, answers: list) -> None:
        self.answers = list(answers)

    def _answer(self, count: int) -> _Response:
        if not self.answers:
            raise ModbusIOException("no response")
        answer = self.answers.pop(0)
        return _Response(exception_code=answer) if isinstance(answer, int) else _Response(answer)

    def read_holding_registers(self, address, *, count=1, device_id=1):
        return self._answer(count)

    read_input_registers = read_holding_registers

    def write_register(self, address, value, *, device_id=1):
        return self._answer(0)

    def write_registers(self, address, values, *, device_id=1):
        return self._answer(0)

    def connect(self) -> bool:
        return True

    def close(self) -> None:
        pass


MODBUS_DRIVERS = {
    "modbus-map-controller": lambda t: ModbusMapController(
        t, RegisterMap.load("reference"), limits={"max_power_kw": 97.5, "max_ramp_kw_s": 50.0}
    ),
    "eastron-sdm630": EastronSDM630,
}


@pytest.mark.parametrize("model", sorted(MODBUS_DRIVERS))
@FUZZ
@given(answers=MODBUS_ANSWERS)
def test_modbus_responses_of_any_value_give_a_result_or_an_instrument_error(model, answers):
    RUNS[f"Modbus responses -> {model} driver"] += 1
    transport = ModbusTransport(model, "tcp://fuzz:502", retries=0, client=_FuzzModbus(answers))
    driver = MODBUS_DRIVERS[model](transport)
    for method in ("identify", "read", "read_safe_state"):
        try:
            bounded(getattr(driver, method))
        except HilbenchError:
            pass


# ----- BM13xx serial, both directions ------------------------------------------------------------------
class _FuzzSerial:
    """A serial port whose input is a drawn byte stream (noise, stray preambles, truncated frames)."""

    def __init__(self, stream: bytes) -> None:
        self.stream, self.baudrate, self.timeout = bytearray(stream), 115200, 0.01

    def write(self, payload: bytes) -> int:
        return len(payload)

    def flush(self) -> None:
        pass

    def read(self, count: int) -> bytes:
        chunk, self.stream = bytes(self.stream[:count]), self.stream[count:]
        return chunk

    def reset_input_buffer(self) -> None:
        pass

    def close(self) -> None:
        pass


SERIAL_STREAM = st.lists(
    st.one_of(st.binary(max_size=40), st.binary(max_size=9).map(lambda b: b"\xaa\x55" + b)), max_size=12
).map(b"".join)


@FUZZ
@given(stream=SERIAL_STREAM)
def test_bm13xx_bytes_from_the_chain_give_nonces_or_an_instrument_error(stream):
    RUNS["BM13xx frames -> bm13xx-serial driver"] += 1
    transport = SerialTransport("hashboard", "/dev/fuzz", opened=_FuzzSerial(stream))
    board = BM13xxSerialBoard(transport, chip="BM1370", asic_count=1)
    for call in (board.enumerate_chips, board.read_safe_state, lambda: board.read_nonces(0.02, target=2**255)):
        try:
            bounded(call)
        except HilbenchError:
            pass


@FUZZ
@given(chunks=st.lists(st.one_of(st.binary(max_size=90), st.builds(lambda b: PREAMBLE + b, st.binary(max_size=90)))))
def test_bm13xx_frames_from_the_host_are_parsed_or_dropped_never_raised(chunks):
    RUNS["BM13xx frames -> emulated chip (FrameParser, split_responses)"] += 1
    parser = FrameParser()
    for chunk in chunks:
        for frame in parser.feed(chunk):
            assert len(frame.data) <= 255
        _, rest = split_responses(chunk)
        assert len(rest) <= len(chunk)


# ----- cgminer / LuxOS JSON requests ---------------------------------------------------------------------
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
LUXOS_COMMANDS = ["summary", "stats", "devs", "curtail", "logon", "logoff", "profileset", "atmset", "version+summary",
                  "pools", "config", "kill", "session", "", "nope"]  # fmt: skip
LUXOS_REQUESTS = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda c, p: json.dumps({"command": c, "parameter": p}).encode(), st.sampled_from(LUXOS_COMMANDS),
              st.one_of(st.text(max_size=30), st.integers(), st.floats(allow_nan=True))),
    st.builds(lambda c, p: f"{c}|{p}".encode(), st.sampled_from(LUXOS_COMMANDS), st.text(max_size=30)),
    st.builds(lambda body: json.dumps(body).encode(), JSONISH),
)  # fmt: skip


@pytest.fixture(scope="module")
def responder():
    return LuxOSResponder(EmulatedBoard(board_profile("s19j_pro"), ManualClock(), 0))


@FUZZ
@given(raw=LUXOS_REQUESTS)
def test_luxos_requests_parse_or_give_the_cgminer_error_and_the_endpoint_always_answers(responder, raw):
    RUNS["LuxOS/cgminer JSON -> emulated board"] += 1
    assert isinstance(request_complete(raw), bool)
    try:
        assert isinstance(parse_request(raw), Request)
    except RequestError as exc:
        assert exc.code > 0 and exc.message
    reply = bounded(responder.handle, raw)
    assert isinstance(reply, bytes) and reply.endswith(b"\x00")
    assert isinstance(json.loads(reply[:-1]), dict)


# ----- SCPI program messages into an emulated instrument ------------------------------------------------
@FUZZ
@given(message=st.one_of(st.text(max_size=120), st.text(alphabet="*:?;,\"' #0123456789ABCDEFIVOLTQRSY", max_size=80)))
def test_scpi_program_messages_of_any_text_are_answered_or_queued_as_errors(message):
    RUNS["SCPI program messages -> emulated instrument"] += 1
    instrument = ScpiInstrument()
    reply = bounded(instrument.execute, message)
    assert reply is None or reply.endswith(b"\n")
    assert instrument.next_error().split(",")[0].lstrip("+-").isdigit()


# ----- plan and bench YAML -----------------------------------------------------------------------------------
PLAN_WORDS = ["plan", "dut", "checks", "id", "type", "params", "limits", "min", "max", "rated_kw", "boards",
              "voltage_v", "frequency_hz", "boot", "step_response", "flicker", "harmonics", "marginal", "unit",
              "ci_time_scale", "title", "contract_kw", "isc_ka"]  # fmt: skip
BENCH_WORDS = ["bench", "roles", "driver", "address", "limits", "settings", "calibration", "due", "emulated",
               "plant", "grid", "analyser", "controller", "keysight-ac6900", "interlocks", "permissives", "name",
               "modbus", "discrete_input", "reading", "role", "meter", "quantity", "voltage_v", "min", "max",
               "period_s", "permits"]  # fmt: skip


def _structured(words):
    scalar = st.one_of(st.sampled_from(words), st.integers(-5, 500), st.floats(allow_nan=True), st.booleans(),
                       st.none(), st.text(max_size=8), st.dates().map(str))  # fmt: skip
    return st.recursive(
        scalar,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(words), inner, max_size=5),
        max_leaves=25,
    )


YAML_TEXT = st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1")))


@FUZZ
@given(body=st.one_of(_structured(PLAN_WORDS).map(yaml.safe_dump), YAML_TEXT))
def test_plan_files_of_any_content_load_or_give_a_plan_error(tmp_path_factory, body):
    RUNS["plan YAML -> load_plan"] += 1
    path = tmp_path_factory.mktemp("plan") / "plan.yaml"
    path.write_text(body, encoding="utf-8", errors="surrogatepass")
    try:
        bounded(load_plan, path)
    except PlanError as exc:
        assert str(path) in str(exc)


@FUZZ
@given(body=st.one_of(_structured(BENCH_WORDS).map(yaml.safe_dump), YAML_TEXT, st.binary(max_size=120)))
def test_bench_files_of_any_content_load_or_give_a_bench_file_error(tmp_path_factory, body):
    RUNS["bench YAML -> load_bench + parse_bench"] += 1
    path = tmp_path_factory.mktemp("bench") / "bench.yaml"
    if isinstance(body, bytes):
        path.write_bytes(body)
    else:
        path.write_text(body, encoding="utf-8", errors="surrogatepass")
    try:
        bounded(lambda: parse_bench(load_bench(path)))
    except BenchFileError as exc:
        assert str(path) in str(exc)


def test_zz_print_examples_per_parser():
    """Not a property: prints how many examples each parser got in this run (with ``-s``)."""
    for parser, runs in sorted(RUNS.items()):
        print(f"fuzz: {runs:5d} examples  {parser}")
    assert not RUNS or min(RUNS.values()) > 0
