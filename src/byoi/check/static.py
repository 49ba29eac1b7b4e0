"""Checks of an image's metadata and file system (pure functions over ``ImageFacts``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from byoi.check.findings import ERROR, WARNING, Finding
from byoi.runtime.contract import RESERVED_DIRS, SUPPORTED_IDS
from byoi.vocabulary import MAX_IMAGE_BYTES

MAX_ID = 65535
#: What ``useradd --create-home`` copies from /etc/skel: harmless when hidden.
SKELETON_FILES = {".bashrc", ".profile", ".bash_logout"}


@dataclass
class ImageFacts:
    """What the scan learned about an image (see ``byoi.check.scan``)."""

    reference: str
    size: int = 0
    architecture: str = "amd64"
    user: str = ""  # the image's USER, as written
    passwd: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (uid, gid)
    groups: dict[str, int] = field(default_factory=dict)  # name -> gid
    files: set[str] = field(default_factory=set)  # every path in the final file system, "/"-rooted
    kernelspecs: dict[str, list[str]] = field(default_factory=dict)  # name -> argv, from kernel.json files
    kernelspec_paths: dict[str, str] = field(default_factory=dict)  # name -> kernel.json path
    high_owners: list[tuple[str, int, int, str]] = field(default_factory=list)  # (path, uid, gid, layer)
    path: str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # the image's PATH (Docker's default)


def image_user(facts: ImageFacts) -> tuple[int, int] | None:
    """The (uid, gid) the image's USER names, or None when it cannot be resolved."""
    user, _, group = (facts.user or "0").partition(":")
    if user.isdigit():
        uid = int(user)
        gid = next((g for u, g in facts.passwd.values() if u == uid), uid if not facts.passwd else None)
    elif user in facts.passwd:
        uid, gid = facts.passwd[user]
    else:
        return None
    if group:
        gid = int(group) if group.isdigit() else facts.groups.get(group)
    return None if gid is None else (uid, gid)


def check_image(facts: ImageFacts, uid: int, gid: int, mount_path: str) -> list[Finding]:
    findings: list[Finding] = []
    if facts.size > MAX_IMAGE_BYTES:
        findings.append(Finding("image-too-large", ERROR, f"The image is {facts.size / 1e9:.1f} GB; Studio runs images up to 25 GB.",
                                f"docker image inspect: Size={facts.size}", "Remove what the image does not need, or split it."))
    if facts.architecture != "amd64":
        findings.append(Finding("architecture-unsupported", ERROR, f"The image is built for {facts.architecture}; Studio runs amd64 images.",
                                f"Architecture={facts.architecture}", "Build with --platform linux/amd64."))
    if (uid, gid) not in SUPPORTED_IDS:
        findings.append(Finding("uid-gid-unsupported", ERROR, f"DefaultUid/DefaultGid {uid}/{gid} cannot run: Studio supports only 1000/100 and 0/0.",
                                f"FileSystemConfig: DefaultUid={uid}, DefaultGid={gid}", "Use 1000/100 (a non-privileged user) or 0/0 (root)."))
    actual = image_user(facts)
    if actual != (uid, gid):
        shown = "unresolvable" if actual is None else f"{actual[0]}/{actual[1]}"
        findings.append(Finding("image-user-mismatch", ERROR, f"The image's user is {shown} (USER {facts.user or 'root'}) but the AppImageConfig says {uid}/{gid}.",
                                f"USER {facts.user or '(none: root)'}", f"Make the image's USER {uid}:{gid} (e.g. useradd --uid {uid} --gid {gid}), or change DefaultUid/DefaultGid."))
    if facts.high_owners:
        path, owner_uid, owner_gid, layer = facts.high_owners[0]
        findings.append(Finding("file-owner-out-of-range", ERROR, f"{len(facts.high_owners)} files are owned by a uid/gid above {MAX_ID}, which Studio cannot map.",
                                f"{path} is owned by {owner_uid}:{owner_gid} (layer {layer})", "chown those files (in the layer that creates them) to ids of 65535 or less."))
    hidden = sorted(p for p in under(facts.files, mount_path) if p.rsplit("/", 1)[-1] not in SKELETON_FILES)
    if hidden:
        findings.append(Finding("files-under-mount-path", WARNING, f"{len(hidden)} files under MountPath {mount_path} will be hidden by the user's home volume.",
                                ", ".join(hidden[:5]), "Install them elsewhere (e.g. /opt), or choose another MountPath."))
    for reserved in RESERVED_DIRS:
        inside = sorted(under(facts.files, reserved))
        if inside:
            findings.append(Finding("files-under-reserved-dir", WARNING, f"{len(inside)} files under {reserved}, which Studio reserves: they may not be visible at run time.",
                                ", ".join(inside[:5]), f"Move them out of {reserved}."))
    return findings


def under(files: set[str], directory: str) -> list[str]:
    prefix = directory.rstrip("/") + "/"
    return [f for f in files if f.startswith(prefix)]


def check_kernels(facts: ImageFacts, wanted: list[str], provided: list[str] | None = None) -> list[Finding]:
    """KernelSpecs the config names must exist; each kernel.json's argv[0] must be an absolute, present file."""
    findings: list[Finding] = []
    available = sorted(provided if provided is not None else facts.kernelspecs)
    for name in wanted:
        if name not in available:
            findings.append(Finding("kernel-missing", ERROR, f"KernelSpecs names kernel {name!r}, which the image does not provide.",
                                    f"The image provides: {', '.join(available) or 'no kernels'}",
                                    "Use one of those names in KernelSpecs, or install the kernel (e.g. python3 -m ipykernel install)."))
    for name, argv in sorted(facts.kernelspecs.items()):
        where = facts.kernelspec_paths.get(name, name)
        program = argv[0] if argv else ""
        if program and "/" not in program:  # a bare name runs as found on the image's PATH
            found = next((f"{d.rstrip('/')}/{program}" for d in facts.path.split(":") if d and f"{d.rstrip('/')}/{program}" in facts.files), None)
            if found is None:
                findings.append(Finding("kernel-argv-missing", ERROR, f"Kernel {name!r} starts {program!r}, which is not on the image's PATH.",
                                        f"{where}: argv[0]={program!r}; PATH={facts.path}",
                                        "Install that program, put its directory on PATH (ENV PATH=...), or write its absolute path in kernel.json."))
        elif not program.startswith("/"):
            findings.append(Finding("kernel-argv-relative", ERROR, f"Kernel {name!r} starts {program!r}, a path relative to a directory kernels do not start in.",
                                    f"{where}: argv[0]={program!r}", "Write the interpreter's absolute path in kernel.json (python -m ipykernel install does)."))
        elif program not in facts.files:
            findings.append(Finding("kernel-argv-missing", ERROR, f"Kernel {name!r} starts {program}, which is not in the image.",
                                    f"{where}: argv[0]={program}", "Fix argv[0] in kernel.json, or install that program."))
    return findings

