"""Studio's concepts, named once: app types and what each needs, lifecycle states, and the
defaults and limits of the container contract.

Every layer imports its words from here (the wire layer, services, the runtime, the gateway,
``byoi check``); nothing here imports byoi. States are ``StrEnum`` members, so they compare
equal to the strings stored in the database and sent on the wire; ``tests/test_vocabulary.py``
checks each enum against the botocore model's.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AppType(StrEnum):
    """CreateApp's AppType (the model's enum)."""

    JupyterServer = "JupyterServer"
    KernelGateway = "KernelGateway"
    DetailedProfiler = "DetailedProfiler"
    TensorBoard = "TensorBoard"
    CodeEditor = "CodeEditor"
    JupyterLab = "JupyterLab"
    RStudioServerPro = "RStudioServerPro"
    RSessionGateway = "RSessionGateway"
    Canvas = "Canvas"


class AppStatus(StrEnum):
    Deleted = "Deleted"
    Deleting = "Deleting"
    Failed = "Failed"
    InService = "InService"
    Pending = "Pending"


#: An app in these states holds its name (CreateApp of the same name is refused) and keeps
#: its domain, user profile or space from being deleted.
LIVE_APP_STATES = (AppStatus.Pending, AppStatus.InService, AppStatus.Deleting)


class StudioStatus(StrEnum):
    """DomainStatus, UserProfileStatus and SpaceStatus (one enum in the model, three names)."""

    Deleting = "Deleting"
    Failed = "Failed"
    InService = "InService"
    Pending = "Pending"
    Updating = "Updating"
    Update_Failed = "Update_Failed"
    Delete_Failed = "Delete_Failed"


class ImageStatus(StrEnum):
    CREATING = "CREATING"
    CREATED = "CREATED"
    CREATE_FAILED = "CREATE_FAILED"
    UPDATING = "UPDATING"
    UPDATE_FAILED = "UPDATE_FAILED"
    DELETING = "DELETING"
    DELETE_FAILED = "DELETE_FAILED"


class ImageVersionStatus(StrEnum):
    CREATING = "CREATING"
    CREATED = "CREATED"
    CREATE_FAILED = "CREATE_FAILED"
    DELETING = "DELETING"
    DELETE_FAILED = "DELETE_FAILED"


#: States that the image settler settles by itself after ``transition_seconds``.
IMAGE_TRANSITIONAL = (ImageStatus.CREATING, ImageStatus.UPDATING, ImageStatus.DELETING)
VERSION_TRANSITIONAL = (ImageVersionStatus.CREATING, ImageVersionStatus.DELETING)


@dataclass(frozen=True)
class AppKind:
    """An app type that runs a custom image, and where Studio configures and serves it."""

    type: AppType
    #: Member of UserSettings / DefaultUserSettings / SpaceSettings with its CustomImages.
    settings: str
    #: Member of an AppImageConfig that configures it, and that member's database column.
    config: str
    config_column: str
    #: The server's readiness path on port 8888.
    readiness_path: str
    #: Where a space's app serves (None: not a space app type).
    base_path: str | None = None

    @property
    def in_spaces(self) -> bool:
        """Whether a space runs it (with Studio's idle shutdown, AppLifecycleManagement)."""
        return self.base_path is not None


KERNEL_GATEWAY = AppKind(AppType.KernelGateway, "KernelGatewayAppSettings", "KernelGatewayImageConfig", "kernel_gateway",
                         readiness_path="/api/kernelspecs")
JUPYTER_LAB = AppKind(AppType.JupyterLab, "JupyterLabAppSettings", "JupyterLabAppImageConfig", "jupyter_lab",
                      readiness_path="/jupyterlab/default/api/status", base_path="/jupyterlab/default")
CODE_EDITOR = AppKind(AppType.CodeEditor, "CodeEditorAppSettings", "CodeEditorAppImageConfig", "code_editor",
                      readiness_path="/codeeditor/default/", base_path="/codeeditor/default")

#: The app types that run custom images, in the model's order of AppImageConfig members.
CUSTOM_IMAGE_APPS: dict[str, AppKind] = {kind.type: kind for kind in (KERNEL_GATEWAY, JUPYTER_LAB, CODE_EDITOR)}
#: AppImageConfig's members (one per app type) and their database columns.
CONFIG_COLUMNS: dict[str, str] = {kind.config: kind.config_column for kind in CUSTOM_IMAGE_APPS.values()}
#: The app types a space runs (SpaceSettings.AppType), with their base paths.
SPACE_APPS: dict[str, AppKind] = {t: kind for t, kind in CUSTOM_IMAGE_APPS.items() if kind.in_spaces}
#: Where a presigned URL's LandingUri ``app:<type>:<path>`` may land.
LANDING_APPS = (AppType.JupyterServer, *SPACE_APPS)

#: StudioLifecycleConfigAppType (the model's enum) -> the settings member whose LifecycleConfigArns attach it.
LIFECYCLE_SETTINGS: dict[str, str] = {
    AppType.JupyterServer: "JupyterServerAppSettings",
    **{t: kind.settings for t, kind in CUSTOM_IMAGE_APPS.items()},
}

#: FileSystemConfig when an AppImageConfig leaves it out (and each field it leaves out).
DEFAULT_FILE_SYSTEM = {"MountPath": "/home/sagemaker-user", "DefaultUid": 1000, "DefaultGid": 100}
#: The largest image an app runs (studio-byoi-specs: "Limited to 25 GB").
MAX_IMAGE_BYTES = 25 * 10**9
#: A space's EBS volume size when no setting gives one, and the model's bounds (SpaceEbsVolumeSizeInGb).
DEFAULT_SPACE_EBS_GIB = 5
MAX_SPACE_EBS_GIB = 16384
#: The container user whose identity CustomPosixUserConfig replaces (Studio's sagemaker-user).
SAGEMAKER_USER = (1000, 100)
