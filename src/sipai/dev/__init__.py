"""Sip's dev layer: the Groq emulator (`sip dev fake-groq`) that tests and benchmarks use.

Modules: `fake_groq` (the app), `emulator` (config and live state), `server` (run it
in-process), `faults`, `limits`, `replies`, `wire`, `validation`, `streaming`,
`recorder`, `catalog`, `control`.
"""

from sipai.dev.emulator import Emulator, FakeGroqConfig
from sipai.dev.fake_groq import create_app
from sipai.dev.faults import Fault, parse_fault_spec
from sipai.dev.limits import RateLimits
from sipai.dev.server import FakeGroqHandle, run_fake_groq, run_fake_groq_in_thread

__all__ = [
    "Emulator",
    "FakeGroqConfig",
    "FakeGroqHandle",
    "Fault",
    "RateLimits",
    "create_app",
    "parse_fault_spec",
    "run_fake_groq",
    "run_fake_groq_in_thread",
]
