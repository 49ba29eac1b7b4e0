"""Instance types as container limits: AWS's figures, an operator's file merged over them."""

import json

import pytest

from byoi.aws.model import service_model
from byoi.runtime.instance_types import BUILT_IN, GIB, TABLE, InstanceType, InstanceTypes

#: AppInstanceType values the table leaves out on purpose (see the module's docstring).
UNDESCRIBED = {"ml.geospatial.interactive"} | {
    f"ml.{family}.{size}"
    for family in ("g7", "g7e")
    for size in ("2xlarge", "4xlarge", "8xlarge", "12xlarge", "24xlarge", "48xlarge")
}


@pytest.mark.parametrize(
    "name, vcpus, memory_gib, gpus",
    [
        ("ml.t3.medium", 2, 4, 0),
        ("ml.m5.large", 2, 8, 0),
        ("ml.g5.xlarge", 4, 16, 1),
        ("ml.p4d.24xlarge", 96, 1152, 8),
        ("ml.p3.2xlarge", 8, 61, 1),
        ("ml.c5.9xlarge", 36, 72, 0),
        ("ml.r5.24xlarge", 96, 768, 0),
        ("ml.g4dn.12xlarge", 48, 192, 4),
        ("ml.g6e.12xlarge", 48, 384, 2),
        ("ml.trn1.32xlarge", 128, 512, 0),
        ("system", 2, 4, 0),
    ],
)
def test_built_in_types_have_aws_figures(name, vcpus, memory_gib, gpus):
    assert InstanceTypes.load(None).get(name) == InstanceType(name, vcpus, memory_gib * GIB, gpus)


def test_unknown_type_is_none():
    assert InstanceTypes.load(None).get("ml.nonexistent.large") is None


def test_table_covers_every_app_instance_type_sagemaker_accepts_except_the_undescribed():
    accepted = set(service_model("sagemaker").shape_for("AppInstanceType").enum)
    assert set(TABLE) == accepted - UNDESCRIBED
    assert UNDESCRIBED <= accepted  # still real names: drop them from UNDESCRIBED once the table has them


def test_families_keep_their_memory_per_vcpu():
    ratios = {"m": 4, "c": 2, "r": 8}
    for name, (vcpus, memory_gib, gpus) in TABLE.items():
        family = name.split(".")[1] if name.startswith("ml.") else ""
        if family[:1] in ratios and family[1:2].isdigit():
            assert memory_gib == vcpus * ratios[family[0]], name
            assert gpus == 0, name
        if family[:1] in "gp" and family:
            assert gpus >= 1, name


def test_no_file_is_the_built_in_table():
    assert {t.name: t for t in InstanceTypes.load(None)} == BUILT_IN
    assert {t.name: t for t in InstanceTypes.load("")} == BUILT_IN


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_file_is_merged_over_the_built_in_table(tmp_path, fmt):
    path = tmp_path / f"types.{fmt}"
    if fmt == "json":
        path.write_text(
            json.dumps(
                {
                    "ml.t3.medium": {"vcpus": 1, "memory_gib": 2, "gpus": 0},
                    "ml.g5.xlarge": {"gpus": 0},
                    "ml.g7e.2xlarge": {"vcpus": 8, "memory_gib": 64, "gpus": 1},
                    "ml.m5.large": {"vcpus": 0.5, "memory_gib": 1.5},
                }
            )
        )
    else:
        path.write_text(
            '["ml.t3.medium"]\nvcpus = 1\nmemory_gib = 2\ngpus = 0\n\n'
            '["ml.g5.xlarge"]\ngpus = 0\n\n'
            '["ml.g7e.2xlarge"]\nvcpus = 8\nmemory_gib = 64\ngpus = 1\n\n'
            '["ml.m5.large"]\nvcpus = 0.5\nmemory_gib = 1.5\n'
        )
    types = InstanceTypes.load(str(path))
    assert types.get("ml.t3.medium") == InstanceType("ml.t3.medium", 1, 2 * GIB, 0)
    assert types.get("ml.g5.xlarge") == InstanceType("ml.g5.xlarge", 4, 16 * GIB, 0)  # only gpus overridden
    assert types.get("ml.g7e.2xlarge") == InstanceType("ml.g7e.2xlarge", 8, 64 * GIB, 1)  # added
    assert types.get("ml.m5.large") == InstanceType("ml.m5.large", 0.5, int(1.5 * GIB), 0)
    assert types.get("ml.p4d.24xlarge") == BUILT_IN["ml.p4d.24xlarge"]  # untouched
    assert len(types) == len(BUILT_IN) + 1
    assert InstanceTypes.load(None).get("ml.t3.medium") == BUILT_IN["ml.t3.medium"]  # the built-in table is not changed


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must map instance type names"),
        ('{"ml.t3.medium": 4}', "entry 'ml.t3.medium': must be a table"),
        ('{"ml.t3.medium": {"vcpu": 1}}', "entry 'ml.t3.medium': unknown field(s) vcpu"),
        ('{"ml.t3.medium": {"vcpus": 0}}', "entry 'ml.t3.medium': vcpus must be a number above 0, not 0"),
        ('{"ml.t3.medium": {"vcpus": "2"}}', "entry 'ml.t3.medium': vcpus must be a number above 0, not '2'"),
        ('{"ml.t3.medium": {"memory_gib": -1}}', "entry 'ml.t3.medium': memory_gib must be a number above 0"),
        ('{"ml.t3.medium": {"memory_gib": true}}', "entry 'ml.t3.medium': memory_gib must be a number above 0"),
        ('{"ml.t3.medium": {"gpus": 1.5}}', "entry 'ml.t3.medium': gpus must be a whole number"),
        ('{"ml.t3.medium": {"gpus": -1}}', "entry 'ml.t3.medium': gpus must be a whole number"),
        ('{"ml.g7e.2xlarge": {"vcpus": 8}}', "entry 'ml.g7e.2xlarge': not a built-in type, so it needs memory_gib"),
        ('{"ml.t3.meduim": {"vcpus": 1}}', "entry 'ml.t3.meduim': not an instance type SageMaker accepts"),
    ],
)
def test_malformed_json_file_names_the_file_and_entry(tmp_path, content, message):
    path = tmp_path / "types.json"
    path.write_text(content)
    with pytest.raises(ValueError) as raised:
        InstanceTypes.load(str(path))
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)


def test_malformed_toml_file_names_the_file(tmp_path):
    path = tmp_path / "types.toml"
    path.write_text("[ml.t3.medium\nvcpus = 1\n")
    with pytest.raises(ValueError, match="not valid TOML") as raised:
        InstanceTypes.load(path)
    assert str(raised.value).startswith(f"{path}: ")


def test_toml_entry_errors_name_the_entry(tmp_path):
    path = tmp_path / "types.toml"
    path.write_text('["ml.t3.medium"]\nvcpus = "lots"\n')
    with pytest.raises(ValueError, match=r"types\.toml: entry 'ml\.t3\.medium': vcpus must be a number above 0, not 'lots'"):
        InstanceTypes.load(path)


def test_unquoted_toml_names_get_a_hint(tmp_path):
    path = tmp_path / "types.toml"
    path.write_text("[ml.t3.medium]\nvcpus = 1\n")  # valid TOML, but nested tables ml -> t3 -> medium
    with pytest.raises(ValueError, match=r"entry 'ml': not an instance type .* quote the names"):
        InstanceTypes.load(path)


def test_missing_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "absent.json"
    with pytest.raises(ValueError, match=f"{path}: cannot read the instance types file"):
        InstanceTypes.load(str(path))
