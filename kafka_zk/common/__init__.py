"""Layer 0: identifiers, error codes, clock, events, logging, config machinery and control messages.

Nothing here does I/O; every other package may import from here.
"""
