"""The Studio home page of a domain (what ``studio::`` lands on), server-rendered.

It shows the signed-in user the spaces they may use (their own Private ones and the domain's
Shared ones) with each space's JupyterLab or Code Editor app and its state, and their own
apps. From it they create a space, start its app on one of the custom images attached to the
space's chain of settings (with the kernels of the image's AppImageConfig), open it, stop it,
and read why an app failed and its log stream. The user's StudioWebPortal settings apply (theirs
over the domain's): app types in HiddenAppTypes and instance types in HiddenInstanceTypes are
neither shown nor accepted by the page's forms (the API still serves them, as AWS's does), and
a user whose StudioWebPortal is DISABLED is refused the page.

Every action is an API operation called in-process (``JsonProtocolEndpoint.call``), with the
API's validation and errors, on the domain's account; the page decides only what the user may
ask for: a space they create is theirs, and only spaces they may use can have their apps
started, stopped or read. Forms post with the browser's Origin, which must be this Studio's
own (``Sites.request_ok``). Its stylesheet is byoi's own: no asset comes from the internet.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import anyio
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from byoi.app_settings import attached_images, web_portal
from byoi.aws.errors import AwsError
from byoi.aws.protocol import JsonProtocolEndpoint, Scope
from byoi.gateway.policy import SPACE_BASE_PATHS, space_admits, space_path
from byoi.gateway.sites import Sites, site_of
from byoi.runtime.app_logs import LOG_GROUP, log_stream
from byoi.services.domains import DomainService
from byoi.vocabulary import AppStatus

#: What the page offers to run an app on (any type of byoi's table may be asked for by the API).
INSTANCE_TYPES = ("ml.t3.medium", "ml.t3.large", "ml.t3.xlarge", "ml.m5.large", "ml.m5.xlarge", "ml.g4dn.xlarge")
#: App states in which an app is on its way and the page refreshes itself.
MOVING = (AppStatus.Pending, AppStatus.Deleting)
SM = "SageMaker"

_templates = Environment(loader=PackageLoader("byoi.gateway", "templates"), autoescape=select_autoescape(), trim_blocks=True, lstrip_blocks=True)


def sharing_of(summary: dict) -> dict:
    """A ListSpaces entry's sharing and ownership, shaped as the settings ``space_admits`` reads."""
    return {
        "SpaceSharingSettings": {"SharingType": (summary.get("SpaceSharingSettingsSummary") or {}).get("SharingType")},
        "OwnershipSettings": {"OwnerUserProfileName": (summary.get("OwnershipSettingsSummary") or {}).get("OwnerUserProfileName")},
    }


def shown_instance_types(portal: dict) -> list[str]:
    """The instance types the home page offers: those the user's portal does not hide."""
    return [t for t in INSTANCE_TYPES if t not in portal["HiddenInstanceTypes"]]


class StudioPages:
    def __init__(self, sites: Sites, endpoint: JsonProtocolEndpoint, domains: DomainService):
        self._sites = sites
        self._endpoint = endpoint
        self._domains = domains

    # --- the signed-in user ------------------------------------------------------------

    def _who(self, request: Request) -> tuple[dict | None, Scope | None]:
        """(session, the domain's scope) of a signed-in user of this Studio; Nones otherwise.
        Runs in a worker thread."""
        site = site_of(request)
        session = self._sites.sessions.session(request.headers)
        if session is None or session["domain"] != site.domain_id or not self._sites.sessions.alive(session):
            return None, None
        return session, self._domains.scope_of(site.domain_id)

    def _call(self, scope: Scope, operation: str, target: str = SM, **data) -> dict:
        return self._endpoint.call(target, operation, data, scope)

    def _all(self, scope: Scope, operation: str, key: str, **data) -> list[dict]:
        items, token = [], None
        while True:
            page = self._call(scope, operation, MaxResults=100, **data, **({"NextToken": token} if token else {}))
            items += page.get(key) or []
            token = page.get("NextToken")
            if not token:
                return items

    def _space_admits(self, scope: Scope, domain_id: str, user: str, space: str) -> dict:
        """DescribeSpace's output for a space the user may use; raises the API's error otherwise."""
        described = self._call(scope, "DescribeSpace", DomainId=domain_id, SpaceName=space)
        if not space_admits(described, user):
            raise PermissionError(f"Space {space} is private to another user.")
        return described

    # --- the page ---------------------------------------------------------------------

    def _portal(self, scope: Scope, session: dict, domain: dict | None = None) -> dict:
        """The web portal settings that apply to the session's user (``app_settings.web_portal``);
        PermissionError when StudioWebPortal is DISABLED for them."""
        domain = domain or self._call(scope, "DescribeDomain", DomainId=session["domain"])
        profile = self._call(scope, "DescribeUserProfile", DomainId=session["domain"], UserProfileName=session["user"])
        portal = web_portal([profile.get("UserSettings") or {}, domain.get("DefaultUserSettings") or {}])
        if portal["StudioWebPortal"] != "ENABLED":
            raise PermissionError("Studio is not enabled for this user profile (StudioWebPortal is DISABLED).")
        return portal

    @staticmethod
    def _refuse_hidden(portal: dict, app_type: str, instance_type: str | None = None) -> None:
        """PermissionError when the portal hides ``app_type`` or ``instance_type`` from the user."""
        if app_type in portal["HiddenAppTypes"]:
            raise PermissionError(f"{app_type} is hidden from this Studio (StudioWebPortalSettings.HiddenAppTypes).")
        if instance_type in portal["HiddenInstanceTypes"]:
            raise PermissionError(f"{instance_type} is hidden from this Studio (StudioWebPortalSettings.HiddenInstanceTypes).")

    def _model(self, session: dict, scope: Scope, query: dict) -> dict:
        domain_id, user = session["domain"], session["user"]
        domain = self._call(scope, "DescribeDomain", DomainId=domain_id)
        portal = self._portal(scope, session, domain)
        hidden = set(portal["HiddenAppTypes"])
        spaces = [s for s in self._all(scope, "ListSpaces", "Spaces", DomainIdEquals=domain_id) if space_admits(sharing_of(s), user)]
        names = {s["SpaceName"].lower() for s in spaces}
        apps = [
            a for a in self._all(scope, "ListApps", "Apps", DomainIdEquals=domain_id)
            if a.get("Status") != AppStatus.Deleted
            and ((a.get("SpaceName") or "").lower() in names or (a.get("UserProfileName") or "").lower() == user.lower())
        ]
        for app in apps:
            if app.get("Status") == AppStatus.Failed:
                owner = {"SpaceName": app["SpaceName"]} if app.get("SpaceName") else {"UserProfileName": app["UserProfileName"]}
                app["FailureReason"] = self._call(
                    scope, "DescribeApp", DomainId=domain_id, AppType=app["AppType"], AppName=app["AppName"], **owner
                ).get("FailureReason")
        configs: dict[str, dict] = {}
        rows = []
        for space in spaces:
            app_type = (space.get("SpaceSettingsSummary") or {}).get("AppType") or "JupyterLab"
            if app_type not in SPACE_BASE_PATHS:
                app_type = "JupyterLab"
            if app_type in hidden:
                continue
            app = next((a for a in apps if (a.get("SpaceName") or "").lower() == space["SpaceName"].lower()
                        and a["AppType"] == app_type and a["AppName"] == "default"), None)
            rows.append({
                "space": space,
                "app_type": app_type,
                "app": app,
                "open": space_path(space["SpaceName"], app_type, "lab" if app_type == "JupyterLab" else ""),
                "images": self._images(scope, domain, space["SpaceName"], app_type, configs),
            })
        own_apps = [a for a in apps if (a.get("UserProfileName") or "").lower() == user.lower() and a["AppType"] not in hidden]
        return {
            "domain": domain,
            "user": user,
            "rows": rows,
            "own_apps": own_apps,
            "instance_types": shown_instance_types(portal),
            "space_app_types": [t for t in SPACE_BASE_PATHS if t not in hidden],
            "refresh": any(a.get("Status") in MOVING for a in apps),
            "message": query.get("message"),
            "error": query.get("error"),
            "highlight": query.get("space"),
        }

    def _images(self, scope: Scope, domain: dict, space: str, app_type: str, configs: dict) -> list[dict]:
        """The custom images a space's ``app_type`` app may run, each with its config's kernels."""
        described = self._call(scope, "DescribeSpace", DomainId=domain["DomainId"], SpaceName=space)
        chain = [described.get("SpaceSettings") or {}, domain.get("DefaultSpaceSettings") or {}, domain.get("DefaultUserSettings") or {}]
        images = []
        for custom in attached_images(app_type, chain):
            name = custom["AppImageConfigName"]
            if name not in configs:
                try:
                    configs[name] = self._call(scope, "DescribeAppImageConfig", AppImageConfigName=name)
                except AwsError:
                    configs[name] = {}
            specs = ((configs[name].get("KernelGatewayImageConfig") or {}).get("KernelSpecs")) or []
            images.append({
                "name": custom["ImageName"],
                "version": custom.get("ImageVersionNumber"),
                "config": name,
                "kernels": [k.get("DisplayName") or k["Name"] for k in specs],
            })
        return images

    async def home(self, request: Request) -> Response:
        session, scope = await anyio.to_thread.run_sync(self._who, request)
        if session is None:
            return self._signed_out(request)
        try:
            model = await anyio.to_thread.run_sync(self._model, session, scope, dict(request.query_params))
        except AwsError as exc:
            return HTMLResponse(_templates.get_template("error.html").render(message=exc.message), 500)
        except PermissionError as exc:
            return HTMLResponse(_templates.get_template("error.html").render(message=str(exc)), 403)
        return HTMLResponse(_templates.get_template("home.html").render(**model), headers={"Cache-Control": "no-store"})

    def _signed_out(self, request: Request) -> Response:
        return HTMLResponse(_templates.get_template("signed_out.html").render(domain_id=site_of(request).domain_id), 401)

    # --- actions ----------------------------------------------------------------------

    async def _act(self, request: Request, action) -> Response:
        """Runs ``action(session, scope, form)`` and goes back to the page with its outcome."""
        if not self._sites.request_ok(request):
            return HTMLResponse("This form was sent from a page of another origin; byoi refuses it.", 403)
        session, scope = await anyio.to_thread.run_sync(self._who, request)
        if session is None:
            return self._signed_out(request)
        form = dict(await request.form())
        try:
            message = await anyio.to_thread.run_sync(action, session, scope, form, request.path_params)
            outcome = {"message": message}
        except AwsError as exc:
            outcome = {"error": f"{exc.code}: {exc.message}"}
        except PermissionError as exc:
            outcome = {"error": str(exc)}
        return RedirectResponse("/?" + urlencode(outcome), 303)

    def _create_space(self, session: dict, scope: Scope, form: dict, _params: dict) -> str:
        name, sharing, app_type = form.get("name", "").strip(), form.get("sharing", "Private"), form.get("app_type", "JupyterLab")
        self._refuse_hidden(self._portal(scope, session), app_type)
        self._call(
            scope, "CreateSpace", DomainId=session["domain"], SpaceName=name,
            SpaceDisplayName=form.get("display_name", "").strip() or name,
            OwnershipSettings={"OwnerUserProfileName": session["user"]},
            SpaceSharingSettings={"SharingType": sharing},
            SpaceSettings={"AppType": app_type},
        )
        return f"Space {name} created."

    def _start(self, session: dict, scope: Scope, form: dict, params: dict) -> str:
        space, app_type = params["space"], params["app_type"]
        self._space_admits(scope, session["domain"], session["user"], space)
        portal = self._portal(scope, session)
        instance_type = form.get("instance_type") or next(iter(shown_instance_types(portal)), "")
        self._refuse_hidden(portal, app_type, instance_type)
        image_arn = f"arn:aws:sagemaker:{scope.region}:{scope.account_id}:image/{form.get('image', '')}"
        self._call(
            scope, "CreateApp", DomainId=session["domain"], SpaceName=space, AppType=app_type, AppName="default",
            ResourceSpec={"SageMakerImageArn": image_arn, "InstanceType": instance_type},
        )
        return f"Starting the {app_type} app of space {space}."

    def _stop(self, session: dict, scope: Scope, _form: dict, params: dict) -> str:
        space, app_type = params["space"], params["app_type"]
        self._space_admits(scope, session["domain"], session["user"], space)
        self._call(scope, "DeleteApp", DomainId=session["domain"], SpaceName=space, AppType=app_type, AppName="default")
        return f"Stopping the {app_type} app of space {space}."

    async def create_space(self, request: Request) -> Response:
        return await self._act(request, self._create_space)

    async def start(self, request: Request) -> Response:
        return await self._act(request, self._start)

    async def stop(self, request: Request) -> Response:
        return await self._act(request, self._stop)

    # --- logs ---------------------------------------------------------------------------

    def _log_text(self, session: dict, scope: Scope, space: str, app_type: str) -> str:
        self._space_admits(scope, session["domain"], session["user"], space)
        stream = log_stream(session["domain"], space, app_type, "default")
        try:
            events = self._call(scope, "GetLogEvents", "Logs_20140328", logGroupName=LOG_GROUP, logStreamName=stream, startFromHead=True)
        except AwsError:
            return ""
        return "\n".join(e.get("message", "") for e in events.get("events") or [])

    async def logs(self, request: Request) -> Response:
        session, scope = await anyio.to_thread.run_sync(self._who, request)
        if session is None:
            return self._signed_out(request)
        space, app_type = request.path_params["space"], request.path_params["app_type"]
        try:
            text = await anyio.to_thread.run_sync(self._log_text, session, scope, space, app_type)
        except (AwsError, PermissionError) as exc:
            return HTMLResponse(_templates.get_template("error.html").render(message=getattr(exc, "message", str(exc))), 403)
        page = _templates.get_template("logs.html").render(space=space, app_type=app_type, stream=log_stream(session["domain"], space, app_type, "default"), text=text)
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    def routes(self) -> list:
        app = "/studio/spaces/{space}/apps/{app_type}"
        return [
            Route("/", self.home, methods=["GET"]),
            Route("/studio/spaces", self.create_space, methods=["POST"]),
            Route(app + "/start", self.start, methods=["POST"]),
            Route(app + "/stop", self.stop, methods=["POST"]),
            Route(app + "/logs", self.logs, methods=["GET"]),
            Mount("/studio/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static"),
        ]
