// An admin's schedule form, in a modal dialog: "New schedule" (NewScheduleDialog) and
// "Edit schedule" (EditScheduleDialog). The workflow (from the workflows list; shown, not
// chosen, in an edit), the cron expression, the time zone, the input as JSON, the overlap
// and catch-up policies and the most missed ticks to catch up. The server's check is the
// only one: an input that is not JSON and a maximum that is not an integer are sent as
// typed, and an error's message shows beside the field it names (`cron`, `timezone`, …;
// else above the fields, as a 409 of an edit whose schedule changed meanwhile).
import { useEffect, useState } from 'preact/hooks';
import { api, asApiError, type Schedule, type ScheduleCreate, type ScheduleUpdate } from '../../api';
import { Dialog } from '../../components/Dialog';
import { showToast } from '../../components/Toasts';
import { useResource } from '../../resource';
import { knownTimeZones } from '../../schedules';

const OVERLAPS = [
  ['skip', 'Skip'],
  ['allow', 'Allow'],
  ['cancel_previous', 'Cancel previous'],
];
const CATCH_UPS = [
  ['latest', 'Latest'],
  ['none', 'None'],
  ['all', 'All'],
];

const INTEGER = /^\d+$/;

interface Values {
  workflow_id: string;
  cron: string;
  timezone: string;
  input: string;
  overlap: string;
  catch_up: string;
  max_catch_up: string;
}

const FIELDS: (keyof Values)[] = ['workflow_id', 'cron', 'timezone', 'input', 'overlap', 'catch_up', 'max_catch_up'];

const fieldId = (field: keyof Values) => `schedule-${field.replace(/_/g, '-')}`;

// What the form sends: the input parsed as JSON when it parses (else the text, which the
// server refuses as not an object), the maximum as a number when it is an integer.
function body(v: Values): ScheduleCreate & ScheduleUpdate {
  let input: unknown = {};
  if (v.input.trim() !== '') {
    try {
      input = JSON.parse(v.input) as unknown;
    } catch {
      input = v.input;
    }
  }
  const max = v.max_catch_up.trim();
  return {
    workflow_id: v.workflow_id,
    cron: v.cron.trim(),
    timezone: v.timezone.trim(),
    input,
    overlap: v.overlap,
    catch_up: v.catch_up,
    ...(max === '' ? {} : { max_catch_up: INTEGER.test(max) ? Number(max) : max }),
  };
}

export function NewScheduleDialog(props: { workflowId: string; onClose: () => void; onCreated: (schedule: Schedule) => void }) {
  return (
    <ScheduleFormDialog
      title="New schedule"
      initial={{
        workflow_id: props.workflowId,
        cron: '',
        timezone: 'UTC',
        input: '{}',
        overlap: 'skip',
        catch_up: 'latest',
        max_catch_up: '100',
      }}
      submitLabel="Create schedule"
      busyLabel="Creating…"
      succeeded="Schedule created"
      failed="Failed to create schedule"
      submit={(b) => api.createSchedule(b)}
      onClose={props.onClose}
      onDone={props.onCreated}
    />
  );
}

// The schedule's values in the form: its input as indented JSON.
function scheduleValues(s: Schedule): Values {
  return {
    workflow_id: s.workflow_id,
    cron: s.cron,
    timezone: s.timezone,
    input: JSON.stringify(s.input ?? {}, null, 2),
    overlap: s.overlap,
    catch_up: s.catch_up,
    max_catch_up: String(s.max_catch_up),
  };
}

// Sends PUT /api/v1/schedules/{id} with If-Match of the version the form was opened on:
// a schedule that changed meanwhile is not overwritten (the 409's message shows).
export function EditScheduleDialog(props: { schedule: Schedule; onClose: () => void; onSaved: (schedule: Schedule) => void }) {
  const { schedule } = props;
  return (
    <ScheduleFormDialog
      title="Edit schedule"
      initial={scheduleValues(schedule)}
      fixedWorkflow
      submitLabel="Save changes"
      busyLabel="Saving…"
      succeeded="Schedule saved"
      failed="Failed to save schedule"
      submit={(b) =>
        api.updateSchedule(
          schedule.id,
          {
            cron: b.cron,
            timezone: b.timezone,
            input: b.input,
            overlap: b.overlap,
            catch_up: b.catch_up,
            ...(b.max_catch_up === undefined ? {} : { max_catch_up: b.max_catch_up }),
          },
          schedule.version,
        )
      }
      onClose={props.onClose}
      onDone={props.onSaved}
    />
  );
}

function ScheduleFormDialog(props: {
  title: string;
  initial: Values;
  // An edit's: the workflow is shown, not chosen (nor sent).
  fixedWorkflow?: boolean;
  submitLabel: string;
  busyLabel: string;
  // The toasts' titles.
  succeeded: string;
  failed: string;
  submit: (body: ScheduleCreate & ScheduleUpdate) => Promise<Schedule>;
  onClose: () => void;
  onDone: (schedule: Schedule) => void;
}) {
  const fixedWorkflow = props.fixedWorkflow ?? false;
  const workflows = useResource(
    () => (fixedWorkflow ? Promise.resolve(null) : api.listWorkflows()),
    [fixedWorkflow],
  ).data?.items;
  const [values, setValues] = useState<Values>(props.initial);
  const [busy, setBusy] = useState(false);
  // The server's refusal: the field it names (null: the form as a whole) and why.
  const [error, setError] = useState<{ field: keyof Values | null; message: string } | null>(null);

  const set = (field: keyof Values) => (e: Event) =>
    setValues((v) => ({ ...v, [field]: (e.target as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement).value }));

  const send = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const done = await props.submit(body(values));
      showToast('success', props.succeeded);
      props.onDone(done);
    } catch (err) {
      const apiError = asApiError(err);
      const field = FIELDS.find((f) => f === apiError.field) ?? null;
      setError({ field, message: apiError.message });
      showToast('error', props.failed, apiError.message);
      setBusy(false);
    }
  };

  // The field the server named takes the focus once it is enabled again.
  useEffect(() => {
    if (error?.field && !busy) {
      document.getElementById(fieldId(error.field))?.focus();
    }
  }, [error, busy]);

  // An input's error and hint, and the attributes that tie them to it.
  const describe = (field: keyof Values, hint?: string) => {
    const id = fieldId(field);
    const own = error?.field === field ? error.message : null;
    const describedBy = [hint && `${id}-hint`, own && `${id}-error`].filter(Boolean).join(' ');
    return {
      attrs: { id, disabled: busy, 'aria-invalid': own ? ('true' as const) : undefined, 'aria-describedby': describedBy || undefined },
      after: (
        <>
          {hint && (
            <p class="hint muted" id={`${id}-hint`}>
              {hint}
            </p>
          )}
          {own && (
            <p class="field-error" id={`${id}-error`}>
              {own}
            </p>
          )}
        </>
      ),
    };
  };
  const workflow = describe('workflow_id');
  const cron = describe('cron', 'Five fields: minute hour day-of-month month day-of-week (30 2 * * MON-FRI), or @hourly, @daily, @weekly, @monthly.');
  const timezone = describe('timezone', 'An IANA zone (Europe/Berlin); fire times are its wall-clock times.');
  const input = describe('input', 'A JSON object, the input of every run it starts.');
  const overlap = describe('overlap', 'While its previous run is not finished, a tick starts nothing (Skip), a run beside it (Allow), or a run and cancels it (Cancel previous).');
  const catchUp = describe('catch_up', 'Of the ticks missed while the server was down: the latest fires once (Latest), none (None), or each (All).');
  const max = describe('max_catch_up', 'With catch-up All: at most this many (1 to 1000).');

  return (
    <Dialog title={props.title} onClose={props.onClose} class="dialog--wide">
      <form class="schedule-form" noValidate onSubmit={(e) => void send(e)}>
        {error && error.field === null && (
          <p class="banner banner--error" role="alert">
            {error.message}
          </p>
        )}
        {fixedWorkflow ? (
          <p class="schedule-form__workflow">
            Workflow <span class="mono">{values.workflow_id}</span>
          </p>
        ) : (
          <div class="field">
            <label for={workflow.attrs.id}>
              Workflow <span class="required" aria-hidden="true" title="Required">
                *
              </span>
            </label>
            <select {...workflow.attrs} aria-required="true" value={values.workflow_id} onChange={set('workflow_id')}>
              <option value="">{workflows ? 'Choose a workflow' : 'Loading…'}</option>
              {workflows?.map((w) => (
                <option value={w.id} key={w.id}>
                  {w.id}
                </option>
              ))}
            </select>
            {workflow.after}
          </div>
        )}
        <div class="schedule-form__row">
          <div class="field">
            <label for={cron.attrs.id}>
              Cron <span class="required" aria-hidden="true" title="Required">
              *
            </span>
            </label>
            <input {...cron.attrs} aria-required="true" type="text" class="mono" placeholder="30 2 * * MON-FRI" value={values.cron} onInput={set('cron')} />
            {cron.after}
          </div>
          <div class="field">
            <label for={timezone.attrs.id}>Time zone</label>
            <input {...timezone.attrs} type="text" list="schedule-zones" value={values.timezone} onInput={set('timezone')} />
            <datalist id="schedule-zones">
              {knownTimeZones().map((z) => (
                <option key={z} value={z} />
              ))}
            </datalist>
            {timezone.after}
          </div>
        </div>
        <div class="field">
          <label for={input.attrs.id}>Input (JSON)</label>
          <textarea {...input.attrs} class="mono" rows={4} value={values.input} onInput={set('input')} />
          {input.after}
        </div>
        <div class="schedule-form__row">
          <div class="field">
            <label for={overlap.attrs.id}>Overlap</label>
            <select {...overlap.attrs} value={values.overlap} onChange={set('overlap')}>
              {OVERLAPS.map(([value, text]) => (
                <option value={value} key={value}>
                  {text}
                </option>
              ))}
            </select>
            {overlap.after}
          </div>
          <div class="field">
            <label for={catchUp.attrs.id}>Catch-up</label>
            <select {...catchUp.attrs} value={values.catch_up} onChange={set('catch_up')}>
              {CATCH_UPS.map(([value, text]) => (
                <option value={value} key={value}>
                  {text}
                </option>
              ))}
            </select>
            {catchUp.after}
          </div>
        </div>
        <div class="field schedule-form__max">
          <label for={max.attrs.id}>Max catch-up</label>
          <input {...max.attrs} type="text" inputMode="numeric" value={values.max_catch_up} onInput={set('max_catch_up')} />
          {max.after}
        </div>
        <div class="dialog__buttons">
          <button type="button" class="button" disabled={busy} onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="button button--primary" disabled={busy}>
            {busy ? props.busyLabel : props.submitLabel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
