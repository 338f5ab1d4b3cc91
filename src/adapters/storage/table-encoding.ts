/**
 * How Registrar's documents are written as Azure Table entities: keys made safe for the service, the SDK and
 * Azurite, and JSON values cut into string properties of the size the service allows.
 */
import type { TableEntity } from '@azure/data-tables';

type Properties = Record<string, unknown>;

/*
 * Keys. Azure forbids / \ # ? and control characters in keys, the SDK puts keys in the URL path (where '%',
 * '+' and quotes are easily mangled) and Azurite sends them back in continuation headers, which must be
 * ASCII. Teams ids hold ':' ';' '@' '=' and more. So everything but a small safe ASCII set becomes ~XXXX
 * (the UTF-16 code unit in hex): reversible, and the usual ids stay readable in Storage Explorer.
 */
const unsafeInKey = /[^A-Za-z0-9\-_.:@]/g;

export function encodeKey(key: string): string {
  return key.replace(unsafeInKey, (c) => `~${hex4(c)}`);
}

export function decodeKey(key: string): string {
  return key.replace(/~([0-9A-F]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/*
 * Values. A string property holds at most 32K UTF-16 characters but an entity 1 MiB, so the JSON is cut
 * into data0, data1, ... and joined again on read. It is written in ASCII (\uXXXX escapes, still valid
 * JSON): Azurite corrupts a multi-byte UTF-8 character that straddles two chunks of a request body
 * (Azure/Azurite#2670), which happens exactly to the large documents cut here; and ASCII can be cut anywhere.
 */
const chunkLength = 32 * 1024;

export function toEntity(partition: string, row: string, value: unknown): TableEntity<Record<string, string>> {
  const entity: TableEntity<Record<string, string>> = { partitionKey: encodeKey(partition), rowKey: encodeKey(row) };
  const json = JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${hex4(c)}`);
  for (let index = 0; index * chunkLength < json.length; index += 1) {
    entity[`data${index}`] = json.slice(index * chunkLength, (index + 1) * chunkLength);
  }
  return entity;
}

export function readValue<T>(entity: Properties): T {
  let json = '';
  for (let index = 0; typeof entity[`data${index}`] === 'string'; index += 1) json += entity[`data${index}`] as string;
  return JSON.parse(json) as T;
}

function hex4(c: string): string {
  return c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
}
