/**
 * safetensors over HTTP, for pages (and Node's fetch): the response's bytes go through the same
 * decoder as files, so a truncated or foreign download is a FileFormatError naming the URL.
 */
import type { Backend } from "../backend/backend.js";
import { FileFormatError } from "../errors/errors.js";
import { decodeSafetensors, type SafetensorsContents } from "./safetensors.js";

/** Fetches and decodes a .safetensors file; a failed request names the URL and its status. */
export async function fetchSafetensors(url: string | URL, options: { backend?: Backend; init?: RequestInit } = {}): Promise<SafetensorsContents> {
  const source = String(url);
  let response: Response;
  try {
    response = await fetch(url, options.init);
  } catch (e) {
    throw new FileFormatError(`${source}: the request failed: ${(e as Error).message}`);
  }
  if (!response.ok) throw new FileFormatError(`${source}: the server answered ${response.status} ${response.statusText}`.trimEnd());
  const bytes = new Uint8Array(await response.arrayBuffer());
  return decodeSafetensors(bytes, options.backend ? { source, backend: options.backend } : { source });
}
