"""The desktop bundle that build.spec makes: it starts and renders every view on the
offscreen platform and under a real (virtual) X server, and it stays lean."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.packaging.building import (
    SIZE_TARGET_MIB,
    executable,
    folder_bytes,
    largest_parts,
    run_self_test,
)

pytestmark = pytest.mark.packaging


def _size_report(bundle: Path) -> str:
    parts = ", ".join(f"{name} {size / 2**20:.1f}" for name, size in largest_parts(bundle))
    return f"{folder_bytes(bundle) / 2**20:.1f} MiB; largest files (MiB): {parts}"


def test_the_bundle_passes_its_self_test_offscreen(bundle: Path) -> None:
    result = run_self_test(bundle, "offscreen")
    assert result.returncode == 0, result.output
    assert "Qt platform offscreen" in result.output
    assert "self-test passed" in result.output
    assert result.first_paint is not None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="xcb is Linux's platform")
def test_the_bundle_passes_its_self_test_on_x11(bundle: Path) -> None:
    """The xcb plugin and the libraries it needs are in the bundle or on the system
    (DESKTOP_DEBS in ./dev lists the Debian packages)."""
    result = run_self_test(bundle, "xcb")
    assert result.returncode == 0, result.output
    assert "Qt platform xcb" in result.output
    assert "self-test passed" in result.output


def test_the_bundle_holds_what_it_needs_at_run_time(bundle: Path) -> None:
    assert executable(bundle).is_file()
    inside = bundle / "_internal"
    for language in ("en", "zh", "ja"):
        assert (inside / "headless_agent" / "catalogs" / language / "atlhyper.po").is_file()
    assert (inside / "resources" / "desktop" / "atlhyper.svg").is_file()
    plugins = {p.name for p in (inside / "PySide6" / "Qt" / "plugins").rglob("*") if p.is_file()}
    if sys.platform.startswith("linux"):
        assert {"libqoffscreen.so", "libqxcb.so", "libqminimal.so"} <= plugins
    # Left out: what the app never loads.
    assert not any("webengine" in p.lower() or "qml" in p.lower() for p in plugins)
    assert not list(inside.rglob("*Qt6WebEngine*")) and not list(inside.rglob("*Qt6Quick*"))


def test_the_bundle_meets_the_size_target(bundle: Path) -> None:
    # A dependency that drags in a Qt module family, OpenBLAS (a NumPy from PyPI instead of
    # the one ./dev builds without BLAS) or a copy of a system library shows here at once.
    assert folder_bytes(bundle) <= SIZE_TARGET_MIB * 2**20, _size_report(bundle)


def test_the_bundle_leaves_blas_and_the_systems_base_libraries_out(bundle: Path) -> None:
    inside = bundle / "_internal"
    names = {p.name for p in inside.rglob("*") if p.is_file() or p.is_symlink()}
    blas = [n for n in names if "openblas" in n or "gfortran" in n]
    assert not blas, f"{blas}: NumPy from PyPI; ./dev test and ./dev package install one without"
    if sys.platform.startswith("linux"):
        assert not names & {"libstdc++.so.6", "libX11.so.6", "libglib-2.0.so.0"}
