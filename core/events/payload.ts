// A queue message's bytes as an event carries them: text as `data`, anything not UTF-8 as
// `data_base64` (the CloudEvents structured form's two fields).

const decoder = new TextDecoder('utf-8', { fatal: true });

export function payload(bytes: Uint8Array): { data: string } | { data_base64: string } {
  try {
    return { data: decoder.decode(bytes) };
  } catch {
    return { data_base64: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
  }
}
