// What the form renderer reads from a JSON Schema (draft 7), and how what was typed
// becomes the submitted data. Only the top level of an object schema becomes fields:
// a string is a text field (a select with `enum`), a number or integer a number field,
// a boolean a checkbox; anything else (arrays, nested objects, a schema without
// `properties`) is typed as JSON. The server validates the data against the whole
// schema and says what is wrong (its errors are shown beside the fields here), so
// nothing here checks ranges, patterns or formats.

export type FieldKind = 'text' | 'select' | 'number' | 'integer' | 'boolean' | 'json';

export interface Field {
  // The property's name; `''` for a schema typed as one JSON document.
  key: string;
  kind: FieldKind;
  label: string;
  description?: string;
  required: boolean;
  // A select's choices (the schema's `enum`, any JSON values).
  options: unknown[];
  // What the field shows first: the schema's `default`, as the field holds it.
  initial: FieldValue;
}

// A text, number, select (the chosen option's index) or JSON field holds its text; a
// checkbox its state.
export type FieldValue = string | boolean;

interface PropertySchema {
  type?: string | string[];
  title?: string;
  description?: string;
  enum?: unknown[];
  default?: unknown;
}

interface ObjectSchema {
  type?: string | string[];
  properties?: Record<string, PropertySchema | boolean>;
  required?: string[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// A property's one type; a list with "null" beside one type is that type (optional).
function typeOf(schema: PropertySchema): string | undefined {
  if (!Array.isArray(schema.type)) {
    return schema.type;
  }
  const types = schema.type.filter((t) => t !== 'null');
  return types.length === 1 ? types[0] : undefined;
}

function kindOf(schema: PropertySchema): FieldKind {
  if (Array.isArray(schema.enum) && schema.enum.length > 0) {
    return 'select';
  }
  switch (typeOf(schema)) {
    case 'string':
      return 'text';
    case 'number':
      return 'number';
    case 'integer':
      return 'integer';
    case 'boolean':
      return 'boolean';
    default:
      return 'json';
  }
}

function initialValue(kind: FieldKind, schema: PropertySchema): FieldValue {
  const d = schema.default;
  if (kind === 'boolean') {
    return d === true;
  }
  if (d === undefined) {
    return '';
  }
  if (kind === 'select') {
    const index = (schema.enum ?? []).findIndex((o) => JSON.stringify(o) === JSON.stringify(d));
    return index < 0 ? '' : String(index);
  }
  if (kind === 'json') {
    return JSON.stringify(d, null, 2);
  }
  return typeof d === 'string' ? d : JSON.stringify(d);
}

// The fields of a schema: the required properties in the order of `required`, then the
// others in the order of `properties`. (The server's JSON keeps no key order, so an
// array is the only order a schema's author can count on.)
export function fieldsOf(schema: unknown): Field[] {
  const object = (isObject(schema) ? schema : {}) as ObjectSchema;
  if (!isObject(object.properties)) {
    return [{ key: '', kind: 'json', label: 'Data (JSON)', required: true, options: [], initial: '{}' }];
  }
  const properties = object.properties;
  const required = new Set(Array.isArray(object.required) ? object.required.filter((k) => Object.prototype.hasOwnProperty.call(properties, k)) : []);
  const keys = [...required, ...Object.keys(properties).filter((k) => !required.has(k))];
  return keys.map((key) => {
    const raw = properties[key];
    const schema = isObject(raw) ? (raw as PropertySchema) : {};
    const kind = kindOf(schema);
    return {
      key,
      kind,
      label: typeof schema.title === 'string' && schema.title ? schema.title : key,
      description: typeof schema.description === 'string' ? schema.description : undefined,
      required: required.has(key),
      options: kind === 'select' ? (schema.enum ?? []) : [],
      initial: initialValue(kind, schema),
    };
  });
}

// A select's option as it reads.
export function optionLabel(option: unknown): string {
  return typeof option === 'string' ? option : JSON.stringify(option);
}

// A field's value as data (`value` undefined: the property is left out), or why its text
// cannot be read.
type Converted = { ok: true; value?: unknown } | { ok: false; message: string };

// One field's value: nothing for an empty optional text, number or select (the
// property is left out); a number typed as it was when it does not read as one (the
// server then says why it is wrong).
function convert(field: Field, value: FieldValue): Converted {
  if (typeof value === 'boolean') {
    return { ok: true, value };
  }
  if (value === '' && field.kind !== 'text') {
    return { ok: true };
  }
  switch (field.kind) {
    case 'text':
      return value === '' && !field.required ? { ok: true } : { ok: true, value };
    case 'number':
    case 'integer':
      return { ok: true, value: Number.isFinite(Number(value)) ? Number(value) : value };
    case 'select':
      return { ok: true, value: field.options[Number(value)] };
    default:
      try {
        return { ok: true, value: JSON.parse(value) as unknown };
      } catch {
        return { ok: false, message: 'Not valid JSON' };
      }
  }
}

// The data to submit, or the fields whose text cannot be read (keyed like `errors`).
export function collect(
  fields: Field[],
  values: Record<string, FieldValue>,
): { data: Record<string, unknown> } | { problems: Record<string, string> } {
  const data: Record<string, unknown> = {};
  const problems: Record<string, string> = {};
  let whole: unknown = undefined;
  for (const field of fields) {
    const converted = convert(field, values[field.key] ?? field.initial);
    if (!converted.ok) {
      problems[field.key] = converted.message;
    } else if (converted.value !== undefined) {
      if (field.key === '') {
        whole = converted.value;
      } else {
        data[field.key] = converted.value;
      }
    }
  }
  if (Object.keys(problems).length > 0) {
    return { problems };
  }
  if (whole !== undefined) {
    return isObject(whole) ? { data: whole } : { problems: { '': 'The data must be a JSON object' } };
  }
  return { data };
}

// The field a JSON Pointer points into ("/age" and "/address/street" → "age", "address"),
// or null when it is the whole document or a property no field holds. A schema typed
// as one JSON document has one field for every path.
export function fieldOfPath(path: string, fields: Field[]): string | null {
  if (fields.length === 1 && fields[0].key === '') {
    return '';
  }
  if (!path.startsWith('/')) {
    return null;
  }
  const first = path.slice(1).split('/')[0].replace(/~1/g, '/').replace(/~0/g, '~');
  return fields.some((f) => f.key === first) ? first : null;
}
