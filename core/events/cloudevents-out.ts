// CloudEvents out: an async event's outcome POSTed to a URL destination in the CloudEvents HTTP
// binding's binary mode (spec `onSuccess`/`onFailure: {url, format: "cloudevents"}`), so a Knative
// Eventing broker or any CloudEvents sink can take what a function returned. Made with the
// `cloudevents` SDK (its CloudEvent checks the attributes against the spec, HTTP.binary writes the
// headers), from the destination record the queue stored for the delivery (core/async/invoker.ts
// destinationRecord: Lambda's shape), when the delivery is attempted.
//
//   ce-id        the delivery's id: the same on every retry of it (a sink can deduplicate)
//   ce-source    /functions/{name}
//   ce-type      dev.hearth.function.succeeded | dev.hearth.function.failed
//   ce-subject   the request id of the event that ran
//   ce-time      when it ended
//   ce-hearthcondition, ce-hearthversion   the outcome's condition (Success, RetriesExhausted, …)
//                and the version that ran; ce-hearthtruncated when the result was too large to keep
//   body         the function's result (success) or {errorType, errorMessage, stackTrace}, as JSON

import { CloudEvent, HTTP } from 'cloudevents';

export const SUCCEEDED_TYPE = 'dev.hearth.function.succeeded';
export const FAILED_TYPE = 'dev.hearth.function.failed';

interface DestinationRecord {
  timestamp?: string;
  requestContext?: { requestId?: string; condition?: string };
  responseContext?: { executedVersion?: string };
  responsePayload?: unknown;
  responsePayloadTruncated?: boolean;
}

/** The binary-mode request for a delivery: headers as name, value pairs, and the body. */
export function binaryCloudEvent(deliveryId: string, functionName: string, destinationRecordJson: Uint8Array): { headers: string[]; body: Uint8Array } {
  const record = JSON.parse(new TextDecoder().decode(destinationRecordJson)) as DestinationRecord;
  const condition = record.requestContext?.condition ?? 'Success';
  const event = new CloudEvent({
    specversion: '1.0',
    id: deliveryId,
    source: `/functions/${functionName}`,
    type: condition === 'Success' ? SUCCEEDED_TYPE : FAILED_TYPE,
    ...(record.requestContext?.requestId ? { subject: record.requestContext.requestId } : {}),
    time: record.timestamp ?? new Date().toISOString(),
    datacontenttype: 'application/json',
    hearthcondition: condition,
    hearthversion: record.responseContext?.executedVersion ?? '$LATEST',
    ...(record.responsePayloadTruncated ? { hearthtruncated: true } : {}),
    data: record.responsePayload ?? null,
  }, true);
  const message = HTTP.binary(event);
  const headers: string[] = [];
  for (const [name, value] of Object.entries(message.headers)) {
    if (value !== undefined) headers.push(name.toLowerCase(), String(value));
  }
  // JSON data is written as JSON, null included (the SDK leaves a null body undefined).
  const body = typeof message.body === 'string' ? message.body : JSON.stringify(record.responsePayload ?? null);
  return { headers, body: new TextEncoder().encode(body) };
}
