"""The hall's rules as plain Python: no Flask, no SQL, no Socket.IO, no I/O.

Everything here takes its inputs (including `now`) as arguments, so the rules
can be tested with plain objects and replayed in benchmarks.
"""
