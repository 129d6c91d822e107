"""python -m lip."""

from __future__ import annotations

from lip.cli import main

if __name__ == "__main__":
    main()
