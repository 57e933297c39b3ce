"""Transports: VISA, Modbus, serial, TCP-JSON; each owns timeouts, retries, logging and error mapping."""
