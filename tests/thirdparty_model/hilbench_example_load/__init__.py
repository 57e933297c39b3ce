"""An example third-party electronic load for hilbench: the "Example EL-1000" (a made-up SCPI load whose
command set differs from the Chroma 63800's: FUNCtion POWer, POWer, INPut, MEASure:POWer?)."""
