"""Entry point of the desktop app: Qt application, trio guest run, main window."""

from __future__ import annotations

import argparse
import sys

import trio
from PySide6.QtWidgets import QApplication

from desktop.main_window import MainWindow
from desktop.trio_guest import TrioGuest


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="atlhyper", description="AtlHyper desktop console")
    parser.add_argument(
        "--quit-after",
        type=float,
        metavar="SECONDS",
        help="close the window after this many seconds (smoke tests, screenshots)",
    )
    parser.add_argument("--screenshot", metavar="PNG", help="grab the window to this file on quit")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("AtlHyper")
    app.setOrganizationName("AtlHyper")
    # Qt must not quit before trio has finished: the guest run's done callback quits it.
    app.setQuitOnLastWindowClosed(False)
    window = MainWindow()
    guest = TrioGuest(app)
    window.close_requested.connect(guest.cancel)

    async def engine() -> None:
        if args.quit_after is not None:
            await trio.sleep(args.quit_after)
            if args.screenshot:
                window.grab().save(args.screenshot)
            return
        await trio.sleep_forever()

    window.show()
    guest.start(engine)
    app.exec()
    return 1 if guest.error else 0


if __name__ == "__main__":
    raise SystemExit(main())
