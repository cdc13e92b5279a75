"""``python -m twin3d``: the twin3d command line."""

from .cli import main

if __name__ == "__main__":
    main()
