"""The Studio the app benchmarks run in: the spec's sample image attached to a
domain's KernelGateway apps, and a user profile ``alice``."""

from __future__ import annotations

import httpx

IMAGE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:image/sample"


def kernel_gateway_studio(sm, image: str) -> dict:
    """Create the image (version ``image``), its config, a domain and alice; the key of alice's app ``default``."""
    sm.create_image(ImageName="sample", RoleArn="arn:aws:iam::123456789012:role/bench")
    sm.create_image_version(ImageName="sample", BaseImage=image)
    sm.create_app_image_config(AppImageConfigName="kg", KernelGatewayImageConfig={"KernelSpecs": [{"Name": "python3"}]})
    customs = [{"ImageName": "sample", "AppImageConfigName": "kg"}]
    domain = sm.create_domain(DomainName="bench", AuthMode="IAM", SubnetIds=["s"], VpcId="v",
                              DefaultUserSettings={"KernelGatewayAppSettings": {"CustomImages": customs}})["DomainId"]
    sm.create_user_profile(DomainId=domain, UserProfileName="alice")
    return {"DomainId": domain, "UserProfileName": "alice", "AppType": "KernelGateway", "AppName": "default"}


def create_app(sm, key: dict) -> str:
    """CreateApp of the sample image on an ml.t3.medium; its ARN."""
    return sm.create_app(**key, ResourceSpec={"SageMakerImageArn": IMAGE_ARN, "InstanceType": "ml.t3.medium"})["AppArn"]


def gateway_headers(sm, key: dict) -> dict[str, str]:
    """An Authorization header for byoi's gateway, from a presigned domain URL."""
    url = sm.create_presigned_domain_url(DomainId=key["DomainId"], UserProfileName=key["UserProfileName"])["AuthorizedUrl"]
    return {"Authorization": f"Bearer {httpx.get(url, follow_redirects=False).cookies['byoi_session']}"}


#: The session secret the benchmarks' servers run with (BYOI_SESSION_SECRET), so a benchmark
#: can reach an app directly with the token byoi's own gateway presents.
BENCH_SECRET = "byoi-bench-secret"


def direct_access(app_arn: str) -> tuple[str, dict[str, str]]:
    """``host:port`` of a KernelGateway app on its owner's network, and the header that opens it."""
    import docker

    from byoi.auth.tokens import app_token

    (container,) = docker.from_env().containers.list(filters={"label": f"byoi.app-arn={app_arn}"})
    address = container.attrs["NetworkSettings"]["Networks"][container.labels["byoi.network"]]["IPAddress"]
    token = app_token(BENCH_SECRET.encode(), int(container.labels["byoi.app-id"]))
    return f"{address}:8888", {"Authorization": f"token {token}"}
