# The seed's example: a user uploads a picture to object storage, and this function makes phone,
# tablet and desktop sizes of it. Bind it to the bucket's upload events (README, "Object storage
# events": a radosgw topic or a MinIO webhook pointing at POST /v1/events/thumbnails). Each upload
# runs it once with {Records: [record]}; it reads the image, writes three copies no wider than
# 320, 768 and 1280 pixels under thumbnails/<size>/<key>, and ignores its own outputs (their
# uploads notify it too). Pillow and boto3 come with Hearth's python3 runtime image.
#
# Settings (the function's env): S3_ENDPOINT (the store's URL; unset: AWS), AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY, AWS_REGION, THUMBNAIL_PREFIX (default "thumbnails/"). A store on the
# Hearth machine is reached at host.hearth.internal with --container-host-ports, and the function
# needs an egress rule (egress.allow) for a route out.

import io
import os

import boto3
from PIL import Image

SIZES = {"phone": 320, "tablet": 768, "desktop": 1280}
PREFIX = os.environ.get("THUMBNAIL_PREFIX", "thumbnails/")

_client = None


def s3():
    """One client per container, made on the first call (boto3's import and set-up take ~0.5 s)."""
    global _client
    if _client is None:
        _client = boto3.client(
            "s3",
            endpoint_url=os.environ.get("S3_ENDPOINT") or None,
            region_name=os.environ.get("AWS_REGION", "us-east-1"),
        )
    return _client


def handler(event, context):
    made = []
    for record in event.get("Records", []):
        if not record.get("eventName", "").startswith("s3:ObjectCreated:"):
            continue
        bucket = record["s3"]["bucket"]["name"]
        key = record["s3"]["object"]["key"]
        if key.startswith(PREFIX):
            print(f"skipping {key}: one of this function's own outputs")
            continue
        body = s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        with Image.open(io.BytesIO(body)) as original:
            image = original.convert("RGB")
        for name, width in SIZES.items():
            copy = image.copy()
            copy.thumbnail((width, width * 100))  # no wider than `width`, aspect kept, never enlarged
            out = io.BytesIO()
            copy.save(out, "JPEG", quality=85)
            dest = f"{PREFIX}{name}/{key}"
            s3().put_object(Bucket=bucket, Key=dest, Body=out.getvalue(), ContentType="image/jpeg")
            made.append({"key": dest, "width": copy.width, "height": copy.height})
            print(f"wrote {bucket}/{dest} ({copy.width}x{copy.height})")
    return {"made": made}
