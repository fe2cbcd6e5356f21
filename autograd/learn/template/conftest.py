"""pytest's settings for the workshop: the tests import your package `mygrad` from this folder
(pytest puts the folder of this file on the import path), and the pictures of wrong gradients
go to ./pictures."""

import os
from pathlib import Path

os.environ.setdefault("CHAINRULE_LEARN_PICTURES", str(Path(__file__).resolve().parent / "pictures"))
