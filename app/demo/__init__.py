"""The demo: the sample pipeline deployed into the emulator, sample images run through it (`make demo`)."""
