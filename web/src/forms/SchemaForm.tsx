// A form rendered from a JSON Schema (the fields schema.ts reads from it). It shows each
// error the server gave beside its field (by the error's JSON Pointer) and the others
// above the fields; a field whose text cannot be read (JSON that does not parse) stops
// the submission with its error. The browser's own validation is off: the server's
// schema check is the one that counts, and its messages are the ones shown.
import { useMemo, useState } from 'preact/hooks';
import type { FieldError } from '../api';
import { collect, fieldOfPath, fieldsOf, optionLabel, type Field, type FieldValue } from './schema';

export function SchemaForm(props: {
  // `id` makes the fields' ids unique on the page.
  id: string;
  schema: unknown;
  errors: FieldError[];
  busy: boolean;
  // Shows the fields without a Submit button (a role that may not submit).
  readOnly: boolean;
  onSubmit: (data: Record<string, unknown>) => void;
}) {
  const fields = useMemo(() => fieldsOf(props.schema), [props.schema]);
  const [values, setValues] = useState<Record<string, FieldValue>>({});
  const [problems, setProblems] = useState<Record<string, string>>({});

  // Errors by field key; those no field holds are shown above the fields.
  const byField: Record<string, string[]> = {};
  const general: string[] = [];
  for (const e of props.errors) {
    const key = fieldOfPath(e.path, fields);
    if (key === null) {
      general.push(e.path ? `${e.path}: ${e.message}` : e.message);
    } else {
      (byField[key] ??= []).push(e.message);
    }
  }
  for (const [key, message] of Object.entries(problems)) {
    (byField[key] ??= []).push(message);
  }

  const submit = (e: Event) => {
    e.preventDefault();
    const result = collect(fields, values);
    if ('problems' in result) {
      setProblems(result.problems);
      return;
    }
    setProblems({});
    props.onSubmit(result.data);
  };

  return (
    <form class="schema-form" noValidate onSubmit={submit}>
      {general.length > 0 && (
        <ul class="banner banner--error schema-form__errors" role="alert">
          {general.map((m, i) => (
            <li key={i}>{m}</li>
          ))}
        </ul>
      )}
      {fields.map((f) => (
        <FieldInput
          key={f.key}
          id={`${props.id}-${f.key || 'data'}`}
          field={f}
          value={values[f.key] ?? f.initial}
          errors={byField[f.key] ?? []}
          disabled={props.readOnly || props.busy}
          onChange={(v) => setValues((old) => ({ ...old, [f.key]: v }))}
        />
      ))}
      {!props.readOnly && (
        <button type="submit" class="button button--primary" disabled={props.busy}>
          {props.busy ? 'Submitting…' : 'Submit'}
        </button>
      )}
    </form>
  );
}

// One field with its label (a `*` when required), description and errors.
function FieldInput(props: {
  id: string;
  field: Field;
  value: FieldValue;
  errors: string[];
  disabled: boolean;
  onChange: (value: FieldValue) => void;
}) {
  const { id, field, value, errors } = props;
  const describedBy = [field.description && `${id}-hint`, errors.length > 0 && `${id}-error`].filter(Boolean).join(' ');
  const common = {
    id,
    name: field.key,
    disabled: props.disabled,
    'aria-invalid': errors.length > 0 ? ('true' as const) : undefined,
    'aria-describedby': describedBy || undefined,
    'aria-required': field.required ? ('true' as const) : undefined,
  };
  const text = (e: Event) => props.onChange((e.target as HTMLInputElement).value);
  const label = (
    <>
      {field.label}
      {field.kind === 'json' && field.key !== '' && <span class="muted"> (JSON)</span>}
      {field.required && (
        <span class="required" aria-hidden="true" title="Required">
          {' *'}
        </span>
      )}
    </>
  );
  return (
    <div class={`field schema-form__field${field.kind === 'boolean' ? ' field--check' : ''}`} data-field={field.key}>
      {field.kind === 'boolean' ? (
        <label>
          <input
            {...common}
            type="checkbox"
            checked={value === true}
            onChange={(e) => props.onChange((e.target as HTMLInputElement).checked)}
          />
          {label}
        </label>
      ) : (
        <label for={id}>{label}</label>
      )}
      {field.kind === 'text' && <input {...common} type="text" value={String(value)} onInput={text} />}
      {(field.kind === 'number' || field.kind === 'integer') && (
        <input {...common} type="number" step={field.kind === 'integer' ? 1 : 'any'} value={String(value)} onInput={text} />
      )}
      {field.kind === 'select' && (
        <select {...common} value={String(value)} onChange={text}>
          <option value="">{field.required ? 'Choose…' : '—'}</option>
          {field.options.map((o, i) => (
            <option key={i} value={String(i)}>
              {optionLabel(o)}
            </option>
          ))}
        </select>
      )}
      {field.kind === 'json' && (
        <textarea {...common} class="mono" rows={4} value={String(value)} onInput={text} spellcheck={false} />
      )}
      {field.description && (
        <p class="hint muted" id={`${id}-hint`}>
          {field.description}
        </p>
      )}
      {errors.length > 0 && (
        <p class="field-error" id={`${id}-error`}>
          {errors.join('; ')}
        </p>
      )}
    </div>
  );
}
