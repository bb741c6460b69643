/**
 * Checks a value against a JSON Schema of the small subset our documented shapes use (type,
 * enum, required, properties, additionalProperties false, items): the problems, by JSON path.
 */
interface Schema {
  type?: string | string[];
  enum?: unknown[];
  required?: string[];
  properties?: Record<string, Schema>;
  additionalProperties?: boolean;
  items?: Schema;
}

const typeOf = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v);

export function shapeProblems(value: unknown, schema: Schema, at = "$"): string[] {
  const out: string[] = [];
  if (schema.enum && !schema.enum.some((e) => e === value))
    out.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (schema.type) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    const t = typeOf(value);
    if (!types.includes(t) && !(t === "integer" && types.includes("number"))) out.push(`${at}: ${t}, expected ${types.join(" or ")}`);
  }
  if (typeOf(value) === "object") {
    const obj = value as Record<string, unknown>;
    for (const k of schema.required ?? []) if (!(k in obj)) out.push(`${at}: missing ${k}`);
    for (const [k, v] of Object.entries(obj)) {
      const sub = schema.properties?.[k];
      if (sub) out.push(...shapeProblems(v, sub, `${at}.${k}`));
      else if (schema.additionalProperties === false) out.push(`${at}: unexpected ${k}`);
    }
  }
  if (Array.isArray(value) && schema.items) {
    for (const [i, v] of value.entries()) out.push(...shapeProblems(v, schema.items, `${at}[${i}]`));
  }
  return out;
}
