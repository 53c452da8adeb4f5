"""Which reduced precision a CPU computes in hardware, read from its flags (never guessed from its name).

bf16 needs bf16 matrix instructions (Intel AMX, AVX-512 BF16 on Intel Xeon 3rd gen+ and AMD Zen 4+); int8 needs
VNNI (AVX-512 VNNI, AVX-VNNI or AMX int8): without them OpenVINO emulates bf16 slowly and int8 kernels saturate,
so such a CPU keeps fp32. The flags are an argument so that tests choose for any CPU on any machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PRECISIONS = ("fp32", "bf16", "int8")
BF16_FLAGS = ("amx_bf16", "avx512_bf16")
INT8_FLAGS = ("amx_int8", "avx512_vnni", "avx_vnni")


@dataclass(frozen=True)
class PrecisionChoice:
    precision: str  # one of PRECISIONS
    reason: str  # the flags that decided it, for the one line printed at load


def cpu_flags(cpuinfo: str | Path = "/proc/cpuinfo") -> frozenset[str]:
    """The first CPU's feature flags (Linux ``/proc/cpuinfo``); empty where there is no such file."""
    try:
        text = Path(cpuinfo).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() == "flags":
            return frozenset(value.split())
    return frozenset()


def choose_precision(flags: frozenset[str] | set[str]) -> PrecisionChoice:
    """bf16 where the CPU has bf16 matrix instructions, else int8 where it has VNNI, else fp32."""
    if found := [f for f in BF16_FLAGS if f in flags]:
        return PrecisionChoice("bf16", f"CPU has {', '.join(found)}")
    if found := [f for f in INT8_FLAGS if f in flags]:
        return PrecisionChoice("int8", f"CPU has {', '.join(found)}")
    return PrecisionChoice("fp32", f"CPU has none of {', '.join(BF16_FLAGS + INT8_FLAGS)}")
