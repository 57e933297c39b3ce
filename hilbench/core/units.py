"""Units: role interfaces and records are in SI (W, V, A, Hz, s, J); a check shows a figure in the unit it declares.

One definition of each factor, so a kilowatt is a thousand watts everywhere.
"""

KW = 1000.0  # W per kW
KWH = 3.6e6  # J per kWh

#: SI value per displayed unit, for the units checks declare besides SI ones (``CheckContext.measure`` converts)
SI_PER_UNIT = {"kW": KW, "kWh": KWH, "kW/s": KW}
