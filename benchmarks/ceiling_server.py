"""The ceiling: the least a Starlette/uvicorn server can do to answer boto3.

It answers every ``POST /`` with a fixed, valid JSON body for the target
operation and does nothing else (no validation, no storage), on the same
uvicorn settings as ``byoi serve``. Whatever byoi costs beyond this is byoi's
own work.

    python benchmarks/ceiling_server.py PORT
"""

from __future__ import annotations

import json
import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ARN = "arn:aws:sagemaker:us-east-1:123456789012"
CANNED = {
    "CreateDomain": {"DomainArn": f"{ARN}:domain/d-ceiling", "DomainId": "d-ceiling", "Url": "http://127.0.0.1/"},
    "DescribeDomain": {"DomainId": "d-ceiling", "DomainArn": f"{ARN}:domain/d-ceiling", "DomainName": "bench", "Status": "InService",
                       "AuthMode": "IAM", "CreationTime": 1.7e9, "LastModifiedTime": 1.7e9},
    "ListDomains": {"Domains": [{"DomainId": "d-ceiling", "DomainArn": f"{ARN}:domain/d-ceiling", "DomainName": "bench",
                                 "Status": "InService", "CreationTime": 1.7e9, "LastModifiedTime": 1.7e9}]},
    "AddTags": {"Tags": [{"Key": "k", "Value": "v"}]},
    "ListTags": {"Tags": [{"Key": "k", "Value": "v"}]},
    "CreateAppImageConfig": {"AppImageConfigArn": f"{ARN}:app-image-config/c"},
    "DescribeAppImageConfig": {"AppImageConfigArn": f"{ARN}:app-image-config/c", "AppImageConfigName": "c",
                               "CreationTime": 1.7e9, "LastModifiedTime": 1.7e9, "CodeEditorAppImageConfig": {}},
    "ListAppImageConfigs": {"AppImageConfigs": []},
}
BODIES = {op: json.dumps(body).encode() for op, body in CANNED.items()}


async def answer(request: Request) -> Response:
    await request.body()
    operation = request.headers.get("x-amz-target", "").rpartition(".")[2]
    return Response(BODIES.get(operation, b"{}"), media_type="application/x-amz-json-1.1")


app = Starlette(routes=[Route("/", answer, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
