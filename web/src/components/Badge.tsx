// Status badges. Each status has its own colour and icon and says its name in words,
// so colour is never the only cue: paused is yellow with a pause icon, running blue,
// cancelled an outline; a workflow paused for safety is yellow with a warning triangle,
// a disabled one a dashed outline.
import type { ApprovalStatus, ConnectionStatus, Run, RunStatus, StepStatus, Workflow } from '../api';
import { title } from '../format';
import {
  CheckIcon,
  ClockIcon,
  CrossIcon,
  DotIcon,
  PauseIcon,
  SkipIcon,
  SpinnerIcon,
  StopIcon,
  WarningIcon,
} from './Icons';
import { safetyText } from './SafetyBanner';

const ICONS: Record<string, () => preact.JSX.Element> = {
  pending: DotIcon,
  running: SpinnerIcon,
  paused: PauseIcon,
  waiting: ClockIcon,
  completed: CheckIcon,
  failed: CrossIcon,
  cancelled: StopIcon,
  skipped: SkipIcon,
  active: CheckIcon,
  disabled: StopIcon,
  paused_safety: WarningIcon,
  approved: CheckIcon,
  denied: CrossIcon,
  expired: ClockIcon,
  error: CrossIcon,
};

const LABELS: Record<string, string> = { paused_safety: 'Paused (safety)', error: 'Needs reauth' };

export function StatusBadge(props: {
  status: RunStatus | StepStatus | Workflow['status'] | ApprovalStatus | ConnectionStatus;
  label?: string;
  // Said on hover and to a screen reader after the status (why it is so).
  detail?: string;
}) {
  const Icon = ICONS[props.status] ?? DotIcon;
  const label = props.label ?? LABELS[props.status] ?? title(props.status);
  return (
    <span
      class={`badge badge--${props.status}`}
      data-status={props.status}
      title={props.detail}
      aria-label={props.detail ? `${label}: ${props.detail}` : undefined}
    >
      <Icon />
      {label}
    </span>
  );
}

// A run's status; a run held for reauthorization says so.
export function RunStatusBadge(props: { run: Run }) {
  const { run } = props;
  return <StatusBadge status={run.status} label={run.pause?.reason === 'reauth' ? 'Paused for reauth' : undefined} />;
}

// A workflow's status; paused for safety says why on hover.
export function WorkflowStatusBadge(props: { workflow: Workflow }) {
  const { workflow } = props;
  const safety = workflow.status === 'paused_safety' ? workflow.safety : null;
  return <StatusBadge status={workflow.status} detail={safety ? safetyText(safety) : undefined} />;
}
