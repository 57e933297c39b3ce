"""Eastron SDM630 Modbus input registers used by hilbench (float32, high word first), shared by the meter
driver and its emulator.  Addresses from the SDM630 Modbus protocol sheet (30001 = address 0)."""

REGISTERS = {
    "v1": 0x00,
    "v2": 0x02,
    "v3": 0x04,
    "i1": 0x06,
    "i2": 0x08,
    "i3": 0x0A,
    "p1": 0x0C,
    "p2": 0x0E,
    "p3": 0x10,
    "p_total": 0x34,
    "frequency": 0x46,
    "import_kwh": 0x48,
}
#: One read from 30001 covers every register above.
BLOCK_FIRST, BLOCK_COUNT = 0x00, 0x4A
