"""State survives restarts and crashes; concurrent writers cannot create duplicates.

Figures from these tests are reported in docs/reliability.md.
"""

import random
import sqlite3
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from tests.conftest import POSTGRES_URL, ROLE_ARN


def populate(sm) -> dict:
    sm.create_image(ImageName="img", RoleArn=ROLE_ARN, DisplayName="Img", Tags=[{"Key": "k", "Value": "v"}])
    sm.create_image_version(ImageName="img", BaseImage="repo/img:1", Aliases=["stable"])
    sm.create_app_image_config(
        AppImageConfigName="cfg", KernelGatewayImageConfig={"KernelSpecs": [{"Name": "python3"}], "FileSystemConfig": {}}
    )
    return snapshot(sm)


def snapshot(sm) -> dict:
    def clean(d):
        return {k: v for k, v in d.items() if k != "ResponseMetadata"}

    return {
        "image": clean(sm.describe_image(ImageName="img")),
        "version": clean(sm.describe_image_version(ImageName="img", Alias="stable")),
        "config": clean(sm.describe_app_image_config(AppImageConfigName="cfg")),
        "tags": sm.list_tags(ResourceArn="arn:aws:sagemaker:us-east-1:123456789012:image/img")["Tags"],
        "images": [clean(i) for i in sm.list_images()["Images"]],
    }


def config_names(sm) -> list[str]:
    """Every AppImageConfig name, through all pages."""
    return [c["AppImageConfigName"] for page in sm.get_paginator("list_app_image_configs").paginate() for c in page["AppImageConfigs"]]


def kill_midway(srv, writer, requests: int, kill_after: int) -> None:
    """Run ``writer(i)`` for each request on 8 threads, SIGKILL the server once
    ``kill_after`` requests were submitted, wait for all, and start it again."""
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(writer, i) for i in range(requests)]
        for i, f in enumerate(futures):
            if i == kill_after:
                srv.kill()
            f.result()
    srv.start()


@pytest.mark.parametrize("stop", ["stop", "kill"])
def test_everything_survives_a_restart(fresh_server, stop):
    srv = fresh_server()
    before = populate(srv.client())
    getattr(srv, stop)()
    srv.start()
    assert snapshot(srv.client()) == before
    # ...and version numbering carries on where it was.
    assert srv.client().create_image_version(ImageName="img", BaseImage="repo/img:2")["ImageVersionArn"].endswith("/img/2")


def test_acknowledged_writes_survive_kill_under_load(fresh_server):
    srv = fresh_server()
    sm = srv.client()
    acknowledged: list[str] = []

    def writer(i: int) -> None:
        name = f"cfg-{i}"
        try:
            sm.create_app_image_config(AppImageConfigName=name, CodeEditorAppImageConfig={})
            acknowledged.append(name)
        except Exception:  # noqa: BLE001 - requests cut off by the kill are not acknowledged
            pass

    kill_midway(srv, writer, requests=200, kill_after=60)
    listed = set(config_names(srv.client()))
    assert len(acknowledged) >= 10
    assert set(acknowledged) <= listed


def test_concurrent_creates_of_one_name_leave_exactly_one(fresh_server):
    srv = fresh_server()
    clients = [srv.client() for _ in range(16)]

    def create(i: int):
        try:
            clients[i].create_image(ImageName="contested", RoleArn=ROLE_ARN, Description=f"writer {i}")
            return "ok"
        except ClientError as exc:
            return exc.response["Error"]["Code"]

    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(create, range(16)))
    assert outcomes.count("ok") == 1
    assert set(outcomes) == {"ok", "ResourceInUse"}
    assert [i["ImageName"] for i in clients[0].list_images()["Images"]] == ["contested"]


def test_concurrent_versions_get_distinct_numbers_and_tokens_stay_idempotent(fresh_server):
    srv = fresh_server()
    sm = srv.client(validate=False)
    sm.create_image(ImageName="img", RoleArn=ROLE_ARN)

    def create(i: int) -> str:
        # Two writers per token: each pair must land on one version.
        return sm.create_image_version(ImageName="img", BaseImage="repo/img:1", ClientToken=f"tok-{i // 2}")["ImageVersionArn"]

    with ThreadPoolExecutor(16) as pool:
        arns = list(pool.map(create, range(16)))
    for i in range(0, 16, 2):
        assert arns[i] == arns[i + 1]
    assert sorted(int(a.rsplit("/", 1)[1]) for a in set(arns)) == list(range(1, 9))


def test_a_transition_interrupted_by_a_restart_completes_after_it(fresh_server):
    srv = fresh_server(BYOI_TRANSITION_SECONDS="2")
    sm = srv.client()
    sm.create_image(ImageName="img", RoleArn=ROLE_ARN)
    assert sm.describe_image(ImageName="img")["ImageStatus"] == "CREATING"
    srv.kill()
    srv.start()
    sm = srv.client()
    sm.get_waiter("image_created").wait(ImageName="img", WaiterConfig={"Delay": 1, "MaxAttempts": 15})


def test_states_are_observable_with_a_transition_delay(fresh_server):
    srv = fresh_server(BYOI_TRANSITION_SECONDS="1")
    sm = srv.client()
    wait = {"Delay": 1, "MaxAttempts": 15}
    sm.create_image(ImageName="img", RoleArn=ROLE_ARN)
    assert sm.describe_image(ImageName="img")["ImageStatus"] == "CREATING"
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.delete_image(ImageName="img")
    sm.get_waiter("image_created").wait(ImageName="img", WaiterConfig=wait)
    sm.update_image(ImageName="img", Description="new")
    assert sm.describe_image(ImageName="img")["ImageStatus"] == "UPDATING"
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.update_image(ImageName="img", Description="again")
    sm.get_waiter("image_updated").wait(ImageName="img", WaiterConfig=wait)
    sm.create_image_version(ImageName="img", BaseImage="repo/img:1")
    assert sm.describe_image_version(ImageName="img", Version=1)["ImageVersionStatus"] == "CREATING"
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.delete_image_version(ImageName="img", Version=1)
    sm.get_waiter("image_version_created").wait(ImageName="img", Version=1, WaiterConfig=wait)
    sm.delete_image_version(ImageName="img", Version=1)
    assert sm.describe_image_version(ImageName="img", Version=1)["ImageVersionStatus"] == "DELETING"
    sm.get_waiter("image_version_deleted").wait(ImageName="img", Version=1, WaiterConfig=wait)
    sm.delete_image(ImageName="img")
    assert sm.describe_image(ImageName="img")["ImageStatus"] == "DELETING"
    sm.delete_image(ImageName="img")  # deleting again while DELETING is harmless
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.create_image_version(ImageName="img", BaseImage="repo/img:2")
    sm.get_waiter("image_deleted").wait(ImageName="img", WaiterConfig=wait)


def test_sixteen_clients_racing_to_create_and_delete_the_same_names(fresh_server):
    """Each name is created and deleted by 16 clients at once, 25 times each. Every
    success moves a name from absent to present or back, so per name the
    acknowledged creates minus the acknowledged deletes must be exactly whether it
    exists at the end: a lost or duplicated write would break the count."""
    srv = fresh_server()
    names = [f"contested-{i}" for i in range(4)]
    clients = [srv.client() for _ in range(16)]
    done: Counter = Counter()
    errors: Counter = Counter()

    def client_work(i: int) -> None:
        rng = random.Random(i)
        sm = clients[i]
        for _ in range(25):
            name = rng.choice(names)
            action = rng.choice(["create", "delete"])
            try:
                if action == "create":
                    sm.create_app_image_config(AppImageConfigName=name, CodeEditorAppImageConfig={})
                else:
                    sm.delete_app_image_config(AppImageConfigName=name)
                done[(name, action)] += 1
            except ClientError as exc:
                errors[exc.response["Error"]["Code"]] += 1

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(client_work, range(16)))
    sm = clients[0]
    listed = config_names(sm)
    assert len(listed) == len(set(listed))
    for name in names:
        present = name in listed
        assert done[(name, "create")] - done[(name, "delete")] == int(present), (name, done)
        if present:
            assert sm.describe_app_image_config(AppImageConfigName=name)["AppImageConfigName"] == name
    assert set(errors) <= {"ResourceInUse", "ResourceNotFound"}, errors
    assert sum(done.values()) + sum(errors.values()) == 16 * 25
    print(f"\nrace: {sum(done.values())} acknowledged writes, errors {dict(errors)}, final {sorted(listed)}")


def test_kill_under_mixed_write_load_keeps_every_acknowledged_write(fresh_server):
    """Creates, tag writes and deletes from 8 clients; the server is killed (SIGKILL)
    mid-stream and restarted. Acknowledged creates are there with their tags,
    acknowledged deletes stay deleted, and the store passes its integrity check."""
    srv = fresh_server()
    sm = srv.client()
    for i in range(40):
        sm.create_app_image_config(AppImageConfigName=f"old-{i}", CodeEditorAppImageConfig={})
    created, tagged, deleted = set(), {}, set()

    def writer(i: int) -> None:
        try:
            if i % 3 == 0 and i // 3 < 40:
                sm.delete_app_image_config(AppImageConfigName=f"old-{i // 3}")
                deleted.add(f"old-{i // 3}")
            else:
                arn = sm.create_app_image_config(
                    AppImageConfigName=f"new-{i}", CodeEditorAppImageConfig={}, Tags=[{"Key": "writer", "Value": str(i)}]
                )["AppImageConfigArn"]
                created.add(f"new-{i}")
                sm.add_tags(ResourceArn=arn, Tags=[{"Key": "second", "Value": str(i)}])
                tagged[f"new-{i}"] = arn
        except Exception:  # noqa: BLE001 - requests cut off by the kill are not acknowledged
            pass

    kill_midway(srv, writer, requests=240, kill_after=100)
    sm = srv.client()
    listed = set(config_names(sm))
    assert len(created) >= 10 and len(deleted) >= 5
    assert created <= listed
    assert not deleted & listed
    for name, arn in tagged.items():
        assert {t["Key"] for t in sm.list_tags(ResourceArn=arn)["Tags"]} == {"writer", "second"}, name
    for name in listed:
        assert sm.describe_app_image_config(AppImageConfigName=name)["AppImageConfigName"] == name
    if not POSTGRES_URL:
        with sqlite3.connect(srv.data_dir / "byoi.db") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    print(f"\nkill -9: {len(created)} creates, {len(tagged)} tag writes and {len(deleted)} deletes acknowledged; all found after restart")
