/** A GUID as Entra ID writes object ids, client ids and tenant ids: 8-4-4-4-12 hexadecimal digits, any case. */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: string): boolean {
  return GUID.test(value);
}
