// The UI's types (api.ts) checked against the contract's: `openapi.d.ts` is generated
// from docs/openapi.json by `npm run gen:api` (openapi-typescript) before every type
// check and build, so `tsc` fails when the UI reads a field the contract does not have,
// or names a status, action or option value the server would not send or take.
// Nothing here exists at run time.
import type { components } from './openapi';
import type * as Ui from './api';

type S = components['schemas'];

// Fails (the offending keys in the message) unless T is never.
type None<T extends never> = T;
// The keys of the UI's type that the contract's schema lacks.
type Unknown<U, C> = Exclude<keyof U, keyof C>;
// Fails unless A and B are the same set of values.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type True<T extends true> = T;

// The answers the UI reads: every field it declares is in the contract.
export type Fields = [
  None<Unknown<Ui.Run, S['RunDetail']>>,
  None<Unknown<Ui.Step, S['Step']>>,
  None<Unknown<Ui.Workflow, S['WorkflowDetail']>>,
  None<Unknown<Ui.WorkflowVersion, S['WorkflowVersion']>>,
  None<Unknown<Ui.Connection, S['Connection']>>,
  None<Unknown<Ui.Approval, S['Approval']>>,
  None<Unknown<Ui.Form, S['Form']>>,
  None<Unknown<Ui.Notification, S['Notification']>>,
  None<Unknown<Ui.Billing, S['Billing']>>,
  None<Unknown<Ui.Schedule, S['Schedule']>>,
  None<Unknown<Ui.Session, S['Session']>>,
  None<Unknown<Ui.BulkPreview, S['BulkPreview']>>,
  None<Unknown<Ui.Operation, S['Operation']>>,
  // The bodies it sends: every field is one the server takes.
  None<Unknown<Ui.ScheduleCreate, S['NewSchedule']>>,
  None<Unknown<Ui.BillingUpdate, S['BillingUpdate']>>,
];

// The vocabularies: the same values on both sides.
export type Values = [
  True<Same<Ui.RunStatus, S['RunStatus']>>,
  True<Same<Ui.StepStatus, S['StepStatus']>>,
  True<Same<Ui.RunAction, S['Run']['allowed_actions'][number]>>,
  True<Same<Ui.Run['status'], S['Run']['status']>>,
  True<Same<Ui.Workflow['status'], S['Workflow']['status']>>,
  True<Same<Ui.ConnectionStatus, S['Connection']['status']>>,
  True<Same<Ui.Schedule['overlap'], S['Schedule']['overlap']>>,
  True<Same<Ui.Schedule['catch_up'], S['Schedule']['catch_up']>>,
  True<Same<Ui.BulkAction, S['BulkRequest']['action']>>,
  True<Same<Ui.Operation['status'], S['Operation']['status']>>,
  True<Same<Ui.Role, S['Session']['role']>>,
];
