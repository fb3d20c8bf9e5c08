"""Run every benchmark and write BENCHMARKS.md (``make bench``).

Each bench module prints a Markdown section; this collects them with the machine
they ran on and the command that reproduces them. Timings live here, never in tests.

    .venv/bin/python -m bench.run [--quick] [--only pipeline,farm,cycles]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: name -> (module, arguments of a full run, arguments of a --quick run)
BENCHES = {
    "pipeline": (["-m", "bench.bench_pipeline"], ["--n", "40", "--long", "500"], ["--n", "10", "--long", "100"]),
    "farm": (["-m", "bench.bench_farm"], ["-n", "32", "--resolution", "0"], ["-n", "12", "--resolution", "0"]),
    "cycles": (["-m", "bench.bench_cycles"], [], ["--quick"]),
    "identity": (["-m", "bench.identity"], ["--identities", "40"], ["--identities", "12"]),
}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, no GPU (Mesa llvmpipe for OpenGL, Cycles on CPU)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sample counts (minutes, not tens of minutes)")
    ap.add_argument("--only", default=",".join(BENCHES))
    ap.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    a = ap.parse_args()
    env = dict(os.environ, PYOPENGL_PLATFORM="egl")
    sections = []
    for name in a.only.split(","):
        mod, full, quick = BENCHES[name]
        cmd = [sys.executable, *mod, *(quick if a.quick else full)]
        print("running", " ".join(cmd), flush=True)
        p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        if p.returncode != 0:
            sections.append(f"## {name}\n\nFAILED (exit {p.returncode}):\n\n```\n{p.stderr[-2000:]}\n```\n")
        else:
            sections.append(p.stdout.strip() + "\n")
    header = (
        f"# Benchmarks\n\nMeasured {dt.date.today().isoformat()} on: {machine()}.\n\n"
        f"Reproduce with `make bench` (= `.venv/bin/python -m bench.run{' --quick' if a.quick else ''}`).\n"
    )
    body = "\n".join(sections)
    notes = Path(ROOT / "bench" / "NOTES.md")
    tail = "\n" + notes.read_text() if notes.exists() else ""
    Path(a.out).write_text(header + "\n" + body + tail)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
