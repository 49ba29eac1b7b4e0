"""SageMaker operation handlers: translate validated API parameters to service calls and back.

Each module offers ``handlers(services)``, a table of operation name -> handler,
and ``STORE_ONLY``, its write operations that touch nothing but the store (see
``JsonService.store_only``); ``sagemaker_service`` joins them into the
``JsonService`` the protocol serves.
Any SageMaker operation missing from the tables answers ``NotImplemented`` (501).
"""

from __future__ import annotations

from byoi.aws.protocol import JsonService
from byoi.sagemaker import app_image_configs, apps, images, studio, studio_lifecycle_configs, tags
from byoi.services.wiring import Services


def sagemaker_service(services: Services) -> JsonService:
    table = {}
    store_only: set[str] = set()
    for module in (images, app_image_configs, tags, studio, apps, studio_lifecycle_configs):
        table.update(module.handlers(services))
        store_only |= module.STORE_ONLY
    return JsonService(target_prefix="SageMaker", model_name="sagemaker", handlers=table, store_only=frozenset(store_only))
