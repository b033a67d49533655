"""The data the package carries (dictionaries, demo episode, Datasette metadata), found with importlib.resources."""

from importlib import resources
from pathlib import Path

# setuptools installs packages as plain directories (never zipped), so the resource root is a real path that the
# tokenizer can glob and fingerprint; str() of the Traversable is that path.
DATA_DIR = Path(str(resources.files("sentibot") / "data"))
DICT_DIR = DATA_DIR / "dict"
DEMO_DIR = DATA_DIR / "demo"
CODES_DIR = DATA_DIR / "codes"
LOCALE_DIR = DATA_DIR / "locale"
