"""Studio's words live in one module (byoi.vocabulary), agree with the botocore model, and the
layers import each other in one direction only."""

import ast
from pathlib import Path

import botocore.session
import pytest

from byoi import vocabulary
from byoi.quickstart import LANDING
from byoi.vocabulary import CUSTOM_IMAGE_APPS, SPACE_APPS

SRC = Path(vocabulary.__file__).parent
MODEL = botocore.session.get_session().get_service_model("sagemaker")


@pytest.mark.parametrize("enum, shapes", [
    (vocabulary.AppType, ["AppType"]),
    (vocabulary.AppStatus, ["AppStatus"]),
    (vocabulary.StudioStatus, ["DomainStatus", "UserProfileStatus", "SpaceStatus"]),
    (vocabulary.ImageStatus, ["ImageStatus"]),
    (vocabulary.ImageVersionStatus, ["ImageVersionStatus"]),
])
def test_each_state_enum_is_the_models(enum, shapes):
    for shape in shapes:
        assert [m.value for m in enum] == MODEL.shape_for(shape).enum, shape


def test_each_custom_image_app_type_names_the_models_members():
    settings = MODEL.shape_for("UserSettings").members
    configs = MODEL.shape_for("CreateAppImageConfigRequest").members
    for app_type, kind in CUSTOM_IMAGE_APPS.items():
        assert app_type in vocabulary.AppType.__members__
        assert kind.settings in settings and kind.config in configs


def test_space_app_types_are_those_with_studios_idle_shutdown():
    with_lifecycle = {t for t, kind in CUSTOM_IMAGE_APPS.items() if "AppLifecycleManagement" in MODEL.shape_for(kind.settings).members}
    assert set(SPACE_APPS) == with_lifecycle == set(LANDING) == {"JupyterLab", "CodeEditor"}


def imports_of(package: str) -> dict[str, set[str]]:
    """Module (as a path under src/byoi) -> the byoi modules it imports, at any depth."""
    found = {}
    for path in (SRC / package).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == "byoi":  # from byoi import gateway
                names.update(f"byoi.{a.name}" for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("byoi."):
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(a.name for a in node.names if a.name.startswith("byoi."))
        found[str(path.relative_to(SRC))] = names
    return found


def test_the_services_never_import_the_runtime_nor_the_gateway_and_the_runtime_imports_neither_the_services_nor_the_gateway():
    services = {m: sorted(n for n in names if n.startswith(("byoi.runtime", "byoi.gateway")))
                for m, names in imports_of("services").items()}
    runtime = {m: sorted(n for n in names if n.startswith(("byoi.services", "byoi.sagemaker", "byoi.cloudcontrol", "byoi.gateway")))
               for m, names in imports_of("runtime").items()}
    assert {m: n for m, n in services.items() if n} == {}
    assert {m: n for m, n in runtime.items() if n} == {}


def test_the_vocabulary_and_the_settings_rules_import_nothing_else_of_byoi():
    everything = imports_of(".")
    assert everything["vocabulary.py"] == set()
    assert everything["app_settings.py"] == {"byoi.vocabulary"}
    assert everything["studio_urls.py"] == set()


def test_only_the_store_writes_sql():
    """Every statement lives in byoi.store's table modules; elsewhere only SQLAlchemy's exceptions are caught."""
    outside = {}
    for path in SRC.rglob("*.py"):
        if path.relative_to(SRC).parts[0] == "store":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            modules = [node.module] if isinstance(node, ast.ImportFrom) and node.module else (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            for module in modules:
                if module.split(".")[0] == "sqlalchemy" and module != "sqlalchemy.exc":
                    outside.setdefault(str(path.relative_to(SRC)), []).append(module)
    assert outside == {}
