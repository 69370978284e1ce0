"""brownie's project hook module: brownie imports it whenever it loads this project.

`brownie run scripts/deploy.py` imports the script under a dotted name made of
its absolute path (``/tmp/tmp.Ab12/repo/scripts/deploy.py`` becomes
``tmp.tmp.Ab12.repo.scripts.deploy``), so a clone under any folder whose name
holds a dot (``mktemp -d`` makes those) fails with ``ModuleNotFoundError: No
module named 'tmp.tmp'``. eth-brownie 1.22.2 is the newest release and the fixes
proposed upstream (eth-brownie/brownie#1070, #1654) are unmerged, so this hook
answers exactly those names, for this project's scripts only, through the
standard import machinery (a meta path finder); every other import is untouched.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def brownie_dotted_name(script: Path) -> str:
    """The module name brownie gives a script (``brownie.project.scripts._import_from_path``)."""
    return f"{'.'.join(script.parts[1:-1])}.{script.stem}"


class DottedFolderScripts(importlib.abc.MetaPathFinder):
    """Finds this project's scripts under the names brownie derives from their absolute paths.

    Only names that the default machinery cannot resolve are claimed: the ones
    below the first folder whose name contains a dot.
    """

    def __init__(self, scripts: Path) -> None:
        self.scripts = scripts
        folders = scripts.parts[1:]
        dotted = next((i for i, name in enumerate(folders) if "." in name), None)
        #: Names with more components than this are out of the default machinery's reach
        #: (none, when no folder name holds a dot).
        self.plain_depth = sys.maxsize if dotted is None else dotted

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.count(".") + 1 <= self.plain_depth:
            return None
        for script in self.scripts.glob("*.py"):
            name = brownie_dotted_name(script)
            if fullname == name:
                return importlib.util.spec_from_file_location(fullname, script)
            if name.startswith(fullname + "."):  # a folder on the way: an empty namespace package
                return importlib.machinery.ModuleSpec(fullname, None, is_package=True)
        return None


if not any(isinstance(f, DottedFolderScripts) for f in sys.meta_path):
    sys.meta_path.insert(0, DottedFolderScripts(SCRIPTS))
