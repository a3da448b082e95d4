// The form a run waits for (`wait.kind` form), on the run's page: its message and its
// fields from the schema (GET /api/v1/forms/{id}). Submit posts the data; invalid data
// (400 with `errors`) shows each error beside its field and changes nothing; a
// submission that went through reloads the run, which then goes on. Only an operator or
// an admin may submit: others see the fields without a Submit button.
import { useState } from 'preact/hooks';
import { api, asApiError, canControl, type FieldError } from '../api';
import { Time } from '../components/Time';
import { showToast } from '../components/Toasts';
import { useResource } from '../resource';
import { useSession } from '../session';
import { SchemaForm } from './SchemaForm';

export function FormPanel(props: { formId: string; onSubmitted: () => void }) {
  const { formId } = props;
  const form = useResource(() => api.getForm(formId), [formId], { resetOnChange: true });
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<FieldError[]>([]);
  const mayAct = canControl(useSession().role);

  const submit = async (data: Record<string, unknown>) => {
    setBusy(true);
    try {
      await api.submitForm(formId, data);
      setErrors([]);
      showToast('success', 'Form submitted');
      props.onSubmitted();
    } catch (err) {
      const e = asApiError(err);
      setErrors(e.errors);
      showToast('error', 'Failed to submit the form', e.errors.length > 0 ? 'Please correct the marked fields' : e.message);
      if (e.status === 409) {
        void form.reload();
        props.onSubmitted();
      }
    } finally {
      setBusy(false);
    }
  };

  const f = form.data;
  return (
    <section class="card form-panel" aria-labelledby="form-title" data-form-id={formId}>
      <h2 id="form-title">Form</h2>
      {form.error && (
        <p class="banner banner--error" role="alert">
          Could not load the form: {form.error.message}
        </p>
      )}
      {!f && !form.error && <p class="muted">Loading…</p>}
      {f && (
        <>
          {f.message && <p class="form-panel__message">{f.message}</p>}
          {f.status !== 'open' && <p class="muted">This form is {f.status}.</p>}
          {f.status === 'open' && f.expires_at && (
            <p class="muted">
              Expires <Time at={f.expires_at} />.
            </p>
          )}
          <SchemaForm
            id={`form-${formId}`}
            schema={f.schema}
            errors={errors}
            busy={busy}
            readOnly={!mayAct || f.status !== 'open'}
            onSubmit={(data) => void submit(data)}
          />
          {!mayAct && f.status === 'open' && <p class="muted">Only an operator or an admin can submit this form.</p>}
        </>
      )}
    </section>
  );
}
