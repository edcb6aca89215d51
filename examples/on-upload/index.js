// An object-storage trigger: point a bucket's notifications at POST /v1/events/on-upload (README,
// "Object storage events"). Each upload or delete runs this once, with the S3 event AWS Lambda
// gives an S3-triggered function: {Records: [record]}, the key decoded, the event name prefixed.
exports.handler = async (event) => {
  const r = event.Records[0];
  const { name: bucket } = r.s3.bucket;
  const { key, size } = r.s3.object;
  console.log(`${r.eventName} ${bucket}/${key}${size === undefined ? '' : ` (${size} bytes)`}`);
  return { bucket, key, size: size ?? null, event: r.eventName };
};
