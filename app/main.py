"""Run the installed twin3d browser viewer: ``python3 app/main.py [SCENE|STAGE] [--port N]``.

A thin entry script; the viewer itself is the :mod:`twin3d.app` package
(installed with twin3d), the same one ``twin3d view`` serves.
"""

import sys

from twin3d.cli import main

if __name__ == "__main__":
    main(["view", *sys.argv[1:]])
