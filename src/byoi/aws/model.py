"""Access to the botocore service models that drive the wire layer.

The models come from the installed (pinned) botocore package, so every
constraint byoi enforces is the one the SDKs were generated from.
"""

from __future__ import annotations

from functools import lru_cache

import botocore.session
from botocore.model import OperationModel, ServiceModel


@lru_cache(maxsize=None)
def service_model(service_name: str) -> ServiceModel:
    """The botocore ``ServiceModel`` for ``service_name`` (e.g. ``"sagemaker"``)."""
    return botocore.session.get_session().get_service_model(service_name)


def operation_model(service_name: str, operation: str) -> OperationModel | None:
    """The operation's model, or None when the service has no such operation."""
    model = service_model(service_name)
    if operation not in model.operation_names:
        return None
    return model.operation_model(operation)
