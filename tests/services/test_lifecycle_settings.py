"""Which lifecycle configurations an owner's apps may run, from the settings chain (app_settings)."""

from byoi.app_settings import attached_lifecycle_configs, default_lifecycle_config, named_lifecycle_configs

LCC = "arn:aws:sagemaker:us-east-1:123456789012:studio-lifecycle-config/"


def lab(*arns, default=None):
    settings = {"LifecycleConfigArns": [LCC + a for a in arns]}
    if default:
        settings["DefaultResourceSpec"] = {"LifecycleConfigArn": LCC + default}
    return {"JupyterLabAppSettings": settings}


def test_the_owners_and_the_domains_configs_are_attached_once_each():
    chain = [lab("mine", "shared"), lab("shared", "domain-wide")]
    assert attached_lifecycle_configs("JupyterLab", chain) == [LCC + "mine", LCC + "shared", LCC + "domain-wide"]
    assert attached_lifecycle_configs("CodeEditor", chain) == []  # another app type's settings


def test_the_default_is_the_first_level_that_sets_one():
    assert default_lifecycle_config("JupyterLab", [lab("a"), lab("b", default="b")]) == LCC + "b"
    assert default_lifecycle_config("JupyterLab", [lab("a", default="a"), lab("b", default="b")]) == LCC + "a"
    assert default_lifecycle_config("JupyterLab", [lab("a")]) is None
    assert default_lifecycle_config("Canvas", [lab("a", default="a")]) is None  # no lifecycle settings for it


def test_a_settings_document_names_its_configs_with_where_it_names_them():
    settings = {**lab("x", default="x"), "JupyterServerAppSettings": {"LifecycleConfigArns": [LCC + "js"]}}
    assert named_lifecycle_configs(settings) == [
        ("JupyterServer", LCC + "js", "JupyterServerAppSettings.LifecycleConfigArns"),
        ("JupyterLab", LCC + "x", "JupyterLabAppSettings.LifecycleConfigArns"),
        ("JupyterLab", LCC + "x", "JupyterLabAppSettings.DefaultResourceSpec.LifecycleConfigArn"),
    ]
