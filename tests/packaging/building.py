"""Building and running the packages the way `./dev package` does, for the packaging tests
and the bundle benchmark: the desktop bundle (PyInstaller, build.spec), the wheel and the
sdist (python -m build), and the bundle's ``--self-test``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
#: The bundle's size target from the packaging issue (#12), in MiB (what `du -sh` shows).
SIZE_TARGET_MIB = 150
#: Set to a built bundle folder (dist/atlhyper) to check that one instead of building.
BUNDLE_ENV = "ATLHYPER_BUNDLE"


@dataclass(frozen=True)
class SelfTest:
    returncode: int
    output: str
    #: seconds from just before the launch to the window's first paint
    first_paint: float | None


def build_bundle(out: Path) -> Path:
    """Build build.spec into ``out``; return the bundle folder (``out/dist/atlhyper``)."""
    started = time.monotonic()
    result = subprocess.run(
        [
            str(BIN / "pyinstaller"),
            "--noconfirm",
            "--log-level",
            "WARN",
            "--distpath",
            str(out / "dist"),
            "--workpath",
            str(out / "build"),
            str(REPO / "build.spec"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if result.returncode != 0:
        raise RuntimeError(f"pyinstaller build.spec failed:\n{result.stderr[-4000:]}")
    print(f"bundle built in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return out / "dist" / "atlhyper"


def bundle_or_build(out: Path) -> Path:
    """The bundle named by $ATLHYPER_BUNDLE, or a fresh build into ``out``."""
    given = os.environ.get(BUNDLE_ENV)
    return Path(given).resolve() if given else build_bundle(out)


def executable(bundle: Path) -> Path:
    return bundle / ("atlhyper.exe" if sys.platform == "win32" else "atlhyper")


def folder_bytes(folder: Path) -> int:
    """Every file's size (links counted as links, not as what they point to)."""
    return sum(p.lstat().st_size for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def largest_parts(folder: Path, count: int = 8) -> list[tuple[str, int]]:
    """The biggest files, for saying where the size goes."""
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    files.sort(key=lambda p: p.stat().st_size, reverse=True)
    return [(str(p.relative_to(folder)), p.stat().st_size) for p in files[:count]]


def run_self_test(bundle: Path, platform: str = "offscreen", timeout: float = 120) -> SelfTest:
    """Run the bundle's ``--self-test`` on a Qt platform: "offscreen", or "xcb" under a
    virtual X display (xvfb-run)."""
    return launch([str(executable(bundle)), "--self-test"], platform, timeout)


def launch(command: list[str], platform: str = "offscreen", timeout: float = 120) -> SelfTest:
    """Run a bundled program that prints "first paint at <epoch seconds>" when its window
    first paints; a fresh process with a clean environment."""
    program = Path(command[0]).resolve()
    folder, command = program.parent, [str(program), *command[1:]]
    if platform == "xcb":
        xvfb_run = shutil.which("xvfb-run")
        if xvfb_run is None:
            raise RuntimeError("xvfb-run is missing: install the Debian package xvfb")
        command = [xvfb_run, "--auto-servernum", "--server-args=-screen 0 1600x1000x24", *command]
    env = {
        key: value
        for key, value in os.environ.items()
        # Nothing of the developer's own setup may leak into what the bundle finds.
        if not key.startswith(("QT_", "PYTHON", "ATLHYPER_", "LD_")) and key != "DISPLAY"
    }
    env.update(QT_QPA_PLATFORM=platform, KUBECONFIG=os.devnull)
    launched = time.time()
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=folder,
    )
    output = result.stdout + result.stderr
    paint = re.search(r"first paint at ([0-9.]+)", output)
    return SelfTest(result.returncode, output, float(paint.group(1)) - launched if paint else None)


def build_dists(out: Path) -> tuple[Path, Path]:
    """Build the sdist and, from it, the wheel into ``out``; return (wheel, sdist)."""
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(REPO)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        raise RuntimeError(f"python -m build failed:\n{result.stdout[-3000:]}{result.stderr}")
    [wheel] = out.glob("atlhyper-*.whl")
    [sdist] = out.glob("atlhyper-*.tar.gz")
    return wheel, sdist
