"""The configuration page documents every setting, and only real ones."""

import re
from pathlib import Path

from byoi.settings import Settings

DOC = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text()


def test_every_setting_is_documented():
    documented = set(re.findall(r"`BYOI_([A-Z_]+)`", DOC))
    declared = {name.upper() for name in Settings.model_fields}
    assert documented == declared
