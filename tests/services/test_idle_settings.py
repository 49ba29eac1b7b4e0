"""Studio's idle shutdown settings (AppLifecycleManagement.IdleSettings), resolved for one app."""

import pytest

from byoi.app_settings import idle_timeout_minutes


def idle(app_type="JupyterLab", **settings) -> dict:
    key = {"JupyterLab": "JupyterLabAppSettings", "CodeEditor": "CodeEditorAppSettings", "KernelGateway": "KernelGatewayAppSettings"}[app_type]
    return {key: {"AppLifecycleManagement": {"IdleSettings": settings}}}


@pytest.mark.parametrize("chain, expected", [
    ([{}, {}], None),  # nothing set: never
    ([{}, idle(LifecycleManagement="ENABLED", IdleTimeoutInMinutes=120)], 120),  # the domain's default
    ([{}, idle(LifecycleManagement="DISABLED", IdleTimeoutInMinutes=120)], None),
    ([{}, idle(IdleTimeoutInMinutes=120)], None),  # not ENABLED anywhere
    ([idle(IdleTimeoutInMinutes=90), idle(LifecycleManagement="ENABLED", IdleTimeoutInMinutes=120)], 90),  # the owner's own
    ([idle(IdleTimeoutInMinutes=60), idle(LifecycleManagement="ENABLED", IdleTimeoutInMinutes=120, MinIdleTimeoutInMinutes=100)], 100),
    ([idle(IdleTimeoutInMinutes=900), idle(LifecycleManagement="ENABLED", IdleTimeoutInMinutes=120, MaxIdleTimeoutInMinutes=480)], 480),
    ([idle(LifecycleManagement="DISABLED"), idle(LifecycleManagement="ENABLED", IdleTimeoutInMinutes=120)], None),  # a user turned it off
    # A space: its own SpaceSettings, then the domain's DefaultSpaceSettings, then DefaultUserSettings.
    ([idle(IdleTimeoutInMinutes=75), {}, idle(LifecycleManagement="ENABLED", IdleTimeoutInMinutes=120)], 75),
])
def test_each_field_comes_from_the_first_level_that_sets_it(chain, expected):
    assert idle_timeout_minutes("JupyterLab", chain) == expected


def test_code_editor_apps_read_their_own_settings_and_other_app_types_have_none():
    chain = [idle("CodeEditor", LifecycleManagement="ENABLED", IdleTimeoutInMinutes=60)]
    assert idle_timeout_minutes("CodeEditor", chain) == 60
    assert idle_timeout_minutes("JupyterLab", chain) is None
    assert idle_timeout_minutes("KernelGateway", [idle("KernelGateway", LifecycleManagement="ENABLED", IdleTimeoutInMinutes=60)]) is None
